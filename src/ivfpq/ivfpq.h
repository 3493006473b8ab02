/*
 * ivfpq.h: the ivfpq index access method: page layout, options, the
 * trained model, and the entry points each phase's file defines.
 *
 * An inverted file of product-quantized codes. k-means splits the space into
 * lists around centroids; each row is filed in its nearest list as (heap TID,
 * PQ code of its residual from the centroid). A scan ranks the entries of the
 * nearest lists by asymmetric distance (a per-query lookup table summed over
 * the code's bytes), then re-ranks the best of them by exact distance.
 *
 * Pages, all with the same special space (PageOpaque):
 *   block 0      the meta page;
 *   float pages  the centroids (lists x dims), then the codebooks
 *                (m x 256 x dsub), each a run of consecutive blocks holding
 *                as many floats as fit;
 *   directory    consecutive blocks of ListHead, one per list;
 *   list pages   each list's chain (PageOpaque::next) of packed entries,
 *                pd_lower marking the end of the last one.
 * The centroids and codebooks never change after the build; inserts only
 * append to a list's tail page, so a backend caches the model (model.cpp).
 *
 * An entry is the heap TID (6 bytes), for vector_l2_ops and
 * vector_cosine_ops a float "offset" (see encode_entry), then the m code
 * bytes. Entries are packed without
 * alignment, so that a page holds as many as fit and a scan sums tables
 * over a contiguous array.
 *
 * The ivfflat access method (pgvector's) is this one with lists that hold
 * the vectors themselves: a flat index (Shape::flat, meta_flat) trains
 * centroids and no codebooks, and its entry is the heap TID, two bytes of
 * padding, then the prepared vector's floats, so that entries (a multiple
 * of 4 bytes, from a MAXALIGN'd start) keep their floats aligned. Its scan
 * computes exact distances from the entries, and returns the probed
 * lists' rows nearest first without visiting the heap. Such an index has
 * format version 3, which a vecdb that knows only version 2 refuses.
 */
#pragma once

#include "pg/pg.h"
#include "pg/check_report.h"
#include "index/page.h"
#include "core/kmeans.h"
#include "core/metric.h"
#include "core/pq.h"
#include "core/vector_format.h"
#include "index/vector_index.h"
#include "index/registry.h"
#include "tier/tier.h"

extern "C" {
#include "access/amapi.h"
#include "access/generic_xlog.h"
#include "access/reloptions.h"
#include "storage/bufmgr.h"
#include "storage/bufpage.h"
#include "storage/itemptr.h"
#include "utils/rel.h"
}

#include <optional>
#include <vector>

