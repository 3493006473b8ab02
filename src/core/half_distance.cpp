/*
 * half_distance.cpp: distances between vectors of halves (half.h's
 * HalfKernels), for indexes that keep halfvec's values as they are.
 *
 * The F16C table converts eight halves an instruction and sums with AVX2
 * FMAs; the portable one converts a half at a time. Both sum in float, in
 * different orders, so they agree to rounding (test/core/test_half.cpp).
 */
#include "core/half.h"

#include <cmath>

#if defined(__x86_64__)
#include <cpuid.h>
#include <immintrin.h>
#define VECDB_HALF_X86 1
#endif

namespace vecdb::core {

namespace {

float
l2_squared_portable(const Half *a, const Half *b, std::size_t n) noexcept
{
	float sum = 0;
	for (std::size_t i = 0; i < n; i++)
	{
		float d = half_to_float(a[i]) - half_to_float(b[i]);
		sum += d * d;
	}
	return sum;
}

float
inner_product_portable(const Half *a, const Half *b, std::size_t n) noexcept
{
	float sum = 0;
	for (std::size_t i = 0; i < n; i++)
		sum += half_to_float(a[i]) * half_to_float(b[i]);
	return sum;
}

float
l1_portable(const Half *a, const Half *b, std::size_t n) noexcept
{
	float sum = 0;
	for (std::size_t i = 0; i < n; i++)
		sum += std::fabs(half_to_float(a[i]) - half_to_float(b[i]));
	return sum;
}

float
cosine_of(float dot, float norm_a, float norm_b) noexcept
{
	double similarity = dot / std::sqrt(static_cast<double>(norm_a) * norm_b);
	return static_cast<float>(1.0 - similarity);
}

float
cosine_distance_portable(const Half *a, const Half *b, std::size_t n) noexcept
{
	float dot = 0, na = 0, nb = 0;
	for (std::size_t i = 0; i < n; i++)
	{
		float x = half_to_float(a[i]), y = half_to_float(b[i]);
		dot += x * y;
		na += x * x;
		nb += y * y;
	}
	return cosine_of(dot, na, nb);
}

const HalfKernels portable{l2_squared_portable, inner_product_portable, l1_portable,
						   cosine_distance_portable};

#ifdef VECDB_HALF_X86
#define VECDB_F16C __attribute__((target("avx2,fma,f16c")))

VECDB_F16C inline __m256
load8(const Half *p)
{
	return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i *>(p)));
}

VECDB_F16C inline float
sum8(__m256 v)
{
	__m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
	s = _mm_add_ps(s, _mm_movehl_ps(s, s));
	s = _mm_add_ss(s, _mm_movehdup_ps(s));
	return _mm_cvtss_f32(s);
}

VECDB_F16C float
l2_squared_f16c(const Half *a, const Half *b, std::size_t n) noexcept
{
	__m256 acc = _mm256_setzero_ps();
	std::size_t i = 0;
	for (; i + 8 <= n; i += 8)
	{
		__m256 d = _mm256_sub_ps(load8(a + i), load8(b + i));
		acc = _mm256_fmadd_ps(d, d, acc);
	}
	return sum8(acc) + l2_squared_portable(a + i, b + i, n - i);
}

VECDB_F16C float
inner_product_f16c(const Half *a, const Half *b, std::size_t n) noexcept
{
	__m256 acc = _mm256_setzero_ps();
	std::size_t i = 0;
	for (; i + 8 <= n; i += 8)
		acc = _mm256_fmadd_ps(load8(a + i), load8(b + i), acc);
	return sum8(acc) + inner_product_portable(a + i, b + i, n - i);
}

VECDB_F16C float
l1_f16c(const Half *a, const Half *b, std::size_t n) noexcept
{
	const __m256 sign = _mm256_set1_ps(-0.0f);
	__m256 acc = _mm256_setzero_ps();
	std::size_t i = 0;
	for (; i + 8 <= n; i += 8)
		acc = _mm256_add_ps(acc, _mm256_andnot_ps(sign, _mm256_sub_ps(load8(a + i), load8(b + i))));
	return sum8(acc) + l1_portable(a + i, b + i, n - i);
}

VECDB_F16C float
cosine_distance_f16c(const Half *a, const Half *b, std::size_t n) noexcept
{
	__m256 dot = _mm256_setzero_ps(), na = _mm256_setzero_ps(), nb = _mm256_setzero_ps();
	std::size_t i = 0;
	for (; i + 8 <= n; i += 8)
	{
		__m256 x = load8(a + i), y = load8(b + i);
		dot = _mm256_fmadd_ps(x, y, dot);
		na = _mm256_fmadd_ps(x, x, na);
		nb = _mm256_fmadd_ps(y, y, nb);
	}
	float d = sum8(dot), sa = sum8(na), sb = sum8(nb);
	for (; i < n; i++)
	{
		float x = half_to_float(a[i]), y = half_to_float(b[i]);
		d += x * y;
		sa += x * x;
		sb += y * y;
	}
	return cosine_of(d, sa, sb);
}

const HalfKernels f16c{l2_squared_f16c, inner_product_f16c, l1_f16c, cosine_distance_f16c};

bool
cpu_has_f16c_avx2() noexcept
{
	__builtin_cpu_init();
	unsigned eax, ebx, ecx, edx;
	return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") &&
		   __get_cpuid(1, &eax, &ebx, &ecx, &edx) && (ecx & bit_F16C);
}
#endif

} // namespace

const HalfKernels &
half_kernels_portable() noexcept
{
	return portable;
}

const HalfKernels *
half_kernels_f16c() noexcept
{
#ifdef VECDB_HALF_X86
	static const bool has = cpu_has_f16c_avx2();
	return has ? &f16c : nullptr;
#else
	return nullptr;
#endif
}

const HalfKernels &
half_kernels() noexcept
{
	static const HalfKernels &chosen = half_kernels_f16c() ? *half_kernels_f16c() : portable;
	return chosen;
}

} // namespace vecdb::core
