/*
 * utils.cpp: what every phase of hnsw shares: pages, the meta page, reading
 * elements defensively, the index's shape, and the graph on pages as a
 * Store for the search templates of src/core.
 */
#include "hnsw/hnsw.h"
#include "index/page_write.h"
#include "core/visited.h"
#include "type/vector.h"

extern "C" {
#include "access/genam.h"
#include "catalog/pg_type.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "storage/buf_internals.h"
}

#include <cmath>
#include <limits>

namespace vecdb::hnsw {

void
init_page(Page page, uint16 flags)
{
	vecdb::index::init_page(page, flags, page_id);
}

/* The highest level whose element tuple still fits a page. */
int
max_level_for(const Shape &s)
{
	int level = 0;
	while (level < max_level && MAXALIGN(element_size(s, level + 1)) <= max_element_size)
		level++;
	return level;
}

Shape
read_shape(Relation index)
{
	Buffer buf = ReadBuffer(index, meta_blkno);
	LockBuffer(buf, BUFFER_LOCK_SHARE);
	Page page = BufferGetPage(buf);
	MetaPage *meta = meta_of(page);
	/* the version before the special space: an older format may keep
	 * that elsewhere */
	bool ours = !PageIsNew(page) && meta->magic == meta_magic;
	uint32 version = ours ? meta->version : 0;
	if (ours && version != format_version && version != format_version_quantized)
	{
		UnlockReleaseBuffer(buf);
		ereport(ERROR,
				(errcode(ERRCODE_INDEX_CORRUPTED),
				 errmsg("index \"%s\" has hnsw format version %u, this vecdb reads version %u",
						RelationGetRelationName(index), version, format_version),
				 errhint("REINDEX INDEX %s to rebuild it in the current format.",
						 quote_identifier(RelationGetRelationName(index)))));
	}
	if (!ours || !page_is_sound(page, page_meta))
	{
		UnlockReleaseBuffer(buf);
		ereport(ERROR,
				(errcode(ERRCODE_INDEX_CORRUPTED),
				 errmsg("index \"%s\" is not an hnsw index", RelationGetRelationName(index))));
	}
	Shape s =
		shape_of_meta(meta->dims, meta->m, meta->ef_construction, static_cast<Metric>(meta->metric),
					  static_cast<Quantization>(meta->quantization));
	s.input = opclass_support(index).input;
	/* the version says whether there is a quantization, the field which */
	bool quantized_ok = version == format_version_quantized
							? (meta->quantization == static_cast<uint8>(Quantization::sq8) ||
							   meta->quantization == static_cast<uint8>(Quantization::half))
							: meta->quantization == static_cast<uint8>(Quantization::none);
	set_layout(s);
	UnlockReleaseBuffer(buf);
	if (s.dims < 1 || s.dims > vector_max_dim || s.m < min_m || s.m > max_m ||
		meta->metric > static_cast<uint8>(core::last_metric) || !quantized_ok ||
		MAXALIGN(element_size(s, 0)) > max_element_size)
		ereport(ERROR,
				(errcode(ERRCODE_INDEX_CORRUPTED),
				 errmsg("index \"%s\" has a corrupted meta page", RelationGetRelationName(index))));
	return s;
}

bool
page_is_sound(Page page, uint16 kind)
{
	return vecdb::index::page_is_sound(page, page_id, kind);
}

namespace {

/* Where a sound element page's contents end: its special space. */
constexpr Size element_page_special = BLCKSZ - MAXALIGN(sizeof(PageOpaque));

/*
 * The element at offno of a page whose header was found sound with
 * max_offno items and its tuples from upper on (now or earlier: neither
 * bound moves the wrong way on an element page), checked before it is
 * trusted: nullptr, never a read outside the item.
 */
inline ElementTuple *
item_element(Page page, OffsetNumber offno, OffsetNumber max_offno, Size upper, const Shape &s)
{
	if (offno < FirstOffsetNumber || offno > max_offno)
		return nullptr;
	ItemId id = PageGetItemId(page, offno);
	Size off = ItemIdGetOffset(id);
	Size len = ItemIdGetLength(id);
	/* PageAddItem places every item MAXALIGN'd: an offset that is not is
	 * damage, and reading an element there would be a misaligned access */
	if (!ItemIdIsNormal(id) || len < offsetof(ElementTuple, vector) || off != MAXALIGN(off) ||
		off < upper || off + len > element_page_special)
		return nullptr;
	auto *e = reinterpret_cast<ElementTuple *>(page + off);
	if (e->slot_level > max_level || e->level > e->slot_level ||
		e->heaptid_count > heaptid_slots(s) || len != element_size(s, e->slot_level))
		return nullptr;
	return e;
}

} // namespace

/*
 * The element at offno, checked before it is trusted: a damaged page gives
 * nullptr (and the caller an ERROR), never a read outside the page's items.
 */
ElementTuple *
element_at(Page page, OffsetNumber offno, const Shape &s)
{
	if (!page_is_sound(page, page_elements))
		return nullptr;
	return item_element(page, offno, PageGetMaxOffsetNumber(page),
						reinterpret_cast<PageHeader>(page)->pd_upper, s);
}

Buffer
lock_meta_for_write(Relation index)
{
	Buffer buf = ReadBuffer(index, meta_blkno);
	LockBuffer(buf, BUFFER_LOCK_EXCLUSIVE);
	/* Generic WAL keeps only what lies outside pd_lower..pd_upper: never
	 * write through a damaged header, it would log the meta page away. */
	PageHeader h = reinterpret_cast<PageHeader>(BufferGetPage(buf));
	if (!page_is_sound(BufferGetPage(buf), page_meta) ||
		h->pd_lower < SizeOfPageHeaderData + sizeof(MetaPage))
	{
		UnlockReleaseBuffer(buf);
		ereport(ERROR,
				(errcode(ERRCODE_INDEX_CORRUPTED),
				 errmsg("index \"%s\" has a corrupted meta page", RelationGetRelationName(index)),
				 errhint("REINDEX the index.")));
	}
	return buf;
}

void
set_entry(Relation index, int16 level, BlockNumber blkno, OffsetNumber offno)
{
	Buffer buf = lock_meta_for_write(index);
	index::PageWrite w(index);
	MetaPage *meta = meta_of(w.add(buf));
	meta->entry_level = blkno == InvalidBlockNumber ? -1 : level;
	meta->entry_blkno = blkno;
	meta->entry_offno = blkno == InvalidBlockNumber ? InvalidOffsetNumber : offno;
	w.finish();
	UnlockReleaseBuffer(buf);
}

/* ------------------------------------------------------------------------
 * PageGraph
 */

static void
corrupted(Relation index, uint64 ref)
{
	ereport(ERROR, (errcode(ERRCODE_INDEX_CORRUPTED),
					errmsg("index \"%s\" has a damaged element at (%u,%u)",
						   RelationGetRelationName(index), ref_block(ref), ref_offset(ref)),
					errhint("Run vecdb_index_check('%s'), then REINDEX it.",
							RelationGetRelationName(index))));
}

/*
 * What this backend knows of index blocks: where it last found each in
 * shared buffers, and whether a pass of a PageGraph found it a sound
 * element page (with the header's bounds then). A search reads a thousand
 * or more blocks, each once or twice; ReadRecentBuffer pins a remembered
 * buffer after checking its tag, skipping the buffer mapping table that
 * ReadBuffer searches under a partition lock. A stale or colliding entry
 * only costs the fallback to ReadBuffer and a fresh check of the page.
 * Slots follow block numbers, so one index's blocks share cache lines.
 */
namespace {

struct KnownBlock
{
	Oid relnode;
	BlockNumber blkno;
	Buffer buffer;
	uint32 pass; /* the pass that found the page sound; 0: none */
	uint16 max_offno;
	uint16 upper;
};

constexpr uint32 known_slots = 1 << 17;
KnownBlock *known_blocks = nullptr;
uint32 last_pass = 0;

/* A number no pass of any PageGraph of this backend had since the table
 * was last cleared. */
uint32
new_pass()
{
	if (++last_pass == 0)
	{
		if (known_blocks != nullptr)
			memset(known_blocks, 0, sizeof(KnownBlock) * known_slots);
		last_pass = 1;
	}
	return last_pass;
}

inline KnownBlock *
known_slot(Oid relnode, BlockNumber blkno)
{
	return &known_blocks[(blkno + relnode * 0x9e3779b1u) & (known_slots - 1)];
}

/* The slot of relnode's blkno, taken over if it named another block. */
inline KnownBlock &
known(Oid relnode, BlockNumber blkno)
{
	KnownBlock *k = known_slot(relnode, blkno);
	if (k->relnode != relnode || k->blkno != blkno)
		*k = KnownBlock{relnode, blkno, InvalidBuffer, 0, 0, 0};
	return *k;
}

/* How much of an element distances() prefetches for all of a list at
 * once (its header and the vector's start), and then one element ahead
 * (the rest of the vector and the links, up to the hardware prefetcher's
 * reach). */
constexpr Size element_head_bytes = 128;
constexpr Size element_prefetch_bytes = 1024;

} // namespace

PageGraph::PageGraph(Relation index, const Shape &shape)
	: index_(index), shape_(shape), distance_(core::ranking_distance(shape.metric, shape.halves())),
	  code_distance_(core::sq8_ranking_distance(shape.metric)), visited_(), pass_(new_pass())
{
	if (shape.external || shape.quantized())
		scratch_.resize(shape.dims);
}

/* No buffer work here: it may run in an aborting transaction's memory
 * cleanup, after the resource owner has dropped the pins. */
PageGraph::~PageGraph() = default;

void
PageGraph::unpin()
{
	if (BufferIsValid(last_buffer_))
		ReleaseBuffer(last_buffer_);
	last_buffer_ = InvalidBuffer;
	last_blkno_ = InvalidBlockNumber;
}

/* What a pass checked may change once the callback is left: the next one
 * checks again. */
void
PageGraph::release()
{
	unpin();
	pass_ = new_pass();
}

void
PageGraph::reset_visited()
{
	visited_.clear();
}

std::size_t
PageGraph::visited_count() const
{
	return visited_.size();
}

/* Consecutive reads of one page keep its pin. */
Buffer
PageGraph::pin(BlockNumber blkno)
{
	if (blkno == last_blkno_)
		return last_buffer_;
	if (blkno >= nblocks_)
		nblocks_ = RelationGetNumberOfBlocks(index_);
	if (blkno >= nblocks_ || blkno == meta_blkno)
		return InvalidBuffer;
	unpin();
	if (known_blocks == nullptr)
		known_blocks = static_cast<KnownBlock *>(
			MemoryContextAllocZero(TopMemoryContext, sizeof(KnownBlock) * known_slots));
	KnownBlock &k = known(index_->rd_node.relNode, blkno);
	if (BufferIsValid(k.buffer) && ReadRecentBuffer(index_->rd_node, MAIN_FORKNUM, blkno, k.buffer))
		last_buffer_ = k.buffer;
	else
	{
		last_buffer_ = ReadBuffer(index_, blkno);
		k.buffer = last_buffer_;
	}
	last_blkno_ = blkno;
	return last_buffer_;
}

/*
 * The element at offno of blkno, pinned and share-locked as page: the
 * page's header is checked once a pass, its items at every read.
 */
ElementTuple *
PageGraph::element_on(Page page, BlockNumber blkno, OffsetNumber offno)
{
	KnownBlock &k = known(index_->rd_node.relNode, blkno);
	if (k.pass != pass_ || offno > k.max_offno)
	{
		if (!page_is_sound(page, page_elements))
			return nullptr;
		k.pass = pass_;
		k.max_offno = PageGetMaxOffsetNumber(page);
		k.upper = reinterpret_cast<PageHeader>(page)->pd_upper;
	}
	return item_element(page, offno, k.max_offno, k.upper, shape_);
}

ElementTuple *
PageGraph::find_element(Ref r, Buffer *buf)
{
	*buf = pin(ref_block(r));
	if (!BufferIsValid(*buf))
		return nullptr;
	LockBuffer(*buf, BUFFER_LOCK_SHARE);
	ElementTuple *e = element_on(BufferGetPage(*buf), ref_block(r), ref_offset(r));
	if (e == nullptr)
		LockBuffer(*buf, BUFFER_LOCK_UNLOCK);
	return e;
}

/* The element at r, share-locked in *buf; an ERROR if r names none. */
ElementTuple *
PageGraph::lock_element(Ref r, Buffer *buf)
{
	ElementTuple *e = find_element(r, buf);
	if (e == nullptr)
		corrupted(index_, r);
	return e;
}

/*
 * Start loading what reading a ref will touch: its slot (stage 0), its
 * buffer descriptor, line pointer and, if this pass has not checked the
 * page yet, its special space (1), its element (2). Only hints, from where
 * the block was last seen and what its page said then: no pin, no lock,
 * and an address is prefetched only if it lies inside the buffer.
 */
static inline void
prefetch_slot(Oid relnode, uint64 ref)
{
	__builtin_prefetch(known_slot(relnode, ref_block(ref)));
}

static inline const char *
known_page(const KnownBlock *k, Oid relnode, uint64 ref)
{
	if (k->relnode != relnode || k->blkno != ref_block(ref) || k->buffer <= 0 ||
		k->buffer > NBuffers)
		return nullptr;
	return static_cast<const char *>(BufferGetBlock(k->buffer));
}

/* Load the line at p and drop the value: the load cannot be elided, and
 * the out-of-order core runs on without waiting for it. */
static inline void
touch(const void *p)
{
	uint32 v;
	memcpy(&v, const_cast<const void *>(p), sizeof(v));
	__asm__ volatile("" : : "r"(v));
}

static inline const ItemIdData *
line_pointer(const char *page, uint64 ref)
{
	OffsetNumber offno = ref_offset(ref);
	if (offno < FirstOffsetNumber || SizeOfPageHeaderData + sizeof(ItemIdData) * offno > BLCKSZ)
		return nullptr;
	return reinterpret_cast<const ItemIdData *>(page + SizeOfPageHeaderData) + (offno - 1);
}

static inline void
prefetch_page(Oid relnode, uint32 pass, uint64 ref)
{
	const KnownBlock *k = known_slot(relnode, ref_block(ref));
	const char *page = known_page(k, relnode, ref);
	if (page == nullptr)
		return;
	/* loads, not prefetches: a prefetch that misses the TLB may be
	 * dropped, and these lines lie on as many pages */
	touch(GetBufferDescriptor(k->buffer - 1));
	if (const ItemIdData *id = line_pointer(page, ref))
		touch(id);
	if (k->pass != pass)
		touch(page + BLCKSZ - sizeof(PageOpaque));
}

/* Bytes from..to of the element at ref (to capped at its length). */
static inline void
prefetch_element(Oid relnode, uint64 ref, Size from, Size to)
{
	const KnownBlock *k = known_slot(relnode, ref_block(ref));
	const char *page = known_page(k, relnode, ref);
	const ItemIdData *id = page ? line_pointer(page, ref) : nullptr;
	if (id == nullptr)
		return;
	uint32 raw = *reinterpret_cast<const volatile uint32 *>(id);
	ItemIdData copy;
	memcpy(&copy, &raw, sizeof(copy));
	Size off = copy.lp_off;
	to = Min(static_cast<Size>(copy.lp_len), to);
	if (off + to > BLCKSZ)
		return;
	/* the element's first line, and the first on each further 4kB page,
	 * is loaded, for the TLB's sake; the others only prefetched: a load
	 * of the rest of the next element (from > 0, its first line's page
	 * known to the TLB already) held retirement up for the miss, where a
	 * prefetch lets the current element's lock and distance go on (10-20%
	 * fewer cycles a visited element on 100k x 100, bench/run profile) */
	for (Size at = from; at < to; at += 64)
	{
		const char *p = page + off + at;
		if (at == 0 || (reinterpret_cast<uintptr_t>(p) & 4095) < 64)
			touch(p);
		else
			__builtin_prefetch(p);
	}
}

int
PageGraph::neighbours(Ref r, int level, Ref *out)
{
	Buffer buf;
	ElementTuple *e = lock_element(r, &buf);
	int n = 0;
	if (level <= e->level && !(e->flags & element_free))
	{
		const ItemPointerData *links = element_links(e, shape_, level);
		int room = core::hnsw::max_links(shape_.m, level);
		for (int i = 0; i < room && ItemPointerIsValid(&links[i]); i++)
			out[n++] = ref_of(links[i]);
	}
	LockBuffer(buf, BUFFER_LOCK_UNLOCK);
	/* the slots distances() reads first, loading while the search checks
	 * which links are fresh */
	for (int i = 0; i < n; i++)
		prefetch_slot(index_->rd_node.relNode, out[i]);
	return n;
}

float
PageGraph::distance_of(const ElementTuple *e)
{
	computed_++;
	/* A dead element still guides the search, but is never linked to. An
	 * inline vector only: distances() sends out-of-line ones elsewhere. */
	Assert(!shape_.external);
	if (skip_dead && (e->flags & (element_deleted | element_free)))
		return std::numeric_limits<float>::infinity();
	if (shape_.quantized())
		return code_distance(e);
	return distance_(query_, e->vector, shape_.dims);
}

float
PageGraph::code_distance(const ElementTuple *e) const
{
	const core::Sq8Header *h = element_code(e);
	return code_distance_(query_, element_codes(e), h->lo, h->step, shape_.dims);
}

/*
 * A hop's few fresh neighbours (a handful on average) are each a chain of
 * dependent misses: slot, then descriptor and line pointer, then element.
 * Walking the list once per link of the chain overlaps the misses of all
 * neighbours, where prefetching a fixed distance ahead would leave most of
 * a short list in the pipeline's warm-up.
 */
void
PageGraph::distances(const Ref *refs, int n, float *out)
{
	/* An out-of-line vector is read page by page after its element's lock
	 * is dropped (element_vector): one at a time, no staging. */
	if (shape_.external)
	{
		for (int i = 0; i < n; i++)
			out[i] = distance_to(refs[i]);
		return;
	}
	Oid relnode = index_->rd_node.relNode;
	Size element_bytes = Min(element_prefetch_bytes, element_size(shape_, 0));
	if (known_blocks != nullptr)
	{
		for (int i = 0; i < n; i++)
			prefetch_slot(relnode, refs[i]);
		for (int i = 0; i < n; i++)
			prefetch_page(relnode, pass_, refs[i]);
		for (int i = 0; i < n; i++)
			prefetch_element(relnode, refs[i], 0, element_head_bytes);
	}
	/* locked: the buffer of last_blkno_ is share-locked */
	bool locked = false;
	for (int i = 0; i < n; i++)
	{
		if (known_blocks != nullptr && i + 1 < n)
			prefetch_element(relnode, refs[i + 1], element_head_bytes, element_bytes);
		BlockNumber blkno = ref_block(refs[i]);
		if (!locked || blkno != last_blkno_)
		{
			if (locked)
				LockBuffer(last_buffer_, BUFFER_LOCK_UNLOCK);
			locked = false;
			if (!BufferIsValid(pin(blkno)))
				corrupted(index_, refs[i]);
			LockBuffer(last_buffer_, BUFFER_LOCK_SHARE);
			locked = true;
		}
		ElementTuple *e = element_on(BufferGetPage(last_buffer_), blkno, ref_offset(refs[i]));
		if (e == nullptr)
		{
			LockBuffer(last_buffer_, BUFFER_LOCK_UNLOCK);
			corrupted(index_, refs[i]);
		}
		out[i] = distance_of(e);
	}
	if (locked)
		LockBuffer(last_buffer_, BUFFER_LOCK_UNLOCK);
}

float
PageGraph::distance_to(Ref r)
{
	Buffer buf;
	ElementTuple *e = lock_element(r, &buf);
	computed_++;
	/* A dead element still guides the search, but is never linked to. */
	if (skip_dead && (e->flags & (element_deleted | element_free)))
	{
		LockBuffer(buf, BUFFER_LOCK_UNLOCK);
		return std::numeric_limits<float>::infinity();
	}
	if (shape_.quantized())
	{
		float d = code_distance(e);
		LockBuffer(buf, BUFFER_LOCK_UNLOCK);
		return d;
	}
	bool locked;
	float d = distance_(query_, element_vector(e, buf, &locked), shape_.dims);
	if (locked)
		LockBuffer(buf, BUFFER_LOCK_UNLOCK);
	return d;
}

const float *
PageGraph::vector(Ref r, float *slot)
{
	Buffer buf;
	ElementTuple *e = lock_element(r, &buf);
	bool locked;
	memcpy(slot, element_vector(e, buf, &locked), sizeof(float) * shape_.dims);
	if (locked)
		LockBuffer(buf, BUFFER_LOCK_UNLOCK);
	return slot;
}

const float *
PageGraph::element_vector(ElementTuple *e, Buffer buf, bool *locked)
{
	*locked = !shape_.external;
	if (shape_.quantized())
	{
		core::sq8_decode(*element_code(e), element_codes(e), shape_.dims, scratch_.data());
		return scratch_.data();
	}
	if (!shape_.external)
		return e->vector;
	ItemPointerData first = *element_chunk(e);
	LockBuffer(buf, BUFFER_LOCK_UNLOCK);
	/* the chunks' pages take the place of the one pinned between reads */
	release();
	return load_vector(index_, shape_, first, scratch_.data());
}

} // namespace vecdb::hnsw

