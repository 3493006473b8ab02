/*
 * vacuum.cpp: VACUUM's pass over the hot pages: mark the items of dead
 * rows dead, so that no scan returns them and no merge hands them over.
 *
 * It holds the merge lock throughout. A merge that had copied an item
 * before VACUUM saw it dead would otherwise put the row into the cold
 * structure after VACUUM's cold pass had gone by, leaving an entry for a
 * TID that the heap may give to another row.
 */
#include "tier/pages.h"

extern "C" {
#include "commands/vacuum.h"
#include "storage/lmgr.h"
}

namespace vecdb::tier {

namespace {

/* Mark the dead items of one page; returns how many. */
int64
sweep_page(const Tier &t, Buffer buf, IndexBulkDeleteCallback callback, void *callback_state)
{
	Page page = BufferGetPage(buf);
	int count = item_count(page, t);
	GenericXLogState *state = nullptr;
	Page logged = nullptr;
	int64 dead = 0;
	for (int i = 0; i < count; i++)
	{
		Item *item = item_at(page, t, i);
		if ((item->flags & (item_merged | item_dead)) || !callback(&item->tid, callback_state))
			continue;
		if (state == nullptr)
		{
			state = GenericXLogStart(t.index);
			logged = GenericXLogRegisterBuffer(state, buf, 0);
		}
		item_at(logged, t, i)->flags |= item_dead;
		dead++;
	}
	if (state != nullptr)
		GenericXLogFinish(state);
	return dead;
}

} // namespace

int64
bulk_delete(const Tier &t, IndexBulkDeleteCallback callback, void *callback_state)
{
	lock_merges(t);
	/* Under the merge lock no page leaves the chain; appends only add
	 * pages after the tail, whose rows are newer than this VACUUM. */
	TierMeta m = read_meta(t);
	BlockNumber nblocks = RelationGetNumberOfBlocks(t.index);
	BlockNumber blkno = m.head;
	int64 dead = 0;
	for (BlockNumber pages = 0; blkno != InvalidBlockNumber; pages++)
	{
		vacuum_delay_point();
		if (!block_in_range(t, blkno) || pages > nblocks)
			damaged(t, blkno, "the chain leaves the index or loops");
		Buffer buf = ReadBuffer(t.index, blkno);
		LockBuffer(buf, BUFFER_LOCK_EXCLUSIVE);
		if (!page_is_sound(BufferGetPage(buf), t))
		{
			UnlockReleaseBuffer(buf);
			damaged(t, blkno, "a chain page is not a tier page");
		}
		dead += sweep_page(t, buf, callback, callback_state);
		blkno = index::page_opaque(BufferGetPage(buf))->next;
		UnlockReleaseBuffer(buf);
	}
	unlock_merges(t);
	return dead;
}

} // namespace vecdb::tier
