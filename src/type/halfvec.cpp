/*
 * halfvec.cpp: pgvector's halfvec, a vector of IEEE half-precision
 * elements (type/vector.h, core/half.h), with pgvector's functions,
 * operators, casts and messages.
 *
 * A halfvec function converts its arguments to float vectors and does its
 * work with the vector type's own code: the kernels, the checks, the
 * aggregates' state. A halfvec result is converted back and must fit:
 * input and casts say which value is out of range for type halfvec,
 * arithmetic says overflow or underflow, as for vector. The messages name
 * halfvec wherever they name the type.
 */
#include "type/vector.h"

#include <cctype>
#include <cmath>

extern "C" {
#include "catalog/pg_type.h"
#include "common/shortest_dec.h"
#include "libpq/pqformat.h"
#include "utils/varbit.h"

Datum l2_distance(PG_FUNCTION_ARGS);
Datum inner_product(PG_FUNCTION_ARGS);
Datum cosine_distance(PG_FUNCTION_ARGS);
Datum l1_distance(PG_FUNCTION_ARGS);
Datum vector_spherical_distance(PG_FUNCTION_ARGS);
Datum vector_l2_squared_distance(PG_FUNCTION_ARGS);
Datum vector_negative_inner_product(PG_FUNCTION_ARGS);
Datum vector_norm(PG_FUNCTION_ARGS);
Datum l2_normalize(PG_FUNCTION_ARGS);
Datum binary_quantize(PG_FUNCTION_ARGS);
Datum vector_add(PG_FUNCTION_ARGS);
Datum vector_sub(PG_FUNCTION_ARGS);
Datum vector_mul(PG_FUNCTION_ARGS);
Datum vector_cmp(PG_FUNCTION_ARGS);
Datum vector_accum(PG_FUNCTION_ARGS);
Datum vector_avg(PG_FUNCTION_ARGS);
Datum vector_to_float4(PG_FUNCTION_ARGS);
}

using namespace vecdb;

namespace {

constexpr const char *type_name = "halfvec";

/* h as a float vector. */
Vector *
floats_of(const HalfVector *h)
{
	Vector *v = new_vector(h->dim);
	core::halfs_to_floats(h->x, v->x, static_cast<Size>(h->dim));
	return v;
}

Datum
floats_datum(FunctionCallInfo fcinfo, int argno)
{
	return PointerGetDatum(floats_of(PG_GETARG_HALFVEC_P(argno)));
}

/* What a value that does not fit a half is, in the message. */
enum class Misfit
{
	value,    /* input and casts: "x" is out of range for type halfvec */
	overflow, /* arithmetic: value out of range: overflow */
};

[[noreturn]] void
does_not_fit(float x, Misfit misfit)
{
	if (misfit == Misfit::overflow || std::isinf(x))
		ereport(ERROR, (errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
						errmsg("value out of range: overflow")));
	char buf[FLOAT_SHORTEST_DECIMAL_LEN];
	float_to_shortest_decimal_buf(x, buf);
	ereport(ERROR, (errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
					errmsg("\"%s\" is out of range for type halfvec", buf)));
	pg_unreachable();
}

/* dim floats as a halfvec, each checked to be a number and to fit. */
HalfVector *
halfvec_of(const float *x, int dim, Misfit misfit)
{
	HalfVector *h = new_halfvec(dim);
	for (int i = 0; i < dim; i++)
	{
		check_element(x[i], type_name);
		if (!core::float_to_half(x[i], &h->x[i]))
			does_not_fit(x[i], misfit);
	}
	return h;
}

/* Both arguments as float vectors of equal dimensions, for a vector
 * function of two. */
Datum
call_pair(FunctionCallInfo fcinfo, PGFunction f)
{
	HalfVector *a = PG_GETARG_HALFVEC_P(0);
	HalfVector *b = PG_GETARG_HALFVEC_P(1);
	check_same_dims(a->dim, b->dim, type_name);
	return DirectFunctionCall2(f, PointerGetDatum(floats_of(a)), PointerGetDatum(floats_of(b)));
}

/* A vector function's vector result back as a halfvec. */
Datum
halfvec_result(Datum vector, Misfit misfit)
{
	auto *v = reinterpret_cast<Vector *>(DatumGetPointer(vector));
	PG_RETURN_POINTER(halfvec_of(v->x, v->dim, misfit));
}

/* The text of element i of a text halfvec that parsed: for the message
 * about a value that does not fit, as the user wrote it. */
void
element_text(const char *text, int i, const char **start, int *length)
{
	const char *p = strchr(text, '[') + 1;
	for (int k = 0; k < i; k++)
		p = strchr(p, ',') + 1;
	while (isspace(static_cast<unsigned char>(*p)))
		p++;
	const char *end = p;
	while (*end != '\0' && *end != ',' && *end != ']' && !isspace(static_cast<unsigned char>(*end)))
		end++;
	*start = p;
	*length = static_cast<int>(end - p);
}

} // namespace

