/*
 * init_fork.h: the one way vecdb writes an empty index's init fork
 * (ambuildempty), for every access method.
 *
 * An unlogged index's main fork is replaced by a copy of its init fork
 * after a crash and when a standby is promoted, so the init fork must be
 * on disk by then, on the primary and on every standby: it is WAL-logged
 * whatever the relation's persistence. The pattern:
 *
 *  1. write the init fork's pages through shared buffers (ReadBufferExtended
 *     on INIT_FORKNUM, P_NEW), marking them dirty (generic WAL may apply the
 *     changes, but it logs nothing for an unlogged relation: that is the bug
 *     this pattern replaced);
 *  2. then call log_init_fork().
 *
 * Why that suffices (as for GiST's and GIN's ambuildempty): the buffers of
 * an init fork are BM_PERMANENT, so any checkpoint after the WAL records
 * writes them out, and a crash before one replays the records; the redo of
 * an init fork's page image writes it through to disk at once, which is
 * what end of recovery copies. Pages written around shared buffers
 * (smgrwrite, as btbuildempty does) would need smgrimmedsync() instead.
 */
#pragma once

#include "pg/pg.h"

extern "C" {
#include "utils/rel.h"
}

namespace vecdb::pg {

/* WAL-log every page of index's init fork as a full page image. The pages
 * must have a standard layout (pd_lower and pd_upper set). */
void log_init_fork(Relation index);

} // namespace vecdb::pg
