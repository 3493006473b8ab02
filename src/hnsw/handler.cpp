/*
 * handler.cpp: the hnsw access method's handler, options and cost estimate.
 */
#include "hnsw/hnsw.h"
#include "index/pgvector_names.h"

extern "C" {
#include "access/reloptions.h"
#include "utils/guc.h"
#include "commands/progress.h"
#include "optimizer/cost.h"
#include "utils/float.h"
#include "optimizer/optimizer.h"
#include "access/genam.h"
#include "utils/selfuncs.h"
}

#include <climits>

namespace vecdb::hnsw {

namespace {

relopt_kind options_kind;

relopt_enum_elt_def quantization_values[] = {
	{"none", static_cast<int>(Quantization::none)},
	{"sq8", static_cast<int>(Quantization::sq8)},
	{nullptr, 0},
};

/* Build sub-phases, for pg_stat_progress_create_index. */
constexpr int64 phase_loading = 2;
constexpr int64 phase_writing = 3;

bytea *
parse_options(Datum reloptions, bool validate)
{
	static const relopt_parse_elt table[] = {
		{"m", RELOPT_TYPE_INT, offsetof(Options, m)},
		{"ef_construction", RELOPT_TYPE_INT, offsetof(Options, ef_construction)},
		{"streaming", RELOPT_TYPE_BOOL, offsetof(Options, streaming)},
		{"quantization", RELOPT_TYPE_ENUM, offsetof(Options, quantization)},
	};
	return static_cast<bytea *>(build_reloptions(reloptions, validate, options_kind,
												 sizeof(Options), table, lengthof(table)));
}

char *
phase_name(int64 phase)
{
	switch (phase)
	{
		case PROGRESS_CREATEIDX_SUBPHASE_INITIALIZE:
			return const_cast<char *>("initializing");
		case phase_loading:
			return const_cast<char *>("loading tuples");
		case phase_writing:
			return const_cast<char *>("writing graph");
		default:
			return nullptr;
	}
}

/*
 * The scan does all its work before returning the first row: about
 * ef_search * 2m distances on the base level and a few per upper level,
 * reading a page for most of them (cached, in the common case).
 */
void
cost_estimate(PlannerInfo *root, IndexPath *path, double loop_count, Cost *startup, Cost *total,
			  Selectivity *selectivity, double *correlation, double *pages)
{
	IndexOptInfo *index = path->indexinfo;
	*correlation = 0;
	*selectivity = 1;
	if (path->indexorderbys == NIL)
	{
		/* Without ORDER BY the index answers nothing (its scan raises an
		 * ERROR): never cheaper than a sequential scan, disabled or not. */
		*startup = *total = get_float8_infinity();
		*pages = 0;
		return;
	}
	int m = default_m;
	Relation rel = index_open(index->indexoid, NoLock);
	if (rel->rd_options)
		m = reinterpret_cast<Options *>(rel->rd_options)->m;
	index_close(rel, NoLock);

	double tuples = Max(index->tuples, 1.0);
	double visited = Min(tuples, search_settings().ef_search * 2.0 * m + 2 * m * std::log(tuples));
	double per_page = Max(tuples / Max(index->pages, 1.0), 1.0);
	double search_pages = Min(static_cast<double>(index->pages), visited / per_page + 1);
	*pages = search_pages;
	/*
	 * A sequential scan's cost counts the table's pages, not its TOAST
	 * pages, though it reads every vector from them: vectors of more than
	 * about 500 dimensions are stored out of line. Then the index, which
	 * holds the vectors themselves, would look dearer than a scan of a few
	 * hundred heap pages that it beats by far: its pages are priced in the
	 * same units, scaled by the table's pages over its own.
	 */
	double page_scale = 1;
	if (index->rel->pages > 0 && index->pages > index->rel->pages)
		page_scale = static_cast<double>(index->rel->pages) / index->pages;
	*startup = search_pages * page_scale * seq_page_cost +
			   visited * (cpu_index_tuple_cost + cpu_operator_cost);
	/*
	 * The first rows cost one search; all of them would cost a walk of the
	 * whole graph, and without an iterative scan the index returns only
	 * ef_search rows. So the planner takes the index for ORDER BY ... LIMIT
	 * and a sort for an unbounded ORDER BY.
	 */
	*total = *startup + index->pages * random_page_cost +
			 tuples * (cpu_index_tuple_cost + cpu_operator_cost);
}

} // namespace

int ef_search = 40;
int iterative_scan = iterative_scan_off;
int max_scan_tuples = 20000;

/* pgvector's settings, named vecdb.* and with pgvector's defaults */
void
define_settings()
{
	DefineCustomIntVariable("vecdb.hnsw_ef_search",
							"Sets the size of the candidate list of an hnsw index scan.",
							"Larger values find more of the true nearest neighbours, slower.",
							&ef_search, 40, 1, 1000, PGC_USERSET, 0, nullptr, nullptr, nullptr);
	DefineCustomEnumVariable("vecdb.hnsw_iterative_scan",
							 "Lets an hnsw index scan go on past ef_search rows.",
							 "With a selective WHERE clause, off can return fewer rows than "
							 "LIMIT; relaxed_order and strict_order keep searching, "
							 "strict_order returning rows in exact distance order.",
							 &iterative_scan, iterative_scan_off, iterative_scan_options,
							 PGC_USERSET, 0, nullptr, nullptr, nullptr);
	DefineCustomIntVariable(
		"vecdb.hnsw_max_scan_tuples", "Bounds the elements an iterative hnsw index scan visits.",
		nullptr, &max_scan_tuples, 20000, 1, INT_MAX, PGC_USERSET, 0, nullptr, nullptr, nullptr);
}

SearchSettings
search_settings()
{
	SearchSettings s;
	s.ef_search = index::pgvector_int("hnsw.ef_search", ef_search, 1, 1000);
	s.iterative_scan =
		index::pgvector_enum("hnsw.iterative_scan", iterative_scan, iterative_scan_options);
	s.max_scan_tuples = index::pgvector_int("hnsw.max_scan_tuples", max_scan_tuples, 1, INT_MAX);
	/* pgvector's bound on an iterative scan's memory, in multiples of
	 * work_mem: vecdb's scan keeps no more than max_scan_tuples elements,
	 * so it only checks the value, as pgvector's SET would */
	(void) index::pgvector_real("hnsw.scan_mem_multiplier", 1, 1, 1000);
	return s;
}

void
define_options()
{
	options_kind = add_reloption_kind();
	add_int_reloption(options_kind, "m", "Maximum number of links per element and level", default_m,
					  min_m, max_m, AccessExclusiveLock);
	add_int_reloption(
		options_kind, "ef_construction", "Size of the candidate list when linking a new element",
		default_ef_construction, min_ef_construction, max_ef_construction, AccessExclusiveLock);
	tier::add_streaming_option(options_kind);
	add_enum_reloption(options_kind, "quantization",
					   "How the index keeps vectors: none (floats) or sq8 (a byte a dimension, "
					   "re-ranked from the table)",
					   quantization_values, static_cast<int>(Quantization::none),
					   "Valid values are \"none\" and \"sq8\".", AccessExclusiveLock);
}

bool
streaming(Relation index, const Shape &s)
{
	auto *options = reinterpret_cast<Options *>(index->rd_options);
	return tier::streams(options == nullptr || options->streaming, s.dims);
}

/* The build's sub-phases, shared with build.cpp. */
int64
progress_phase(bool writing)
{
	return writing ? phase_writing : phase_loading;
}

} // namespace vecdb::hnsw

using namespace vecdb::hnsw;

VECDB_FUNCTION(hnsw_handler)
{
	IndexAmRoutine *am = vecdb::new_vector_index_routine();
	am->ambuild = build;
	am->ambuildempty = build_empty;
	am->aminsert = insert;
	am->ambulkdelete = bulk_delete;
	am->amvacuumcleanup = vacuum_cleanup;
	am->amcostestimate = cost_estimate;
	am->amoptions = parse_options;
	am->ambuildphasename = phase_name;
	am->amvalidate = vecdb::validate_vector_opclass;
	am->ambeginscan = begin_scan;
	am->amrescan = rescan;
	am->amgettuple = get_tuple;
	am->amendscan = end_scan;
	PG_RETURN_POINTER(am);
}
