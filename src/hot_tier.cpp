/*
 * hot_tier.cpp: the SQL functions of the streaming hot tier, for any vecdb
 * index (index/registry.h): vecdb_merge() and vecdb_hot_tier(). They sit
 * above the access methods, as check.cpp does.
 *
 * Who may call them: EXECUTE is PUBLIC. vecdb_merge() writes the index, so
 * it admits those who may VACUUM it: the table's owner and the members of
 * the owner's role. vecdb_hot_tier() reads pages only: SELECT on the table,
 * or pg_stat_scan_tables.
 */
#include "pg/pg.h"
#include "pg/index_access.h"
#include "index/registry.h"
#include "tier/tier.h"

extern "C" {
#include "access/htup_details.h"
#include "access/xlog.h"
#include "funcapi.h"
#include "tcop/utility.h"
#include "utils/timestamp.h"
}

namespace {

const vecdb::index::VectorAm &
vector_am(Relation index, const char *function)
{
	const vecdb::index::VectorAm *am = vecdb::index::vector_am_of(index);
	if (am == nullptr)
		ereport(ERROR, (errcode(ERRCODE_WRONG_OBJECT_TYPE),
						errmsg("\"%s\" is not a vecdb index", RelationGetRelationName(index)),
						errhint("%s() takes an hnsw or ivfpq index.", function)));
	return *am;
}

} // namespace

VECDB_FUNCTION(vecdb_merge)
{
	Oid index_oid = PG_GETARG_OID(0);
	PreventCommandIfReadOnly("vecdb_merge()");
	PreventCommandDuringRecovery("vecdb_merge()");
	vecdb::pg::OpenedIndex opened =
		vecdb::pg::open_index(index_oid, vecdb::pg::IndexAccess::check_rows, RowExclusiveLock);
	int64 merged = vector_am(opened.index, "vecdb_merge").merge(opened.index, -1, false);
	vecdb::pg::close_index(opened);
	PG_RETURN_INT64(merged);
}

VECDB_FUNCTION(vecdb_hot_tier)
{
	Oid index_oid = PG_GETARG_OID(0);
	TupleDesc desc;
	if (get_call_result_type(fcinfo, nullptr, &desc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "vecdb_hot_tier() must return a record");
	desc = BlessTupleDesc(desc);

	vecdb::pg::OpenedIndex opened =
		vecdb::pg::open_index(index_oid, vecdb::pg::IndexAccess::read_pages, AccessShareLock);
	const vecdb::index::VectorAm &am = vector_am(opened.index, "vecdb_hot_tier");
	vecdb::tier::Stats s =
		vecdb::tier::stats(vecdb::tier::tier_of(opened.index, am.tier_shape(opened.index)));
	vecdb::pg::close_index(opened);

	Datum values[4] = {Int64GetDatum(s.rows), Int64GetDatum(s.pages), Int64GetDatum(s.merged),
					   TimestampTzGetDatum(s.last_merge)};
	bool nulls[4] = {false, false, false, s.last_merge == 0};
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(desc, values, nulls)));
}
