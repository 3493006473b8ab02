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

/* What a reader's pass over the chain came to. */
enum class Pass
{
	done,
	reused, /* a page was renumbered under it: read the meta page, go again */
};

/* A chain page blkno had a number other than the pass expected: Pass::reused
 * if a page has been (re)numbered since the pass read m, else ERROR. */
Pass renumbered(const Tier &t, const TierMeta &m, BlockNumber blkno);
/* A retired page with number seq stood in the chain of a pass: ERROR unless
 * the head has moved past it since. */
void check_retired_behind_head(const Tier &t, BlockNumber blkno, uint64 seq);

/*
 * One reader's pass (a scan's, stats') along the chain of m, the meta page
 * as read just before: visit(page) on each hot page, under its share lock.
 * Page numbers are what tell damage from a concurrent merge (tier.h): along
 * the chain they run head_seq, head_seq + 1, ..., and only an append
 * numbers a page, always with next_seq. So, besides a link out of the index
 * or into a page that is no tier page, it is damage
 *  - that a page has another number, if no page was numbered since m;
 *  - that a page is retired, if the head has not moved past it;
 *  - that the chain ends without passing m's tail: appends only add pages
 *    after it, and it leaves the chain only when renumbered;
 *  - that the meta page has a head without a tail, or a tail without one.
 * An append to such a chain would be lost to every scan.
 */
template <typename Visit>
Pass
walk_chain(const Tier &t, const TierMeta &m, Visit &&visit)
{
	if ((m.head == InvalidBlockNumber) != (m.tail == InvalidBlockNumber))
		damaged(t, meta_blkno, "the tier has a head or a tail, not both");
	BlockNumber nblocks = RelationGetNumberOfBlocks(t.index);
	BlockNumber blkno = m.head;
	bool passed_tail = false;
	for (uint64 seq = m.head_seq; blkno != InvalidBlockNumber; seq++)
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
		if (tier_page(page)->seq != seq)
		{
			UnlockReleaseBuffer(buf);
			return renumbered(t, m, blkno);
		}
		bool retired = is_retired(page);
		if (!retired)
			visit(page);
		passed_tail = passed_tail || blkno == m.tail;
		BlockNumber next = index::page_opaque(page)->next;
		UnlockReleaseBuffer(buf);
		if (retired)
			check_retired_behind_head(t, blkno, seq);
		blkno = next;
	}
	if (m.tail != InvalidBlockNumber && !passed_tail)
		damaged(t, m.tail, "the chain does not reach its tail");
	return Pass::done;
}

/*
 * A reader's whole read of the chain: walk_chain from the meta page as it
 * is now, reset(meta) before each pass, again when a page was reused under
 * it; ERROR when merges keep reusing pages under every pass.
 */
template <typename Reset, typename Visit>
void
read_chain(const Tier &t, Reset &&reset, Visit &&visit)
{
	for (int pass = 0;; pass++)
	{
		TierMeta m = read_meta(t);
		reset(m);
		if (walk_chain(t, m, visit) == Pass::done)
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
