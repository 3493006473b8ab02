/*
 * wire.h: what the external formats' parsers share (vector_format.cpp,
 * sparse.cpp): the C locale's whitespace, which PostgreSQL's own scanners
 * skip, and network-order 32-bit words.
 */
#pragma once

#include <cstdint>

namespace vecdb::core::wire {

inline bool
is_space(char c) noexcept
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

inline const char *
skip_space(const char *p) noexcept
{
	while (is_space(*p))
		p++;
	return p;
}

inline std::uint32_t
load_be32(const unsigned char *p) noexcept
{
	return (std::uint32_t(p[0]) << 24) | (std::uint32_t(p[1]) << 16) | (std::uint32_t(p[2]) << 8) |
		   std::uint32_t(p[3]);
}

inline void
store_be32(unsigned char *p, std::uint32_t v) noexcept
{
	p[0] = static_cast<unsigned char>(v >> 24);
	p[1] = static_cast<unsigned char>(v >> 16);
	p[2] = static_cast<unsigned char>(v >> 8);
	p[3] = static_cast<unsigned char>(v);
}

} // namespace vecdb::core::wire
