/*
 * check.cpp: vecdb_index_check(regclass), which hands the index to its
 * access method's checker. It sits above the access methods, as module.cpp
 * does, because it knows all of them.
 */
#include "pg/pg.h"
#include "pg/check_report.h"
#include "hnsw/hnsw.h"
#include "ivfpq/ivfpq.h"

extern "C" {
#include "access/table.h"
#include "catalog/index.h"
#include "utils/lsyscache.h"
}

VECDB_FUNCTION(vecdb_index_check)
{
	Oid index_oid = PG_GETARG_OID(0);
	InitMaterializedSRF(fcinfo, 0);
	vecdb::pg::CheckReport r{reinterpret_cast<ReturnSetInfo *>(fcinfo->resultinfo), 0};

	Oid heap_oid = IndexGetRelation(index_oid, true);
	if (!OidIsValid(heap_oid))
		ereport(ERROR, (errcode(ERRCODE_WRONG_OBJECT_TYPE),
						errmsg("\"%s\" is not an index", get_rel_name(index_oid))));
	Relation heap = table_open(heap_oid, AccessShareLock);
	Relation index = index_open(index_oid, AccessShareLock);
	if (index->rd_indam->ambuild == vecdb::hnsw::build)
		vecdb::hnsw::check_index(heap, index, r);
	else if (index->rd_indam->ambuild == vecdb::ivfpq::build)
		vecdb::ivfpq::check_index(heap, index, r);
	else
		ereport(ERROR, (errcode(ERRCODE_WRONG_OBJECT_TYPE),
						errmsg("\"%s\" is not a vecdb index", RelationGetRelationName(index)),
						errhint("vecdb_index_check() checks hnsw and ivfpq indexes.")));
	index_close(index, AccessShareLock);
	table_close(heap, AccessShareLock);
	return static_cast<Datum>(0);
}
