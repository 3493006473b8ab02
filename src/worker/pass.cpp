/*
 * pass.cpp: a per-database merge worker, started by the launcher
 * (launcher.cpp) for one pass over one database.
 *
 * It lists the database's vecdb indexes (nothing if the extension is not
 * installed there), then merges, in rounds of one batch an index, every
 * index whose hot tier holds vecdb.merge_threshold rows or more, until
 * those tiers are empty or its time budget is spent. A tier once taken on
 * is merged empty, even across passes: a pass that follows one that ran
 * out of time also takes every tier merged since that one began (the
 * launcher hands over its start, WorkerSlot::continue_since), else the
 * rows left below the threshold would wait for the next burst or VACUUM.
 * An index another merge holds (a VACUUM, vecdb_merge(), or
 * vecdb_hot_tier() counting under the merge lock) is tried again a moment
 * later, not given up for the pass, for the same reason. So that it never
 * gets in anyone's way:
 *
 *  - each batch is a transaction of its own: no snapshot or xmin is held
 *    for longer than one batch, and VACUUM is never held back;
 *  - it locks a table and an index as an INSERT does (RowExclusiveLock),
 *    but only conditionally: an index whose table is under DDL is left for
 *    the next pass, and DDL waits one batch at most;
 *  - an index or table dropped between two batches is simply no longer
 *    found; an ERROR while merging an index is logged, and the pass goes on
 *    with the other indexes;
 *  - before each batch it checks that no one waits to have the database to
 *    itself (DROP DATABASE, ALTER DATABASE RENAME, CREATE DATABASE with it
 *    as template: they take a lock on it and then wait only about 5 s for
 *    other sessions to leave), and leaves if someone does; and it exits
 *    after its time budget anyway.
 */
#include "pg/pg.h"
#include "index/registry.h"
#include "tier/tier.h"
#include "worker/internal.h"

extern "C" {
#include "access/heapam.h"
#include "access/htup_details.h"
#include "access/relation.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/dependency.h"
#include "catalog/index.h"
#include "catalog/pg_am.h"
#include "catalog/pg_class.h"
#include "catalog/pg_database.h"
#include "catalog/pg_extension.h"
#include "commands/extension.h"
#include "miscadmin.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/lmgr.h"
#include "storage/lock.h"
#include "tcop/tcopprot.h"
#include "utils/backend_status.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/timestamp.h"
#include "utils/wait_event.h"
}

