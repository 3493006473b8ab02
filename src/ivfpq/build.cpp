/*
 * build.cpp: CREATE INDEX for ivfpq.
 *
 * Three steps:
 *  1. sample: rows from a random choice of heap blocks (all of them for a
 *     small table), kept in a fixed-seed reservoir, so that the same table
 *     trains the same model and a large table is not read twice in full;
 *  2. train (src/core, no PostgreSQL inside): k-means centroids, spherical
 *     for inner product and cosine, then the product quantizer on the
 *     sample's residuals from their centroids;
 *  3. file every row: nearest list, code, appended to the list's tail page.
 * Pages are written without WAL and logged in bulk at the end, as other
 * index builds do. An empty table gives an untrained index (see ivfpq.h).
 */
#include "ivfpq/ivfpq.h"
#include "core/kmeans.h"
#include "pg/init_fork.h"

extern "C" {
#include "access/tableam.h"
#include "access/xloginsert.h"
#include "catalog/index.h"
#include "commands/progress.h"
#include "common/pg_prng.h"
#include "pgstat.h"
#include "utils/memutils.h"
#include "utils/sampling.h"
#include "utils/timestamp.h"
}

#include <cmath>
#include <vector>

namespace vecdb::ivfpq {

namespace {

/* Fixed, so that a build is reproducible. */
constexpr uint64 sample_seed = 0x76656364'62495646;
constexpr int kmeans_iterations = 10;
/* Rows assigned to lists at a time: the assignment is a blocked product of
 * rows and centroids, faster by the batch than row by row. */
constexpr int64 batch_rows = 512;

/* Sub-phases for pg_stat_progress_create_index (handler.cpp names them). */
constexpr int64 phase_sampling = 2;
constexpr int64 phase_training = 3;
constexpr int64 phase_filing = 4;

struct BuildState
{
	Relation index;
	InputType input;
	Metric metric;
	int dims;

	/* sampling */
	float *sample; /* capacity x dims */
	int64 capacity;
	int64 sampled; /* rows in the sample */
	int64 seen;    /* rows offered to it */
	pg_prng_state rng;

