/*
 * sq8.h: 8-bit scalar quantization of one vector at a time, for an index
 * that keeps compact vectors and leaves the exact order to a re-rank.
 *
 * Each vector is coded on its own, with no training: lo is its smallest
 * coordinate, step = (its largest - lo) / 255, and code i the nearest
 * multiple of step above lo, so coordinate i decodes as lo + step * code.
 * A vector inserted long after the build is coded as well as any other,
 * and one wide outlier coordinate only coarsens its own vector.
 *
 * The header also holds a slack: how far, in the metric's own terms, the
 * decoded vector may be from the original, rounding of the float kernels
 * on both sides included. A search ranks by distances to the decoded
 * vectors; from such a distance, lower_bound() gives a value the SQL
 * operator's result on the original vector is never below. An index scan
 * returns that with xs_recheckorderby, and PostgreSQL's executor fetches
 * each row, computes the exact distance, and returns rows in exact order
 * through its reorder queue (nodeIndexscan.c): the re-rank from the heap.
 */
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>

#include "core/metric.h"

namespace vecdb::core {

struct Sq8Header
{
	float lo;
	float step;  /* 0: every coordinate is lo */
	float slack; /* see above; +inf: no bound (a vector lower_bound cannot vouch for) */
};

static_assert(sizeof(Sq8Header) == 12, "Sq8Header is stored on pages");

/* Whether a header read from a page can be what sq8_encode wrote: lo and
 * step finite, step and slack not negative (slack may be +inf). */
inline bool
sq8_header_sound(const Sq8Header &h)
{
	return std::isfinite(h.lo) && std::isfinite(h.step) && h.step >= 0 && h.slack >= 0;
}

/* Bytes of a coded vector of n dimensions: the header, then n codes. */
constexpr std::size_t
sq8_size(std::size_t n)
{
	return sizeof(Sq8Header) + n;
}

/* Code x[0..n) for metric into *h and codes[0..n). */
void sq8_encode(const float *x, std::size_t n, Metric metric, Sq8Header *h,
				std::uint8_t *codes) noexcept;

/* The decoded vector into out[0..n), as the kernels decode it. */
void sq8_decode(const Sq8Header &h, const std::uint8_t *codes, std::size_t n, float *out) noexcept;

/* A metric's ranking distance (metric.h) from a float query to a coded
 * vector, with the best kernels of this CPU. */
using Sq8DistanceFn = float (*)(const float *q, const std::uint8_t *codes, float lo, float step,
								std::size_t n) noexcept;
Sq8DistanceFn sq8_ranking_distance(Metric metric) noexcept;

/*
 * A value the SQL operator's distance between the query and the original
 * vector is never below, from the ranking distance to its code and the
 * code's slack. query_norm is the query's L2 norm as the index prepared it,
 * computed in double (inner product scales the slack by it; in float, a
 * tiny query's would underflow to 0); n the dimensions. -inf where nothing
 * can be vouched for (a NaN or infinite distance, a huge query): still a
 * lower bound, and the executor then orders the row by its exact distance.
 * A cosine query the index could not normalise (zero, or too small or
 * large for float) has no bounds at all: the caller passes -inf itself.
 */
double sq8_lower_bound(Metric metric, float ranking, double query_norm, float slack,
					   std::size_t n) noexcept;

/* The slack of a vector kept as floats (a hot row's): for cosine, the
 * rounding of the index's normalised vectors against the operator's; 0
 * for the others, whose kernels compute the operator's own value. */
float sq8_exact_slack(Metric metric, std::size_t n) noexcept;

} // namespace vecdb::core
