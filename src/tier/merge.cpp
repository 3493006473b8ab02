/*
 * merge.cpp: moving hot rows into the cold structure.
 *
 * A merge takes the index's merge lock, seals the tail (appends move to a
 * new, empty page, so the pages it merges get no more items), then, page by
 * page from the head: hands each hot item to the access method's cold
 * insert, and retires the page.
 *
 * Why a crash at any point loses no row and merges none twice. A row is on
 * the cold side exactly when the WAL record that put it there has been
 * replayed; that same record marks its item merged (MergeMark). So after
 * any crash, every item is either unmerged and absent from the cold
 * structure, or merged and present in it, never half of each. A merge that
 * starts after the crash hands over only unmerged items, and a scan reads
 * only unmerged items from the tier. Retiring a page is one more record
 * (meta page and the page), written only once every item on it is merged or
 * dead: before it, the page still answers for nothing that is not also in
 * the cold structure; after it, the page answers for nothing at all. A page
 * sealed but not yet merged stays in the chain and is merged next time.
 * What a crash can leave is work undone, never a row lost or doubled.
 */
#include "tier/pages.h"

extern "C" {
#include "storage/lmgr.h"
#include "utils/timestamp.h"
}

namespace vecdb::tier {

void
MergeMark::register_in(GenericXLogState *state)
{
	buffer = ReadBuffer(index, blkno);
	LockBuffer(buffer, BUFFER_LOCK_EXCLUSIVE);
	Page page = GenericXLogRegisterBuffer(state, buffer, 0);
	/* merge_page checked the page and item under the merge lock, which no
	 * one else changes items under; a mismatch now is a bug */
	if (!index::page_is_sound(page, index::page_opaque(page)->id, index::page_tier) ||
		items_begin(page) + (item + 1) * static_cast<Size>(tier_page(page)->item_size) >
			index::contents_end(page))
		elog(ERROR, "hot tier item %d of block %u of index \"%s\" vanished during a merge", item,
			 blkno, RelationGetRelationName(index));
	reinterpret_cast<Item *>(items_begin(page) +
							 item * static_cast<Size>(tier_page(page)->item_size))
		->flags |= item_merged;
}

void
finish_write(GenericXLogState *state, MergeMark *mark)
{
	if (mark != nullptr)
		mark->register_in(state);
	GenericXLogFinish(state);
	if (mark != nullptr)
		mark->release();
}

void
MergeMark::release()
{
	UnlockReleaseBuffer(buffer);
	buffer = InvalidBuffer;
}

namespace {

/* Seal the tail if it holds any item; false if there was nothing to seal. */
bool
seal(const Tier &t)
{
	Buffer metabuf = lock_meta(t);
	Buffer tailbuf = lock_tail(t, metabuf);
	bool sealed = BufferIsValid(tailbuf) && item_count(BufferGetPage(tailbuf), t) > 0;
	if (sealed)
		add_tail_page(t, metabuf, tailbuf, nullptr, nullptr);
	if (BufferIsValid(tailbuf))
		UnlockReleaseBuffer(tailbuf);
	UnlockReleaseBuffer(metabuf);
	return sealed;
}

/* Hand the hot items of the sealed head page of m to the cold insert;
 * returns how many. The items are copied out first: the cold insert locks
 * pages of its own, and then this one, inside its record. */
int64
merge_page(const Tier &t, const TierMeta &m, ColdInsert insert, void *arg)
{
	BlockNumber blkno = m.head;
	Buffer buf = ReadBuffer(t.index, blkno);
	LockBuffer(buf, BUFFER_LOCK_SHARE);
	Page page = BufferGetPage(buf);
	if (!page_is_sound(page, t) || is_retired(page))
	{
		UnlockReleaseBuffer(buf);
		damaged(t, blkno, "a chain page is not a hot tier page");
	}
	/* under the merge lock no page is renumbered: another number is a
	 * link to the wrong page, and merging on from it would leave the
	 * pages skipped out of the chain, their rows lost */
	if (tier_page(page)->seq != m.head_seq)
	{
		UnlockReleaseBuffer(buf);
		damaged(t, blkno, "a chain page has a number the chain does not expect");
	}
	int count = item_count(page, t);
	Size bytes = count * item_size(t.dims);
	char *items = static_cast<char *>(palloc(Max(bytes, 1)));
	memcpy(items, items_begin(page), bytes);
	UnlockReleaseBuffer(buf);

	int64 merged = 0;
	for (int i = 0; i < count; i++)
	{
		CHECK_FOR_INTERRUPTS();
		auto *item = reinterpret_cast<Item *>(items + i * item_size(t.dims));
		if (item->flags & (item_merged | item_dead))
			continue;
		MergeMark mark{t.index, blkno, i, InvalidBuffer};
		insert(arg, item->vector, &item->tid, &mark);
		if (BufferIsValid(mark.buffer))
			elog(ERROR, "a cold insert of index \"%s\" kept its merge mark",
				 RelationGetRelationName(t.index));
		merged++;
	}
	pfree(items);
	return merged;
}

/* Take the sealed, merged head page off the chain onto the free stack. */
void
retire(const Tier &t, BlockNumber blkno)
{
	Buffer metabuf = lock_meta(t);
	Page metapage = BufferGetPage(metabuf);
	if (meta_in(metapage, t)->head != blkno || meta_in(metapage, t)->tail == blkno)
	{
		UnlockReleaseBuffer(metabuf);
		damaged(t, blkno, "the head moved during a merge");
	}
	Buffer buf = ReadBuffer(t.index, blkno);
	LockBuffer(buf, BUFFER_LOCK_EXCLUSIVE);
	Page page = BufferGetPage(buf);
	/* the head is not the tail: a page without a successor would leave
	 * the tail, and the rows appended to it, out of the chain */
	if (index::page_opaque(page)->next == InvalidBlockNumber)
	{
		UnlockReleaseBuffer(buf);
		UnlockReleaseBuffer(metabuf);
		damaged(t, blkno, "the chain does not reach its tail");
	}
	int count = page_is_sound(page, t) ? item_count(page, t) : -1;
	int merged = 0;
	for (int i = 0; i < count; i++)
	{
		uint8 flags = item_at(page, t, i)->flags;
		if (!(flags & (item_merged | item_dead)))
			count = -1;
		else if (flags & item_merged)
			merged++;
	}
	if (count < 0)
	{
		UnlockReleaseBuffer(buf);
		UnlockReleaseBuffer(metabuf);
		elog(ERROR, "hot tier page %u of index \"%s\" still holds hot rows after its merge", blkno,
			 RelationGetRelationName(t.index));
	}

	GenericXLogState *state = GenericXLogStart(t.index);
	TierMeta *m = meta_in(GenericXLogRegisterBuffer(state, metabuf, 0), t);
	page = GenericXLogRegisterBuffer(state, buf, 0);
	m->head = index::page_opaque(page)->next;
	m->head_seq++;
	m->pages--;
	m->rows -= count;
	m->merged += merged;
	m->last_merge = GetCurrentTimestamp();
	/* the next link and the number stay: a scan standing on the page
	 * follows the chain on */
	index::page_opaque(page)->flags |= page_retired;
	tier_page(page)->free_next = m->free_head;
	m->free_head = blkno;
	GenericXLogFinish(state);
	UnlockReleaseBuffer(buf);
	UnlockReleaseBuffer(metabuf);
}

} // namespace

bool
lock_merges(const Tier &t, bool only_if_free)
{
	if (only_if_free)
		return ConditionalLockPage(t.index, merge_lock, ExclusiveLock);
	LockPage(t.index, merge_lock, ExclusiveLock);
	return true;
}

void
unlock_merges(const Tier &t)
{
	UnlockPage(t.index, merge_lock, ExclusiveLock);
}

MergeGoal
back_pressure_goal()
{
	/* a batch down from the cap; those who waited for it find the tier
	 * below that and go on */
	return {batch_rows(), false, hot_tier_max_rows - batch_rows()};
}

int64
merge(const Tier &t, const MergeGoal &goal, ColdInsert insert, void *arg)
{
	int64 max_rows = goal.max_rows;
	if (!lock_merges(t, goal.only_if_free))
		return -1;

	/* "all" is what the tier holds now: rows appended meanwhile may keep
	 * coming, and the merge must end */
	if (max_rows < 0)
		max_rows = Max(read_meta(t).rows, 1);
	int64 merged = 0;
	BlockNumber nblocks = RelationGetNumberOfBlocks(t.index);
	for (BlockNumber pages = 0; merged < max_rows; pages++)
	{
		CHECK_FOR_INTERRUPTS();
		TierMeta m = read_meta(t);
		if ((m.head == InvalidBlockNumber) != (m.tail == InvalidBlockNumber))
			damaged(t, meta_blkno, "the tier has a head or a tail, not both");
		if (m.head == InvalidBlockNumber || (goal.stop_at_rows >= 0 && m.rows <= goal.stop_at_rows))
			break;
		if (m.head == m.tail)
		{
			if (!seal(t))
				break;
			continue;
		}
		/* every page merged was in the chain when the merge began, or
		 * sealed by it: a longer walk is a loop */
		if (!block_in_range(t, m.head) || pages > nblocks + 1)
			damaged(t, m.head, "the chain leaves the index or loops");
		merged += merge_page(t, m, insert, arg);
		retire(t, m.head);
	}
	unlock_merges(t);
	return merged;
}

} // namespace vecdb::tier
