/*
 * vector_index.h: what an index access method over vectors needs from the
 * type: the metric its operator class ranks by, the column's dimensions,
 * and the float array it indexes for a datum. Shared by hnsw and ivfpq.
 */
#pragma once

#include "pg/pg.h"
#include "core/metric.h"
#include "core/visited.h"
#include "pg/check_report.h"

extern "C" {
#include "access/amapi.h"
#include "utils/guc.h"
#include "utils/rel.h"
}

namespace vecdb {

/*
 * A new IndexAmRoutine with what every vecdb index can do: one vector
 * column, answering ORDER BY col <op> query and nothing else, support
 * function 1 naming the distance and 2 the operator class's facts. The
 * caller sets the entry points.
 */
IndexAmRoutine *new_vector_index_routine();

/* The type an index's column holds: how its values become the floats the
 * index keeps. */
enum class InputType : uint8
{
	vector,
	halfvec,
	bit,       /* kept packed, 32 bits a float slot (core/metric.h) */
	sparsevec, /* kept dense: at most vector's 16,000 dimensions */
};

/*
 * What an operator class tells its index, through its support function 2
 * (one a class: vector_l2_support(internal) for vector_l2_ops, and so on;
 * opclass.cpp): the type it indexes and the metric it ranks by.
 */
struct OpclassSupport
{
	InputType input;
	core::Metric metric;
};
constexpr uint16 opclass_support_proc = 2;

/* The index's operator class's support; ERROR if it has none. */
const OpclassSupport &opclass_support(Relation index);
core::Metric index_metric(Relation index); /* its metric */

/* amvalidate for every vecdb access method: support functions 1 and 2
 * are there, 2 with the signature it is called with. */
bool validate_vector_opclass(Oid opclass);

/* The indexed column's dimensions: ERROR 42611 for a bare vector column. */
int index_dims(Relation index);

/*
 * The value to index, a datum of type input, in
 * core::stored_floats(metric, dims) floats at out: a unit vector for
 * cosine. False when it cannot be indexed (a zero vector under cosine);
 * ERROR when its dimensions (bits, for bit) are not dims. An index keeps
 * floats, and a bit string packed into them; with halves, a halfvec keeps
 * its halves, two a float slot (core::stored_floats says how many).
 */
bool prepare_index_vector(InputType input, core::Metric metric, int dims, Datum value, float *out,
						  bool halves = false);

/*
 * Parallel workers to request for a build over heap's rows. PostgreSQL's
 * choice (plan_create_index_workers) goes by the size of the table's main
 * fork, but a build reads the TOAST table too, and a column of vectors
 * past about 500 dims is all there: a 60,000-row table of 784-dim vectors
 * has a 2.4 MB main fork and 240 MB of TOAST, and would be built serially.
 * Where PostgreSQL's choice is none only for that (no parallel_workers
 * option on the table, no index expression or predicate, not temporary),
 * the same rule is applied to both forks' blocks together.
 */
int build_workers(Relation heap, Relation index);

/* The iterative scan modes of vecdb.hnsw_iterative_scan and
 * vecdb.ivfpq_iterative_scan (pgvector's values). */
constexpr int iterative_scan_off = 0;
constexpr int iterative_scan_relaxed = 1;
constexpr int iterative_scan_strict = 2;
/* Their names, for DefineCustomEnumVariable. */
extern const struct config_enum_entry iterative_scan_options[];

/* A heap TID as the 64-bit key of a core::VisitedHash. */
inline uint64
heaptid_key(const ItemPointerData &tid)
{
	return (static_cast<uint64>(ItemPointerGetBlockNumberNoCheck(&tid)) << 16) |
		   ItemPointerGetOffsetNumberNoCheck(&tid);
}

/*
 * vecdb_index_check's last step for any vector index: report each row that
 * a fresh MVCC snapshot shows, and that the index should hold (its value
 * evaluated through the index's own expressions and predicate), but whose
 * TID is not among indexed.
 */
void check_heap_rows(Relation heap, Relation index, core::Metric metric, int dims,
					 const core::VisitedHash &indexed, pg::CheckReport &r);

} // namespace vecdb
