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
	if (ours && version != format_version)
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
	Shape s{static_cast<int>(meta->dims), meta->m, meta->ef_construction,
			static_cast<Metric>(meta->metric)};
	set_layout(s);
	UnlockReleaseBuffer(buf);
	if (s.dims < 1 || s.dims > vector_max_dim || s.m < min_m || s.m > max_m ||
		meta->metric > static_cast<uint8>(Metric::l1))
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

/*
 * The element at offno, checked before it is trusted: a damaged page gives
 * nullptr (and the caller an ERROR), never a read outside the page's items.
 */
ElementTuple *
element_at(Page page, OffsetNumber offno, const Shape &s)
{
	if (!page_is_sound(page, page_elements) || offno < FirstOffsetNumber ||
		offno > PageGetMaxOffsetNumber(page))
		return nullptr;
	ItemId id = PageGetItemId(page, offno);
	/* PageAddItem places every item MAXALIGN'd: an offset that is not is
	 * damage, and reading an element there would be a misaligned access */
	if (!ItemIdIsNormal(id) || ItemIdGetLength(id) < offsetof(ElementTuple, vector) ||
		ItemIdGetOffset(id) != MAXALIGN(ItemIdGetOffset(id)) ||
		ItemIdGetOffset(id) < reinterpret_cast<PageHeader>(page)->pd_upper ||
		ItemIdGetOffset(id) + ItemIdGetLength(id) > reinterpret_cast<PageHeader>(page)->pd_special)
		return nullptr;
	auto *e = reinterpret_cast<ElementTuple *>(PageGetItem(page, id));
	if (e->slot_level > max_level || e->level > e->slot_level ||
		e->heaptid_count > heaptids_per_element ||
		ItemIdGetLength(id) != element_size(s, e->slot_level) ||
		ItemIdGetOffset(id) + ItemIdGetLength(id) > BLCKSZ)
		return nullptr;
	return e;
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
update_meta(Relation index, int16 entry_level, BlockNumber entry_blkno, OffsetNumber entry_offno,
			BlockNumber insert_blkno)
{
	Buffer buf = lock_meta_for_write(index);
	index::PageWrite w(index);
	MetaPage *meta = meta_of(w.add(buf));
	if (entry_blkno != InvalidBlockNumber)
	{
		meta->entry_level = entry_level;
		meta->entry_blkno = entry_blkno;
		meta->entry_offno = entry_offno;
	}
	else if (entry_level < 0)
	{
		meta->entry_level = -1;
		meta->entry_blkno = InvalidBlockNumber;
		meta->entry_offno = InvalidOffsetNumber;
	}
	if (insert_blkno != InvalidBlockNumber)
		meta->insert_blkno = insert_blkno;
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

PageGraph::PageGraph(Relation index, const Shape &shape)
	: index_(index), shape_(shape), distance_(core::ranking_distance(shape.metric)), visited_()
{
	if (shape.external)
		scratch_.resize(shape.dims);
}

/* No buffer work here: it may run in an aborting transaction's memory
 * cleanup, after the resource owner has dropped the pins. */
PageGraph::~PageGraph() = default;

void
PageGraph::release()
{
	if (BufferIsValid(last_buffer_))
		ReleaseBuffer(last_buffer_);
	last_buffer_ = InvalidBuffer;
	last_blkno_ = InvalidBlockNumber;
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

bool
PageGraph::visit(Ref r)
{
	return visited_.visit(r);
}

/*
 * Where this backend last found index blocks in shared buffers. A search
 * reads a thousand or more blocks, each once or twice; ReadRecentBuffer
 * pins a remembered buffer after checking its tag, skipping the buffer
 * mapping table that ReadBuffer searches under a partition lock. A stale
 * or colliding entry only costs the fallback to ReadBuffer.
 */
namespace {

struct RecentBuffer
{
	Oid relnode;
	BlockNumber blkno;
	Buffer buffer;
};

constexpr uint32 recent_slots = 1 << 17;
RecentBuffer *recent_buffers = nullptr;

} // namespace

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
	release();
	if (recent_buffers == nullptr)
		recent_buffers = static_cast<RecentBuffer *>(
			MemoryContextAllocZero(TopMemoryContext, sizeof(RecentBuffer) * recent_slots));
	Oid relnode = index_->rd_node.relNode;
	RecentBuffer &slot = recent_buffers[(blkno ^ (relnode * 0x9e3779b1u)) % recent_slots];
	if (slot.relnode == relnode && slot.blkno == blkno && BufferIsValid(slot.buffer) &&
		ReadRecentBuffer(index_->rd_node, MAIN_FORKNUM, blkno, slot.buffer))
		last_buffer_ = slot.buffer;
	else
	{
		last_buffer_ = ReadBuffer(index_, blkno);
		slot = RecentBuffer{relnode, blkno, last_buffer_};
	}
	last_blkno_ = blkno;
	return last_buffer_;
}

/* The element at r, share-locked in *buf; an ERROR if r names none. */
ElementTuple *
PageGraph::lock_element(Ref r, Buffer *buf)
{
	*buf = pin(ref_block(r));
	if (!BufferIsValid(*buf))
		corrupted(index_, r);
	LockBuffer(*buf, BUFFER_LOCK_SHARE);
	ElementTuple *e = element_at(BufferGetPage(*buf), ref_offset(r), shape_);
	if (e == nullptr)
	{
		LockBuffer(*buf, BUFFER_LOCK_UNLOCK);
		corrupted(index_, r);
	}
	return e;
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
	return n;
}

/*
 * Start loading the memory an element's read will touch first: its buffer
 * descriptor and its line pointer. Only a hint, from where the block was
 * last seen: no pin, no lock.
 */
void
PageGraph::prefetch(Ref r)
{
	if (recent_buffers == nullptr)
		return;
	BlockNumber blkno = ref_block(r);
	Oid relnode = index_->rd_node.relNode;
	const RecentBuffer &slot = recent_buffers[(blkno ^ (relnode * 0x9e3779b1u)) % recent_slots];
	if (slot.relnode != relnode || slot.blkno != blkno || slot.buffer <= 0)
		return;
	__builtin_prefetch(GetBufferDescriptor(slot.buffer - 1));
	char *page = static_cast<char *>(BufferGetBlock(slot.buffer));
	__builtin_prefetch(page + SizeOfPageHeaderData + sizeof(ItemIdData) * (ref_offset(r) - 1));
}

void
PageGraph::distances(const Ref *refs, int n, float *out)
{
	for (int i = 0; i < n; i++)
	{
		if (i + 1 < n)
			prefetch(refs[i + 1]);
		out[i] = distance_to(refs[i]);
	}
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
	for (int i = 1; i < heaptids_per_element; i++)
		ItemPointerSetInvalid(&e->heaptids[i]);
	if (s.external)
	{
		Assert(chunk != nullptr);
		*element_chunk(e) = *chunk;
	}
	else
		memcpy(e->vector, vector, sizeof(float) * s.dims);
	ItemPointerData *links = element_links(e, s, 0);
	for (int i = 0; i < 2 * s.m + slot_level * s.m; i++)
		ItemPointerSetInvalid(&links[i]);
}

} // namespace vecdb::hnsw

namespace vecdb::hnsw {

Shape
new_shape(Relation index)
{
	Shape s{index_dims(index), default_m, default_ef_construction, index_metric(index)};
	if (index->rd_options)
	{
		auto *opts = reinterpret_cast<Options *>(index->rd_options);
		s.m = opts->m;
		s.ef_construction = opts->ef_construction;
	}
	if (s.ef_construction < 2 * s.m)
		ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						errmsg("ef_construction must be greater than or equal to 2 * m")));
	/* Too wide to keep inline: the vectors go out of line, which every
	 * dims the type allows fits; the links alone must still fit a page. */
	set_layout(s);
	if (s.dims > vector_max_dim || MAXALIGN(element_size(s, 0)) > max_element_size)
		ereport(ERROR, (errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
						errmsg("an hnsw element of %d dimensions with m = %d does not fit a page",
							   s.dims, s.m)));
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
