/*
 * tier.cpp: the hot tier's state and its appends.
 *
 * An append locks the meta page, then the tail page, then (when the tail is
 * full) the page that becomes the new tail, always in that order, and logs
 * them in one generic WAL record: the tier's counts and links never
 * disagree with its pages. Merges lock the meta page before any tier page
 * too; scans and VACUUM lock one tier page at a time. So nothing waits in a
 * cycle.
 */
#include "tier/pages.h"

extern "C" {
#include "storage/lmgr.h"
#include "utils/guc.h"
}

#include <climits>

namespace vecdb::tier {

int hot_tier_max_rows = 10000;

void
define_settings()
{
	DefineCustomIntVariable(
		"vecdb.hot_tier_max_rows",
		"Hot rows an index holds before an insert merges a batch itself.",
		"Past it, the inserting backend merges a quarter of it into the index: back-pressure "
		"when the merge worker is not running or falls behind.",
		&hot_tier_max_rows, 10000, 10, INT_MAX / 4, PGC_USERSET, 0, nullptr, nullptr, nullptr);
}

void
add_streaming_option(relopt_kind kind)
{
	add_bool_reloption(
		kind, "streaming",
		"Whether inserts go to the hot tier, merged into the index later, or into the "
		"index at once",
		true, ShareUpdateExclusiveLock);
}

int64
batch_rows()
{
	return Max(hot_tier_max_rows / 4, 1);
}

void
damaged(const Tier &t, BlockNumber blkno, const char *what)
{
	ereport(ERROR, (errcode(ERRCODE_INDEX_CORRUPTED),
					errmsg("index \"%s\" has a damaged hot tier: %s (block %u)",
						   RelationGetRelationName(t.index), what, blkno),
					errhint("Run vecdb_index_check('%s'), then REINDEX it.",
							RelationGetRelationName(t.index))));
}

bool
meta_page_is_sound(Page page, const Tier &t)
{
	/* Generic WAL keeps only what lies outside pd_lower..pd_upper: the
	 * TierMeta must lie below pd_lower. */
	Size end = (PageGetContents(page) - page) + t.meta_offset + sizeof(TierMeta);
	return index::page_is_sound(page, t.page_id, index::page_meta) &&
		   reinterpret_cast<PageHeader>(page)->pd_lower >= end;
}

bool
page_is_sound(Page page, const Tier &t)
{
	if (!index::page_is_sound(page, t.page_id, index::page_tier))
		return false;
	char *end = index::contents_end(page);
	return tier_page(page)->item_size == item_size(t.dims) && end >= items_begin(page) &&
		   (end - items_begin(page)) % item_size(t.dims) == 0;
}

void
init_meta(TierMeta *meta)
{
	meta->head = meta->tail = meta->free_head = InvalidBlockNumber;
	meta->pages = 0;
	meta->head_seq = meta->next_seq = 1;
	meta->rows = meta->merged = 0;
	meta->last_merge = 0;
}

TierMeta
read_meta(const Tier &t)
{
	Buffer buf = ReadBuffer(t.index, meta_blkno);
	LockBuffer(buf, BUFFER_LOCK_SHARE);
	Page page = BufferGetPage(buf);
	if (!meta_page_is_sound(page, t))
	{
		UnlockReleaseBuffer(buf);
		damaged(t, meta_blkno, "the meta page does not hold the tier's state");
	}
	TierMeta m = *meta_in(page, t);
	UnlockReleaseBuffer(buf);
	return m;
}

namespace {

/*
 * A page to become the new tail, locked: the top of the free stack if it
 * is a retired page, else a new one. *free_next is what the stack's top
 * becomes: a damaged stack is dropped (its pages are lost to the tier until
 * REINDEX, which beats reusing a page whose state is unknown).
 *
 * The caller holds the meta page and the tail locked: a stack whose top
 * names either (damage: neither is ever retired) is not read, for locking
 * a buffer this backend holds already waits forever, deaf to cancels.
 */
Buffer
take_page(const Tier &t, const TierMeta &m, BlockNumber *free_next)
{
	*free_next = InvalidBlockNumber;
	if (m.free_head != InvalidBlockNumber && block_in_range(t, m.free_head) &&
		m.free_head != m.tail)
	{
		Buffer buf = ReadBuffer(t.index, m.free_head);
		LockBuffer(buf, BUFFER_LOCK_EXCLUSIVE);
		Page page = BufferGetPage(buf);
		if (page_is_sound(page, t) && is_retired(page))
		{
			*free_next = tier_page(page)->free_next;
			return buf;
		}
		UnlockReleaseBuffer(buf);
	}
	LockRelationForExtension(t.index, ExclusiveLock);
	Buffer buf = ReadBuffer(t.index, P_NEW);
	LockBuffer(buf, BUFFER_LOCK_EXCLUSIVE);
	UnlockRelationForExtension(t.index, ExclusiveLock);
	return buf;
}

void
put_item(Page page, const Tier &t, ItemPointer tid, const float *vector)
{
	auto *item = reinterpret_cast<Item *>(index::contents_end(page));
	item->tid = *tid;
	item->flags = 0;
	item->unused = 0;
	memcpy(item->vector, vector, sizeof(float) * t.dims);
	index::set_contents_end(page, index::contents_end(page) + item_size(t.dims));
}

} // namespace

void
add_tail_page(const Tier &t, Buffer metabuf, Buffer tailbuf, ItemPointer tid, const float *vector)
{
	BlockNumber free_next;
	Buffer newbuf = take_page(t, *meta_in(BufferGetPage(metabuf), t), &free_next);
	BlockNumber newblk = BufferGetBlockNumber(newbuf);

	GenericXLogState *state = GenericXLogStart(t.index);
	TierMeta *m = meta_in(GenericXLogRegisterBuffer(state, metabuf, 0), t);
	Page page = GenericXLogRegisterBuffer(state, newbuf, GENERIC_XLOG_FULL_IMAGE);
	index::init_page(page, index::page_tier, t.page_id);
	TierPage *tp = tier_page(page);
	tp->seq = m->next_seq++;
	tp->free_next = InvalidBlockNumber;
	tp->item_size = static_cast<uint16>(item_size(t.dims));
	tp->unused = 0;
	index::set_contents_end(page, items_begin(page));
	if (tid != nullptr)
	{
		put_item(page, t, tid, vector);
		m->rows++;
	}
	if (BufferIsValid(tailbuf))
		index::page_opaque(GenericXLogRegisterBuffer(state, tailbuf, 0))->next = newblk;
	else
	{
		m->head = newblk;
		m->head_seq = tp->seq;
	}
	if (m->free_head != InvalidBlockNumber)
		m->free_head = free_next;
	m->tail = newblk;
	m->pages++;
	GenericXLogFinish(state);
	UnlockReleaseBuffer(newbuf);
}

Buffer
lock_tail(const Tier &t, Buffer metabuf)
{
	const TierMeta *m = meta_in(BufferGetPage(metabuf), t);
	BlockNumber tail = m->tail;
	if (tail == InvalidBlockNumber)
	{
		/* an append would start a new chain, and drop the one there is */
		if (m->head != InvalidBlockNumber)
		{
			UnlockReleaseBuffer(metabuf);
			damaged(t, meta_blkno, "the tier has a head or a tail, not both");
		}
		return InvalidBuffer;
	}
	if (!block_in_range(t, tail))
	{
		UnlockReleaseBuffer(metabuf);
		damaged(t, tail, "the tail lies outside the index");
	}
	Buffer buf = ReadBuffer(t.index, tail);
	LockBuffer(buf, BUFFER_LOCK_EXCLUSIVE);
	Page page = BufferGetPage(buf);
	if (!page_is_sound(page, t) || is_retired(page) ||
		index::page_opaque(page)->next != InvalidBlockNumber)
	{
		UnlockReleaseBuffer(buf);
		UnlockReleaseBuffer(metabuf);
		damaged(t, tail, "the tail is not a hot tier page");
	}
	/* the newest page: a new one numbered otherwise would break the
	 * chain's numbers, and every scan would refuse it */
	if (tier_page(page)->seq + 1 != m->next_seq)
	{
		UnlockReleaseBuffer(buf);
		UnlockReleaseBuffer(metabuf);
		damaged(t, tail, "the tail's number is not the one before the meta page's next");
	}
	return buf;
}

Buffer
lock_meta(const Tier &t)
{
	Buffer buf = ReadBuffer(t.index, meta_blkno);
	LockBuffer(buf, BUFFER_LOCK_EXCLUSIVE);
	if (!meta_page_is_sound(BufferGetPage(buf), t))
	{
		UnlockReleaseBuffer(buf);
		damaged(t, meta_blkno, "the meta page does not hold the tier's state");
	}
	return buf;
}

int64
append(const Tier &t, ItemPointer tid, const float *vector)
{
	if (!fits_page(t.dims))
		elog(ERROR, "index \"%s\" has vectors too wide for its hot tier",
			 RelationGetRelationName(t.index));
	Buffer metabuf = lock_meta(t);
	Buffer tailbuf = lock_tail(t, metabuf);
	if (BufferIsValid(tailbuf) &&
		static_cast<Size>(PageGetExactFreeSpace(BufferGetPage(tailbuf))) >= item_size(t.dims))
	{
		GenericXLogState *state = GenericXLogStart(t.index);
		TierMeta *m = meta_in(GenericXLogRegisterBuffer(state, metabuf, 0), t);
		put_item(GenericXLogRegisterBuffer(state, tailbuf, 0), t, tid, vector);
		m->rows++;
		GenericXLogFinish(state);
	}
	else
		add_tail_page(t, metabuf, tailbuf, tid, vector);
	int64 rows = meta_in(BufferGetPage(metabuf), t)->rows;
	if (BufferIsValid(tailbuf))
		UnlockReleaseBuffer(tailbuf);
	UnlockReleaseBuffer(metabuf);
	return rows;
}

Pass
renumbered(const Tier &t, const TierMeta &m, BlockNumber blkno)
{
	if (read_meta(t).next_seq == m.next_seq)
		damaged(t, blkno, "a chain page has a number the chain does not expect");
	return Pass::reused;
}

void
check_retired_behind_head(const Tier &t, BlockNumber blkno, uint64 seq)
{
	if (read_meta(t).head_seq <= seq)
		damaged(t, blkno, "a page inside the chain is retired");
}

namespace {

/* One count along the chain; the head's number when it began. */
Stats
count_rows(const Tier &t, uint64 *head_seq)
{
	Stats s{};
	read_chain(
		t,
		[&](const TierMeta &m) {
			s = Stats{0, 0, m.merged, m.last_merge};
			*head_seq = m.head_seq;
		},
		[&](Page page) {
			s.pages++;
			for (int i = 0; i < item_count(page, t); i++)
				if (!(item_at(page, t, i)->flags & (item_merged | item_dead)))
					s.rows++;
		});
	return s;
}

} // namespace

/*
 * A page the count has passed may be retired and taken again as a new tail
 * before the count reaches the tail, and then counted again with its new
 * rows: the rows it held were counted twice, once hot and once as the
 * lists' or the graph's (a scan drops such copies; a count cannot). That
 * takes a retirement during the count, which moves the head: count again
 * then, and under the merge lock if merges keep retiring pages meanwhile.
 */
Stats
stats(const Tier &t)
{
	uint64 head_seq;
	for (int pass = 0; pass < 10; pass++)
	{
		Stats s = count_rows(t, &head_seq);
		if (read_meta(t).head_seq == head_seq)
			return s;
	}
	lock_merges(t);
	Stats s = count_rows(t, &head_seq);
	unlock_merges(t);
	return s;
}

} // namespace vecdb::tier
