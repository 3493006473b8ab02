/*
 * module.cpp: what PostgreSQL looks for when it loads vecdb.so. It sits above
 * every layer of src/ because it registers what each of them needs.
 */
#include "pg/pg.h"
#include "index/registry.h"
#include "tier/tier.h"
#include "hnsw/hnsw.h"
#include "ivfpq/ivfpq.h"
#include "worker/worker.h"

extern "C" {
#include "utils/guc.h"
}

extern "C" {
PG_MODULE_MAGIC;

void _PG_init(void);
}

void
_PG_init(void)
{
	/* each part defines its own settings and options */
	vecdb::tier::define_settings();
	vecdb::hnsw::define_settings();
	vecdb::hnsw::define_options();
	vecdb::ivfpq::define_settings();
	vecdb::ivfpq::define_options();
	vecdb::index::register_am({"hnsw", vecdb::hnsw::build, vecdb::hnsw::check_index,
							   vecdb::hnsw::merge, vecdb::hnsw::tier_shape});
	vecdb::index::register_am({"ivfpq", vecdb::ivfpq::build, vecdb::ivfpq::check_index,
							   vecdb::ivfpq::merge, vecdb::ivfpq::tier_shape});
	vecdb::worker::register_launcher();
	/* every vecdb.* name is one of ours: a typo is an error, not a
	 * placeholder */
	MarkGUCPrefixReserved("vecdb");
}