	/* filing, batch_rows at a time */
	const Model *model;
	BlockNumber *heads;
	BlockNumber *tails;
	float *batch; /* batch_rows x dims */
	ItemPointerData *batch_tids;
	uint32 *batch_lists;
	int batch_count;
	char *entry;
	float *vector;
	float *scratch;
	double indexed;
	MemoryContext row_context;
};

bool
cancel_requested()
{
	return QueryCancelPending || ProcDiePending;
}

/* A row's vector into out (see prepare_index_vector), its detoasted copy
 * gone with the row's memory. */
bool
prepare_row(BuildState *st, Datum value, float *out)
{
	MemoryContext old = MemoryContextSwitchTo(st->row_context);
	bool usable = prepare_index_vector(st->input, st->metric, st->dims, value, out);
	MemoryContextSwitchTo(old);
	MemoryContextReset(st->row_context);
	return usable;
}

/* Reservoir sampling (Algorithm R) over the rows the sampled blocks hold. */
void
sample_callback(Relation index, ItemPointer tid, Datum *values, bool *isnull, bool alive, void *arg)
{
	auto *st = static_cast<BuildState *>(arg);
	if (isnull[0])
		return;
	/* the slot first, so that only rows kept are detoasted */
	bool filling = st->sampled < st->capacity;
	int64 at = st->sampled;
	if (!filling)
	{
		at = static_cast<int64>(pg_prng_uint64_range(&st->rng, 0, static_cast<uint64>(st->seen)));
		if (at >= st->capacity)
		{
			st->seen++;
			return;
		}
	}
	st->seen++;
	if (!prepare_row(st, values[0], st->vector))
		return; /* a zero vector under cosine: the index holds none */
	if (filling)
		st->sampled++;
	memcpy(st->sample + at * st->dims, st->vector, sizeof(float) * st->dims);
}

/*
 * How many rows to train on: the option, or 16 a list and a codeword (a
 * sub-space has 256), within maintenance_work_mem. faiss asks for 39 a
 * centroid, but re-ranking makes up for rougher centroids: on Fashion-MNIST
 * (245 lists) 3,000 rows gave the recall 12,800 did, with training, most
 * of the build's time, cut fourfold.
 */
int64
sample_capacity(Relation heap, Relation index, int dims)
{
	int64 wanted = option_training_sample(index);
	if (wanted == 0)
	{
		double rows = heap->rd_rel->reltuples > 0 ? heap->rd_rel->reltuples
												  : RelationGetNumberOfBlocks(heap) * 16.0;
		wanted = Max(16 * 256, static_cast<int64>(16 * std::sqrt(rows)));
	}
	int64 fits = static_cast<int64>(maintenance_work_mem) * 1024L / (sizeof(float) * dims);
	if (wanted > fits)
	{
		ereport(NOTICE, (errmsg("ivfpq trains on %lld sample rows instead of %lld to stay within "
								"maintenance_work_mem",
								static_cast<long long>(fits), static_cast<long long>(wanted)),
						 errhint("Raise maintenance_work_mem for better centroids.")));
		wanted = Max(fits, 1);
	}
	return wanted;
}

/* Fill st's reservoir; returns whether every block was read (then seen is
 * the table's row count, not an estimate). */
bool
take_sample(Relation heap, Relation index, IndexInfo *info, BuildState *st)
{
	BlockNumber nblocks = RelationGetNumberOfBlocks(heap);
	if (static_cast<int64>(nblocks) <= st->capacity)
	{
		table_index_build_scan(heap, index, info, false, false, sample_callback, st, nullptr);
		return true;
	}
	BlockSamplerData sampler;
	BlockSampler_Init(&sampler, nblocks, static_cast<int>(Min(st->capacity, PG_INT32_MAX)),
					  static_cast<uint32>(sample_seed));
	BlockNumber read = 0;
	while (BlockSampler_HasMore(&sampler))
	{
		BlockNumber blkno = BlockSampler_Next(&sampler);
		table_index_build_range_scan(heap, index, info, false, true, false, blkno, 1,
									 sample_callback, st, nullptr);
		read++;
		CHECK_FOR_INTERRUPTS();
	}
	/* scale the rows seen to the whole table, as ANALYZE does */
	st->seen = static_cast<int64>(std::llround(static_cast<double>(st->seen) * nblocks / read));
	return false;
}

/*
 * The model, from the sample: centroids, then codebooks trained on each
 * sample row's residual from its centroid. The sample is overwritten with
 * the residuals. Throws core::Interrupted on a cancel.
 */
void
train(Model &model, float *sample, int64 n)
{
	const Shape &s = model.shape;
	core::KMeansParams params;
	params.iterations = kmeans_iterations;
	params.seed = sample_seed;
	params.spherical = s.metric == Metric::inner_product || s.metric == Metric::cosine;
	params.interrupted = cancel_requested;
	model.centroids = core::train_kmeans(sample, n, s.dims, s.lists, params);
	model.prepare_assigner();
	if (s.flat)
		return; /* no codes to learn */
	if (s.by_residual())
	{
		std::vector<uint32> lists(batch_rows);
		for (int64 from = 0; from < n; from += batch_rows)
		{
			if (cancel_requested())
				throw core::Interrupted();
			int count = static_cast<int>(Min(n - from, batch_rows));
			nearest_lists(model, sample + from * s.dims, count, lists.data());
			for (int i = 0; i < count; i++)
			{
				float *x = sample + (from + i) * s.dims;
				const float *c = model.centroids.data() + static_cast<Size>(lists[i]) * s.dims;
				for (int d = 0; d < s.dims; d++)
					x[d] -= c[d];
			}
		}
	}
	params.spherical = false;
	model.pq->train(sample, n, params);
}

/* A new page at the end of the index, locked, initialised. */
Buffer
new_page(Relation index, ForkNumber fork, uint16 kind)
{
	Buffer buf = ReadBufferExtended(index, fork, P_NEW, RBM_NORMAL, nullptr);
	LockBuffer(buf, BUFFER_LOCK_EXCLUSIVE);
	init_page(BufferGetPage(buf), kind);
	return buf;
}

/* Write count floats as a run of float pages; the run's first block. */
BlockNumber
write_floats(Relation index, const float *data, Size count)
{
	BlockNumber first = InvalidBlockNumber;
	for (Size done = 0; done < count;)
	{
		Buffer buf = new_page(index, MAIN_FORKNUM, page_floats);
		if (first == InvalidBlockNumber)
			first = BufferGetBlockNumber(buf);
		Page page = BufferGetPage(buf);
		Size n = Min(floats_per_page, count - done);
		ensure_room(index, page, BufferGetBlockNumber(buf), n * sizeof(float));
		memcpy(PageGetContents(page), data + done, n * sizeof(float));
		set_contents_end(page, PageGetContents(page) + n * sizeof(float));
		MarkBufferDirty(buf);
		UnlockReleaseBuffer(buf);
		done += n;
	}
	return first;
}

/* The directory: heads and tails of every list. */
BlockNumber
write_directory(Relation index, ForkNumber fork, int lists, const BlockNumber *heads,
				const BlockNumber *tails)
{
	BlockNumber first = InvalidBlockNumber;
	for (int list = 0; list < lists;)
	{
		Buffer buf = new_page(index, fork, page_directory);
		if (first == InvalidBlockNumber)
			first = BufferGetBlockNumber(buf);
		Page page = BufferGetPage(buf);
		int n = Min(static_cast<int>(heads_per_page), lists - list);
		ensure_room(index, page, BufferGetBlockNumber(buf), n * sizeof(ListHead));
		for (int i = 0; i < n; i++, list++)
		{
			ListHead *h = list_head(page, list);
			h->head = heads ? heads[list] : InvalidBlockNumber;
			h->tail = tails ? tails[list] : InvalidBlockNumber;
		}
		set_contents_end(page, list_head(page, list - 1) + 1);
		MarkBufferDirty(buf);
		UnlockReleaseBuffer(buf);
	}
	return first;
}

void
fill_meta(Page page, const Shape &s, uint64 build_id)
{
	init_page(page, page_meta);
	MetaPage *meta = meta_of(page);
	memset(meta, 0, sizeof(MetaPage));
	meta->magic = meta_magic;
	meta->version = s.flat ? format_version_flat : format_version;
	meta->dims = static_cast<uint32>(s.dims);
	meta->lists = static_cast<uint32>(s.lists);
	meta->m = static_cast<uint16>(s.m);
	meta->nbits = code_bits;
	meta->metric = static_cast<uint8>(s.metric);
	meta->flags = static_cast<uint8>((s.trained ? meta_trained : 0) | (s.flat ? meta_flat : 0));
	meta->build_id = build_id;
	meta->centroids_blkno = InvalidBlockNumber;
	meta->codebooks_blkno = InvalidBlockNumber;
	meta->directory_blkno = InvalidBlockNumber;
	tier::init_meta(&meta->tier);
	set_contents_end(page, meta + 1);
}

uint64
new_build_id()
{
	return pg_prng_uint64(&pg_global_prng_state) ^ static_cast<uint64>(GetCurrentTimestamp());
}

/* Append an entry to a list during the build: no WAL, one buffer at a time
 * but when a list grows a page. */
void
file_entry(Relation index, BuildState *st, int list)
{
	const Size size = st->model->shape.entry_size();
	if (st->tails[list] != InvalidBlockNumber)
	{
		Buffer buf = ReadBuffer(index, st->tails[list]);
		LockBuffer(buf, BUFFER_LOCK_EXCLUSIVE);
		Page page = BufferGetPage(buf);
		if (static_cast<Size>(PageGetExactFreeSpace(page)) >= size)
		{
			memcpy(contents_end(page), st->entry, size);
			set_contents_end(page, contents_end(page) + size);
			MarkBufferDirty(buf);
			UnlockReleaseBuffer(buf);
			return;
		}
		UnlockReleaseBuffer(buf);
	}
	Buffer buf = new_page(index, MAIN_FORKNUM, page_list);
	BlockNumber blkno = BufferGetBlockNumber(buf);
	Page page = BufferGetPage(buf);
	ensure_room(index, page, blkno, size);
	memcpy(entries_of(page), st->entry, size);
	set_contents_end(page, entries_of(page) + size);
	MarkBufferDirty(buf);
	UnlockReleaseBuffer(buf);
	if (st->tails[list] == InvalidBlockNumber)
		st->heads[list] = blkno;
	else
	{
		Buffer prev = ReadBuffer(index, st->tails[list]);
		LockBuffer(prev, BUFFER_LOCK_EXCLUSIVE);
		page_opaque(BufferGetPage(prev))->next = blkno;
		MarkBufferDirty(prev);
		UnlockReleaseBuffer(prev);
	}
	st->tails[list] = blkno;
}

void
file_batch(BuildState *st)
{
	const Model &model = *st->model;
	nearest_lists(model, st->batch, st->batch_count, st->batch_lists);
	for (int i = 0; i < st->batch_count; i++)
	{
		encode_entry(model, st->batch_lists[i], st->batch + static_cast<Size>(i) * st->dims,
					 &st->batch_tids[i], st->entry, st->scratch);
		file_entry(st->index, st, st->batch_lists[i]);
	}
	st->indexed += st->batch_count;
	st->batch_count = 0;
	pgstat_progress_update_param(PROGRESS_CREATEIDX_TUPLES_DONE, static_cast<int64>(st->indexed));
}

void
file_callback(Relation index, ItemPointer tid, Datum *values, bool *isnull, bool alive, void *arg)
{
	auto *st = static_cast<BuildState *>(arg);
	if (isnull[0])
		return;
	if (!prepare_row(st, values[0], st->batch + static_cast<Size>(st->batch_count) * st->dims))
		return;
	st->batch_tids[st->batch_count++] = *tid;
	if (st->batch_count == batch_rows)
		file_batch(st);
}

} // namespace

/* handler.cpp's names for the sub-phases. */
const char *
build_phase_name(int64 phase)
{
	switch (phase)
	{
		case phase_sampling:
			return "sampling rows";
		case phase_training:
			return "training centroids and codebooks";
		case phase_filing:
			return "filing rows into lists";
		default:
			return nullptr;
	}
}

IndexBuildResult *
build(Relation heap, Relation index, IndexInfo *info)
{
	if (RelationGetNumberOfBlocks(index) != 0)
		elog(ERROR, "index \"%s\" already contains data", RelationGetRelationName(index));

	BuildState st{};
	st.index = index;
	st.input = opclass_support(index).input;
	st.metric = index_metric(index);
	st.dims = index_dims(index);
	st.row_context = AllocSetContextCreate(CurrentMemoryContext, "vecdb ivfpq build row",
										   ALLOCSET_DEFAULT_SIZES);
	st.vector = static_cast<float *>(palloc(sizeof(float) * st.dims));
	st.scratch = static_cast<float *>(palloc(sizeof(float) * st.dims));
	pg_prng_seed(&st.rng, sample_seed);

	/* the options' errors (m too large for a page...) before any work */
	(void) new_shape(index, 0);

	/* 1. sample */
	pgstat_progress_update_param(PROGRESS_CREATEIDX_SUBPHASE, phase_sampling);
	st.capacity = sample_capacity(heap, index, st.dims);
	st.sample = static_cast<float *>(
		MemoryContextAllocHuge(CurrentMemoryContext, sizeof(float) * st.capacity * st.dims));
	bool whole_table = take_sample(heap, index, info, &st);
	int rows = static_cast<int>(Min(st.seen, static_cast<int64>(PG_INT32_MAX)));
	if (!whole_table && st.sampled > 0)
		rows = Max(rows, static_cast<int>(st.sampled));

	/* 2. train */
	Shape s = new_shape(index, st.sampled > 0 ? rows : 0);
	Model *model = pg::make_owned<Model>(s);
	st.model = model;
	if (s.trained)
	{
		pgstat_progress_update_param(PROGRESS_CREATEIDX_SUBPHASE, phase_training);
		bool interrupted = pg::guarded([&] {
			try
			{
				train(*model, st.sample, st.sampled);
				return false;
			}
			catch (const core::Interrupted &)
			{
				return true;
			}
		});
		if (interrupted)
		{
			CHECK_FOR_INTERRUPTS();
			ereport(ERROR, (errcode(ERRCODE_QUERY_CANCELED),
							errmsg("canceling statement due to user request")));
		}
	}
	else
		ereport(NOTICE,
				(errmsg("%s index \"%s\" is built untrained: the table has no rows to train on",
						s.am_name(), RelationGetRelationName(index)),
				 errdetail("Scans compare every row exactly until the index is trained."),
				 errhint("REINDEX once the table holds data.")));
	pfree(st.sample);
	st.sample = nullptr;

	/* 3. file every row */
	Buffer metabuf = new_page(index, MAIN_FORKNUM, page_meta);
	fill_meta(BufferGetPage(metabuf), s, new_build_id());
	MarkBufferDirty(metabuf);
	UnlockReleaseBuffer(metabuf);
	BlockNumber centroids_blkno = InvalidBlockNumber;
	BlockNumber codebooks_blkno = InvalidBlockNumber;
	if (s.trained)
	{
		centroids_blkno = write_floats(index, model->centroids.data(), model->centroids.size());
		if (model->pq)
			codebooks_blkno =
				write_floats(index, model->pq->codebooks(), model->pq->codebook_floats());
	}

	pgstat_progress_update_param(PROGRESS_CREATEIDX_SUBPHASE, phase_filing);
	st.heads = static_cast<BlockNumber *>(palloc(sizeof(BlockNumber) * s.lists));
	st.tails = static_cast<BlockNumber *>(palloc(sizeof(BlockNumber) * s.lists));
	for (int i = 0; i < s.lists; i++)
		st.heads[i] = st.tails[i] = InvalidBlockNumber;
	st.entry = static_cast<char *>(palloc(s.entry_size()));
	st.batch = static_cast<float *>(palloc(sizeof(float) * batch_rows * st.dims));
	st.batch_tids = static_cast<ItemPointerData *>(palloc(sizeof(ItemPointerData) * batch_rows));
	st.batch_lists = static_cast<uint32 *>(palloc(sizeof(uint32) * batch_rows));
	double reltuples =
		table_index_build_scan(heap, index, info, true, true, file_callback, &st, nullptr);
	file_batch(&st);
	BlockNumber directory_blkno = write_directory(index, MAIN_FORKNUM, s.lists, st.heads, st.tails);

	metabuf = ReadBuffer(index, meta_blkno);
	LockBuffer(metabuf, BUFFER_LOCK_EXCLUSIVE);
	MetaPage *meta = meta_of(BufferGetPage(metabuf));
	meta->centroids_blkno = centroids_blkno;
	meta->codebooks_blkno = codebooks_blkno;
	meta->directory_blkno = directory_blkno;
	meta->directory_pages = static_cast<uint32>((s.lists + heads_per_page - 1) / heads_per_page);
	meta->built_entries = static_cast<int64>(st.indexed);
	meta->trained_rows = st.sampled;
	MarkBufferDirty(metabuf);
	UnlockReleaseBuffer(metabuf);

	if (RelationNeedsWAL(index))
		log_newpage_range(index, MAIN_FORKNUM, 0, RelationGetNumberOfBlocks(index), true);

	auto *result = static_cast<IndexBuildResult *>(palloc(sizeof(IndexBuildResult)));
	result->heap_tuples = reltuples;
	result->index_tuples = st.indexed;
	return result;
}

/* An unlogged table's index: the init fork, an untrained index. */
void
build_empty(Relation index)
{
	Shape s{index_dims(index), 1, 0, index_metric(index), false};
	s.flat = is_flat(index);
	Buffer metabuf = new_page(index, INIT_FORKNUM, page_meta);
	fill_meta(BufferGetPage(metabuf), s, new_build_id());
	MetaPage *meta = meta_of(BufferGetPage(metabuf));
	meta->directory_blkno = meta_blkno + 1;
	meta->directory_pages = 1;
	MarkBufferDirty(metabuf);
	UnlockReleaseBuffer(metabuf);
	write_directory(index, INIT_FORKNUM, 1, nullptr, nullptr);
	pg::log_init_fork(index);
}

} // namespace vecdb::ivfpq
