/*
 * vector_format.cpp: parsers for the vector's text and binary formats.
 *
 * The text grammar is pgvector's: '[' element (',' element)* ']', with
 * whitespace allowed around every token, and each element whatever strtof()
 * accepts (so '1', '-2.5', '3e-7', '0x1p3' all work, as they do in float4).
 */
#include "core/vector_format.h"
#include "core/wire.h"
#include "core/half.h"

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>

namespace vecdb::core {

using wire::load_be32;
using wire::skip_space;
using wire::store_be32;

namespace {

ParseResult
failure(ParseStatus status, std::size_t offset = 0, std::size_t length = 0) noexcept
{
	return ParseResult{status, 0, offset, length};
}

/* Classify a finite-or-not element; ok when it may be stored. */
ParseStatus
check_element(float value) noexcept
{
	if (std::isnan(value))
		return ParseStatus::nan;
	if (std::isinf(value))
		return ParseStatus::infinite;
	return ParseStatus::ok;
}

} // namespace

std::size_t
text_dims_upper_bound(const char *text) noexcept
{
	std::size_t commas = 0;
	for (const char *p = text; *p; p++)
		commas += (*p == ',');
	return commas + 1;
}

ParseResult
parse_vector_text(const char *text, float *out, std::size_t capacity) noexcept
{
	const char *p = skip_space(text);
	if (*p != '[')
		return failure(ParseStatus::no_open_bracket);
	p = skip_space(p + 1);
	if (*p == ']') /* whatever follows, as pgvector says */
		return failure(ParseStatus::empty);

	std::size_t dims = 0;
	for (;;)
	{
		/* strtof skips leading whitespace itself, but an empty element must
		 * not be mistaken for the next one: stop at a separator first */
		p = skip_space(p);
		if (*p == ',' || *p == ']' || *p == '\0')
			return failure(ParseStatus::syntax);

		char *end;
		errno = 0;
		float value = std::strtof(p, &end);
		if (end == p)
			return failure(ParseStatus::syntax);

		std::size_t offset = static_cast<std::size_t>(p - text);
		std::size_t length = static_cast<std::size_t>(end - p);

		/* ERANGE on underflow to a denormal or zero is fine, as in float4in */
		if (errno == ERANGE && std::isinf(value))
			return failure(ParseStatus::out_of_range, offset, length);
		ParseStatus element = check_element(value);
		if (element != ParseStatus::ok)
			return failure(element, offset, length);

		if (dims == capacity)
			return failure(ParseStatus::too_many_dims);
		out[dims++] = value;

		p = skip_space(end);
		if (*p == ',')
		{
			p++;
			continue;
		}
		if (*p == ']')
			break;
		return failure(ParseStatus::syntax);
	}

	if (*skip_space(p + 1) != '\0')
		return failure(ParseStatus::junk_after);
	return ParseResult{ParseStatus::ok, dims, 0, 0};
}

long
binary_dims(const unsigned char *buf, std::size_t len) noexcept
{
	if (len < 4)
		return -1;
	return (long(buf[0]) << 8) | buf[1];
}

namespace {

/* How each element type travels: big-endian, float4 or binary16 bits. */
template <typename E> struct Wire;

template <> struct Wire<float>
{
	static constexpr std::size_t bytes = 4;
	static float load(const unsigned char *p) noexcept
	{
		std::uint32_t bits = load_be32(p);
		float value;
		std::memcpy(&value, &bits, sizeof(value));
		return value;
	}
	static void store(unsigned char *p, float x) noexcept
	{
		std::uint32_t bits;
		std::memcpy(&bits, &x, sizeof(bits));
		store_be32(p, bits);
	}
	static ParseStatus check(float x) noexcept { return check_element(x); }
};

template <> struct Wire<Half>
{
	static constexpr std::size_t bytes = 2;
	static Half load(const unsigned char *p) noexcept
	{
		return static_cast<Half>((p[0] << 8) | p[1]);
	}
	static void store(unsigned char *p, Half x) noexcept
	{
		p[0] = static_cast<unsigned char>(x >> 8);
		p[1] = static_cast<unsigned char>(x);
	}
	static ParseStatus check(Half x) noexcept { return check_element(half_to_float(x)); }
};

template <typename E>
ParseResult
parse_binary(const unsigned char *buf, std::size_t len, E *out, std::size_t capacity) noexcept
{
	long dims = binary_dims(buf, len);
	if (dims < 0)
		return failure(ParseStatus::bad_length);
	if (dims == 0)
		return failure(ParseStatus::empty);
	if (static_cast<std::size_t>(dims) > capacity)
		return failure(ParseStatus::too_many_dims);
	if (buf[2] != 0 || buf[3] != 0)
		return failure(ParseStatus::bad_header);
	if (len != 4 + Wire<E>::bytes * static_cast<std::size_t>(dims))
		return failure(ParseStatus::bad_length);

	for (long i = 0; i < dims; i++)
	{
		E value = Wire<E>::load(buf + 4 + Wire<E>::bytes * i);
		ParseStatus element = Wire<E>::check(value);
		if (element != ParseStatus::ok)
			return failure(element);
		out[i] = value;
	}
	return ParseResult{ParseStatus::ok, static_cast<std::size_t>(dims), 0, 0};
}

template <typename E>
void
format_binary(const E *x, std::size_t n, unsigned char *out) noexcept
{
	out[0] = static_cast<unsigned char>(n >> 8);
	out[1] = static_cast<unsigned char>(n);
	out[2] = 0;
	out[3] = 0;
	for (std::size_t i = 0; i < n; i++)
		Wire<E>::store(out + 4 + Wire<E>::bytes * i, x[i]);
}

} // namespace

ParseResult
parse_vector_binary(const unsigned char *buf, std::size_t len, float *out,
					std::size_t capacity) noexcept
{
	return parse_binary(buf, len, out, capacity);
}

void
format_vector_binary(const float *x, std::size_t n, unsigned char *out) noexcept
{
	format_binary(x, n, out);
}

ParseResult
parse_halfvec_binary(const unsigned char *buf, std::size_t len, Half *out,
					 std::size_t capacity) noexcept
{
	return parse_binary(buf, len, out, capacity);
}

void
format_halfvec_binary(const Half *x, std::size_t n, unsigned char *out) noexcept
{
	format_binary(x, n, out);
}

} // namespace vecdb::core
