/*
 * insert.cpp: adding one row to an hnsw index on pages.
 *
 * The search that finds the new element's neighbours locks one page at a
 * time, only to read it. Changes lock one page at a time too: a neighbour's
 * list is read, its new contents computed with no lock held, then written
 * under the page's exclusive lock only if the list is still what was read
 * (otherwise computed again). Holding no two buffer locks at once means no
 * lock-order deadlock between concurrent inserts. The index-wide update
 * lock (hnsw.h), held in share mode, lets VACUUM wait out the inserts that
 * began before a step of its repair (vacuum.cpp), and serialises inserts
 * only when one raises the graph's top level.
 */
#include "hnsw/hnsw.h"
#include "index/page_write.h"

extern "C" {
#include "common/pg_prng.h"
#include "storage/indexfsm.h"
#include "storage/lmgr.h"
#include "utils/memutils.h"
}

#include <algorithm>
#include <cmath>
#include <vector>

namespace vecdb::hnsw {

namespace {

using core::hnsw::Candidate;
using core::hnsw::LayerSearch;

/* One insert's C++ state: the graph on pages and the algorithms' buffers
 * (here, not on a stack an ERROR would unwind). */
struct Inserting
{
	PageGraph graph;
	core::hnsw::GraphScratch<uint64> scratch;
	std::vector<float> other; /* a vector, when comparing for a duplicate */

	Inserting(Relation index, const Shape &s) : graph(index, s), other(s.dims)
	{
		scratch.chosen.resize(max_level + 1); /* none yet, on every level */
	}

