/*
 * scan.cpp: ORDER BY col <op> query LIMIT k through an hnsw index.
 *
 * The first call searches the graph (src/core's templates over the pages)
 * and returns the ef_search nearest elements, closest first. With
 * vecdb.hnsw_iterative_scan on, running out of them resumes the same search:
 * the elements it ranked out come back as candidates, the frontier is
 * expanded further, and the next batch follows, until the executor has its
 * LIMIT or vecdb.hnsw_max_scan_tuples elements were visited.
 *
 * Before the graph, the scan reads the hot tier (src/tier) exactly, and
 * returns the union of both streams, nearest first: the tier's rows in
 * exact order, merged into the graph's. A graph row whose TID the tier
 * answered for is dropped (a merge may have moved it meanwhile).
 *
 * A quantized index (hnsw.h) ranks by distances to codes, so with each row
 * it returns a lower bound of the row's exact distance (core/sq8.h) and
 * sets xs_recheckorderby: the executor computes the exact distance from
 * the heap row and returns rows in that order, holding each back until no
 * later row's bound is below it. That is exact only if the bounds come in
 * order, so a batch is returned in bound order, not code distance order:
 * a vector its code ranks badly (an outlier coordinate, a norm near
 * float's limits) has a loose bound, comes early, and waits in the
 * executor's queue until its exact distance is due. Both streams merge by
 * that key, which for a plain index is the distance itself.
 *
 * A bound holds only for the vector it was computed from, and between the
 * search and the return of a row VACUUM may free its element and an insert
 * reuse the slot for another vector. The new row is invisible to an MVCC
 * snapshot older than its insert, so the executor would skip it, but a
 * bound above a returned row's distance is an ERROR there, and the scan
 * should not rest on the snapshot for that: for a quantized batch the code
 * distance, the bound and the row are read under one lock of the
 * element's page (take_batch), which also spares load_tids' second read.
 */
#include "hnsw/hnsw.h"
#include "index/counters.h"
#include "type/vector.h"

extern "C" {
#include "access/relscan.h"
#include "utils/float.h"
}

#include <algorithm>
#include <cmath>
#include <vector>

namespace vecdb::hnsw {

namespace {

using core::hnsw::Candidate;

/* A row of a batch, in the order rows are returned (key). */
struct BatchRow
{
	uint64 ref;
	float distance; /* the ranking distance */
	double key;     /* quantized: the lower bound; else the distance */
	/* quantized: the element's one row, read with the code the bound
	 * came from (take_batch) */
	bool has_tid;
	ItemPointerData tid;
};

struct ScanState
{
	PageGraph graph;
	core::hnsw::LayerSearch<uint64> layer;
	std::vector<BatchRow> batch; /* closest first, by key */
	std::vector<float> query;
	MemoryContext context; /* the scan's: the hot rows live in it */

	std::size_t next = 0; /* next element of batch */
	ItemPointerData tids[heaptids_per_element];
	int tid_count = 0;
	int tid_next = 0;
	float tid_distance = 0; /* of the element tids came from */
	double tid_key = 0;     /* and its key */

	/* the hot tier's rows, nearest first, and their TIDs */
	tier::HotRow *hot = nullptr;
	int hot_count = 0;
	int hot_next = 0;
	core::VisitedHash hot_tids;
	/* the graph's next row, once drawn */
	bool cold_ready = false;
	ItemPointerData cold_tid;
	float cold_distance = 0;
	double cold_key = 0;
	/* quantized: the query's norm, and the rows of the element being
	 * merged, which read_merging ranks by its code */
	double query_norm = 0;
	bool ranked = false; /* the query could be prepared: bounds mean something */
	ItemPointerData merging_tids[heaptids_per_element];
	int merging_count = 0;
	float merging_slack = 0;
	SearchSettings settings{}; /* read when the scan starts */
	bool started = false;
	bool exhausted = false;
	double last_key = -std::numeric_limits<double>::infinity(); /* of rows returned */

