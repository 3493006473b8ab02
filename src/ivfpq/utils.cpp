/*
 * utils.cpp: what every phase of ivfpq shares: pages, the meta page, the
 * index's shape, the backend's cache of trained models, and how a vector
 * becomes an entry.
 */
#include "ivfpq/ivfpq.h"

extern "C" {
#include "access/genam.h"
#include "commands/defrem.h"
#include "utils/hsearch.h"
#include "utils/inval.h"
#include "utils/memutils.h"
}

#include <cmath>

namespace vecdb::ivfpq {

void
init_page(Page page, uint16 flags)
{
	vecdb::index::init_page(page, flags, page_id);
}

bool
page_is_sound(Page page, uint16 kind)
{
	return vecdb::index::page_is_sound(page, page_id, kind);
}

int
entry_count(Page page, Size entry_size)
{
	Size bytes = contents_end(page) - entries_of(page);
	if (contents_end(page) < entries_of(page) || bytes % entry_size != 0)
		return 0;
	return static_cast<int>(bytes / entry_size);
}

bool
heaptid_is_sane(const ItemPointerData &tid)
{
	return ItemPointerIsValid(&tid) && ItemPointerGetBlockNumberNoCheck(&tid) != InvalidBlockNumber;
}

BlockNumber
list_first_page(Relation index, BlockNumber directory_blkno, int list)
{
	Buffer buf =
		ReadBuffer(index, directory_blkno + static_cast<BlockNumber>(list / heads_per_page));
	LockBuffer(buf, BUFFER_LOCK_SHARE);
	Page page = BufferGetPage(buf);
	BlockNumber head =
		page_is_sound(page, page_directory) ? list_head(page, list)->head : InvalidBlockNumber;
	UnlockReleaseBuffer(buf);
	return head;
}

namespace {

/* The divisor of dims nearest dims / 4, so that codes take about a byte
 * for every four dimensions (dsub = 4, as faiss's common setting). */
int
default_m(int dims)
{
	int best = 1;
	for (int d = 1; d <= dims; d++)
		if (dims % d == 0 && std::abs(4 * d - dims) < std::abs(4 * best - dims))
			best = d;
	return best;
}

const Options *
options_of(Relation index)
{
	return reinterpret_cast<const Options *>(index->rd_options);
}

/* The largest divisor of dims that is at most limit (1 divides all). */
int
largest_divisor_within(int dims, int limit)
{
	for (int d = Min(dims, limit); d > 1; d--)
		if (dims % d == 0)
			return d;
	return 1;
}

/*
 * An entry must fit an empty list page, or filing it would write past the
 * page's end into the next buffer. Checked even for an index built
 * untrained (whose entries are bare heap TIDs), since the REINDEX that
 * trains it takes the same m.
 */
void
check_entry_fits(const Shape &untrained, int m)
{
	if (untrained.flat)
	{
		if (untrained.entry_size() <= page_room)
			return;
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("column cannot have more than %zu dimensions for ivfflat index",
						(page_room - Shape::vector_at) / sizeof(float)),
				 errhint("Index it with hnsw, which takes every dimension the type allows, or "
						 "ivfpq.")));
	}
	Shape s = untrained;
	s.trained = true;
	s.m = m;
	if (s.entry_size() <= page_room)
		return;
	int most = static_cast<int>(page_room - s.code_at());
	ereport(ERROR,
			(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
			 errmsg("ivfpq entries of m = %d code bytes take %zu bytes, more than the %zu a page "
					"holds",
					m, s.entry_size(), page_room),
			 errhint("Choose m at most %d; the largest divisor of %d that fits is %d.", most,
					 s.dims, largest_divisor_within(s.dims, most))));
}

} // namespace

void
ensure_room(Relation index, Page page, BlockNumber blkno, Size size)
{
	Size free = PageGetExactFreeSpace(page);
	if (free < size)
		elog(ERROR, "index \"%s\" block %u has %zu bytes of room, a write needs %zu",
			 RelationGetRelationName(index), blkno, free, size);
}

