/*
 * vector.h: the vector type's in-memory layout and the checks every function
 * on it shares.
 *
 * The layout is pgvector's, so that binary-compatible tools and dumps work:
 * a varlena header, int16 dims, int16 reserved (always 0), then dims float4s.
 */
#pragma once

#include "pg/pg.h"
#include "core/half.h"
#include "core/vector_format.h"

extern "C" {
#include "lib/stringinfo.h"
#include "utils/array.h"
}

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

/* ERRORs shared by every function that builds or combines vectors; type
 * is the SQL type the messages name ("vector", "halfvec"). */
/* 1..max_dims */
void check_dim(int dim, const char *type = "vector", int max_dims = vector_max_dim);
void check_expected_dim(int32 typmod, int dim); /* matches vector(n) */
void check_same_dims(int a, int b, const char *type);
inline void
check_same_dims(const Vector *a, const Vector *b)
{
	check_same_dims(a->dim, b->dim, "vector");
}
void check_element(float value, const char *type = "vector"); /* finite, not NaN */
void check_overflow(float result);                            /* arithmetic never yields Infinity */

/* vector_io.cpp, for every type of the vector family: the text form
 * '[x,y,...]' into dim floats (palloc'd; ERROR as the type's input would
 * raise it), floats into that form, and the (n) modifier. */
float *parse_text_floats(const char *text, const char *type, int *dim);
char *format_text_floats(const float *x, int dim);
int32 dims_typmod_in(ArrayType *array, const char *type, int32 max_dims = vector_max_dim);
[[noreturn]] void report_parse_failure(const core::ParseResult &result, const char *text,
									   const char *type);

/* The binary form at a recv buffer's cursor: its bytes, as many as its
 * header's dims of elements of element_bytes take (or all that is left),
 * and the elements to make room for (1..16000). finish_binary_input
 * reports a failed parse of them as type's, checks the modifier, and
 * consumes the bytes. */
struct BinaryInput
{
	const unsigned char *bytes;
	Size length;
	int capacity;
};
BinaryInput binary_input(StringInfo buf, Size element_bytes);
void finish_binary_input(StringInfo buf, const BinaryInput &in, const core::ParseResult &parsed,
						 int32 typmod, const char *type);

/* subvector(v, start, count)'s slice of a dim-element vector: its first
 * element (0-based) in *first, its length returned; ERROR if empty. */
int subvector_bounds(int dim, int64 start, int64 count, const char *type, int *first);

/* array_to_vector's work: a 1-D array of int4, float4, float8 or numeric
 * as floats, checked as type's cast checks it. */
Vector *array_to_floats(ArrayType *array, int32 typmod, const char *type);
/* Its first half, for any length: the elements as count palloc'd floats,
 * each a number (check_element), the array 1-D and without NULLs. */
float *array_elements_as_floats(ArrayType *array, const char *type, int *count);

/*
 * halfvec: pgvector's half-precision vector, the same header with IEEE
 * binary16 elements (core/half.h). Its functions (halfvec.cpp) work on a
 * float copy and convert each result back, checking its range.
 */
struct HalfVector
{
	int32 vl_len_;
	int16 dim;
	int16 unused; /* reserved, always 0 */
	core::Half x[FLEXIBLE_ARRAY_MEMBER];
};

static_assert(offsetof(HalfVector, x) == offsetof(Vector, x), "halfvec shares vector's header");

constexpr Size
halfvec_size(int dim)
{
	return offsetof(HalfVector, x) + sizeof(core::Half) * static_cast<Size>(dim);
}

/* A zeroed halfvec of dim elements; ERROR unless 1 <= dim <= 16000. */
HalfVector *new_halfvec(int dim);

inline HalfVector *
datum_get_halfvec(Datum d)
{
	return reinterpret_cast<HalfVector *>(PG_DETOAST_DATUM(d));
}

} // namespace vecdb

#define PG_GETARG_VECTOR_P(n) (vecdb::datum_get_vector(PG_GETARG_DATUM(n)))
#define PG_RETURN_VECTOR_P(v) PG_RETURN_POINTER(v)
#define PG_GETARG_HALFVEC_P(n) (vecdb::datum_get_halfvec(PG_GETARG_DATUM(n)))
