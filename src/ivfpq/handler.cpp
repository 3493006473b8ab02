/*
 * handler.cpp: the ivfpq access method's handler, options and cost estimate.
 */
#include "ivfpq/ivfpq.h"
#include "index/pgvector_names.h"

extern "C" {
#include "access/reloptions.h"
#include "utils/guc.h"
#include "commands/progress.h"
#include "optimizer/cost.h"
#include "utils/float.h"
#include "optimizer/pathnode.h"
#include "optimizer/optimizer.h"
#include "utils/selfuncs.h"
}

#include <cmath>

namespace vecdb::ivfpq {

const char *build_phase_name(int64 phase); /* build.cpp */

namespace {

relopt_kind options_kind;
relopt_kind flat_options_kind; /* ivfflat's */

bytea *
parse_options(Datum reloptions, bool validate)
{
	static const relopt_parse_elt table[] = {
		{"lists", RELOPT_TYPE_INT, offsetof(Options, lists)},
		{"m", RELOPT_TYPE_INT, offsetof(Options, m)},
		{"nbits", RELOPT_TYPE_INT, offsetof(Options, nbits)},
		{"streaming", RELOPT_TYPE_BOOL, offsetof(Options, streaming)},
		{"training_sample", RELOPT_TYPE_INT, offsetof(Options, training_sample)},
	};
	return static_cast<bytea *>(build_reloptions(reloptions, validate, options_kind,
												 sizeof(Options), table, lengthof(table)));
}

/* ivfflat's options: pgvector's lists, and the hot tier's streaming. */
bytea *
parse_flat_options(Datum reloptions, bool validate)
{
	static const relopt_parse_elt table[] = {
		{"lists", RELOPT_TYPE_INT, offsetof(Options, lists)},
		{"streaming", RELOPT_TYPE_BOOL, offsetof(Options, streaming)},
	};
	return static_cast<bytea *>(build_reloptions(reloptions, validate, flat_options_kind,
												 sizeof(Options), table, lengthof(table)));
}

char *
phase_name(int64 phase)
{
	if (phase == PROGRESS_CREATEIDX_SUBPHASE_INITIALIZE)
		return const_cast<char *>("initializing");
	return const_cast<char *>(build_phase_name(phase));
}

/*
 * All the work comes before the first row: the probed lists' pages are read
 * and every entry estimated, then vecdb.ivfpq_rerank rows are fetched from
 * the heap at random. Returning every row would read every list, so the
 * planner takes the index for ORDER BY ... LIMIT and a sort otherwise.
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
	/* a damaged meta page makes the index unusable, not the planning of
	 * every query on its table: the scan, if forced, raises the error */
	Relation rel = index_open(index->indexoid, NoLock);
	MetaPage meta;
	bool sound = read_meta_if_sound(rel, &meta);
	index_close(rel, NoLock);
	if (!sound)
	{
		*startup = *total = disable_cost;
		*pages = 0;
		return;
	}

	double tuples = Max(index->tuples, 1.0);
	double lists = Max(static_cast<double>(meta.lists), 1.0);
	bool trained = (meta.flags & meta_trained) != 0;
	bool flat = (meta.flags & meta_flat) != 0;
	SearchSettings settings = search_settings(flat);
	double fraction = trained ? Min(1.0, settings.probes / lists) : 1.0;
	double scanned = tuples * fraction;
	/* an untrained index re-ranks every entry; a flat one none, its
	 * distances being exact */
	double fetched = flat      ? 0
					 : trained ? Min(scanned, static_cast<double>(settings.rerank))
							   : scanned;
	*pages = Max(1.0, index->pages * fraction);
	/* the re-ranked rows' heap pages, fewer than the rows on a small table */
	double heap_pages = index_pages_fetched(fetched, index->rel->pages, index->pages, root);
	*startup = *pages * seq_page_cost + scanned * cpu_operator_cost +
			   lists * cpu_operator_cost * 10 + heap_pages * random_page_cost +
			   fetched * (cpu_tuple_cost + cpu_operator_cost);
	*total = *startup + index->pages * random_page_cost +
			 tuples * (cpu_index_tuple_cost + cpu_operator_cost);
}

} // namespace

int probes = 10;
int rerank_candidates = 100;
int iterative_scan = iterative_scan_off;
int max_probes = 0;

namespace {

/* ivfflat's settings, pgvector's values and defaults */
int flat_probes = 1;
int flat_iterative_scan = iterative_scan_off;
int flat_max_probes = flat_max_lists;
/* pgvector's ivfflat has no strict_order */
const struct config_enum_entry flat_iterative_scan_options[] = {
	{"off", iterative_scan_off, false},
	{"relaxed_order", iterative_scan_relaxed, false},
	{nullptr, 0, false},
};

} // namespace

