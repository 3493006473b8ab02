/*
 * pq.h: product quantization with 8-bit codes, for the ivfpq index.
 *
 * A vector of dims floats is cut into m sub-vectors of dsub = dims / m floats;
 * each sub-space has its own 256 codewords (k-means centroids), and a
 * vector's code is the index of the nearest codeword in each: m bytes. A
 * query is compared with many codes through a per-query table of its
 * distances to every codeword (asymmetric distance computation, ADC).
 *
 * Knows nothing of PostgreSQL; train() polls KMeansParams::interrupted.
 */
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "core/aligned.h"
#include "core/kmeans.h"

namespace vecdb::core {

/* Product quantizer with 8-bit codes: dims split into m sub-spaces of
 * dsub = dims / m floats; each sub-space has 256 codewords; a code is m bytes. */
class ProductQuantizer
{
public:
	static constexpr std::size_t ksub = 256;

	/* throws std::invalid_argument unless m > 0 && dims > 0 && dims % m == 0 */
	ProductQuantizer(std::size_t dims, std::size_t m);

	std::size_t dims() const { return dims_; }
	std::size_t m() const { return m_; }
	std::size_t dsub() const { return dsub_; }
	std::size_t code_size() const { return m_; }

	/* Per-sub-space k-means (plain L2, never spherical; sub-space j seeded
	 * with params.seed + j) of n >= 1 training vectors (n x dims). With
	 * n < 256 the codewords repeat the training sub-vectors. Throws
	 * std::invalid_argument when n == 0, Interrupted. */
	void train(const float *x, std::size_t n, const KMeansParams &params);

	/* Codebooks as m x ksub x dsub floats (sub-space major), to store and
	 * reload; all zero until train() or load(). codebook_floats() is
	 * m * ksub * dsub == ksub * dims. */
	const float *codebooks() const { return codebooks_.data(); }
	std::size_t codebook_floats() const { return codebooks_.size(); }
	void load(const float *codebooks);

	/* Nearest codeword (L2) per sub-space; the lowest on ties, and the same
	 * on every instruction set. encode_many does not poll for interrupts:
	 * pass many vectors in chunks. */
	void encode(const float *x, std::uint8_t *code) const noexcept;
	/* n x m codes */
	void encode_many(const float *x, std::size_t n, std::uint8_t *codes) const noexcept;
	void decode(const std::uint8_t *code, float *x) const noexcept;

	/* Per-query lookup tables, table[j * ksub + c] for sub-space j and
	 * codeword c: <q_j, cw_jc>, ||q_j - cw_jc||^2, |q_j - cw_jc|_1. */
	void inner_product_table(const float *q, float *table) const noexcept;
	void l2_table(const float *q, float *table) const noexcept;
	void l1_table(const float *q, float *table) const noexcept;

private:
	const float *columns(std::size_t j) const { return cols_.data() + j * dsub_ * ksub; }

	std::size_t dims_, m_, dsub_;
	std::vector<float> codebooks_; /* m x ksub x dsub */
	AlignedFloats cols_;           /* m x dsub x ksub: each sub-space's codewords as columns */
	AlignedFloats half_norms_;     /* m x ksub: |codeword|^2 / 2, for nearest_l2_cols */
};

/* Asymmetric distance sums: out[i] = sum_j table[j * ksub + codes[i * stride + j]]
 * for i < n, j < m. codes are unaligned; stride >= m. */
void adc_sums(const float *table, std::size_t m, const std::uint8_t *codes, std::size_t stride,
			  std::size_t n, float *out) noexcept;

} // namespace vecdb::core
