/*
 * tier.h: the streaming hot tier every vecdb index keeps (design.md,
 * "Streaming tiers"): an append-only chain of pages of (heap TID, vector as
 * the index stores it). An INSERT appends one item; a scan reads every hot
 * item exactly and merges them with the cold structure's answer; a merge
 * moves items into the cold structure (the graph, the lists) and retires the
 * pages it emptied. The access methods own the cold side; this layer owns
 * the pages, and knows nothing of graphs or lists.
 *
 * State. The meta page of the index holds a TierMeta (where, the access
 * method says: Tier::meta_offset). The chain runs from head to tail through
 * PageOpaque::next; each page carries a sequence number, one more than its
 * predecessor's. Retired pages keep their next link and number, and wait on
 * a stack (TierMeta::free_head, TierPage::free_next) to be reused as a new
 * tail, with a new, higher number.
 *
 * Why scans need no lock against merges. A scan reads the hot pages before
 * it searches the cold structure, one page at a time, each under its share
 * lock, expecting head_seq, head_seq + 1, ... along the chain:
 *  - an item it reads as hot is, at worst, merged meanwhile: it may then
 *    also come back from the cold search, and the scan drops that copy (it
 *    remembers the TIDs of the hot items it read);
 *  - an item it reads as merged, or on a retired page, was in the cold
 *    structure before the scan's cold search began, which finds it there;
 *  - a page reused since the scan read the link to it carries a number it
 *    does not expect: the scan starts its hot pass again, from the meta page.
 * So a row is neither missed nor returned twice, on a primary or a standby
 * (where replay moves pages under the scans in the same way).
 *
 * Why a crash loses no row and merges none twice: see merge.cpp.
 */
#pragma once

#include "pg/pg.h"
#include "pg/check_report.h"
#include "core/distance.h"
#include "core/visited.h"
#include "index/page.h"
#include "index/registry.h"
#include "index/vector_index.h"

extern "C" {
#include "access/genam.h"
#include "access/generic_xlog.h"
#include "access/reloptions.h"
#include "datatype/timestamp.h"
#include "storage/bufmgr.h"
#include "storage/itemptr.h"
#include "utils/rel.h"
}

namespace vecdb::tier {

/* A tier page's state, in PageOpaque::flags beside index::page_tier. */
constexpr uint16 page_retired = 1 << 9;

/* The tier's state, inside the index's meta page. */
struct TierMeta
{
	BlockNumber head;       /* first page of the chain; InvalidBlockNumber: none yet */
	BlockNumber tail;       /* the page appends go to */
	BlockNumber free_head;  /* retired pages to reuse: a stack */
	uint32 pages;           /* pages in the chain */
	uint64 head_seq;        /* the head page's sequence number */
	uint64 next_seq;        /* the number the next new page gets */
	int64 rows;             /* items on the chain's pages: hot, merged or dead */
	int64 merged;           /* rows merged into the cold structure, ever */
	TimestampTz last_merge; /* 0: never */
};

/* At the start of a tier page's contents; its items follow. */
struct TierPage
{
	uint64 seq;
	BlockNumber free_next; /* when retired: the next page of the free stack */
	uint16 item_size;
	uint16 unused;
};

/* One hot row. Items are packed from MAXALIGN(sizeof(TierPage)) on, each
 * item_size bytes, and end at pd_lower. */
struct Item
{
	ItemPointerData tid;
	uint8 flags;
	uint8 unused;
	float vector[FLEXIBLE_ARRAY_MEMBER];
};

constexpr uint8 item_merged = 1 << 0; /* in the cold structure now */
constexpr uint8 item_dead = 1 << 1;   /* VACUUM found its row dead */

/* Pinned: the corruption and old-format tests patch pages by offset. */
static_assert(offsetof(TierMeta, head) == 0, "TierMeta layout");
static_assert(offsetof(TierMeta, head_seq) == 16, "TierMeta layout");
static_assert(offsetof(TierMeta, rows) == 32, "TierMeta layout");
static_assert(sizeof(TierMeta) == 56, "TierMeta layout");
static_assert(offsetof(Item, flags) == 6 && offsetof(Item, vector) == 8, "Item layout");

constexpr Size items_offset = MAXALIGN(sizeof(TierPage));

/* One index's tier: the index, where its meta page keeps TierMeta, the id
 * its pages carry, and the dimensions of the vectors it stores. */
struct Tier
{
	Relation index;
	Size meta_offset; /* of TierMeta within the meta page's contents */
	uint16 page_id;
	int dims;
	bool packed = false; /* the slots pack bits or halves (core/metric.h), not floats */
};

/* The tier of an index, where its access method says it is
 * (index::VectorAm::tier_shape): for the parts above both. */
inline Tier
tier_of(Relation index, const index::TierShape &shape)
{
	return {index, shape.meta_offset, shape.page_id, shape.dims};
}

inline Size
item_size(int dims)
{
	return offsetof(Item, vector) + sizeof(float) * dims;
}

/* Whether an index's inserts go to its tier: its streaming option, and its
 * vectors fit a tier page (ivfpq indexes up to 16,000 dims, a tier page
 * holds about 2,000: wider ones are inserted at once). */
inline bool streams(bool streaming_option, int dims);

/* Whether vectors of dims fit a tier page: an index checks at CREATE INDEX. */
inline bool
fits_page(int dims)
{
	return items_offset + item_size(dims) <= index::page_room;
}

inline bool
streams(bool streaming_option, int dims)
{
	return streaming_option && fits_page(dims);
}

/* A new tier's state, for the build to put in the meta page. */
void init_meta(TierMeta *meta);

/* The tier's state as the meta page holds it now. */
TierMeta read_meta(const Tier &t);

/* vecdb.hot_tier_max_rows: the cap past which an insert merges a batch. */
extern int hot_tier_max_rows;
/* The rows a back-pressure merge moves: a quarter of the cap. */
int64 batch_rows();
/* Register the tier's settings; once, from _PG_init. */
void define_settings();
/* The reloption streaming (default on) of an access method: whether its
 * inserts go to the hot tier, or into the cold structure at once. */
void add_streaming_option(relopt_kind kind);

/* Append one row; returns the tier's rows after it. WAL-logged. */
int64 append(const Tier &t, ItemPointer tid, const float *vector);

/*
 * A merge's hand-over of one hot item to the cold structure. The access
 * method's cold insert calls register_in() inside the GenericXLog record
 * that makes the row part of the cold structure, after registering its own
 * pages, and release() after GenericXLogFinish: the item is marked merged in
 * that same record, so that a crash leaves the row on exactly one side.
 */
struct MergeMark
{
	Relation index;
	BlockNumber blkno;
	int item;
	Buffer buffer; /* locked between register_in and release */

