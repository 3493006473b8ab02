/*
 * distance_simd.h: the distance kernels, written once over an xsimd arch.
 *
 * Included only by the per-ISA translation units (distance_sse2.cpp,
 * distance_avx2.cpp, distance_avx512.cpp), each compiled with its own -m
 * flags and instantiating make_kernels<Arch>() for its arch tag.
 *
 * Everything here lives in an anonymous namespace on purpose: with external
 * linkage, an inline function emitted by the AVX-512 unit could be picked by
 * the linker for the SSE2 unit too (they are "the same" under the ODR) and
 * crash an older CPU with SIGILL. Internal linkage keeps each copy private,
 * and the kernels call no external inline of their own (std::array, std::fabs).
 * xsimd's own inlines are all inlined at -O2: `nm` on distance_<isa>.o shows
 * no weak symbols but the personality routine; keep it that way.
 */
#pragma once

/* At -O0 xsimd's inlines stay out of line, shared by name between the ISA
 * units (e.g. AVX2 register helpers the AVX-512 unit uses too): see above. */
#ifndef __OPTIMIZE__
#error "the per-ISA distance kernels must be compiled with optimisation (-O1 or more)"
#endif

#include <cstddef>

#include <xsimd/xsimd.hpp>

#include "core/distance.h"

namespace vecdb::core::simd {
namespace {

/* acc + x * y: an FMA where the arch has one, and the same on a scalar tail. */
template <class A>
inline xsimd::batch<float, A>
madd(xsimd::batch<float, A> x, xsimd::batch<float, A> y, xsimd::batch<float, A> acc) noexcept
{
	return xsimd::fma(x, y, acc);
}

/* Not std::fma: without hardware FMA that is a slow library call. */
inline float
madd(float x, float y, float acc) noexcept
{
	return acc + x * y;
}

template <class A>
inline xsimd::batch<float, A>
absval(xsimd::batch<float, A> x) noexcept
{
	return xsimd::abs(x);
}

/* The builtin, not std::fabs: that is an external inline, see above. */
inline float
absval(float x) noexcept
{
	return __builtin_fabsf(x);
}

/*
 * Each Op folds one pair of elements (or batches: T is float or a batch) into
 * K accumulators. U is the unroll: independent accumulator sets that hide the
 * FMA latency (4 cycles, 2 per cycle on recent x86). Two loads per step cap
 * the rate at one step a cycle, so 4 suffice; 12 registers for cosine still
 * fit AVX2's 16 without spills and measured faster than 2 x 3 (bench/).
 */
struct L2Op
{
	static constexpr std::size_t K = 1, U = 4;
	template <class T> static void step(T x, T y, T *acc) noexcept
	{
		T d = x - y;
		acc[0] = madd(d, d, acc[0]);
	}
};

struct DotOp
{
	static constexpr std::size_t K = 1, U = 4;
	template <class T> static void step(T x, T y, T *acc) noexcept { acc[0] = madd(x, y, acc[0]); }
};

struct L1Op
{
	static constexpr std::size_t K = 1, U = 4;
	template <class T> static void step(T x, T y, T *acc) noexcept
	{
		acc[0] = acc[0] + absval(x - y);
	}
};

struct CosineOp
{
	static constexpr std::size_t K = 3, U = 4;
	template <class T> static void step(T x, T y, T *acc) noexcept
	{
		acc[0] = madd(x, y, acc[0]);
		acc[1] = madd(x, x, acc[1]);
		acc[2] = madd(y, y, acc[2]);
	}
};

/* One load per FMA, so more chains pay off; y is unused and its load dead. */
struct NormOp
{
	static constexpr std::size_t K = 1, U = 8;
	template <class T> static void step(T x, T, T *acc) noexcept { acc[0] = madd(x, x, acc[0]); }
};

/* K floats returned by value (not std::array: an external inline, see above). */
template <std::size_t K> struct Sums
{
	float v[K];
};

/* Fold Op over a[0..n), b[0..n) into K sums. Pointers may be unaligned. */
template <class Arch, class Op>
[[gnu::always_inline]] inline Sums<Op::K>
reduce(const float *a, const float *b, std::size_t n) noexcept
{
	using B = xsimd::batch<float, Arch>;
	constexpr std::size_t W = B::size, U = Op::U, K = Op::K;

	/* Fully unrolled, so that GCC keeps the accumulators in registers. */
	B acc[U][K];
#pragma GCC unroll 32
	for (std::size_t u = 0; u < U; u++)
#pragma GCC unroll 32
		for (std::size_t k = 0; k < K; k++)
			acc[u][k] = B(0.0f);

	std::size_t i = 0;
	for (; i + U * W <= n; i += U * W)
#pragma GCC unroll 32
		for (std::size_t u = 0; u < U; u++)
			Op::step(B::load_unaligned(a + i + u * W), B::load_unaligned(b + i + u * W), acc[u]);
	for (; i + W <= n; i += W)
		Op::step(B::load_unaligned(a + i), B::load_unaligned(b + i), acc[0]);

	Sums<K> sum;
#pragma GCC unroll 32
	for (std::size_t k = 0; k < K; k++)
	{
#pragma GCC unroll 32
		for (std::size_t u = 1; u < U; u++)
			acc[0][k] += acc[u][k];
		sum.v[k] = xsimd::hadd(acc[0][k]);
	}
	for (; i < n; i++)
		Op::step(a[i], b[i], sum.v);
	return sum;
}

template <class Arch, class Op>
float
binary(const float *a, const float *b, std::size_t n) noexcept
{
	return reduce<Arch, Op>(a, b, n).v[0];
}

template <class Arch>
void
cosine_parts(const float *a, const float *b, std::size_t n, float *dot, float *norm_a,
			 float *norm_b) noexcept
{
	const auto r = reduce<Arch, CosineOp>(a, b, n);
	*dot = r.v[0];
	*norm_a = r.v[1];
	*norm_b = r.v[2];
}

template <class Arch>
float
squared_norm(const float *a, std::size_t n) noexcept
{
	return binary<Arch, NormOp>(a, a, n);
}

/* The table an ISA's translation unit exports; constant-initialised. */
template <class Arch>
constexpr DistanceKernels
make_kernels(Isa isa) noexcept
{
	static_assert(Arch::supported(), "this unit's -m flags do not enable the arch");
	return DistanceKernels{isa,
						   &binary<Arch, L2Op>,
						   &binary<Arch, DotOp>,
						   &binary<Arch, L1Op>,
						   &cosine_parts<Arch>,
						   &squared_norm<Arch>};
}

} // namespace
} // namespace vecdb::core::simd
