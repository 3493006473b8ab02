/*
 * insert.cpp: INSERT into an ivfpq index: the row's entry is appended to
 * the tail page of its nearest list.
 *
 * Locks: an append that fits takes the tail page's lock alone. One that
 * needs a new page takes the list's directory page, then the tail, then the
 * new page, always in that order; scans and VACUUM lock one page at a time.
 * So nothing waits in a cycle.
 */
#include "ivfpq/ivfpq.h"

extern "C" {
#include "storage/lmgr.h"
#include "utils/memutils.h"
}

namespace vecdb::ivfpq {

namespace {

void
damaged_list(Relation index, int list, BlockNumber blkno)
{
	ereport(ERROR, (errcode(ERRCODE_INDEX_CORRUPTED),
					errmsg("index \"%s\" has a damaged page %u in list %d",
						   RelationGetRelationName(index), blkno, list),
					errhint("Run vecdb_index_check('%s'), then REINDEX it.",
							RelationGetRelationName(index))));
}

BlockNumber
read_tail(Relation index, const Model &model, int list)
{
	Buffer buf = ReadBuffer(index, directory_block(model, list));
	LockBuffer(buf, BUFFER_LOCK_SHARE);
	Page page = BufferGetPage(buf);
	BlockNumber tail =
		page_is_sound(page, page_directory) ? list_head(page, list)->tail : InvalidBlockNumber - 1;
	UnlockReleaseBuffer(buf);
	if (tail == InvalidBlockNumber - 1)
		damaged_list(index, list, directory_block(model, list));
	return tail;
}

/* Append entry to a locked list page that has room. */
void
append_to(Relation index, Buffer buf, const char *entry, Size size, tier::MergeMark *mark)
{
	ensure_room(index, BufferGetPage(buf), BufferGetBlockNumber(buf), size);
	GenericXLogState *state = GenericXLogStart(index);
	Page page = GenericXLogRegisterBuffer(state, buf, 0);
	memcpy(contents_end(page), entry, size);
	set_contents_end(page, contents_end(page) + size);
	tier::finish_write(state, mark);
}

/*
 * Append to the list's last page if it has room; false if it has none (or
 * the list has no page yet). Follows next links that a concurrent insert
 * added after the directory was read: such a page may lie past the
 * relation's size as first read, so a link beyond it reads the size again
 * before calling the list damaged.
 */
bool
append_if_room(Relation index, const Model &model, int list, BlockNumber blkno, const char *entry,
			   tier::MergeMark *mark)
{
	const Size size = model.shape.entry_size();
	BlockNumber nblocks = RelationGetNumberOfBlocks(index);
	/* a damaged chain could loop: a list has no more pages than the index */
	for (BlockNumber pages = 0; blkno != InvalidBlockNumber; pages++)
	{
		if (blkno >= nblocks || pages >= nblocks)
			nblocks = RelationGetNumberOfBlocks(index);
		if (blkno >= nblocks || pages >= nblocks)
			damaged_list(index, list, blkno);
		Buffer buf = ReadBuffer(index, blkno);
		LockBuffer(buf, BUFFER_LOCK_EXCLUSIVE);
		Page page = BufferGetPage(buf);
		if (!page_is_sound(page, page_list))
		{
			UnlockReleaseBuffer(buf);
			damaged_list(index, list, blkno);
		}
		BlockNumber next = page_opaque(page)->next;
		if (next == InvalidBlockNumber)
		{
			bool room = static_cast<Size>(PageGetExactFreeSpace(page)) >= size;
			if (room)
				append_to(index, buf, entry, size, mark);
			UnlockReleaseBuffer(buf);
			return room;
		}
		UnlockReleaseBuffer(buf);
		blkno = next;
	}
	return false;
}

/*
 * Append to the list's tail under the directory page's lock, giving it a
 * new page if it is full; with that lock held no other insert moves the
 * tail, so the directory's tail is the chain's last page, or the list is
 * damaged.
 */
void
append_page(Relation index, const Model &model, int list, const char *entry, tier::MergeMark *mark)
{
	const Size size = model.shape.entry_size();
	BlockNumber dirblk = directory_block(model, list);
	Buffer dirbuf = ReadBuffer(index, dirblk);
	LockBuffer(dirbuf, BUFFER_LOCK_EXCLUSIVE);
	Page dirpage = BufferGetPage(dirbuf);
	if (!page_is_sound(dirpage, page_directory))
	{
		UnlockReleaseBuffer(dirbuf);
		damaged_list(index, list, dirblk);
	}
	BlockNumber tail = list_head(dirpage, list)->tail;
	Buffer tailbuf = InvalidBuffer;
	if (tail != InvalidBlockNumber)
	{
		if (tail >= RelationGetNumberOfBlocks(index) || tail == meta_blkno)
		{
			UnlockReleaseBuffer(dirbuf);
			damaged_list(index, list, tail);
		}
		tailbuf = ReadBuffer(index, tail);
		LockBuffer(tailbuf, BUFFER_LOCK_EXCLUSIVE);
		Page tailpage = BufferGetPage(tailbuf);
		if (!page_is_sound(tailpage, page_list) ||
			page_opaque(tailpage)->next != InvalidBlockNumber)
		{
			UnlockReleaseBuffer(tailbuf);
			UnlockReleaseBuffer(dirbuf);
			damaged_list(index, list, tail);
		}
		/* room made since the unlocked look: VACUUM, or the race lost */
		if (static_cast<Size>(PageGetExactFreeSpace(tailpage)) >= size)
		{
			append_to(index, tailbuf, entry, size, mark);
			UnlockReleaseBuffer(tailbuf);
			UnlockReleaseBuffer(dirbuf);
			return;
		}
	}

	LockRelationForExtension(index, ExclusiveLock);
	Buffer newbuf = ReadBuffer(index, P_NEW);
	LockBuffer(newbuf, BUFFER_LOCK_EXCLUSIVE);
	UnlockRelationForExtension(index, ExclusiveLock);
	BlockNumber newblk = BufferGetBlockNumber(newbuf);

	GenericXLogState *state = GenericXLogStart(index);
	Page newpage = GenericXLogRegisterBuffer(state, newbuf, GENERIC_XLOG_FULL_IMAGE);
	init_page(newpage, page_list);
	memcpy(entries_of(newpage), entry, size); /* append_entry checked it fits */
	set_contents_end(newpage, entries_of(newpage) + size);
	dirpage = GenericXLogRegisterBuffer(state, dirbuf, 0);
	ListHead *h = list_head(dirpage, list);
	if (h->head == InvalidBlockNumber)
		h->head = newblk;
	h->tail = newblk;
	if (BufferIsValid(tailbuf))
		page_opaque(GenericXLogRegisterBuffer(state, tailbuf, 0))->next = newblk;
	tier::finish_write(state, mark); /* four pages at most: new, directory, tail, mark */

	UnlockReleaseBuffer(newbuf);
	if (BufferIsValid(tailbuf))
		UnlockReleaseBuffer(tailbuf);
	UnlockReleaseBuffer(dirbuf);
}

} // namespace

void
append_entry(Relation index, const Model &model, int list, const char *entry, tier::MergeMark *mark)
{
	/* a new page must hold it: an index from before CREATE INDEX checked m */
	if (model.shape.entry_size() > page_room)
		elog(ERROR, "index \"%s\" has entries of %zu bytes, more than a page's %zu",
			 RelationGetRelationName(index), model.shape.entry_size(), page_room);
	if (!append_if_room(index, model, list, read_tail(index, model, list), entry, mark))
		append_page(index, model, list, entry, mark);
}

void
insert_vector(Relation index, const Model &model, const float *vector, ItemPointer heaptid,
			  tier::MergeMark *mark)
{
	const Shape &s = model.shape;
	auto *scratch = static_cast<float *>(palloc(sizeof(float) * s.dims));
	auto *entry = static_cast<char *>(palloc(s.entry_size()));
	uint32 list;
	pg::guarded([&] { nearest_lists(model, vector, 1, &list); });
	encode_entry(model, list, vector, heaptid, entry, scratch);
	append_entry(index, model, list, entry, mark);
	pfree(entry);
	pfree(scratch);
}

bool
insert(Relation index, Datum *values, bool *isnull, ItemPointer heaptid, Relation heap,
	   IndexUniqueCheck check_unique, bool index_unchanged, IndexInfo *info)
{
	if (isnull[0])
		return false;
	MemoryContext context =
		AllocSetContextCreate(CurrentMemoryContext, "vecdb ivfpq insert", ALLOCSET_DEFAULT_SIZES);
	MemoryContext old = MemoryContextSwitchTo(context);

	const Model &model = load_model(index);
	const Shape &s = model.shape;
	auto *vector = static_cast<float *>(palloc(sizeof(float) * s.dims));
	if (prepare_index_vector(s.input, s.metric, s.dims, values[0], vector))
	{
		if (!streaming(index, s))
			insert_vector(index, model, vector, heaptid);
		else if (tier::over_cap(tier::append(tier_of(index, s), heaptid, vector)))
			merge(index, tier::back_pressure_goal());
	}

	MemoryContextSwitchTo(old);
	MemoryContextDelete(context);
	return false;
}

} // namespace vecdb::ivfpq
