/*
 * check_report.cpp: vecdb_index_check()'s result rows.
 */
#include "pg/check_report.h"

extern "C" {
#include "utils/tuplestore.h"
}

namespace vecdb::pg {

void
report(CheckReport &r, BlockNumber blkno, OffsetNumber offno, const char *fmt, ...)
{
	char message[512];
	va_list args;
	va_start(args, fmt);
	vsnprintf(message, sizeof(message), fmt, args);
	va_end(args);
	Datum values[3] = {Int64GetDatum(blkno), Int32GetDatum(offno), CStringGetTextDatum(message)};
	bool nulls[3] = {false, offno == InvalidOffsetNumber, false};
	tuplestore_putvalues(r.rsinfo->setResult, r.rsinfo->setDesc, values, nulls);
	r.count++;
}

} // namespace vecdb::pg
