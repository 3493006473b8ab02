/*
 * sparsevec.cpp: pgvector's sparsevec (type/sparsevec.h), with pgvector's
 * formats, functions, operators, casts and messages.
 *
 * Parsing, distances and order are src/core's (core/sparse.h); this file
 * turns their verdicts into ERRORs and their results into varlenas. Casts
 * to and from halfvec go through vector's own, so that the range checks
 * and their messages are halfvec's.
 */
#include "type/sparsevec.h"
#include "type/vector.h"

#include <algorithm>
#include <cmath>

extern "C" {
#include "common/shortest_dec.h"
#include "libpq/pqformat.h"
#include "utils/array.h"
#include "utils/builtins.h"

Datum halfvec_to_vector(PG_FUNCTION_ARGS);
Datum vector_to_halfvec(PG_FUNCTION_ARGS);
}

using namespace vecdb;

namespace {

constexpr const char *type_name = "sparsevec";
constexpr int max_dims = core::max_sparse_dims;
constexpr int max_nnz = static_cast<int>(core::max_sparse_nnz);

void
check_nnz(int nnz, int dim)
{
	if (nnz < 0)
		ereport(ERROR, (errcode(ERRCODE_DATA_EXCEPTION),
						errmsg("sparsevec cannot have negative number of elements")));
	if (nnz > max_nnz)
		ereport(ERROR, (errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
						errmsg("sparsevec cannot have more than %d non-zero elements", max_nnz)));
	if (nnz > dim)
		ereport(ERROR, (errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
						errmsg("sparsevec cannot have more elements than dimensions")));
}

/* Room for a sparse vector whose dimensions and count are checked. */
SparseVector *
allocate(int dim, int nnz)
{
	Size size = sparsevec_size(nnz);
	auto *v = static_cast<SparseVector *>(palloc0(size));
	SET_VARSIZE(v, size);
	v->dim = dim;
	v->nnz = nnz;
	return v;
}

/* ERROR for what core::check_sparse found, if anything. */
void
report_fault(core::SparseFault fault)
{
	switch (fault)
	{
		case core::SparseFault::none:
			return;
		case core::SparseFault::index_out_of_bounds:
			ereport(ERROR,
					(errcode(ERRCODE_DATA_EXCEPTION), errmsg("sparsevec index out of bounds")));
			break;
		case core::SparseFault::unordered:
			ereport(ERROR, (errcode(ERRCODE_DATA_EXCEPTION),
							errmsg("sparsevec indices must be in ascending order")));
			break;
		case core::SparseFault::duplicate:
			ereport(ERROR, (errcode(ERRCODE_DATA_EXCEPTION),
							errmsg("sparsevec indices must not contain duplicates")));
			break;
		case core::SparseFault::nan:
			check_element(NAN, type_name);
			break;
		case core::SparseFault::infinite:
			check_element(INFINITY, type_name);
			break;
		case core::SparseFault::zero:
			ereport(ERROR,
					(errcode(ERRCODE_DATA_EXCEPTION),
					 errmsg("binary representation of sparsevec cannot contain zero values")));
			break;
	}
}

[[noreturn]] void
syntax_error(const char *text, const char *detail)
{
	ereport(ERROR, (errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
					errmsg("invalid input syntax for type sparsevec: \"%s\"", text),
					detail ? errdetail("%s", detail) : 0));
	pg_unreachable();
}

void
report_text_failure(const core::SparseTextResult &r, const char *text)
{
	switch (r.status)
	{
		case core::SparseTextStatus::ok:
			return;
		case core::SparseTextStatus::no_open_brace:
			syntax_error(text, "Vector contents must start with \"{\".");
		case core::SparseTextStatus::no_slash:
			syntax_error(text, "Unexpected end of input.");
		case core::SparseTextStatus::junk_after:
			syntax_error(text, "Junk after closing.");
		case core::SparseTextStatus::syntax:
			syntax_error(text, nullptr);
		case core::SparseTextStatus::too_many:
			check_nnz(max_nnz + 1, max_dims);
			break;
		case core::SparseTextStatus::out_of_range:
			ereport(ERROR, (errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
							errmsg("\"%.*s\" is out of range for type sparsevec",
								   static_cast<int>(r.token_length), text + r.token_offset)));
			break;
		case core::SparseTextStatus::nan:
			check_element(NAN, type_name);
			break;
		case core::SparseTextStatus::infinite:
			check_element(INFINITY, type_name);
			break;
	}
}

/* The non-zero elements of dim floats, as a sparse vector. */
SparseVector *
sparse_of_floats(const float *x, int dim)
{
	int nnz = 0;
	for (int i = 0; i < dim; i++)
		nnz += x[i] != 0;
	SparseVector *s = new_sparsevec(dim, nnz);
	float *values = sparse_values(s);
	for (int i = 0, j = 0; i < dim; i++)
		if (x[i] != 0)
		{
			s->indices[j] = i;
			values[j++] = x[i];
		}
	return s;
}

/* s as a dense vector (ERROR past vector's 16,000 dimensions). */
Vector *
dense_of(SparseVector *s)
{
	Vector *v = new_vector(s->dim);
	const float *values = sparse_values(s);
	for (int i = 0; i < s->nnz; i++)
	{
		/* input checks every index, but a damaged value on disk is read too */
		if (s->indices[i] < 0 || s->indices[i] >= s->dim)
			report_fault(core::SparseFault::index_out_of_bounds);
		v->x[s->indices[i]] = values[i];
	}
	return v;
}

/* Both arguments, of equal dimensions. */
struct Pair
{
	SparseVector *a;
	SparseVector *b;
};

Pair
pair_args(FunctionCallInfo fcinfo)
{
	Pair p{PG_GETARG_SPARSEVEC_P(0), PG_GETARG_SPARSEVEC_P(1)};
	check_same_dims(p.a->dim, p.b->dim, type_name);
	return p;
}

int
compare_args(FunctionCallInfo fcinfo)
{
	SparseVector *a = PG_GETARG_SPARSEVEC_P(0);
	SparseVector *b = PG_GETARG_SPARSEVEC_P(1);
	return core::sparse_compare(sparse_view(a), a->dim, sparse_view(b), b->dim);
}

} // namespace