/*
 * An ivfflat index's shape: pgvector's lists (default 100). A table with
 * fewer rows than lists gets as many lists as rows, with a NOTICE, where
 * ivfpq refuses: a dump of a small pgvector table must restore.
 */
static Shape
new_flat_shape(Shape s, const Options *o, int rows)
{
	check_entry_fits(s, 0);
	if (!s.trained)
		return s; /* an empty table: one list, as ivfpq's */
	int lists = o ? o->lists : flat_default_lists;
	if (lists > rows)
	{
		ereport(NOTICE, (errmsg("ivfflat index with lists = %d built with %d lists, one a row",
								lists, rows),
						 errdetail("The table has fewer rows than lists."),
						 errhint("REINDEX once the table has more rows.")));
		lists = rows;
	}
	s.lists = lists;
	return s;
}

bool
is_flat(Relation index)
{
	char *am = get_am_name(index->rd_rel->relam);
	bool flat = am != nullptr && strcmp(am, "ivfflat") == 0;
	if (am != nullptr)
		pfree(am);
	return flat;
}

Shape
new_shape(Relation index, int rows)
{
	const OpclassSupport &support = opclass_support(index);
	Shape s{index_dims(index), 1, 0, support.metric, rows > 0};
	s.input = support.input;
	/* k-means and codes are of numbers: bit strings go in hnsw */
	if (core::metric_on_bits(support.metric))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("%s indexes do not hold bit strings", is_flat(index) ? "ivfflat" : "ivfpq"),
				 errhint("Index bit strings with hnsw (bit_hamming_ops, bit_jaccard_ops).")));
	const Options *o = options_of(index);
	s.flat = is_flat(index);
	if (s.flat)
		return new_flat_shape(s, o, rows);
	int lists = o ? o->lists : 0;
	int m = o ? o->m : 0;
	int nbits = o ? o->nbits : code_bits;

	if (nbits != code_bits)
		ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						errmsg("ivfpq supports nbits = 8 only, not %d", nbits),
						errdetail("Each sub-quantizer's code is one byte.")));
	if (m == 0)
		m = default_m(s.dims);
	else if (m > s.dims || s.dims % m != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("m = %d does not divide the %d dimensions of the column", m, s.dims),
				 errhint("Choose m among the divisors of %d; by default m is the one nearest %d.",
						 s.dims, default_m(s.dims))));
	check_entry_fits(s, m);
	if (!s.trained)
		return s; /* an empty table: one list, no codes */

	if (lists == 0)
		lists = Max(1, static_cast<int>(std::lround(std::sqrt(static_cast<double>(rows)))));
	else if (lists > rows)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("ivfpq index with lists = %d needs at least as many rows, the table has %d",
						lists, rows),
				 errhint("Use fewer lists, or leave lists out to choose them from the rows.")));
	s.lists = lists;
	s.m = m;
	return s;
}

int
option_training_sample(Relation index)
{
	const Options *o = options_of(index);
	return o ? o->training_sample : 0;
}

static void
corrupted_meta(Relation index)
{
	ereport(ERROR,
			(errcode(ERRCODE_INDEX_CORRUPTED),
			 errmsg("index \"%s\" has a corrupted meta page", RelationGetRelationName(index)),
			 errhint("REINDEX the index.")));
}

/* The meta page's contents into out; false if the page is not an ivfpq
 * meta page. */
static bool
copy_meta(Relation index, MetaPage *out)
{
	Buffer buf = ReadBuffer(index, meta_blkno);
	LockBuffer(buf, BUFFER_LOCK_SHARE);
	Page page = BufferGetPage(buf);
	bool sound = page_is_sound(page, page_meta) && meta_of(page)->magic == meta_magic;
	if (sound)
		*out = *meta_of(page);
	UnlockReleaseBuffer(buf);
	return sound;
}

bool
read_meta_if_sound(Relation index, MetaPage *out)
{
	return RelationGetNumberOfBlocks(index) > 0 && copy_meta(index, out) &&
		   out->version == ((out->flags & meta_flat) ? format_version_flat : format_version);
}

