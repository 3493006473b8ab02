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
 * The algorithms that change the graph (insert's search and links, orphan
 * linking) also need, of a Store:
 *
 *   void set_query(const float *q);           the vector distances are to
 *   void reset_visited();                     forget what visit() saw
 *   float distance_to(Ref r);                 query-to-element, +inf for an
 *                                             element no link may name
 *   bool rewrite_links(Ref r, int level, const std::vector<Ref> &before,
 *                      const std::vector<Ref> &after);
 *                                             after, if r's list still
 *                                             reads as before
 *   void interruption_point();                where a long loop may be
 *                                             cancelled
 *
 * Lists are rewritten optimistically, read then written only if unchanged,
 * so that the pages' store never holds two buffer locks (no lock-order
 * deadlock between inserts) and the build's holds one spinlock at a time.
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

using core::nearer;

/* Heap orders: std heaps keep the comparator's "largest" at the front. */
struct NearestOnTop
{
	template <typename C> bool operator()(const C &a, const C &b) const
	{
		return nearer(b.distance, a.distance);
	}
};

struct FarthestOnTop
{
	template <typename C> bool operator()(const C &a, const C &b) const
	{
		return nearer(a.distance, b.distance);
	}
};

/* Sort candidates nearest first. */
template <typename C>
void
sort_nearest_first(std::vector<C> &candidates)
{
	std::sort(candidates.begin(), candidates.end(),
			  [](const C &a, const C &b) { return nearer(a.distance, b.distance); });
}

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
	void sort_nearest() { sort_nearest_first(nearest); }

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

/* What the graph-changing algorithms need to know of the graph. */
struct GraphParams
{
	int m;
	int ef_construction;
	std::size_t dims;
	DistanceFn distance;
};

/*
 * Greedy descent (ef 1) from entry on level top down to level stop + 1;
 * leaves layer seeded with the nearest element found, for level stop.
 */
template <class Store>
void
descend(Store &store, LayerSearch<typename Store::Ref> &layer, typename Store::Ref entry, int top,
		int stop, int m)
{
	store.reset_visited();
	layer.clear();
	store.visit(entry);
	layer.seed({store.distance_to(entry), entry});
	for (int l = top; l > stop; l--)
	{
		search_layer(store, layer, 1, l, max_links(m, l));
		layer.sort_nearest();
		Candidate<typename Store::Ref> best = layer.nearest[0];
		layer.clear();
		store.reset_visited();
		store.visit(best.ref);
		layer.seed(best);
	}
}

/*
 * A k-NN search: the descent, then ef wide on the base level, seeded with
 * the entry point too (the one element every base-level walk starts
 * from). Leaves the base level's result in layer, unsorted.
 */
template <class Store>
void
search_graph(Store &store, LayerSearch<typename Store::Ref> &layer, typename Store::Ref entry,
			 int top, std::size_t ef, int m, bool keep_spilled)
{
	layer.keep_spilled = false;
	descend(store, layer, entry, top, 0, m);
	if (store.visit(entry))
		layer.seed({store.distance_to(entry), entry});
	layer.keep_spilled = keep_spilled;
	search_layer(store, layer, ef, 0, max_links(m, 0));
}

/* The buffers of the algorithms below; reuse one for many calls. */
template <typename Ref> struct GraphScratch
{
	LayerSearch<Ref> layer;
	std::vector<std::vector<Candidate<Ref>>> chosen; /* per level */
	std::vector<Candidate<Ref>> found;               /* the base level's result */
	std::vector<Candidate<Ref>> pool, kept;
	std::vector<Ref> before, after, candidates, walk, links;
	std::vector<float> base, other, slots, query;
	std::vector<const float *> kept_vectors;
};

/*
 * The search of an insert at level (Malkov & Yashunin, Algorithm 1): the
 * descent to level, then ef_construction wide on each level down to the
 * base, choosing m neighbours on each by the heuristic. Elements the
 * store gives an infinite distance (dead ones) guide the search but are
 * never chosen. Leaves sc.chosen[l] for each level l <= min(level, top),
 * and sc.found, the base level's result, nearest first.
 */
