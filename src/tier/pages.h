/*
 * pages.h: src/tier's own page helpers, shared by its files: reading the
 * meta page's TierMeta, checking a tier page, addressing its items.
 */
#pragma once

#include "tier/tier.h"

namespace vecdb::tier {

/* The heavyweight lock one merge of an index holds (tier.h); a block
 * number no page has, so that it shares no tag with a page lock taken by
 * an access method (hnsw takes its meta page's). */
constexpr BlockNumber merge_lock = InvalidBlockNumber - 1;

constexpr BlockNumber meta_blkno = 0;

/* How often a reader starts its pass over the chain again, when merges
 * keep reusing its pages under it, before it gives up. */
constexpr int max_restarts = 1000;

[[noreturn]] void damaged(const Tier &t, BlockNumber blkno, const char *what);

inline TierMeta *
meta_in(Page page, const Tier &t)
{
	return reinterpret_cast<TierMeta *>(PageGetContents(page) + t.meta_offset);
}

/* The meta page of t's access method, and it covers a TierMeta. */
bool meta_page_is_sound(Page page, const Tier &t);

inline TierPage *
tier_page(Page page)
{
	return reinterpret_cast<TierPage *>(PageGetContents(page));
}

inline char *
items_begin(Page page)
{
	return PageGetContents(page) + items_offset;
}

/* A tier page of t (hot or retired) whose items can be addressed. */
bool page_is_sound(Page page, const Tier &t);

/* Its items: 0 unless page_is_sound. */
inline int
item_count(Page page, const Tier &t)
{
	return static_cast<int>((index::contents_end(page) - items_begin(page)) / item_size(t.dims));
}

inline Item *
item_at(Page page, const Tier &t, int i)
{
	return reinterpret_cast<Item *>(items_begin(page) + static_cast<Size>(i) * item_size(t.dims));
}

inline bool
is_retired(Page page)
{
	return (index::page_opaque(page)->flags & page_retired) != 0;
}

/* A block number that may name a tier page of the index: not the meta
 * page, not past its end. */
inline bool
block_in_range(const Tier &t, BlockNumber blkno)
{
	return blkno != meta_blkno && blkno != InvalidBlockNumber &&
		   blkno < RelationGetNumberOfBlocks(t.index);
}

/*
 * A reader's pass over the chain (tier.h says why it needs no lock against
 * merges): from the meta page's head, each page under its share lock in
 * turn, on_page(page) for each that is not retired. When a page turns out
 * reused under the pass, it starts again: reset(meta) first each time.
 * ERROR on a damaged chain, or when merges keep reusing pages under it.
 */
template <typename Reset, typename OnPage>
void
read_chain(const Tier &t, Reset &&reset, OnPage &&on_page)
{
	for (int pass = 0;; pass++)
	{
		TierMeta m = read_meta(t);
		reset(m);
		BlockNumber nblocks = RelationGetNumberOfBlocks(t.index);
		BlockNumber blkno = m.head;
		bool reused = false;
		for (uint64 seq = m.head_seq; blkno != InvalidBlockNumber && !reused; seq++)
		{
			CHECK_FOR_INTERRUPTS();
			if (!block_in_range(t, blkno) || seq - m.head_seq > nblocks)
				damaged(t, blkno, "the chain leaves the index or loops");
			Buffer buf = ReadBuffer(t.index, blkno);
			LockBuffer(buf, BUFFER_LOCK_SHARE);
			Page page = BufferGetPage(buf);
			if (!page_is_sound(page, t))
			{
				UnlockReleaseBuffer(buf);
				damaged(t, blkno, "a chain page is not a tier page");
			}
			reused = tier_page(page)->seq != seq;
			if (!reused && !is_retired(page))
				on_page(page);
			blkno = index::page_opaque(page)->next;
			UnlockReleaseBuffer(buf);
		}
		if (!reused)
			return;
		if (pass >= max_restarts)
			ereport(ERROR, (errcode(ERRCODE_T_R_SERIALIZATION_FAILURE),
							errmsg("the hot tier of index \"%s\" changed under every read of it",
								   RelationGetRelationName(t.index))));
	}
}

/* The meta page, locked exclusively and checked (tier.cpp). */
Buffer lock_meta(const Tier &t);
/* The tail page, locked exclusively and checked; InvalidBuffer if the chain
 * has none. The caller holds metabuf exclusively. */
Buffer lock_tail(const Tier &t, Buffer metabuf);
/* Give the chain a new tail page, with tid's item on it if tid is given;
 * under metabuf and tailbuf's exclusive locks. */
void add_tail_page(const Tier &t, Buffer metabuf, Buffer tailbuf, ItemPointer tid,
				   const float *vector);

} // namespace vecdb::tier
