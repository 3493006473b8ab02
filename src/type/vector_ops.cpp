/*
 * vector_ops.cpp: element-wise arithmetic, concatenation, comparison and the
 * small functions (dims, norm, normalize, subvector).
 */
#include "type/vector.h"

#include <cmath>

using namespace vecdb;

namespace {

/* Lexicographic by element, then shorter first: the btree order. */
int
compare(const Vector *a, const Vector *b)
{
	int n = Min(a->dim, b->dim);
	for (int i = 0; i < n; i++)
	{
		if (a->x[i] < b->x[i])
			return -1;
		if (a->x[i] > b->x[i])
			return 1;
	}
	return (a->dim > b->dim) - (a->dim < b->dim);
}

template <typename Op>
Datum
elementwise(FunctionCallInfo fcinfo, Op op)
{
	Vector *a = PG_GETARG_VECTOR_P(0);
	Vector *b = PG_GETARG_VECTOR_P(1);
	check_same_dims(a, b);

	Vector *result = new_vector(a->dim);
	for (int i = 0; i < a->dim; i++)
		result->x[i] = op(a->x[i], b->x[i]);
	for (int i = 0; i < a->dim; i++)
		check_overflow(result->x[i]);
	PG_RETURN_VECTOR_P(result);
}

int
compare_args(FunctionCallInfo fcinfo)
{
	Vector *a = PG_GETARG_VECTOR_P(0);
	Vector *b = PG_GETARG_VECTOR_P(1);
	int result = compare(a, b);
	PG_FREE_IF_COPY(a, 0);
	PG_FREE_IF_COPY(b, 1);
	return result;
}

} // namespace

VECDB_FUNCTION(vector_add)
{
	return elementwise(fcinfo, [](float x, float y) { return x + y; });
}

VECDB_FUNCTION(vector_sub)
{
	return elementwise(fcinfo, [](float x, float y) { return x - y; });
}

VECDB_FUNCTION(vector_mul)
{
	Vector *a = PG_GETARG_VECTOR_P(0);
	Vector *b = PG_GETARG_VECTOR_P(1);
	check_same_dims(a, b);

	Vector *result = new_vector(a->dim);
	for (int i = 0; i < a->dim; i++)
	{
		float r = a->x[i] * b->x[i];
		check_overflow(r);
		/* a product of non-zeros that rounds to zero lost everything */
		if (r == 0 && a->x[i] != 0 && b->x[i] != 0)
			ereport(ERROR, (errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
							errmsg("value out of range: underflow")));
		result->x[i] = r;
	}
	PG_RETURN_VECTOR_P(result);
}

VECDB_FUNCTION(vector_concat)
{
	Vector *a = PG_GETARG_VECTOR_P(0);
	Vector *b = PG_GETARG_VECTOR_P(1);
	int dim = a->dim + b->dim;
	check_dim(dim);

	Vector *result = new_vector(dim);
	memcpy(result->x, a->x, sizeof(float) * a->dim);
	memcpy(result->x + a->dim, b->x, sizeof(float) * b->dim);
	PG_RETURN_VECTOR_P(result);
}

VECDB_FUNCTION(vector_cmp)
{
	PG_RETURN_INT32(compare_args(fcinfo));
}

VECDB_FUNCTION(vector_lt)
{
	PG_RETURN_BOOL(compare_args(fcinfo) < 0);
}

VECDB_FUNCTION(vector_le)
{
	PG_RETURN_BOOL(compare_args(fcinfo) <= 0);
}

VECDB_FUNCTION(vector_eq)
{
	PG_RETURN_BOOL(compare_args(fcinfo) == 0);
}

VECDB_FUNCTION(vector_ne)
{
	PG_RETURN_BOOL(compare_args(fcinfo) != 0);
}

VECDB_FUNCTION(vector_ge)
{
	PG_RETURN_BOOL(compare_args(fcinfo) >= 0);
}

VECDB_FUNCTION(vector_gt)
{
	PG_RETURN_BOOL(compare_args(fcinfo) > 0);
}

VECDB_FUNCTION(vector_dims)
{
	Vector *v = PG_GETARG_VECTOR_P(0);
	PG_RETURN_INT32(v->dim);
}

/* Euclidean norm, summed in double: this is a user-facing figure, not a
 * ranking, so it gets the accuracy rather than the speed. */
static double
norm(const Vector *v)
{
	double sum = 0;
	for (int i = 0; i < v->dim; i++)
		sum += static_cast<double>(v->x[i]) * v->x[i];
	return std::sqrt(sum);
}

VECDB_FUNCTION(vector_norm)
{
	PG_RETURN_FLOAT8(norm(PG_GETARG_VECTOR_P(0)));
}

/* l2_normalize(vector): unit length; a zero vector comes back unchanged */
VECDB_FUNCTION(l2_normalize)
{
	Vector *v = PG_GETARG_VECTOR_P(0);
	Vector *result = new_vector(v->dim);
	double n = norm(v);

	if (n > 0)
	{
		for (int i = 0; i < v->dim; i++)
			result->x[i] = static_cast<float>(v->x[i] / n);
	}
	else
		memcpy(result->x, v->x, sizeof(float) * v->dim);
	PG_RETURN_VECTOR_P(result);
}

/* subvector(vector, start, count): count elements from 1-based start,
 * clipped to the vector as substring() clips to a string */
int
vecdb::subvector_bounds(int dim, int64 start, int64 count, const char *type, int *first)
{
	if (count < 1)
		check_dim(0, type);
	int64 end = start + count; /* int64: cannot overflow */
	start = Max(start, 1);
	end = Min(end, static_cast<int64>(dim) + 1);
	if (end <= start)
		check_dim(0, type);
	*first = static_cast<int>(start - 1);
	return static_cast<int>(end - start);
}

VECDB_FUNCTION(subvector)
{
	Vector *v = PG_GETARG_VECTOR_P(0);
	int first;
	int dim = subvector_bounds(v->dim, PG_GETARG_INT32(1), PG_GETARG_INT32(2), "vector", &first);
	Vector *result = new_vector(dim);
	memcpy(result->x, v->x + first, sizeof(float) * dim);
	PG_RETURN_VECTOR_P(result);
}
