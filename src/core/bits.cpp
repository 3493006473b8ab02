/*
 * bits.cpp: the bit-string kernels of bits.h, one source for every
 * instruction set.
 *
 * The word loops are written once, always inlined, and compiled three
 * ways: in a plain function (the baseline x86-64 has no POPCNT, so
 * __builtin_popcountll is libgcc's bit arithmetic), and in functions with
 * GCC's target attribute, where the same builtin becomes the instruction.
 * The AVX-512 kernels run 64 bytes a step and leave the tail to the POPCNT
 * loop. CPU features come from __builtin_cpu_supports, which checks that
 * the OS saves the ZMM registers (see distance.cpp).
 */
#include "core/bits.h"

#include <cstring>
#include <initializer_list>

#if defined(__x86_64__)
#include <immintrin.h>
#define VECDB_BITS_X86 1
#endif

namespace vecdb::core {

namespace {

inline __attribute__((always_inline)) std::uint64_t
load_word(const std::uint8_t *p)
{
	std::uint64_t w;
	std::memcpy(&w, p, sizeof(w));
	return w;
}

inline __attribute__((always_inline)) std::uint64_t
hamming_words(const std::uint8_t *a, const std::uint8_t *b, std::size_t bytes)
{
	std::uint64_t count = 0;
	std::size_t i = 0;
	for (; i + 8 <= bytes; i += 8)
		count +=
			static_cast<std::uint64_t>(__builtin_popcountll(load_word(a + i) ^ load_word(b + i)));
	for (; i < bytes; i++)
		count += static_cast<std::uint64_t>(__builtin_popcount(static_cast<unsigned>(a[i] ^ b[i])));
	return count;
}

inline __attribute__((always_inline)) BitOverlap
overlap_words(const std::uint8_t *a, const std::uint8_t *b, std::size_t bytes)
{
	BitOverlap o{0, 0};
	std::size_t i = 0;
	for (; i + 8 <= bytes; i += 8)
	{
		std::uint64_t x = load_word(a + i), y = load_word(b + i);
		o.both += static_cast<std::uint64_t>(__builtin_popcountll(x & y));
		o.either += static_cast<std::uint64_t>(__builtin_popcountll(x | y));
	}
	for (; i < bytes; i++)
	{
		unsigned x = a[i], y = b[i];
		o.both += static_cast<std::uint64_t>(__builtin_popcount(x & y));
		o.either += static_cast<std::uint64_t>(__builtin_popcount(x | y));
	}
	return o;
}

std::uint64_t
hamming_portable(const std::uint8_t *a, const std::uint8_t *b, std::size_t bytes) noexcept
{
	return hamming_words(a, b, bytes);
}

BitOverlap
overlap_portable(const std::uint8_t *a, const std::uint8_t *b, std::size_t bytes) noexcept
{
	return overlap_words(a, b, bytes);
}

constexpr BitKernels portable_kernels{BitIsa::portable, hamming_portable, overlap_portable};

#ifdef VECDB_BITS_X86

__attribute__((target("popcnt"))) std::uint64_t
hamming_popcnt(const std::uint8_t *a, const std::uint8_t *b, std::size_t bytes) noexcept
{
	return hamming_words(a, b, bytes);
}

__attribute__((target("popcnt"))) BitOverlap
overlap_popcnt(const std::uint8_t *a, const std::uint8_t *b, std::size_t bytes) noexcept
{
	return overlap_words(a, b, bytes);
}

constexpr BitKernels popcnt_kernels{BitIsa::popcnt, hamming_popcnt, overlap_popcnt};

#define VECDB_AVX512_POPCOUNT __attribute__((target("popcnt,avx512f,avx512vpopcntdq")))

/* The sum of v's eight lanes (not _mm512_reduce_add_epi64, whose GCC 12
 * header warns of an uninitialized variable). */
VECDB_AVX512_POPCOUNT inline std::uint64_t
lane_sum(__m512i v)
{
	alignas(64) std::uint64_t lanes[8];
	_mm512_store_si512(lanes, v);
	std::uint64_t sum = 0;
	for (std::uint64_t x : lanes)
		sum += x;
	return sum;
}

VECDB_AVX512_POPCOUNT std::uint64_t
hamming_avx512(const std::uint8_t *a, const std::uint8_t *b, std::size_t bytes) noexcept
{
	__m512i sum = _mm512_setzero_si512();
	std::size_t i = 0;
	for (; i + 64 <= bytes; i += 64)
	{
		__m512i x = _mm512_loadu_si512(a + i), y = _mm512_loadu_si512(b + i);
		sum = _mm512_add_epi64(sum, _mm512_popcnt_epi64(_mm512_xor_si512(x, y)));
	}
	return lane_sum(sum) + hamming_words(a + i, b + i, bytes - i);
}

VECDB_AVX512_POPCOUNT BitOverlap
overlap_avx512(const std::uint8_t *a, const std::uint8_t *b, std::size_t bytes) noexcept
{
	__m512i both = _mm512_setzero_si512(), either = _mm512_setzero_si512();
	std::size_t i = 0;
	for (; i + 64 <= bytes; i += 64)
	{
		__m512i x = _mm512_loadu_si512(a + i), y = _mm512_loadu_si512(b + i);
		both = _mm512_add_epi64(both, _mm512_popcnt_epi64(_mm512_and_si512(x, y)));
		either = _mm512_add_epi64(either, _mm512_popcnt_epi64(_mm512_or_si512(x, y)));
	}
	BitOverlap tail = overlap_words(a + i, b + i, bytes - i);
	return {tail.both + lane_sum(both), tail.either + lane_sum(either)};
}

constexpr BitKernels avx512_kernels{BitIsa::avx512_vpopcntdq, hamming_avx512, overlap_avx512};

#endif

/* Thread-safe static init; src/core never calls PostgreSQL, so it may. */
struct Detected
{
	bool popcnt = false;
	bool avx512 = false;
};

const Detected &
detected() noexcept
{
	static const Detected d = [] {
		Detected r;
#ifdef VECDB_BITS_X86
		__builtin_cpu_init();
		r.popcnt = __builtin_cpu_supports("popcnt");
		r.avx512 = r.popcnt && __builtin_cpu_supports("avx512f") &&
				   __builtin_cpu_supports("avx512vpopcntdq");
#endif
		return r;
	}();
	return d;
}

} // namespace

const char *
bit_isa_name(BitIsa isa) noexcept
{
	switch (isa)
	{
		case BitIsa::portable:
			return "portable";
		case BitIsa::popcnt:
			return "popcnt";
		case BitIsa::avx512_vpopcntdq:
			return "avx512_vpopcntdq";
	}
	return "unknown";
}

const BitKernels *
bit_kernels_for(BitIsa isa) noexcept
{
	switch (isa)
	{
		case BitIsa::portable:
			return &portable_kernels;
#ifdef VECDB_BITS_X86
		case BitIsa::popcnt:
			return detected().popcnt ? &popcnt_kernels : nullptr;
		case BitIsa::avx512_vpopcntdq:
			return detected().avx512 ? &avx512_kernels : nullptr;
#else
		default:
			return nullptr;
#endif
	}
	return nullptr;
}

const BitKernels &
bit_kernels() noexcept
{
	static const BitKernels *best = [] {
		for (BitIsa isa : {BitIsa::avx512_vpopcntdq, BitIsa::popcnt})
			if (const BitKernels *k = bit_kernels_for(isa))
				return k;
		return &portable_kernels;
	}();
	return *best;
}

} // namespace vecdb::core
