/*
 * vector_cast.cpp: casts between vector and SQL arrays.
 *
 *   integer[], real[], double precision[], numeric[]  ->  vector   (assignment)
 *   vector  ->  real[]                                              (implicit)
 */
#include "type/vector.h"

#include <cmath>

extern "C" {
#include "catalog/pg_type.h"
#include "utils/array.h"
#include "utils/fmgrprotos.h"
#include "utils/lsyscache.h"
}

using namespace vecdb;

namespace {

float
element_to_float(Datum d, Oid type, const char *vector_type)
{
	switch (type)
	{
		case INT4OID:
			return static_cast<float>(DatumGetInt32(d));
		case FLOAT4OID:
			return DatumGetFloat4(d);
		case FLOAT8OID: {
			/* a finite double beyond float4 must not become Infinity */
			double value = DatumGetFloat8(d);
			float narrowed = static_cast<float>(value);
			if (std::isinf(narrowed) && !std::isinf(value))
				ereport(ERROR, (errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
								errmsg("\"%g\" is out of range for type %s", value, vector_type)));
			return narrowed;
		}
		case NUMERICOID:
			return DatumGetFloat4(DirectFunctionCall1(numeric_float4, d));
		default:
			ereport(ERROR, (errcode(ERRCODE_DATA_EXCEPTION),
							errmsg("unsupported array type %s", format_type_be(type))));
	}
	pg_unreachable();
}

} // namespace

/* array_to_vector(anyarray of the types above, typmod, explicit) */
VECDB_FUNCTION(array_to_vector)
{
	PG_RETURN_VECTOR_P(array_to_floats(PG_GETARG_ARRAYTYPE_P(0), PG_GETARG_INT32(1), "vector"));
}

float *
vecdb::array_elements_as_floats(ArrayType *array, const char *vector_type, int *count)
{
	Oid type = ARR_ELEMTYPE(array);

	if (ARR_NDIM(array) > 1)
		ereport(ERROR, (errcode(ERRCODE_DATA_EXCEPTION), errmsg("array must be 1-D")));
	if (array_contains_nulls(array))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED), errmsg("array must not contain nulls")));

	int16 typlen;
	bool typbyval;
	char typalign;
	get_typlenbyvalalign(type, &typlen, &typbyval, &typalign);

	Datum *elems;
	int n;
	deconstruct_array(array, type, typlen, typbyval, typalign, &elems, nullptr, &n);

	float *x = palloc_array(float, Max(n, 1));
	for (int i = 0; i < n; i++)
	{
		x[i] = element_to_float(elems[i], type, vector_type);
		check_element(x[i], vector_type);
	}
	pfree(elems);
	*count = n;
	return x;
}

Vector *
vecdb::array_to_floats(ArrayType *array, int32 typmod, const char *vector_type)
{
	int n;
	float *x = array_elements_as_floats(array, vector_type, &n);
	check_dim(n, vector_type);
	check_expected_dim(typmod, n);

	Vector *result = new_vector(n);
	memcpy(result->x, x, sizeof(float) * n);
	pfree(x);
	return result;
}

/* vector_to_float4(vector, typmod, explicit) */
VECDB_FUNCTION(vector_to_float4)
{
	Vector *v = PG_GETARG_VECTOR_P(0);
	Datum *elems = palloc_array(Datum, v->dim);

	for (int i = 0; i < v->dim; i++)
		elems[i] = Float4GetDatum(v->x[i]);
	PG_RETURN_POINTER(construct_array_builtin(elems, v->dim, FLOAT4OID));
}
