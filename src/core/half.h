/*
 * half.h: IEEE 754 half precision (binary16), the element of halfvec.
 *
 * Conversions only: arithmetic on halves is done in float, each result
 * converted back with its range checked. float_to_half rounds to nearest,
 * ties to even, as F16C's VCVTPS2PH does; half_to_float is exact. The batch
 * conversion to floats, which every halfvec distance starts with, uses
 * F16C where the CPU has it (chosen once, as the float kernels are).
 *
 * Knows nothing of PostgreSQL.
 */
#pragma once

#include <cstddef>
#include <cstdint>

namespace vecdb::core {

using Half = std::uint16_t;

/* The largest finite half. */
constexpr float half_max = 65504.0f;

float half_to_float(Half h) noexcept;

/* x rounded to the nearest half into *out; false (and *out untouched) if
 * x is NaN, infinite, or rounds past half_max. */
bool float_to_half(float x, Half *out) noexcept;

/* out[i] = half_to_float(in[i]) for i < n. */
void halfs_to_floats(const Half *in, float *out, std::size_t n) noexcept;

/* Whether halfs_to_floats uses F16C on this CPU (for tests). */
bool half_conversion_uses_f16c() noexcept;

/*
 * Distances between two vectors of n halves, summed in float: what an
 * index that keeps halfvec's halves ranks by (core/metric.h). Chosen once
 * for the CPU: F16C conversion with AVX2 FMA, or a portable loop.
 */
struct HalfKernels
{
	float (*l2_squared)(const Half *a, const Half *b, std::size_t n) noexcept;
	float (*inner_product)(const Half *a, const Half *b, std::size_t n) noexcept;
	float (*l1)(const Half *a, const Half *b, std::size_t n) noexcept;
	/* 1 - cos, NaN if either is zero: cosine ranks vectors as they are,
	 * for a normalized copy rounded to halves would not rank as the
	 * operator does */
	float (*cosine_distance)(const Half *a, const Half *b, std::size_t n) noexcept;
};

const HalfKernels &half_kernels() noexcept;
/* The portable table, and the F16C one or nullptr without it (for tests). */
const HalfKernels &half_kernels_portable() noexcept;
const HalfKernels *half_kernels_f16c() noexcept;

} // namespace vecdb::core
