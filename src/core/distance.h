/*
 * distance.h: float32 distance kernels, chosen at run time for the CPU.
 *
 * Knows nothing of PostgreSQL. One vecdb.so serves SSE2, AVX2 and AVX-512
 * machines: each instruction set's kernels are compiled in their own
 * translation unit with their own -m flags, and the best one the CPU supports
 * is picked once, on first use.
 */
#pragma once

#include <cstddef>

namespace vecdb::core {

/* Instruction sets a kernel table can be built for, lowest first. */
enum class Isa
{
	scalar,
	sse2,
	avx2,
	avx512,
};

const char *isa_name(Isa isa) noexcept;

/* One instruction set's kernels. All take n >= 0 and unaligned pointers. */
struct DistanceKernels
{
	Isa isa;
	float (*l2_squared)(const float *a, const float *b, std::size_t n) noexcept;
	float (*inner_product)(const float *a, const float *b, std::size_t n) noexcept;
	float (*l1)(const float *a, const float *b, std::size_t n) noexcept;
	/* dot(a, b), |a|^2 and |b|^2 in one pass, for cosine distance */
	void (*cosine_parts)(const float *a, const float *b, std::size_t n, float *dot, float *norm_a,
						 float *norm_b) noexcept;
	float (*squared_norm)(const float *a, std::size_t n) noexcept;
};

/* The best kernels this CPU runs; resolved once, then a plain load. */
const DistanceKernels &kernels() noexcept;

/* The kernels for one instruction set, or nullptr where this CPU or this
 * build lacks it; for tests and benchmarks that compare them. */
const DistanceKernels *kernels_for(Isa isa) noexcept;

inline float
l2_squared_distance(const float *a, const float *b, std::size_t n) noexcept
{
	return kernels().l2_squared(a, b, n);
}

inline float
inner_product(const float *a, const float *b, std::size_t n) noexcept
{
	return kernels().inner_product(a, b, n);
}

inline float
l1_distance(const float *a, const float *b, std::size_t n) noexcept
{
	return kernels().l1(a, b, n);
}

inline float
squared_norm(const float *a, std::size_t n) noexcept
{
	return kernels().squared_norm(a, n);
}

/*
 * 1 - cos(a, b), as pgvector defines it: NaN when either vector is zero,
 * the cosine clamped to [-1, 1] so rounding never yields a distance below 0
 * or above 2.
 */
double cosine_distance(const float *a, const float *b, std::size_t n) noexcept;

} // namespace vecdb::core
