/*
 * half.cpp: conversions between float and half (half.h). The bit-level
 * routines are the reference; the F16C batch converter is checked against
 * them for every one of the 65,536 halves (test/core/test_half.cpp).
 */
#include "core/half.h"

#include <cmath>
#include <cstring>

#if defined(__x86_64__)
#include <cpuid.h>
#include <immintrin.h>
#define VECDB_HALF_X86 1
#endif

namespace vecdb::core {

namespace {

std::uint32_t
bits_of(float x)
{
	std::uint32_t b;
	std::memcpy(&b, &x, sizeof(b));
	return b;
}

float
float_of(std::uint32_t b)
{
	float x;
	std::memcpy(&x, &b, sizeof(x));
	return x;
}

void
halfs_to_floats_portable(const Half *in, float *out, std::size_t n) noexcept
{
	for (std::size_t i = 0; i < n; i++)
		out[i] = half_to_float(in[i]);
}

#ifdef VECDB_HALF_X86
__attribute__((target("avx,f16c"))) void
halfs_to_floats_f16c(const Half *in, float *out, std::size_t n) noexcept
{
	std::size_t i = 0;
	for (; i + 8 <= n; i += 8)
	{
		__m128i h = _mm_loadu_si128(reinterpret_cast<const __m128i *>(in + i));
		_mm256_storeu_ps(out + i, _mm256_cvtph_ps(h));
	}
	for (; i < n; i++)
		out[i] = half_to_float(in[i]);
}
#endif

using Converter = void (*)(const Half *, float *, std::size_t) noexcept;

Converter
converter() noexcept
{
	static const Converter c = [] {
#ifdef VECDB_HALF_X86
		/* AVX with the OS saving YMM (libgcc checks XCR0), and CPUID's
		 * F16C bit, which not every compiler's builtin knows by name */
		__builtin_cpu_init();
		unsigned eax, ebx, ecx, edx;
		if (__builtin_cpu_supports("avx") && __get_cpuid(1, &eax, &ebx, &ecx, &edx) &&
			(ecx & bit_F16C))
			return static_cast<Converter>(halfs_to_floats_f16c);
#endif
		return static_cast<Converter>(halfs_to_floats_portable);
	}();
	return c;
}

} // namespace

float
half_to_float(Half h) noexcept
{
	std::uint32_t sign = static_cast<std::uint32_t>(h & 0x8000) << 16;
	std::uint32_t exp = (h >> 10) & 0x1f;
	std::uint32_t mant = h & 0x3ff;
	if (exp == 0) /* zero or subnormal: mant * 2^-24, exact in float */
		return float_of(sign | bits_of(static_cast<float>(mant) * 0x1p-24f));
	if (exp == 31) /* infinity, or NaN made quiet as F16C makes it */
		return float_of(sign | 0x7f800000 | (mant << 13) | (mant ? 0x400000u : 0u));
	return float_of(sign | ((exp - 15 + 127) << 23) | (mant << 13));
}

bool
float_to_half(float x, Half *out) noexcept
{
	std::uint32_t f = bits_of(x);
	std::uint32_t sign = (f >> 16) & 0x8000;
	std::uint32_t a = f & 0x7fffffff;
	/* NaN, infinity, or at least 65520, which rounds to infinity */
	if (a >= 0x477ff000)
		return false;
	if (a < 0x38800000)
	{
		/* below the smallest normal half (2^-14): a multiple of 2^-24,
		 * rounded to even by the current (default) rounding mode; 1024
		 * steps is the smallest normal, whose encoding is the same */
		float steps = std::nearbyint(float_of(a) * 0x1p24f);
		*out = static_cast<Half>(sign | static_cast<std::uint32_t>(steps));
		return true;
	}
	std::uint32_t h = ((((a >> 23) - 127 + 15)) << 10) | ((a & 0x7fffff) >> 13);
	std::uint32_t rest = a & 0x1fff;
	if (rest > 0x1000 || (rest == 0x1000 && (h & 1)))
		h++; /* a carry into the exponent is the right result */
	if (h >= 0x7c00)
		return false;
	*out = static_cast<Half>(sign | h);
	return true;
}

void
halfs_to_floats(const Half *in, float *out, std::size_t n) noexcept
{
	converter()(in, out, n);
}

bool
half_conversion_uses_f16c() noexcept
{
#ifdef VECDB_HALF_X86
	return converter() == static_cast<Converter>(halfs_to_floats_f16c);
#else
	return false;
#endif
}

} // namespace vecdb::core
