/*
 * vacuum.cpp: VACUUM for hnsw, in three passes.
 *
 *  1. Drop dead heap TIDs from every element; an element left with none is
 *     marked deleted. Scans stop returning it; it still guides searches.
 *  2. Give every live element that links to a deleted one new links, chosen
 *     by the heuristic among its live links and the deleted neighbours'
 *     live links; move the entry point off a deleted element; link the live
 *     elements that no search could reach any more.
 *  3. Mark the deleted elements free: unlinked, their space reused by later
 *     inserts through the free space map, so churn does not grow the index.
 *
 * Inserts run on meanwhile. They hold the index-wide update lock (hnsw.h)
 * in share mode, and VACUUM takes it exclusively only for short steps, never
 * across a vacuum_delay_point() nap:
 *
 *  - once after pass 1, only to wait for the inserts that began before
 *    elements were marked deleted: they may still link to one. An insert
 *    that begins later never links to a deleted element (its search gives
 *    them no distance, join_duplicate refuses them), so from then on the
 *    set of deleted elements and the lists naming them only shrink;
 *  - while moving the entry point, which also waits out every insert that
 *    read the old one: after it, no search starts from a deleted element,
 *    so pass 3 may clear their links;
 *  - for one list's rewrite, when optimistic rewrites keep losing to
 *    inserts (below).
 *
 * Pass 2 rewrites a list as inserts do (rewrite_links): only if it still
 * reads as it was read. An insert's rewrite of a list already repaired
 * keeps it free of deleted elements, since it starts from what it reads.
 */
#include "hnsw/hnsw.h"

extern "C" {
#include "commands/vacuum.h"
#include "storage/indexfsm.h"
#include "storage/lmgr.h"
}

#include <algorithm>
#include <cmath>
#include <vector>

namespace vecdb::hnsw {

namespace {

using core::hnsw::Candidate;

struct Vacuuming
{
	PageGraph graph;
	core::hnsw::GraphScratch<uint64> scratch;
	core::VisitedHash dead;
	std::vector<BlockNumber> dead_pages;
	std::vector<float> vector, other;
	std::vector<uint64> links, dead_links, candidates;
	core::VisitedHash seen;
	std::vector<std::pair<uint64, int>> to_repair; /* one page's */
	std::vector<uint64> live;                      /* every live element */
	core::VisitedHash reached;
	uint64 best = 0; /* highest live element */
	int best_level = -1;

	Vacuuming(Relation index, const Shape &s) : graph(index, s), vector(s.dims), other(s.dims) {}