SearchSettings
search_settings(bool flat)
{
	if (!flat)
		return {probes, max_probes, iterative_scan, rerank_candidates};
	SearchSettings out;
	out.probes = index::pgvector_int("ivfflat.probes", flat_probes, 1, flat_max_lists);
	out.iterative_scan = index::pgvector_enum("ivfflat.iterative_scan", flat_iterative_scan,
											  flat_iterative_scan_options);
	out.max_probes = index::pgvector_int("ivfflat.max_probes", flat_max_probes, 1, flat_max_lists);
	out.rerank = 0;
	return out;
}

void
define_settings()
{
	DefineCustomIntVariable("vecdb.ivfpq_probes",
							"Sets the number of lists an ivfpq index scan reads.",
							"More lists find more of the true nearest neighbours, slower.", &probes,
							10, 1, 100000, PGC_USERSET, 0, nullptr, nullptr, nullptr);
	DefineCustomIntVariable(
		"vecdb.ivfpq_rerank", "Sets how many candidates an ivfpq index scan re-ranks exactly.",
		"The best estimates from the codes are re-ranked by their exact distance, each read "
		"from the table; more find more of the true nearest neighbours, slower.",
		&rerank_candidates, 100, 1, 1000000, PGC_USERSET, 0, nullptr, nullptr, nullptr);
	DefineCustomEnumVariable("vecdb.ivfpq_iterative_scan",
							 "Lets an ivfpq index scan go on past its first re-ranked batch.",
							 "With a selective WHERE clause, off can return fewer rows than "
							 "LIMIT; relaxed_order and strict_order keep searching, "
							 "strict_order returning rows in exact distance order.",
							 &iterative_scan, iterative_scan_off, iterative_scan_options,
							 PGC_USERSET, 0, nullptr, nullptr, nullptr);
	DefineCustomIntVariable(
		"vecdb.ivfpq_max_probes", "Bounds the lists an iterative ivfpq index scan reads; 0: all.",
		nullptr, &max_probes, 0, 0, 100000, PGC_USERSET, 0, nullptr, nullptr, nullptr);
	DefineCustomIntVariable(
		"vecdb.ivfflat_probes", "Sets the number of lists an ivfflat index scan reads.",
		"More lists find more of the true nearest neighbours, slower.", &flat_probes, 1, 1,
		flat_max_lists, PGC_USERSET, 0, nullptr, nullptr, nullptr);
	DefineCustomEnumVariable("vecdb.ivfflat_iterative_scan",
							 "Lets an ivfflat index scan go on past its probed lists.",
							 "With a selective WHERE clause, off can return fewer rows than "
							 "LIMIT; relaxed_order reads more lists until LIMIT rows pass.",
							 &flat_iterative_scan, iterative_scan_off, flat_iterative_scan_options,
							 PGC_USERSET, 0, nullptr, nullptr, nullptr);
	DefineCustomIntVariable("vecdb.ivfflat_max_probes",
							"Bounds the lists an iterative ivfflat index scan reads.", nullptr,
							&flat_max_probes, flat_max_lists, 1, flat_max_lists, PGC_USERSET, 0,
							nullptr, nullptr, nullptr);
}

void
define_options()
{
	options_kind = add_reloption_kind();
	add_int_reloption(options_kind, "lists",
					  "Number of inverted lists (k-means centroids); 0 chooses from the rows", 0, 0,
					  max_lists, AccessExclusiveLock);
	add_int_reloption(options_kind, "m",
					  "Number of sub-quantizers, dividing the dimensions; 0 chooses about dims/4",
					  0, 0, static_cast<int>(core::max_vector_dims), AccessExclusiveLock);
	add_int_reloption(options_kind, "nbits", "Bits of each sub-quantizer's code", code_bits, 1, 16,
					  AccessExclusiveLock);
	add_int_reloption(options_kind, "training_sample",
					  "Rows sampled to train centroids and codebooks; 0 chooses from the lists", 0,
					  0, max_training_sample, AccessExclusiveLock);
	tier::add_streaming_option(options_kind);

	flat_options_kind = add_reloption_kind();
	add_int_reloption(flat_options_kind, "lists", "Number of inverted lists", flat_default_lists, 1,
					  flat_max_lists, AccessExclusiveLock);
	tier::add_streaming_option(flat_options_kind);
}

bool
streaming(Relation index, const Shape &s)
{
	auto *options = reinterpret_cast<Options *>(index->rd_options);
	return tier::streams(options == nullptr || options->streaming, s.dims);
}

} // namespace vecdb::ivfpq

using namespace vecdb::ivfpq;

VECDB_FUNCTION(ivfpq_handler)
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

/* pgvector's ivfflat: ivfpq's routine with flat lists (ivfpq.h) */
VECDB_FUNCTION(ivfflat_handler)
{
	auto *am = reinterpret_cast<IndexAmRoutine *>(DatumGetPointer(ivfpq_handler(fcinfo)));
	am->amoptions = parse_flat_options;
	PG_RETURN_POINTER(am);
}
