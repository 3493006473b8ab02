/*
 * vector_index.cpp: the vector type as index access methods see it.
 */
#include "index/vector_index.h"
#include "index/page_write.h"
#include "type/sparsevec.h"
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
#include "utils/varbit.h"
}

#include <cmath>

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
	for (double t = threshold * 3; blocks >= t && workers < max_parallel_maintenance_workers;
		 t *= 3)
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
	am->amsupport = opclass_support_proc;
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

namespace {

/* out made a unit vector where the metric wants one; false if it cannot
 * be (a zero vector under cosine). */
bool
normalize_for(core::Metric metric, float *out, int dims)
{
	if (!core::metric_normalizes(metric))
		return true;
	double norm = std::sqrt(static_cast<double>(core::squared_norm(out, dims)));
	if (norm == 0 || !std::isfinite(norm))
		return false;
	for (int i = 0; i < dims; i++)
		out[i] = static_cast<float>(out[i] / norm);
	return true;
}

/* A bit string of dims bits, packed into out's float slots. */
bool
prepare_bits(int dims, Datum value, float *out)
{
	VarBit *bits = DatumGetVarBitP(value);
	check_expected_dim(dims, VARBITLEN(bits));
	if (VARBITLEN(bits) < 0 || VARSIZE(bits) < VARBITTOTALLEN(VARBITLEN(bits)))
		ereport(ERROR, (errcode(ERRCODE_DATA_CORRUPTED),
						errmsg("a bit string of %u bytes does not hold its %d bits",
							   static_cast<unsigned>(VARSIZE(bits)), VARBITLEN(bits))));
	Size slots = core::stored_floats(core::Metric::hamming, static_cast<Size>(dims));
	memset(out, 0, sizeof(float) * slots);
	/* PostgreSQL keeps the last byte's unused bits zero */
	memcpy(out, VARBITS(bits), VARBITBYTES(bits));
	if (reinterpret_cast<Pointer>(bits) != DatumGetPointer(value))
		pfree(bits);
	return true;
}

/* A sparse vector of dims dimensions, dense in out. */
void
prepare_sparse(int dims, Datum value, float *out)
{
	SparseVector *s = datum_get_sparsevec(value);
	check_expected_dim(dims, s->dim);
	memset(out, 0, sizeof(float) * dims);
	const float *values = sparse_values(s);
	for (int i = 0; i < s->nnz; i++)
	{
		if (s->indices[i] < 0 || s->indices[i] >= dims)
			ereport(ERROR,
					(errcode(ERRCODE_DATA_CORRUPTED), errmsg("sparsevec index out of bounds")));
		out[s->indices[i]] = values[i];
	}
	if (reinterpret_cast<Pointer>(s) != DatumGetPointer(value))
		pfree(s);
}

/* A halfvec of dims halves, kept as they are in out's float slots; under
 * cosine, false for a zero vector, which that index does not hold. */
bool
prepare_halves(core::Metric metric, int dims, Datum value, float *out)
{
	HalfVector *h = datum_get_halfvec(value);
	check_expected_dim(dims, h->dim);
	if (VARSIZE(h) != halfvec_size(h->dim))
		ereport(ERROR, (errcode(ERRCODE_DATA_CORRUPTED),
						errmsg("a value of %u bytes is no halfvec of %d dimensions",
							   static_cast<unsigned>(VARSIZE(h)), h->dim)));
	Size slots = core::stored_floats(metric, static_cast<Size>(dims), true);
	auto *halves = reinterpret_cast<core::Half *>(out);
	halves[2 * slots - 1] = 0; /* the padding of an odd count */
	memcpy(halves, h->x, sizeof(core::Half) * dims);
	bool usable = true;
	if (metric == core::Metric::cosine)
	{
		usable = false;
		for (int i = 0; i < dims && !usable; i++)
			usable = core::half_to_float(h->x[i]) != 0;
	}
	if (reinterpret_cast<Pointer>(h) != DatumGetPointer(value))
		pfree(h);
	return usable;
}

} // namespace

bool
prepare_index_vector(InputType input, core::Metric metric, int dims, Datum value, float *out,
					 bool halves)
{
	if (halves)
	{
		if (input != InputType::halfvec)
			elog(ERROR, "only a halfvec index keeps halves");
		return prepare_halves(metric, dims, value, out);
	}
	if (input == InputType::bit)
		return prepare_bits(dims, value, out);
	if (input == InputType::sparsevec)
	{
		prepare_sparse(dims, value, out);
		return normalize_for(metric, out, dims);
	}
	/* vector and halfvec share their header, and the size must agree with
	 * the type the operator class names */
	Vector *v = datum_get_vector(value);
	check_expected_dim(dims, v->dim);
	Size expected = input == InputType::halfvec ? halfvec_size(v->dim) : vector_size(v->dim);
	if (v->dim < 1 || VARSIZE(v) != expected)
		ereport(ERROR, (errcode(ERRCODE_DATA_CORRUPTED),
						errmsg("a value of %u bytes is no %s of %d dimensions",
							   static_cast<unsigned>(VARSIZE(v)),
							   input == InputType::halfvec ? "halfvec" : "vector", v->dim)));
	if (input == InputType::halfvec)
		core::halfs_to_floats(reinterpret_cast<HalfVector *>(v)->x, out, static_cast<Size>(dims));
	else
		memcpy(out, v->x, sizeof(float) * dims);
	if (reinterpret_cast<Pointer>(v) != DatumGetPointer(value))
		pfree(v);
	return normalize_for(metric, out, dims);
}

namespace {

struct HeapCheck
{
	pg::CheckReport *report;
	const core::VisitedHash *indexed;
	InputType input;
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
	if (!prepare_index_vector(h->input, h->metric, h->dims, values[0], h->vector))
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
	HeapCheck h{&r,     &indexed, opclass_support(index).input,
				metric, dims,     static_cast<float *>(palloc(sizeof(float) * dims))};
	table_index_build_scan(heap, index, info, true, false, heap_row_callback, &h, scan);
	UnregisterSnapshot(snapshot);
}

} // namespace vecdb

namespace vecdb::index {

Oid unlogged_build = InvalidOid; /* page_write.h */

} // namespace vecdb::index
