/*
 * distance.cpp: picks the kernel table for this CPU, once.
 *
 * Compiled with the baseline flags, so nothing here may use an instruction
 * the oldest supported CPU lacks. CPU features come from GCC's
 * __builtin_cpu_supports rather than xsimd 8.1's available_architectures():
 * the latter reads CPUID only, without checking (XGETBV) that the OS saves
 * the YMM/ZMM registers, so a kernel booted with AVX or AVX-512 disabled
 * would get SIGILL (xsimd issue #1025); libgcc's detection checks XCR0.
 */
#include <array>
#include <cmath>
#include <limits>

#include "core/distance.h"

namespace vecdb::core {

/* Defined in distance_<isa>.cpp. */
extern const DistanceKernels distance_kernels_scalar;
extern const DistanceKernels distance_kernels_sse2;
extern const DistanceKernels distance_kernels_avx2;
extern const DistanceKernels distance_kernels_avx512;

namespace {

constexpr std::size_t isa_count = static_cast<std::size_t>(Isa::avx512) + 1;
using Tables = std::array<const DistanceKernels *, isa_count>;

/* Each table needs every feature its unit was compiled for (Makefile). */
Tables
detect() noexcept
{
	__builtin_cpu_init();
	const bool sse2 = __builtin_cpu_supports("sse2");
	const bool avx2 = sse2 && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
	const bool avx512 = avx2 && __builtin_cpu_supports("avx512f") &&
						__builtin_cpu_supports("avx512cd") && __builtin_cpu_supports("avx512dq") &&
						__builtin_cpu_supports("avx512bw");
	return {&distance_kernels_scalar, sse2 ? &distance_kernels_sse2 : nullptr,
			avx2 ? &distance_kernels_avx2 : nullptr, avx512 ? &distance_kernels_avx512 : nullptr};
}

/* Thread-safe static init; src/core never calls PostgreSQL, so it may. */
const Tables &
tables() noexcept
{
	static const Tables t = detect();
	return t;
}

const DistanceKernels *
best() noexcept
{
	const Tables &t = tables();
	for (std::size_t i = isa_count; i-- > 0;)
		if (t[i])
			return t[i];
	return &distance_kernels_scalar; /* unreachable: scalar is always there */
}

} // namespace

const char *
isa_name(Isa isa) noexcept
{
	switch (isa)
	{
		case Isa::scalar:
			return "scalar";
		case Isa::sse2:
			return "sse2";
		case Isa::avx2:
			return "avx2";
		case Isa::avx512:
			return "avx512";
	}
	return "unknown";
}

const DistanceKernels *
kernels_for(Isa isa) noexcept
{
	const auto i = static_cast<std::size_t>(isa);
	return i < isa_count ? tables()[i] : nullptr;
}

const DistanceKernels &
kernels() noexcept
{
	static const DistanceKernels *const k = best();
	return *k;
}

double
cosine_distance(const float *a, const float *b, std::size_t n) noexcept
{
	float dot, norm_a, norm_b;
	kernels().cosine_parts(a, b, n, &dot, &norm_a, &norm_b);

	/* In double: the product of two float norms can overflow float. */
	const double product = static_cast<double>(norm_a) * static_cast<double>(norm_b);
	if (product == 0.0)
		return std::numeric_limits<double>::quiet_NaN();
	double similarity = static_cast<double>(dot) / std::sqrt(product);
	/* Rounding can push |cos| past 1; NaN (from inf/inf) passes through. */
	if (similarity > 1.0)
		similarity = 1.0;
	else if (similarity < -1.0)
		similarity = -1.0;
	return 1.0 - similarity;
}

} // namespace vecdb::core
