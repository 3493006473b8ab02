/*
 * check_report.h: the rows of vecdb_index_check(), one per problem found:
 * (blkno, offnum, problem). Each access method's checker reports through it.
 */
#pragma once

#include "pg/pg.h"

extern "C" {
#include "funcapi.h"
#include "storage/block.h"
#include "storage/off.h"
}

namespace vecdb::pg {

struct CheckReport
{
	ReturnSetInfo *rsinfo;
	int count;
};

/* One problem; offno InvalidOffsetNumber when it concerns a whole page. */
void report(CheckReport &r, BlockNumber blkno, OffsetNumber offno, const char *fmt, ...)
	pg_attribute_printf(4, 5);

} // namespace vecdb::pg