MetaPage
read_meta(Relation index)
{
	if (RelationGetNumberOfBlocks(index) == 0)
		corrupted_meta(index);
	MetaPage meta;
	bool sound = copy_meta(index, &meta);
	if (!sound)
		ereport(ERROR,
				(errcode(ERRCODE_INDEX_CORRUPTED),
				 errmsg("index \"%s\" is not an ivfpq index", RelationGetRelationName(index))));
	uint32 version = (meta.flags & meta_flat) ? format_version_flat : format_version;
	if (meta.version != version)
		ereport(ERROR,
				(errcode(ERRCODE_INDEX_CORRUPTED),
				 errmsg("index \"%s\" has %s format version %u, this vecdb reads version %u",
						RelationGetRelationName(index),
						(meta.flags & meta_flat) ? "ivfflat" : "ivfpq", meta.version, version),
				 errhint("REINDEX INDEX %s to rebuild it in the current format.",
						 quote_identifier(RelationGetRelationName(index)))));
	return meta;
}

Shape
shape_of(Relation index, const MetaPage &meta)
{
	Shape s{static_cast<int>(meta.dims), static_cast<int>(meta.lists), meta.m,
			static_cast<Metric>(meta.metric), (meta.flags & meta_trained) != 0};
	s.flat = (meta.flags & meta_flat) != 0;
	s.input = opclass_support(index).input;
	/* an ivfpq index's lists read as vectors, or the reverse, would be
	 * read past their entries */
	if (s.flat != is_flat(index))
		corrupted_meta(index);
	BlockNumber nblocks = RelationGetNumberOfBlocks(index);
	/* dims the column does not have would read as the user's mistake */
	if (s.dims != TupleDescAttr(RelationGetDescr(index), 0)->atttypmod ||
		s.dims > static_cast<int>(core::max_vector_dims) || s.lists < 1 || s.lists > max_lists ||
		meta.metric > static_cast<uint8>(Metric::l1) || (s.flat && s.m != 0) ||
		(s.trained && !s.flat && (s.m < 1 || s.m > s.dims || s.dims % s.m != 0)) ||
		(!s.trained && s.lists != 1) || meta.directory_blkno >= nblocks ||
		meta.directory_pages != (s.lists + heads_per_page - 1) / heads_per_page ||
		meta.directory_blkno + meta.directory_pages > nblocks || s.entry_size() > page_room)
		corrupted_meta(index);
	return s;
}

