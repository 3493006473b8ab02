/*
 * module.cpp: what PostgreSQL looks for when it loads vecdb.so. It sits above
 * every layer of src/ because it registers what each of them needs.
 */
#include "pg/pg.h"
#include "pg/guc.h"
#include "index/registry.h"
#include "tier/tier.h"
#include "hnsw/hnsw.h"
#include "ivfpq/ivfpq.h"

extern "C" {
#include "utils/guc.h"

PG_MODULE_MAGIC;

void _PG_init(void);
}

void
_PG_init(void)
{
	vecdb::pg::define_settings();
	vecdb::tier::define_settings();
	vecdb::hnsw::define_options();
	vecdb::ivfpq::define_options();
	vecdb::index::register_am({"hnsw", vecdb::hnsw::build, vecdb::hnsw::check_index,
							   vecdb::hnsw::merge, vecdb::hnsw::hot_rows,
							   vecdb::hnsw::tier_shape});
	vecdb::index::register_am({"ivfpq", vecdb::ivfpq::build, vecdb::ivfpq::check_index,
							   vecdb::ivfpq::merge, vecdb::ivfpq::hot_rows,
							   vecdb::ivfpq::tier_shape});
	/* Last, once every part has defined its settings: reserving the prefix
	 * drops the placeholders of the names not defined yet, and with them a
	 * value SET in the session before vecdb was loaded (SET
	 * vecdb.hot_tier_max_rows = 40; INSERT ... kept the default). */
	MarkGUCPrefixReserved("vecdb");
}
