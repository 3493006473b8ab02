/*
 * distance_avx2.cpp: the kernels for xsimd::fma3<xsimd::avx2>,
 * compiled with ISA_FLAGS_avx2 (see the Makefile).
 * distance.cpp calls them only on a CPU that has those features.
 */
#include "core/distance_simd.h"

namespace vecdb::core {

/* Declared extern first: a namespace-scope const would be internal. */
extern const DistanceKernels distance_kernels_avx2;
const DistanceKernels distance_kernels_avx2 =
	simd::make_kernels<xsimd::fma3<xsimd::avx2>>(Isa::avx2);

} // namespace vecdb::core
