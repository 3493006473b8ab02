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
#include <cstdint>

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

	/*
	 * Kernels over k vectors stored as columns (see cols_ld below):
	 * cols[d * ld + c] is coordinate d of vector c. One register then holds
	 * one coordinate of 16 vectors, so a query is compared with 16 at once,
	 * without the horizontal sums a row-by-row kernel pays per pair. PQ
	 * codebooks and k-means centroids are kept so.
	 *
	 * "Direct" distances are the scalar loop's: the sum over d in order of
	 * (x_d - c_d)^2 in plain multiplies and adds (the Makefile forbids their
	 * contraction into FMAs), the same bits from every table.
	 */
	/* The column c < k nearest x in L2 and, in *dist, its direct squared
	 * distance. Columns are ranked by half_norm[c] - <x, col_c>, with
	 * half_norm[c] = |col_c|^2 / 2 (|x - c|^2 = |x|^2 + 2 rank), so columns
	 * within rounding (about 1e-6 relative) of the same distance may be
	 * ranked in either order, differently on each ISA; exact ties go to the
	 * lowest c. The scalar table ignores half_norm and ranks by direct
	 * distance. dims >= 1, k >= 1, ld >= k, k <= 2^24; index 0 where every
	 * distance is NaN. */
	std::uint32_t (*nearest_l2_cols)(const float *x, const float *cols, const float *half_norm,
									 std::size_t dims, std::size_t k, std::size_t ld,
									 float *dist) noexcept;
	/* out[c] = |x - col_c|^2 (direct), <x, col_c>, |x - col_c|_1 for c < k <= ld. */
	void (*l2_cols)(const float *x, const float *cols, std::size_t dims, std::size_t k,
					std::size_t ld, float *out) noexcept;
	void (*inner_product_cols)(const float *x, const float *cols, std::size_t dims, std::size_t k,
							   std::size_t ld, float *out) noexcept;
	void (*l1_cols)(const float *x, const float *cols, std::size_t dims, std::size_t k,
					std::size_t ld, float *out) noexcept;
	/* k-means++ seeding's update: mind[c] = min(mind[c], |x - col_c|^2) for
	 * c < k, and sums[b] = the sum of the new mind[c] over the c < k in
	 * [b * min_l2_block, (b + 1) * min_l2_block), the totals it samples by. */
	void (*min_l2_cols)(const float *x, const float *cols, std::size_t dims, std::size_t k,
						std::size_t ld, float *mind, float *sums) noexcept;

	/*
	 * For each of n points (x + i * stride), the column minimising
	 * half_norm[c] - <x_i, col_c> into index[i] (the lowest c on ties) and
	 * that value into value[i]. With half_norm[c] = |col_c|^2 / 2 this is
	 * the nearest column in L2 (|x - c|^2 = |x|^2 + 2 value), with zeros the
	 * largest inner product. Blocked over 4 points and 32 or 64 columns, so
	 * each load feeds several FMAs: for large dims this is k-means'
	 * assignment step, almost 4 times as fast as pairwise l2_squared on
	 * Fashion-MNIST (bench/quantizer.cpp). Every one of the ld columns is
	 * compared: ld % cols_align == 0, ld <= 2^24, and padding columns must
	 * have half_norm = +inf (and finite coordinates) so that they never
	 * win. Index 0 where every value is NaN.
	 */
	void (*nearest_dot_cols)(const float *x, std::size_t n, std::size_t stride, const float *cols,
							 const float *half_norm, std::size_t dims, std::size_t ld,
							 std::uint32_t *index, float *value) noexcept;

	/* Product quantization's asymmetric distances: out[i] = sum over j < m of
	 * table[j * 256 + codes[i * stride + j]], for i < n. */
	void (*adc_sums)(const float *table, std::size_t m, const std::uint8_t *codes,
					 std::size_t stride, std::size_t n, float *out) noexcept;

	/* From a float query to a vector in 8-bit scalar codes (core/sq8.h),
	 * whose coordinate i is lo + step * codes[i], decoded as a multiply
	 * then an add: |q - x|^2, <q, x> and |q - x|_1. */
	float (*sq8_l2_squared)(const float *q, const std::uint8_t *codes, float lo, float step,
							std::size_t n) noexcept;
	float (*sq8_inner_product)(const float *q, const std::uint8_t *codes, float lo, float step,
							   std::size_t n) noexcept;
	float (*sq8_l1)(const float *q, const std::uint8_t *codes, float lo, float step,
					std::size_t n) noexcept;
};

/* min_l2_cols' sums: one per this many columns. */
inline constexpr std::size_t min_l2_block = 64;

/* Column storage: the leading dimension is k rounded up to cols_align, so
 * that every column block is whole in the widest registers. */
inline constexpr std::size_t cols_align = 16;

constexpr std::size_t
cols_ld(std::size_t k)
{
	return (k + cols_align - 1) / cols_align * cols_align;
}

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
