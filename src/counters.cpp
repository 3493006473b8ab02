/*
 * counters.cpp: vecdb_backend_counters(), this backend's index scan
 * counters (index/counters.h) as one row.
 */
#include "pg/pg.h"
#include "index/counters.h"

extern "C" {
#include "access/htup_details.h"
#include "funcapi.h"
}

namespace vecdb::index {

ScanCounters backend_counters;

} // namespace vecdb::index

VECDB_FUNCTION(vecdb_backend_counters)
{
	TupleDesc desc;
	if (get_call_result_type(fcinfo, nullptr, &desc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "vecdb_backend_counters() must return a record");
	desc = BlessTupleDesc(desc);
	const vecdb::index::ScanCounters &c = vecdb::index::backend_counters;
	Datum values[] = {Int64GetDatum(c.hnsw_scans), Int64GetDatum(c.hnsw_visited),
					  Int64GetDatum(c.ivfpq_scans), Int64GetDatum(c.ivfpq_estimated),
					  Int64GetDatum(c.ivfpq_reranked)};
	bool nulls[lengthof(values)] = {};
	if (desc->natts != lengthof(values))
		elog(ERROR, "vecdb_backend_counters() returns %d columns, not %d", desc->natts,
			 static_cast<int>(lengthof(values)));
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(desc, values, nulls)));
}
