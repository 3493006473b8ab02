/*
 * scan.cpp: reading the hot rows for a scan (see tier.h for why a scan
 * needs no lock against merges, only a fresh pass when a page it expects
 * was reused).
 */
#include "tier/pages.h"

#include <algorithm>

namespace vecdb::tier {

namespace {

struct Collected
{
	HotRow *rows;
	int count;
	int room;
};

/* Room for n more rows. */
void
reserve(Collected &c, int n)
{
	if (c.count + n <= c.room)
		return;
	int room = Max(c.room * 2, c.count + n);
	c.rows = static_cast<HotRow *>(c.rows == nullptr ? palloc(sizeof(HotRow) * room)
													 : repalloc(c.rows, sizeof(HotRow) * room));
	c.room = room;
}

} // namespace

void
sort_hot_rows(HotRow *rows, int count)
{
	std::sort(rows, rows + count,
			  [](const HotRow &a, const HotRow &b) { return core::nearer(a.distance, b.distance); });
}

void
read_hot_rows(const Tier &t, core::DistanceFn distance, const float *query, HotRow **out,
			  int *count, core::VisitedHash &tids)
{
	Collected c{nullptr, 0, 0};
	read_chain(
		t,
		[&](const TierMeta &) {
			c.count = 0;
			pg::guarded([&] { tids.clear(); });
		},
		[&](Page page) {
			int n = item_count(page, t);
			reserve(c, n);
			for (int i = 0; i < n; i++)
			{
				const Item *item = item_at(page, t, i);
				/* a damaged TID must not reach the heap: block
				 * InvalidBlockNumber would read as "extend the table" */
				if ((item->flags & (item_merged | item_dead)) || !ItemPointerIsValid(&item->tid) ||
					ItemPointerGetBlockNumberNoCheck(&item->tid) == InvalidBlockNumber)
					continue;
				c.rows[c.count++] = {distance(query, item->vector, t.dims), item->tid};
				pg::guarded([&] { tids.visit(heaptid_key(item->tid)); });
			}
		});
	sort_hot_rows(c.rows, c.count);
	*out = c.rows;
	*count = c.count;
}

} // namespace vecdb::tier
