/*
 * sparse.h: sparse vectors (pgvector's sparsevec) without PostgreSQL: their
 * distances, their order, and their text and binary formats.
 *
 * A sparse vector is dims, and nnz pairs of a 0-based index and a non-zero
 * float, the indices strictly ascending. Every distance walks both index
 * lists once, as a merge join: O(nnz a + nnz b), with no dense copy, so a
 * 30,522-dim SPLADE vector with 200 non-zeros costs 200 steps, not 30,522.
 *
 * The formats (pgvector's, so dumps and drivers move between the two):
 * Text:   '{1:1.5,3:2}/5'  indices 1-based, in any order, zeros dropped;
 *         whitespace allowed around every token
 * Binary: int32 dims, int32 nnz, int32 zero, nnz int32 indices (0-based),
 *         nnz float4 values, all in network byte order
 *
 * The parsers treat their input as hostile, as vector_format.h's do; the
 * fuzzer test/fuzz/sparse_input.cpp drives them directly.
 */
#pragma once

#include <cstddef>
#include <cstdint>

namespace vecdb::core {

/* pgvector's limits. */
constexpr std::int32_t max_sparse_dims = 1000000000;
constexpr std::size_t max_sparse_nnz = 16000;

struct SparseView
{
	const std::int32_t *indices; /* 0-based, strictly ascending */
	const float *values;         /* non-zero */
	std::size_t nnz;
};

/* The four distances' raw quantities; float sums where the float kernels
 * sum in float, so that a sparse and a dense copy of a vector agree. */
float sparse_dot(SparseView a, SparseView b) noexcept;
float sparse_l2_squared(SparseView a, SparseView b) noexcept;
double sparse_l1(SparseView a, SparseView b) noexcept;
double sparse_squared_norm(SparseView a) noexcept;

/* -1, 0 or 1: a against b as their dense forms compare element by element
 * (missing elements are zeros), the shorter first when one is a prefix of
 * the other; the order of vector's btree opclass. */
int sparse_compare(SparseView a, std::int32_t a_dims, SparseView b, std::int32_t b_dims) noexcept;

/* What is wrong with a sparse vector's parts, in the order pgvector checks:
 * every index first, then every value. */
enum class SparseFault
{
	none,
	index_out_of_bounds, /* not in 0 .. dims - 1 */
	unordered,           /* an index below the one before it */
	duplicate,           /* an index equal to the one before it */
	nan,
	infinite,
	zero, /* a stored zero: binary input only, text drops them */
};

SparseFault check_sparse(SparseView v, std::int32_t dims, bool zeros_allowed) noexcept;

/* ---- text ---- */

enum class SparseTextStatus
{
	ok,
	no_open_brace, /* does not start with '{' */
	syntax,        /* a malformed index:value pair or dimension */
	no_slash,      /* the pairs end without '/dims' */
	junk_after,    /* something follows the dimensions */
	too_many,      /* more non-zero pairs than the caller's capacity */
	out_of_range,  /* a value beyond float4's range */
	nan,           /* a NaN value */
	infinite,      /* an infinite value */
};

struct SparseTextResult
{
	SparseTextStatus status;
	std::size_t nnz;          /* pairs written, when ok */
	long dims;                /* as written, clamped to int32's range; when ok */
	std::size_t token_offset; /* where the offending value starts */
	std::size_t token_length; /* and how long it is */
};

/* One index:value pair of the text form, its index 0-based. */
struct SparsePair
{
	std::int32_t index;
	float value;
};

/*
 * Parse a NUL-terminated text sparse vector into out[0, capacity): the
 * non-zero pairs only, sorted by index, each index 0-based and clamped to
 * int32's range (so that check_sparse words an absurd one as out of
 * bounds). Dimensions and indices are not checked here: see check_sparse.
 */
SparseTextResult parse_sparse_text(const char *text, SparsePair *out,
								   std::size_t capacity) noexcept;

/* An upper bound on a text sparse vector's pairs (one more than its
 * commas), so the caller can size the output before parsing. */
std::size_t sparse_text_pairs_upper_bound(const char *text) noexcept;

/* ---- binary ---- */

struct SparseBinaryHeader
{
	std::int32_t dims;
	std::int32_t nnz;
	std::int32_t unused;
};

constexpr std::size_t sparse_binary_header_size = 12;

constexpr std::size_t
binary_sparse_size(std::size_t nnz) noexcept
{
	return sparse_binary_header_size + 8 * nnz;
}

/* The header of a binary sparse vector; false if len cannot hold one. */
bool read_sparse_header(const unsigned char *buf, std::size_t len,
						SparseBinaryHeader *header) noexcept;

/* The nnz indices and values after the header; the caller has checked that
 * len >= binary_sparse_size(nnz). */
void read_sparse_body(const unsigned char *buf, std::size_t nnz, std::int32_t *indices,
					  float *values) noexcept;

/* Write v into out[0 .. binary_sparse_size(v.nnz)). */
void format_sparse_binary(SparseView v, std::int32_t dims, unsigned char *out) noexcept;

} // namespace vecdb::core
