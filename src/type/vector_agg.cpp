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

/* The state's elements, after checking it is a 1-D float8[] with no NULLs. */
float8 *
state_values(ArrayType *state, int *n)
{
	if (ARR_NDIM(state) != 1 || ARR_HASNULL(state) || ARR_ELEMTYPE(state) != FLOAT8OID ||
		ARR_DIMS(state)[0] < 1)
		ereport(ERROR, (errcode(ERRCODE_DATA_EXCEPTION), errmsg("invalid vector aggregate state")));
	*n = ARR_DIMS(state)[0];
	return reinterpret_cast<float8 *>(ARR_DATA_PTR(state));
}

ArrayType *
copy_state(const ArrayType *state)
{
	ArrayType *copy = static_cast<ArrayType *>(palloc(VARSIZE(state)));
	memcpy(copy, state, VARSIZE(state));
	return copy;
}

ArrayType *
new_state(int dim)
{
	/* construct_array needs Datums; a zero-filled state is built directly */
	Size size = ARR_OVERHEAD_NONULLS(1) + sizeof(float8) * (dim + 1);
	ArrayType *state = static_cast<ArrayType *>(palloc0(size));
	SET_VARSIZE(state, size);
	state->ndim = 1;
	state->dataoffset = 0;
	state->elemtype = FLOAT8OID;
	ARR_DIMS(state)[0] = dim + 1;
	ARR_LBOUND(state)[0] = 1;
	return state;
}

void
check_state_dims(int state_dim, int dim)
{
	if (state_dim != dim)
		ereport(ERROR, (errcode(ERRCODE_DATA_EXCEPTION),
						errmsg("different vector dimensions %d and %d", state_dim, dim)));
}

} // namespace

/* vector_accum(float8[], vector): count the vector and add it in */
VECDB_FUNCTION(vector_accum)
{
	ArrayType *state = PG_GETARG_ARRAYTYPE_P(0);
	Vector *v = PG_GETARG_VECTOR_P(1);
	MemoryContext aggcontext;
	int n;
	float8 *values = state_values(state, &n);

	/* Outside an aggregate the state may be anyone's datum: never scribble
	 * on it there. */
	if (!AggCheckCallContext(fcinfo, &aggcontext))
	{
		aggcontext = CurrentMemoryContext;
		state = copy_state(state);
		values = state_values(state, &n);
	}

	/* The first vector fixes the dimensions; the state lives in the
	 * aggregate's context from then on and is updated in place. */
	if (n == 1)
	{
		MemoryContext old = MemoryContextSwitchTo(aggcontext);
		float8 count = values[0];
		state = new_state(v->dim);
		MemoryContextSwitchTo(old);
		values = reinterpret_cast<float8 *>(ARR_DATA_PTR(state));
		values[0] = count;
		n = v->dim + 1;
	}
	check_state_dims(n - 1, v->dim);

	values[0] += 1;
	for (int i = 0; i < v->dim; i++)
		values[i + 1] += v->x[i];
	PG_RETURN_ARRAYTYPE_P(state);
}

/* vector_combine(float8[], float8[]): merge two partial states */
VECDB_FUNCTION(vector_combine)
{
	ArrayType *a = PG_GETARG_ARRAYTYPE_P(0);
	ArrayType *b = PG_GETARG_ARRAYTYPE_P(1);
	MemoryContext aggcontext;
	int na, nb;
	float8 *va = state_values(a, &na);
	float8 *vb = state_values(b, &nb);

	if (!AggCheckCallContext(fcinfo, &aggcontext))
		aggcontext = CurrentMemoryContext;

	/* An empty side contributes nothing; copy the other into our context. */
	ArrayType *from = (na == 1) ? b : a;
	if (na == 1 || nb == 1)
	{
		MemoryContext old = MemoryContextSwitchTo(aggcontext);
		ArrayType *copy = copy_state(from);
		MemoryContextSwitchTo(old);
		PG_RETURN_ARRAYTYPE_P(copy);
	}
	check_state_dims(na - 1, nb - 1);

	MemoryContext old = MemoryContextSwitchTo(aggcontext);
	ArrayType *result = new_state(na - 1);
	MemoryContextSwitchTo(old);
	float8 *vr = reinterpret_cast<float8 *>(ARR_DATA_PTR(result));
	for (int i = 0; i < na; i++)
		vr[i] = va[i] + vb[i];
	PG_RETURN_ARRAYTYPE_P(result);
}

/* vector_avg(float8[]): NULL over no rows */
VECDB_FUNCTION(vector_avg)
{
	ArrayType *state = PG_GETARG_ARRAYTYPE_P(0);
	int n;
	float8 *values = state_values(state, &n);

	if (values[0] == 0 || n == 1)
		PG_RETURN_NULL();

	Vector *result = new_vector(n - 1);
	for (int i = 0; i < n - 1; i++)
	{
		result->x[i] = static_cast<float>(values[i + 1] / values[0]);
		check_overflow(result->x[i]);
	}
	PG_RETURN_VECTOR_P(result);
}
