/*
 * distance_avx512.cpp: the kernels for xsimd::avx512bw,
 * compiled with ISA_FLAGS_avx512 (see the Makefile).
 * distance.cpp calls them only on a CPU that has those features.
 */
#include "core/distance_simd.h"

namespace vecdb::core {

/* Declared extern first: a namespace-scope const would be internal. */
extern const DistanceKernels distance_kernels_avx512;
const DistanceKernels distance_kernels_avx512 = simd::make_kernels<xsimd::avx512bw>(Isa::avx512);

} // namespace vecdb::core