	void register_in(GenericXLogState *state);
	void release();
};

/* Finish the record that puts a row into the cold structure, with mark
 * (nullptr outside a merge) registered in it. */
void finish_write(GenericXLogState *state, MergeMark *mark);

/*
 * The cold side of a merge: put vector (dims floats, as the index stores
 * it) of the row at tid into the cold structure, calling mark's
 * register_in/release around the write that does it, exactly once. It
 * puts the row in or raises an ERROR: a row it skipped would be lost.
 */
using ColdInsert = void (*)(void *arg, const float *vector, ItemPointer tid, MergeMark *mark);

/* What a merge is asked to do. */
struct MergeGoal
{
	int64 max_rows;     /* at most this many rows; all when negative */
	bool only_if_free;  /* return -1 at once if another merge runs */
	int64 stop_at_rows; /* stop once the tier holds no more (-1: never);
						 * back-pressure's waiters find the work done */
};

/*
 * Merge hot rows, page by page, and retire the pages emptied; returns the
 * rows merged, or -1 (see only_if_free). One merge of an index runs at a
 * time (a heavyweight lock; VACUUM's sweep of the hot pages takes it too).
 */
int64 merge(const Tier &t, const MergeGoal &goal, ColdInsert insert, void *arg);

/* Back-pressure: after an append that left the tier with rows, whether
 * the inserting backend must merge (MergeGoal back_pressure_goal()). */
inline bool
over_cap(int64 rows)
{
	return rows > hot_tier_max_rows;
}
MergeGoal back_pressure_goal();

/* One hot row as a scan sees it. */
struct HotRow
{
	float distance;
	ItemPointerData tid;
};

/* Sort rows nearest first; NaN distances (a NULL or zero query) last, as
 * a sort puts them. */
void sort_hot_rows(HotRow *rows, int count);

/*
 * Every hot row (not merged, not dead) with its distance to query by
 * distance, into out (palloc'd, *count of them, nearest first); their TIDs
 * go into tids. May restart its pass (see above); ERROR if the chain is
 * damaged.
 */
void read_hot_rows(const Tier &t, core::DistanceFn distance, const float *query, HotRow **out,
				   int *count, core::VisitedHash &tids);

/*
 * VACUUM: mark dead the hot items whose TIDs callback says are dead, under
 * the merge lock (so that no merge hands one to the cold structure while
 * VACUUM's cold pass has gone by); returns how many.
 */
int64 bulk_delete(const Tier &t, IndexBulkDeleteCallback callback, void *callback_state);

/* Hold off merges of the index (its merge lock), for a checker that reads
 * the cold structure and the tier as one; released at the end of the
 * transaction if not before. */
bool lock_merges(const Tier &t, bool only_if_free = false); /* false: busy */
void unlock_merges(const Tier &t);

/*
 * vecdb_index_check of the tier, under lock_merges: the meta state, the
 * chain (kinds, links, numbers, items), the free stack. Each hot live
 * item's TID goes into indexed; one already there is reported.
 */
void check(const Tier &t, pg::CheckReport &r, core::VisitedHash &indexed);

/* Whether a page is a tier page: page walkers skip them. */
inline bool
is_tier_page(Page page)
{
	return index::page_header_is_sound(page) &&
		   (index::page_opaque(page)->flags & index::page_tier);
}

/* What vecdb_hot_tier() reports. */
struct Stats
{
	int64 rows;  /* hot rows: not merged, not dead */
	int64 pages; /* pages in the chain */
	int64 merged;
	TimestampTz last_merge;
};
Stats stats(const Tier &t);

} // namespace vecdb::tier