template <class Store>
void
search_for_insert(Store &store, GraphScratch<typename Store::Ref> &sc, typename Store::Ref entry,
				  int top, int level, const GraphParams &p)
{
	using Ref = typename Store::Ref;
	sc.layer.keep_spilled = false;
	descend(store, sc.layer, entry, top, level, p.m);
	if (sc.chosen.size() < static_cast<std::size_t>(std::max(level, top) + 1))
		sc.chosen.resize(static_cast<std::size_t>(std::max(level, top) + 1));
	for (auto &c : sc.chosen)
		c.clear();
	sc.found.clear();
	for (int l = std::min(level, top); l >= 0; l--)
	{
		search_layer(store, sc.layer, static_cast<std::size_t>(p.ef_construction), l,
					 max_links(p.m, l));
		sc.layer.sort_nearest();
		sc.found.swap(sc.layer.nearest);
		while (!sc.found.empty() && std::isinf(sc.found.back().distance))
			sc.found.pop_back();
		select_neighbours(store, sc.found, static_cast<std::size_t>(p.m), p.distance, p.dims,
						  sc.slots, sc.kept_vectors, sc.chosen[l]);
		if (l == 0)
			break;
		/* the next level starts from everything this one found */
		sc.layer.clear();
		store.reset_visited();
		if (sc.found.empty())
		{
			store.visit(entry);
			sc.layer.seed({store.distance_to(entry), entry});
		}
		for (const Candidate<Ref> &c : sc.found)
		{
			store.visit(c.ref);
			sc.layer.seed(c);
		}
	}
}

/*
 * The links that ref (whose vector is base) keeps at level among
 * candidates: the heuristic's choice, by distance to base. Fills sc.after.
 */
template <class Store>
void
choose_links(Store &store, GraphScratch<typename Store::Ref> &sc, const float *base,
			 const std::vector<typename Store::Ref> &candidates, int level, const GraphParams &p)
{
	sc.other.resize(p.dims);
	sc.pool.clear();
	for (const auto &r : candidates)
		sc.pool.push_back({p.distance(base, store.vector(r, sc.other.data()), p.dims), r});
	sort_nearest_first(sc.pool);
	select_neighbours(store, sc.pool, static_cast<std::size_t>(max_links(p.m, level)), p.distance,
					  p.dims, sc.slots, sc.kept_vectors, sc.kept);
	sc.after.clear();
	for (const auto &c : sc.kept)
		sc.after.push_back(c.ref);
}

/*
 * Add a link from -> to at level: appended if from's list has room, else
 * the list becomes the heuristic's choice among its links and to. With
 * force, to stays in it, in place of the farthest other link, so that an
 * element every neighbour prunes away still has one inbound link. Tries
 * attempts times against concurrent rewrites; whether from's list holds
 * to afterwards.
 */
template <class Store>
bool
add_link(Store &store, GraphScratch<typename Store::Ref> &sc, typename Store::Ref from,
		 typename Store::Ref to, int level, const GraphParams &p, bool force, int attempts)
{
	using Ref = typename Store::Ref;
	const std::size_t room = static_cast<std::size_t>(max_links(p.m, level));
	sc.base.resize(p.dims);
	for (int attempt = 0; attempt < attempts; attempt++)
	{
		sc.before.resize(room);
		sc.before.resize(static_cast<std::size_t>(store.neighbours(from, level, sc.before.data())));
		if (std::find(sc.before.begin(), sc.before.end(), to) != sc.before.end())
			return true;
		sc.candidates.assign(sc.before.begin(), sc.before.end());
		sc.candidates.push_back(to);
		if (sc.before.size() < room)
			sc.after = sc.candidates;
		else
		{
			const float *base = store.vector(from, sc.base.data());
			choose_links(store, sc, base, sc.candidates, level, p);
			if (force && std::find(sc.after.begin(), sc.after.end(), to) == sc.after.end())
			{
				/* sc.pool is sorted: its last member other than to is the
				 * farthest */
				Ref farthest =
					sc.pool.back().ref == to ? sc.pool[sc.pool.size() - 2].ref : sc.pool.back().ref;
				sc.after = sc.before;
				*std::find(sc.after.begin(), sc.after.end(), farthest) = to;
			}
		}
		if (store.rewrite_links(from, level, sc.before, sc.after))
			return std::find(sc.after.begin(), sc.after.end(), to) != sc.after.end();
	}
	return false;
}

/*
 * Link a new element at ref, of level, to the neighbours search_for_insert
 * chose for it (their lists gain ref, pruned when full). If every one
 * pruned it away on the base level, its nearest keeps it by force: no
 * element goes in unreachable.
 */
