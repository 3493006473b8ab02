/*
 * metric.cpp: ranking distances as plain function pointers, so that a graph
 * search pays one indirect call per candidate and no switch.
 */
#include "core/metric.h"
#include "core/bits.h"

namespace vecdb::core {

namespace {

float
negative_inner_product(const float *a, const float *b, std::size_t n) noexcept
{
	return -kernels().inner_product(a, b, n);
}

/* n float slots of packed bits, as bytes */
const std::uint8_t *
bytes(const float *slots) noexcept
{
	return reinterpret_cast<const std::uint8_t *>(slots);
}

float
hamming(const float *a, const float *b, std::size_t n) noexcept
{
	return static_cast<float>(bit_kernels().hamming(bytes(a), bytes(b), n * sizeof(float)));
}

float
jaccard(const float *a, const float *b, std::size_t n) noexcept
{
	return static_cast<float>(
		jaccard_distance(bit_kernels().overlap(bytes(a), bytes(b), n * sizeof(float))));
}

} // namespace

DistanceFn
ranking_distance(Metric metric) noexcept
{
	const DistanceKernels &k = kernels();
	switch (metric)
	{
		case Metric::l2:
			return k.l2_squared;
		case Metric::inner_product:
		case Metric::cosine:
			return negative_inner_product;
		case Metric::l1:
			return k.l1;
		case Metric::hamming:
			return hamming;
		case Metric::jaccard:
			return jaccard;
	}
	return k.l2_squared;
}

} // namespace vecdb::core
