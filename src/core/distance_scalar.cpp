/*
 * distance_scalar.cpp: plain loops, the reference the SIMD kernels are
 * measured against (and the fallback for a build without them). Float
 * accumulation in order, as pgvector does; at -O2 without -ffast-math the
 * compiler may not reorder the sums, so this stays one lane.
 */
#include <cmath>

#include "core/distance.h"

namespace vecdb::core {
namespace scalar {
namespace {

float
l2_squared(const float *a, const float *b, std::size_t n) noexcept
{
	float s = 0.0f;
	for (std::size_t i = 0; i < n; i++)
	{
		float d = a[i] - b[i];
		s += d * d;
	}
	return s;
}

float
inner_product(const float *a, const float *b, std::size_t n) noexcept
{
	float s = 0.0f;
	for (std::size_t i = 0; i < n; i++)
		s += a[i] * b[i];
	return s;
}

float
l1(const float *a, const float *b, std::size_t n) noexcept
{
	float s = 0.0f;
	for (std::size_t i = 0; i < n; i++)
		s += std::fabs(a[i] - b[i]);
	return s;
}

void
cosine_parts(const float *a, const float *b, std::size_t n, float *dot, float *norm_a,
			 float *norm_b) noexcept
{
	float d = 0.0f, na = 0.0f, nb = 0.0f;
	for (std::size_t i = 0; i < n; i++)
	{
		d += a[i] * b[i];
		na += a[i] * a[i];
		nb += b[i] * b[i];
	}
	*dot = d;
	*norm_a = na;
	*norm_b = nb;
}

float
squared_norm(const float *a, std::size_t n) noexcept
{
	float s = 0.0f;
	for (std::size_t i = 0; i < n; i++)
		s += a[i] * a[i];
	return s;
}

} // namespace
} // namespace scalar

/* Declared extern first: a namespace-scope const would be internal. */
extern const DistanceKernels distance_kernels_scalar;
const DistanceKernels distance_kernels_scalar = {
	Isa::scalar, scalar::l2_squared,   scalar::inner_product,
	scalar::l1,  scalar::cosine_parts, scalar::squared_norm,
};

} // namespace vecdb::core
