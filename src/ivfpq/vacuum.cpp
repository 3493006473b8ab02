/*
 * vacuum.cpp: VACUUM of an ivfpq index: every list page loses the entries
 * of dead rows, the rest slide down to keep the page packed. Pages stay in
 * their chain (a list's tail keeps taking inserts; space freed earlier in
 * the chain is used again only by REINDEX, which vecdb_ivfpq_lists shows
 * when it is due).
 */
#include "ivfpq/ivfpq.h"

extern "C" {
#include "commands/vacuum.h"
}

namespace vecdb::ivfpq {

IndexBulkDeleteResult *
bulk_delete(IndexVacuumInfo *info, IndexBulkDeleteResult *stats, IndexBulkDeleteCallback callback,
			void *callback_state)
{
	Relation index = info->index;
	if (stats == nullptr)
		stats = static_cast<IndexBulkDeleteResult *>(palloc0(sizeof(IndexBulkDeleteResult)));
	const Model &model = load_model(index);
	const Size size = model.shape.entry_size();
	stats->num_index_tuples = 0;
	/* the hot rows first, under the tier's merge lock (tier/vacuum.cpp) */
	stats->tuples_removed +=
		tier::bulk_delete(tier_of(index, model.shape), callback, callback_state);
	for (int list = 0; list < model.shape.lists; list++)
		for_each_list_page(
			index, model.directory_blkno, list, BUFFER_LOCK_EXCLUSIVE,
			[&](Buffer buf, Page page) {
				int n = entry_count(page, size);
				char *entries = entries_of(page);
				bool is_dead[BLCKSZ / sizeof(ItemPointerData)];
				int dead = 0;
				for (int i = 0; i < n; i++)
				{
					ItemPointerData tid;
					memcpy(&tid, entries + i * size, sizeof(tid));
					is_dead[i] = callback(&tid, callback_state);
					dead += is_dead[i];
				}
				if (dead > 0)
				{
					GenericXLogState *state = GenericXLogStart(index);
					page = GenericXLogRegisterBuffer(state, buf, 0);
					entries = entries_of(page);
					int kept = 0;
					for (int i = 0; i < n; i++)
					{
						if (is_dead[i])
							continue;
						if (kept != i)
							memmove(entries + kept * size, entries + i * size, size);
						kept++;
					}
					set_contents_end(page, entries + kept * size);
					GenericXLogFinish(state);
					stats->tuples_removed += dead;
				}
				stats->num_index_tuples += n - dead;
			},
			/* a nap with the page locked would stall
			 * every insert into the list */
			vacuum_delay_point);
	stats->num_pages = RelationGetNumberOfBlocks(index);
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
		/* no bulk_delete ran: count the entries for pg_class.reltuples */
		Relation index = info->index;
		stats = static_cast<IndexBulkDeleteResult *>(palloc0(sizeof(IndexBulkDeleteResult)));
		const Model &model = load_model(index);
		const Size size = model.shape.entry_size();
		for (int list = 0; list < model.shape.lists; list++)
			for_each_list_page(
				index, model.directory_blkno, list, BUFFER_LOCK_SHARE,
				[&](Buffer, Page page) { stats->num_index_tuples += entry_count(page, size); });
		stats->num_pages = RelationGetNumberOfBlocks(index);
	}
	return stats;
}

} // namespace vecdb::ivfpq
