/*
 * merge.cpp: the hot tier's rows into the graph. Each row goes in as an
 * INSERT with streaming off would put it, and the write that makes it part
 * of the graph (a new element, or a heap TID joining an identical one)
 * carries the tier's mark (tier/merge.cpp says why that makes a crash
 * harmless).
 *
 * A new element is part of the graph once written, but reachable only once
 * its neighbours link to it, in later records. So the record that writes
 * it and marks its row merged also names it in the meta page (merging);
 * the name is cleared once it is linked. A crash in between leaves the
 * name: scans read that element as one more hot row, and the next merge
 * links it before anything else (link_merging), so no committed row is
 * ever out of every scan's reach.
 */
#include "hnsw/hnsw.h"

extern "C" {
#include "utils/memutils.h"
}

namespace vecdb::hnsw {

namespace {

struct Merging
{
	Relation index;
	Shape shape;
	MemoryContext context; /* reset after each row */
};

void
insert_row(void *arg, const float *vector, ItemPointer tid, tier::MergeMark *mark)
{
	auto *m = static_cast<Merging *>(arg);
	MemoryContext old = MemoryContextSwitchTo(m->context);
	insert_vector(m->index, m->shape, vector, tid, mark);
	MemoryContextSwitchTo(old);
	MemoryContextReset(m->context);
}

} // namespace

int64
merge(Relation index, const tier::MergeGoal &goal)
{
	Shape s = read_shape(index);
	tier::Tier t = tier_of(index, s);
	/* the element a crash left unlinked is this merge's to finish first:
	 * under the merge lock (tier::merge takes it again, which a lock
	 * already held allows) */
	if (!tier::lock_merges(t, goal.only_if_free))
		return -1;
	Merging m{index, s,
			  AllocSetContextCreate(CurrentMemoryContext, "hnsw merge", ALLOCSET_DEFAULT_SIZES)};
	MemoryContext old = MemoryContextSwitchTo(m.context);
	link_merging(index, m.shape);
	MemoryContextSwitchTo(old);
	int64 merged = tier::merge(t, goal, insert_row, &m);
	tier::unlock_merges(t);
	MemoryContextDelete(m.context);
	return merged;
}

int64
merge(Relation index, int64 max_rows, bool only_if_free)
{
	return merge(index, tier::MergeGoal{max_rows, only_if_free, -1});
}

index::TierShape
tier_shape(Relation index)
{
	tier::Tier t = tier_of(index, read_shape(index));
	return {t.meta_offset, t.page_id, t.dims};
}

} // namespace vecdb::hnsw
