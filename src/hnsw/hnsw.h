/*
 * hnsw.h: the hnsw index access method: page layout, options, and the entry
 * points each phase's file defines.
 *
 * Block 0 is the meta page. Every other page holds element tuples, one per
 * graph element and nothing else: the element's heap TIDs (identical vectors
 * share an element), its vector, then its links, level 0 first. Keeping the
 * vector and the links in one tuple means that expanding an element during
 * a search reads the page its distance was just computed from; links are
 * fixed-size, so an element's lists are rewritten in place and generic WAL
 * logs only the bytes that changed.
 *
 * An element whose vector would not let it fit a page (more than 1,984
 * dims at m 16) is stored "out of line": the whole index is (Shape::
 * external, from dims and m alone, so no format change: an index whose
 * inline element fits keeps exactly the layout above). Its element tuples
 * hold, in place of the floats, the address of the vector's first chunk
 * (an ItemPointerData padded to 8 bytes), then the links as usual. The
 * chunks are tuples on vector pages (page_vectors): the next chunk's
 * address (invalid at the end), a float count, the floats; as many as fit
 * a page, so 3,072 dims take 2 chunks, 16,000 take 8. Chunks are written
 * before the element that names them (vectors.cpp), each in its own
 * record; a crash in between only leaks them. A new vector's chunks start
 * on the last vector page its backend wrote, if a useful part fits there:
 * that hint lives in the backend's memory, not in the meta page (no meta
 * change at all; a backend's first vector starts a fresh page, a few kB
 * per backend at worst). A build packs every vector in element order.
 *
 * Readers copy an element's chunk address under its page's lock, unlock
 * it, then read the chunks one page at a time: no reader holds two buffer
 * locks. A free element keeps its chunks; an insert that reuses its slot
 * overwrites their floats in place (same dims, same chunk layout) while
 * holding the element page's lock: the one place two locks are held,
 * always element page then vector page, and nothing locks in the other
 * order, so no deadlock. (The design asked for chunk pages first: reusing
 * a slot must keep it claimed while its chunks change, which needs the
 * element page's lock. A reader racing the overwrite may see a vector half
 * old, half new for an element being replaced; the chain itself, next
 * pointers and counts, never changes.)
 *
 * WITH (quantization = 'sq8') keeps each vector as 8-bit codes instead of
 * floats (core/sq8.h: a 12-byte header, then a byte a dimension, padded to
 * the links' 2-byte alignment), inline up to the dims whose element fits a
 * page (7,936 at m 16). The search ranks by distances to the codes; a scan
 * returns with each row a lower bound of its exact distance and sets
 * xs_recheckorderby, so that PostgreSQL's executor re-ranks from the heap.
 * Identical vectors never share an element then: a code does not say
 * whether two vectors were equal, and each row's bound must be its own. So
 * a quantized element has one heap TID slot, and its code starts right
 * after it (quantized_code_offset): 12 bytes an element that decide, at
 * 128 dims and m 16, between 22 and 23 elements a page. Such an index has
 * format version 3, which an older vecdb refuses. Measured against the
 * plain index in one bench/run (bench/README.md, "HNSW with compressed
 * storage"): 0.25 x its size at 784 dims, 0.48 x at 128, 0.53 x at 100
 * (where the links outweigh the codes), the same recall, 0.93-1.26 x its
 * QPS at recall 0.95: a hop reads a quarter of the bytes, and the executor
 * fetches a few rows past LIMIT to re-rank.
 */
#pragma once

#include "pg/pg.h"
#include "pg/check_report.h"
#include "index/page.h"
#include "core/hnsw_search.h"
#include "core/metric.h"
#include "core/sq8.h"
#include "core/visited.h"
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

