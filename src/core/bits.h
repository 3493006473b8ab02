/*
 * bits.h: distances between bit strings (hamming, jaccard), for
 * binary-quantized vectors.
 *
 * Each kernel exists for three instruction sets, chosen once at run time
 * as the float kernels are (distance.cpp): a portable loop, the POPCNT
 * instruction (64 bits an instruction), and AVX-512 VPOPCNTDQ (512 bits).
 * The results are counts, exact on every one, so the tests compare them
 * with the portable loop bit for bit.
 *
 * Knows nothing of PostgreSQL.
 */
#pragma once

#include <cstddef>
#include <cstdint>

namespace vecdb::core {

enum class BitIsa
{
	portable,
	popcnt,
	avx512_vpopcntdq,
};

const char *bit_isa_name(BitIsa isa) noexcept;

/* The set bits both strings share, and those either has. */
struct BitOverlap
{
	std::uint64_t both;
	std::uint64_t either;
};

struct BitKernels
{
	BitIsa isa;
	/* the bits in which a and b (bytes each) differ */
	std::uint64_t (*hamming)(const std::uint8_t *a, const std::uint8_t *b,
							 std::size_t bytes) noexcept;
	BitOverlap (*overlap)(const std::uint8_t *a, const std::uint8_t *b, std::size_t bytes) noexcept;
};

/* The fastest table this CPU runs. */
const BitKernels &bit_kernels() noexcept;

/* The table for isa, or nullptr if this CPU lacks it (for tests). */
const BitKernels *bit_kernels_for(BitIsa isa) noexcept;

/* 1 - |a and b| / |a or b|; 1 when they share no set bit (pgvector's
 * value, also for two empty strings). */
inline double
jaccard_distance(BitOverlap o) noexcept
{
	if (o.both == 0)
		return 1.0;
	return 1.0 - static_cast<double>(o.both) / static_cast<double>(o.either);
}

} // namespace vecdb::core