template <class Store>
void
link_new_element(Store &store, GraphScratch<typename Store::Ref> &sc, typename Store::Ref ref,
				 int level, int top, const GraphParams &p, int attempts)
{
	bool linked = false;
	for (int l = std::min(level, top); l >= 0; l--)
		for (const auto &c : sc.chosen[l])
			linked |= add_link(store, sc, c.ref, ref, l, p, false, attempts) && l == 0;
	if (!linked && top >= 0 && !sc.chosen[0].empty())
		add_link(store, sc, sc.chosen[0][0].ref, ref, 0, p, true, attempts);
}

/*
 * Give every element of elements that a base-level walk from entry does
 * not reach a link from the nearest element it does reach (one with room
 * in its list if the search finds any, else the nearest, whose farthest
 * link it replaces): the heuristic's pruning can drop an element from
 * every list that held it, and then no search returns it. A replaced link
 * may orphan its target in turn, so walks repeat until a round links
 * nothing, for at most orphan_rounds. skip(r): an element the walk must
 * not pass (one about to be freed). reached: a set with clear(),
 * visit(r) and contains(r). Returns the elements linked.
 */
constexpr int orphan_rounds = 8;

template <class Store, class Set, class Skip>
std::size_t
link_orphans(Store &store, GraphScratch<typename Store::Ref> &sc, Set &reached,
			 const std::vector<typename Store::Ref> &elements, typename Store::Ref entry, int top,
			 const GraphParams &p, Skip skip)
{
	using Ref = typename Store::Ref;
	const std::size_t room = static_cast<std::size_t>(max_links(p.m, 0));
	/* no local here may own memory: the pages' store may ERROR (longjmp) */
	std::vector<Ref> &walk = sc.walk, &links = sc.links;
	links.resize(room);
	auto walk_from = [&](Ref start) {
		if (!reached.visit(start))
			return;
		walk.assign(1, start);
		while (!walk.empty())
		{
			Ref r = walk.back();
			walk.pop_back();
			int n = store.neighbours(r, 0, links.data());
			for (int i = 0; i < n; i++)
				if (!skip(links[i]) && reached.visit(links[i]))
					walk.push_back(links[i]);
		}
	};

	std::size_t linked = 0;
	sc.query.resize(p.dims);
	for (int round = 0; round < orphan_rounds; round++)
	{
		reached.clear();
		walk_from(entry);
		std::size_t before = linked;
		for (Ref orphan : elements)
		{
			if (reached.contains(orphan))
				continue;
			store.interruption_point();
			store.set_query(store.vector(orphan, sc.query.data()));
			search_graph(store, sc.layer, entry, top, static_cast<std::size_t>(p.ef_construction),
						 p.m, false);
			sc.layer.sort_nearest();
			Ref host = entry;
			bool host_has_room = false;
			for (const auto &c : sc.layer.nearest)
			{
				if (c.ref == orphan || std::isinf(c.distance) || !reached.contains(c.ref))
					continue;
				if (host == entry)
					host = c.ref;
				if (static_cast<std::size_t>(store.neighbours(c.ref, 0, links.data())) < room)
				{
					host = c.ref;
					host_has_room = true;
					break;
				}
			}
			sc.before.resize(room);
			sc.before.resize(static_cast<std::size_t>(store.neighbours(host, 0, sc.before.data())));
			sc.after = sc.before;
			if (host_has_room || sc.after.size() < room)
				sc.after.push_back(orphan);
			else if (!sc.after.empty())
			{
				sc.base.resize(p.dims);
				sc.other.resize(p.dims);
				const float *hv = store.vector(host, sc.base.data());
				std::size_t farthest = 0;
				float worst = -1;
				for (std::size_t i = 0; i < sc.after.size(); i++)
				{
					float d = p.distance(hv, store.vector(sc.after[i], sc.other.data()), p.dims);
					if (!(d <= worst))
					{
						worst = d;
						farthest = i;
					}
				}
				sc.after[farthest] = orphan;
			}
			/* a lost race leaves it to the next round */
			if (store.rewrite_links(host, 0, sc.before, sc.after))
			{
				linked++;
				walk_from(orphan);
			}
		}
		if (linked == before)
			break;
	}
	return linked;
}

} // namespace vecdb::core::hnsw
