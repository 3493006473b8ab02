/*
 * init_fork.cpp: WAL-logging an empty index's init fork (see init_fork.h).
 */
#include "pg/init_fork.h"

extern "C" {
#include "access/xloginsert.h"
#include "storage/bufmgr.h"
#include "storage/smgr.h"
}

namespace vecdb::pg {

void
log_init_fork(Relation index)
{
	BlockNumber nblocks = smgrnblocks(RelationGetSmgr(index), INIT_FORKNUM);
	if (nblocks == 0)
		elog(ERROR, "index \"%s\" has an empty init fork", RelationGetRelationName(index));
	/* Reads each page through shared buffers, and logs it in a critical
	 * section with the buffer locked and marked dirty. */
	log_newpage_range(index, INIT_FORKNUM, 0, nblocks, true);
}

} // namespace vecdb::pg
