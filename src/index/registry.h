/*
 * registry.h: which access methods are vecdb's, and what the parts above
 * them (vecdb_index_check, vecdb_merge, the merge worker) may ask of each.
 * Each access method registers itself once, from _PG_init; nothing here
 * knows any of them by name, so no arrow points up.
 */
#pragma once

#include "pg/pg.h"
#include "pg/check_report.h"

extern "C" {
#include "access/amapi.h"
#include "utils/rel.h"
}

namespace vecdb::index {

/* Where an index keeps its hot tier (src/tier's Tier, less the relation). */
struct TierShape
{
	Size meta_offset; /* of the tier's state within the meta page's contents */
	uint16 page_id;   /* the id the access method's pages carry */
	int dims;         /* of the vectors it stores */
};

struct VectorAm
{
	const char *name; /* "hnsw", "ivfpq" */
	/* The access method's ambuild: how an open index is recognised as this
	 * one's (a pgvector "hnsw" beside ours has another). */
	ambuild_function build;
	/* vecdb_index_check() of an index of this method. */
	void (*check)(Relation heap, Relation index, pg::CheckReport &r);
	/*
	 * Merge at most max_rows hot rows (all when max_rows < 0) of the index
	 * into its cold structure; returns how many it merged. The caller holds
	 * RowExclusiveLock on the index. Blocks while another merge of the
	 * index runs, unless only_if_free: then returns -1 at once.
	 */
	int64 (*merge)(Relation index, int64 max_rows, bool only_if_free);
	/* Where the index keeps its hot tier; reads the meta page. (Its
	 * TierMeta, tier::read_meta, has the cheap counts: the items on the
	 * hot pages, an upper bound for thresholds, and the last merge.) */
	TierShape (*tier_shape)(Relation index);
};

/* Once per access method, from _PG_init. */
void register_am(const VectorAm &am);

/* The vecdb access method of an open index; nullptr if it is not vecdb's. */
const VectorAm *vector_am_of(Relation index);

/* Every registered access method, for those that list them. */
int registered_am_count();
const VectorAm &registered_am(int i);

} // namespace vecdb::index