namespace vecdb::hnsw {

using core::Metric;

/* Pages keep the page contract of src/index/page.h; this kind is hnsw's
 * own. */
using index::page_meta;
using index::page_opaque;
using index::PageOpaque;

constexpr uint32 meta_magic = 0x56484e53; /* "VHNS" */
/* 2: the hot tier's state in the meta page, and index::PageOpaque */
constexpr uint32 format_version = 2;
/* 3: format 2 with quantized vectors (MetaPage::quantization), so that a
 * vecdb that knows only format 2 refuses an index it would misread */
constexpr uint32 format_version_quantized = 3;
constexpr BlockNumber meta_blkno = 0;
constexpr uint16 page_id = 0xFF91; /* last word of every page, as bloom does */

constexpr int default_m = 16;
constexpr int min_m = 2;
constexpr int max_m = 100;
constexpr int default_ef_construction = 64;
constexpr int min_ef_construction = 4;
constexpr int max_ef_construction = 1000;
constexpr int max_level = 15;
constexpr int heaptids_per_element = 3;

/* Index-wide heavyweight lock, taken on the meta page's number: inserts
 * share it; an insert that raises the top level holds it exclusively, and
 * VACUUM only for short steps of its repair (vacuum.cpp), never while it
 * naps. */
constexpr BlockNumber update_lock = meta_blkno;

/* The largest tuple an element page holds. */
constexpr Size max_element_size =
	BLCKSZ - MAXALIGN(SizeOfPageHeaderData + sizeof(ItemIdData)) - MAXALIGN(sizeof(PageOpaque));

constexpr uint16 page_elements = 1 << 1;
constexpr uint16 page_vectors = 1 << 2; /* vector chunks of out-of-line elements */

struct MetaPage
{
	uint32 magic;
	uint32 version;
	uint32 dims;
	uint16 m;
	uint16 ef_construction;
	uint8 metric;
	uint8 quantization; /* Quantization; none in format 2 */
	int16 entry_level;  /* -1: empty graph */
	BlockNumber entry_blkno;
	OffsetNumber entry_offno;
	BlockNumber insert_blkno; /* last page, where new elements go */
	tier::TierMeta tier;      /* the hot tier (src/tier) */
	/* The element a merge placed and may not have linked yet: its write
	 * marked its hot row merged, so until it is linked scans read it as a
	 * hot row, and the next merge links it (merge.cpp). */
	BlockNumber merging_blkno; /* InvalidBlockNumber: none */
	OffsetNumber merging_offno;
};

/* Pinned: the old-format and corruption tests patch these fields. */
static_assert(offsetof(MetaPage, magic) == 0 && offsetof(MetaPage, version) == 4,
			  "MetaPage layout");
static_assert(offsetof(MetaPage, tier) == 32, "MetaPage layout");
static_assert(offsetof(MetaPage, quantization) == 17, "MetaPage layout");

constexpr uint8 element_deleted = 1 << 0; /* no heap TIDs left; awaiting repair */
constexpr uint8 element_free = 1 << 1;    /* unlinked; its space can be reused */

struct ElementTuple
{
	uint8 level;      /* the element's level */
	uint8 slot_level; /* the level its space holds links for (>= level) */
	uint8 flags;
	uint8 heaptid_count;
	ItemPointerData heaptids[heaptids_per_element];
	uint16 unused;
	float vector[FLEXIBLE_ARRAY_MEMBER];
	/* then the links: 2m for level 0, m for each level up to slot_level;
	 * a list shorter than its room ends with an invalid ItemPointer. */
};

/* How an element keeps its vector (WITH (quantization = ...)). */
enum class Quantization : uint8
{
	none = 0, /* floats */
	sq8 = 1,  /* 8-bit codes, core/sq8.h */
	half = 2, /* halfvec's halves as they are, two a float slot (core/metric.h) */
};

/* The index's parameters, as the meta page records them. */
struct Shape
{
	int dims; /* float slots a vector takes: core::stored_floats of input_dims */
	int m;
	int ef_construction;
	Metric metric;
	bool external = false; /* vectors out of line (see the top); set_layout */
	Quantization quantization = Quantization::none;
	InputType input = InputType::vector; /* the column's type: the opclass's */
	int input_dims = 0; /* the column's dimensions (bits, for bit), as the meta page keeps them */