namespace vecdb::worker {

namespace {

/*
 * A pass's time budget. A database's backlog larger than a pass can merge
 * makes the launcher start the next pass at once, so the budget costs only
 * a reconnection now and then; kept under the 5 s DROP DATABASE waits for
 * other sessions, it lets that succeed even if the lock check below could
 * not see the DROP coming.
 */
constexpr long pass_budget_ms = 3000;

/* How long to wait when every index left is being merged by another. */
constexpr long busy_wait_ms = 20;

/*
 * Rows asked of one merge call. Batches start small and grow while they
 * take under batch_fast_ms, shrink while they take over batch_slow_ms: a
 * batch holds its locks throughout, so that is as long as DDL or a DROP
 * DATABASE may have to wait for it.
 */
constexpr int first_batch_rows = 64;
constexpr int min_batch_rows = 8;
constexpr int max_batch_rows = 16384;
constexpr long batch_fast_ms = 200;
constexpr long batch_slow_ms = 1000;

/* This process's slot (internal.h), once it is sure the slot is its own. */
int my_slot = -1;
uint32 my_generation = 0;
bool pass_unfinished = false;
TimestampTz continue_since = 0; /* WorkerSlot::continue_since */

struct Target
{
	Oid index;
	bool active;    /* still to be merged in this pass */
	bool qualified; /* reached merge_threshold: merge it empty */
	bool busy;      /* its last batch found another merge running */
	int batch_rows;
};

/* The slot's dboid, taking the slot; InvalidOid if it is not ours. */
Oid
claim_slot(int slot, uint32 generation)
{
	Oid dboid = InvalidOid;
	if (shared == nullptr || slot < 0 || slot >= shared->nslots)
		return InvalidOid;
	SpinLockAcquire(&shared->mutex);
	WorkerSlot *s = &shared->slots[slot];
	if (s->in_use && s->generation == generation && s->pid == 0 && !s->exited)
	{
		s->pid = MyProcPid;
		dboid = s->dboid;
		continue_since = s->continue_since;
		my_slot = slot;
		my_generation = generation;
	}
	SpinLockRelease(&shared->mutex);
	return dboid;
}

/* At exit, FATAL included: tell the launcher this worker is gone. */
void
release_slot(int code, Datum arg)
{
	if (my_slot < 0)
		return;
	SpinLockAcquire(&shared->mutex);
	WorkerSlot *s = &shared->slots[my_slot];
	if (s->generation == my_generation && s->pid == MyProcPid)
	{
		s->exited = true;
		s->unfinished = pass_unfinished;
	}
	SpinLockRelease(&shared->mutex);
}

/* The OIDs of the index access methods that extension ext created. */
int
vecdb_access_methods(Oid ext, Oid *ams, int max_ams)
{
	int n = 0;
	Relation rel = table_open(AccessMethodRelationId, AccessShareLock);
	TableScanDesc scan = table_beginscan_catalog(rel, 0, nullptr);
	HeapTuple tuple;
	while ((tuple = heap_getnext(scan, ForwardScanDirection)) != nullptr && n < max_ams)
	{
		Form_pg_am am = reinterpret_cast<Form_pg_am>(GETSTRUCT(tuple));
		if (am->amtype == AMTYPE_INDEX &&
			getExtensionOfObject(AccessMethodRelationId, am->oid) == ext)
			ams[n++] = am->oid;
	}
	table_endscan(scan);
	table_close(rel, AccessShareLock);
	return n;
}

/*
 * The database's indexes of vecdb's access methods, but not those of other
 * sessions' temporary tables, whose pages only their own session can read.
 * Found by the access methods' membership of extension vecdb, not by name:
 * the name "hnsw" may be another extension's in another database; each is
 * confirmed with vector_am_of() once opened.
 */
Target *
list_targets(MemoryContext context, int *count)
{
	*count = 0;
	Target *targets = nullptr;
	int capacity = 0;

	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	Oid ext = get_extension_oid("vecdb", true);
	Oid ams[8];
	int nams = OidIsValid(ext) ? vecdb_access_methods(ext, ams, lengthof(ams)) : 0;
	if (nams > 0)
	{
		Relation rel = table_open(RelationRelationId, AccessShareLock);
		TableScanDesc scan = table_beginscan_catalog(rel, 0, nullptr);
		HeapTuple tuple;
		while ((tuple = heap_getnext(scan, ForwardScanDirection)) != nullptr)
		{
			Form_pg_class c = reinterpret_cast<Form_pg_class>(GETSTRUCT(tuple));
			if (c->relkind != RELKIND_INDEX || c->relpersistence == RELPERSISTENCE_TEMP)
				continue;
			bool ours = false;
			for (int i = 0; i < nams && !ours; i++)
				ours = c->relam == ams[i];
			if (!ours)
				continue;
			if (*count == capacity)
			{
				capacity = Max(16, capacity * 2);
				Size size = capacity * sizeof(Target);
				targets = static_cast<Target *>(targets ? repalloc(targets, size)
														: MemoryContextAlloc(context, size));
			}
			targets[(*count)++] = Target{c->oid, true, false, false, first_batch_rows};
		}
		table_endscan(scan);
		table_close(rel, AccessShareLock);
	}
	CommitTransactionCommand();
	MemoryContextSwitchTo(context);
	return targets;
}

/*
 * Whether someone has locked this database against new sessions and waits
 * for the others to leave. Inside a transaction.
 */
bool
database_wanted()
{
	LOCKTAG tag;
	SET_LOCKTAG_OBJECT(tag, InvalidOid, DatabaseRelationId, MyDatabaseId, 0);
	if (LockAcquire(&tag, RowExclusiveLock, false, true) == LOCKACQUIRE_NOT_AVAIL)
		return true;
	LockRelease(&tag, RowExclusiveLock, false);
	return false;
}

/*
 * Lock (conditionally) and open the index and its table, as they are now:
 * nullptr, with t->active cleared, if either is gone, locked by someone
 * else, or no longer a live, valid vecdb index. Locks are kept to the end
 * of the transaction.
 */
Relation
open_target(Target *t, Relation *heap_out)
{
	t->active = false;
	Oid heap_oid = IndexGetRelation(t->index, true);
	if (!OidIsValid(heap_oid) || !ConditionalLockRelationOid(heap_oid, RowExclusiveLock))
		return nullptr;
	/* with the lock, invalidations are in: a dropped table is gone now */
	Relation heap = try_relation_open(heap_oid, NoLock);
	if (heap == nullptr)
		return nullptr;
	if (!ConditionalLockRelationOid(t->index, RowExclusiveLock))
	{
		relation_close(heap, NoLock);
		return nullptr;
	}
	Relation index = try_relation_open(t->index, NoLock);
	if (index == nullptr)
	{
		relation_close(heap, NoLock);
		return nullptr;
	}
	if (index->rd_rel->relkind != RELKIND_INDEX || index->rd_index->indrelid != heap_oid ||
		!index->rd_index->indisvalid || !index->rd_index->indisready ||
		!index->rd_index->indislive || index::vector_am_of(index) == nullptr)
	{
		relation_close(index, NoLock);
		relation_close(heap, NoLock);
		return nullptr;
	}
	t->active = true;
	*heap_out = heap;
	return index;
}

void
report_merging(Relation index)
{
	char activity[NAMEDATALEN + 64];
	snprintf(activity, sizeof(activity), "vecdb merge of index \"%s\"",
			 RelationGetRelationName(index));
	pgstat_report_activity(STATE_RUNNING, activity);
}

/* Grow or shrink the next batch by how long this one took. */
void
adapt_batch(Target *t, TimestampTz started)
{
	long ms = TimestampDifferenceMilliseconds(started, GetCurrentTimestamp());
	if (ms < batch_fast_ms)
		t->batch_rows = Min(t->batch_rows * 2, max_batch_rows);
	else if (ms > batch_slow_ms)
		t->batch_rows = Max(t->batch_rows / 2, min_batch_rows);
}

/* Whether t's tier is this pass's to merge (see the top). */
bool
qualifies(const Target *t, const index::VectorAm *am, Relation index)
{
	tier::TierMeta m = tier::read_meta(tier::tier_of(index, am->tier_shape(index)));
	if (m.rows < 1)
		return false;
	return t->qualified || m.rows >= merge_threshold ||
		   (continue_since != 0 && m.last_merge >= continue_since);
}

/* One batch of t, inside the caller's transaction. */
void
merge_batch_in_transaction(Target *t)
{
	Relation heap;
	Relation index = open_target(t, &heap);
	if (index == nullptr)
		return;
	const index::VectorAm *am = index::vector_am_of(index);
	t->busy = false;
	if (!qualifies(t, am, index))
		t->active = false;
	else
	{
		t->qualified = true;
		report_merging(index);
		TimestampTz started = GetCurrentTimestamp();
		/* only_if_free: -1 if another merge runs; 0: nothing left */
		int64 merged = am->merge(index, t->batch_rows, true);
		if (merged < 0)
			t->busy = true;
		else if (merged == 0)
			t->active = false;
		else
			adapt_batch(t, started);
	}
	relation_close(index, NoLock);
	relation_close(heap, NoLock);
}

/*
 * One batch of t, a transaction of its own. An ERROR (a damaged index, a
 * cancel) is logged and ends t's part in this pass, not the pass: the
 * other indexes of the database still get merged. (Nothing on the stack
 * between here and the ERROR owns a destructor: design.md.)
 */
void
merge_batch(Target *t, MemoryContext context)
{
	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	PG_TRY();
	{
		merge_batch_in_transaction(t);
		CommitTransactionCommand();
	}
	PG_CATCH();
	{
		HOLD_INTERRUPTS();
		EmitErrorReport();
		AbortOutOfAnyTransaction();
		FlushErrorState();
		RESUME_INTERRUPTS();
		t->active = false;
	}
	PG_END_TRY();
	MemoryContextSwitchTo(context);
	pgstat_report_activity(STATE_IDLE, nullptr);
}

bool
someone_waits_for_database()
{
	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	bool wanted = database_wanted();
	CommitTransactionCommand();
	return wanted;
}

/* The pass over the connected database; true if time ran out with work
 * left. */
bool
run_pass(TimestampTz deadline)
{
	MemoryContext context =
		AllocSetContextCreate(TopMemoryContext, "vecdb merge pass", ALLOCSET_DEFAULT_SIZES);
	MemoryContextSwitchTo(context);
	int count;
	Target *targets = list_targets(context, &count);
	for (bool any_active = count > 0; any_active;)
	{
		any_active = false;
		bool all_busy = true;
		for (int i = 0; i < count; i++)
		{
			Target *t = &targets[i];
			if (!t->active)
				continue;
			CHECK_FOR_INTERRUPTS();
			if (ConfigReloadPending)
			{
				ConfigReloadPending = false;
				ProcessConfigFile(PGC_SIGHUP);
			}
			if (GetCurrentTimestamp() >= deadline)
				return true;
			if (someone_waits_for_database())
				return false;
			merge_batch(t, context);
			any_active |= t->active;
			all_busy &= !t->active || t->busy;
		}
		if (any_active && all_busy)
		{
			(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH, busy_wait_ms,
							 PG_WAIT_EXTENSION);
			ResetLatch(MyLatch);
		}
	}
	return false;
}

} // namespace

} // namespace vecdb::worker

using namespace vecdb::worker;

void
vecdb_merge_worker_main(Datum arg)
{
	uint32 generation;
	memcpy(&generation, MyBgworkerEntry->bgw_extra, sizeof(generation));
	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	/* die, not bgworker_die: a terminate is a FATAL at a
	 * CHECK_FOR_INTERRUPTS, where a merge may stop, not an exit from
	 * inside the signal handler */
	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();

	on_shmem_exit(release_slot, static_cast<Datum>(0));
	Oid dboid = claim_slot(DatumGetInt32(arg), generation);
	if (!OidIsValid(dboid))
		proc_exit(0);
	TimestampTz deadline = TimestampTzPlusMilliseconds(GetCurrentTimestamp(), pass_budget_ms);
	BackgroundWorkerInitializeConnectionByOid(dboid, InvalidOid, 0);
	pgstat_report_appname("vecdb merge worker");

	pass_unfinished = run_pass(deadline);
	proc_exit(0);
}