	core::hnsw::GraphParams params() const
	{
		const Shape &s = graph.shape();
		return {s.m, s.ef_construction, static_cast<std::size_t>(s.dims), graph.distance_fn()};
	}
};

/* Rewrites of one list that may lose to concurrent inserts before the link
 * is given up (the element stays reachable through its other neighbours,
 * or VACUUM links it). */
constexpr int rewrite_attempts = 5;

/* Finish w, with mark registered in its record (a merge's; a merge never
 * runs in a build, so its writes are always logged). */
void
finish(index::PageWrite &w, tier::MergeMark *mark)
{
	if (mark == nullptr)
		w.finish();
	else
	{
		Assert(w.logged());
		tier::finish_write(w.state(), mark);
	}
}

/* Add heaptid to the element at ref if it holds exactly this vector
 * (other: room for one, to compare an out-of-line vector). */
bool
join_duplicate(Relation index, const Shape &s, uint64 ref, const float *v, ItemPointer heaptid,
			   tier::MergeMark *mark, float *other)
{
	/* Out of line, compared before the page is locked: the element cannot
	 * be freed and its slot reused while this insert holds the update lock
	 * (VACUUM waits for it), and the lock below sees if it was deleted. */
	int level;
	if (s.external && (!copy_element_vector(index, s, ref, other, &level) ||
					   memcmp(other, v, sizeof(float) * s.dims) != 0))
		return false;
	Buffer buf = ReadBuffer(index, ref_block(ref));
	LockBuffer(buf, BUFFER_LOCK_EXCLUSIVE);
	index::PageWrite w(index);
	Page page = w.add(buf);
	ElementTuple *e = element_at(page, ref_offset(ref), s);
	bool joined = e != nullptr && !(e->flags & (element_deleted | element_free)) &&
				  e->heaptid_count < heaptid_slots(s) &&
				  (s.external || memcmp(e->vector, v, sizeof(float) * s.dims) == 0);
	if (joined)
	{
		e->heaptids[e->heaptid_count++] = *heaptid;
		finish(w, mark);
	}
	else
		w.abort();
	UnlockReleaseBuffer(buf);
	return joined;
}

/*
 * Write the new element into the free slot or page at hand; 0 if none.
 * Out of line, chunk is the address of v's chunks, or invalid if they are
 * not written yet: then only a free slot will do, whose chunks v
 * overwrites (hnsw.h says why under this page's lock).
 */
uint64
place_on_page(Relation index, const Shape &s, Buffer buf, bool fresh, int level, const float *v,
			  ItemPointer heaptid, const Inserting &ins, tier::MergeMark *mark, bool *more_free,
			  const ItemPointerData &chunk)
{
	bool have_chunks = !s.external || ItemPointerIsValid(&chunk);
	*more_free = false;
	/* Never add to a page that is not a sound element page: its free space
	 * cannot be trusted, and PageAddItem would PANIC or overwrite items. */
	if (!fresh)
	{
		Page p = BufferGetPage(buf);
		if (!page_is_sound(p, page_elements))
			return 0;
		for (OffsetNumber off = FirstOffsetNumber; off <= PageGetMaxOffsetNumber(p); off++)
			if (element_at(p, off, s) == nullptr)
				return 0;
	}
	/* Unlogged (a build), nothing below changes the page before an abort
	 * but init_page of a fresh one, which PageAddItem then fills. */
	index::PageWrite w(index);
	Page page = w.add(buf, fresh);
	if (fresh)
		init_page(page, page_elements);
	OffsetNumber placed = InvalidOffsetNumber;

	/* A slot VACUUM freed, big enough for this level. */
	OffsetNumber maxoff = PageGetMaxOffsetNumber(page);
	for (OffsetNumber off = FirstOffsetNumber; off <= maxoff && !fresh; off++)
	{
		ElementTuple *e = element_at(page, off, s);
		if (e == nullptr || !(e->flags & element_free))
			continue;
		if (placed == InvalidOffsetNumber && e->slot_level >= level)
		{
			ItemPointerData reuse = s.external ? *element_chunk(e) : chunk;
			/* the new chunks if written already (the old ones leak) */
			if (s.external && have_chunks)
				reuse = chunk;
			else if (s.external)
				rewrite_vector(index, s, reuse, v);
			init_element(e, s, level, e->slot_level, v, heaptid, &reuse);
			placed = off;
		}
		else
			*more_free = true;
	}

	Size size = element_size(s, level);
	if (placed == InvalidOffsetNumber && have_chunks && PageGetFreeSpace(page) >= MAXALIGN(size))
	{
		auto *e = static_cast<ElementTuple *>(palloc(size));
		init_element(e, s, level, level, v, heaptid, &chunk);
		placed =
			PageAddItem(page, reinterpret_cast<Item>(e), size, InvalidOffsetNumber, false, false);
		pfree(e);
	}
	if (placed == InvalidOffsetNumber)
	{
		w.abort();
		return 0;
	}

	ElementTuple *e = element_at(page, placed, s);
	for (int l = 0; l <= level; l++)
	{
		ItemPointerData *links = element_links(e, s, l);
		const auto &chosen = ins.scratch.chosen[l];
		for (std::size_t i = 0; i < chosen.size(); i++)
			ItemPointerSet(&links[i], ref_block(chosen[i].ref), ref_offset(chosen[i].ref));
	}
	/* A merge's element is not reachable until connect() links it, but its
	 * hot row is marked merged in this record: the meta page says which
	 * element it is, in the same record, so that a crash before the links
	 * leaves it found by scans and linked by the next merge. */
	Buffer metabuf = InvalidBuffer;
	if (mark != nullptr)
	{
		metabuf = lock_meta_for_write(index);
		MetaPage *meta = meta_of(w.add(metabuf));
		meta->merging_blkno = BufferGetBlockNumber(buf);
		meta->merging_offno = placed;
	}
	finish(w, mark);
	if (BufferIsValid(metabuf))
		UnlockReleaseBuffer(metabuf);
	return ref_of(BufferGetBlockNumber(buf), placed);
}

/* Find room for the new element: a freed slot, the insert page, or a new
 * page at the end. */
uint64
place(Relation index, const Shape &s, int level, const float *v,
	  ItemPointer heaptid, const Inserting &ins, tier::MergeMark *mark)
{
	bool more_free;
	/* out of line: written after the free slots were tried */
	ItemPointerData chunk;
	ItemPointerSetInvalid(&chunk);
	/* The free space map is a hint: a page it names may be full by now,
	 * and a stale map may name pages that are not element pages at all. */
	for (int attempt = 0; attempt < 8; attempt++)
	{
		BlockNumber blkno = GetFreeIndexPage(index);
		if (blkno == InvalidBlockNumber || blkno == meta_blkno ||
			blkno >= RelationGetNumberOfBlocks(index))
			break;
		Buffer buf = ReadBuffer(index, blkno);
		LockBuffer(buf, BUFFER_LOCK_EXCLUSIVE);
		uint64 ref =
			place_on_page(index, s, buf, false, level, v, heaptid, ins, mark, &more_free, chunk);
		UnlockReleaseBuffer(buf);
		if (more_free)
			RecordFreeIndexPage(index, blkno);
		if (ref != 0)
			return ref;
	}

	if (s.external)
		chunk = write_vector(index, s, v);

	/*
	 * The insert page, as the meta page names it now: the entry read before
	 * the search may be stale, and concurrent inserts that each found it
	 * full would each add a page, leaving all but one nearly empty (two
	 * backends inserting at once made an index 45% larger). The meta page's
	 * lock decides who adds the next page: whoever holds it and still sees
	 * the full page named adds one and names it before letting go; the
	 * others try the page named meanwhile. The relation extension lock is
	 * taken under the meta page's, as the hot tier's append takes it, and
	 * never the other way round: a backend that waited for the meta page
	 * while holding the extension lock would deadlock with that append,
	 * unseen by the deadlock detector (TAP 030 hung so).
	 */
	for (int attempt = 0;; attempt++)
	{
		BlockNumber target = read_entry(index).insert_blkno;
		if (target != InvalidBlockNumber && target != meta_blkno &&
			target < RelationGetNumberOfBlocks(index))
		{
			Buffer buf = ReadBuffer(index, target);
			LockBuffer(buf, BUFFER_LOCK_EXCLUSIVE);
			uint64 ref = place_on_page(index, s, buf, false, level, v, heaptid, ins, mark,
									   &more_free, chunk);
			UnlockReleaseBuffer(buf);
			if (ref != 0)
				return ref;
		}

		Buffer metabuf = lock_meta_for_write(index);
		if (attempt < 4 && meta_of(BufferGetPage(metabuf))->insert_blkno != target)
		{
			UnlockReleaseBuffer(metabuf);
			continue;
		}
		LockRelationForExtension(index, ExclusiveLock);
		Buffer buf = ReadBuffer(index, P_NEW);
		LockBuffer(buf, BUFFER_LOCK_EXCLUSIVE);
		UnlockRelationForExtension(index, ExclusiveLock);
		/* A crash or an ERROR before the page is filled leaves the meta
		 * page naming a new page, which the next insert finds unsound and
		 * passes by. */
		index::PageWrite w(index);
		meta_of(w.add(metabuf))->insert_blkno = BufferGetBlockNumber(buf);
		w.finish();
		UnlockReleaseBuffer(metabuf);
		uint64 ref =
			place_on_page(index, s, buf, true, level, v, heaptid, ins, mark, &more_free, chunk);
		UnlockReleaseBuffer(buf);
		if (ref == 0)
			elog(ERROR, "hnsw element of %zu bytes does not fit an empty page",
				 element_size(s, level));
		return ref;
	}
}

/* Whether the nearest element found may hold exactly v: a zero distance
 * says so for L2 and L1; inner products need a look at the vector. Never
 * for codes (hnsw.h: each row keeps its own). */
bool
maybe_identical(Inserting &ins, const Candidate<uint64> &nearest, const float *v)
{
	const Shape &s = ins.graph.shape();
	if (s.quantized())
		return false;
	if (s.metric == Metric::l2 || s.metric == Metric::l1)
		return nearest.distance == 0;
	return memcmp(ins.graph.vector(nearest.ref, ins.other.data()), v, sizeof(float) * s.dims) == 0;
}

/* Search from the entry point, choosing the new element's neighbours per
 * level; true if the vector joined an identical element instead. */
bool
find_neighbours(Inserting &ins, const Entry &entry, int level, const float *v, ItemPointer heaptid,
				tier::MergeMark *mark)
{
	PageGraph &g = ins.graph;
	g.set_query(v);
	g.skip_dead = true;
	core::hnsw::search_for_insert(g, ins.scratch, entry.ref, entry.level, level, ins.params());
	const auto &found = ins.scratch.found;
	bool identical = heaptid != nullptr && !found.empty() && maybe_identical(ins, found[0], v);
	g.release();
	return identical &&
		   join_duplicate(g.index(), g.shape(), found[0].ref, v, heaptid, mark, ins.other.data());
}

} // namespace

namespace {

/* The update lock for an element of level: exclusive if it becomes the
 * entry point, so that no other insert moves that meanwhile. */
LOCKMODE
lock_for_level(Relation index, int level, Entry *entry)
{
	LOCKMODE mode = ShareLock;
	LockPage(index, update_lock, mode);
	*entry = read_entry(index);
	if (level > entry->level)
	{
		UnlockPage(index, update_lock, mode);
		mode = ExclusiveLock;
		LockPage(index, update_lock, mode);
		*entry = read_entry(index);
	}
	return mode;
}

/* Link the element at ref to the neighbours chosen for it, and make it the
 * entry point if it is the highest. */
void
link_element(Inserting &ins, Relation index, const Entry &entry, int level, uint64 ref)
{
	if (entry.level >= 0)
		pg::guarded([&] {
			core::hnsw::link_new_element(ins.graph, ins.scratch, ref, level, entry.level,
										 ins.params(), rewrite_attempts);
		});
	/* No pin may outlive the call, whatever path the links took. */
	ins.graph.release();
	if (level > entry.level)
		set_entry(index, static_cast<int16>(level), ref_block(ref), ref_offset(ref));
}

} // namespace

void
insert_vector(Relation index, const Shape &s, const float *v, ItemPointer heaptid,
			  tier::MergeMark *mark)
{
	int level = core::hnsw::random_level(1.0 - pg_prng_double(&pg_global_prng_state), s.m,
										 max_level_for(s));
	Entry entry;
	LOCKMODE mode = lock_for_level(index, level, &entry);

	Inserting *ins = pg::make_owned<Inserting>(index, s);
	bool duplicate = false;
	if (entry.level >= 0)
		duplicate =
			pg::guarded([&] { return find_neighbours(*ins, entry, level, v, heaptid, mark); });

	if (!duplicate)
	{
		uint64 ref = place(index, s, Min(level, max_level_for(s)), v, heaptid, *ins, mark);
		link_element(*ins, index, entry, level, ref);
		if (mark != nullptr)
			set_merging(index, 0);
	}
	UnlockPage(index, update_lock, mode);
}

void
link_merging(Relation index, const Shape &s)
{
	uint64 ref = read_entry(index).merging;
	if (ref == 0)
		return;
	/* its vector and level, if it is still a live element */
	auto *v = static_cast<float *>(palloc(sizeof(float) * s.dims));
	int level = -1;
	if (!copy_element_vector(index, s, ref, v, &level))
		level = -1;
	if (level >= 0)
	{
		Entry entry;
		LOCKMODE mode = lock_for_level(index, level, &entry);
		/* in an empty graph it only needs to become the entry point */
		if (entry.level < 0 || entry.ref != ref)
		{
			Inserting *ins = pg::make_owned<Inserting>(index, s);
			/* no heap TID: the search must not join it to itself */
			if (entry.level >= 0)
				pg::guarded([&] {
					find_neighbours(*ins, entry, level, v, nullptr, nullptr);
					for (auto &chosen : ins->scratch.chosen)
						chosen.erase(std::remove_if(chosen.begin(), chosen.end(),
													[&](const auto &c) { return c.ref == ref; }),
									 chosen.end());
				});
			link_element(*ins, index, entry, level, ref);
		}
		UnlockPage(index, update_lock, mode);
	}
	set_merging(index, 0);
}

bool
insert(Relation index, Datum *values, bool *isnull, ItemPointer heaptid, Relation heap,
	   IndexUniqueCheck check_unique, bool index_unchanged, IndexInfo *info)
{
	if (isnull[0])
		return false;
	MemoryContext context =
		AllocSetContextCreate(CurrentMemoryContext, "hnsw insert", ALLOCSET_DEFAULT_SIZES);
	MemoryContext old = MemoryContextSwitchTo(context);
	Shape s = read_shape(index);
	auto *v = static_cast<float *>(palloc(sizeof(float) * s.dims));
	if (prepare_vector(s, values[0], v))
	{
		if (!streaming(index, s))
			insert_vector(index, s, v, heaptid);
		else if (tier::over_cap(tier::append(tier_of(index, s), heaptid, v)))
			merge(index, tier::back_pressure_goal());
	}
	MemoryContextSwitchTo(old);
	MemoryContextDelete(context);
	return false;
}

} // namespace vecdb::hnsw