	ScanState(Relation index, const Shape &s)
		: graph(index, s), query(s.dims), context(CurrentMemoryContext)
	{
	}
};

/*
 * The query vector, as the index stores vectors. A query that ranks
 * nothing, NULL or a zero vector under cosine, still returns rows, as a
 * sequential scan does (every distance is NULL or NaN, in no order) and as
 * pgvector does: the search runs from the zero vector, which every element
 * is about as near as any other, so the scan returns ef_search elements
 * (all of them, iteratively) in no meaningful order.
 */
void
set_query(IndexScanDesc scan, ScanState &st)
{
	if (scan->numberOfOrderBys == 0)
		ereport(ERROR, (errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
						errmsg("an hnsw index can only be scanned with ORDER BY")));
	ScanKey key = &scan->orderByData[0];
	st.ranked = !(key->sk_flags & SK_ISNULL) &&
				prepare_vector(st.graph.shape(), key->sk_argument, st.query.data());
	if (!st.ranked)
		std::fill(st.query.begin(), st.query.end(), 0.0f);
	/* in double: a tiny query's squares underflow in float (core/sq8.h) */
	double sum = 0;
	for (float x : st.query)
		sum += static_cast<double>(x) * x;
	st.query_norm = std::sqrt(sum);
}

/* The next batch of an iterative scan; false when the search is spent. */
bool
next_search(ScanState &st, int ef)
{
	if (st.graph.visited_count() >= static_cast<std::size_t>(st.settings.max_scan_tuples))
		return false;
	st.layer.restart_from_spilled(ef);
	core::hnsw::search_layer(st.graph, st.layer, ef, 0,
							 core::hnsw::max_links(st.graph.shape().m, 0));
	return !st.layer.nearest.empty();
}

/* A quantized row's key: the lower bound of its exact distance. */
double
bound_of(const ScanState &st, float distance, float slack)
{
	const Shape &s = st.graph.shape();
	if (!st.ranked)
		return -get_float8_infinity();
	return core::sq8_lower_bound(s.metric, distance, st.query_norm, slack, s.dims);
}

/* The search's nearest as the next batch: by distance, or (quantized) by
 * bound, each element read again for its code, its slack and its row (the
 * top says why; the pages are the ones the search just read). */
void
take_batch(ScanState &st)
{
	st.layer.sort_nearest();
	st.batch.clear();
	for (const Candidate<uint64> &c : st.layer.nearest)
		st.batch.push_back({c.ref, c.distance, c.distance, false, {}});
	st.next = 0;
	if (!st.graph.shape().quantized())
		return;
	const Shape &s = st.graph.shape();
	core::Sq8DistanceFn code_distance = st.graph.code_distance_fn();
	for (BatchRow &row : st.batch)
	{
		Buffer buf;
		ElementTuple *e = st.graph.find_element(row.ref, &buf);
		/* not a sound element: no row, and a key that vouches for nothing */
		row.key = -get_float8_infinity();
		if (e == nullptr)
			continue;
		const core::Sq8Header h = *element_code(e);
		if (!(e->flags & (element_deleted | element_free)) && e->heaptid_count == 1 &&
			ItemPointerIsValid(&e->heaptids[0]) &&
			ItemPointerGetBlockNumberNoCheck(&e->heaptids[0]) != InvalidBlockNumber)
		{
			row.has_tid = true;
			row.tid = e->heaptids[0];
		}
		/* a damaged header vouches for nothing (vecdb_index_check says so) */
		if (core::sq8_header_sound(h))
		{
			row.distance = code_distance(st.query.data(), element_codes(e), h.lo, h.step, s.dims);
			row.key = bound_of(st, row.distance, h.slack);
		}
		LockBuffer(buf, BUFFER_LOCK_UNLOCK);
	}
	st.graph.release();
	std::stable_sort(st.batch.begin(), st.batch.end(),
					 [](const BatchRow &a, const BatchRow &b) { return a.key < b.key; });
}

/* The live heap TIDs of the element at ref; none if it was deleted. */
void
load_tids(ScanState &st, uint64 ref)
{
	st.tid_count = 0;
	st.tid_next = 0;
	Buffer buf;
	ElementTuple *e = st.graph.find_element(ref, &buf);
	if (e == nullptr)
	{
		st.graph.release();
		return;
	}
	if (!(e->flags & (element_deleted | element_free)))
		for (int i = 0; i < e->heaptid_count; i++)
			/* a damaged TID must not reach the heap: block InvalidBlockNumber
			 * would read as "extend the table" */
			if (ItemPointerIsValid(&e->heaptids[i]) &&
				ItemPointerGetBlockNumberNoCheck(&e->heaptids[i]) != InvalidBlockNumber)
				st.tids[st.tid_count++] = e->heaptids[i];
	LockBuffer(buf, BUFFER_LOCK_UNLOCK);
	st.graph.release();
}

/* The hot rows, read before the graph is searched (tier.h says why). */
void
read_hot(ScanState &st)
{
	MemoryContext old = MemoryContextSwitchTo(st.context);
	const Shape &s = st.graph.shape();
	tier::read_hot_rows(tier_of(st.graph.index(), s), st.graph.distance_fn(), st.query.data(),
						&st.hot, &st.hot_count, st.hot_tids);
	MemoryContextSwitchTo(old);
	st.hot_next = 0;
}

/* The graph's next row: false when the search is spent. */
bool
next_cold(ScanState &st, ItemPointerData *tid, float *distance, double *key)
{
	const int ef = st.settings.ef_search;
	const int mode = st.settings.iterative_scan;
	while (!st.exhausted)
	{
		if (st.tid_next < st.tid_count)
		{
			*tid = st.tids[st.tid_next++];
			if (st.hot_tids.contains(heaptid_key(*tid)))
				continue;
			*distance = st.tid_distance;
			*key = st.tid_key;
			return true;
		}
		if (st.next < st.batch.size())
		{
			const BatchRow &c = st.batch[st.next++];
			/* strict_order drops what a later batch found closer than rows
			 * already returned */
			if (mode == iterative_scan_strict && c.key < st.last_key)
				continue;
			st.tid_distance = c.distance;
			st.tid_key = c.key;
			if (st.graph.shape().quantized())
			{
				st.tid_count = c.has_tid ? 1 : 0;
				st.tid_next = 0;
				st.tids[0] = c.tid;
			}
			else
				load_tids(st, c.ref);
			continue;
		}
		CHECK_FOR_INTERRUPTS();
		if (mode == iterative_scan_off || !pg::guarded([&] {
				bool more = next_search(st, ef);
				if (more)
					take_batch(st);
				return more;
			}))
			st.exhausted = true;
		st.graph.release();
	}
	return false;
}

/*
 * The element a merge placed but may not have linked (merge.cpp): its rows
 * count as hot, read after the tier, before the graph, so that whichever
 * state the merge is in, one of the three passes finds them.
 */
void
read_merging(ScanState &st, uint64 ref)
{
	const Shape &s = st.graph.shape();
	Relation index = st.graph.index();
	if (ref_block(ref) == meta_blkno || ref_block(ref) >= RelationGetNumberOfBlocks(index))
		return;
	Buffer buf = ReadBuffer(index, ref_block(ref));
	LockBuffer(buf, BUFFER_LOCK_SHARE);
	ElementTuple *e = element_at(BufferGetPage(buf), ref_offset(ref), s);
	int n = 0;
	tier::HotRow rows[heaptids_per_element];
	ItemPointerData chunk;
	ItemPointerSetInvalid(&chunk);
	if (e != nullptr && !(e->flags & (element_deleted | element_free)))
	{
		/* out of line, the distance once the page is unlocked */
		float distance = 0;
		if (s.quantized())
		{
			const core::Sq8Header *h = element_code(e);
			distance = st.graph.code_distance_fn()(st.query.data(), element_codes(e), h->lo,
												   h->step, s.dims);
			st.merging_slack = h->slack;
		}
		else if (!s.external)
			distance = st.graph.distance_fn()(st.query.data(), e->vector, s.dims);
		if (s.external)
			chunk = *element_chunk(e);
		for (int i = 0; i < e->heaptid_count; i++)
			if (ItemPointerIsValid(&e->heaptids[i]) &&
				ItemPointerGetBlockNumberNoCheck(&e->heaptids[i]) != InvalidBlockNumber)
				rows[n++] = {distance, e->heaptids[i]};
	}
	UnlockReleaseBuffer(buf);
	if (n == 0)
		return;
	if (s.external)
	{
		auto *v = static_cast<float *>(palloc(sizeof(float) * s.dims));
		float distance =
			st.graph.distance_fn()(st.query.data(), load_vector(index, s, chunk, v), s.dims);
		pfree(v);
		for (int i = 0; i < n; i++)
			rows[i].distance = distance;
	}
	MemoryContext old = MemoryContextSwitchTo(st.context);
	Size size = sizeof(tier::HotRow) * (st.hot_count + n);
	st.hot = static_cast<tier::HotRow *>(st.hot == nullptr ? palloc(size) : repalloc(st.hot, size));
	MemoryContextSwitchTo(old);
	pg::guarded([&] {
		for (int i = 0; i < n; i++)
			if (st.hot_tids.visit(heaptid_key(rows[i].tid)))
			{
				st.hot[st.hot_count++] = rows[i];
				if (st.merging_count < heaptids_per_element)
					st.merging_tids[st.merging_count++] = rows[i].tid;
			}
	});
	tier::sort_hot_rows(st.hot, st.hot_count);
}

/* A hot row's slack: a row of the element being merged is ranked by its
 * code, the tier's by its floats. */
float
hot_slack(const ScanState &st, const ItemPointerData &tid)
{
	for (int i = 0; i < st.merging_count; i++)
		if (ItemPointerEquals(const_cast<ItemPointerData *>(&st.merging_tids[i]),
							  const_cast<ItemPointerData *>(&tid)))
			return st.merging_slack;
	const Shape &s = st.graph.shape();
	return core::sq8_exact_slack(s.metric, s.dims);
}

void
start(IndexScanDesc scan, ScanState &st)
{
	st.started = true;
	st.settings = search_settings();
	index::backend_counters.hnsw_scans++;
	set_query(scan, st);
	read_hot(st);
	Entry entry = read_entry(scan->indexRelation);
	if (entry.merging != 0)
		read_merging(st, entry.merging);
	if (entry.level < 0)
		st.exhausted = true;
	else
	{
		pg::guarded([&] {
			st.graph.set_query(st.query.data());
			search_from_entry(st.graph, st.layer, entry, st.settings.ef_search,
							  st.settings.iterative_scan != iterative_scan_off);
			take_batch(st);
		});
		st.graph.release();
	}
}

} // namespace

IndexScanDesc
begin_scan(Relation index, int nkeys, int norderbys)
{
	IndexScanDesc scan = RelationGetIndexScan(index, nkeys, norderbys);
	Shape s = read_shape(index);
	scan->opaque = pg::make_owned<ScanState>(index, s);
	if (s.quantized() && norderbys > 0)
	{
		scan->xs_orderbyvals = static_cast<Datum *>(palloc0(sizeof(Datum) * norderbys));
		scan->xs_orderbynulls = static_cast<bool *>(palloc(sizeof(bool) * norderbys));
		/* keys past the first, which the search ignores, bound nothing */
		for (int i = 0; i < norderbys; i++)
		{
			scan->xs_orderbyvals[i] = Float8GetDatum(-get_float8_infinity());
			scan->xs_orderbynulls[i] = false;
		}
	}
	return scan;
}

void
rescan(IndexScanDesc scan, ScanKey keys, int nkeys, ScanKey orderbys, int norderbys)
{
	auto *st = static_cast<ScanState *>(scan->opaque);
	if (keys && scan->numberOfKeys > 0)
		memmove(scan->keyData, keys, scan->numberOfKeys * sizeof(ScanKeyData));
	if (orderbys && scan->numberOfOrderBys > 0)
		memmove(scan->orderByData, orderbys, scan->numberOfOrderBys * sizeof(ScanKeyData));
	st->graph.release();
	st->started = false;
	st->exhausted = false;
	st->batch.clear();
	st->next = 0;
	st->tid_count = st->tid_next = 0;
	st->last_key = -std::numeric_limits<double>::infinity();
	if (st->hot != nullptr)
		pfree(st->hot);
	st->hot = nullptr;
	st->hot_count = st->hot_next = 0;
	st->cold_ready = false;
	st->merging_count = 0;
}

bool
get_tuple(IndexScanDesc scan, ScanDirection dir)
{
	auto *st = static_cast<ScanState *>(scan->opaque);
	const bool quantized = st->graph.shape().quantized();
	if (!st->started)
		start(scan, *st);
	if (!st->cold_ready)
		st->cold_ready = next_cold(*st, &st->cold_tid, &st->cold_distance, &st->cold_key);

	/* the nearer of the two streams' heads; the hot one on a tie, and
	 * before a NaN */
	double hot_key = 0;
	if (st->hot_next < st->hot_count)
	{
		const tier::HotRow &row = st->hot[st->hot_next];
		hot_key = quantized ? bound_of(*st, row.distance, hot_slack(*st, row.tid)) : row.distance;
	}
	bool hot = st->hot_next < st->hot_count && (!st->cold_ready || !(hot_key > st->cold_key));
	if (!hot && !st->cold_ready)
		return false;
	double key;
	if (hot)
	{
		scan->xs_heaptid = st->hot[st->hot_next].tid;
		key = hot_key;
		st->hot_next++;
	}
	else
	{
		scan->xs_heaptid = st->cold_tid;
		key = st->cold_key;
		st->cold_ready = false;
	}
	st->last_key = Max(st->last_key, key);
	scan->xs_recheck = false;
	scan->xs_recheckorderby = quantized;
	if (quantized)
	{
		scan->xs_orderbyvals[0] = Float8GetDatum(key);
		scan->xs_orderbynulls[0] = false;
	}
	return true;
}

void
end_scan(IndexScanDesc scan)
{
	auto *st = static_cast<ScanState *>(scan->opaque);
	st->graph.release();
	index::backend_counters.hnsw_visited += st->graph.distances_computed();
}

} // namespace vecdb::hnsw
