/*
 * check.cpp: vecdb_index_check(regclass), which hands the index to its
 * access method's checker (index/registry.h).
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
#include "index/registry.h"

VECDB_FUNCTION(vecdb_index_check)
{
	Oid index_oid = PG_GETARG_OID(0);
	InitMaterializedSRF(fcinfo, 0);
	vecdb::pg::CheckReport r{reinterpret_cast<ReturnSetInfo *>(fcinfo->resultinfo), 0};

	vecdb::pg::OpenedIndex opened =
		vecdb::pg::open_index(index_oid, vecdb::pg::IndexAccess::check_rows, AccessShareLock);
	const vecdb::index::VectorAm *am = vecdb::index::vector_am_of(opened.index);
	if (am == nullptr)
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("\"%s\" is not a vecdb index", RelationGetRelationName(opened.index)),
				 errhint("vecdb_index_check() checks hnsw and ivfpq indexes.")));
	am->check(opened.heap, opened.index, r);
	vecdb::pg::close_index(opened);
	return static_cast<Datum>(0);
}
