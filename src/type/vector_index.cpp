/*
 * vector_index.cpp: the vector type as index access methods see it.
 */
#include "type/vector_index.h"
#include "type/vector.h"

extern "C" {
#include "access/genam.h"
}

#include <cmath>

extern "C" {
Datum vector_l2_squared_distance(PG_FUNCTION_ARGS);
Datum vector_negative_inner_product(PG_FUNCTION_ARGS);
Datum cosine_distance(PG_FUNCTION_ARGS);
Datum l1_distance(PG_FUNCTION_ARGS);
}

namespace vecdb {

/*
 * The support function is recognised by address, so that searches call the
 * kernels directly instead of going through fmgr.
 */
core::Metric
index_metric(Relation index)
{
	FmgrInfo *proc = index_getprocinfo(index, 1, 1);
	if (proc->fn_addr == vector_l2_squared_distance)
		return core::Metric::l2;
	if (proc->fn_addr == vector_negative_inner_product)
		return core::Metric::inner_product;
	if (proc->fn_addr == cosine_distance)
		return core::Metric::cosine;
	if (proc->fn_addr == l1_distance)
		return core::Metric::l1;
	ereport(ERROR, (errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					errmsg("operator class of index \"%s\" has an unknown distance function",
						   RelationGetRelationName(index))));
	pg_unreachable();
}

int
index_dims(Relation index)
{
	int32 typmod = TupleDescAttr(RelationGetDescr(index), 0)->atttypmod;
	if (typmod < 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_COLUMN_DEFINITION),
				 errmsg("column does not have dimensions"),
				 errhint("Declare the column as vector(n), or index an expression cast to it.")));
	return typmod;
}

bool
prepare_index_vector(core::Metric metric, int dims, Datum value, float *out)
{
	Vector *v = datum_get_vector(value);
	check_expected_dim(dims, v->dim);
	memcpy(out, v->x, sizeof(float) * dims);
	if (core::metric_normalizes(metric))
	{
		double norm = std::sqrt(static_cast<double>(core::squared_norm(out, dims)));
		if (norm == 0 || !std::isfinite(norm))
			return false;
		for (int i = 0; i < dims; i++)
			out[i] = static_cast<float>(out[i] / norm);
	}
	if (reinterpret_cast<Pointer>(v) != DatumGetPointer(value))
		pfree(v);
	return true;
}

} // namespace vecdb