namespace vecdb {

SparseVector *
new_sparsevec(int dim, int nnz)
{
	check_dim(dim, type_name, max_dims);
	check_nnz(nnz, dim);
	return allocate(dim, nnz);
}

SparseVector *
datum_get_sparsevec(Datum d)
{
	auto *v = reinterpret_cast<SparseVector *>(PG_DETOAST_DATUM(d));
	if (VARSIZE(v) < sparsevec_size(0) || v->nnz < 0 || v->nnz > max_nnz ||
		VARSIZE(v) != sparsevec_size(v->nnz))
		ereport(ERROR, (errcode(ERRCODE_DATA_CORRUPTED),
						errmsg("a sparsevec value of %u bytes does not hold its elements",
							   static_cast<unsigned>(VARSIZE(v)))));
	return v;
}

} // namespace vecdb

/* sparsevec_in(cstring, oid, typmod): '{i:v,...}/dims', i from 1 */
VECDB_FUNCTION(sparsevec_in)
{
	const char *text = PG_GETARG_CSTRING(0);
	int32 typmod = PG_GETARG_INT32(2);

	/* sized from the commas, but never past the most a value may hold */
	Size capacity = Min(core::sparse_text_pairs_upper_bound(text), core::max_sparse_nnz);
	auto *pairs = palloc_array(core::SparsePair, capacity);
	core::SparseTextResult parsed = core::parse_sparse_text(text, pairs, capacity);
	report_text_failure(parsed, text);

	int dim = static_cast<int>(parsed.dims);
	check_dim(dim, type_name, max_dims);
	check_expected_dim(typmod, dim);

	int nnz = static_cast<int>(parsed.nnz);
	SparseVector *result = allocate(dim, nnz);
	float *values = sparse_values(result);
	for (int i = 0; i < nnz; i++)
	{
		result->indices[i] = pairs[i].index;
		values[i] = pairs[i].value;
	}
	pfree(pairs);
	report_fault(core::check_sparse(sparse_view(result), dim, false));
	PG_RETURN_POINTER(result);
}

/* sparsevec_out(sparsevec): each value in its shortest exact form */
VECDB_FUNCTION(sparsevec_out)
{
	SparseVector *s = PG_GETARG_SPARSEVEC_P(0);
	const float *values = sparse_values(s);
	/* an index and the dims take 11 bytes at most with their separator,
	 * FLOAT_SHORTEST_DECIMAL_LEN counts a NUL that pays for the comma */
	char *buf = static_cast<char *>(palloc((11 + FLOAT_SHORTEST_DECIMAL_LEN) * s->nnz + 16));
	char *p = buf;
	*p++ = '{';
	for (int i = 0; i < s->nnz; i++)
	{
		if (i > 0)
			*p++ = ',';
		p += pg_ltoa(s->indices[i] + 1, p);
		*p++ = ':';
		p += float_to_shortest_decimal_bufn(values[i], p);
	}
	*p++ = '}';
	*p++ = '/';
	p += pg_ltoa(s->dim, p);
	*p = '\0';
	PG_RETURN_CSTRING(buf);
}

