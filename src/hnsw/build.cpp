/*
 * build.cpp: CREATE INDEX for hnsw.
 *
 * The graph is grown in memory (src/core's BuildGraph) within
 * maintenance_work_mem, then written page by page once, and WAL-logged in
 * bulk. A first pass counts the rows, so that the graph's memory is sized
 * once, for what the table really holds. When the graph would outgrow the
 * memory, what was built is written out and the remaining rows go through
 * the ordinary on-page insert (in a parallel build, every participant's):
 * slower, same graph quality, and a NOTICE. Those inserts write unlogged
 * (index/page_write.h), and are logged in the same bulk at the end.
 */
#include "hnsw/hnsw.h"
#include "core/hnsw_graph.h"
#include "pg/init_fork.h"
#include "index/page_write.h"

extern "C" {
#include "access/parallel.h"
#include "access/relscan.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xloginsert.h"
#include "catalog/index.h"
#include "commands/progress.h"
#include "common/pg_prng.h"
#include "optimizer/optimizer.h"
#include "storage/condition_variable.h"
#include "storage/dsm_impl.h"
#include "storage/spin.h"
#include "utils/snapmgr.h"
#include "pgstat.h"
#include "utils/memutils.h"
}

#include <sys/statvfs.h>

namespace vecdb::hnsw {

namespace {

using core::hnsw::BuildGraph;
using core::hnsw::Inserter;

struct SharedBuild;

struct BuildState
{
	Relation heap;
	Relation index;
	Shape shape;
	int level_cap;
	double count;           /* rows the counting pass saw */
	double indtuples;       /* rows indexed */
	double on_pages_tuples; /* of them, inserted on pages */
	double reltuples;       /* heap rows seen (parallel build) */
	BuildGraph *graph;
	Inserter *inserter;
	bool on_pages;       /* the graph outgrew memory: inserting on pages */
	SharedBuild *shared; /* a participant of a parallel build: its state */
	float *vector;
	MemoryContext row_context;
	pg_prng_state rng;
};

uint64
payload_of(ItemPointer tid)
{
	return ref_of(*tid);
}

void
count_callback(Relation index, ItemPointer tid, Datum *values, bool *isnull, bool alive, void *arg)
{
	if (!isnull[0])
		static_cast<BuildState *>(arg)->count++;
}

/* Put a finished page at the end of the index. */
void
append_page(Relation index, Page page, BlockNumber expected)
{
	Buffer buf = ReadBufferExtended(index, MAIN_FORKNUM, P_NEW, RBM_NORMAL, nullptr);
	if (BufferGetBlockNumber(buf) != expected)
		elog(ERROR, "hnsw build expected block %u, got %u", expected, BufferGetBlockNumber(buf));
	LockBuffer(buf, BUFFER_LOCK_EXCLUSIVE);
	memcpy(BufferGetPage(buf), page, BLCKSZ);
	MarkBufferDirty(buf);
	UnlockReleaseBuffer(buf);
}

void
write_meta(Relation index, const Shape &s, ForkNumber fork)
{
	Buffer buf = ReadBufferExtended(index, fork, P_NEW, RBM_NORMAL, nullptr);
	LockBuffer(buf, BUFFER_LOCK_EXCLUSIVE);
	GenericXLogState *state = GenericXLogStart(index);
	Page page = GenericXLogRegisterBuffer(state, buf, GENERIC_XLOG_FULL_IMAGE);
	init_page(page, page_meta);
	MetaPage *meta = meta_of(page);
	meta->magic = meta_magic;
	meta->version =
		s.quantization != Quantization::none ? format_version_quantized : format_version;
	meta->dims = static_cast<uint32>(s.input_dims);
	meta->m = static_cast<uint16>(s.m);
	meta->ef_construction = static_cast<uint16>(s.ef_construction);
	meta->metric = static_cast<uint8>(s.metric);
	meta->quantization = static_cast<uint8>(s.quantization);
	meta->entry_level = -1;
	meta->entry_blkno = InvalidBlockNumber;
	meta->entry_offno = InvalidOffsetNumber;
	meta->insert_blkno = InvalidBlockNumber;
	tier::init_meta(&meta->tier);
	meta->merging_blkno = InvalidBlockNumber;
	meta->merging_offno = InvalidOffsetNumber;
	((PageHeader) page)->pd_lower = static_cast<LocationIndex>(reinterpret_cast<char *>(meta + 1) -
															   reinterpret_cast<char *>(page));
	GenericXLogFinish(state);
	UnlockReleaseBuffer(buf);
}

/*
 * An out-of-line index's vectors, packed on vector pages from the end of
 * the index, in element order: each vector's chunks fill the room left on
 * the page before a new page starts. Written forwards, so a chunk that
 * fills its page names the first item of the next page.
 */
struct ChunkPacker
{
	PGAlignedBlock page;
	BlockNumber blkno;
	PGAlignedBlock chunk;
};

ItemPointerData
pack_vector(Relation index, const Shape &s, ChunkPacker &p, const float *v)
{
	ItemPointerData first;
	ItemPointerSetInvalid(&first);
	auto *c = reinterpret_cast<VectorChunk *>(p.chunk.data);
	int done = 0;
	while (done < s.dims)
	{
		int left = s.dims - done;
		int fit = chunk_floats_fitting(p.page.data);
		if (fit < Min(left, chunk_min_floats))
		{
			append_page(index, p.page.data, p.blkno);
			p.blkno++;
			init_page(p.page.data, page_vectors);
			continue;
		}
		int k = Min(left, fit);
		c->count = static_cast<uint16>(k);
		if (k < left)
			ItemPointerSet(&c->next, p.blkno + 1, FirstOffsetNumber);
		else
			ItemPointerSetInvalid(&c->next);
		memcpy(c->values, v + done, sizeof(float) * k);
		OffsetNumber off = PageAddItem(p.page.data, reinterpret_cast<Item>(c), chunk_size(k),
									   InvalidOffsetNumber, false, false);
		if (off == InvalidOffsetNumber ||
			(k < left && chunk_floats_fitting(p.page.data) >= Min(left - k, chunk_min_floats)))
			elog(ERROR, "hnsw build could not pack a vector chunk");
		if (done == 0)
			ItemPointerSet(&first, p.blkno, off);
		done += k;
	}
	return first;
}

/* Every element's vector on vector pages; the address of each's first
 * chunk. */
ItemPointerData *
write_vectors(Relation index, const Shape &s, const BuildGraph &g)
{
	uint32 n = g.size();
	auto *chunks = static_cast<ItemPointerData *>(
		MemoryContextAllocHuge(CurrentMemoryContext, sizeof(ItemPointerData) * n));
	auto *p = static_cast<ChunkPacker *>(palloc(sizeof(ChunkPacker)));
	p->blkno = RelationGetNumberOfBlocks(index);
	init_page(p->page.data, page_vectors);
	for (uint32 id = 0; id < n; id++)
	{
		CHECK_FOR_INTERRUPTS();
		chunks[id] = pack_vector(index, s, *p, g.vector(id));
	}
	append_page(index, p->page.data, p->blkno);
	pfree(p);
	return chunks;
}

/*
 * Write the in-memory graph as element pages after the meta page (and,
 * out of line, after the vector pages): first
 * give every element its place, so that links can name places, then fill
 * the pages in order.
 */
void
write_graph(BuildState *st)
{
	const BuildGraph &g = *st->graph;
	const Shape &s = st->shape;
	uint32 n = g.size();
	pgstat_progress_update_param(PROGRESS_CREATEIDX_SUBPHASE, progress_phase(true));
	if (n == 0)
		return;
	Inserter *ins = st->inserter ? st->inserter : pg::make_owned<Inserter>();
	pg::guarded([&] { return st->graph->link_orphans(*ins); });
	ItemPointerData *chunks = s.external ? write_vectors(st->index, s, g) : nullptr;

	auto *blkno = static_cast<BlockNumber *>(
		MemoryContextAllocHuge(CurrentMemoryContext, sizeof(BlockNumber) * n));
	auto *offno = static_cast<OffsetNumber *>(
		MemoryContextAllocHuge(CurrentMemoryContext, sizeof(OffsetNumber) * n));
	const Size room = vecdb::index::page_room;
	const BlockNumber first_blkno = RelationGetNumberOfBlocks(st->index);
	BlockNumber blk = first_blkno;
	OffsetNumber off = FirstOffsetNumber;
	Size used = 0;
	for (uint32 id = 0; id < n; id++)
	{
		Size size = MAXALIGN(element_size(s, g.level(id))) + sizeof(ItemIdData);
		if (used + size > room)
		{
			blk++;
			off = FirstOffsetNumber;
			used = 0;
		}
		blkno[id] = blk;
		offno[id] = off++;
		used += size;
	}

	PGAlignedBlock page;
	auto *e = static_cast<ElementTuple *>(palloc(max_element_size));
	BlockNumber page_blkno = first_blkno;
	init_page(page.data, page_elements);
	for (uint32 id = 0; id < n; id++)
	{
		if (blkno[id] != page_blkno)
		{
			append_page(st->index, page.data, page_blkno);
			page_blkno = blkno[id];
			init_page(page.data, page_elements);
			CHECK_FOR_INTERRUPTS();
		}
		int level = g.level(id);
		ItemPointerData tid;
		uint64 p = g.payload(id, 0);
		ItemPointerSet(&tid, ref_block(p), ref_offset(p));
		init_element(e, s, level, level, g.vector(id), &tid, chunks ? &chunks[id] : nullptr);
		e->heaptid_count = static_cast<uint8>(g.payload_count(id));
		for (int i = 1; i < g.payload_count(id); i++)
		{
			p = g.payload(id, i);
			ItemPointerSet(&e->heaptids[i], ref_block(p), ref_offset(p));
		}
		for (int l = 0; l <= level; l++)
		{
			const uint32 *links;
			int count = g.links(id, l, &links);
			ItemPointerData *out = element_links(e, s, l);
			for (int i = 0; i < count; i++)
				ItemPointerSet(&out[i], blkno[links[i]], offno[links[i]]);
		}
		Size size = element_size(s, level);
		if (PageAddItem(page.data, reinterpret_cast<Item>(e), size, InvalidOffsetNumber, false,
						false) != offno[id])
			elog(ERROR, "hnsw build could not place element %u", id);
	}
	append_page(st->index, page.data, page_blkno);

	/* The meta page: the entry point and where inserts go next. */
	Buffer buf = ReadBuffer(st->index, meta_blkno);
	LockBuffer(buf, BUFFER_LOCK_EXCLUSIVE);
	MetaPage *meta = meta_of(BufferGetPage(buf));
	meta->entry_level = static_cast<int16>(g.top_level());
	meta->entry_blkno = blkno[g.entry()];
	meta->entry_offno = offno[g.entry()];
	meta->insert_blkno = page_blkno;
	MarkBufferDirty(buf);
	UnlockReleaseBuffer(buf);

	pfree(e);
	pfree(blkno);
	pfree(offno);
	if (chunks != nullptr)
		pfree(chunks);
}

void
log_all_pages(Relation index)
{
	if (RelationNeedsWAL(index))
		log_newpage_range(index, MAIN_FORKNUM, 0, RelationGetNumberOfBlocks(index), true);
}

/*
 * The StopCheck of the build's inserters (core/spin.h): a participant that
 * waits for another's lock on the shared graph gives up when a cancel or a
 * termination is pending, as CHECK_FOR_INTERRUPTS would act on. Flags only:
 * it runs inside src/core's frames.
 */
bool
cancel_pending()
{
	return InterruptPending && (QueryCancelPending || ProcDiePending);
}

/* Add one vector to the in-memory graph. If a wait for a lock was given up
 * (cancel_pending), the ERROR comes here, after every C++ frame is gone:
 * the interrupt's own, or a cancel if it was held off. */
BuildGraph::AddResult
add_to_graph(BuildState *st, ItemPointer tid, int level)
{
	bool interrupted = false;
	BuildGraph::AddResult r = pg::guarded([&] {
		try
		{
			return st->graph->add(st->vector, payload_of(tid), level, *st->inserter);
		}
		catch (const core::Interrupted &)
		{
			interrupted = true;
			return BuildGraph::AddResult::full;
		}
	});
	if (interrupted)
	{
		CHECK_FOR_INTERRUPTS();
		ereport(ERROR, (errcode(ERRCODE_QUERY_CANCELED), errmsg("canceling the hnsw index build")));
	}
	return r;
}

/* The NOTICE of a build whose graph outgrew maintenance_work_mem. */
void
notice_on_pages(double in_memory)
{
	ereport(NOTICE, (errmsg("hnsw graph no longer fits into maintenance_work_mem after %.0f tuples",
							in_memory),
					 errdetail("Building will take significantly more time."),
					 errhint("Increase maintenance_work_mem to speed up builds.")));
}

/* From now on, rows go into the graph on pages, unlogged: the build logs
 * every page at its end. */
void
go_on_pages(BuildState *st)
{
	index::begin_unlogged_build(st->index);
	st->on_pages = true;
}

BuildGraph::AddResult add_shared(BuildState *st, ItemPointer tid, int level, bool *write);
void write_shared(BuildState *st);
void wait_written(SharedBuild *sh);

void
build_callback(Relation index, ItemPointer tid, Datum *values, bool *isnull, bool alive, void *arg)
{
	auto *st = static_cast<BuildState *>(arg);
	if (isnull[0])
		return;
	MemoryContext old = MemoryContextSwitchTo(st->row_context);
	if (prepare_vector(st->shape, values[0], st->vector))
	{
		if (!st->on_pages)
		{
			double u = 1.0 - pg_prng_double(&st->rng);
			int level = core::hnsw::random_level(u, st->shape.m, st->level_cap);
			bool write = false;
			BuildGraph::AddResult r =
				st->shared ? add_shared(st, tid, level, &write) : add_to_graph(st, tid, level);
			MemoryContextSwitchTo(old);
			if (st->shared == nullptr && r == BuildGraph::AddResult::full)
			{
				notice_on_pages(st->indtuples);
				write_graph(st);
				go_on_pages(st);
			}
			else if (write)
			{
				write_shared(st);
				go_on_pages(st);
			}
			else if (r == BuildGraph::AddResult::full)
			{
				wait_written(st->shared);
				go_on_pages(st);
			}
			MemoryContextSwitchTo(st->row_context);
		}
		if (st->on_pages)
		{
			insert_vector(index, st->shape, st->vector, tid);
			st->on_pages_tuples++;
		}
		st->indtuples++;
	}
	MemoryContextSwitchTo(old);
	MemoryContextReset(st->row_context);
}

/* The build's scan of the heap (scan: a participant's share of a parallel
 * one), its rows into st's graph or, once that is full, on pages unlogged
 * until the scan ends, ERROR or not: the build logs every page at its end. */
double
scan_heap(BuildState *st, IndexInfo *info, bool progress, TableScanDesc scan)
{
	double reltuples = 0;
	PG_TRY();
	{
		reltuples = table_index_build_scan(st->heap, st->index, info, true, progress,
										   build_callback, st, scan);
	}
	PG_FINALLY();
	{
		index::end_unlogged_build();
	}
	PG_END_TRY();
	return reltuples;
}

/* ------------------------------------------------------------------------
 * Parallel build: the leader and PostgreSQL's parallel maintenance workers
 * scan parts of the heap and add to one graph in a DSM segment (BuildGraph
 * is made for that: offsets only, per-element spinlocks). The leader then
 * writes the pages as a serial build does.
 *
 * If the graph outgrows maintenance_work_mem, every participant goes on
 * inserting on pages, as a serial build does, but all at once: the first
 * to find the graph full closes it to further adds; the last to leave an
 * add then writes it out (no add runs meanwhile), and the others wait for
 * that, then insert their rows on pages, unlogged, concurrently through
 * the ordinary insert path (its update lock is a page lock, and page locks
 * conflict within a parallel group as between backends). The leader logs
 * every page at the end.
 */

constexpr uint64 key_shared = UINT64CONST(0x56454344420001);
constexpr uint64 key_graph = UINT64CONST(0x56454344420002);

struct SharedBuild
{
	Oid heap_oid;
	Oid index_oid;
	bool concurrent;
	Shape shape;
	int level_cap;
	slock_t mutex;
	double reltuples; /* sums over the participants */
	double indtuples;
	/* the graph outgrowing memory (see above), under mutex */
	int adding;         /* participants inside BuildGraph::add */
	bool graph_full;    /* no more adds: rows go on pages */
	bool writer_chosen; /* a participant is writing the graph out */
	bool graph_written; /* it is on pages */
	ConditionVariable written;
	/* a ParallelTableScanDescData follows */
};

/*
 * Add a row to the shared graph, unless it is full (the result says so).
 * *write: this participant is the last to leave an add of a full graph,
 * and must write it out (write_shared).
 */
BuildGraph::AddResult
add_shared(BuildState *st, ItemPointer tid, int level, bool *write)
{
	SharedBuild *sh = st->shared;
	SpinLockAcquire(&sh->mutex);
	bool open = !sh->graph_full;
	if (open)
		sh->adding++;
	SpinLockRelease(&sh->mutex);
	if (!open)
		return BuildGraph::AddResult::full;
	/* an ERROR here ends the whole build: adding need not come down */
	BuildGraph::AddResult r = add_to_graph(st, tid, level);
	SpinLockAcquire(&sh->mutex);
	sh->adding--;
	if (r == BuildGraph::AddResult::full)
		sh->graph_full = true;
	*write = sh->graph_full && sh->adding == 0 && !sh->writer_chosen;
	if (*write)
		sh->writer_chosen = true;
	SpinLockRelease(&sh->mutex);
	return r;
}

/* Write the full shared graph out, and wake the participants waiting for
 * it. */
void
write_shared(BuildState *st)
{
	notice_on_pages(st->graph->size());
	write_graph(st);
	SharedBuild *sh = st->shared;
	SpinLockAcquire(&sh->mutex);
	sh->graph_written = true;
	SpinLockRelease(&sh->mutex);
	ConditionVariableBroadcast(&sh->written);
}

void
wait_written(SharedBuild *sh)
{
	ConditionVariablePrepareToSleep(&sh->written);
	for (;;)
	{
		SpinLockAcquire(&sh->mutex);
		bool written = sh->graph_written;
		SpinLockRelease(&sh->mutex);
		if (written)
			break;
		ConditionVariableSleep(&sh->written, WAIT_EVENT_PARALLEL_CREATE_INDEX_SCAN);
	}
	ConditionVariableCancelSleep();
}

ParallelTableScanDesc
shared_scan(SharedBuild *sh)
{
	return reinterpret_cast<ParallelTableScanDesc>(reinterpret_cast<char *>(sh) +
												   BUFFERALIGN(sizeof(SharedBuild)));
}

/* One participant's share of the heap scan into the shared graph. */
void
participate(SharedBuild *sh, void *graph_memory, Relation heap, Relation index, IndexInfo *info,
			bool leader)
{
	BuildState st{};
	st.heap = heap;
	st.index = index;
	st.shape = sh->shape;
	st.level_cap = sh->level_cap;
	st.shared = sh;
	st.row_context =
		AllocSetContextCreate(CurrentMemoryContext, "hnsw build row", ALLOCSET_DEFAULT_SIZES);
	st.vector = static_cast<float *>(palloc(sizeof(float) * st.shape.dims));
	pg_prng_seed(&st.rng, 0x5eed + (leader ? 0 : ParallelWorkerNumber + 1));
	st.graph = static_cast<BuildGraph *>(palloc(sizeof(BuildGraph)));
	new (st.graph) BuildGraph(BuildGraph::attach(graph_memory));
	st.inserter = pg::make_owned<Inserter>();
	st.inserter->stop = cancel_pending;

	TableScanDesc scan = table_beginscan_parallel(heap, shared_scan(sh));
	double reltuples = scan_heap(&st, info, leader, scan);

	SpinLockAcquire(&sh->mutex);
	sh->reltuples += reltuples;
	sh->indtuples += st.indtuples;
	SpinLockRelease(&sh->mutex);
	ereport(DEBUG1,
			(errmsg_internal("hnsw build of \"%s\": the %s indexed %.0f rows, %.0f on pages",
							 RelationGetRelationName(index), leader ? "leader" : "worker",
							 st.indtuples, st.on_pages_tuples)));
	MemoryContextDelete(st.row_context);
}

/* Whether /dev/shm has room for a DSM segment of this size: running out
 * there is an ERROR (or a SIGBUS), not a NULL segment. */
bool
dsm_has_room(Size bytes)
{
	if (dynamic_shared_memory_type != DSM_IMPL_POSIX)
		return true;
	struct statvfs fs;
	if (statvfs("/dev/shm", &fs) != 0)
		return false;
	return static_cast<double>(fs.f_bavail) * fs.f_frsize > 1.25 * bytes + 64.0 * 1024 * 1024;
}

/*
 * Build the graph in parallel; false (and nothing written) if no worker
 * could start, and the serial build must run.
 */
bool
build_parallel(BuildState *st, IndexInfo *info, int nworkers, const core::hnsw::GraphShape &shape,
			   Size capacity, Size upper)
{
	Size graph_bytes = BuildGraph::bytes_needed(shape, capacity, upper);
	if (!dsm_has_room(graph_bytes))
		return false;

	EnterParallelMode();
	ParallelContext *pcxt = CreateParallelContext("vecdb", "vecdb_hnsw_build_worker", nworkers);
	Snapshot snapshot =
		info->ii_Concurrent ? RegisterSnapshot(GetTransactionSnapshot()) : SnapshotAny;
	Size shared_bytes =
		BUFFERALIGN(sizeof(SharedBuild)) + table_parallelscan_estimate(st->heap, snapshot);
	shm_toc_estimate_chunk(&pcxt->estimator, shared_bytes);
	shm_toc_estimate_chunk(&pcxt->estimator, graph_bytes);
	shm_toc_estimate_keys(&pcxt->estimator, 2);
	InitializeParallelDSM(pcxt);
	bool built = false;
	if (pcxt->seg != nullptr)
	{
		auto *sh = static_cast<SharedBuild *>(shm_toc_allocate(pcxt->toc, shared_bytes));
		sh->heap_oid = RelationGetRelid(st->heap);
		sh->index_oid = RelationGetRelid(st->index);
		sh->concurrent = info->ii_Concurrent;
		sh->shape = st->shape;
		sh->level_cap = st->level_cap;
		SpinLockInit(&sh->mutex);
		sh->reltuples = sh->indtuples = 0;
		sh->adding = 0;
		sh->graph_full = sh->writer_chosen = sh->graph_written = false;
		ConditionVariableInit(&sh->written);
		table_parallelscan_initialize(st->heap, shared_scan(sh), snapshot);
		void *graph_memory = shm_toc_allocate(pcxt->toc, graph_bytes);
		BuildGraph graph = BuildGraph::create(graph_memory, shape, capacity, upper);
		shm_toc_insert(pcxt->toc, key_shared, sh);
		shm_toc_insert(pcxt->toc, key_graph, graph_memory);

		LaunchParallelWorkers(pcxt);
		ereport(DEBUG1, (errmsg_internal("hnsw build of \"%s\": %d of %d parallel workers launched",
										 RelationGetRelationName(st->index),
										 pcxt->nworkers_launched, nworkers)));
		if (pcxt->nworkers_launched > 0)
		{
			participate(sh, graph_memory, st->heap, st->index, info, true);
			WaitForParallelWorkersToFinish(pcxt);
			/* the last add left a full graph, or the graph held every row */
			Assert(sh->graph_written || !sh->graph_full);
			st->graph = &graph;
			st->indtuples = sh->indtuples;
			if (!sh->graph_written)
				write_graph(st);
			log_all_pages(st->index);
			st->graph = nullptr;
			st->reltuples = sh->reltuples;
			built = true;
		}
	}
	if (IsMVCCSnapshot(snapshot))
		UnregisterSnapshot(snapshot);
	DestroyParallelContext(pcxt);
	ExitParallelMode();
	return built;
}

} // namespace

IndexBuildResult *
build(Relation heap, Relation index, IndexInfo *info)
{
	if (RelationGetNumberOfBlocks(index) != 0)
		elog(ERROR, "index \"%s\" already contains data", RelationGetRelationName(index));

	BuildState st{};
	st.heap = heap;
	st.index = index;
	st.shape = new_shape(index);
	st.level_cap = max_level_for(st.shape);
	st.row_context =
		AllocSetContextCreate(CurrentMemoryContext, "hnsw build row", ALLOCSET_DEFAULT_SIZES);
	st.vector = static_cast<float *>(palloc(sizeof(float) * st.shape.dims));
	pg_prng_seed(&st.rng, 0x5eed);

	write_meta(index, st.shape, MAIN_FORKNUM);

	pgstat_progress_update_param(PROGRESS_CREATEIDX_SUBPHASE, progress_phase(false));
	table_index_build_scan(heap, index, info, false, false, count_callback, &st, nullptr);

	/* As many elements as the rows, or as fit in maintenance_work_mem. */
	core::hnsw::GraphShape shape{static_cast<uint32>(st.shape.dims),
								 static_cast<uint32>(st.shape.m),
								 static_cast<uint32>(st.shape.ef_construction), st.shape.metric,
								 static_cast<uint32>(heaptid_slots(st.shape))};
	shape.halves = st.shape.halves();
	Size budget = static_cast<Size>(maintenance_work_mem) * 1024;
	Size fits = budget / BuildGraph::bytes_per_element(shape);
	Size wanted = static_cast<Size>(st.count * 1.02) + 64; /* rows may come meanwhile */
	Size capacity = Max(Min(wanted, fits), static_cast<Size>(1));
	Size upper = BuildGraph::upper_words_for(capacity, shape.m);

	/* In parallel past 10,000 rows, in memory and, if the graph outgrows
	 * it, on pages (build_parallel). */
	int nworkers = 0;
	if (st.count > 10000 && IsNormalProcessingMode())
		nworkers = build_workers(heap, index);
	if (nworkers > 0 && build_parallel(&st, info, nworkers, shape, capacity, upper))
	{
		auto *result = static_cast<IndexBuildResult *>(palloc(sizeof(IndexBuildResult)));
		result->heap_tuples = st.reltuples;
		result->index_tuples = st.indtuples;
		return result;
	}

	void *memory = MemoryContextAllocHuge(CurrentMemoryContext,
										  BuildGraph::bytes_needed(shape, capacity, upper));
	st.graph = static_cast<BuildGraph *>(palloc(sizeof(BuildGraph)));
	new (st.graph) BuildGraph(BuildGraph::create(memory, shape, capacity, upper));
	st.inserter = pg::make_owned<Inserter>();

	double reltuples = scan_heap(&st, info, true, nullptr);
	if (!st.on_pages)
		write_graph(&st);
	log_all_pages(index);
	pfree(memory);

	auto *result = static_cast<IndexBuildResult *>(palloc(sizeof(IndexBuildResult)));
	result->heap_tuples = reltuples;
	result->index_tuples = st.indtuples;
	return result;
}

/* The meta page of an empty graph, in the init fork (pg/init_fork.h). */
void
build_empty(Relation index)
{
	write_meta(index, new_shape(index), INIT_FORKNUM);
	pg::log_init_fork(index);
}

} // namespace vecdb::hnsw

/* A parallel build worker, started by name from build_parallel(). */
extern "C" PGDLLEXPORT void vecdb_hnsw_build_worker(dsm_segment *seg, shm_toc *toc);

void
vecdb_hnsw_build_worker(dsm_segment *seg, shm_toc *toc)
{
	using namespace vecdb::hnsw;
	auto *sh = static_cast<SharedBuild *>(shm_toc_lookup(toc, key_shared, false));
	void *graph_memory = shm_toc_lookup(toc, key_graph, false);
	LOCKMODE heap_lock = sh->concurrent ? ShareUpdateExclusiveLock : ShareLock;
	Relation heap = table_open(sh->heap_oid, heap_lock);
	Relation index = index_open(sh->index_oid, RowExclusiveLock);
	IndexInfo *info = BuildIndexInfo(index);
	info->ii_Concurrent = sh->concurrent;
	participate(sh, graph_memory, heap, index, info, false);
	index_close(index, RowExclusiveLock);
	table_close(heap, heap_lock);
}