namespace vecdb::hnsw {

void
init_element(ElementTuple *e, const Shape &s, int level, int slot_level, const float *vector,
			 ItemPointer heaptid, const ItemPointerData *chunk)
{
	memset(e, 0, element_size(s, slot_level));
	e->level = static_cast<uint8>(level);
	e->slot_level = static_cast<uint8>(slot_level);
	e->heaptid_count = 1;
	e->heaptids[0] = *heaptid;
	for (int i = 1; i < heaptid_slots(s); i++)
		ItemPointerSetInvalid(&e->heaptids[i]);
	if (s.external)
	{
		Assert(chunk != nullptr);
		*element_chunk(e) = *chunk;
	}
	else if (s.quantized())
		core::sq8_encode(vector, s.dims, s.metric, element_code(e),
						 reinterpret_cast<uint8 *>(element_code(e) + 1));
	else
		memcpy(e->vector, vector, sizeof(float) * s.dims);
	ItemPointerData *links = element_links(e, s, 0);
	for (int i = 0; i < 2 * s.m + slot_level * s.m; i++)
		ItemPointerSetInvalid(&links[i]);
}

} // namespace vecdb::hnsw

namespace vecdb::hnsw {

Shape
shape_of_meta(uint32 dims, int m, int ef_construction, Metric metric, Quantization quantization)
{
	bool halves = quantization == Quantization::half;
	Shape s{static_cast<int>(core::stored_floats(metric, dims, halves)), m, ef_construction,
			metric};
	s.quantization = quantization;
	s.input_dims = static_cast<int>(dims);
	return s;
}

Shape
new_shape(Relation index)
{
	const OpclassSupport &support = opclass_support(index);
	Shape s = shape_of_meta(static_cast<uint32>(index_dims(index)), default_m,
							default_ef_construction, support.metric, Quantization::none);
	s.input = support.input;
	if (index->rd_options)
	{
		auto *opts = reinterpret_cast<Options *>(index->rd_options);
		s.m = opts->m;
		s.ef_construction = opts->ef_construction;
		s.quantization = static_cast<Quantization>(opts->quantization);
	}
	/* halfvec's values stay halves, half the size of floats */
	if (s.input == InputType::halfvec && s.quantization == Quantization::none)
	{
		s.quantization = Quantization::half;
		s.dims = static_cast<int>(core::stored_floats(s.metric, s.input_dims, true));
	}
	if (s.ef_construction < 2 * s.m)
		ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						errmsg("ef_construction must be greater than or equal to 2 * m")));
	/* kept dense, a sparse vector takes what a vector may */
	if (s.input == InputType::sparsevec && s.input_dims > vector_max_dim)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("hnsw indexes sparsevec columns of at most %d dimensions, not %d",
						vector_max_dim, s.input_dims),
				 errdetail("vecdb's hnsw keeps a sparse vector dense; pgvector's takes up to "
						   "1,000 non-zero elements of any dimension, which vecdb does not yet."),
				 errhint("An exact ORDER BY over the column works at any dimension.")));
	/* sq8 codes of bit strings would quantize the bytes as numbers */
	if (s.quantized() && core::metric_on_bits(s.metric))
		ereport(ERROR, (errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
						errmsg("quantization = 'sq8' does not apply to bit strings"),
						errhint("A bit string is already one bit a dimension.")));
	/* Too wide to keep inline: the vectors go out of line, which every
	 * dims the type allows fits; the links alone must still fit a page. */
	set_layout(s);
	if (s.dims > vector_max_dim || MAXALIGN(element_size(s, 0)) > max_element_size)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("an hnsw element of %d dimensions with m = %d does not fit a page",
						s.input_dims, s.m),
				 s.quantized() ? errhint("With quantization = 'sq8' the codes are kept inline: "
										 "use fewer dimensions, a smaller m, or no quantization.")
							   : 0));
	return s;
}

} // namespace vecdb::hnsw

