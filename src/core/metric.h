/*
 * metric.h: the four distances an index ranks by, as one function pointer.
 *
 * Indexes never need the SQL operator's exact value to rank candidates, only
 * a quantity in the same order, so each metric uses the cheapest one: L2
 * squared for <->, -dot for <#>, -dot of unit vectors for <=> (the index
 * stores cosine vectors normalised), and L1 itself for <+>.
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
};

using DistanceFn = float (*)(const float *a, const float *b, std::size_t n) noexcept;

/* The ranking distance of a metric, with the best kernels of this CPU. */
DistanceFn ranking_distance(Metric metric) noexcept;

/* Whether the index stores and queries unit vectors (cosine). */
constexpr bool
metric_normalizes(Metric metric)
{
	return metric == Metric::cosine;
}

/* The SQL operator's value from a ranking distance. */
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
			return ranking;
	}
	return ranking;
}

} // namespace vecdb::core
