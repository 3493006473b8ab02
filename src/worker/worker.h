/*
 * worker.h: the background merge worker (design.md, "Streaming tiers").
 *
 * A launcher, started by the postmaster when vecdb is in
 * shared_preload_libraries, starts one short-lived worker a database every
 * vecdb.merge_naptime; each worker merges the hot tiers of that database's
 * vecdb indexes into their cold structures through the access methods'
 * merge entry points (index/registry.h). This is the top layer: nothing
 * below calls into it.
 */
#pragma once

namespace vecdb::worker {

/*
 * From _PG_init, before it reserves the "vecdb" prefix (which would drop
 * the values postgresql.conf gave these settings): defines the worker's
 * settings and, only while shared_preload_libraries is being processed,
 * the launcher and its shared memory.
 */
void register_launcher();

} // namespace vecdb::worker
