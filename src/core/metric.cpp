/*
 * metric.cpp: ranking distances as plain function pointers, so that a graph
 * search pays one indirect call per candidate and no switch.
 */
#include "core/metric.h"

namespace vecdb::core {

namespace {

float
negative_inner_product(const float *a, const float *b, std::size_t n) noexcept
{
	return -kernels().inner_product(a, b, n);
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
	}
	return k.l2_squared;
}

} // namespace vecdb::core
