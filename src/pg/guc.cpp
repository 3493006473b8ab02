/*
 * guc.cpp: vecdb's settings, with pgvector's names moved under vecdb.* and
 * pgvector's defaults.
 */
#include "pg/pg.h"
#include "pg/guc.h"

extern "C" {
#include "utils/guc.h"
}

#include <climits>

extern "C" {
}

namespace vecdb::pg {

int hnsw_ef_search = 40;
int hnsw_iterative_scan = iterative_scan_off;
int hnsw_max_scan_tuples = 20000;
int ivfpq_probes = 10;
int ivfpq_rerank = 100;
int ivfpq_iterative_scan = iterative_scan_off;
int ivfpq_max_probes = 0;

namespace {

const struct config_enum_entry iterative_scan_options[] = {
	{"off", iterative_scan_off, false},
	{"relaxed_order", iterative_scan_relaxed, false},
	{"strict_order", iterative_scan_strict, false},
	{nullptr, 0, false},
};

} // namespace

void
define_settings()
{
	DefineCustomIntVariable(
		"vecdb.hnsw_ef_search", "Sets the size of the candidate list of an hnsw index scan.",
		"Larger values find more of the true nearest neighbours, slower.", &hnsw_ef_search, 40, 1,
		1000, PGC_USERSET, 0, nullptr, nullptr, nullptr);
	DefineCustomEnumVariable("vecdb.hnsw_iterative_scan",
							 "Lets an hnsw index scan go on past ef_search rows.",
							 "With a selective WHERE clause, off can return fewer rows than "
							 "LIMIT; relaxed_order and strict_order keep searching, "
							 "strict_order returning rows in exact distance order.",
							 &hnsw_iterative_scan, iterative_scan_off, iterative_scan_options,
							 PGC_USERSET, 0, nullptr, nullptr, nullptr);
	DefineCustomIntVariable("vecdb.hnsw_max_scan_tuples",
							"Bounds the elements an iterative hnsw index scan visits.", nullptr,
							&hnsw_max_scan_tuples, 20000, 1, INT_MAX, PGC_USERSET, 0, nullptr,
							nullptr, nullptr);
	DefineCustomIntVariable(
		"vecdb.ivfpq_probes", "Sets the number of lists an ivfpq index scan reads.",
		"More lists find more of the true nearest neighbours, slower.", &ivfpq_probes, 10, 1,
		100000, PGC_USERSET, 0, nullptr, nullptr, nullptr);
	DefineCustomIntVariable(
		"vecdb.ivfpq_rerank", "Sets how many candidates an ivfpq index scan re-ranks exactly.",
		"The best estimates from the codes are re-ranked by their exact distance, each read "
		"from the table; more find more of the true nearest neighbours, slower.",
		&ivfpq_rerank, 100, 1, 1000000, PGC_USERSET, 0, nullptr, nullptr, nullptr);
	DefineCustomEnumVariable("vecdb.ivfpq_iterative_scan",
							 "Lets an ivfpq index scan go on past its first re-ranked batch.",
							 "With a selective WHERE clause, off can return fewer rows than "
							 "LIMIT; relaxed_order and strict_order keep searching, "
							 "strict_order returning rows in exact distance order.",
							 &ivfpq_iterative_scan, iterative_scan_off, iterative_scan_options,
							 PGC_USERSET, 0, nullptr, nullptr, nullptr);
	DefineCustomIntVariable(
		"vecdb.ivfpq_max_probes", "Bounds the lists an iterative ivfpq index scan reads; 0: all.",
		nullptr, &ivfpq_max_probes, 0, 0, 100000, PGC_USERSET, 0, nullptr, nullptr, nullptr);
}

} // namespace vecdb::pg
