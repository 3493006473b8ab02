/*
 * vector.cpp: construction of vectors and the checks shared by every function
 * on them. Messages and SQLSTATEs follow pgvector's, which applications may
 * match on.
 */
#include "type/vector.h"

#include <cmath>

namespace vecdb {

Vector *
new_vector(int dim)
{
	Size size = vector_size(dim);
	Vector *v = static_cast<Vector *>(palloc0(size));
	SET_VARSIZE(v, size);
	v->dim = static_cast<int16>(dim);
	return v;
}

void
check_dim(int dim)
{
	if (dim < 1)
		ereport(ERROR, (errcode(ERRCODE_DATA_EXCEPTION),
						errmsg("vector must have at least 1 dimension")));
	if (dim > vector_max_dim)
		ereport(ERROR, (errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
						errmsg("vector cannot have more than %d dimensions", vector_max_dim)));
}

void
check_expected_dim(int32 typmod, int dim)
{
	if (typmod != -1 && typmod != dim)
		ereport(ERROR, (errcode(ERRCODE_DATA_EXCEPTION),
						errmsg("expected %d dimensions, not %d", typmod, dim)));
}

void
check_same_dims(const Vector *a, const Vector *b)
{
	if (a->dim != b->dim)
		ereport(ERROR, (errcode(ERRCODE_DATA_EXCEPTION),
						errmsg("different vector dimensions %d and %d", a->dim, b->dim)));
}

void
check_element(float value)
{
	if (std::isnan(value))
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION), errmsg("NaN not allowed in vector")));
	if (std::isinf(value))
		ereport(ERROR, (errcode(ERRCODE_DATA_EXCEPTION),
						errmsg("infinite value not allowed in vector")));
}

} // namespace vecdb