namespace {

/* Read count floats from the run of float pages starting at start. */
void
read_floats(Relation index, BlockNumber start, Size count, float *out)
{
	BlockNumber nblocks = RelationGetNumberOfBlocks(index);
	BlockNumber blkno = start;
	for (Size done = 0; done < count; blkno++)
	{
		if (blkno >= nblocks)
			corrupted_meta(index);
		Buffer buf = ReadBuffer(index, blkno);
		LockBuffer(buf, BUFFER_LOCK_SHARE);
		Page page = BufferGetPage(buf);
		Size n = 0;
		if (page_is_sound(page, page_floats))
		{
			n = Min(static_cast<Size>(contents_end(page) - PageGetContents(page)) / sizeof(float),
					count - done);
			memcpy(out + done, PageGetContents(page), n * sizeof(float));
		}
		UnlockReleaseBuffer(buf);
		if (n == 0)
			ereport(ERROR, (errcode(ERRCODE_INDEX_CORRUPTED),
							errmsg("index \"%s\" has a damaged model page %u",
								   RelationGetRelationName(index), blkno),
							errhint("REINDEX the index.")));
		done += n;
	}
}

/*
 * A model as the backend caches it, in a memory context of its own. Pins
 * count the scans, inserts and VACUUMs using it: one an invalidation drops
 * from the cache (it is no longer cached) is freed when its last pin goes.
 */
struct CachedModel
{
	MemoryContext context; /* holds this and model */
	Model *model;
	int pins;
	bool cached; /* the cache still lists it */
};

struct CacheEntry
{
	Oid relid; /* the hash key */
	CachedModel *cached;
};

HTAB *model_cache = nullptr;

void
free_if_unused(CachedModel *m)
{
	if (!m->cached && m->pins == 0)
		MemoryContextDelete(m->context);
}

/* Drop an entry's model from the cache, freeing it now if nothing uses it. */
void
forget(CacheEntry *entry)
{
	CachedModel *m = entry->cached;
	Oid relid = entry->relid;
	hash_search(model_cache, &relid, HASH_REMOVE, nullptr);
	m->cached = false;
	free_if_unused(m);
}

/*
 * A relcache invalidation of an index (REINDEX, DROP INDEX, or any change
 * to its pg_class row), or of everything (InvalidOid: a cache reset),
 * drops the cached models, so that no dropped or rebuilt index's model
 * stays behind in a long-lived backend. Only memory is freed here: no
 * catalog access, no ERROR.
 */
void
invalidate_models(Datum, Oid relid)
{
	if (model_cache == nullptr)
		return;
	if (OidIsValid(relid))
	{
		auto *entry =
			static_cast<CacheEntry *>(hash_search(model_cache, &relid, HASH_FIND, nullptr));
		if (entry != nullptr)
			forget(entry);
		return;
	}
	HASH_SEQ_STATUS seq;
	hash_seq_init(&seq, model_cache);
	/* removing the entry just returned is allowed during a scan */
	while (auto *entry = static_cast<CacheEntry *>(hash_seq_search(&seq)))
		forget(entry);
}

struct Pin
{
	MemoryContextCallback callback;
	CachedModel *model;
};

/* Pin m until CurrentMemoryContext is reset or deleted (on ERROR too). */
const Model &
pin(CachedModel *m)
{
	auto *p = static_cast<Pin *>(palloc(sizeof(Pin)));
	p->model = m;
	p->callback.arg = p;
	p->callback.func = [](void *arg) {
		CachedModel *pinned = static_cast<Pin *>(arg)->model;
		pinned->pins--;
		free_if_unused(pinned);
	};
	m->pins++;
	MemoryContextRegisterResetCallback(CurrentMemoryContext, &p->callback);
	return *m->model;
}

/* The model of an index, read from its pages into a new context. */
CachedModel *
read_model(Relation index, const MetaPage &meta)
{
	Shape s = shape_of(index, meta);
	MemoryContext context =
		AllocSetContextCreate(TopMemoryContext, "vecdb ivfpq model", ALLOCSET_DEFAULT_SIZES);
	MemoryContext old = MemoryContextSwitchTo(context);
	CachedModel *cached = nullptr;
	PG_TRY();
	{
		Model *model = pg::make_owned<Model>(s);
		model->relid = RelationGetRelid(index);
		model->build_id = meta.build_id;
		model->directory_blkno = meta.directory_blkno;
		model->directory_pages = meta.directory_pages;
		if (s.trained)
		{
			pg::guarded([&] { model->centroids.resize(static_cast<Size>(s.lists) * s.dims); });
			read_floats(index, meta.centroids_blkno, model->centroids.size(),
						model->centroids.data());
			/* a NaN centroid would leave the nearest list undefined */
			for (float c : model->centroids)
				if (!std::isfinite(c))
					corrupted_meta(index);
		}
		if (model->pq)
		{
			float *codebooks =
				static_cast<float *>(palloc(sizeof(float) * model->pq->codebook_floats()));
			read_floats(index, meta.codebooks_blkno, model->pq->codebook_floats(), codebooks);
			for (Size i = 0; i < model->pq->codebook_floats(); i++)
				if (!std::isfinite(codebooks[i]))
					corrupted_meta(index);
			model->pq->load(codebooks);
			pfree(codebooks);
		}
		if (s.trained)
			pg::guarded([&] { model->prepare_assigner(); });
		cached = static_cast<CachedModel *>(palloc(sizeof(CachedModel)));
		*cached = CachedModel{context, model, 0, false};
	}
	PG_CATCH();
	{
		MemoryContextSwitchTo(old);
		MemoryContextDelete(context);
		PG_RE_THROW();
	}
	PG_END_TRY();
	MemoryContextSwitchTo(old);
	return cached;
}

} // namespace

