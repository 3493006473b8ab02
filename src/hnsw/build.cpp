/*
 * build.cpp: CREATE INDEX for hnsw.
 *
 * The graph is grown in memory (src/core's BuildGraph) within
 * maintenance_work_mem, then written page by page once, and WAL-logged in
 * bulk. A first pass counts the rows, so that the graph's memory is sized
 * once, for what the table really holds. When the graph would outgrow the
 * memory, what was built is written out and the remaining rows go through
 * the ordinary on-page insert: slower, same graph quality, and a NOTICE.
 */
#include "hnsw/hnsw.h"
#include "core/hnsw_graph.h"

extern "C" {
#include "access/tableam.h"
#include "access/xloginsert.h"
#include "catalog/index.h"
#include "commands/progress.h"
#include "common/pg_prng.h"
#include "pgstat.h"
#include "utils/memutils.h"
}

namespace vecdb::hnsw {

namespace {

using core::hnsw::BuildGraph;
using core::hnsw::Inserter;

struct BuildState
{
	Relation heap;
	Relation index;
	Shape shape;
	int level_cap;
	double count;     /* rows the counting pass saw */
	double indtuples; /* rows indexed */
	BuildGraph *graph;
	Inserter *inserter;
	bool on_pages; /* the graph outgrew memory: inserting on pages */
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
count_callback(Relation index, ItemPointer tid, Datum *values, bool *isnull, bool alive,
			   void *arg)
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
	meta->version = format_version;
	meta->dims = static_cast<uint32>(s.dims);
	meta->m = static_cast<uint16>(s.m);
	meta->ef_construction = static_cast<uint16>(s.ef_construction);
	meta->metric = static_cast<uint8>(s.metric);
	meta->entry_level = -1;
	meta->entry_blkno = InvalidBlockNumber;
	meta->entry_offno = InvalidOffsetNumber;
	meta->insert_blkno = InvalidBlockNumber;
	((PageHeader) page)->pd_lower = static_cast<LocationIndex>(
		reinterpret_cast<char *>(meta + 1) - reinterpret_cast<char *>(page));
	GenericXLogFinish(state);
	UnlockReleaseBuffer(buf);
}

/*
 * Write the in-memory graph as element pages after the meta page: first
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

	auto *blkno = static_cast<BlockNumber *>(
		MemoryContextAllocHuge(CurrentMemoryContext, sizeof(BlockNumber) * n));
	auto *offno = static_cast<OffsetNumber *>(
		MemoryContextAllocHuge(CurrentMemoryContext, sizeof(OffsetNumber) * n));
	const Size room = BLCKSZ - MAXALIGN(SizeOfPageHeaderData) - MAXALIGN(sizeof(PageOpaque));
	BlockNumber blk = meta_blkno + 1;
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
	BlockNumber page_blkno = meta_blkno + 1;
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
		init_element(e, s, level, level, g.vector(id), &tid);
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
}

void
log_all_pages(Relation index)
{
	if (RelationNeedsWAL(index))
		log_newpage_range(index, MAIN_FORKNUM, 0, RelationGetNumberOfBlocks(index), true);
}

void
build_callback(Relation index, ItemPointer tid, Datum *values, bool *isnull, bool alive,
			   void *arg)
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
			BuildGraph::AddResult r = pg::guarded(
				[&] { return st->graph->add(st->vector, payload_of(tid), level, *st->inserter); });
			if (r == BuildGraph::AddResult::full)
			{
				ereport(NOTICE,
						(errmsg("hnsw graph no longer fits into maintenance_work_mem after %.0f "
								"tuples",
								st->indtuples),
						 errdetail("Building will take significantly more time."),
						 errhint("Increase maintenance_work_mem to speed up builds.")));
				MemoryContextSwitchTo(old);
				write_graph(st);
				log_all_pages(index);
				old = MemoryContextSwitchTo(st->row_context);
				st->on_pages = true;
			}
		}
		if (st->on_pages)
			insert_vector(index, st->vector, tid, true);
		st->indtuples++;
	}
	MemoryContextSwitchTo(old);
	MemoryContextReset(st->row_context);
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
								 static_cast<uint32>(st.shape.ef_construction), st.shape.metric};
	Size budget = static_cast<Size>(maintenance_work_mem) * 1024;
	Size fits = budget / BuildGraph::bytes_per_element(shape);
	Size capacity = Max(Min(static_cast<Size>(st.count) + 1, fits), static_cast<Size>(1));
	Size upper = BuildGraph::upper_words_for(capacity, shape.m);
	void *memory = MemoryContextAllocHuge(CurrentMemoryContext,
										  BuildGraph::bytes_needed(shape, capacity, upper));
	st.graph = static_cast<BuildGraph *>(palloc(sizeof(BuildGraph)));
	new (st.graph) BuildGraph(BuildGraph::create(memory, shape, capacity, upper));
	st.inserter = pg::make_owned<Inserter>();

	double reltuples = table_index_build_scan(heap, index, info, true, true, build_callback, &st,
											  nullptr);
	if (!st.on_pages)
	{
		write_graph(&st);
		log_all_pages(index);
	}
	pfree(memory);

	auto *result = static_cast<IndexBuildResult *>(palloc(sizeof(IndexBuildResult)));
	result->heap_tuples = reltuples;
	result->index_tuples = st.indtuples;
	return result;
}

void
build_empty(Relation index)
{
	write_meta(index, new_shape(index), INIT_FORKNUM);
}

} // namespace vecdb::hnsw
