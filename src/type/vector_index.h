/*
 * vector_index.h: what an index access method over vectors needs from the
 * type: the metric its operator class ranks by, the column's dimensions,
 * and the float array it indexes for a datum. Shared by hnsw and ivfpq.
 */
#pragma once

#include "pg/pg.h"
#include "core/metric.h"

extern "C" {
#include "utils/rel.h"
}

namespace vecdb {

/* The metric of the index's operator class (its support function 1). */
core::Metric index_metric(Relation index);

/* The indexed column's dimensions: ERROR 42611 for a bare vector column. */
int index_dims(Relation index);

/*
 * The value to index, in dims floats at out: a unit vector for cosine.
 * False when it cannot be indexed (a zero vector under cosine); ERROR when
 * its dimensions are not dims.
 */
bool prepare_index_vector(core::Metric metric, int dims, Datum value, float *out);

} // namespace vecdb
