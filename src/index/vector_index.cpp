/*
 * vector_index.cpp: the vector type as index access methods see it.
 */
#include "index/vector_index.h"
#include "index/page_write.h"
#include "type/vector.h"

extern "C" {
#include "access/genam.h"
#include "access/tableam.h"
#include "commands/vacuum.h"
#include "access/table.h"
#include "catalog/index.h"
#include "optimizer/optimizer.h"
#include "optimizer/paths.h"
#include "utils/snapmgr.h"
}

#include <cmath>

extern "C" {
Datum vector_l2_squared_distance(PG_FUNCTION_ARGS);
Datum vector_negative_inner_product(PG_FUNCTION_ARGS);
Datum cosine_distance(PG_FUNCTION_ARGS);
Datum l1_distance(PG_FUNCTION_ARGS);
Datum halfvec_l2_squared_distance(PG_FUNCTION_ARGS);
Datum halfvec_negative_inner_product(PG_FUNCTION_ARGS);
Datum halfvec_cosine_distance(PG_FUNCTION_ARGS);
Datum halfvec_l1_distance(PG_FUNCTION_ARGS);
}

namespace vecdb {

const struct config_enum_entry iterative_scan_options[] = {
	{"off", iterative_scan_off, false},
	{"relaxed_order", iterative_scan_relaxed, false},
	{"strict_order", iterative_scan_strict, false},
	{nullptr, 0, false},
};

int
build_workers(Relation heap, Relation index)
{
	int workers = plan_create_index_workers(RelationGetRelid(heap), RelationGetRelid(index));
	if (workers > 0 || !IsUnderPostmaster || max_parallel_maintenance_workers == 0 ||
		heap->rd_rel->relpersistence == RELPERSISTENCE_TEMP ||
		RelationGetParallelWorkers(heap, -1) != -1 || !OidIsValid(heap->rd_rel->reltoastrelid) ||
		RelationGetIndexExpressions(index) != NIL || RelationGetIndexPredicate(index) != NIL)
		return workers;
	Relation toast = table_open(heap->rd_rel->reltoastrelid, AccessShareLock);
	double blocks = static_cast<double>(RelationGetNumberOfBlocks(heap)) +
					static_cast<double>(RelationGetNumberOfBlocks(toast));
	table_close(toast, AccessShareLock);
	/* compute_parallel_worker's rule for a table scan: one worker from
	 * min_parallel_table_scan_size on, one more each time it triples */
	double threshold = Max(min_parallel_table_scan_size, 1);
	if (blocks < threshold)
		return 0;
	workers = 1;
	for (double t = threshold * 3; blocks >= t && workers < max_parallel_maintenance_workers; t *= 3)
		workers++;
	/* and plan_create_index_workers's: 32 MB of maintenance_work_mem for
	 * each participant, the leader included */
	while (workers > 0 && maintenance_work_mem / (workers + 1) < 32768L)
		workers--;
	return workers;
}

IndexAmRoutine *
new_vector_index_routine()
{
	IndexAmRoutine *am = makeNode(IndexAmRoutine);
	am->amstrategies = 0;
	am->amsupport = 1;
	am->amoptsprocnum = 0;
	am->amcanorder = false;
	am->amcanorderbyop = true;
	am->amcanbackward = false;
	am->amcanunique = false;
	am->amcanmulticol = false;
	am->amoptionalkey = true;
	am->amsearcharray = false;
	am->amsearchnulls = false;
	am->amstorage = false;
	am->amclusterable = false;
	am->ampredlocks = false;
	am->amcanparallel = false;
	am->amcaninclude = false;
	am->amusemaintenanceworkmem = false;
	am->amparallelvacuumoptions = VACUUM_OPTION_PARALLEL_BULKDEL;
	am->amkeytype = InvalidOid;
	/* and no entry point the vector indexes leave out */
	am->amcanreturn = nullptr;
	am->amproperty = nullptr;
	am->amadjustmembers = nullptr;
	am->amgetbitmap = nullptr;
	am->ammarkpos = nullptr;
	am->amrestrpos = nullptr;
	am->amestimateparallelscan = nullptr;
	am->aminitparallelscan = nullptr;
	am->amparallelrescan = nullptr;
	return am;
}

/*
 * The support function is recognised by address, so that searches call the
 * kernels directly instead of going through fmgr. A halfvec opclass names
 * its type's function; the index keeps floats either way.
 */
core::Metric
index_metric(Relation index)
{
	static const struct
	{
		PGFunction distance;
		core::Metric metric;
	} known[] = {
		{vector_l2_squared_distance, core::Metric::l2},
		{vector_negative_inner_product, core::Metric::inner_product},
		{cosine_distance, core::Metric::cosine},
		{l1_distance, core::Metric::l1},
		{halfvec_l2_squared_distance, core::Metric::l2},
		{halfvec_negative_inner_product, core::Metric::inner_product},
		{halfvec_cosine_distance, core::Metric::cosine},
		{halfvec_l1_distance, core::Metric::l1},
	};
	FmgrInfo *proc = index_getprocinfo(index, 1, 1);
	for (Size i = 0; i < lengthof(known); i++)
		if (proc->fn_addr == known[i].distance)
			return known[i].metric;
	ereport(ERROR, (errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					errmsg("operator class of index \"%s\" has an unknown distance function",
						   RelationGetRelationName(index))));
	pg_unreachable();
}

int
index_dims(Relation index)
{
	int32 typmod = TupleDescAttr(RelationGetDescr(index), 0)->atttypmod;
	if (typmod < 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_COLUMN_DEFINITION),
				 errmsg("column does not have dimensions"),
				 errhint("Declare the column as vector(n), or index an expression cast to it.")));
	return typmod;
}

