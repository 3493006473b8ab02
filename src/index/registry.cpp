/*
 * registry.cpp: the table of vecdb's access methods (registry.h).
 */
#include "index/registry.h"

namespace vecdb::index {

namespace {

/* hnsw and ivfpq, with room for the ones to come (ivfflat). */
VectorAm registered[4];
int count = 0;

} // namespace

void
register_am(const VectorAm &am)
{
	if (count >= static_cast<int>(lengthof(registered)))
		elog(ERROR, "vecdb registers at most %d access methods",
			 static_cast<int>(lengthof(registered)));
	registered[count++] = am;
}

const VectorAm *
vector_am_of(Relation index)
{
	if (index->rd_rel->relkind != RELKIND_INDEX || index->rd_indam == nullptr)
		return nullptr;
	for (int i = 0; i < count; i++)
		if (index->rd_indam->ambuild == registered[i].build)
			return &registered[i];
	return nullptr;
}

int
registered_am_count()
{
	return count;
}

const VectorAm &
registered_am(int i)
{
	Assert(i >= 0 && i < count);
	return registered[i];
}

} // namespace vecdb::index
