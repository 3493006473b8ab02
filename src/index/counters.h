/*
 * counters.h: what this backend's vecdb index scans have done since it
 * started, for profiling (bench/'s profile mode divides cycles by them).
 * Backend-local: no shared memory, no locking, nothing to preload. Each
 * access method adds to its own fields when a scan ends.
 */
#pragma once

#include "pg/pg.h"

namespace vecdb::index {

struct ScanCounters
{
	int64 hnsw_scans;
	int64 hnsw_visited; /* elements whose distance to the query was computed */
	int64 ivfpq_scans;
	int64 ivfpq_estimated; /* list entries given a PQ estimate */
	int64 ivfpq_reranked;  /* rows whose exact distance was computed */
};

extern ScanCounters backend_counters;

} // namespace vecdb::index
