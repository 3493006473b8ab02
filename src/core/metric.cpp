/*
 * metric.cpp: ranking distances as plain function pointers, so that a graph
 * search pays one indirect call per candidate and no switch.
 */
#include "core/metric.h"
#include "core/bits.h"
#include "core/half.h"

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

/* n float slots of 2n halves */
const Half *
halves(const float *slots) noexcept
{
	return reinterpret_cast<const Half *>(slots);
}

float
half_l2_squared(const float *a, const float *b, std::size_t n) noexcept
{
	return half_kernels().l2_squared(halves(a), halves(b), 2 * n);
}

float
half_negative_inner_product(const float *a, const float *b, std::size_t n) noexcept
{
	return -half_kernels().inner_product(halves(a), halves(b), 2 * n);
}

float
half_l1(const float *a, const float *b, std::size_t n) noexcept
{
	return half_kernels().l1(halves(a), halves(b), 2 * n);
}

/* cosine distance - 1, the ranking quantity of cosine (metric.h) */
float
half_cosine(const float *a, const float *b, std::size_t n) noexcept
{
	return half_kernels().cosine_distance(halves(a), halves(b), 2 * n) - 1.0f;
}

DistanceFn
half_ranking_distance(Metric metric) noexcept
{
	switch (metric)
	{
		case Metric::l2:
			return half_l2_squared;
		case Metric::inner_product:
			return half_negative_inner_product;
		case Metric::cosine:
			return half_cosine;
		case Metric::l1:
			return half_l1;
		case Metric::hamming:
		case Metric::jaccard:
			break; /* bit strings are never halves */
	}
	return half_l2_squared;
}

} // namespace

DistanceFn
ranking_distance(Metric metric, bool halves) noexcept
{
	if (halves && !metric_on_bits(metric))
		return half_ranking_distance(metric);
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
