/*
 * internal.h: what the launcher (launcher.cpp) and the per-database workers
 * (pass.cpp) share: the settings and the table of worker slots in shared
 * memory.
 */
#pragma once

#include "pg/pg.h"

extern "C" {
#include "datatype/timestamp.h"
#include "storage/spin.h"
}

namespace vecdb::worker {

extern int max_merge_workers;
extern int merge_naptime_ms;
extern int merge_threshold;

/*
 * One per-database worker. The launcher takes a slot (in_use) when it
 * starts a worker and frees it when it has seen the worker go; the worker
 * fills in pid when it runs and exited (with unfinished) as it exits, so a
 * launcher that was itself restarted meanwhile still knows which databases
 * are being served and how many workers run.
 */
struct WorkerSlot
{
	bool in_use;
	/* bumped at each start; the worker's copy (bgw_extra) must match, so
	 * that a worker whose slot was given up on never takes a new one */
	uint32 generation;
	Oid dboid;
	TimestampTz started_at;
	pid_t pid;
	bool exited;
	/* its time budget ran out with work left: start it again at once */
	bool unfinished;
	/* set by the launcher when the database's last pass was unfinished:
	 * that pass's start. The next pass finishes every index merged since
	 * then, whatever merge_threshold says (pass.cpp); 0: none */
	TimestampTz continue_since;
};

struct Shared
{
	slock_t mutex; /* guards every slot */
	int nslots;    /* vecdb.max_merge_workers */
	WorkerSlot slots[FLEXIBLE_ARRAY_MEMBER];
};

/* nullptr unless vecdb was preloaded with max_merge_workers > 0 */
extern Shared *shared;

} // namespace vecdb::worker

/* bgworker entry points, found by name by the postmaster */
extern "C" {
PGDLLEXPORT void vecdb_merge_launcher_main(Datum arg);
PGDLLEXPORT void vecdb_merge_worker_main(Datum arg);
}
