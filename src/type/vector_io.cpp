/*
 * vector_io.cpp: text and binary input/output, and the vector(n) modifier.
 *
 * Parsing itself is src/core's (pure, fuzzed); this file turns its verdicts
 * into ERRORs and its output into varlenas.
 */
#include "type/vector.h"

#include <cmath>

extern "C" {
#include "common/shortest_dec.h"
#include "libpq/pqformat.h"
#include "utils/array.h"
}

using namespace vecdb;

namespace vecdb {

/* The ERROR for a parse that failed; never returns. */
[[noreturn]] void
report_parse_failure(const core::ParseResult &result, const char *text, const char *type)
{
	switch (result.status)
	{
		case core::ParseStatus::empty:
		case core::ParseStatus::too_many_dims:
			/* check_dim() words these the same way everywhere */
			check_dim(result.status == core::ParseStatus::empty ? 0 : vector_max_dim + 1, type);
			break;
		case core::ParseStatus::out_of_range:
			ereport(ERROR, (errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
							errmsg("\"%.*s\" is out of range for type %s",
								   static_cast<int>(result.token_length),
								   text + result.token_offset, type)));
			break;
		case core::ParseStatus::nan:
			check_element(NAN, type);
			break;
		case core::ParseStatus::infinite:
			check_element(INFINITY, type);
			break;
		case core::ParseStatus::bad_header:
			/* only binary input has a header; its caller reports this */
			break;
		case core::ParseStatus::bad_length:
			ereport(ERROR, (errcode(ERRCODE_PROTOCOL_VIOLATION),
							errmsg("insufficient data left in message")));
			break;
		case core::ParseStatus::syntax:
		case core::ParseStatus::no_open_bracket:
		case core::ParseStatus::junk_after:
		case core::ParseStatus::ok:
			break;
	}
	/* pgvector's details, for the two mistakes it names */
	const char *detail = nullptr;
	if (result.status == core::ParseStatus::no_open_bracket)
		detail = "Vector contents must start with \"[\".";
	else if (result.status == core::ParseStatus::junk_after)
		detail = "Junk after closing right brace.";
	ereport(ERROR, (errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
					errmsg("invalid input syntax for type %s: \"%s\"", type, text),
					detail ? errdetail("%s", detail) : 0));
	pg_unreachable();
}

float *
parse_text_floats(const char *text, const char *type, int *dim)
{
	/* Parse into a buffer sized from the commas, capped so a hostile string
	 * cannot make us allocate more than the largest legal vector (plus one
	 * to notice it). */
	Size bound = Min(core::text_dims_upper_bound(text), core::max_vector_dims + 1);
	float *values = static_cast<float *>(palloc(sizeof(float) * bound));
	core::ParseResult parsed = core::parse_vector_text(text, values, bound);
	if (parsed.status != core::ParseStatus::ok)
		report_parse_failure(parsed, text, type);
	*dim = static_cast<int>(parsed.dims);
	check_dim(*dim, type); /* ERROR past the limit that bound allows */
	return values;
}

char *
format_text_floats(const float *x, int dim)
{
	/* FLOAT_SHORTEST_DECIMAL_LEN counts a NUL, which pays for the comma */
	char *buf = static_cast<char *>(palloc(FLOAT_SHORTEST_DECIMAL_LEN * dim + 2));
	char *p = buf;
	*p++ = '[';
	for (int i = 0; i < dim; i++)
	{
		if (i > 0)
			*p++ = ',';
		p += float_to_shortest_decimal_bufn(x[i], p);
	}
	*p++ = ']';
	*p = '\0';
	return buf;
}

int32
dims_typmod_in(ArrayType *array, const char *type, int32 max_dims)
{
	int n;
	int32 *mods = ArrayGetIntegerTypmods(array, &n);

	if (n != 1)
		ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE), errmsg("invalid type modifier")));
	if (mods[0] < 1)
		ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						errmsg("dimensions for type %s must be at least 1", type)));
	if (mods[0] > max_dims)
		ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						errmsg("dimensions for type %s cannot exceed %d", type, max_dims)));
	return mods[0];
}

} // namespace vecdb

