/*
 * merge.cpp: the hot tier's rows into the graph. Each row goes in as an
 * INSERT with streaming off would put it, and the write that makes it part
 * of the graph (a new element, or a heap TID joining an identical one)
 * carries the tier's mark (tier/merge.cpp says why that makes a crash
 * harmless).
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
	Merging m{index, read_shape(index),
			  AllocSetContextCreate(CurrentMemoryContext, "hnsw merge", ALLOCSET_DEFAULT_SIZES)};
	int64 merged = tier::merge(tier_of(index, m.shape), goal, insert_row, &m);
	MemoryContextDelete(m.context);
	return merged;
}

int64
merge(Relation index, int64 max_rows, bool only_if_free)
{
	return merge(index, tier::MergeGoal{max_rows, only_if_free, -1});
}

int64
hot_rows(Relation index)
{
	return tier::read_meta(tier_of(index, read_shape(index))).rows;
}

index::TierShape
tier_shape(Relation index)
{
	tier::Tier t = tier_of(index, read_shape(index));
	return {t.meta_offset, t.page_id, t.dims};
}

} // namespace vecdb::hnsw