namespace vecdb::hnsw {

void
set_merging(Relation index, uint64 ref)
{
	Buffer buf = lock_meta_for_write(index);
	index::PageWrite w(index);
	MetaPage *meta = meta_of(w.add(buf));
	meta->merging_blkno = ref == 0 ? InvalidBlockNumber : ref_block(ref);
	meta->merging_offno = ref == 0 ? InvalidOffsetNumber : ref_offset(ref);
	w.finish();
	UnlockReleaseBuffer(buf);
}

Entry
read_entry(Relation index)
{
	Buffer buf = ReadBuffer(index, meta_blkno);
	LockBuffer(buf, BUFFER_LOCK_SHARE);
	MetaPage *meta = meta_of(BufferGetPage(buf));
	Entry e{meta->entry_level, ref_of(meta->entry_blkno, meta->entry_offno), meta->insert_blkno,
			meta->merging_blkno == InvalidBlockNumber
				? 0
				: ref_of(meta->merging_blkno, meta->merging_offno)};
	UnlockReleaseBuffer(buf);
	if (e.level > max_level || e.level < -1)
		ereport(ERROR,
				(errcode(ERRCODE_INDEX_CORRUPTED),
				 errmsg("index \"%s\" has a corrupted meta page", RelationGetRelationName(index))));
	return e;
}

} // namespace vecdb::hnsw