	core::hnsw::GraphParams params() const
	{
		const Shape &s = graph.shape();
		return {s.m, s.ef_construction, static_cast<std::size_t>(s.dims), graph.distance_fn()};
	}
};

/* Pass 1 on one page; returns whether any element on it is now deleted. */
bool
drop_dead_tids(IndexVacuumInfo *info, IndexBulkDeleteResult *stats,
			   IndexBulkDeleteCallback callback, void *callback_state, Vacuuming &vac,
			   BlockNumber blkno)
{
	const Shape &s = vac.graph.shape();
	Buffer buf = ReadBufferExtended(info->index, MAIN_FORKNUM, blkno, RBM_NORMAL, info->strategy);
	LockBuffer(buf, BUFFER_LOCK_EXCLUSIVE);
	GenericXLogState *state = GenericXLogStart(info->index);
	Page page = GenericXLogRegisterBuffer(state, buf, 0);
	bool changed = false, any_dead = false;
	OffsetNumber maxoff = PageGetMaxOffsetNumber(page);
	for (OffsetNumber off = FirstOffsetNumber; off <= maxoff; off++)
	{
		ElementTuple *e = element_at(page, off, s);
		if (e == nullptr || (e->flags & element_free))
			continue;
		if (!(e->flags & element_deleted))
		{
			int kept = 0;
			for (int i = 0; i < e->heaptid_count; i++)
				if (!callback(&e->heaptids[i], callback_state))
					e->heaptids[kept++] = e->heaptids[i];
			if (kept != e->heaptid_count)
			{
				stats->tuples_removed += e->heaptid_count - kept;
				for (int i = kept; i < e->heaptid_count; i++)
					ItemPointerSetInvalid(&e->heaptids[i]);
				e->heaptid_count = static_cast<uint8>(kept);
				if (kept == 0)
					e->flags |= element_deleted;
				changed = true;
			}
		}
		if (e->flags & element_deleted)
		{
			vac.dead.visit(ref_of(blkno, off));
			any_dead = true;
			continue;
		}
		stats->num_index_tuples += e->heaptid_count;
	}
	if (changed)
		GenericXLogFinish(state);
	else
		GenericXLogAbort(state);
	UnlockReleaseBuffer(buf);
	return any_dead;
}

/* Rewrites of one list that may lose to inserts before VACUUM makes the
 * next one with inserts held off. */
constexpr int optimistic_rewrites = 3;

/*
 * Pass 2 for one of ref's lists (base is ref's vector): new links if it
 * names dead elements. True when done: nothing to repair, or the list was
 * rewritten; false when an insert changed it meanwhile.
 */
bool
repair_list(Vacuuming &vac, uint64 ref, int l, const float *base)
{
	PageGraph &g = vac.graph;
	const Shape &s = g.shape();
	int room = core::hnsw::max_links(s.m, l);
	vac.links.resize(room);
	vac.links.resize(g.neighbours(ref, l, vac.links.data()));
	bool has_dead = false;
	for (uint64 r : vac.links)
		has_dead |= vac.dead.contains(r);
	if (!has_dead)
		return true;

	/* the live links, and the dead links' live links */
	vac.candidates.clear();
	vac.seen.clear();
	vac.seen.visit(ref);
	auto consider = [&](uint64 r) {
		if (!vac.dead.contains(r) && vac.seen.visit(r))
			vac.candidates.push_back(r);
	};
	for (uint64 r : vac.links)
	{
		if (!vac.dead.contains(r))
		{
			consider(r);
			continue;
		}
		vac.dead_links.resize(room);
		vac.dead_links.resize(g.neighbours(r, l, vac.dead_links.data()));
		for (uint64 r2 : vac.dead_links)
			consider(r2);
	}
	core::hnsw::choose_links(g, vac.scratch, base, vac.candidates, l, vac.params());
	return g.rewrite_links(ref, l, vac.links, vac.scratch.after);
}

/* Pass 2 for one element: new links at every level where it had dead ones. */
void
repair_element(Vacuuming &vac, uint64 ref, int level)
{
	PageGraph &g = vac.graph;
	const float *base = g.vector(ref, vac.vector.data());
	for (int l = 0; l <= level; l++)
	{
		bool done = false;
		for (int attempt = 0; attempt < optimistic_rewrites && !done; attempt++)
			done = repair_list(vac, ref, l, base);
		if (done)
			continue;
		/* Inserts keep changing this list: repair it with them held off,
		 * which cannot fail. A deleted element left in a live list would
		 * name a freed slot after pass 3. */
		g.release();
		LockPage(g.index(), update_lock, ExclusiveLock);
		repair_list(vac, ref, l, base);
		g.release();
		UnlockPage(g.index(), update_lock, ExclusiveLock);
	}
}

void
repair_links(IndexVacuumInfo *info, Vacuuming &vac)
{
	const Shape &s = vac.graph.shape();
	BlockNumber nblocks = RelationGetNumberOfBlocks(info->index);
	std::vector<std::pair<uint64, int>> &to_repair = vac.to_repair;
	for (BlockNumber blkno = meta_blkno + 1; blkno < nblocks; blkno++)
	{
		vacuum_delay_point();
		Buffer buf =
			ReadBufferExtended(info->index, MAIN_FORKNUM, blkno, RBM_NORMAL, info->strategy);
		LockBuffer(buf, BUFFER_LOCK_SHARE);
		Page page = BufferGetPage(buf);
		to_repair.clear();
		OffsetNumber maxoff = PageGetMaxOffsetNumber(page);
		for (OffsetNumber off = FirstOffsetNumber; off <= maxoff; off++)
		{
			ElementTuple *e = element_at(page, off, s);
			if (e == nullptr || (e->flags & (element_free | element_deleted)))
				continue;
			if (e->level > vac.best_level)
			{
				vac.best_level = e->level;
				vac.best = ref_of(blkno, off);
			}
			bool has_dead = false;
			for (int l = 0; l <= e->level && !has_dead; l++)
			{
				ItemPointerData *links = element_links(e, s, l);
				for (int i = 0; i < core::hnsw::max_links(s.m, l) && ItemPointerIsValid(&links[i]);
					 i++)
					if (vac.dead.contains(ref_of(links[i])))
					{
						has_dead = true;
						break;
					}
			}
			if (has_dead)
				to_repair.push_back({ref_of(blkno, off), e->level});
		}
		UnlockReleaseBuffer(buf);
		for (const auto &[ref, level] : to_repair)
			repair_element(vac, ref, level);
	}
}

/*
 * Repairs and earlier pruning can leave a live element that no list
 * names: a search could never return it. Link each such element
 * (core::hnsw::link_orphans), walking past no dead element: those are
 * about to be freed.
 */
void
link_orphans(Vacuuming &vac, const Entry &entry)
{
	if (entry.level < 0)
		return;
	PageGraph &g = vac.graph;
	g.skip_dead = true;
	core::hnsw::link_orphans(g, vac.scratch, vac.reached, vac.live, entry.ref, entry.level,
							 vac.params(), [&](uint64 r) { return vac.dead.contains(r); });
	g.release();
}

/* Pass 3 on one page. */
void
free_dead(IndexVacuumInfo *info, Vacuuming &vac, BlockNumber blkno)
{
	const Shape &s = vac.graph.shape();
	Buffer buf = ReadBufferExtended(info->index, MAIN_FORKNUM, blkno, RBM_NORMAL, info->strategy);
	LockBuffer(buf, BUFFER_LOCK_EXCLUSIVE);
	GenericXLogState *state = GenericXLogStart(info->index);
	Page page = GenericXLogRegisterBuffer(state, buf, 0);
	OffsetNumber maxoff = PageGetMaxOffsetNumber(page);
	for (OffsetNumber off = FirstOffsetNumber; off <= maxoff; off++)
	{
		ElementTuple *e = element_at(page, off, s);
		if (e == nullptr || !(e->flags & element_deleted))
			continue;
		e->flags = element_free;
		ItemPointerData *links = element_links(e, s, 0);
		for (int i = 0; i < 2 * s.m + e->slot_level * s.m; i++)
			ItemPointerSetInvalid(&links[i]);
	}
	GenericXLogFinish(state);
	UnlockReleaseBuffer(buf);
	RecordFreeIndexPage(info->index, blkno);
}

/*
 * Every live element, and the highest: for link_orphans once the repair is
 * done (an element an insert added during the repair may have lost its only
 * inbound link to a repaired list's pruning), and for move_entry when the
 * scan of pass 2 found no live element (inserts may have added some since;
 * then with inserts held off, so without napping).
 */
void
collect_live(IndexVacuumInfo *info, Vacuuming &vac, bool may_nap)
{
	const Shape &s = vac.graph.shape();
	vac.live.clear();
	BlockNumber nblocks = RelationGetNumberOfBlocks(info->index);
	for (BlockNumber blkno = meta_blkno + 1; blkno < nblocks; blkno++)
	{
		if (may_nap)
			vacuum_delay_point();
		else
			CHECK_FOR_INTERRUPTS();
		Buffer buf =
			ReadBufferExtended(info->index, MAIN_FORKNUM, blkno, RBM_NORMAL, info->strategy);
		LockBuffer(buf, BUFFER_LOCK_SHARE);
		Page page = BufferGetPage(buf);
		OffsetNumber maxoff = PageGetMaxOffsetNumber(page);
		for (OffsetNumber off = FirstOffsetNumber; off <= maxoff; off++)
		{
			ElementTuple *e = element_at(page, off, s);
			if (e == nullptr || (e->flags & (element_free | element_deleted)))
				continue;
			pg::guarded([&] { vac.live.push_back(ref_of(blkno, off)); });
			if (e->level > vac.best_level)
			{
				vac.best_level = e->level;
				vac.best = ref_of(blkno, off);
			}
		}
		UnlockReleaseBuffer(buf);
	}
}

/*
 * Move the entry point off a deleted element, to the highest live one.
 * Under the update lock, held exclusively: an insert that raised the top
 * level meanwhile made a live entry point, and once the lock is granted no
 * insert that read the old entry point is still searching from it.
 */
Entry
move_entry(IndexVacuumInfo *info, Vacuuming &vac)
{
	Relation index = info->index;
	LockPage(index, update_lock, ExclusiveLock);
	Entry entry = read_entry(index);
	if (entry.level >= 0 && vac.dead.contains(entry.ref))
	{
		if (vac.best_level < 0)
			collect_live(info, vac, false);
		if (vac.best_level >= 0)
			set_entry(index, static_cast<int16>(vac.best_level), ref_block(vac.best),
					  ref_offset(vac.best));
		else
			set_entry(index, -1, InvalidBlockNumber, InvalidOffsetNumber);
		entry = read_entry(index);
	}
	UnlockPage(index, update_lock, ExclusiveLock);
	return entry;
}

} // namespace

IndexBulkDeleteResult *
bulk_delete(IndexVacuumInfo *info, IndexBulkDeleteResult *stats, IndexBulkDeleteCallback callback,
			void *callback_state)
{
	Relation index = info->index;
	if (stats == nullptr)
		stats = static_cast<IndexBulkDeleteResult *>(palloc0(sizeof(IndexBulkDeleteResult)));
	Shape s = read_shape(index);
	Vacuuming *vac = pg::make_owned<Vacuuming>(index, s);
	/* Each pass counts every live row anew: VACUUM calls this once per
	 * batch of dead TIDs that fits maintenance_work_mem, with the same
	 * stats (tuples_removed adds up; the index's size does not). */
	stats->num_index_tuples = 0;
	/* the hot rows first, under the tier's merge lock (tier/vacuum.cpp) */
	stats->tuples_removed += tier::bulk_delete(tier_of(index, s), callback, callback_state);

	BlockNumber nblocks = RelationGetNumberOfBlocks(index);
	for (BlockNumber blkno = meta_blkno + 1; blkno < nblocks; blkno++)
	{
		vacuum_delay_point();
		if (pg::guarded(
				[&] { return drop_dead_tids(info, stats, callback, callback_state, *vac, blkno); }))
			pg::guarded([&] { vac->dead_pages.push_back(blkno); });
	}
	if (vac->dead_pages.empty())
		return stats;

	/* Wait out the inserts that may link to an element pass 1 deleted. */
	LockPage(index, update_lock, ExclusiveLock);
	UnlockPage(index, update_lock, ExclusiveLock);

	pg::guarded([&] { repair_links(info, *vac); });
	vac->graph.release();
	Entry entry = move_entry(info, *vac);
	collect_live(info, *vac, true);
	pg::guarded([&] { link_orphans(*vac, entry); });
	for (BlockNumber blkno : vac->dead_pages)
	{
		vacuum_delay_point();
		free_dead(info, *vac, blkno);
	}
	IndexFreeSpaceMapVacuum(index);
	return stats;
}

IndexBulkDeleteResult *
vacuum_cleanup(IndexVacuumInfo *info, IndexBulkDeleteResult *stats)
{
	if (info->analyze_only)
		return stats;
	/* VACUUM, and so autovacuum, empties the hot tier: without the merge
	 * worker, it is what keeps the tier small besides back-pressure */
	int64 merged = merge(info->index, tier::MergeGoal{-1, false, -1});
	/* Inserts' pruning, the merge's included, can leave an element no list
	 * names (bulk_delete links those it finds, but it runs only when rows
	 * died, and before the merge): every VACUUM leaves none. */
	if (stats == nullptr || merged > 0)
	{
		Shape s = read_shape(info->index);
		Vacuuming *vac = pg::make_owned<Vacuuming>(info->index, s);
		collect_live(info, *vac, true);
		Entry entry = read_entry(info->index);
		pg::guarded([&] { link_orphans(*vac, entry); });
	}
	if (stats == nullptr)
	{
		stats = static_cast<IndexBulkDeleteResult *>(palloc0(sizeof(IndexBulkDeleteResult)));
		stats->num_index_tuples = info->num_heap_tuples;
		stats->estimated_count = info->estimated_count;
	}
	stats->num_pages = RelationGetNumberOfBlocks(info->index);
	return stats;
}

} // namespace vecdb::hnsw
