/*
 * launcher.cpp: the worker's settings, its shared memory, and the launcher.
 *
 * The launcher is a static background worker that starts once recovery is
 * over (never on a standby: its indexes change only through WAL replay)
 * and is restarted by the postmaster when it dies, a crash included. It
 * connects to no database: it reads the shared catalog pg_database and
 * starts, as autovacuum's launcher does, one dynamic worker a database
 * every vecdb.merge_naptime, at most vecdb.max_merge_workers at once. The
 * per-database workers (pass.cpp) do the merging and exit after a bounded
 * pass, so that no worker stays connected to a database that someone wants
 * to drop.
 */
#include "pg/pg.h"
#include "worker/internal.h"
#include "worker/worker.h"

extern "C" {
#include "access/heapam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/pg_database.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "postmaster/postmaster.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"
#include "tcop/tcopprot.h"
#include "utils/backend_status.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"
#include "utils/wait_event.h"
}

#include <climits>

namespace vecdb::worker {

/*
 * Defaults. Every background worker takes one of max_worker_processes'
 * slots (8 by default), which parallel query and logical replication share:
 * the launcher and 2 workers leave 5 of them. Two are enough for merging to
 * keep up with a few busy databases; a cluster that needs more raises both.
 */
int max_merge_workers = 2;
/*
 * 10 s: a hot tier is searched exactly by every scan, so rows should not
 * wait there long, but a pass costs a connection and a look at pg_class;
 * autovacuum's 1 min naptime would leave a busy table's tier large.
 */
int merge_naptime_ms = 10000;
/*
 * 1000 rows: an exact scan of that many vectors costs a query about as much
 * as one graph search, and a batch that size amortises a merge's start
 * (opening the index, locking its tier). Below it, rows wait for more,
 * for VACUUM or for vecdb_merge().
 */
int merge_threshold = 1000;

Shared *shared = nullptr;

namespace {

/* Seconds before the postmaster starts a launcher that died (or was
 * terminated) again; short, since no merge happens without it. */
constexpr int launcher_restart_seconds = 5;
/* A slot whose worker, started by an earlier launcher, has not begun to run
 * after this long is taken to have failed to start. */
constexpr long stale_start_ms = 60000;

shmem_request_hook_type prev_shmem_request_hook = nullptr;
shmem_startup_hook_type prev_shmem_startup_hook = nullptr;

Size
shared_size()
{
	return add_size(offsetof(Shared, slots), mul_size(max_merge_workers, sizeof(WorkerSlot)));
}

void
request_shmem()
{
	if (prev_shmem_request_hook)
		prev_shmem_request_hook();
	RequestAddinShmemSpace(shared_size());
}

void
startup_shmem()
{
	if (prev_shmem_startup_hook)
		prev_shmem_startup_hook();
	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	bool found;
	shared = static_cast<Shared *>(ShmemInitStruct("vecdb merge workers", shared_size(), &found));
	if (!found)
	{
		/* a crash restart comes here too: its workers are all gone */
		memset(shared, 0, shared_size());
		SpinLockInit(&shared->mutex);
		shared->nslots = max_merge_workers;
	}
	LWLockRelease(AddinShmemInitLock);
}

void
define_settings()
{
	/* PostgreSQL refuses (FATAL) a PGC_POSTMASTER setting defined by a
	 * library loaded after startup: this one exists only when preloaded */
	if (process_shared_preload_libraries_in_progress)
		DefineCustomIntVariable(
			"vecdb.max_merge_workers",
			"Sets the most background workers that merge hot tiers at once.",
			"Each takes a slot of max_worker_processes, as does their launcher; 0 starts none.",
			&max_merge_workers, 2, 0, MAX_BACKENDS, PGC_POSTMASTER, 0, nullptr, nullptr, nullptr);
	DefineCustomIntVariable("vecdb.merge_naptime",
							"Sets the time between two merge passes over one database.", nullptr,
							&merge_naptime_ms, 10000, 10, INT_MAX / 1000, PGC_SIGHUP, GUC_UNIT_MS,
							nullptr, nullptr, nullptr);
	DefineCustomIntVariable(
		"vecdb.merge_threshold",
		"Sets the hot tier rows at which the background worker merges an index.",
		"Once an index has this many, a pass merges all of its hot tier.", &merge_threshold, 1000,
		1, INT_MAX, PGC_SIGHUP, 0, nullptr, nullptr, nullptr);
}

void
register_static_launcher()
{
	BackgroundWorker bgw;
	memset(&bgw, 0, sizeof(bgw));
	bgw.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	bgw.bgw_start_time = BgWorkerStart_RecoveryFinished;
	bgw.bgw_restart_time = launcher_restart_seconds;
	strlcpy(bgw.bgw_library_name, "vecdb", BGW_MAXLEN);
	strlcpy(bgw.bgw_function_name, "vecdb_merge_launcher_main", BGW_MAXLEN);
	strlcpy(bgw.bgw_name, "vecdb merge launcher", BGW_MAXLEN);
	strlcpy(bgw.bgw_type, "vecdb merge launcher", BGW_MAXLEN);
	RegisterBackgroundWorker(&bgw);
}

/* ---------------------------------------------------------------------
 * The launcher's own bookkeeping, in its memory context.
 */

struct Database
{
	Oid oid;
	TimestampTz due; /* when a worker should next be started for it */
	/* its last pass ran out of time with work left: that pass's start
	 * (WorkerSlot::continue_since); 0: it did not */
	TimestampTz continue_since;
};

struct Launcher
{
	MemoryContext context;
	/* by slot: the handles of the workers this launcher started */
	BackgroundWorkerHandle **handles;
	Database *dbs; /* sorted by oid */
	int ndbs;
	TimestampTz next_listing;
	bool reported_no_slot;
};

int
compare_database_oid(const void *a, const void *b)
{
	Oid x = static_cast<const Database *>(a)->oid;
	Oid y = static_cast<const Database *>(b)->oid;
	return x < y ? -1 : x > y ? 1 : 0;
}

Database *
find_database(Launcher *l, Oid oid)
{
	/* no bsearch over a null array: UBSan (nonnull) rightly objects */
	if (l->ndbs == 0)
		return nullptr;
	Database key{oid, 0, 0};
	return static_cast<Database *>(
		bsearch(&key, l->dbs, l->ndbs, sizeof(Database), compare_database_oid));
}

/*
 * Read pg_database: the databases that may be connected to (datallowconn,
 * not templates, not left invalid by an interrupted DROP DATABASE). A
 * database already known keeps its due time; a new one is due now.
 */
void
list_databases(Launcher *l, TimestampTz now)
{
	int n = 0;
	int capacity = Max(l->ndbs, 16);
	Database *dbs =
		static_cast<Database *>(MemoryContextAlloc(l->context, capacity * sizeof(Database)));

	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	Relation rel = table_open(DatabaseRelationId, AccessShareLock);
	TableScanDesc scan = table_beginscan_catalog(rel, 0, nullptr);
	HeapTuple tuple;
	while ((tuple = heap_getnext(scan, ForwardScanDirection)) != nullptr)
	{
		Form_pg_database db = reinterpret_cast<Form_pg_database>(GETSTRUCT(tuple));
		if (db->datistemplate || !db->datallowconn || database_is_invalid_form(db))
			continue;
		if (n == capacity)
		{
			capacity *= 2;
			dbs = static_cast<Database *>(repalloc(dbs, capacity * sizeof(Database)));
		}
		Database *known = find_database(l, db->oid);
		dbs[n].oid = db->oid;
		dbs[n].due = known ? known->due : now;
		dbs[n].continue_since = known ? known->continue_since : 0;
		n++;
	}
	table_endscan(scan);
	table_close(rel, AccessShareLock);
	CommitTransactionCommand();
	MemoryContextSwitchTo(l->context);

	qsort(dbs, n, sizeof(Database), compare_database_oid);
	if (l->dbs)
		pfree(l->dbs);
	l->dbs = dbs;
	l->ndbs = n;
	l->next_listing = TimestampTzPlusMilliseconds(now, merge_naptime_ms);
}

void
free_slot(int i)
{
	SpinLockAcquire(&shared->mutex);
	shared->slots[i].in_use = false;
	SpinLockRelease(&shared->mutex);
}

/*
 * Free the slots of workers that are gone: those that said so as they
 * exited, those the postmaster reports stopped (a worker that failed to
 * start says nothing), and those an earlier launcher started that never
 * began to run. A worker that ran out of time with work left makes its
 * database due again at once.
 */
void
reap_workers(Launcher *l, TimestampTz now)
{
	for (int i = 0; i < shared->nslots; i++)
	{
		SpinLockAcquire(&shared->mutex);
		WorkerSlot s = shared->slots[i];
		SpinLockRelease(&shared->mutex);
		if (!s.in_use)
			continue;
		bool gone = s.exited;
		if (!gone && l->handles[i] != nullptr)
		{
			pid_t pid;
			gone = GetBackgroundWorkerPid(l->handles[i], &pid) == BGWH_STOPPED;
		}
		else if (!gone)
			gone = s.pid == 0 && TimestampDifferenceExceeds(s.started_at, now, stale_start_ms);
		if (!gone)
			continue;
		if (s.exited && s.unfinished)
		{
			Database *db = find_database(l, s.dboid);
			if (db)
			{
				db->due = now;
				db->continue_since = s.started_at;
			}
		}
		free_slot(i);
		if (l->handles[i] != nullptr)
		{
			pfree(l->handles[i]);
			l->handles[i] = nullptr;
		}
	}
}

bool
is_served(Oid dboid)
{
	bool served = false;
	SpinLockAcquire(&shared->mutex);
	for (int i = 0; i < shared->nslots && !served; i++)
		served = shared->slots[i].in_use && shared->slots[i].dboid == dboid;
	SpinLockRelease(&shared->mutex);
	return served;
}

/* Take a free slot for a worker of db; -1 if all are in use. */
int
take_slot(const Database *db, TimestampTz now, uint32 *generation)
{
	int taken = -1;
	SpinLockAcquire(&shared->mutex);
	for (int i = 0; i < shared->nslots && taken < 0; i++)
	{
		WorkerSlot *s = &shared->slots[i];
		if (s->in_use)
			continue;
		s->in_use = true;
		s->generation++;
		s->dboid = db->oid;
		s->started_at = now;
		s->pid = 0;
		s->exited = false;
		s->unfinished = false;
		s->continue_since = db->continue_since;
		*generation = s->generation;
		taken = i;
	}
	SpinLockRelease(&shared->mutex);
	return taken;
}

/* The database most overdue that no worker serves; nullptr if none is due. */
Database *
next_due(Launcher *l, TimestampTz now)
{
	Database *best = nullptr;
	for (int i = 0; i < l->ndbs; i++)
	{
		Database *db = &l->dbs[i];
		if (db->due <= now && (best == nullptr || db->due < best->due) && !is_served(db->oid))
			best = db;
	}
	return best;
}

bool
start_worker(Launcher *l, int slot, uint32 generation, Oid dboid)
{
	BackgroundWorker bgw;
	memset(&bgw, 0, sizeof(bgw));
	bgw.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	bgw.bgw_start_time = BgWorkerStart_RecoveryFinished;
	bgw.bgw_restart_time = BGW_NEVER_RESTART;
	strlcpy(bgw.bgw_library_name, "vecdb", BGW_MAXLEN);
	strlcpy(bgw.bgw_function_name, "vecdb_merge_worker_main", BGW_MAXLEN);
	snprintf(bgw.bgw_name, BGW_MAXLEN, "vecdb merge worker for database %u", dboid);
	strlcpy(bgw.bgw_type, "vecdb merge worker", BGW_MAXLEN);
	bgw.bgw_main_arg = Int32GetDatum(slot);
	memcpy(bgw.bgw_extra, &generation, sizeof(generation));
	/* the postmaster signals us when it stops, which sets our latch */
	bgw.bgw_notify_pid = MyProcPid;

	MemoryContext old = MemoryContextSwitchTo(l->context);
	bool started = RegisterDynamicBackgroundWorker(&bgw, &l->handles[slot]);
	MemoryContextSwitchTo(old);
	if (!started)
	{
		l->handles[slot] = nullptr;
		free_slot(slot);
	}
	return started;
}

/* Start workers for the databases that are due, while slots are free. */
void
start_due_workers(Launcher *l, TimestampTz now)
{
	for (;;)
	{
		Database *db = next_due(l, now);
		if (db == nullptr)
			return;
		uint32 generation;
		int slot = take_slot(db, now, &generation);
		if (slot < 0)
			return;
		/* due again a naptime after this start, or at once if it runs out
		 * of time with work left (reap_workers) */
		db->due = TimestampTzPlusMilliseconds(now, merge_naptime_ms);
		if (!start_worker(l, slot, generation, db->oid))
		{
			if (!l->reported_no_slot)
				ereport(LOG, (errmsg("vecdb merge launcher could not start a worker: no free "
									 "background worker slot"),
							  errhint("Consider raising max_worker_processes.")));
			l->reported_no_slot = true;
			return;
		}
		l->reported_no_slot = false;
		db->continue_since = 0; /* the new pass has it */
	}
}

/* How long to sleep: until the next listing, or the next due database if a
 * slot is free, or a second while a slot of an earlier launcher's worker
 * waits to be reaped (its exit does not signal us). */
long
sleep_ms(Launcher *l, TimestampTz now)
{
	long ms = TimestampDifferenceMilliseconds(now, l->next_listing);
	bool slot_free = false;
	bool orphans = false;
	SpinLockAcquire(&shared->mutex);
	for (int i = 0; i < shared->nslots; i++)
	{
		const WorkerSlot &s = shared->slots[i];
		slot_free |= !s.in_use;
		orphans |= s.in_use && l->handles[i] == nullptr;
	}
	SpinLockRelease(&shared->mutex);
	if (slot_free)
		for (int i = 0; i < l->ndbs; i++)
			if (!is_served(l->dbs[i].oid))
				ms = Min(ms, TimestampDifferenceMilliseconds(now, l->dbs[i].due));
	if (orphans)
		ms = Min(ms, 1000L);
	return Max(ms, 1L);
}

/* After a reload: nothing waits longer than the new naptime. */
void
shorten_naps(Launcher *l, TimestampTz now)
{
	TimestampTz limit = TimestampTzPlusMilliseconds(now, merge_naptime_ms);
	l->next_listing = Min(l->next_listing, limit);
	for (int i = 0; i < l->ndbs; i++)
		l->dbs[i].due = Min(l->dbs[i].due, limit);
}

} // namespace

void
register_launcher()
{
	define_settings();
	/* not under pg_upgrade either (IsBinaryUpgrade), which keeps
	 * autovacuum off too: no index is written behind its back */
	if (!process_shared_preload_libraries_in_progress || max_merge_workers == 0 || IsBinaryUpgrade)
		return;
	if (max_merge_workers + 1 > max_worker_processes)
		ereport(WARNING,
				(errmsg("vecdb.max_merge_workers (%d) leaves no room in max_worker_processes "
						"(%d) for the merge launcher",
						max_merge_workers, max_worker_processes),
				 errhint("Raise max_worker_processes to at least %d.", max_merge_workers + 1)));
	prev_shmem_request_hook = shmem_request_hook;
	shmem_request_hook = request_shmem;
	prev_shmem_startup_hook = shmem_startup_hook;
	shmem_startup_hook = startup_shmem;
	register_static_launcher();
}

} // namespace vecdb::worker

