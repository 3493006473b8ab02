/*
 * guc.h: vecdb's settings. Every one is named vecdb.*, so that a cluster can
 * hold a pgvector database beside a vecdb one.
 */
#pragma once

namespace vecdb::pg {

/* vecdb.hnsw_iterative_scan */
constexpr int iterative_scan_off = 0;
constexpr int iterative_scan_relaxed = 1;
constexpr int iterative_scan_strict = 2;

extern int hnsw_ef_search;
extern int hnsw_iterative_scan;
extern int hnsw_max_scan_tuples;
extern int ivfpq_probes;
extern int ivfpq_rerank;
extern int ivfpq_iterative_scan;
extern int ivfpq_max_probes;

/* Register the settings; once, from _PG_init. */
void define_settings();

} // namespace vecdb::pg
