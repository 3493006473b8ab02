/*
 * vector.h: the vector type's in-memory layout and the checks every function
 * on it shares.
 *
 * The layout is pgvector's, so that binary-compatible tools and dumps work:
 * a varlena header, int16 dims, int16 reserved (always 0), then dims float4s.
 */
#pragma once

#include "pg/pg.h"
#include "core/vector_format.h"

namespace vecdb {

struct Vector
{
	int32 vl_len_; /* varlena header: never touch directly */
	int16 dim;
	int16 unused; /* reserved, always 0 */
	float x[FLEXIBLE_ARRAY_MEMBER];
};

constexpr int vector_max_dim = static_cast<int>(core::max_vector_dims);

constexpr Size
vector_size(int dim)
{
	return offsetof(Vector, x) + sizeof(float) * static_cast<Size>(dim);
}

/* A zeroed vector of dim elements in the current memory context; ERROR
 * unless 1 <= dim <= 16000. */
Vector *new_vector(int dim);

inline Vector *
datum_get_vector(Datum d)
{
	return reinterpret_cast<Vector *>(PG_DETOAST_DATUM(d));
}

/*
 * Argument argno of a function called once per row, detoasted so that a
 * value repeated call after call is fetched from TOAST once per statement,
 * not once per row (the query vector of ORDER BY v <-> q, when q comes from
 * a table). The result belongs to the cache: never pfree it.
 */
Vector *vector_arg_reusing_detoast(FunctionCallInfo fcinfo, int argno);

/* ERRORs shared by every function that builds or combines vectors. */
void check_dim(int dim);                        /* 1..16000 */
void check_expected_dim(int32 typmod, int dim); /* matches vector(n) */
void check_same_dims(const Vector *a, const Vector *b);
void check_element(float value);   /* finite, not NaN */
void check_overflow(float result); /* arithmetic never yields Infinity */

} // namespace vecdb

#define PG_GETARG_VECTOR_P(n) (vecdb::datum_get_vector(PG_GETARG_DATUM(n)))
#define PG_RETURN_VECTOR_P(v) PG_RETURN_POINTER(v)
