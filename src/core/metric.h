/*
 * metric.h: the four distances an index ranks by, as one function pointer.
 *
 * Indexes never need the SQL operator's exact value to rank candidates, only
 * a quantity in the same order, so each metric uses the cheapest one: L2
 * squared for <->, -dot for <#>, -dot of unit vectors for <=> (the index
 * stores cosine vectors normalised), and L1 itself for <+>.
 *
 * hamming (<~>) and jaccard (<%>) rank bit strings, which an index keeps
 * packed in the float slots a vector would use: 32 bits a slot, the last
 * one padded with zeros (stored_floats). Their kernels read the slots as
 * bytes (core/bits.h); nothing reads them as floats.
 *
 * An index may keep halfvec's values as halves too, two a float slot (the
 * last one padded with a zero half), ranked by core/half.h's kernels: the
 * halves flag of ranking_distance and stored_floats. Such an index keeps
 * cosine's vectors as they are, not normalized (a unit vector rounded to
 * halves would not rank as the operator does), and ranks by -cos itself.
 */
#pragma once

#include "core/distance.h"

#include <cmath>
#include <cstdint>

namespace vecdb::core {

enum class Metric : std::uint8_t
{
	l2 = 0,
	inner_product = 1,
	cosine = 2,
	l1 = 3,
	hamming = 4,
	jaccard = 5,
};
constexpr Metric last_metric = Metric::jaccard;

using DistanceFn = float (*)(const float *a, const float *b, std::size_t n) noexcept;

/* The ranking distance of a metric, with the best kernels of this CPU,
 * over float slots that hold floats or (halves) pairs of halves. */
DistanceFn ranking_distance(Metric metric, bool halves = false) noexcept;

/* Whether the index stores and queries unit vectors (cosine, in floats). */
constexpr bool
metric_normalizes(Metric metric)
{
	return metric == Metric::cosine;
}

/* Whether the metric ranks bit strings packed 32 bits a float slot. */
constexpr bool
metric_on_bits(Metric metric)
{
	return metric == Metric::hamming || metric == Metric::jaccard;
}

/* The float slots a value of dims dimensions (bits, for a bit string)
 * takes in an index, which keeps halves if halves. */
constexpr std::size_t
stored_floats(Metric metric, std::size_t dims, bool halves = false)
{
	return metric_on_bits(metric) ? (dims + 31) / 32 : halves ? (dims + 1) / 2 : dims;
}

/*
 * Distance order, NaN last: a damaged vector's NaN distance must not break
 * the strict weak order that std::sort and the std heaps rely on (with an
 * unordered comparator std::sort may read past the end of its range).
 */
inline bool
nearer(float a, float b)
{
	return a < b || (std::isnan(b) && !std::isnan(a));
}

/* The SQL operator's value from a ranking distance. */
inline double
sql_distance(Metric metric, float ranking)
{
	switch (metric)
	{
		case Metric::l2:
			return std::sqrt(static_cast<double>(ranking));
		case Metric::inner_product:
			return ranking;
		case Metric::cosine:
			return 1.0 + static_cast<double>(ranking);
		case Metric::l1:
		case Metric::hamming:
		case Metric::jaccard:
			return ranking;
	}
	return ranking;
}

} // namespace vecdb::core