/* halfvec_in(cstring, oid, typmod) */
VECDB_FUNCTION(halfvec_in)
{
	const char *text = PG_GETARG_CSTRING(0);
	int32 typmod = PG_GETARG_INT32(2);
	int dim;
	float *values = parse_text_floats(text, type_name, &dim);
	HalfVector *result = new_halfvec(dim);
	check_expected_dim(typmod, dim);
	for (int i = 0; i < dim; i++)
		if (!core::float_to_half(values[i], &result->x[i]))
		{
			const char *token;
			int length;
			element_text(text, i, &token, &length);
			ereport(ERROR, (errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
							errmsg("\"%.*s\" is out of range for type halfvec", length, token)));
		}
	pfree(values);
	PG_RETURN_POINTER(result);
}

/* halfvec_out(halfvec): each element as the shortest float that is it */
VECDB_FUNCTION(halfvec_out)
{
	HalfVector *h = PG_GETARG_HALFVEC_P(0);
	Vector *v = floats_of(h);
	PG_RETURN_CSTRING(format_text_floats(v->x, v->dim));
}

VECDB_FUNCTION(halfvec_typmod_in)
{
	PG_RETURN_INT32(dims_typmod_in(PG_GETARG_ARRAYTYPE_P(0), type_name));
}

/* halfvec_recv(internal, oid, typmod): int16 dims, int16 0, dims halves,
 * in network byte order (pgvector's format) */
VECDB_FUNCTION(halfvec_recv)
{
	StringInfo buf = reinterpret_cast<StringInfo>(PG_GETARG_POINTER(0));
	BinaryInput in = binary_input(buf, sizeof(core::Half));
	HalfVector *result = new_halfvec(in.capacity);
	core::ParseResult parsed =
		core::parse_halfvec_binary(in.bytes, in.length, result->x, static_cast<Size>(in.capacity));
	finish_binary_input(buf, in, parsed, PG_GETARG_INT32(2), type_name);
	PG_RETURN_POINTER(result);
}

VECDB_FUNCTION(halfvec_send)
{
	HalfVector *h = PG_GETARG_HALFVEC_P(0);
	Size size = core::binary_halfvec_size(static_cast<Size>(h->dim));
	bytea *result = static_cast<bytea *>(palloc(VARHDRSZ + size));
	SET_VARSIZE(result, VARHDRSZ + size);
	core::format_halfvec_binary(h->x, static_cast<Size>(h->dim),
								reinterpret_cast<unsigned char *>(VARDATA(result)));
	PG_RETURN_BYTEA_P(result);
}

/* halfvec(halfvec, typmod, explicit): the cast that enforces halfvec(n) */
VECDB_FUNCTION(halfvec)
{
	HalfVector *h = PG_GETARG_HALFVEC_P(0);
	check_expected_dim(PG_GETARG_INT32(1), h->dim);
	PG_RETURN_POINTER(h);
}

/* casts */

VECDB_FUNCTION(halfvec_to_vector)
{
	HalfVector *h = PG_GETARG_HALFVEC_P(0);
	check_expected_dim(PG_GETARG_INT32(1), h->dim);
	PG_RETURN_POINTER(floats_of(h));
}

VECDB_FUNCTION(vector_to_halfvec)
{
	Vector *v = PG_GETARG_VECTOR_P(0);
	check_expected_dim(PG_GETARG_INT32(1), v->dim);
	PG_RETURN_POINTER(halfvec_of(v->x, v->dim, Misfit::value));
}

VECDB_FUNCTION(array_to_halfvec)
{
	Vector *v = array_to_floats(PG_GETARG_ARRAYTYPE_P(0), PG_GETARG_INT32(1), type_name);
	PG_RETURN_POINTER(halfvec_of(v->x, v->dim, Misfit::value));
}

VECDB_FUNCTION(halfvec_to_float4)
{
	return DirectFunctionCall3(vector_to_float4, floats_datum(fcinfo, 0), PG_GETARG_DATUM(1),
							   PG_GETARG_DATUM(2));
}

/* distances: the vector kernels over the float copies */

VECDB_FUNCTION(halfvec_l2_distance)
{
	return call_pair(fcinfo, l2_distance);
}

VECDB_FUNCTION(halfvec_l2_squared_distance)
{
	return call_pair(fcinfo, vector_l2_squared_distance);
}

VECDB_FUNCTION(halfvec_inner_product)
{
	return call_pair(fcinfo, inner_product);
}

VECDB_FUNCTION(halfvec_negative_inner_product)
{
	return call_pair(fcinfo, vector_negative_inner_product);
}

VECDB_FUNCTION(halfvec_cosine_distance)
{
	return call_pair(fcinfo, cosine_distance);
}

VECDB_FUNCTION(halfvec_spherical_distance)
{
	return call_pair(fcinfo, vector_spherical_distance);
}

VECDB_FUNCTION(halfvec_l1_distance)
{
	return call_pair(fcinfo, l1_distance);
}

/* other functions */

VECDB_FUNCTION(halfvec_vector_dims)
{
	PG_RETURN_INT32(PG_GETARG_HALFVEC_P(0)->dim);
}

