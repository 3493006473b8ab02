/*
 * vectors.cpp: the vectors of an out-of-line hnsw index (hnsw.h, at the
 * top), as chains of chunks on vector pages: writing one, overwriting one
 * in place when a freed slot is reused, and reading one as hostile data.
 */
#include "hnsw/hnsw.h"
#include "index/page_write.h"

extern "C" {
#include "storage/lmgr.h"
}

namespace vecdb::hnsw {

namespace {

/* This backend's last vector page, where the next vector's chunks start
 * if they fit: a hint only, checked before it is used. */
struct VectorHint
{
	Oid relnode = InvalidOid;
	BlockNumber blkno = InvalidBlockNumber;
};
VectorHint vector_hint;

/* The hint page locked exclusively, if it is a sound vector page with room
 * for at least min_floats; InvalidBuffer if not. */
Buffer
lock_hint_page(Relation index, int min_floats)
{
	if (vector_hint.relnode != index->rd_node.relNode || vector_hint.blkno == InvalidBlockNumber ||
		vector_hint.blkno == meta_blkno || vector_hint.blkno >= RelationGetNumberOfBlocks(index))
		return InvalidBuffer;
	Buffer buf = ReadBuffer(index, vector_hint.blkno);
	LockBuffer(buf, BUFFER_LOCK_EXCLUSIVE);
	Page page = BufferGetPage(buf);
	if (page_is_sound(page, page_vectors) && chunk_floats_fitting(page) >= min_floats)
		return buf;
	UnlockReleaseBuffer(buf);
	vector_hint.blkno = InvalidBlockNumber;
	return InvalidBuffer;
}

Buffer
new_page(Relation index)
{
	LockRelationForExtension(index, ExclusiveLock);
	Buffer buf = ReadBuffer(index, P_NEW);
	LockBuffer(buf, BUFFER_LOCK_EXCLUSIVE);
	UnlockRelationForExtension(index, ExclusiveLock);
	return buf;
}

/* The chunk at tid, on page (locked), checked; nullptr and *problem if
 * it is damaged. */
VectorChunk *
chunk_at(Page page, OffsetNumber offno, const char **problem)
{
	if (!page_is_sound(page, page_vectors))
	{
		*problem = "chunk is not on a vector page";
		return nullptr;
	}
	if (offno < FirstOffsetNumber || offno > PageGetMaxOffsetNumber(page))
	{
		*problem = "chunk is not an item of its page";
		return nullptr;
	}
	ItemId id = PageGetItemId(page, offno);
	PageHeader h = reinterpret_cast<PageHeader>(page);
	if (!ItemIdIsNormal(id) || ItemIdGetOffset(id) != MAXALIGN(ItemIdGetOffset(id)) ||
		ItemIdGetOffset(id) < h->pd_upper ||
		ItemIdGetOffset(id) + ItemIdGetLength(id) > h->pd_special ||
		ItemIdGetLength(id) < chunk_size(1))
	{
		*problem = "chunk is damaged";
		return nullptr;
	}
	auto *c = reinterpret_cast<VectorChunk *>(PageGetItem(page, id));
	if (c->count < 1 || ItemIdGetLength(id) != chunk_size(c->count))
	{
		*problem = "chunk has a wrong float count";
		return nullptr;
	}
	return c;
}

/* Walk the chain at first; copy its floats into out (if not null) or
 * from in (if not null, the pages locked exclusively and WAL-logged). */
const char *
walk(Relation index, const Shape &s, ItemPointerData first, float *out, const float *in,
	 ItemPointerData *where, core::VisitedHash *seen)
{
	BlockNumber nblocks = RelationGetNumberOfBlocks(index);
	ItemPointerData tid = first;
	int got = 0;
	while (true)
	{
		CHECK_FOR_INTERRUPTS();
		*where = tid;
		if (!ItemPointerIsValid(&tid))
			return got == 0 ? "element names no vector chunk"
							: "chunk chain ends before the vector's last float";
		BlockNumber blkno = ItemPointerGetBlockNumberNoCheck(&tid);
		if (blkno == meta_blkno || blkno >= nblocks)
			return "chunk address is outside the index";
		if (seen != nullptr && !pg::guarded([&] { return seen->visit(ref_of(tid)); }))
			return "chunk belongs to another chain too, or its chain loops";
		Buffer buf = ReadBuffer(index, blkno);
		LockBuffer(buf, in != nullptr ? BUFFER_LOCK_EXCLUSIVE : BUFFER_LOCK_SHARE);
		const char *problem = nullptr;
		VectorChunk *c =
			chunk_at(BufferGetPage(buf), ItemPointerGetOffsetNumberNoCheck(&tid), &problem);
		if (c != nullptr && got + c->count > s.dims)
			problem = "chunk chain holds more floats than the vector";
		if (problem != nullptr)
		{
			UnlockReleaseBuffer(buf);
			return problem;
		}
		int count = c->count;
		ItemPointerData next = c->next;
		if (out != nullptr)
			memcpy(out + got, c->values, sizeof(float) * count);
		if (in != nullptr)
		{
			index::PageWrite w(index);
			Page page = w.add(buf);
			/* the same chunk on the write's copy of the page */
			c = reinterpret_cast<VectorChunk *>(
				PageGetItem(page, PageGetItemId(page, ItemPointerGetOffsetNumberNoCheck(&tid))));
			memcpy(c->values, in + got, sizeof(float) * count);
			w.finish();
		}
		UnlockReleaseBuffer(buf);
		got += count;
		if (got == s.dims)
		{
			*where = tid;
			return ItemPointerIsValid(&next) ? "chunk chain goes on past the vector's last float"
											 : nullptr;
		}
		tid = next;
	}
}

void
damaged_chunk(Relation index, const ItemPointerData &where, const char *problem)
{
	ereport(ERROR, (errcode(ERRCODE_INDEX_CORRUPTED),
					errmsg("index \"%s\" has a damaged vector chunk at (%u,%u): %s",
						   RelationGetRelationName(index), ItemPointerGetBlockNumberNoCheck(&where),
						   ItemPointerGetOffsetNumberNoCheck(&where), problem),
					errhint("Run vecdb_index_check('%s'), then REINDEX it.",
							RelationGetRelationName(index))));
}

} // namespace

/*
 * Written from the vector's end backwards, so that each chunk names one
 * already written; one page, one record at a time. The first page tried
 * is the last one this backend wrote chunks to.
 */
ItemPointerData
write_vector(Relation index, const Shape &s, const float *v)
{
	Assert(s.external);
	ItemPointerData next;
	ItemPointerSetInvalid(&next);
	auto *c = static_cast<VectorChunk *>(palloc(max_element_size));
	int left = s.dims;
	while (left > 0)
	{
		CHECK_FOR_INTERRUPTS();
		Buffer buf = lock_hint_page(index, Min(left, chunk_min_floats));
		bool fresh = !BufferIsValid(buf);
		if (fresh)
			buf = new_page(index);
		index::PageWrite w(index);
		Page page = w.add(buf, fresh);
		if (fresh)
			init_page(page, page_vectors);
		int k = Min(left, chunk_floats_fitting(page));
		c->next = next;
		c->count = static_cast<uint16>(k);
		memcpy(c->values, v + left - k, sizeof(float) * k);
		OffsetNumber off = PageAddItem(page, reinterpret_cast<Item>(c), chunk_size(k),
									   InvalidOffsetNumber, false, false);
		if (off == InvalidOffsetNumber)
		{
			w.abort();
			elog(ERROR, "hnsw vector chunk of %d floats does not fit its page", k);
		}
		w.finish();
		BlockNumber blkno = BufferGetBlockNumber(buf);
		UnlockReleaseBuffer(buf);
		ItemPointerSet(&next, blkno, off);
		vector_hint = VectorHint{index->rd_node.relNode, blkno};
		left -= k;
	}
	pfree(c);
	return next;
}

void
rewrite_vector(Relation index, const Shape &s, ItemPointerData first, const float *v)
{
	ItemPointerData where;
	const char *problem = walk(index, s, first, nullptr, v, &where, nullptr);
	if (problem != nullptr)
		damaged_chunk(index, where, problem);
}

const float *
load_vector(Relation index, const Shape &s, ItemPointerData first, float *out)
{
	ItemPointerData where;
	const char *problem = walk(index, s, first, out, nullptr, &where, nullptr);
	if (problem != nullptr)
		damaged_chunk(index, where, problem);
	return out;
}

const char *
walk_vector(Relation index, const Shape &s, ItemPointerData first, float *out,
			ItemPointerData *where, core::VisitedHash *seen)
{
	return walk(index, s, first, out, nullptr, where, seen);
}

bool
copy_element_vector(Relation index, const Shape &s, uint64 ref, float *out, int *level)
{
	if (ref_block(ref) == meta_blkno || ref_block(ref) >= RelationGetNumberOfBlocks(index))
		return false;
	Buffer buf = ReadBuffer(index, ref_block(ref));
	LockBuffer(buf, BUFFER_LOCK_SHARE);
	ElementTuple *e = element_at(BufferGetPage(buf), ref_offset(ref), s);
	bool live = e != nullptr && !(e->flags & (element_deleted | element_free));
	ItemPointerData first;
	ItemPointerSetInvalid(&first);
	if (live)
	{
		*level = e->level;
		if (s.external)
			first = *element_chunk(e);
		else if (s.quantized())
			core::sq8_decode(*element_code(e), element_codes(e), s.dims, out);
		else
			memcpy(out, e->vector, sizeof(float) * s.dims);
	}
	UnlockReleaseBuffer(buf);
	if (live && s.external)
		load_vector(index, s, first, out);
	return live;
}

} // namespace vecdb::hnsw
