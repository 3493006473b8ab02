/*
 * merge.cpp: the hot tier's rows into the lists. Each row is filed as an
 * INSERT with streaming off would file it, and the append that files it
 * carries the tier's mark (tier/merge.cpp says why that makes a crash
 * harmless).
 */
#include "ivfpq/ivfpq.h"

extern "C" {
#include "utils/memutils.h"
}

namespace vecdb::ivfpq {

namespace {

struct Merging
{
	Relation index;
	const Model *model;
	MemoryContext context; /* reset after each row */
};

void
insert_row(void *arg, const float *vector, ItemPointer tid, tier::MergeMark *mark)
{
	auto *m = static_cast<Merging *>(arg);
	MemoryContext old = MemoryContextSwitchTo(m->context);
	insert_vector(m->index, *m->model, vector, tid, mark);
	MemoryContextSwitchTo(old);
	MemoryContextReset(m->context);
}

} // namespace

int64
merge(Relation index, const tier::MergeGoal &goal)
{
	Merging m{index, &load_model(index),
			  AllocSetContextCreate(CurrentMemoryContext, "ivfpq merge", ALLOCSET_DEFAULT_SIZES)};
	int64 merged = tier::merge(tier_of(index, m.model->shape), goal, insert_row, &m);
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
	MetaPage meta = read_meta(index);
	tier::Tier t = tier_of(index, shape_of(index, meta));
	return {t.meta_offset, t.page_id, t.dims};
}

} // namespace vecdb::ivfpq