namespace vecdb::hnsw {

void
search_from_entry(PageGraph &g, core::hnsw::LayerSearch<uint64> &layer, const Entry &entry, int ef,
				  bool keep_spilled)
{
	core::hnsw::search_graph(g, layer, entry.ref, entry.level, static_cast<std::size_t>(ef),
							 g.shape().m, keep_spilled);
}

} // namespace vecdb::hnsw

namespace vecdb::hnsw {

bool
PageGraph::rewrite_links(Ref r, int level, const std::vector<Ref> &before,
						 const std::vector<Ref> &after)
{
	release();
	return hnsw::rewrite_links(index_, shape_, r, level, before, after);
}

bool
rewrite_links(Relation index, const Shape &s, uint64 ref, int level,
			  const std::vector<uint64> &before, const std::vector<uint64> &after)
{
	Buffer buf = ReadBuffer(index, ref_block(ref));
	LockBuffer(buf, BUFFER_LOCK_EXCLUSIVE);
	index::PageWrite w(index);
	Page page = w.add(buf);
	ElementTuple *e = element_at(page, ref_offset(ref), s);
	bool same = e != nullptr && level <= e->level && !(e->flags & element_free);
	int room = core::hnsw::max_links(s.m, level);
	ItemPointerData *links = same ? element_links(e, s, level) : nullptr;
	for (int i = 0; same && i < room; i++)
	{
		bool listed = i < static_cast<int>(before.size());
		if (ItemPointerIsValid(&links[i]) != listed || (listed && ref_of(links[i]) != before[i]))
			same = false;
	}
	if (!same)
	{
		w.abort();
		UnlockReleaseBuffer(buf);
		return false;
	}
	for (int i = 0; i < room; i++)
	{
		if (i < static_cast<int>(after.size()))
			ItemPointerSet(&links[i], ref_block(after[i]), ref_offset(after[i]));
		else
			ItemPointerSetInvalid(&links[i]);
	}
	w.finish();
	UnlockReleaseBuffer(buf);
	return true;
}

} // namespace vecdb::hnsw