	bool quantized() const { return quantization == Quantization::sq8; }
	bool halves() const { return quantization == Quantization::half; }
	/* whether the vector slots hold floats, not packed bits or halves */
	bool slots_hold_floats() const { return !halves() && !core::metric_on_bits(metric); }
};

/* Heap TIDs an element has room for: identical plain vectors share an
 * element, a quantized one holds its own row only (see the top). */
inline int
heaptid_slots(const Shape &s)
{
	return s.quantized() ? 1 : heaptids_per_element;
}

/* Where a quantized element's code starts: after its one heap TID, at the
 * code header's float alignment. */
constexpr Size quantized_code_offset = 12;
static_assert(offsetof(ElementTuple, heaptids) + sizeof(ItemPointerData) <= quantized_code_offset &&
				  quantized_code_offset % alignof(core::Sq8Header) == 0,
			  "quantized element layout");

/* Where an element's vector, code or chunk address starts. */
inline Size
vector_offset(Quantization q)
{
	return q == Quantization::sq8 ? quantized_code_offset : offsetof(ElementTuple, vector);
}

/* An out-of-line element's room for its first chunk's address. */
constexpr Size chunk_address_size = 8;
static_assert(sizeof(ItemPointerData) <= chunk_address_size, "chunk address");
static_assert(offsetof(ElementTuple, vector) % 8 == 0, "ElementTuple layout");

/* The bytes of an inline vector: floats, or (quantized) a code padded
 * to the links' alignment. */
inline Size
inline_vector_bytes(int dims, Quantization q)
{
	return q == Quantization::sq8 ? TYPEALIGN(alignof(ItemPointerData), core::sq8_size(dims))
								  : sizeof(float) * dims;
}

/* Whether a level-0 element with its vector inline fits a page. */
inline bool
inline_fits(int dims, int m, Quantization q)
{
	return MAXALIGN(vector_offset(q) + inline_vector_bytes(dims, q) +
					sizeof(ItemPointerData) * 2 * m) <= max_element_size;
}

/* s.external from s.dims, s.m and s.quantization: codes stay inline, and
 * an index whose codes do not fit a page is refused (new_shape). */
inline void
set_layout(Shape &s)
{
	s.external = !s.quantized() && !inline_fits(s.dims, s.m, s.quantization);
}

/* What an element holds in place of its vector's floats. */
inline Size
vector_bytes(const Shape &s)
{
	return s.external ? chunk_address_size : inline_vector_bytes(s.dims, s.quantization);
}

inline Size
element_size(const Shape &s, int slot_level)
{
	return vector_offset(s.quantization) + vector_bytes(s) +
		   sizeof(ItemPointerData) * (2 * s.m + slot_level * s.m);
}

/* An out-of-line element's first chunk. */
inline ItemPointerData *
element_chunk(ElementTuple *e)
{
	return reinterpret_cast<ItemPointerData *>(e->vector);
}

/* A quantized element's code: its header, then the codes. */
inline core::Sq8Header *
element_code(ElementTuple *e)
{
	return reinterpret_cast<core::Sq8Header *>(reinterpret_cast<char *>(e) + quantized_code_offset);
}

inline const core::Sq8Header *
element_code(const ElementTuple *e)
{
	return element_code(const_cast<ElementTuple *>(e));
}

inline const uint8 *
element_codes(const ElementTuple *e)
{
	return reinterpret_cast<const uint8 *>(element_code(e) + 1);
}

inline ItemPointerData *
element_links(ElementTuple *e, const Shape &s, int level)
{
	auto *base = reinterpret_cast<ItemPointerData *>(
		reinterpret_cast<char *>(e) + vector_offset(s.quantization) + vector_bytes(s));
	return level == 0 ? base : base + 2 * s.m + (level - 1) * s.m;
}

/* One piece of an out-of-line vector, a tuple on a vector page. */
struct VectorChunk
{
	ItemPointerData next; /* invalid: the vector's last chunk */
	uint16 count;         /* floats here, >= 1 */
	float values[FLEXIBLE_ARRAY_MEMBER];
};

static_assert(offsetof(VectorChunk, next) == 0 && offsetof(VectorChunk, count) == 6 &&
				  offsetof(VectorChunk, values) == 8,
			  "VectorChunk layout");

inline Size
chunk_size(int count)
{
	return offsetof(VectorChunk, values) + sizeof(float) * count;
}

/* The most floats one chunk holds: a chunk fills at most a page. */
constexpr int chunk_max_floats =
	static_cast<int>((max_element_size - offsetof(VectorChunk, values)) / sizeof(float));

inline MetaPage *
meta_of(Page page)
{
	return reinterpret_cast<MetaPage *>(PageGetContents(page));
}

/* Element addresses as the 64-bit refs of the search templates. */
inline uint64
ref_of(BlockNumber blkno, OffsetNumber offno)
{
	return (static_cast<uint64>(blkno) << 16) | offno;
}

inline uint64
ref_of(const ItemPointerData &tid)
{
	return ref_of(ItemPointerGetBlockNumberNoCheck(&tid), ItemPointerGetOffsetNumberNoCheck(&tid));
}

inline BlockNumber
ref_block(uint64 ref)
{
	return static_cast<BlockNumber>(ref >> 16);
}

inline OffsetNumber
ref_offset(uint64 ref)
{
	return static_cast<OffsetNumber>(ref & 0xffff);
}

/* Options (WITH (...)). */
struct Options
{
	int32 vl_len_;
	int m;
	int ef_construction;
	bool streaming;   /* inserts go to the hot tier */
	int quantization; /* Quantization */
};

/* What the meta page says of the graph right now. */
struct Entry
{
	int level; /* -1: empty graph */
	uint64 ref;
	BlockNumber insert_blkno;
	uint64 merging; /* MetaPage::merging_blkno/offno; 0: none */
};

/* utils.cpp */
Entry read_entry(Relation index);
void init_page(Page page, uint16 flags);
Shape read_shape(Relation index);
/* The shape a meta page's fields give: dims is the column's dimensions. */
Shape shape_of_meta(uint32 dims, int m, int ef_construction, Metric metric,
					Quantization quantization);
/* The shape a new index gets from its column, opclass and options. */
Shape new_shape(Relation index);
int max_level_for(const Shape &s);
/* The value to index (see prepare_index_vector); out holds s.dims floats. */
inline bool
prepare_vector(const Shape &s, Datum value, float *out)
{
	return prepare_index_vector(s.input, s.metric, s.input_dims, value, out, s.halves());
}
/* A page header to trust: bounds in order, our special space, of kind. */
bool page_is_sound(Page page, uint16 kind);
ElementTuple *element_at(Page page, OffsetNumber offno, const Shape &s);
/* A new element with no links, in element_size(s, slot_level) bytes at e:
 * vector inline, or (s.external) chunk as its first chunk's address. */
void init_element(ElementTuple *e, const Shape &s, int level, int slot_level, const float *vector,
				  ItemPointer heaptid, const ItemPointerData *chunk = nullptr);
/* The meta page, locked exclusively for a generic WAL write; ERROR if it
 * is not sound enough to write through. */
Buffer lock_meta_for_write(Relation index);
/* Name the graph's entry point in the meta page (blkno InvalidBlockNumber:
 * the graph is empty). The insert page is place()'s (insert.cpp). */
void set_entry(Relation index, int16 level, BlockNumber blkno, OffsetNumber offno);

/*
 * The graph on pages, as a Store for the search templates.
 *
 * What one hop costs is memory latency, not instructions. For each fresh
 * neighbour a read touches its slot in the table of known blocks, its
 * buffer descriptor, its page's header and line pointer, the special space
 * page_is_sound checks (the block's other 4kB page), and the element: a
 * chain of misses, each also a TLB miss once the index outgrows the TLB's
 * reach (shared buffers without huge pages). Measured with perf (cpu-clock)
 * on Fashion-MNIST (60k x 784, 2 elements a page) and 100k x 100 (13 a
 * page), m=16, ef_search 40 and 160, all in shared buffers; the numbers
 * are in the commit messages. What came of it:
 *
 *  - distances() walks a hop's fresh neighbours once per link of that
 *    chain: slots, then descriptors, line pointers and special spaces, then
 *    the elements' first lines, and only then pins, locks and computes. A
 *    hop has a handful of fresh neighbours, so prefetching a fixed distance
 *    ahead left most of a list in the pipeline's warm-up. The first link
 *    of each chain, and each 4kB page, is a plain load, not a prefetch: on
 *    this machine (AMD EPYC, a VM) prefetches that missed the TLB were
 *    dropped, and the descriptor's and the special space's misses stayed
 *    where LockBufHdr and page_is_sound wait for them (15% each).
 *  - A page is checked once per pass (between two release()s, so within
 *    one AM callback) and its header's bounds kept in its slot (KnownBlock,
 *    utils.cpp); this saves little in a scan, which reads most blocks once
 *    or twice, but the page of an element being expanded was checked when
 *    its distance was computed. Element pages are never reinitialised and
 *    their items never move or go (VACUUM only flags them free, an insert
 *    reuses a free item in place or appends one), so pd_lower only grows
 *    and pd_upper only shrinks: an offset beyond the kept item count checks
 *    the page again, and the per-item checks (line pointer, bounds against
 *    the kept pd_upper and the fixed special space, the tuple's own sizes)
 *    stay, so a page damaged meanwhile still cannot make a read leave its
 *    item.
 *  - The slots that remember where blocks are in shared buffers follow
 *    block numbers, so an index's slots are dense (they were a hash spread
 *    over 1.5MB, a miss of its own), and one slot gives both the buffer
 *    and the page's checked bounds.
 *  - Consecutive elements on one page keep its pin and its share lock.
 *    Grouping a list by block would save little more: the build places
 *    elements in heap order, which on these data sets is unrelated to
 *    their neighbourhoods, so a 32-link list names a block twice in some
 *    6% of lists at 13 elements a page (C(32,2)/7828), fewer at 2.
 *  - The visited set (core::VisitedHash) was not where the time went
 *    (2-4%, its table stays in cache); visit() is inline now.
 *
 * Tried since, and measured not to pay (bench/run profile, 100k x 100
 * normalized and Fashion-MNIST, AVX2 EPYC, each against a run of main the
 * same hour; cycles a visited element move by a tenth between runs):
 *
 *  - Neighbours placed on shared pages: the build laid elements out page
 *    by page, each page grown by the element its members linked to most,
 *    and distances() took a list's refs in address order so that one pin
 *    and lock served a page's. A list named a quarter fewer pages; the
 *    cycles a visited element stayed where they were (778-863 against
 *    792-1079 on 100k x 100; Fashion-MNIST's QPS ratio 0.49-0.71 against
 *    0.51-0.79). What a hop pays for is each element, not each page.
 *  - Element addresses from a per-backend cache of the line pointers'
 *    offsets, and page checks kept across passes: 724-800 cycles against
 *    778-863 (-7%), not worth reading items that no check of the current
 *    pass vouches for.
 *  - Shared buffers in huge pages (huge_pages = on): no change.
 *  - Prefetching the whole next element (4 kB, not 1) on Fashion-MNIST:
 *    2,448-2,917 cycles against 1,712-2,557, worse.
 *  - Reading one hop ahead: after popping a candidate, read the next one's
 *    links too, and load its unseen neighbours' slots, descriptors, line
 *    pointers and first lines with this hop's (the list kept for when it
 *    is popped). Backend CPU for 1,000 queries on 100k x 100, best of 12
 *    runs alternating with main's build on one index: 75 / 118 / 363 ms
 *    at ef 10 / 40 / 160 against 74 / 118 / 328. The extra pin and lock
 *    of the next candidate's page costs what the overlap saves.
 *
 * So a hop's cost is its elements' memory, the buffer manager's pin and
 * lock, and the checks; what would cut it is reading fewer elements a hop
 * (compact neighbour codes beside the links, so that most neighbours'
 * distances come from the page being expanded), not reading them faster.
 */
class PageGraph
{
public:
	using Ref = uint64;

