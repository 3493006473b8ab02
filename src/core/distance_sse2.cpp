/*
 * distance_sse2.cpp: the kernels for xsimd::sse2,
 * compiled with the baseline x86-64 flags (see the Makefile).
 * distance.cpp calls them only on a CPU that has those features.
 */
#include "core/distance_simd.h"

namespace vecdb::core {

/* Declared extern first: a namespace-scope const would be internal. */
extern const DistanceKernels distance_kernels_sse2;
const DistanceKernels distance_kernels_sse2 = simd::make_kernels<xsimd::sse2>(Isa::sse2);

} // namespace vecdb::core
