/*
 * sq8.cpp: coding a vector in 8 bits a coordinate, and the bound a scan
 * re-ranks by (sq8.h).
 *
 * The slack is what makes lower_bound() safe, and it has three parts: the
 * coding error itself, in the metric's norm (|x - x'| for L2, inner product
 * and cosine, |x - x'|_1 for L1), measured on the decoded values exactly as
 * the kernels compute them; and the rounding of the float kernels, both the
 * index's sum over the code and the SQL operator's sum over the original,
 * which for n terms is at most about n * 2^-24 of the sum of their sizes.
 * The rounding terms below take four times that, so that the bound holds
 * however the kernels order their sums (one lane or sixteen, fused or not).
 * Below float's normal range rounding is absolute, not relative: a term
 * that underflows loses up to the smallest subnormal, so lower_bound()
 * also subtracts n of those. Above it, an inner product of two vectors
 * whose norms multiply past float's range may overflow to -inf in the
 * operator where the code's does not: such vectors and queries get no
 * bound (big_norm).
 */
#include "core/sq8.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace vecdb::core {

namespace {

constexpr double unit_roundoff = 1.0 / (1 << 24); /* float's */
/* Norms below this cannot make an inner product overflow float: their
 * product stays under 1e36. */
constexpr double big_norm = 1e18;

/* A float no smaller than x (slack is only ever rounded up). */
float
round_up(double x)
{
	auto f = static_cast<float>(x);
	if (static_cast<double>(f) < x)
		f = std::nextafter(f, std::numeric_limits<float>::infinity());
	return f;
}

float
negative_inner_product(const float *q, const std::uint8_t *codes, float lo, float step,
					   std::size_t n) noexcept
{
	return -kernels().sq8_inner_product(q, codes, lo, step, n);
}

} // namespace

void
sq8_encode(const float *x, std::size_t n, Metric metric, Sq8Header *h, std::uint8_t *codes) noexcept
{
	std::fill(codes, codes + n, std::uint8_t{0});
	*h = {0.0f, 0.0f, std::numeric_limits<float>::infinity()};
	if (n == 0)
		return;
	float lo = x[0], hi = x[0];
	for (std::size_t i = 0; i < n; i++)
	{
		if (!std::isfinite(x[i]))
			return; /* no bound: the vector type never holds one, a damaged page might */
		lo = std::min(lo, x[i]);
		hi = std::max(hi, x[i]);
	}
	/* in double: hi - lo may exceed float's range */
	auto step = static_cast<float>((static_cast<double>(hi) - lo) / 255.0);
	double err2 = 0, err1 = 0, norm2 = 0, norm1 = 0;
	for (std::size_t i = 0; i < n; i++)
	{
		double c = step > 0 ? std::nearbyint((static_cast<double>(x[i]) - lo) / step) : 0;
		codes[i] = static_cast<std::uint8_t>(std::clamp(c, 0.0, 255.0));
		/* the kernels' decoding, in float: a multiply, then an add */
		float decoded = step * static_cast<float>(codes[i]);
		decoded = lo + decoded;
		double e = static_cast<double>(x[i]) - decoded;
		err2 += e * e;
		err1 += std::fabs(e);
		norm2 += static_cast<double>(x[i]) * x[i];
		norm1 += std::fabs(static_cast<double>(x[i]));
	}
	const double r = 4.0 * static_cast<double>(n) * unit_roundoff;
	double e2 = std::sqrt(err2);
	double slack;
	switch (metric)
	{
		case Metric::l2:
			slack = e2 + 8 * unit_roundoff * (std::sqrt(norm2) + e2);
			break;
		case Metric::inner_product:
			slack = std::sqrt(norm2) >= big_norm
						? std::numeric_limits<double>::infinity()
						: e2 + (r + 8 * unit_roundoff) * (std::sqrt(norm2) + e2);
			break;
		case Metric::cosine:
			/* unit vectors, both normalised in float by the index (and
			 * the SQL operator dividing by two float norms) */
			slack = e2 + 4 * r + 8 * unit_roundoff * (1 + e2);
			break;
		case Metric::l1:
			slack = err1 + 8 * unit_roundoff * (norm1 + err1);
			break;
		default:
			slack = std::numeric_limits<double>::infinity();
	}
	*h = {lo, step, round_up(slack)};
}

void
sq8_decode(const Sq8Header &h, const std::uint8_t *codes, std::size_t n, float *out) noexcept
{
	for (std::size_t i = 0; i < n; i++)
	{
		float decoded = h.step * static_cast<float>(codes[i]);
		out[i] = h.lo + decoded;
	}
}

Sq8DistanceFn
sq8_ranking_distance(Metric metric) noexcept
{
	const DistanceKernels &k = kernels();
	switch (metric)
	{
		case Metric::l2:
			return k.sq8_l2_squared;
		case Metric::inner_product:
		case Metric::cosine:
			return negative_inner_product;
		case Metric::l1:
			return k.sq8_l1;
		case Metric::hamming:
		case Metric::jaccard:
			break; /* bit strings are never quantized (hnsw's new_shape) */
	}
	return k.sq8_l2_squared;
}

/*
 * With r the rounding allowance of n terms (sq8.cpp's top), d' the decoded
 * vector's distance as the kernel computed it and s the slack:
 *  - L2: the operator's sqrt of a float sum is at least (1 - r) of the true
 *    distance, which is at least |q - x'| - s by the triangle inequality,
 *    and |q - x'| is at least (1 - r) sqrt(d').
 *  - inner product: |<q, x> - <q, x'>| <= |q| |x - x'|, the rounding of
 *    both dot products already in s, relative to |x|, times |q|.
 *  - cosine: 1 + d' (d' = -<q, x'>), less s, which holds the rest.
 *  - L1: as L2, without the square root.
 */
double
sq8_lower_bound(Metric metric, float ranking, double query_norm, float slack,
				std::size_t n) noexcept
{
	const double r = 4.0 * static_cast<double>(n) * unit_roundoff;
	/* what n underflowing terms may lose, four times over */
	const double underflow =
		4.0 * static_cast<double>(n) * std::numeric_limits<float>::denorm_min();
	const double d = ranking;
	double bound;
	if (!std::isfinite(d) || !std::isfinite(slack) || !(slack >= 0) || !std::isfinite(query_norm))
		return -std::numeric_limits<double>::infinity();
	switch (metric)
	{
		case Metric::l2:
			bound = std::sqrt(std::max(d - underflow, 0.0)) * (1 - 2 * r) - slack;
			break;
		case Metric::inner_product:
			if (query_norm >= big_norm)
				return -std::numeric_limits<double>::infinity();
			bound = d - query_norm * slack - underflow;
			break;
		case Metric::cosine:
			bound = 1 + d - slack - underflow;
			break;
		case Metric::l1:
			bound = d * (1 - 2 * r) - slack - underflow;
			break;
		default:
			return -std::numeric_limits<double>::infinity();
	}
	return std::isnan(bound) ? -std::numeric_limits<double>::infinity() : bound;
}

float
sq8_exact_slack(Metric metric, std::size_t n) noexcept
{
	if (metric != Metric::cosine)
		return 0;
	return round_up(16.0 * static_cast<double>(n) * unit_roundoff + 8 * unit_roundoff);
}

} // namespace vecdb::core