VECDB_FUNCTION(halfvec_l2_norm)
{
	return DirectFunctionCall1(vector_norm, floats_datum(fcinfo, 0));
}

VECDB_FUNCTION(halfvec_l2_normalize)
{
	return halfvec_result(DirectFunctionCall1(l2_normalize, floats_datum(fcinfo, 0)),
						  Misfit::overflow);
}

VECDB_FUNCTION(halfvec_binary_quantize)
{
	return DirectFunctionCall1(binary_quantize, floats_datum(fcinfo, 0));
}

VECDB_FUNCTION(halfvec_subvector)
{
	HalfVector *h = PG_GETARG_HALFVEC_P(0);
	int first;
	int dim = subvector_bounds(h->dim, PG_GETARG_INT32(1), PG_GETARG_INT32(2), type_name, &first);
	HalfVector *result = new_halfvec(dim);
	memcpy(result->x, h->x + first, sizeof(core::Half) * dim);
	PG_RETURN_POINTER(result);
}

/* arithmetic, in float, each result checked to fit a half */

VECDB_FUNCTION(halfvec_add)
{
	return halfvec_result(call_pair(fcinfo, vector_add), Misfit::overflow);
}

VECDB_FUNCTION(halfvec_sub)
{
	return halfvec_result(call_pair(fcinfo, vector_sub), Misfit::overflow);
}

/* A product of non-zero halves that rounds to a zero half lost
 * everything: underflow, as vector_mul says of floats. */
VECDB_FUNCTION(halfvec_mul)
{
	Datum product = call_pair(fcinfo, vector_mul);
	auto *v = reinterpret_cast<Vector *>(DatumGetPointer(product));
	HalfVector *h = halfvec_of(v->x, v->dim, Misfit::overflow);
	for (int i = 0; i < h->dim; i++)
		if (v->x[i] != 0 && (h->x[i] & 0x7fff) == 0)
			ereport(ERROR, (errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
							errmsg("value out of range: underflow")));
	PG_RETURN_POINTER(h);
}

VECDB_FUNCTION(halfvec_concat)
{
	HalfVector *a = PG_GETARG_HALFVEC_P(0);
	HalfVector *b = PG_GETARG_HALFVEC_P(1);
	HalfVector *result = new_halfvec(a->dim + b->dim);
	memcpy(result->x, a->x, sizeof(core::Half) * a->dim);
	memcpy(result->x + a->dim, b->x, sizeof(core::Half) * b->dim);
	PG_RETURN_POINTER(result);
}

/* comparisons: the vector order of the float values (exact) */

namespace {

int
compare_args(FunctionCallInfo fcinfo)
{
	return DatumGetInt32(
		DirectFunctionCall2(vector_cmp, floats_datum(fcinfo, 0), floats_datum(fcinfo, 1)));
}

} // namespace

VECDB_FUNCTION(halfvec_cmp)
{
	PG_RETURN_INT32(compare_args(fcinfo));
}

VECDB_FUNCTION(halfvec_lt)
{
	PG_RETURN_BOOL(compare_args(fcinfo) < 0);
}

VECDB_FUNCTION(halfvec_le)
{
	PG_RETURN_BOOL(compare_args(fcinfo) <= 0);
}

VECDB_FUNCTION(halfvec_eq)
{
	PG_RETURN_BOOL(compare_args(fcinfo) == 0);
}

VECDB_FUNCTION(halfvec_ne)
{
	PG_RETURN_BOOL(compare_args(fcinfo) != 0);
}

VECDB_FUNCTION(halfvec_ge)
{
	PG_RETURN_BOOL(compare_args(fcinfo) >= 0);
}

VECDB_FUNCTION(halfvec_gt)
{
	PG_RETURN_BOOL(compare_args(fcinfo) > 0);
}

/* aggregates: vector's state (float8 sums), a halfvec average */

/* vector_accum with the halfvec as floats, called with this call's
 * context, so that inside an aggregate it updates the state in place */
VECDB_FUNCTION(halfvec_accum)
{
	LOCAL_FCINFO(inner, 2);
	InitFunctionCallInfoData(*inner, fcinfo->flinfo, 2, fcinfo->fncollation, fcinfo->context,
							 nullptr);
	inner->args[0] = fcinfo->args[0];
	inner->args[1].value = floats_datum(fcinfo, 1);
	inner->args[1].isnull = false;
	Datum state = vector_accum(inner);
	if (inner->isnull)
		elog(ERROR, "vector_accum returned NULL");
	return state;
}

/* NULL, as vector_avg, for a state that counted no row */
VECDB_FUNCTION(halfvec_avg)
{
	LOCAL_FCINFO(inner, 1);
	InitFunctionCallInfoData(*inner, fcinfo->flinfo, 1, fcinfo->fncollation, fcinfo->context,
							 nullptr);
	inner->args[0] = fcinfo->args[0];
	Datum avg = vector_avg(inner);
	if (inner->isnull)
		PG_RETURN_NULL();
	return halfvec_result(avg, Misfit::overflow);
}