namespace vecdb::ivfpq {

using core::Metric;

constexpr uint32 meta_magic = 0x56495650; /* "VIVP" */
/* 2: the hot tier's state in the meta page */
constexpr uint32 format_version = 2;
/* 3: format 2 with flat lists (meta_flat) */
constexpr uint32 format_version_flat = 3;
constexpr BlockNumber meta_blkno = 0;
constexpr uint16 page_id = 0xFF92; /* last word of every page, as bloom does */

constexpr int max_lists = 100000;
constexpr int max_training_sample = 10000000;
constexpr int code_bits = 8;
/* An untrained index (built on an empty table) files everything in list 0,
 * without codes, and re-ranks all of it exactly: correct, slow, until
 * REINDEX trains it. */

/* Pages keep the page contract of src/index/page.h; these kinds are
 * ivfpq's own. */
using index::contents_end;
using index::page_meta;
using index::page_opaque;
using index::page_room;
using index::PageOpaque;
using index::set_contents_end;
constexpr uint16 page_floats = 1 << 1;
constexpr uint16 page_directory = 1 << 2;
constexpr uint16 page_list = 1 << 3;

constexpr uint8 meta_trained = 1 << 0;
constexpr uint8 meta_flat = 1 << 1; /* ivfflat: entries hold vectors */

struct MetaPage
{
	uint32 magic;
	uint32 version;
	uint32 dims;
	uint32 lists;
	uint16 m; /* sub-quantizers; 0 untrained */
	uint8 nbits;
	uint8 metric;
	uint8 flags;
	uint8 unused[3];
	uint64 build_id; /* new at every build: the backend cache's key */
	BlockNumber centroids_blkno;
	BlockNumber codebooks_blkno;
	BlockNumber directory_blkno;
	uint32 directory_pages;
	int64 built_entries; /* entries the build wrote */
	int64 trained_rows;  /* rows the model was trained on */
	tier::TierMeta tier; /* the hot tier (src/tier) */
};

/* Pinned: the old-format and corruption tests patch these fields. */
static_assert(offsetof(MetaPage, magic) == 0 && offsetof(MetaPage, version) == 4,
			  "MetaPage layout");
static_assert(offsetof(MetaPage, tier) == 64, "MetaPage layout");

struct ListHead
{
	BlockNumber head;
	BlockNumber tail;
};

constexpr Size floats_per_page = page_room / sizeof(float);
constexpr Size heads_per_page = page_room / sizeof(ListHead);

static_assert(sizeof(MetaPage) <= page_room, "the meta page holds a MetaPage");

/* Options (WITH (...)); 0 means "choose from the data". */
struct Options
{
	int32 vl_len_;
	int lists;
	int m;
	int nbits;
	int training_sample;
	bool streaming; /* inserts go to the hot tier */
};

/* ivfflat's default lists, pgvector's */
constexpr int flat_default_lists = 100;
constexpr int flat_max_lists = 32768;

/* The index's parameters, as the meta page records them. */
struct Shape
{
	int dims;
	int lists;
	int m; /* 0: untrained */
	Metric metric;
	bool trained;
	bool flat = false; /* ivfflat: entries hold the vector, no codes */
	InputType input = InputType::vector; /* the column's type: the opclass's */

	/* Codes are of residuals from the centroid where the ranking distance
	 * decomposes into per-sub-space tables around it (L2, inner product,
	 * cosine); L1 does not, and codes the vector itself. */
	bool by_residual() const { return metric != Metric::l1; }
	/* L2 and cosine entries carry ||r||^2 + 2<c, r> of their decoded
	 * residual r (see scan.cpp's prepare_search). */
	bool has_offset() const
	{
		return trained && !flat && (metric == Metric::l2 || metric == Metric::cosine);
	}
	/* The offset's weight in an estimate. */
	float offset_weight() const { return metric == Metric::cosine ? 0.5f : 1.0f; }
	Size offset_at() const { return sizeof(ItemPointerData); }
	Size code_at() const { return offset_at() + (has_offset() ? sizeof(float) : 0); }
	/* A flat entry's floats, trained or not. */
	static constexpr Size vector_at = 8;
	Size entry_size() const
	{
		if (flat)
			return vector_at + sizeof(float) * static_cast<Size>(dims);
		return code_at() + (trained ? m : 0);
	}
	/* Who the messages name. */
	const char *am_name() const { return flat ? "ivfflat" : "ivfpq"; }
};

static_assert(sizeof(ItemPointerData) <= Shape::vector_at && Shape::vector_at % sizeof(float) == 0,
			  "flat entry layout");

/* A flat entry's vector (aligned: see the top). */
inline const float *
entry_vector(const char *entry)
{
	return reinterpret_cast<const float *>(entry + Shape::vector_at);
}

inline MetaPage *
meta_of(Page page)
{
	return reinterpret_cast<MetaPage *>(PageGetContents(page));
}

/*
 * The trained model, as a backend caches it: the shape, the centroids and
 * the product quantizer, and where the directory is. Valid while the index
 * is locked; a new build gives a new build_id, which the cache checks.
 */
struct Model
{
	Oid relid;
	uint64 build_id;
	Shape shape;
	BlockNumber directory_blkno;
	uint32 directory_pages;
	std::vector<float> centroids;             /* lists x dims */
	std::optional<core::ProductQuantizer> pq; /* when trained */
	/* nearest centroid for many rows at once: when trained, but for L1,
	 * whose nearest list is not the nearest by L2 or inner product */
	std::optional<core::CentroidAssigner> assigner;

