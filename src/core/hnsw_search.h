/*
 * hnsw_search.h: the HNSW algorithms, written once over any graph store.
 *
 * The build's in-memory graph (hnsw_graph.h) and the index's pages
 * (src/hnsw) hold the same graph in different places; both run these
 * templates. A Store provides, for a query it was given beforehand:
 *
 *   using Ref = ...;                          an element's address
 *   bool visit(Ref r);                        true the first time r is seen
 *   int neighbours(Ref r, int level, Ref *out); r's links at level (copied)
 *   void distances(const Ref *r, int n, float *out); query-to-element
 *   const float *vector(Ref r, float *slot);  r's vector, in place or in slot
 *
 * Knows nothing of PostgreSQL: no call here may ereport.
 */
#pragma once

#include "core/metric.h"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace vecdb::core::hnsw {

/* Links an element keeps at a level: twice as many on the base level. */
constexpr int
max_links(int m, int level)
{
	return level == 0 ? 2 * m : m;
}

/* An element's level, from a uniform u in (0, 1]: the usual 1/ln(m) scale. */
inline int
random_level(double u, int m, int max_level)
{
	int level = static_cast<int>(std::floor(-std::log(u) / std::log(static_cast<double>(m))));
	return std::min(level, max_level);
}

template <typename Ref> struct Candidate
{
	float distance;
	Ref ref;
};

/* Heap orders: std heaps keep the comparator's "largest" at the front. */
struct NearestOnTop
{
	template <typename C> bool operator()(const C &a, const C &b) const
	{
		return a.distance > b.distance;
	}
};

struct FarthestOnTop
{
	template <typename C> bool operator()(const C &a, const C &b) const
	{
		return a.distance < b.distance;
	}
};

/*
 * The state of one best-first search on one level. It outlives a call so
 * that a scan can resume it (iterative scans) and so that its buffers are
 * allocated once per backend, not once per search.
 */
template <typename Ref> struct LayerSearch
{
	std::vector<Candidate<Ref>> frontier; /* min-heap: found, not expanded */
	std::vector<Candidate<Ref>> nearest;  /* max-heap: best ef found so far */
	std::vector<Candidate<Ref>> spilled;  /* found, ranked out of nearest */
	bool keep_spilled = false;            /* iterative scans want them back */
	std::vector<Ref> links;               /* scratch for one neighbour list */
	std::vector<float> link_distances;

	void clear()
	{
		frontier.clear();
		nearest.clear();
		spilled.clear();
	}

	/* An entry point: already visited and its distance known. */
	void seed(Candidate<Ref> c)
	{
		frontier.push_back(c);
		std::push_heap(frontier.begin(), frontier.end(), NearestOnTop());
		nearest.push_back(c);
		std::push_heap(nearest.begin(), nearest.end(), FarthestOnTop());
	}

	/* Consider a newly found element for the best ef. */
	void offer(Candidate<Ref> c, std::size_t ef)
	{
		if (nearest.size() < ef || c.distance < nearest.front().distance)
		{
			frontier.push_back(c);
			std::push_heap(frontier.begin(), frontier.end(), NearestOnTop());
			nearest.push_back(c);
			std::push_heap(nearest.begin(), nearest.end(), FarthestOnTop());
			if (nearest.size() > ef)
			{
				std::pop_heap(nearest.begin(), nearest.end(), FarthestOnTop());
				if (keep_spilled)
					spilled.push_back(nearest.back());
				nearest.pop_back();
			}
		}
		else if (keep_spilled)
			spilled.push_back(c);
	}

	/* nearest, closest first; the heap is gone afterwards. */
	void sort_nearest()
	{
		std::sort(nearest.begin(), nearest.end(),
				  [](const auto &a, const auto &b) { return a.distance < b.distance; });
	}

	/*
	 * Start the next round of an iterative scan: the elements returned so
	 * far are dropped (the caller has emitted nearest), and the ones ranked
	 * out earlier compete again.
	 */
	void restart_from_spilled(std::size_t ef)
	{
		nearest.clear();
		std::vector<Candidate<Ref>> pending;
		pending.swap(spilled);
		for (const auto &c : pending)
			offer(c, ef);
	}
};

/*
 * Best-first search of one level from the seeded entry points until the
 * closest unexpanded element is farther than the ef-th best found
 * (Malkov & Yashunin, Algorithm 2). A resumed search continues where the
 * frontier left off. Returns the number of elements whose distance it
 * computed.
 */
template <class Store>
std::size_t
search_layer(Store &store, LayerSearch<typename Store::Ref> &s, std::size_t ef, int level,
			 int link_capacity)
{
	using Ref = typename Store::Ref;
	s.links.resize(static_cast<std::size_t>(link_capacity));
	s.link_distances.resize(static_cast<std::size_t>(link_capacity));
	std::size_t computed = 0;

	while (!s.frontier.empty())
	{
		Candidate<Ref> c = s.frontier.front();
		if (s.nearest.size() >= ef && c.distance > s.nearest.front().distance)
			break;
		std::pop_heap(s.frontier.begin(), s.frontier.end(), NearestOnTop());
		s.frontier.pop_back();

		int n = store.neighbours(c.ref, level, s.links.data());
		int fresh = 0;
		for (int i = 0; i < n; i++)
			if (store.visit(s.links[i]))
				s.links[fresh++] = s.links[i];
		if (fresh == 0)
			continue;
		store.distances(s.links.data(), fresh, s.link_distances.data());
		computed += static_cast<std::size_t>(fresh);
		for (int i = 0; i < fresh; i++)
			s.offer({s.link_distances[i], s.links[i]}, ef);
	}
	return computed;
}

/*
 * Choose at most max_count neighbours among candidates (sorted closest
 * first, distances to the element being linked): a candidate is kept only
 * if it is closer to the element than to every neighbour kept before it,
 * which spreads links in all directions (Malkov & Yashunin, Algorithm 4,
 * without extending or refilling the candidates).
 */
template <class Store>
void
select_neighbours(Store &store, const std::vector<Candidate<typename Store::Ref>> &candidates,
				  std::size_t max_count, DistanceFn distance, std::size_t dims,
				  std::vector<float> &slots, std::vector<const float *> &kept_vectors,
				  std::vector<Candidate<typename Store::Ref>> &out)
{
	out.clear();
	kept_vectors.clear();
	slots.resize(dims * (max_count + 1));
	for (const auto &c : candidates)
	{
		if (out.size() >= max_count)
			break;
		const float *v = store.vector(c.ref, slots.data() + dims * out.size());
		bool diverse = true;
		for (const float *kept : kept_vectors)
			if (distance(v, kept, dims) < c.distance)
			{
				diverse = false;
				break;
			}
		if (diverse)
		{
			out.push_back(c);
			kept_vectors.push_back(v);
		}
	}
}

} // namespace vecdb::core::hnsw