/*
 * The cache keeps one model per index until a relcache invalidation of the
 * index (see invalidate_models) or a rebuild (a new build_id) replaces it.
 * The model returned stays valid until CurrentMemoryContext goes: it is
 * pinned there, so an invalidation that arrives while a scan runs frees it
 * only once the scan is over.
 *
 * (Not rd_amcache: a relcache flush pfrees that one chunk, which neither
 * runs the model's destructors nor waits for a scan still using it.)
 */
const Model &
load_model(Relation index)
{
	MetaPage meta = read_meta(index);
	if (model_cache == nullptr)
	{
		HASHCTL ctl;
		ctl.keysize = sizeof(Oid);
		ctl.entrysize = sizeof(CacheEntry);
		ctl.hcxt = TopMemoryContext;
		model_cache =
			hash_create("vecdb ivfpq models", 16, &ctl, HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
		CacheRegisterRelcacheCallback(invalidate_models, static_cast<Datum>(0));
	}
	Oid relid = RelationGetRelid(index);
	auto *entry = static_cast<CacheEntry *>(hash_search(model_cache, &relid, HASH_FIND, nullptr));
	if (entry != nullptr && entry->cached->model->build_id == meta.build_id)
		return pin(entry->cached);
	if (entry != nullptr)
		forget(entry);

	CachedModel *cached = read_model(index, meta);
	bool found;
	entry = static_cast<CacheEntry *>(hash_search(model_cache, &relid, HASH_ENTER, &found));
	entry->cached = cached;
	cached->cached = true;
	return pin(cached);
}

void
nearest_lists(const Model &model, const float *vectors, int n, uint32 *lists)
{
	const Shape &s = model.shape;
	if (!s.trained)
	{
		memset(lists, 0, sizeof(uint32) * n);
		return;
	}
	if (model.assigner)
	{
		model.assigner->assign(vectors, n, lists);
		return;
	}
	core::DistanceFn distance = core::ranking_distance(s.metric);
	for (int i = 0; i < n; i++)
	{
		const float *v = vectors + static_cast<Size>(i) * s.dims;
		float best_distance = std::numeric_limits<float>::infinity();
		lists[i] = 0;
		for (int list = 0; list < s.lists; list++)
		{
			float d =
				distance(v, model.centroids.data() + static_cast<Size>(list) * s.dims, s.dims);
			if (d < best_distance)
			{
				best_distance = d;
				lists[i] = list;
			}
		}
	}
}

void
encode_entry(const Model &model, int list, const float *vector, ItemPointer heaptid, char *out,
			 float *scratch)
{
	const Shape &s = model.shape;
	memcpy(out, heaptid, sizeof(ItemPointerData));
	if (s.flat)
	{
		memset(out + sizeof(ItemPointerData), 0, Shape::vector_at - sizeof(ItemPointerData));
		memcpy(out + Shape::vector_at, vector, sizeof(float) * s.dims);
		return;
	}
	if (!s.trained)
		return;
	const float *centroid = model.centroids.data() + static_cast<Size>(list) * s.dims;
	const float *target = vector;
	if (s.by_residual())
	{
		for (int i = 0; i < s.dims; i++)
			scratch[i] = vector[i] - centroid[i];
		target = scratch;
	}
	auto *code = reinterpret_cast<uint8 *>(out + s.code_at());
	model.pq->encode(target, code);
	if (s.has_offset())
	{
		/* ||r||^2 + 2<c, r> of the residual as decoded: with it, the scan's
		 * ||q - c||^2 - 2<q, r> is exactly ||q - (c + r)||^2 */
		model.pq->decode(code, scratch);
		float offset = core::squared_norm(scratch, s.dims) +
					   2 * core::inner_product(centroid, scratch, s.dims);
		memcpy(out + s.offset_at(), &offset, sizeof(float));
	}
}

} // namespace vecdb::ivfpq
