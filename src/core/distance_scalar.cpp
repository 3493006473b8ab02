/*
 * distance_scalar.cpp: plain loops, the reference the SIMD kernels are
 * measured against (and the fallback for a build without them). Float
 * accumulation in order, as pgvector does; at -O2 without -ffast-math the
 * compiler may not reorder the sums, so this stays one lane.
 */
#include <cmath>
#include <cstdint>

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

template <class Dist>
void
to_cols(const float *x, const float *cols, std::size_t dims, std::size_t k, std::size_t ld,
		float *out) noexcept
{
	for (std::size_t c = 0; c < k; c++)
		out[c] = Dist::column(x, cols + c, dims, ld);
}

/* Column distances summed over d in order, as the SIMD tables do per lane. */
struct L2Col
{
	static float column(const float *x, const float *col, std::size_t dims, std::size_t ld)
	{
		float s = 0.0f;
		for (std::size_t d = 0; d < dims; d++)
		{
			float t = x[d] - col[d * ld];
			s += t * t;
		}
		return s;
	}
};

struct DotCol
{
	static float column(const float *x, const float *col, std::size_t dims, std::size_t ld)
	{
		float s = 0.0f;
		for (std::size_t d = 0; d < dims; d++)
			s += x[d] * col[d * ld];
		return s;
	}
};

struct L1Col
{
	static float column(const float *x, const float *col, std::size_t dims, std::size_t ld)
	{
		float s = 0.0f;
		for (std::size_t d = 0; d < dims; d++)
			s += std::fabs(x[d] - col[d * ld]);
		return s;
	}
};

void
min_l2_cols(const float *x, const float *cols, std::size_t dims, std::size_t k, std::size_t ld,
			float *mind, float *sums) noexcept
{
	for (std::size_t b = 0; b * min_l2_block < k; b++)
	{
		float s = 0.0f;
		for (std::size_t c = b * min_l2_block; c < k && c < (b + 1) * min_l2_block; c++)
		{
			float d = L2Col::column(x, cols + c, dims, ld);
			if (d < mind[c])
				mind[c] = d;
			s += mind[c];
		}
		sums[b] = s;
	}
}

std::uint32_t
nearest_l2_cols(const float *x, const float *cols, const float *, std::size_t dims, std::size_t k,
				std::size_t ld, float *dist) noexcept
{
	float best = L2Col::column(x, cols, dims, ld);
	std::uint32_t where = 0;
	for (std::size_t c = 1; c < k; c++)
	{
		float d = L2Col::column(x, cols + c, dims, ld);
		if (d < best)
		{
			best = d;
			where = static_cast<std::uint32_t>(c);
		}
	}
	*dist = best;
	return where;
}

void
nearest_dot_cols(const float *x, std::size_t n, std::size_t stride, const float *cols,
				 const float *half_norm, std::size_t dims, std::size_t ld, std::uint32_t *index,
				 float *value) noexcept
{
	for (std::size_t i = 0; i < n; i++)
	{
		float best = __builtin_inff();
		std::uint32_t where = 0;
		for (std::size_t c = 0; c < ld; c++)
		{
			float v = half_norm[c] - DotCol::column(x + i * stride, cols + c, dims, ld);
			if (v < best)
			{
				best = v;
				where = static_cast<std::uint32_t>(c);
			}
		}
		index[i] = where;
		value[i] = best;
	}
}

void
adc_sums(const float *table, std::size_t m, const std::uint8_t *codes, std::size_t stride,
		 std::size_t n, float *out) noexcept
{
	for (std::size_t i = 0; i < n; i++)
	{
		float s = 0.0f;
		for (std::size_t j = 0; j < m; j++)
			s += table[j * 256 + codes[i * stride + j]];
		out[i] = s;
	}
}

/* Decoded as sq8_encode measured its error: a multiply, then an add. */
inline float
sq8_coordinate(const std::uint8_t *codes, std::size_t i, float lo, float step)
{
	float scaled = step * static_cast<float>(codes[i]);
	return lo + scaled;
}

float
sq8_l2_squared(const float *q, const std::uint8_t *codes, float lo, float step,
			   std::size_t n) noexcept
{
	float s = 0.0f;
	for (std::size_t i = 0; i < n; i++)
	{
		float d = q[i] - sq8_coordinate(codes, i, lo, step);
		s += d * d;
	}
	return s;
}

float
sq8_inner_product(const float *q, const std::uint8_t *codes, float lo, float step,
				  std::size_t n) noexcept
{
	float s = 0.0f;
	for (std::size_t i = 0; i < n; i++)
		s += q[i] * sq8_coordinate(codes, i, lo, step);
	return s;
}

float
sq8_l1(const float *q, const std::uint8_t *codes, float lo, float step, std::size_t n) noexcept
{
	float s = 0.0f;
	for (std::size_t i = 0; i < n; i++)
		s += std::fabs(q[i] - sq8_coordinate(codes, i, lo, step));
	return s;
}

} // namespace
} // namespace scalar

/* Declared extern first: a namespace-scope const would be internal. */
extern const DistanceKernels distance_kernels_scalar;
const DistanceKernels distance_kernels_scalar = {
	Isa::scalar,
	scalar::l2_squared,
	scalar::inner_product,
	scalar::l1,
	scalar::cosine_parts,
	scalar::squared_norm,
	scalar::nearest_l2_cols,
	scalar::to_cols<scalar::L2Col>,
	scalar::to_cols<scalar::DotCol>,
	scalar::to_cols<scalar::L1Col>,
	scalar::min_l2_cols,
	scalar::nearest_dot_cols,
	scalar::adc_sums,
	scalar::sq8_l2_squared,
	scalar::sq8_inner_product,
	scalar::sq8_l1,
};

} // namespace vecdb::core