VECDB_FUNCTION(sparsevec_typmod_in)
{
	PG_RETURN_INT32(dims_typmod_in(PG_GETARG_ARRAYTYPE_P(0), type_name, max_dims));
}

/* sparsevec_recv(internal, oid, typmod): int32 dims, int32 nnz, int32 0,
 * the indices (from 0), the values; network byte order (pgvector's) */
VECDB_FUNCTION(sparsevec_recv)
{
	StringInfo buf = reinterpret_cast<StringInfo>(PG_GETARG_POINTER(0));
	const auto *bytes = reinterpret_cast<const unsigned char *>(buf->data + buf->cursor);
	Size available = static_cast<Size>(buf->len - buf->cursor);

	core::SparseBinaryHeader header;
	if (!core::read_sparse_header(bytes, available, &header))
		ereport(ERROR,
				(errcode(ERRCODE_PROTOCOL_VIOLATION), errmsg("insufficient data left in message")));
	check_dim(header.dims, type_name, max_dims);
	check_nnz(header.nnz, header.dims);
	check_expected_dim(PG_GETARG_INT32(2), header.dims);
	if (header.unused != 0)
		ereport(ERROR, (errcode(ERRCODE_DATA_EXCEPTION),
						errmsg("expected unused to be 0, not %d", header.unused)));

	Size length = core::binary_sparse_size(static_cast<Size>(header.nnz));
	if (available < length)
		ereport(ERROR,
				(errcode(ERRCODE_PROTOCOL_VIOLATION), errmsg("insufficient data left in message")));
	SparseVector *result = allocate(header.dims, header.nnz);
	core::read_sparse_body(bytes, static_cast<Size>(header.nnz), result->indices,
						   sparse_values(result));
	report_fault(core::check_sparse(sparse_view(result), header.dims, false));
	buf->cursor += static_cast<int>(length);
	PG_RETURN_POINTER(result);
}

VECDB_FUNCTION(sparsevec_send)
{
	SparseVector *s = PG_GETARG_SPARSEVEC_P(0);
	Size size = core::binary_sparse_size(static_cast<Size>(s->nnz));
	bytea *result = static_cast<bytea *>(palloc(VARHDRSZ + size));
	SET_VARSIZE(result, VARHDRSZ + size);
	core::format_sparse_binary(sparse_view(s), s->dim,
							   reinterpret_cast<unsigned char *>(VARDATA(result)));
	PG_RETURN_BYTEA_P(result);
}

/* sparsevec(sparsevec, typmod, explicit): the cast that enforces
 * sparsevec(n) */
VECDB_FUNCTION(sparsevec)
{
	SparseVector *s = PG_GETARG_SPARSEVEC_P(0);
	check_expected_dim(PG_GETARG_INT32(1), s->dim);
	PG_RETURN_POINTER(s);
}

/* casts */

VECDB_FUNCTION(vector_to_sparsevec)
{
	Vector *v = PG_GETARG_VECTOR_P(0);
	check_expected_dim(PG_GETARG_INT32(1), v->dim);
	PG_RETURN_POINTER(sparse_of_floats(v->x, v->dim));
}

VECDB_FUNCTION(sparsevec_to_vector)
{
	SparseVector *s = PG_GETARG_SPARSEVEC_P(0);
	check_expected_dim(PG_GETARG_INT32(1), s->dim);
	PG_RETURN_POINTER(dense_of(s));
}

VECDB_FUNCTION(halfvec_to_sparsevec)
{
	Datum floats = DirectFunctionCall3(halfvec_to_vector, PG_GETARG_DATUM(0), Int32GetDatum(-1),
									   BoolGetDatum(false));
	auto *v = reinterpret_cast<Vector *>(DatumGetPointer(floats));
	check_expected_dim(PG_GETARG_INT32(1), v->dim);
	PG_RETURN_POINTER(sparse_of_floats(v->x, v->dim));
}

VECDB_FUNCTION(sparsevec_to_halfvec)
{
	SparseVector *s = PG_GETARG_SPARSEVEC_P(0);
	check_expected_dim(PG_GETARG_INT32(1), s->dim);
	return DirectFunctionCall3(vector_to_halfvec, PointerGetDatum(dense_of(s)), Int32GetDatum(-1),
							   BoolGetDatum(false));
}

/* array_to_sparsevec(integer[] | real[] | double precision[] | numeric[],
 * typmod, explicit): every element of the array is a dimension */
