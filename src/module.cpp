/*
 * module.cpp: what PostgreSQL looks for when it loads vecdb.so. It sits above
 * every layer of src/ because it registers what each of them needs.
 */
#include "pg/pg.h"
#include "pg/guc.h"
#include "hnsw/hnsw.h"
#include "ivfpq/ivfpq.h"

extern "C" {
PG_MODULE_MAGIC;

void _PG_init(void);
}

void
_PG_init(void)
{
	vecdb::pg::define_settings();
	vecdb::hnsw::define_options();
	vecdb::ivfpq::define_options();
}
