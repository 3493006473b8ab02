/*
 * pq.cpp: training, encoding and lookup tables of the product quantizer.
 *
 * Each sub-space's codewords are kept twice: row by row as the caller stores
 * them, and as columns (dsub x 256) for the kernels of distance.h, which
 * compare a sub-vector with 16 codewords per AVX-512 register.
 */
#include "core/pq.h"

#include <algorithm>
#include <cstring>
#include <stdexcept>

#include "core/distance.h"

namespace vecdb::core {

ProductQuantizer::ProductQuantizer(std::size_t dims, std::size_t m)
	: dims_(dims), m_(m), dsub_(m ? dims / m : 0)
{
	if (m == 0 || dims == 0 || dims % m != 0)
		throw std::invalid_argument("product quantizer: m must divide the dimensions");
	codebooks_.assign(ksub * dims, 0.0f);
	cols_.assign(ksub * dims, 0.0f);
	half_norms_.assign(ksub * m, 0.0f);
}

void
ProductQuantizer::train(const float *x, std::size_t n, const KMeansParams &params)
{
	if (n == 0)
		throw std::invalid_argument("product quantizer: no training vectors");
	std::vector<float> sub(n * dsub_);
	std::vector<float> trained(codebooks_.size());
	for (std::size_t j = 0; j < m_; j++)
	{
		for (std::size_t i = 0; i < n; i++)
			std::memcpy(&sub[i * dsub_], x + i * dims_ + j * dsub_, dsub_ * sizeof(float));
		KMeansParams p = params;
		p.spherical = false;
		p.seed = params.seed + j;
		std::vector<float> c = train_kmeans(sub.data(), n, dsub_, ksub, p);
		std::copy(c.begin(), c.end(), trained.begin() + j * ksub * dsub_);
	}
	load(trained.data());
}

void
ProductQuantizer::load(const float *codebooks)
{
	std::copy(codebooks, codebooks + codebooks_.size(), codebooks_.begin());
	for (std::size_t j = 0; j < m_; j++)
	{
		const float *rows = codebooks_.data() + j * ksub * dsub_;
		float *cols = cols_.data() + j * dsub_ * ksub;
		for (std::size_t c = 0; c < ksub; c++)
		{
			float norm = 0.0f;
			for (std::size_t d = 0; d < dsub_; d++)
			{
				cols[d * ksub + c] = rows[c * dsub_ + d];
				norm += rows[c * dsub_ + d] * rows[c * dsub_ + d];
			}
			half_norms_[j * ksub + c] = 0.5f * norm;
		}
	}
}

void
ProductQuantizer::encode(const float *x, std::uint8_t *code) const noexcept
{
	const DistanceKernels &kern = kernels();
	float dist;
	for (std::size_t j = 0; j < m_; j++)
		code[j] = static_cast<std::uint8_t>(kern.nearest_l2_cols(
			x + j * dsub_, columns(j), half_norms_.data() + j * ksub, dsub_, ksub, ksub, &dist));
}

/*
 * Sub-space by sub-space over blocks of vectors: one sub-space's codewords
 * (5 KiB at dsub = 4) stay in L1 for the whole block, where vector by vector
 * every sub-space would come from L2 again (about twice as slow).
 */
void
ProductQuantizer::encode_many(const float *x, std::size_t n, std::uint8_t *codes) const noexcept
{
	constexpr std::size_t block = 64;
	const DistanceKernels &kern = kernels();
	float dist;
	for (std::size_t start = 0; start < n; start += block)
	{
		const std::size_t end = std::min(n, start + block);
		for (std::size_t j = 0; j < m_; j++)
			for (std::size_t i = start; i < end; i++)
				codes[i * m_ + j] = static_cast<std::uint8_t>(
					kern.nearest_l2_cols(x + i * dims_ + j * dsub_, columns(j),
										 half_norms_.data() + j * ksub, dsub_, ksub, ksub, &dist));
	}
}

void
ProductQuantizer::decode(const std::uint8_t *code, float *x) const noexcept
{
	for (std::size_t j = 0; j < m_; j++)
		std::memcpy(x + j * dsub_, codebooks_.data() + (j * ksub + code[j]) * dsub_,
					dsub_ * sizeof(float));
}

void
ProductQuantizer::inner_product_table(const float *q, float *table) const noexcept
{
	const DistanceKernels &kern = kernels();
	for (std::size_t j = 0; j < m_; j++)
		kern.inner_product_cols(q + j * dsub_, columns(j), dsub_, ksub, ksub, table + j * ksub);
}

void
ProductQuantizer::l2_table(const float *q, float *table) const noexcept
{
	const DistanceKernels &kern = kernels();
	for (std::size_t j = 0; j < m_; j++)
		kern.l2_cols(q + j * dsub_, columns(j), dsub_, ksub, ksub, table + j * ksub);
}

void
ProductQuantizer::l1_table(const float *q, float *table) const noexcept
{
	const DistanceKernels &kern = kernels();
	for (std::size_t j = 0; j < m_; j++)
		kern.l1_cols(q + j * dsub_, columns(j), dsub_, ksub, ksub, table + j * ksub);
}

void
adc_sums(const float *table, std::size_t m, const std::uint8_t *codes, std::size_t stride,
		 std::size_t n, float *out) noexcept
{
	kernels().adc_sums(table, m, codes, stride, n, out);
}

} // namespace vecdb::core