VECDB_FUNCTION(array_to_sparsevec)
{
	int n;
	float *x = array_elements_as_floats(PG_GETARG_ARRAYTYPE_P(0), type_name, &n);
	check_dim(n, type_name, max_dims);
	check_expected_dim(PG_GETARG_INT32(1), n);
	PG_RETURN_POINTER(sparse_of_floats(x, n));
}

/* distances */

VECDB_FUNCTION(sparsevec_l2_distance)
{
	Pair p = pair_args(fcinfo);
	PG_RETURN_FLOAT8(std::sqrt(
		static_cast<double>(core::sparse_l2_squared(sparse_view(p.a), sparse_view(p.b)))));
}

VECDB_FUNCTION(sparsevec_l2_squared_distance)
{
	Pair p = pair_args(fcinfo);
	PG_RETURN_FLOAT8(core::sparse_l2_squared(sparse_view(p.a), sparse_view(p.b)));
}

VECDB_FUNCTION(sparsevec_inner_product)
{
	Pair p = pair_args(fcinfo);
	PG_RETURN_FLOAT8(core::sparse_dot(sparse_view(p.a), sparse_view(p.b)));
}

VECDB_FUNCTION(sparsevec_negative_inner_product)
{
	Pair p = pair_args(fcinfo);
	PG_RETURN_FLOAT8(-static_cast<double>(core::sparse_dot(sparse_view(p.a), sparse_view(p.b))));
}

/* 1 - cos: NaN when either vector is zero, as for vector */
VECDB_FUNCTION(sparsevec_cosine_distance)
{
	Pair p = pair_args(fcinfo);
	core::SparseView a = sparse_view(p.a);
	core::SparseView b = sparse_view(p.b);
	double similarity = core::sparse_dot(a, b) /
						std::sqrt(core::sparse_squared_norm(a) * core::sparse_squared_norm(b));
	if (std::isnan(similarity))
		PG_RETURN_FLOAT8(NAN);
	PG_RETURN_FLOAT8(1.0 - std::clamp(similarity, -1.0, 1.0));
}

VECDB_FUNCTION(sparsevec_l1_distance)
{
	Pair p = pair_args(fcinfo);
	PG_RETURN_FLOAT8(core::sparse_l1(sparse_view(p.a), sparse_view(p.b)));
}

VECDB_FUNCTION(sparsevec_l2_norm)
{
	SparseVector *s = PG_GETARG_SPARSEVEC_P(0);
	PG_RETURN_FLOAT8(std::sqrt(core::sparse_squared_norm(sparse_view(s))));
}

/* s / |s|; a zero vector stays zero, and a value that becomes zero is
 * dropped, since a sparse vector stores none */
VECDB_FUNCTION(sparsevec_l2_normalize)
{
	SparseVector *s = PG_GETARG_SPARSEVEC_P(0);
	double norm = std::sqrt(core::sparse_squared_norm(sparse_view(s)));
	const float *values = sparse_values(s);
	if (norm == 0)
		PG_RETURN_POINTER(allocate(s->dim, 0));

	float *scaled = palloc_array(float, Max(s->nnz, 1));
	int nnz = 0;
	for (int i = 0; i < s->nnz; i++)
	{
		scaled[i] = static_cast<float>(values[i] / norm);
		check_overflow(scaled[i]);
		nnz += scaled[i] != 0;
	}
	SparseVector *result = allocate(s->dim, nnz);
	float *out = sparse_values(result);
	for (int i = 0, j = 0; i < s->nnz; i++)
		if (scaled[i] != 0)
		{
			result->indices[j] = s->indices[i];
			out[j++] = scaled[i];
		}
	PG_RETURN_POINTER(result);
}

/* comparisons: the btree opclass's order (core::sparse_compare) */

VECDB_FUNCTION(sparsevec_cmp)
{
	PG_RETURN_INT32(compare_args(fcinfo));
}

VECDB_FUNCTION(sparsevec_lt)
{
	PG_RETURN_BOOL(compare_args(fcinfo) < 0);
}

VECDB_FUNCTION(sparsevec_le)
{
	PG_RETURN_BOOL(compare_args(fcinfo) <= 0);
}

VECDB_FUNCTION(sparsevec_eq)
{
	PG_RETURN_BOOL(compare_args(fcinfo) == 0);
}

VECDB_FUNCTION(sparsevec_ne)
{
	PG_RETURN_BOOL(compare_args(fcinfo) != 0);
}

VECDB_FUNCTION(sparsevec_ge)
{
	PG_RETURN_BOOL(compare_args(fcinfo) >= 0);
}

VECDB_FUNCTION(sparsevec_gt)
{
	PG_RETURN_BOOL(compare_args(fcinfo) > 0);
}
