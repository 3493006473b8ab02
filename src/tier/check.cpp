/*
 * check.cpp: vecdb_index_check of the hot tier. Its caller holds the merge
 * lock, so that the chain it walks only grows at its tail meanwhile.
 */
#include "tier/pages.h"

extern "C" {
#include "storage/lmgr.h"
}

namespace vecdb::tier {

namespace {

/* The chain from head; false if it ended at damage. */
bool
check_chain(const Tier &t, const TierMeta &m, pg::CheckReport &r, core::VisitedHash &indexed)
{
	BlockNumber nblocks = RelationGetNumberOfBlocks(t.index);
	BlockNumber blkno = m.head;
	uint32 pages = 0;
	int64 rows = 0;
	bool at_tail = false;
	for (uint64 seq = m.head_seq; blkno != InvalidBlockNumber && !at_tail; seq++, pages++)
	{
		CHECK_FOR_INTERRUPTS();
		if (!block_in_range(t, blkno) || pages > nblocks)
		{
			pg::report(r, blkno, InvalidOffsetNumber, "hot tier chain leaves the index or loops");
			return false;
		}
		Buffer buf = ReadBuffer(t.index, blkno);
		LockBuffer(buf, BUFFER_LOCK_SHARE);
		Page page = BufferGetPage(buf);
		bool sound = page_is_sound(page, t) && !is_retired(page);
		if (!sound)
			pg::report(r, blkno, InvalidOffsetNumber, "hot tier chain page is not a hot tier page");
		else if (tier_page(page)->seq != seq)
		{
			pg::report(r, blkno, InvalidOffsetNumber,
					   "hot tier page has number %llu where the chain expects %llu",
					   static_cast<unsigned long long>(tier_page(page)->seq),
					   static_cast<unsigned long long>(seq));
			sound = false;
		}
		for (int i = 0; sound && i < item_count(page, t); i++)
		{
			const Item *item = item_at(page, t, i);
			rows++;
			if (item->flags & ~(item_merged | item_dead))
				pg::report(r, blkno, i + 1, "hot tier item has unknown flags 0x%x", item->flags);
			else if (item->flags & (item_merged | item_dead))
				continue;
			else if (!ItemPointerIsValid(&item->tid) ||
					 ItemPointerGetBlockNumberNoCheck(&item->tid) == InvalidBlockNumber)
				pg::report(r, blkno, i + 1, "hot tier item has an invalid heap TID");
			else if (!pg::guarded([&] { return indexed.visit(heaptid_key(item->tid)); }))
				pg::report(
					r, blkno, i + 1, "hot row (%u,%u) is also in the cold structure or hot twice",
					ItemPointerGetBlockNumber(&item->tid), ItemPointerGetOffsetNumber(&item->tid));
		}
		at_tail = blkno == m.tail;
		blkno = index::page_opaque(page)->next;
		UnlockReleaseBuffer(buf);
		if (!sound)
			return false;
	}
	if (!at_tail && m.tail != InvalidBlockNumber)
		pg::report(r, m.tail, InvalidOffsetNumber, "hot tier chain does not reach its tail");
	else if (pages != m.pages)
		pg::report(r, meta_blkno, InvalidOffsetNumber,
				   "hot tier meta page counts %u pages, the chain has %u", m.pages, pages);
	/* appends after the meta page was read add rows, never remove them */
	else if (rows < m.rows)
		pg::report(r, meta_blkno, InvalidOffsetNumber,
				   "hot tier meta page counts %lld rows, the chain holds %lld",
				   static_cast<long long>(m.rows), static_cast<long long>(rows));
	return true;
}

void
check_free_stack(const Tier &t, const TierMeta &m, pg::CheckReport &r)
{
	BlockNumber nblocks = RelationGetNumberOfBlocks(t.index);
	BlockNumber blkno = m.free_head;
	for (BlockNumber pages = 0; blkno != InvalidBlockNumber; pages++)
	{
		CHECK_FOR_INTERRUPTS();
		if (!block_in_range(t, blkno) || pages > nblocks)
		{
			pg::report(r, blkno, InvalidOffsetNumber,
					   "hot tier free stack leaves the index or loops");
			return;
		}
		Buffer buf = ReadBuffer(t.index, blkno);
		LockBuffer(buf, BUFFER_LOCK_SHARE);
		Page page = BufferGetPage(buf);
		bool sound = page_is_sound(page, t) && is_retired(page);
		/* an insert may take the top page meanwhile (it needs no merge
		 * lock): the stack changed, it is not damaged */
		bool reused = page_is_sound(page, t) && !is_retired(page);
		BlockNumber next = sound ? tier_page(page)->free_next : InvalidBlockNumber;
		UnlockReleaseBuffer(buf);
		if (reused)
			return;
		if (!sound)
		{
			pg::report(r, blkno, InvalidOffsetNumber,
					   "hot tier free stack page is not a retired tier page");
			return;
		}
		blkno = next;
	}
}

} // namespace

void
lock_merges(const Tier &t)
{
	LockPage(t.index, merge_lock, ExclusiveLock);
}

void
unlock_merges(const Tier &t)
{
	UnlockPage(t.index, merge_lock, ExclusiveLock);
}

void
check(const Tier &t, pg::CheckReport &r, core::VisitedHash &indexed)
{
	Buffer buf = ReadBuffer(t.index, meta_blkno);
	LockBuffer(buf, BUFFER_LOCK_SHARE);
	bool sound = meta_page_is_sound(BufferGetPage(buf), t);
	TierMeta m{};
	if (sound)
		m = *meta_in(BufferGetPage(buf), t);
	UnlockReleaseBuffer(buf);
	if (!sound)
		pg::report(r, meta_blkno, InvalidOffsetNumber,
				   "meta page does not hold the hot tier's state");
	else if ((m.head == InvalidBlockNumber) != (m.tail == InvalidBlockNumber))
		pg::report(r, meta_blkno, InvalidOffsetNumber, "hot tier has a head or a tail, not both");
	else
	{
		check_chain(t, m, r, indexed);
		check_free_stack(t, m, r);
	}
}

} // namespace vecdb::tier
