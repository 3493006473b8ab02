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
 * no weak symbols but the personality routine; keep it that way. Where xsimd
 * 8.1 lacks an operation, the column kernels use the ISA's intrinsics, which
 * GCC's headers define always-inline.
 */
#pragma once

/* At -O0 xsimd's inlines stay out of line, shared by name between the ISA
 * units (e.g. AVX2 register helpers the AVX-512 unit uses too): see above. */
#ifndef __OPTIMIZE__
#error "the per-ISA distance kernels must be compiled with optimisation (-O1 or more)"
#endif

#include <cstddef>
#include <cstdint>

#include <xsimd/xsimd.hpp>

#include "core/distance.h"

namespace vecdb::core::simd {
namespace {

/*
 * acc + x * y: an FMA where the arch has one, and the same on a scalar tail.
 * Asked for explicitly: these units are compiled with -ffp-contract=off (see
 * the column kernels below), and xsimd 8.1's AVX-512 fma is a plain x * y + z
 * that only contraction turned into one.
 */
template <class A>
inline xsimd::batch<float, A>
madd(xsimd::batch<float, A> x, xsimd::batch<float, A> y, xsimd::batch<float, A> acc) noexcept
{
#if defined(__AVX512F__)
	if constexpr (xsimd::batch<float, A>::size == 16)
		return _mm512_fmadd_ps(x, y, acc);
#endif
	return xsimd::fma(x, y, acc);
}

/* Not std::fma: without hardware FMA that is a slow library call. */
inline float
madd(float x, float y, float acc) noexcept
{
#if defined(__FMA__)
	return __builtin_fmaf(x, y, acc);
#else
	return acc + x * y;
#endif
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

/* ---- kernels over column-stored vectors (see DistanceKernels) ---- */

/*
 * A few operations xsimd 8.1 lacks, per ISA. The AVX-512 ones use the
 * zero-masking intrinsics with every lane on: the plain ones start from an
 * undefined register, which GCC 12 warns about.
 */

template <class Arch>
[[gnu::always_inline]] inline xsimd::batch<float, Arch>
vmin(xsimd::batch<float, Arch> a, xsimd::batch<float, Arch> b) noexcept
{
#if defined(__AVX512F__)
	if constexpr (xsimd::batch<float, Arch>::size == 16)
		return _mm512_maskz_min_ps(0xffff, a, b);
#endif
	return xsimd::min(a, b);
}

template <class Arch>
[[gnu::always_inline]] inline xsimd::batch<std::int32_t, Arch>
vmin_int(xsimd::batch<std::int32_t, Arch> a, xsimd::batch<std::int32_t, Arch> b) noexcept
{
#if defined(__AVX512F__)
	if constexpr (xsimd::batch<float, Arch>::size == 16)
		return _mm512_maskz_min_epi32(0xffff, a, b);
#endif
	return xsimd::min(a, b);
}

/* The smallest lane, in every lane. */
template <class Arch>
[[gnu::always_inline]] inline xsimd::batch<float, Arch>
all_lanes_min(xsimd::batch<float, Arch> v) noexcept
{
	constexpr std::size_t W = xsimd::batch<float, Arch>::size;
	static_assert(W == 4 || W == 8 || W == 16, "an x86 register");
#if defined(__AVX512F__)
	if constexpr (W == 16)
	{
		const __mmask16 all = 0xffff;
		__m512 x = v;
		x = _mm512_maskz_min_ps(all, x, _mm512_maskz_shuffle_f32x4(all, x, x, 0x4e));
		x = _mm512_maskz_min_ps(all, x, _mm512_maskz_shuffle_f32x4(all, x, x, 0xb1));
		x = _mm512_maskz_min_ps(all, x, _mm512_maskz_permute_ps(all, x, 0x4e));
		return _mm512_maskz_min_ps(all, x, _mm512_maskz_permute_ps(all, x, 0xb1));
	}
	else
#endif
#if defined(__AVX__)
		if constexpr (W == 8)
	{
		__m256 x = v;
		x = _mm256_min_ps(x, _mm256_permute2f128_ps(x, x, 0x01));
		x = _mm256_min_ps(x, _mm256_permute_ps(x, 0x4e));
		return _mm256_min_ps(x, _mm256_permute_ps(x, 0xb1));
	}
	else
#endif
	{
		__m128 x = v;
		x = _mm_min_ps(x, _mm_shuffle_ps(x, x, 0x4e));
		return _mm_min_ps(x, _mm_shuffle_ps(x, x, 0xb1));
	}
}

/* The same for int32 lanes; SSE2 lacks pminsd, so it goes through floats
 * (exact: the lanes hold columns, below 2^24). */
template <class Arch>
[[gnu::always_inline]] inline xsimd::batch<std::int32_t, Arch>
all_lanes_min_int(xsimd::batch<std::int32_t, Arch> v) noexcept
{
	[[maybe_unused]] constexpr std::size_t W = xsimd::batch<float, Arch>::size;
#if defined(__AVX512F__)
	if constexpr (W == 16)
	{
		const __mmask16 all = 0xffff;
		__m512i x = v;
		x = _mm512_maskz_min_epi32(all, x, _mm512_maskz_shuffle_i32x4(all, x, x, 0x4e));
		x = _mm512_maskz_min_epi32(all, x, _mm512_maskz_shuffle_i32x4(all, x, x, 0xb1));
		x = _mm512_maskz_min_epi32(all, x, _mm512_maskz_shuffle_epi32(all, x, _MM_PERM_BADC));
		return _mm512_maskz_min_epi32(all, x, _mm512_maskz_shuffle_epi32(all, x, _MM_PERM_CDAB));
	}
	else
#endif
#if defined(__AVX2__)
		if constexpr (W == 8)
	{
		__m256i x = v;
		x = _mm256_min_epi32(x, _mm256_permute2x128_si256(x, x, 0x01));
		x = _mm256_min_epi32(x, _mm256_shuffle_epi32(x, 0x4e));
		return _mm256_min_epi32(x, _mm256_shuffle_epi32(x, 0xb1));
	}
	else
#endif
		return _mm_cvttps_epi32(all_lanes_min<Arch>(_mm_cvtepi32_ps(v)));
}

/* Lane 0. */
template <class Arch>
[[gnu::always_inline]] inline float
first_lane(xsimd::batch<float, Arch> v) noexcept
{
	[[maybe_unused]] constexpr std::size_t W = xsimd::batch<float, Arch>::size;
#if defined(__AVX512F__)
	if constexpr (W == 16)
		return _mm512_cvtss_f32(v);
	else
#endif
#if defined(__AVX__)
		if constexpr (W == 8)
		return _mm256_cvtss_f32(v);
	else
#endif
		return _mm_cvtss_f32(v);
}

template <class Arch>
[[gnu::always_inline]] inline std::int32_t
first_lane_int(xsimd::batch<std::int32_t, Arch> v) noexcept
{
	[[maybe_unused]] constexpr std::size_t W = xsimd::batch<float, Arch>::size;
#if defined(__AVX512F__)
	if constexpr (W == 16)
		return __builtin_bit_cast(std::int32_t, _mm512_cvtss_f32(_mm512_castsi512_ps(v)));
	else
#endif
#if defined(__AVX__)
		if constexpr (W == 8)
		return _mm_cvtsi128_si32(_mm256_castsi256_si128(v));
	else
#endif
		return _mm_cvtsi128_si32(v);
}

/* A float comparison's lanes as an int32 one: the same register, reinterpreted. */
template <class Arch>
[[gnu::always_inline]] inline xsimd::batch_bool<std::int32_t, Arch>
int_lanes(xsimd::batch_bool<float, Arch> m) noexcept
{
	[[maybe_unused]] constexpr std::size_t W = xsimd::batch<float, Arch>::size;
#if defined(__AVX512F__)
	if constexpr (W == 16)
		return xsimd::batch_bool<std::int32_t, Arch>(static_cast<__mmask16>(m));
	else
#endif
#if defined(__AVX__)
		if constexpr (W == 8)
		return xsimd::batch_bool<std::int32_t, Arch>(_mm256_castps_si256(m));
	else
#endif
		return xsimd::batch_bool<std::int32_t, Arch>(_mm_castps_si128(m));
}

/* Above every column (they are below 2^24, exact in a float lane). */
constexpr std::int32_t no_column = 1 << 24;

/* Lane numbers, to count columns from. */
alignas(64) constexpr std::int32_t lane_ints[16] = {0, 1, 2,  3,  4,  5,  6,  7,
													8, 9, 10, 11, 12, 13, 14, 15};

/* acc - x * y: fused where the arch has FMA (see madd). */
template <class A>
[[gnu::always_inline]] inline xsimd::batch<float, A>
nmadd(xsimd::batch<float, A> x, xsimd::batch<float, A> y, xsimd::batch<float, A> acc) noexcept
{
#if defined(__AVX512F__)
	if constexpr (xsimd::batch<float, A>::size == 16)
		return _mm512_fnmadd_ps(x, y, acc);
#endif
	return xsimd::fnma(x, y, acc);
}

inline float
nmadd(float x, float y, float acc) noexcept
{
#if defined(__FMA__)
	return __builtin_fmaf(-x, y, acc);
#else
	return acc - x * y;
#endif
}

/*
 * Direct distances: one coordinate's contribution in plain multiplies and
 * adds. The Makefile compiles the ISA units with -ffp-contract=off, so these
 * never become FMAs, and every table computes the scalar loop's values (the
 * SSE2 and scalar units have no FMA to contract into).
 */
struct L2Col
{
	template <class T> static T step(T x, T c, T acc) noexcept
	{
		T d = x - c;
		return acc + d * d;
	}
};

struct DotCol
{
	template <class T> static T step(T x, T c, T acc) noexcept { return acc + x * c; }
};

struct L1Col
{
	template <class T> static T step(T x, T c, T acc) noexcept { return acc + absval(x - c); }
};

/* Op summed over the coordinates of W columns; D > 0 fixes dims at compile time. */
template <class Arch, class Op, std::size_t D>
[[gnu::always_inline]] inline xsimd::batch<float, Arch>
col_block(const float *x, const float *cols, std::size_t dims, std::size_t ld) noexcept
{
	using B = xsimd::batch<float, Arch>;
	const std::size_t n = D ? D : dims;
	B acc(0.0f);
#pragma GCC unroll 8
	for (std::size_t d = 0; d < n; d++)
		acc = Op::step(B(x[d]), B::load_unaligned(cols + d * ld), acc);
	return acc;
}

/* The same for one column, in the same order: the tail of a k % W, and
 * nearest_l2_cols' distance. */
template <class Op>
inline float
col_one(const float *x, const float *col, std::size_t dims, std::size_t ld) noexcept
{
	float acc = 0.0f;
	for (std::size_t d = 0; d < dims; d++)
		acc = Op::step(x[d], col[d * ld], acc);
	return acc;
}

template <class Arch, class Op, std::size_t D>
void
to_cols_fixed(const float *x, const float *cols, std::size_t dims, std::size_t k, std::size_t ld,
			  float *out) noexcept
{
	constexpr std::size_t W = xsimd::batch<float, Arch>::size;
	std::size_t c = 0;
	for (; c + W <= k; c += W)
		col_block<Arch, Op, D>(x, cols + c, dims, ld).store_unaligned(out + c);
	for (; c < k; c++)
		out[c] = col_one<Op>(x, cols + c, dims, ld);
}

template <class Arch, class Op>
void
to_cols(const float *x, const float *cols, std::size_t dims, std::size_t k, std::size_t ld,
		float *out) noexcept
{
	if (dims == 4)
		to_cols_fixed<Arch, Op, 4>(x, cols, dims, k, ld, out);
	else
		to_cols_fixed<Arch, Op, 0>(x, cols, dims, k, ld, out);
}

template <class Arch, std::size_t D>
void
min_l2_cols_fixed(const float *x, const float *cols, std::size_t dims, std::size_t k,
				  std::size_t ld, float *mind, float *sums) noexcept
{
	using B = xsimd::batch<float, Arch>;
	constexpr std::size_t W = B::size, S = min_l2_block;
	static_assert(S % W == 0, "a block is whole registers");
	auto lower = [&](std::size_t c) {
		const B d = col_block<Arch, L2Col, D>(x, cols + c, dims, ld);
		const B old = B::load_unaligned(mind + c);
		const B m = xsimd::select(d < old, d, old);
		m.store_unaligned(mind + c);
		return m;
	};
	std::size_t c = 0;
	for (; c + S <= k; c += S)
	{
		B sum(0.0f);
		for (std::size_t u = c; u < c + S; u += W)
			sum = sum + lower(u);
		*sums++ = xsimd::hadd(sum);
	}
	if (c == k)
		return;
	float sum = 0.0f;
	for (; c + W <= k; c += W)
		sum += xsimd::hadd(lower(c));
	for (; c < k; c++)
	{
		float d = col_one<L2Col>(x, cols + c, dims, ld);
		mind[c] = d < mind[c] ? d : mind[c];
		sum += mind[c];
	}
	*sums = sum;
}

template <class Arch>
void
min_l2_cols(const float *x, const float *cols, std::size_t dims, std::size_t k, std::size_t ld,
			float *mind, float *sums) noexcept
{
	if (dims == 4)
		min_l2_cols_fixed<Arch, 4>(x, cols, dims, k, ld, mind, sums);
	else
		min_l2_cols_fixed<Arch, 0>(x, cols, dims, k, ld, mind, sums);
}

/*
 * nearest_l2_cols ranks the columns by h_c - <x, c> (h_c = |c|^2 / 2, and
 * |x - c|^2 = |x|^2 + 2 (h_c - <x, c>)): one FMA a coordinate where the
 * direct (x_d - c_d)^2 takes three operations, and the AVX-512 unit of the
 * development machine retires about one 16-lane FMA a cycle. At dsub = 4 a
 * sub-vector took 36 ns so, 48 ns with direct distances. Rounding differs
 * between ISAs (FMA or not), so two columns within about 1e-6 of the same
 * distance may come out in either order; exact ties go to the lower column
 * on every ISA.
 */
template <class Arch, std::size_t D>
[[gnu::always_inline]] inline xsimd::batch<float, Arch>
rank_block(const float *x, const float *cols, const float *half_norm, std::size_t dims,
		   std::size_t ld) noexcept
{
	using B = xsimd::batch<float, Arch>;
	const std::size_t n = D ? D : dims;
	B v = B::load_unaligned(half_norm);
#pragma GCC unroll 8
	for (std::size_t d = 0; d < n; d++)
		v = nmadd(B(x[d]), B::load_unaligned(cols + d * ld), v);
	return v;
}

/* Per lane, the best rank so far and its column: the strict < keeps the
 * first of equal ones, as columns only grow along a lane. Columns are int32
 * lanes so that their adds and blends leave the floating-point port to the
 * FMAs. */
template <class Arch> struct LaneBest
{
	using B = xsimd::batch<float, Arch>;
	using I = xsimd::batch<std::int32_t, Arch>;
	B best = B(__builtin_inff());
	I where = I(0);

	[[gnu::always_inline]] void offer(B v, I column) noexcept
	{
		const auto better = v < best;
		best = xsimd::select(better, v, best);
		where = xsimd::select(int_lanes<Arch>(better), column, where);
	}
};

/* K > 0: k == ld == K known at compile time, so that the loop unrolls whole. */
template <class Arch, std::size_t D, std::size_t K>
std::uint32_t
nearest_l2_cols_fixed(const float *x, const float *cols, const float *half_norm, std::size_t dims,
					  std::size_t k_, std::size_t ld_, float *dist) noexcept
{
	using B = xsimd::batch<float, Arch>;
	using I = xsimd::batch<std::int32_t, Arch>;
	constexpr std::size_t W = B::size;
	const std::size_t n = D ? D : dims, k = K ? K : k_, ld = K ? K : ld_;

	/* Two interleaved chains: each compare-and-blend waits for the last. */
	LaneBest<Arch> even, odd;
	I column = I::load_aligned(lane_ints);
	const I step(static_cast<std::int32_t>(W));
	std::size_t c = 0;
#pragma GCC unroll 32
	for (; c + 2 * W <= k; c += 2 * W)
	{
		even.offer(rank_block<Arch, D>(x, cols + c, half_norm + c, n, ld), column);
		column = column + step;
		odd.offer(rank_block<Arch, D>(x, cols + c + W, half_norm + c + W, n, ld), column);
		column = column + step;
	}
	if (c + W <= k)
	{
		odd.offer(rank_block<Arch, D>(x, cols + c, half_norm + c, n, ld), column);
		c += W;
	}

	float least = __builtin_inff();
	std::uint32_t nearest = 0;
	if (c > 0)
	{
		/* The least rank, then the lowest column among the lanes of both
		 * chains holding it. No branch: a data-dependent one mispredicts
		 * every few calls and throws away the next call's work, which the
		 * CPU otherwise overlaps with this reduction. */
		const B all = all_lanes_min<Arch>(vmin<Arch>(even.best, odd.best));
		const I none(no_column);
		const I first = all_lanes_min_int<Arch>(
			vmin_int<Arch>(xsimd::select(int_lanes<Arch>(even.best == all), even.where, none),
						   xsimd::select(int_lanes<Arch>(odd.best == all), odd.where, none)));
		least = first_lane<Arch>(all);
		/* Only NaN everywhere leaves no lane equal. */
		const std::int32_t column0 = first_lane_int<Arch>(first);
		nearest = column0 == no_column ? 0 : static_cast<std::uint32_t>(column0);
	}
	for (; c < k; c++)
	{
		float v = half_norm[c];
		for (std::size_t d = 0; d < n; d++)
			v = nmadd(x[d], cols[d * ld + c], v);
		if (v < least)
		{
			least = v;
			nearest = static_cast<std::uint32_t>(c);
		}
	}
	*dist = col_one<L2Col>(x, cols + nearest, n, ld);
	return nearest;
}

/* PQ's 256 codewords at dsub = 4 (the default), 2 or 8 get whole unrolled
 * loops; anything else loops. */
template <class Arch>
std::uint32_t
nearest_l2_cols(const float *x, const float *cols, const float *half_norm, std::size_t dims,
				std::size_t k, std::size_t ld, float *dist) noexcept
{
	const bool pq = k == 256 && ld == 256;
	switch (dims)
	{
		case 2:
			return pq ? nearest_l2_cols_fixed<Arch, 2, 256>(x, cols, half_norm, dims, k, ld, dist)
					  : nearest_l2_cols_fixed<Arch, 2, 0>(x, cols, half_norm, dims, k, ld, dist);
		case 4:
			return pq ? nearest_l2_cols_fixed<Arch, 4, 256>(x, cols, half_norm, dims, k, ld, dist)
					  : nearest_l2_cols_fixed<Arch, 4, 0>(x, cols, half_norm, dims, k, ld, dist);
		case 8:
			return pq ? nearest_l2_cols_fixed<Arch, 8, 256>(x, cols, half_norm, dims, k, ld, dist)
					  : nearest_l2_cols_fixed<Arch, 8, 0>(x, cols, half_norm, dims, k, ld, dist);
		default:
			return nearest_l2_cols_fixed<Arch, 0, 0>(x, cols, half_norm, dims, k, ld, dist);
	}
}

/*
 * nearest_dot_cols: a tile of P points by NB blocks of W columns keeps P * NB
 * accumulators in registers; each coordinate costs NB column loads and P
 * broadcasts for P * NB FMAs, where a pairwise kernel pays two loads an FMA.
 */
template <class Arch, std::size_t P, std::size_t NB>
[[gnu::always_inline]] inline void
dot_tile(const float *x, std::size_t stride, const float *cols, std::size_t dims, std::size_t ld,
		 xsimd::batch<float, Arch> (&acc)[P][NB]) noexcept
{
	using B = xsimd::batch<float, Arch>;
	constexpr std::size_t W = B::size;
#pragma GCC unroll 16
	for (std::size_t p = 0; p < P; p++)
#pragma GCC unroll 16
		for (std::size_t b = 0; b < NB; b++)
			acc[p][b] = B(0.0f);
	for (std::size_t d = 0; d < dims; d++)
	{
		B col[NB];
#pragma GCC unroll 16
		for (std::size_t b = 0; b < NB; b++)
			col[b] = B::load_unaligned(cols + d * ld + b * W);
#pragma GCC unroll 16
		for (std::size_t p = 0; p < P; p++)
		{
			B xp(x[p * stride + d]);
#pragma GCC unroll 16
			for (std::size_t b = 0; b < NB; b++)
				acc[p][b] = madd(xp, col[b], acc[p][b]);
		}
	}
}

template <class Arch, std::size_t P, std::size_t NB>
[[gnu::always_inline]] inline void
dot_tile_offer(const float *x, std::size_t stride, const float *cols, const float *half_norm,
			   std::size_t c, std::size_t dims, std::size_t ld, LaneBest<Arch> *best) noexcept
{
	using B = xsimd::batch<float, Arch>;
	using I = xsimd::batch<std::int32_t, Arch>;
	constexpr std::size_t W = B::size;
	B acc[P][NB];
	dot_tile<Arch, P, NB>(x, stride, cols + c, dims, ld, acc);
#pragma GCC unroll 16
	for (std::size_t b = 0; b < NB; b++)
	{
		const B h = B::load_unaligned(half_norm + c + b * W);
		const I column = I::load_aligned(lane_ints) + I(static_cast<std::int32_t>(c + b * W));
#pragma GCC unroll 16
		for (std::size_t p = 0; p < P; p++)
			best[p].offer(h - acc[p][b], column);
	}
}

template <class Arch, std::size_t P>
void
nearest_dot_group(const float *x, std::size_t stride, const float *cols, const float *half_norm,
				  std::size_t dims, std::size_t ld, std::uint32_t *index, float *value) noexcept
{
	using B = xsimd::batch<float, Arch>;
	using I = xsimd::batch<std::int32_t, Arch>;
	constexpr std::size_t W = B::size;
	/* 16 accumulators fill half of AVX-512's 32 registers; AVX2 and SSE2 have 16. */
	constexpr std::size_t NB = W >= 16 ? 4 : 2;
	LaneBest<Arch> best[P];
	std::size_t c = 0;
	for (; c + NB * W <= ld; c += NB * W)
		dot_tile_offer<Arch, P, NB>(x, stride, cols, half_norm, c, dims, ld, best);
	for (; c < ld; c += W)
		dot_tile_offer<Arch, P, 1>(x, stride, cols, half_norm, c, dims, ld, best);
	/* The lowest column among the lanes holding the least value; no branch
	 * (see nearest_l2_cols_fixed). */
	for (std::size_t p = 0; p < P; p++)
	{
		const B all = all_lanes_min<Arch>(best[p].best);
		const I none(no_column);
		const std::int32_t first = first_lane_int<Arch>(all_lanes_min_int<Arch>(
			xsimd::select(int_lanes<Arch>(best[p].best == all), best[p].where, none)));
		value[p] = first_lane<Arch>(all);
		index[p] = first == no_column ? 0 : static_cast<std::uint32_t>(first);
	}
}

template <class Arch>
void
nearest_dot_cols(const float *x, std::size_t n, std::size_t stride, const float *cols,
				 const float *half_norm, std::size_t dims, std::size_t ld, std::uint32_t *index,
				 float *value) noexcept
{
	std::size_t i = 0;
	for (; i + 4 <= n; i += 4)
		nearest_dot_group<Arch, 4>(x + i * stride, stride, cols, half_norm, dims, ld, index + i,
								   value + i);
	switch (n - i)
	{
		case 3:
			nearest_dot_group<Arch, 3>(x + i * stride, stride, cols, half_norm, dims, ld, index + i,
									   value + i);
			break;
		case 2:
			nearest_dot_group<Arch, 2>(x + i * stride, stride, cols, half_norm, dims, ld, index + i,
									   value + i);
			break;
		case 1:
			nearest_dot_group<Arch, 1>(x + i * stride, stride, cols, half_norm, dims, ld, index + i,
									   value + i);
			break;
		default:
			break;
	}
}

/*
 * adc_sums: four independent chains of scalar lookups. Gathers were not
 * worth it: on this machine (Fashion-MNIST's 60,000 codes, bench/quantizer)
 * an AVX-512 gather version took 6.4 / 30 / 77 / 175 ns a code at m = 32 /
 * 96 / 196 / 384 against 8.9 / 32.5 / 81 / 176 for these chains, the AVX2
 * one 265 ns at m = 384, and the microcode that mitigates Gather Data
 * Sampling makes gathers several times slower on the Skylake to Ice Lake
 * servers common in clouds. At m = 196 the table (200 KiB) lives in L2,
 * which bounds the lookups more than the instructions do.
 */
template <class Arch>
void
adc_sums(const float *table, std::size_t m, const std::uint8_t *codes, std::size_t stride,
		 std::size_t n, float *out) noexcept
{
	for (std::size_t i = 0; i < n; i++)
	{
		const std::uint8_t *code = codes + i * stride;
		float s[4] = {0.0f, 0.0f, 0.0f, 0.0f};
		std::size_t j = 0;
		for (; j + 4 <= m; j += 4)
#pragma GCC unroll 4
			for (std::size_t u = 0; u < 4; u++)
				s[u] += table[(j + u) * 256 + code[j + u]];
		for (; j < m; j++)
			s[0] += table[j * 256 + code[j]];
		out[i] = (s[0] + s[1]) + (s[2] + s[3]);
	}
}

/*
 * sq8 kernels: the codes are decoded a block at a time into floats on the
 * stack (L1-resident), which reduce() then folds with the query as it folds
 * two float vectors. The decoding loop has a constant trip count, so that
 * GCC vectorises it (uint8 to int32 to float, a multiply, an add: no FMA,
 * as sq8_encode measured its error, the unit is built -ffp-contract=off).
 */
constexpr std::size_t sq8_block = 256;

[[gnu::always_inline]] inline void
sq8_decode_block(const std::uint8_t *codes, float lo, float step, std::size_t len,
				 float *out) noexcept
{
	std::size_t j = 0;
	for (; j + 16 <= len; j += 16)
#pragma GCC unroll 16
		for (std::size_t k = 0; k < 16; k++)
			out[j + k] = lo + step * static_cast<float>(codes[j + k]);
	for (; j < len; j++)
		out[j] = lo + step * static_cast<float>(codes[j]);
}

template <class Arch, class Op>
float
sq8_binary(const float *q, const std::uint8_t *codes, float lo, float step, std::size_t n) noexcept
{
	alignas(64) float x[sq8_block];
	float sum = 0.0f;
	for (std::size_t i = 0; i < n; i += sq8_block)
	{
		std::size_t len = n - i < sq8_block ? n - i : sq8_block;
		sq8_decode_block(codes + i, lo, step, len, x);
		sum += reduce<Arch, Op>(q + i, x, len).v[0];
	}
	return sum;
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
						   &squared_norm<Arch>,
						   &nearest_l2_cols<Arch>,
						   &to_cols<Arch, L2Col>,
						   &to_cols<Arch, DotCol>,
						   &to_cols<Arch, L1Col>,
						   &min_l2_cols<Arch>,
						   &nearest_dot_cols<Arch>,
						   &adc_sums<Arch>,
						   &sq8_binary<Arch, L2Op>,
						   &sq8_binary<Arch, DotOp>,
						   &sq8_binary<Arch, L1Op>};
}

} // namespace
} // namespace vecdb::core::simd