using namespace vecdb::worker;

void
vecdb_merge_launcher_main(Datum arg)
{
	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	/* die: a terminate is a FATAL at the next CHECK_FOR_INTERRUPTS, an exit
	 * code of 1, and so a restart by the postmaster */
	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();
	/* no database: the shared catalogs only */
	BackgroundWorkerInitializeConnection(nullptr, nullptr, 0);
	pgstat_report_appname("vecdb merge launcher");

	Launcher *l =
		static_cast<Launcher *>(MemoryContextAllocZero(TopMemoryContext, sizeof(Launcher)));
	l->context =
		AllocSetContextCreate(TopMemoryContext, "vecdb merge launcher", ALLOCSET_DEFAULT_SIZES);
	l->handles = static_cast<BackgroundWorkerHandle **>(
		MemoryContextAllocZero(l->context, shared->nslots * sizeof(BackgroundWorkerHandle *)));
	MemoryContextSwitchTo(l->context);

	for (;;)
	{
		CHECK_FOR_INTERRUPTS();
		TimestampTz now = GetCurrentTimestamp();
		if (ConfigReloadPending)
		{
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
			shorten_naps(l, now);
		}
		reap_workers(l, now);
		if (now >= l->next_listing)
			list_databases(l, now);
		start_due_workers(l, now);

		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 sleep_ms(l, GetCurrentTimestamp()), PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
	}
}
