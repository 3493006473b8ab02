/*
 * check.cpp: vecdb_index_check(regclass), which hands the index to its
 * access method's checker. It sits above the access methods, as module.cpp
 * does, because it knows all of them.
 *
 * Who may call it: EXECUTE is PUBLIC (see the install script), and
 * pg::open_index() admits only the table's owner and the members of the
 * owner's role, before taking any lock. The check then runs as the table's
 * owner under SECURITY_RESTRICTED_OPERATION, because it evaluates the
 * index's expressions and predicate over the table.
 */
#include "pg/pg.h"
#include "pg/check_report.h"
#include "pg/index_access.h"
#include "hnsw/hnsw.h"
#include "ivfpq/ivfpq.h"

VECDB_FUNCTION(vecdb_index_check)
{
	Oid index_oid = PG_GETARG_OID(0);
	InitMaterializedSRF(fcinfo, 0);
	vecdb::pg::CheckReport r{reinterpret_cast<ReturnSetInfo *>(fcinfo->resultinfo), 0};

	vecdb::pg::OpenedIndex opened =
		vecdb::pg::open_index(index_oid, vecdb::pg::IndexAccess::check_rows, AccessShareLock);
	Relation index = opened.index;
	if (index->rd_indam->ambuild == vecdb::hnsw::build)
		vecdb::hnsw::check_index(opened.heap, index, r);
	else if (index->rd_indam->ambuild == vecdb::ivfpq::build)
		vecdb::ivfpq::check_index(opened.heap, index, r);
	else
		ereport(ERROR, (errcode(ERRCODE_WRONG_OBJECT_TYPE),
						errmsg("\"%s\" is not a vecdb index", RelationGetRelationName(index)),
						errhint("vecdb_index_check() checks hnsw and ivfpq indexes.")));
	vecdb::pg::close_index(opened);
	return static_cast<Datum>(0);
}