	PageGraph(Relation index, const Shape &shape);
	~PageGraph();
	PageGraph(const PageGraph &) = delete;
	PageGraph &operator=(const PageGraph &) = delete;
	/* Drop the pin kept between reads, and forget which pages were
	 * checked; before leaving the AM's callback. */
	void release();
	void set_query(const float *query) { query_ = query; }
	void interruption_point() { CHECK_FOR_INTERRUPTS(); }
	void reset_visited();
	std::size_t visited_count() const;
	/* distances to the query computed since the graph was made */
	int64 distances_computed() const { return computed_; }

	bool visit(Ref r) { return visited_.visit(r); }
	int neighbours(Ref r, int level, Ref *out);
	void distances(const Ref *refs, int n, float *out);
	const float *vector(Ref r, float *slot);
	float distance_to(Ref r);
	/* e's vector, e on the page of buf share-locked: inline, the lock still
	 * held (a quantized one decoded into a scratch); out of line, read into
	 * a scratch after unlocking buf, and *locked false. */
	const float *element_vector(ElementTuple *e, Buffer buf, bool *locked);
	/* rewrite_links() below, after dropping the pin kept between reads */
	bool rewrite_links(Ref r, int level, const std::vector<Ref> &before,
					   const std::vector<Ref> &after);
	/* The element at r share-locked in *buf, or nullptr (nothing locked)
	 * if r names no sound element; the pin stays with the graph. */
	ElementTuple *find_element(Ref r, Buffer *buf);

