/*
 * hnsw_graph.h: the graph an HNSW index build grows in memory.
 *
 * Everything lives in one caller-provided block, addressed by offsets, so
 * that the block can be palloc'd for a serial build or be a DSM segment
 * shared by parallel build workers: several processes (or threads) may call
 * add() at once. Each element is a fixed-size record, hnswlib style: its
 * vector, its base-level links and up to max_payloads payloads (heap TIDs of
 * identical vectors). Links of upper levels come from a second area, taken
 * by a bump pointer, since only one element in m has any.
 *
 * Knows nothing of PostgreSQL; nothing here may ereport.
 */
#pragma once

#include "core/hnsw_search.h"
#include "core/metric.h"
#include "core/spin.h"
#include "core/visited.h"

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace vecdb::core::hnsw {

struct GraphShape
{
	std::uint32_t dims;
	std::uint32_t m;
	std::uint32_t ef_construction;
	Metric metric;
	/* payloads an element may hold, at most BuildGraph::max_payloads: 1
	 * keeps identical vectors apart */
	std::uint32_t payload_limit = 3;
	bool halves = false; /* the dims slots hold halves, two each (metric.h) */
};

class BuildGraph;

/* One inserting thread's scratch space; reuse it for every add(). */
class Inserter
{
public:
	Inserter() = default;

	/* Asked while add() waits for another inserter's lock: true makes
	 * add() throw Interrupted (spin.h). None: wait as long as it takes. */
	StopCheck stop = nullptr;

private:
	friend class BuildGraph;
	friend class GraphView;
	VisitedEpochs visited;
	GraphScratch<std::uint32_t> scratch;
};

class BuildGraph
{
public:
	static constexpr std::uint32_t no_node = ~std::uint32_t{0};
	static constexpr int max_payloads = 3;
	static constexpr int max_level = 15;

	enum class AddResult
	{
		added,     /* a new element */
		duplicate, /* the payload joined an identical vector's element */
		full,      /* no room left: nothing changed */
	};

	/* Words of upper-level links to reserve for capacity elements. */
	static std::size_t upper_words_for(std::size_t capacity, std::uint32_t m);
	/* Bytes of memory a graph of capacity elements needs. */
	static std::size_t bytes_needed(const GraphShape &shape, std::size_t capacity,
									std::size_t upper_words);
	/* Bytes one more element costs, on average, for memory budgets. */
	static std::size_t bytes_per_element(const GraphShape &shape);

	/* Lay out an empty graph in memory (bytes_needed() of it). */
	static BuildGraph create(void *memory, const GraphShape &shape, std::size_t capacity,
							 std::size_t upper_words);
	/* A graph laid out by create(), in memory another process may share. */
	static BuildGraph attach(void *memory);

	/* Insert a vector at the given level; safe to call concurrently. Throws
	 * Interrupted if ins.stop says to while it waits for a lock (the graph
	 * may then hold the vector half linked: give up the build). */
	AddResult add(const float *vector, std::uint64_t payload, int level, Inserter &ins);

	/*
	 * Give every element no other element links to an inbound link, so that
	 * a search can reach it: the heuristic's pruning can drop an element
	 * from every list that held it. Run once, with no add() running;
	 * returns the elements it linked.
	 */
	std::size_t link_orphans(Inserter &ins);

	/* The k nearest elements to query, closest first. */
	void search(const float *query, std::size_t k, std::size_t ef, Inserter &ins,
				std::vector<Candidate<std::uint32_t>> &out) const;

	/* Reading the finished graph (no add() running). */
	const GraphShape &shape() const;
	std::uint32_t size() const;
	std::uint32_t entry() const;
	int top_level() const;
	int level(std::uint32_t id) const;
	const float *vector(std::uint32_t id) const;
	int payload_count(std::uint32_t id) const;
	std::uint64_t payload(std::uint32_t id, int i) const;
	/* id's links at level, and their count. */
	int links(std::uint32_t id, int level, const std::uint32_t **out) const;

private:
	friend class GraphView;
	struct Header;
	struct Node;

	explicit BuildGraph(unsigned char *base);

	Node *node(std::uint32_t id) const;
	std::uint32_t *links_of(Node *n, int level) const;
	float distance(const float *a, const float *b) const;
	GraphParams params() const;
	bool join_duplicate(std::uint32_t id, const float *vector, std::uint64_t payload,
						Inserter &ins);

	unsigned char *base_;
	Header *header_;
	DistanceFn distance_;
};

} // namespace vecdb::core::hnsw
