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
	core::VisitedHash dead;
	std::vector<BlockNumber> dead_pages;
	std::vector<float> vector;
	std::vector<uint64> links, dead_links, after;
	std::vector<Candidate<uint64>> pool, kept;
	std::vector<float> slots, other;
	std::vector<const float *> kept_vectors;
	core::VisitedHash seen;
	std::vector<std::pair<uint64, int>> to_repair; /* one page's */
	std::vector<std::pair<uint64, int>> live;      /* every live element */
	core::VisitedHash reached;
	std::vector<uint64> walk;
	core::hnsw::LayerSearch<uint64> layer;
	uint64 best = 0; /* highest live element */
	int best_level = -1;

	Vacuuming(Relation index, const Shape &s) : graph(index, s), vector(s.dims), other(s.dims) {}
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
	core::DistanceFn distance = g.distance_fn();
	int room = core::hnsw::max_links(s.m, l);
	vac.links.resize(room);
	vac.links.resize(g.neighbours(ref, l, vac.links.data()));
	bool has_dead = false;
	for (uint64 r : vac.links)
		has_dead |= vac.dead.contains(r);
	if (!has_dead)
		return true;

	vac.pool.clear();
	vac.seen.clear();
	vac.seen.visit(ref);
	auto consider = [&](uint64 r) {
		if (!vac.dead.contains(r) && vac.seen.visit(r))
			vac.pool.push_back({distance(base, g.vector(r, vac.other.data()), s.dims), r});
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
	std::sort(vac.pool.begin(), vac.pool.end(),
			  [](const auto &a, const auto &b) { return a.distance < b.distance; });
	core::hnsw::select_neighbours(g, vac.pool, room, distance, s.dims, vac.slots, vac.kept_vectors,
								  vac.kept);
	g.release();
	vac.after.clear();
	for (const auto &c : vac.kept)
		vac.after.push_back(c.ref);
	return rewrite_links(g.index(), s, ref, l, vac.links, vac.after);
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

/* Mark what start reaches on the base level, not passing dead elements. */
void
walk_from(Vacuuming &vac, uint64 start)
{
	PageGraph &g = vac.graph;
	const Shape &s = g.shape();
	if (!vac.reached.visit(start))
		return;
	vac.walk.assign(1, start);
	vac.links.resize(2 * s.m);
	while (!vac.walk.empty())
	{
		uint64 ref = vac.walk.back();
		vac.walk.pop_back();
		int n = g.neighbours(ref, 0, vac.links.data());
		for (int i = 0; i < n; i++)
			if (!vac.dead.contains(vac.links[i]) && vac.reached.visit(vac.links[i]))
				vac.walk.push_back(vac.links[i]);
	}
}

/*
 * Link one orphan from the nearest element the entry point reaches: one
 * with room in its base list if the search found any, else the nearest,
 * whose farthest link it replaces.
 */
void
link_orphan(Vacuuming &vac, const Entry &entry, uint64 orphan)
{
	PageGraph &g = vac.graph;
	const Shape &s = g.shape();
	const std::size_t room = 2 * s.m;
	g.set_query(g.vector(orphan, vac.vector.data()));
	g.skip_dead = true;
	search_from_entry(g, vac.layer, entry, s.ef_construction, false);
	vac.layer.sort_nearest();
	uint64 host = entry.ref;
	bool host_has_room = false;
	for (const auto &c : vac.layer.nearest)
	{
		if (c.ref == orphan || std::isinf(c.distance) || !vac.reached.contains(c.ref))
			continue;
		vac.links.resize(room);
		vac.links.resize(g.neighbours(c.ref, 0, vac.links.data()));
		if (host == entry.ref && !host_has_room)
			host = c.ref;
		if (vac.links.size() < room)
		{
			host = c.ref;
			host_has_room = true;
			break;
		}
	}

	vac.links.resize(room);
	vac.links.resize(g.neighbours(host, 0, vac.links.data()));
	vac.after = vac.links;
	if (vac.after.size() < room)
		vac.after.push_back(orphan);
	else
	{
		const float *hv = g.vector(host, vac.other.data());
		std::vector<float> &tmp = vac.slots;
		tmp.resize(s.dims);
		std::size_t farthest = 0;
		float worst = -1;
		for (std::size_t i = 0; i < vac.links.size(); i++)
		{
			float d = g.distance_fn()(hv, g.vector(vac.links[i], tmp.data()), s.dims);
			if (d > worst)
			{
				worst = d;
				farthest = i;
			}
		}
		vac.after[farthest] = orphan;
	}
	g.release();
	rewrite_links(g.index(), s, host, 0, vac.links, vac.after);
}

/*
 * Repairs and earlier pruning can leave a live element that no list
 * names: a search could never return it. Give each such element a link.
 * A replaced link can orphan its target in turn, so walk again until a
 * round links nothing (a few rounds settle it, as in the build).
 */
void
link_orphans(Vacuuming &vac, const Entry &entry)
{
	if (entry.level < 0)
		return;
	for (int round = 0; round < 8; round++)
	{
		vac.reached.clear();
		walk_from(vac, entry.ref);
		bool linked = false;
		for (const auto &[orphan, level] : vac.live)
		{
			if (vac.reached.contains(orphan))
				continue;
			CHECK_FOR_INTERRUPTS();
			link_orphan(vac, entry, orphan);
			walk_from(vac, orphan);
			linked = true;
		}
		if (!linked)
			break;
	}
	vac.graph.release();
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
			pg::guarded([&] { vac.live.push_back({ref_of(blkno, off), e->level}); });
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
			update_meta(index, static_cast<int16>(vac.best_level), ref_block(vac.best),
						ref_offset(vac.best), InvalidBlockNumber);
		else
			update_meta(index, -1, InvalidBlockNumber, InvalidOffsetNumber, InvalidBlockNumber);
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
	merge(info->index, tier::MergeGoal{-1, false, -1});
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