	explicit Model(const Shape &s) : shape(s)
	{
		if (s.trained && !s.flat)
			pq.emplace(s.dims, s.m);
	}

	/* Once the centroids are set. */
	void prepare_assigner()
	{
		if (shape.trained && shape.metric != Metric::l1)
			assigner.emplace(centroids.data(), shape.lists, shape.dims, shape.metric != Metric::l2);
	}
};

/* utils.cpp */
void init_page(Page page, uint16 flags);
/* A page header to trust: bounds in order, our special space, of kind. */
bool page_is_sound(Page page, uint16 kind);
/* The list pages' entries: [begin, begin + count * entry_size). 0 if the
 * page's contents are not whole entries. */
int entry_count(Page page, Size entry_size);
inline char *
entries_of(Page page)
{
	return PageGetContents(page);
}
/* ERROR unless page (block blkno, locked for writing) has room for size
 * more bytes at pd_lower: every writer checks, so that no option and no
 * damage makes one write past its page into the next buffer. */
void ensure_room(Relation index, Page page, BlockNumber blkno, Size size);
/* The shape a new index gets from its column, opclass and options. */
Shape new_shape(Relation index, int rows_estimate);
/* Whether index is an ivfflat index (its access method), flat lists. */
bool is_flat(Relation index);
int option_training_sample(Relation index);
/* The meta page, checked; ERROR if it is not an ivfpq meta page. */
MetaPage read_meta(Relation index);
/* The same without the ERROR: false if the meta page is not sound (the
 * buffer manager may still raise one for a page it cannot read). */
bool read_meta_if_sound(Relation index, MetaPage *out);
Shape shape_of(Relation index, const MetaPage &meta);
/* The trained model, cached for the backend, valid until
 * CurrentMemoryContext is reset (see utils.cpp). */
const Model &load_model(Relation index);
/* The list nearest to each of n vectors (n x dims) into lists. */
void nearest_lists(const Model &model, const float *vectors, int n, uint32 *lists);
/*
 * The entry of a vector filed in list: heap TID, offset, code. out holds
 * shape.entry_size() bytes; scratch holds dims floats.
 */
void encode_entry(const Model &model, int list, const float *vector, ItemPointer heaptid, char *out,
				  float *scratch);
/* The directory page and slot of a list. */
inline BlockNumber
directory_block(const Model &model, int list)
{
	return model.directory_blkno + static_cast<BlockNumber>(list / heads_per_page);
}
inline ListHead *
list_head(Page directory_page, int list)
{
	return reinterpret_cast<ListHead *>(PageGetContents(directory_page)) + list % heads_per_page;
}
/* The first page of a list; InvalidBlockNumber if it has none (or the
 * directory page is damaged). */
BlockNumber list_first_page(Relation index, BlockNumber directory_blkno, int list);

/*
 * Call f(buffer, page) on each page of a list's chain in turn, holding that
 * page's lock (BUFFER_LOCK_SHARE or _EXCLUSIVE) and no other. Stops at a
 * damaged page, and after as many pages as the index has, since a damaged
 * chain could loop. f may change the entries, not the chain. Before each
 * page, with no lock held, unlocked() runs if given: VACUUM naps there.
 *
 * The walk ends at pages added since it began (linked by concurrent
 * inserts): they hold entries only of rows newer than the walk, which no
 * scan's snapshot shows and no VACUUM has to remove; a VACUUM that
 * followed them could chase a busy list's tail for ever.
 */
template <typename F>
void
for_each_list_page(Relation index, BlockNumber directory_blkno, int list, int lock, F &&f,
				   void (*unlocked)() = nullptr)
{
	BlockNumber nblocks = RelationGetNumberOfBlocks(index);
	BlockNumber blkno = list_first_page(index, directory_blkno, list);
	for (BlockNumber pages = 0; blkno != InvalidBlockNumber && blkno < nblocks && pages < nblocks;
		 pages++)
	{
		if (unlocked != nullptr)
			unlocked();
		CHECK_FOR_INTERRUPTS();
		Buffer buf = ReadBuffer(index, blkno);
		LockBuffer(buf, lock);
		Page page = BufferGetPage(buf);
		if (!page_is_sound(page, page_list))
		{
			UnlockReleaseBuffer(buf);
			return;
		}
		blkno = page_opaque(page)->next;
		f(buf, page);
		UnlockReleaseBuffer(buf);
	}
}

/* Whether a heap TID can be given to the heap: a damaged one must not be. */
bool heaptid_is_sane(const ItemPointerData &tid);

/* insert.cpp: append one entry to a list, WAL-logged; a merge of the hot
 * tier passes the mark that record must carry. */
void append_entry(Relation index, const Model &model, int list, const char *entry,
				  tier::MergeMark *mark = nullptr);
/* File one prepared vector in its nearest list (aminsert with streaming
 * off, and a merge). */
void insert_vector(Relation index, const Model &model, const float *vector, ItemPointer heaptid,
				   tier::MergeMark *mark = nullptr);

/* The index's hot tier. */
inline tier::Tier
tier_of(Relation index, const Shape &s)
{
	return {index, offsetof(MetaPage, tier), page_id, s.dims};
}

/* merge.cpp: the access method's merge entry point (index/registry.h). */
int64 merge(Relation index, int64 max_rows, bool only_if_free);
int64 merge(Relation index, const tier::MergeGoal &goal);
index::TierShape tier_shape(Relation index);
/* handler.cpp: whether the index's inserts go to its hot tier. */
bool streaming(Relation index, const Shape &s);

/* handler.cpp: the settings (vecdb.ivfpq_*) and WITH (...) options; once,
 * from _PG_init. */
extern int probes;            /* vecdb.ivfpq_probes */
extern int rerank_candidates; /* vecdb.ivfpq_rerank */
extern int iterative_scan;    /* vecdb.ivfpq_iterative_scan */
extern int max_probes;        /* vecdb.ivfpq_max_probes */
void define_settings();
void define_options();
/* The search settings in force: vecdb.ivfpq_*, or for a flat index
 * vecdb.ivfflat_* and pgvector's ivfflat.* names (index/pgvector_names.h).
 * rerank is ivfpq's alone. */
struct SearchSettings
{
	int probes;
	int max_probes; /* 0: every list */
	int iterative_scan;
	int rerank;
};
SearchSettings search_settings(bool flat);

/* check.cpp: vecdb_index_check() of an ivfpq index. */
void check_index(Relation heap, Relation index, pg::CheckReport &r);

/* Access method entry points. */
IndexBuildResult *build(Relation heap, Relation index, IndexInfo *info);
void build_empty(Relation index);
bool insert(Relation index, Datum *values, bool *isnull, ItemPointer heaptid, Relation heap,
			IndexUniqueCheck check_unique, bool index_unchanged, IndexInfo *info);
IndexBulkDeleteResult *bulk_delete(IndexVacuumInfo *info, IndexBulkDeleteResult *stats,
								   IndexBulkDeleteCallback callback, void *callback_state);
IndexBulkDeleteResult *vacuum_cleanup(IndexVacuumInfo *info, IndexBulkDeleteResult *stats);
IndexScanDesc begin_scan(Relation index, int nkeys, int norderbys);
void rescan(IndexScanDesc scan, ScanKey keys, int nkeys, ScanKey orderbys, int norderbys);
bool get_tuple(IndexScanDesc scan, ScanDirection dir);
void end_scan(IndexScanDesc scan);

} // namespace vecdb::ivfpq
