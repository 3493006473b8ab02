/*
 * vector_agg.cpp: avg(vector). (sum(vector) needs no code of its own: its
 * transition and combine function is vector_add.)
 *
 * The transition state is a float8[] of 1 + dims: the count, then the running
 * sums in double, so averaging many float4s loses little. Being a plain
 * array, the state crosses parallel workers without serialize functions.
 */
#include "type/vector.h"

#include <cmath>

extern "C" {
#include "catalog/pg_type.h"
#include "utils/array.h"
}

using namespace vecdb;

namespace {

/*
 * The state's elements, after checking it is what vector_accum makes: a 1-D
 * float8[] of the count and then at most 16000 sums, with no NULLs. Anyone
 * may pass a state by hand, so its length is trusted only after this.
 * Messages are pgvector's.
 */
float8 *
state_values(ArrayType *state, const char *caller, int *dims)
{
	if (ARR_NDIM(state) != 1 || ARR_DIMS(state)[0] < 1 || ARR_HASNULL(state) ||
		ARR_ELEMTYPE(state) != FLOAT8OID)
		ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						errmsg("%s: expected state array", caller)));
	*dims = ARR_DIMS(state)[0] - 1;
	if (*dims > vector_max_dim)
		check_dim(*dims);
	return reinterpret_cast<float8 *>(ARR_DATA_PTR(state));
}

/* A zeroed state for dims sums, in the current memory context. */
ArrayType *
new_state(int dims)
{
	/* construct_array needs Datums; a zero-filled state is built directly */
	Size size = ARR_OVERHEAD_NONULLS(1) + sizeof(float8) * (dims + 1);
	ArrayType *state = static_cast<ArrayType *>(palloc0(size));
	SET_VARSIZE(state, size);
	state->ndim = 1;
	state->dataoffset = 0;
	state->elemtype = FLOAT8OID;
	ARR_DIMS(state)[0] = dims + 1;
	ARR_LBOUND(state)[0] = 1;
	return state;
}

ArrayType *
new_state_in(MemoryContext context, int dims)
{
	MemoryContext old = MemoryContextSwitchTo(context);
	ArrayType *state = new_state(dims);
	MemoryContextSwitchTo(old);
	return state;
}

float8 *
state_data(ArrayType *state)
{
	return reinterpret_cast<float8 *>(ARR_DATA_PTR(state));
}

/* A sum that leaves double's range is an error, as in float8 arithmetic. */
float8
checked_sum(float8 a, float8 b)
{
	float8 sum = a + b;
	if (std::isinf(sum) && !std::isinf(a) && !std::isinf(b))
		ereport(ERROR, (errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
						errmsg("value out of range: overflow")));
	return sum;
}

} // namespace

/*
 * vector_accum(float8[], vector): count the vector and add it in. The first
 * vector (a state of the count alone) fixes the dimensions.
 */
VECDB_FUNCTION(vector_accum)
{
	ArrayType *state = PG_GETARG_ARRAYTYPE_P(0);
	Vector *v = PG_GETARG_VECTOR_P(1);
	int dims;
	float8 *values = state_values(state, "vector_accum", &dims);

	/* Inside an aggregate the state is ours and is updated in place once it
	 * has its dimensions; outside, it may be anyone's datum: never scribble
	 * on it there. */
	MemoryContext aggcontext = nullptr;
	bool in_aggregate = AggCheckCallContext(fcinfo, &aggcontext) != 0;
	if (!in_aggregate || dims == 0)
	{
		if (!in_aggregate)
			aggcontext = CurrentMemoryContext;
		ArrayType *fresh = new_state_in(aggcontext, v->dim);
		float8 *out = state_data(fresh);
		out[0] = values[0];
		if (dims != 0)
		{
			check_expected_dim(dims, v->dim);
			memcpy(out + 1, values + 1, sizeof(float8) * dims);
		}
		state = fresh;
		values = out;
	}
	else
		check_expected_dim(dims, v->dim);

	values[0] += 1;
	for (int i = 0; i < v->dim; i++)
		values[i + 1] = checked_sum(values[i + 1], v->x[i]);
	PG_RETURN_ARRAYTYPE_P(state);
}

/* vector_combine(float8[], float8[]): merge two partial states */
VECDB_FUNCTION(vector_combine)
{
	ArrayType *a = PG_GETARG_ARRAYTYPE_P(0);
	ArrayType *b = PG_GETARG_ARRAYTYPE_P(1);
	MemoryContext aggcontext = nullptr;
	int dims_a, dims_b;
	float8 *va = state_values(a, "vector_combine", &dims_a);
	float8 *vb = state_values(b, "vector_combine", &dims_b);

	if (!AggCheckCallContext(fcinfo, &aggcontext))
		aggcontext = CurrentMemoryContext;

	/* A side without dimensions has seen no vector: it adds its count
	 * only. Two such sides are an empty parallel aggregate, not an error. */
	if (dims_a != 0 && dims_b != 0)
		check_expected_dim(dims_a, dims_b);
	int dims = Max(dims_a, dims_b);
	ArrayType *result = new_state_in(aggcontext, dims);
	float8 *vr = state_data(result);
	vr[0] = va[0] + vb[0];
	for (int i = 1; i <= dims; i++)
		vr[i] = checked_sum(dims_a != 0 ? va[i] : 0, dims_b != 0 ? vb[i] : 0);
	PG_RETURN_ARRAYTYPE_P(result);
}

/* vector_avg(float8[]): NULL over no rows */
VECDB_FUNCTION(vector_avg)
{
	ArrayType *state = PG_GETARG_ARRAYTYPE_P(0);
	int dims;
	float8 *values = state_values(state, "vector_avg", &dims);

	if (values[0] == 0)
		PG_RETURN_NULL();

	Vector *result = new_vector(dims); /* ERROR for a count without sums */
	for (int i = 0; i < dims; i++)
	{
		result->x[i] = static_cast<float>(values[i + 1] / values[0]);
		check_element(result->x[i]);
	}
	PG_RETURN_VECTOR_P(result);
}
