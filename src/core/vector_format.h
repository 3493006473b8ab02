/*
 * vector_format.h: the vector's external formats, parsed without PostgreSQL.
 *
 * Text:   '[1, 2.5, -3e-2]'  (whitespace allowed around elements and brackets)
 * Binary: int16 dims, int16 zero, dims x float4, all in network byte order
 *         (pgvector's send/recv format, so binary COPY moves between the two);
 *         halfvec's the same with binary16 elements.
 *
 * Both parsers treat their input as hostile: they never read past its end,
 * never write past the caller's buffer, and say what was wrong instead of
 * guessing. src/type turns a status into an ERROR; the fuzzers in test/fuzz
 * drive these functions directly.
 */
#pragma once

#include <cstddef>
#include <cstdint>

#include "core/half.h"

namespace vecdb::core {

/* The largest number of dimensions a vector may have. */
constexpr std::size_t max_vector_dims = 16000;

enum class ParseStatus
{
	ok,
	syntax,          /* not of the form [x, y, ...] */
	no_open_bracket, /* does not start with '[' */
	junk_after,      /* something follows the closing ']' */
	empty,           /* '[]': a vector needs one dimension at least */
	too_many_dims,   /* more than the caller's capacity */
	out_of_range,    /* a number beyond float4's range */
	nan,             /* NaN is not allowed in a vector */
	infinite,        /* nor is +/-Infinity */
	bad_header,      /* binary: non-zero reserved field */
	bad_length,      /* binary: message shorter or longer than dims say */
};

struct ParseResult
{
	ParseStatus status;
	std::size_t dims;         /* elements written, when status == ok */
	std::size_t token_offset; /* where the offending element starts (text) */
	std::size_t token_length; /* and how long it is */
};

/*
 * An upper bound on the dimensions of a text vector (one more than its
 * commas), so the caller can size the output before parsing.
 */
std::size_t text_dims_upper_bound(const char *text) noexcept;

/* Parse a NUL-terminated text vector into out[0..capacity). */
ParseResult parse_vector_text(const char *text, float *out, std::size_t capacity) noexcept;

/* The dimension count in a binary vector's header (an unsigned int16, as
 * pgvector reads it), or -1 if the message is too short to hold one. */
long binary_dims(const unsigned char *buf, std::size_t len) noexcept;

/* Decode a binary vector of exactly len bytes into out[0..capacity). */
ParseResult parse_vector_binary(const unsigned char *buf, std::size_t len, float *out,
								std::size_t capacity) noexcept;

/* Encoded size of a binary vector of the given dimensions. */
constexpr std::size_t
binary_vector_size(std::size_t dims) noexcept
{
	return 4 + 4 * dims;
}

/* Write a binary vector into out[0 .. binary_vector_size(n)). */
void format_vector_binary(const float *x, std::size_t n, unsigned char *out) noexcept;

/* halfvec's binary form (pgvector's): the same header, then dims binary16
 * values, big-endian; NaN and infinities refused as for vector. */
constexpr std::size_t
binary_halfvec_size(std::size_t dims) noexcept
{
	return 4 + 2 * dims;
}
ParseResult parse_halfvec_binary(const unsigned char *buf, std::size_t len, Half *out,
								 std::size_t capacity) noexcept;
void format_halfvec_binary(const Half *x, std::size_t n, unsigned char *out) noexcept;

} // namespace vecdb::core