	/* Skip elements that are deleted or free when collecting neighbours. */
	bool skip_dead = false;

	Relation index() const { return index_; }
	const Shape &shape() const { return shape_; }
	core::DistanceFn distance_fn() const { return distance_; }
	core::Sq8DistanceFn code_distance_fn() const { return code_distance_; }

private:
	Buffer pin(BlockNumber blkno);
	void unpin();
	ElementTuple *element_on(Page page, BlockNumber blkno, OffsetNumber offno);
	ElementTuple *lock_element(Ref r, Buffer *buf);
	float distance_of(const ElementTuple *e);
	float code_distance(const ElementTuple *e) const;
	Relation index_;
	Shape shape_;
	core::DistanceFn distance_;
	core::Sq8DistanceFn code_distance_; /* shape_.quantized() */
	const float *query_ = nullptr;
	int64 computed_ = 0;
	core::VisitedHash visited_;
	Buffer last_buffer_ = InvalidBuffer;
	BlockNumber last_blkno_ = InvalidBlockNumber;
	BlockNumber nblocks_ = 0;    /* as last read: the index only grows */
	std::vector<float> scratch_; /* an out-of-line or decoded vector (element_vector) */
	uint32 pass_;                /* pages checked with this number are sound */
};

/*
 * Write after as ref's links at level, under the page's exclusive lock and
 * generic WAL, if they still read as before; false if they do not (another
 * backend changed them, or the element is gone).
 */
bool rewrite_links(Relation index, const Shape &s, uint64 ref, int level,
				   const std::vector<uint64> &before, const std::vector<uint64> &after);

/*
 * Search from the entry point for g's query: greedily down to the base
 * level, then ef-wide on it, seeded with the entry point too (which reaches
 * every element there). Leaves the base level's result in layer.
 */
void search_from_entry(PageGraph &g, core::hnsw::LayerSearch<uint64> &layer, const Entry &entry,
					   int ef, bool keep_spilled);

/* vectors.cpp: out-of-line vectors (see the top). */
/* Write v as a chain of chunks, packed after this backend's last vector
 * page; its first chunk's address. */
ItemPointerData write_vector(Relation index, const Shape &s, const float *v);
/* Overwrite the floats of the chain at first with v, in place; ERROR if
 * the chain is damaged. The caller may hold an element page's lock. */
void rewrite_vector(Relation index, const Shape &s, ItemPointerData first, const float *v);
/* Read the chain at first into out (s.dims floats); ERROR if damaged. */
const float *load_vector(Relation index, const Shape &s, ItemPointerData first, float *out);
/* As load_vector, but nullptr if sound, else what is wrong and where
 * (*where): for vecdb_index_check. seen (may be null) collects the chunks
 * read, and a chunk already in it is damage (two chains share it). */
const char *walk_vector(Relation index, const Shape &s, ItemPointerData first, float *out,
						ItemPointerData *where, core::VisitedHash *seen);
/* The vector of the element at ref into out, and its level; false if ref
 * names no live element. No two buffer locks at once. */
bool copy_element_vector(Relation index, const Shape &s, uint64 ref, float *out, int *level);
/* How many floats a new chunk on page could hold (0: none). */
inline int
chunk_floats_fitting(Page page)
{
	Size room = MAXALIGN_DOWN(PageGetFreeSpace(page));
	if (room < MAXALIGN(chunk_size(1)))
		return 0;
	return Min(static_cast<int>((room - offsetof(VectorChunk, values)) / sizeof(float)),
			   chunk_max_floats);
}
/* A vector's first chunk goes on a page already holding others only if
 * this many of its floats fit there (or all of them): fewer would only
 * lengthen its chain. */
constexpr int chunk_min_floats = 64;

/* The index's hot tier. */
inline tier::Tier
tier_of(Relation index, const Shape &s)
{
	return {index, offsetof(MetaPage, tier), page_id, s.dims, !s.slots_hold_floats()};
}

/* insert.cpp: put one vector into the graph on pages (aminsert with
 * streaming off, the build once the graph outgrows memory, and a merge of
 * the hot tier, which passes the mark its write must carry). */
void insert_vector(Relation index, const Shape &s, const float *vector, ItemPointer heaptid,
				   tier::MergeMark *mark = nullptr);
/* Record ref (0: none) as the element a merge is linking. */
void set_merging(Relation index, uint64 ref);
/* Link the element a merge left unlinked (a crash cut it short), if any;
 * under the tier's merge lock. */
void link_merging(Relation index, const Shape &s);

/* The access method's merge entry point (index/registry.h). */
int64 merge(Relation index, int64 max_rows, bool only_if_free);
int64 merge(Relation index, const tier::MergeGoal &goal);
index::TierShape tier_shape(Relation index);
/* handler.cpp: whether the index's inserts go to its hot tier. */
bool streaming(Relation index, const Shape &s);

/* check.cpp: vecdb_index_check() of an hnsw index. */
void check_index(Relation heap, Relation index, pg::CheckReport &r);

/* handler.cpp: the settings (vecdb.hnsw_*) and WITH (...) options; once,
 * from _PG_init. */
extern int ef_search;       /* vecdb.hnsw_ef_search */
extern int iterative_scan;  /* vecdb.hnsw_iterative_scan */
extern int max_scan_tuples; /* vecdb.hnsw_max_scan_tuples */
void define_settings();
/* The search settings in force: vecdb's, or pgvector's names for them
 * (hnsw.ef_search, hnsw.iterative_scan, hnsw.max_scan_tuples) where set;
 * index/pgvector_names.h. */
struct SearchSettings
{
	int ef_search;
	int iterative_scan;
	int max_scan_tuples;
};
SearchSettings search_settings();
void define_options();
int64 progress_phase(bool writing);

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

} // namespace vecdb::hnsw
