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

/* One item of a chain page. */
void
check_item(const Tier &t, const Item *item, BlockNumber blkno, int i, pg::CheckReport &r,
		   core::VisitedHash &indexed)
{
	if (item->flags & ~(item_merged | item_dead))
	{
		pg::report(r, blkno, i + 1, "hot tier item has unknown flags 0x%x", item->flags);
		return;
	}
	if (item->flags & (item_merged | item_dead))
		return;
	if (!ItemPointerIsValid(&item->tid) ||
		ItemPointerGetBlockNumberNoCheck(&item->tid) == InvalidBlockNumber)
		pg::report(r, blkno, i + 1, "hot tier item has an invalid heap TID");
	else if (!pg::guarded([&] { return indexed.visit(heaptid_key(item->tid)); }))
		pg::report(r, blkno, i + 1, "hot row (%u,%u) is also in the cold structure or hot twice",
				   ItemPointerGetBlockNumber(&item->tid), ItemPointerGetOffsetNumber(&item->tid));
	/* no INSERT stores one: a merge would carry it into the cold side */
	for (int d = 0; !t.packed && d < t.dims; d++)
		if (!std::isfinite(item->vector[d]))
		{
			pg::report(r, blkno, i + 1, "hot tier item's vector holds a non-finite value");
			break;
		}
}

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
			rows++;
			check_item(t, item_at(page, t, i), blkno, i, r, indexed);
		}
		at_tail = blkno == m.tail;
		/* the tail is the newest page: numbered next_seq - 1 */
		if (sound && at_tail && tier_page(page)->seq + 1 != m.next_seq)
			pg::report(r, meta_blkno, InvalidOffsetNumber,
					   "hot tier meta page's next page number %llu does not follow its tail's %llu",
					   static_cast<unsigned long long>(m.next_seq),
					   static_cast<unsigned long long>(tier_page(page)->seq));
		blkno = index::page_opaque(page)->next;
		UnlockReleaseBuffer(buf);
		if (!sound)
			return false;
	}
	/* a tail with a successor: an append since m (the meta page then
	 * names that one), or damage that a scan would follow. The meta page
	 * is read with the tail page unlocked, as appends lock them in that
	 * order. */
	if (at_tail && blkno != InvalidBlockNumber && read_meta(t).tail == m.tail)
		pg::report(r, m.tail, InvalidOffsetNumber, "hot tier tail has a next page, block %u",
				   blkno);
	if (!at_tail && m.tail != InvalidBlockNumber)
		pg::report(r, m.tail, InvalidOffsetNumber, "hot tier chain does not reach its tail");
	else if (pages != m.pages)
		pg::report(r, meta_blkno, InvalidOffsetNumber,
				   "hot tier meta page counts %u pages, the chain has %u", m.pages, pages);
	/* appends after the meta page was read add rows (and count them), so
	 * the chain may hold more than m says only if the count has moved */
	else if (rows < m.rows || (rows > m.rows && read_meta(t).rows == m.rows))
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
		 * lock): the stack changed, it is not damaged. Such a page was
		 * numbered since m; a hot page numbered before is damage (an
		 * append would take it for a free one). */
		bool reused =
			page_is_sound(page, t) && !is_retired(page) && tier_page(page)->seq >= m.next_seq;
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
