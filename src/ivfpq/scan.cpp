/*
 * scan.cpp: ORDER BY col <op> query LIMIT k through an ivfpq index.
 *
 * The first call ranks the lists by their centroid's distance to the query,
 * reads the vecdb.ivfpq_probes nearest, and estimates every entry's distance
 * from its code with one lookup table per query (see prepare_search). The
 * vecdb.ivfpq_rerank best estimates are then re-ranked by exact distance
 * and returned closest first.
 *
 * With vecdb.ivfpq_iterative_scan on, the scan goes on as a merge: a
 * re-ranked row is returned once no candidate left has a smaller estimate
 * (estimates are close to exact distances, not bounds, so this keeps the
 * order nearly exact); otherwise the next best estimates are re-ranked, and
 * once every candidate is, the next lists are read, up to
 * vecdb.ivfpq_max_probes lists. strict_order waits longer, reading more
 * candidates and lists by the largest errors seen so far, and drops the rare
 * row that still comes out closer than one already returned.
 *
 * Where the exact vectors come from: the heap. A copy in the index would
 * make it as large as the vectors themselves, against the point of product
 * quantization (the index is meant to be a fifth of them at most). And the
 * executor's ORDER BY recheck cannot do the re-ranking: it requires each
 * distance the index reports to be a lower bound of the exact one
 * (nodeIndexscan.c raises "index returned tuples in wrong order"
 * otherwise), which a PQ estimate is not. So the scan fetches each
 * candidate's row itself, through the table AM and the scan's snapshot,
 * computes the indexed value as CREATE INDEX would (expressions included),
 * and returns rows with exact distances: the executor needs no recheck.
 * Rows the snapshot cannot see are dropped here, as the executor would.
 *
 * A query that nothing is nearest to (NULL, or a zero vector under cosine)
 * has every distance NULL or NaN, which a sort puts in any order after the
 * rest: the scan returns every entry then, list by list, unranked, as a
 * sequential scan and a sort would return every row.
 *
 * Before the lists, the scan reads the hot tier (src/tier) exactly, and
 * returns the union of both, nearest first (without a query: the hot rows,
 * then the lists'). A list row whose TID the tier answered for is dropped.
 */
#include "ivfpq/ivfpq.h"
#include "index/counters.h"

extern "C" {
#include "access/heapam.h"
#include "access/relscan.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/index.h"
#include "executor/executor.h"
#include "executor/tuptable.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
}

#include <algorithm>
#include <limits>

namespace vecdb::ivfpq {

namespace {

struct Candidate
{
	float distance;      /* estimated, then exact (ranking distance) */
	float list_distance; /* its list's centroid distance */
	ItemPointerData tid;
};

/* For std::*_heap, whose top is the greatest: the nearest on top. */
bool
farther(const Candidate &a, const Candidate &b)
{
	return core::nearer(b.distance, a.distance);
}

struct ScanState
{
	const Model *model = nullptr;
	std::vector<float> query;
	std::vector<float> table;                 /* m x 256 */
	std::vector<std::pair<float, int>> lists; /* centroid distance, list: nearest first */
	std::size_t probed = 0;                   /* lists read so far */
	std::vector<Candidate> pool;              /* heap of estimates not re-ranked yet */
	std::vector<Candidate> ranked;            /* heap of re-ranked rows not returned yet */
	std::vector<float> sums;                  /* a page's table sums */
	std::vector<float> vector;                /* a fetched row's indexed value */
	float last_distance = -std::numeric_limits<float>::infinity();
	float overestimate = 0; /* the most an estimate exceeded its exact distance */
	float list_margin = 0;  /* the most a row was nearer than its list's centroid */
	bool started = false;
	bool exhausted = false;
	bool unordered = false;    /* no query to rank by: every entry, as it comes */
	SearchSettings settings{}; /* read when the scan starts */

	/* the heap, for exact distances: set up on first use, since
	 * ambeginscan runs before the scan knows its heap relation */
	IndexFetchTableData *fetch = nullptr;
	TupleTableSlot *slot = nullptr;
	IndexInfo *info = nullptr;
	EState *estate = nullptr;
	MemoryContext row_context = nullptr;
	BlockNumber heap_blocks = 0; /* as last read: rows this scan sees are below */