/* vector_in(cstring, oid, typmod) */
VECDB_FUNCTION(vector_in)
{
	const char *text = PG_GETARG_CSTRING(0);
	int32 typmod = PG_GETARG_INT32(2);
	int dim;
	float *values = parse_text_floats(text, "vector", &dim);
	Vector *result = new_vector(dim);
	check_expected_dim(typmod, dim);
	memcpy(result->x, values, sizeof(float) * dim);
	pfree(values);
	PG_RETURN_VECTOR_P(result);
}

/* vector_out(vector): '[x,y,...]' with each float in its shortest exact form */
VECDB_FUNCTION(vector_out)
{
	Vector *v = PG_GETARG_VECTOR_P(0);
	char *buf = format_text_floats(v->x, v->dim);
	PG_FREE_IF_COPY(v, 0);
	PG_RETURN_CSTRING(buf);
}

/* vector_typmod_in(cstring[]): the n of vector(n) */
VECDB_FUNCTION(vector_typmod_in)
{
	PG_RETURN_INT32(dims_typmod_in(PG_GETARG_ARRAYTYPE_P(0), "vector"));
}

namespace vecdb {

BinaryInput
binary_input(StringInfo buf, Size element_bytes)
{
	BinaryInput in;
	in.bytes = reinterpret_cast<const unsigned char *>(buf->data + buf->cursor);
	Size available = static_cast<Size>(buf->len - buf->cursor);
	/* Consume exactly our bytes; PostgreSQL itself rejects leftovers. */
	long dims = core::binary_dims(in.bytes, available);
	in.length = available;
	if (dims > 0 && 4 + element_bytes * static_cast<Size>(dims) < available)
		in.length = 4 + element_bytes * static_cast<Size>(dims);
	in.capacity = dims > 0 ? Min(static_cast<int>(dims), vector_max_dim) : 1;
	return in;
}

void
finish_binary_input(StringInfo buf, const BinaryInput &in, const core::ParseResult &parsed,
					int32 typmod, const char *type)
{
	if (parsed.status == core::ParseStatus::bad_header)
		ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						errmsg("expected unused to be 0, not %d",
							   static_cast<int16>((in.bytes[2] << 8) | in.bytes[3]))));
	if (parsed.status != core::ParseStatus::ok)
		report_parse_failure(parsed, "(binary)", type);
	check_expected_dim(typmod, static_cast<int>(parsed.dims));
	buf->cursor += static_cast<int>(in.length);
}

} // namespace vecdb

/* vector_recv(internal, oid, typmod): int16 dims, int16 0, dims float4s */
VECDB_FUNCTION(vector_recv)
{
	StringInfo buf = reinterpret_cast<StringInfo>(PG_GETARG_POINTER(0));
	BinaryInput in = binary_input(buf, sizeof(float));
	Vector *result = new_vector(in.capacity);
	core::ParseResult parsed =
		core::parse_vector_binary(in.bytes, in.length, result->x, static_cast<Size>(in.capacity));
	finish_binary_input(buf, in, parsed, PG_GETARG_INT32(2), "vector");
	PG_RETURN_VECTOR_P(result);
}

/* vector_send(vector) */
VECDB_FUNCTION(vector_send)
{
	Vector *v = PG_GETARG_VECTOR_P(0);
	Size size = core::binary_vector_size(static_cast<Size>(v->dim));
	bytea *result = static_cast<bytea *>(palloc(VARHDRSZ + size));

	SET_VARSIZE(result, VARHDRSZ + size);
	core::format_vector_binary(v->x, static_cast<Size>(v->dim),
							   reinterpret_cast<unsigned char *>(VARDATA(result)));
	PG_FREE_IF_COPY(v, 0);
	PG_RETURN_BYTEA_P(result);
}

/* vector(vector, typmod, explicit): the cast that enforces vector(n) */
VECDB_FUNCTION(vector)
{
	Vector *v = PG_GETARG_VECTOR_P(0);
	check_expected_dim(PG_GETARG_INT32(1), v->dim);
	PG_RETURN_VECTOR_P(v);
}