bool
prepare_index_vector(core::Metric metric, int dims, Datum value, float *out)
{
	/* vector and halfvec share their header: the size says which it is */
	Vector *v = datum_get_vector(value);
	check_expected_dim(dims, v->dim);
	if (VARSIZE(v) == halfvec_size(v->dim))
		core::halfs_to_floats(reinterpret_cast<HalfVector *>(v)->x, out, static_cast<Size>(dims));
	else if (VARSIZE(v) == vector_size(v->dim))
		memcpy(out, v->x, sizeof(float) * dims);
	else
		ereport(ERROR, (errcode(ERRCODE_DATA_CORRUPTED),
						errmsg("a value of %u bytes is no vector of %d dimensions",
							   static_cast<unsigned>(VARSIZE(v)), v->dim)));
	if (reinterpret_cast<Pointer>(v) != DatumGetPointer(value))
		pfree(v);
	if (core::metric_normalizes(metric))
	{
		double norm = std::sqrt(static_cast<double>(core::squared_norm(out, dims)));
		if (norm == 0 || !std::isfinite(norm))
			return false;
		for (int i = 0; i < dims; i++)
			out[i] = static_cast<float>(out[i] / norm);
	}
	return true;
}

namespace {

struct HeapCheck
{
	pg::CheckReport *report;
	const core::VisitedHash *indexed;
	core::Metric metric;
	int dims;
	float *vector;
};

void
heap_row_callback(Relation index, ItemPointer tid, Datum *values, bool *isnull, bool alive,
				  void *arg)
{
	auto *h = static_cast<HeapCheck *>(arg);
	if (isnull[0] || !alive || h->indexed->contains(heaptid_key(*tid)))
		return;
	/* a value the index skips by design (a zero vector under cosine) */
	if (!prepare_index_vector(h->metric, h->dims, values[0], h->vector))
		return;
	pg::report(*h->report, ItemPointerGetBlockNumber(tid), ItemPointerGetOffsetNumber(tid),
			   "heap row is missing from the index");
}

} // namespace

void
check_heap_rows(Relation heap, Relation index, core::Metric metric, int dims,
				const core::VisitedHash &indexed, pg::CheckReport &r)
{
	IndexInfo *info = BuildIndexInfo(index);
	info->ii_Concurrent = true; /* scan with our MVCC snapshot */
	Snapshot snapshot = RegisterSnapshot(GetTransactionSnapshot());
	TableScanDesc scan = table_beginscan_strat(heap, snapshot, 0, nullptr, true, false);
	HeapCheck h{&r, &indexed, metric, dims, static_cast<float *>(palloc(sizeof(float) * dims))};
	table_index_build_scan(heap, index, info, true, false, heap_row_callback, &h, scan);
	UnregisterSnapshot(snapshot);
}

} // namespace vecdb

namespace vecdb::index {

Oid unlogged_build = InvalidOid; /* page_write.h */

} // namespace vecdb::index