	/* the hot tier's rows, nearest first, and their TIDs; read before the
	 * lists, each list row whose TID they hold is dropped (tier.h) */
	MemoryContext context = CurrentMemoryContext; /* the scan's */
	tier::HotRow *hot = nullptr;
	int hot_count = 0;
	int hot_next = 0;
	core::VisitedHash hot_tids;
	bool cold_ready = false; /* cold holds the lists' next row */
	Candidate cold;
};

/* The query vector, as the index files vectors; false if nothing can be
 * nearest to it (NULL, or a zero vector under cosine). */
bool
set_query(IndexScanDesc scan, ScanState &st)
{
	if (scan->numberOfOrderBys == 0)
		ereport(ERROR, (errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
						errmsg("an %s index can only be scanned with ORDER BY",
							   st.model->shape.am_name())));
	ScanKey key = &scan->orderByData[0];
	if (key->sk_flags & SK_ISNULL)
		return false;
	const Shape &s = st.model->shape;
	return prepare_index_vector(s.input, s.metric, s.dims, key->sk_argument, st.query.data());
}

/*
 * The lists by centroid distance, and the per-query table. With x = c + r
 * an entry's vector as its code gives it (c its list's centroid, r the
 * decoded residual), the estimate is base(list) + w * offset + the sum of
 * table[j][code_j] over the sub-spaces:
 *   L2:      ||q - x||^2 = ||q - c||^2 + (||r||^2 + 2<c,r>) - 2<q,r>
 *            base = ||q - c||^2, w = 1, table = -2<q_j, cw>
 *   IP:      -<q,x> = -<q,c> - <q,r>
 *            base = -<q,c>, no offset, table = -<q_j, cw>
 *   cosine:  -<q,x> + (||x||^2 - 1) / 2, i.e. ||q - x||^2 / 2 - 1, the L2
 *            estimate rescaled: for unit q and x it ranks as -<q,x> does,
 *            but its error, 2<x - q, e> + ||e||^2 for a code error e, fades
 *            for the near neighbours that matter, where -<q,e> does not
 *            (about twice the recall at a small rerank);
 *            base = -<q,c>, w = 1/2 (||x||^2 - 1 is the offset, c being a
 *            unit vector), table = -<q_j, cw>
 *   L1:      |q - x|_1 with codes of the vector itself
 *            base = 0, no offset, table = |q_j - cw|_1
 * The centroid distance is the list's ranking distance (L2 squared, -dot).
 */
void
prepare_search(ScanState &st)
{
	const Model &model = *st.model;
	const Shape &s = model.shape;
	core::DistanceFn distance = core::ranking_distance(s.metric);
	st.lists.resize(s.lists);
	for (int list = 0; list < s.lists; list++)
		st.lists[list] = {
			s.trained ? distance(st.query.data(),
								 model.centroids.data() + static_cast<Size>(list) * s.dims, s.dims)
					  : 0.0f,
			list};
	/* a damaged centroid's NaN distance sorts last */
	std::sort(st.lists.begin(), st.lists.end(), [](const auto &a, const auto &b) {
		return core::nearer(a.first, b.first) ||
			   (!core::nearer(b.first, a.first) && a.second < b.second);
	});
	if (!s.trained || s.flat)
		return;
	st.table.resize(static_cast<Size>(s.m) * core::ProductQuantizer::ksub);
	switch (s.metric)
	{
		case Metric::l2:
			model.pq->inner_product_table(st.query.data(), st.table.data());
			for (float &t : st.table)
				t *= -2.0f;
			break;
		case Metric::inner_product:
		case Metric::cosine:
			model.pq->inner_product_table(st.query.data(), st.table.data());
			for (float &t : st.table)
				t = -t;
			break;
		case Metric::l1:
			model.pq->l1_table(st.query.data(), st.table.data());
			break;
		case Metric::hamming:
		case Metric::jaccard:
			break; /* never here: shape_of refuses them */
	}
}

/* Estimate every entry of one list into the pool; a flat list's entries
 * hold their vectors, so their exact distances go into ranked (made a heap
 * again by probe_more). */
void
probe(IndexScanDesc scan, ScanState &st, int list, float centroid_distance)
{
	Relation index = scan->indexRelation;
	const Model &model = *st.model;
	const Shape &s = model.shape;
	const Size size = s.entry_size();
	const float base = s.by_residual() ? centroid_distance : 0.0f;
	const float offset_weight = s.offset_weight();
	const bool exact = s.flat && !st.unordered;
	const core::DistanceFn distance = core::ranking_distance(s.metric);
	std::vector<Candidate> &found = exact ? st.ranked : st.pool;

	for_each_list_page(
		index, model.directory_blkno, list, BUFFER_LOCK_SHARE, [&](Buffer, Page page) {
			int n = entry_count(page, size);
			const char *entries = entries_of(page);
			bool estimate = s.trained && !s.flat && !st.unordered;
			if (estimate && n > 0)
			{
				pg::guarded([&] { st.sums.resize(n); });
				core::adc_sums(st.table.data(), s.m,
							   reinterpret_cast<const uint8 *>(entries + s.code_at()), size, n,
							   st.sums.data());
				index::backend_counters.ivfpq_estimated += n;
			}
			if (exact)
				index::backend_counters.ivfpq_estimated += n;
			for (int i = 0; i < n; i++)
			{
				const char *e = entries + i * size;
				Candidate c;
				memcpy(&c.tid, e, sizeof(ItemPointerData));
				if (!heaptid_is_sane(c.tid))
					continue;
				c.distance = 0;
				c.list_distance = centroid_distance;
				if (exact)
					c.distance = distance(st.query.data(), entry_vector(e), s.dims);
				else if (estimate)
				{
					float offset = 0;
					if (s.has_offset())
						memcpy(&offset, e + s.offset_at(), sizeof(float));
					c.distance = base + offset_weight * offset + st.sums[i];
				}
				/* guarded alone: the page walk around it may ERROR */
				pg::guarded([&] { found.push_back(c); }); /* probe_more makes it a heap again */
			}
		});
}

/* Read the next lists, up to count of them and the max_probes bound;
 * false if there were none left. */
bool
probe_more(IndexScanDesc scan, ScanState &st, int count)
{
	std::size_t limit = st.lists.size();
	if (st.settings.max_probes > 0)
		limit = Min(limit, static_cast<std::size_t>(st.settings.max_probes));
	if (st.probed >= limit)
		return false;
	std::size_t end = Min(limit, st.probed + Max(count, 1));
	for (; st.probed < end; st.probed++)
		probe(scan, st, st.lists[st.probed].second, st.lists[st.probed].first);
	/* once for all the lists read: linear, where a push each is n log n */
	std::make_heap(st.pool.begin(), st.pool.end(), farther);
	if (st.model->shape.flat)
		std::make_heap(st.ranked.begin(), st.ranked.end(), farther);
	return true;
}

void
open_heap(IndexScanDesc scan, ScanState &st)
{
	Relation heap = scan->heapRelation;
	if (heap == nullptr)
		ereport(ERROR, (errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
						errmsg("an %s index scan needs its table", st.model->shape.am_name())));
	st.fetch = table_index_fetch_begin(heap);
	st.slot = table_slot_create(heap, nullptr);
	st.info = BuildIndexInfo(scan->indexRelation);
	if (st.info->ii_IndexAttrNumbers[0] == 0)
		st.estate = CreateExecutorState();
	st.row_context =
		AllocSetContextCreate(CurrentMemoryContext, "vecdb ivfpq re-rank", ALLOCSET_DEFAULT_SIZES);
}

/*
 * What heap_hot_search_buffer does for a fetch with an MVCC snapshot under
 * SERIALIZABLE, but for the predicate lock: the check that the version
 * read was not written by a concurrent transaction (heap tables only; the
 * fetch's buffer is the slot's).
 */
void
check_conflict_out(Relation heap, TupleTableSlot *slot, bool visible, Snapshot snapshot)
{
	if (!IsolationIsSerializable() || !TTS_IS_BUFFERTUPLE(slot))
		return;
	auto *b = reinterpret_cast<BufferHeapTupleTableSlot *>(slot);
	LockBuffer(b->buffer, BUFFER_LOCK_SHARE);
	HeapCheckForSerializableConflictOut(visible, heap, b->base.tuple, b->buffer, snapshot);
	LockBuffer(b->buffer, BUFFER_LOCK_UNLOCK);
}

/*
 * The version of the row at tid that the scan's snapshot shows, into
 * st.slot; false if it shows none. Fetched once, and without the SSI
 * predicate lock that a fetch with the scan's snapshot takes: that would
 * lock every row re-ranked, when only the rows returned are read by the
 * query. The executor's own fetch of a returned row locks it; for the
 * rest, the lock on the whole index that the scan takes (ampredlocks is
 * false) sees any change of a row's vector, which inserts an entry.
 * So the HOT chain is walked with SnapshotAny, each version checked
 * against the snapshot here.
 */
bool
fetch_visible(IndexScanDesc scan, ScanState &st, ItemPointerData tid)
{
	Relation heap = scan->heapRelation;
	bool call_again = false;
	bool all_dead = false;
	ItemPointerData at = tid; /* the fetch moves it along the HOT chain */
	while (table_index_fetch_tuple(st.fetch, &at, SnapshotAny, st.slot, &call_again, &all_dead))
	{
		bool visible = table_tuple_satisfies_snapshot(heap, st.slot, scan->xs_snapshot);
		check_conflict_out(heap, st.slot, visible, scan->xs_snapshot);
		if (visible)
			return true;
		ExecClearTuple(st.slot);
		if (!call_again)
			break;
	}
	return false;
}

/* The exact ranking distance of the row at tid, as the snapshot shows it;
 * false if it shows none. */
bool
exact_distance(IndexScanDesc scan, ScanState &st, ItemPointerData tid, float *out)
{
	const Shape &s = st.model->shape;
	/* a damaged entry must not send the table AM past the table's end */
	if (ItemPointerGetBlockNumber(&tid) >= st.heap_blocks)
	{
		st.heap_blocks = RelationGetNumberOfBlocks(scan->heapRelation);
		if (ItemPointerGetBlockNumber(&tid) >= st.heap_blocks)
			return false;
	}
	if (!fetch_visible(scan, st, tid))
		return false;

	MemoryContext old = MemoryContextSwitchTo(st.row_context);
	Datum value;
	bool isnull;
	if (st.estate == nullptr)
		value = slot_getattr(st.slot, st.info->ii_IndexAttrNumbers[0], &isnull);
	else
	{
		Datum values[INDEX_MAX_KEYS];
		bool nulls[INDEX_MAX_KEYS];
		GetPerTupleExprContext(st.estate)->ecxt_scantuple = st.slot;
		FormIndexDatum(st.info, st.slot, st.estate, values, nulls);
		value = values[0];
		isnull = nulls[0];
	}
	bool usable =
		!isnull && prepare_index_vector(s.input, s.metric, s.dims, value, st.vector.data());
	MemoryContextSwitchTo(old);
	if (st.estate != nullptr)
		ResetPerTupleExprContext(st.estate);
	MemoryContextReset(st.row_context);
	ExecClearTuple(st.slot);
	if (usable)
	{
		*out = core::ranking_distance(s.metric)(st.query.data(), st.vector.data(), s.dims);
		index::backend_counters.ivfpq_reranked++;
	}
	return usable;
}

/*
 * Re-rank the best estimates left in the pool: vecdb.ivfpq_rerank of them,
 * or all of them for an untrained index, which has no estimates.
 */
void
rerank(IndexScanDesc scan, ScanState &st)
{
	std::size_t take = st.model->shape.trained
						   ? Min(st.pool.size(), static_cast<std::size_t>(st.settings.rerank))
						   : st.pool.size();
	pg::guarded([&] { st.ranked.reserve(st.ranked.size() + take); });
	for (std::size_t i = 0; i < take; i++)
	{
		if (i % 64 == 0)
			CHECK_FOR_INTERRUPTS();
		std::pop_heap(st.pool.begin(), st.pool.end(), farther);
		Candidate c = st.pool.back();
		st.pool.pop_back();
		float estimate = c.distance;
		if (exact_distance(scan, st, c.tid, &c.distance))
		{
			st.overestimate = Max(st.overestimate, estimate - c.distance);
			st.list_margin = Max(st.list_margin, c.list_distance - c.distance);
			st.ranked.push_back(c);
			std::push_heap(st.ranked.begin(), st.ranked.end(), farther);
		}
	}
}

/* The nearest re-ranked row, off the heap. */
Candidate
pop_ranked(ScanState &st)
{
	std::pop_heap(st.ranked.begin(), st.ranked.end(), farther);
	Candidate c = st.ranked.back();
	st.ranked.pop_back();
	return c;
}

/* Whether tid lies within the table as the scan last measured it. */
bool
in_table(IndexScanDesc scan, ScanState &st, const ItemPointerData &tid)
{
	BlockNumber blkno = ItemPointerGetBlockNumber(&tid);
	if (blkno >= st.heap_blocks)
	{
		if (scan->heapRelation == nullptr)
			ereport(ERROR, (errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
							errmsg("an %s index scan needs its table", st.model->shape.am_name())));
		st.heap_blocks = RelationGetNumberOfBlocks(scan->heapRelation);
	}
	return blkno < st.heap_blocks;
}

/* Without a query: the next entry of the lists in turn, false after the
 * last list's. The executor's fetch drops the rows its snapshot hides. */
bool
next_unordered(IndexScanDesc scan, ScanState &st, Candidate *out)
{
	for (;;)
	{
		while (st.pool.empty())
		{
			if (st.probed >= st.lists.size())
				return false;
			probe(scan, st, st.lists[st.probed].second, 0.0f);
			st.probed++;
			std::reverse(st.pool.begin(), st.pool.end()); /* popped from the back */
		}
		*out = st.pool.back();
		st.pool.pop_back();
		/* a damaged entry must not send the executor's fetch past the
		 * table's end, as exact_distance guards the re-ranking's */
		if (in_table(scan, st, out->tid))
			return true;
	}
}

/*
 * The next row to return, false when there is none. Without iterative scans
 * that is the first re-ranked batch, nearest first; with them, see the top
 * of the file.
 */
bool
next_row(IndexScanDesc scan, ScanState &st, Candidate *out)
{
	if (st.settings.iterative_scan == iterative_scan_off)
	{
		if (st.ranked.empty())
			return false;
		*out = pop_ranked(st);
		return true;
	}
	for (;;)
	{
		/* candidates run out: the next lists first, whose entries may be
		 * nearer than what waits re-ranked (a flat list's rows are ranked
		 * already: only once they are all returned) */
		bool spent = st.pool.empty() && (!st.model->shape.flat || st.ranked.empty());
		if (spent && probe_more(scan, st, st.settings.probes))
			continue;
		/*
		 * strict_order waits until neither an estimate left nor a list not
		 * read yet could hide a nearer row, judging by the largest errors
		 * seen (estimates and centroid distances are no bounds), so that
		 * it seldom has to drop one.
		 */
		bool strict = st.settings.iterative_scan == iterative_scan_strict;
		float margin = strict ? st.overestimate : 0.0f;
		if (!st.ranked.empty() &&
			(st.pool.empty() || st.ranked.front().distance <= st.pool.front().distance - margin))
		{
			if (strict && st.probed < st.lists.size() &&
				st.ranked.front().distance > st.lists[st.probed].first - st.list_margin &&
				probe_more(scan, st, 1))
				continue;
			*out = pop_ranked(st);
			return true;
		}
		if (st.pool.empty())
			return false;
		rerank(scan, st);
	}
}

} // namespace

IndexScanDesc
begin_scan(Relation index, int nkeys, int norderbys)
{
	IndexScanDesc scan = RelationGetIndexScan(index, nkeys, norderbys);
	auto *st = pg::make_owned<ScanState>();
	st->model = &load_model(index);
	pg::guarded([&] {
		st->query.resize(st->model->shape.dims);
		st->vector.resize(st->model->shape.dims);
	});
	scan->opaque = st;
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
	st->started = false;
	st->exhausted = false;
	st->unordered = false;
	st->probed = 0;
	st->pool.clear();
	st->ranked.clear();
	st->last_distance = -std::numeric_limits<float>::infinity();
	st->overestimate = 0;
	st->list_margin = 0;
	if (st->hot != nullptr)
		pfree(st->hot);
	st->hot = nullptr;
	st->hot_count = st->hot_next = 0;
	st->cold_ready = false;
}

namespace {

void
read_hot(IndexScanDesc scan, ScanState &st)
{
	const Shape &s = st.model->shape;
	MemoryContext old = MemoryContextSwitchTo(st.context);
	tier::read_hot_rows(tier_of(scan->indexRelation, s), core::ranking_distance(s.metric),
						st.query.data(), &st.hot, &st.hot_count, st.hot_tids);
	MemoryContextSwitchTo(old);
	st.hot_next = 0;
}

void
start(IndexScanDesc scan, ScanState &st)
{
	st.started = true;
	st.settings = search_settings(st.model->shape.flat);
	index::backend_counters.ivfpq_scans++;
	if (st.fetch == nullptr && !st.model->shape.flat)
		open_heap(scan, st);
	if (!set_query(scan, st))
	{
		/* every list, in list order */
		st.unordered = true;
		pg::guarded([&] {
			std::fill(st.query.begin(), st.query.end(), 0.0f);
			st.lists.resize(st.model->shape.lists);
			for (int list = 0; list < st.model->shape.lists; list++)
				st.lists[list] = {0.0f, list};
		});
		read_hot(scan, st);
	}
	else
	{
		read_hot(scan, st);
		pg::guarded([&] { prepare_search(st); });
		probe_more(scan, st, st.model->shape.trained ? st.settings.probes : 1);
		rerank(scan, st);
	}
}

/* The lists' next row, not one the hot tier answered for. */
bool
next_cold(IndexScanDesc scan, ScanState &st, Candidate *c)
{
	for (;;)
	{
		if (st.exhausted)
			return false;
		bool found = st.unordered ? next_unordered(scan, st, c) : next_row(scan, st, c);
		if (!found)
		{
			st.exhausted = true;
			return false;
		}
		if (st.hot_tids.contains(heaptid_key(c->tid)))
			continue;
		/* a flat list's rows go to the executor unfetched: a damaged entry
		 * must not send its fetch past the table's end */
		if (!st.unordered && st.model->shape.flat && !in_table(scan, st, c->tid))
			continue;
		if (!st.unordered && st.settings.iterative_scan == iterative_scan_strict &&
			c->distance < st.last_distance)
			continue;
		return true;
	}
}

} // namespace

bool
get_tuple(IndexScanDesc scan, ScanDirection dir)
{
	auto *st = static_cast<ScanState *>(scan->opaque);
	if (!st->started)
		start(scan, *st);
	if (!st->cold_ready)
		st->cold_ready = next_cold(scan, *st, &st->cold);

	/* the nearer head; the hot one on a tie, before a NaN, and first of
	 * all when there is no query */
	bool hot =
		st->hot_next < st->hot_count &&
		(!st->cold_ready || st->unordered || !(st->hot[st->hot_next].distance > st->cold.distance));
	if (!hot && !st->cold_ready)
		return false;
	float distance;
	if (hot)
	{
		scan->xs_heaptid = st->hot[st->hot_next].tid;
		distance = st->hot[st->hot_next++].distance;
	}
	else
	{
		scan->xs_heaptid = st->cold.tid;
		distance = st->cold.distance;
		st->cold_ready = false;
	}
	if (!st->unordered)
		st->last_distance = Max(st->last_distance, distance);
	scan->xs_recheck = false;
	scan->xs_recheckorderby = false;
	return true;
}

void
end_scan(IndexScanDesc scan)
{
	auto *st = static_cast<ScanState *>(scan->opaque);
	if (st->fetch != nullptr)
		table_index_fetch_end(st->fetch);
	if (st->slot != nullptr)
		ExecDropSingleTupleTableSlot(st->slot);
	if (st->estate != nullptr)
		FreeExecutorState(st->estate);
	st->fetch = nullptr;
	st->slot = nullptr;
	st->estate = nullptr;
}

} // namespace vecdb::ivfpq
