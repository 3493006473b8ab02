/*
 * hnsw_graph.cpp: inserting into and searching the build's in-memory graph.
 *
 * Concurrency follows hnswlib: each element has a one-byte spinlock that
 * guards its link lists; an element's level, vector and place are written
 * before any other element links to it and never change afterwards; the
 * entry point changes under a graph-wide spinlock, which an insert that
 * raises the top level holds for its whole duration. Every lock is held by
 * a SpinGuard (spin.h): an exception releases it, and a waiter gives up
 * when its Inserter's StopCheck says so.
 */
#include "core/hnsw_graph.h"
#include "core/spin.h"

#include <algorithm>
#include <cstring>
#include <new>

namespace vecdb::core::hnsw {

namespace {

constexpr std::size_t
align_up(std::size_t n, std::size_t a)
{
	return (n + a - 1) / a * a;
}

/*
 * Memory: the header, then the nodes, then the upper links. A node is its
 * fixed part, its vector, then its base-level list (a count and 2m ids); an
 * upper level's list is a count and m ids.
 */
constexpr std::size_t header_bytes = 128;
constexpr std::size_t node_fixed_bytes = 32;

std::size_t
node_stride(const GraphShape &shape, std::size_t *vector_offset, std::size_t *links_offset)
{
	std::size_t v = node_fixed_bytes;
	std::size_t l = v + sizeof(float) * shape.dims;
	if (vector_offset)
		*vector_offset = v;
	if (links_offset)
		*links_offset = l;
	return align_up(l + sizeof(std::uint32_t) * (1 + 2 * shape.m), 64);
}

} // namespace

struct BuildGraph::Header
{
	GraphShape shape;
	std::size_t capacity;
	std::size_t upper_words;
	std::size_t node_stride;
	std::size_t vector_offset; /* within a node */
	std::size_t links_offset;  /* within a node */
	std::atomic<std::uint32_t> count;
	std::atomic<std::uint64_t> upper_used;
	std::atomic<std::uint8_t> entry_lock;
	std::uint32_t entry;
	int top_level;
};

struct BuildGraph::Node
{
	std::atomic<std::uint8_t> lock;
	std::uint8_t level;
	std::uint8_t payload_count;
	std::uint8_t unused;
	std::uint32_t upper; /* first word of this node's upper links */
	std::uint64_t payloads[max_payloads];
};

std::size_t
BuildGraph::upper_words_for(std::size_t capacity, std::uint32_t m)
{
	/* An element reaches level l with probability m^-l: on average
	 * capacity / (m - 1) upper lists; reserve twice that and a margin. */
	std::size_t lists = 2 * capacity / (m > 1 ? m - 1 : 1) + 64;
	return lists * (1 + m);
}

std::size_t
BuildGraph::bytes_needed(const GraphShape &shape, std::size_t capacity, std::size_t upper_words)
{
	return header_bytes + node_stride(shape, nullptr, nullptr) * capacity +
		   sizeof(std::uint32_t) * upper_words;
}

std::size_t
BuildGraph::bytes_per_element(const GraphShape &shape)
{
	return node_stride(shape, nullptr, nullptr) +
		   sizeof(std::uint32_t) * upper_words_for(1024, shape.m) / 1024;
}

BuildGraph::BuildGraph(unsigned char *base)
	: base_(base), header_(reinterpret_cast<Header *>(base)),
	  distance_(ranking_distance(header_->shape.metric, header_->shape.halves))
{
}

BuildGraph
BuildGraph::create(void *memory, const GraphShape &shape, std::size_t capacity,
				   std::size_t upper_words)
{
	static_assert(sizeof(Header) <= header_bytes, "graph header outgrew its space");
	static_assert(sizeof(Node) <= node_fixed_bytes, "node header outgrew its space");
	auto *h = new (memory) Header;
	h->shape = shape;
	h->capacity = capacity;
	h->upper_words = upper_words;
	h->node_stride = node_stride(shape, &h->vector_offset, &h->links_offset);
	h->count.store(0, std::memory_order_relaxed);
	h->upper_used.store(0, std::memory_order_relaxed);
	h->entry_lock.store(0, std::memory_order_relaxed);
	h->entry = no_node;
	h->top_level = -1;
	return BuildGraph(static_cast<unsigned char *>(memory));
}

BuildGraph
BuildGraph::attach(void *memory)
{
	return BuildGraph(static_cast<unsigned char *>(memory));
}

BuildGraph::Node *
BuildGraph::node(std::uint32_t id) const
{
	return reinterpret_cast<Node *>(base_ + header_bytes + header_->node_stride * id);
}

std::uint32_t *
BuildGraph::links_of(Node *n, int level) const
{
	if (level == 0)
		return reinterpret_cast<std::uint32_t *>(reinterpret_cast<unsigned char *>(n) +
												 header_->links_offset);
	auto *upper = reinterpret_cast<std::uint32_t *>(base_ + header_bytes +
													header_->node_stride * header_->capacity);
	return upper + n->upper + static_cast<std::size_t>(level - 1) * (1 + header_->shape.m);
}

float
BuildGraph::distance(const float *a, const float *b) const
{
	return distance_(a, b, header_->shape.dims);
}

const GraphShape &
BuildGraph::shape() const
{
	return header_->shape;
}

std::uint32_t
BuildGraph::size() const
{
	return static_cast<std::uint32_t>(
		std::min<std::size_t>(header_->count.load(std::memory_order_acquire), header_->capacity));
}

std::uint32_t
BuildGraph::entry() const
{
	return header_->entry;
}

int
BuildGraph::top_level() const
{
	return header_->top_level;
}

int
BuildGraph::level(std::uint32_t id) const
{
	return node(id)->level;
}

const float *
BuildGraph::vector(std::uint32_t id) const
{
	return reinterpret_cast<const float *>(reinterpret_cast<unsigned char *>(node(id)) +
										   header_->vector_offset);
}

int
BuildGraph::payload_count(std::uint32_t id) const
{
	return node(id)->payload_count;
}

std::uint64_t
BuildGraph::payload(std::uint32_t id, int i) const
{
	return node(id)->payloads[i];
}

int
BuildGraph::links(std::uint32_t id, int level, const std::uint32_t **out) const
{
	const std::uint32_t *list = links_of(node(id), level);
	*out = list + 1;
	return static_cast<int>(list[0]);
}

GraphParams
BuildGraph::params() const
{
	const GraphShape &shape = header_->shape;
	return {static_cast<int>(shape.m), static_cast<int>(shape.ef_construction), shape.dims,
			distance_};
}

/* The Store of hnsw_search.h over the in-memory graph. */
class GraphView
{
public:
	using Ref = std::uint32_t;

	GraphView(const BuildGraph &g, Inserter &ins, const float *query)
		: g_(g), ins_(ins), query_(query)
	{
	}

	void set_query(const float *query) { query_ = query; }
	void interruption_point() {}
	void reset_visited() { ins_.visited.reset(g_.header_->capacity); }
	bool visit(Ref r) { return ins_.visited.visit(r); }

	int neighbours(Ref r, int level, Ref *out)
	{
		BuildGraph::Node *n = g_.node(r);
		SpinGuard guard(n->lock, ins_.stop);
		const std::uint32_t *list = g_.links_of(n, level);
		std::uint32_t count = list[0];
		std::memcpy(out, list + 1, sizeof(Ref) * count);
		return static_cast<int>(count);
	}

	void distances(const Ref *refs, int n, float *out)
	{
		for (int i = 0; i < n; i++)
		{
			if (i + 1 < n)
				__builtin_prefetch(g_.vector(refs[i + 1]));
			out[i] = g_.distance(query_, g_.vector(refs[i]));
		}
	}

	const float *vector(Ref r, float *) { return g_.vector(r); }

	float distance_to(Ref r) { return g_.distance(query_, g_.vector(r)); }

	/* Under r's spinlock, as every reader of its lists takes it. */
	bool rewrite_links(Ref r, int level, const std::vector<Ref> &before,
					   const std::vector<Ref> &after)
	{
		BuildGraph::Node *n = g_.node(r);
		SpinGuard guard(n->lock, ins_.stop);
		std::uint32_t *list = g_.links_of(n, level);
		if (list[0] != before.size() || !std::equal(before.begin(), before.end(), list + 1))
			return false;
		std::copy(after.begin(), after.end(), list + 1);
		list[0] = static_cast<std::uint32_t>(after.size());
		return true;
	}

private:
	const BuildGraph &g_;
	Inserter &ins_;
	const float *query_;
};

/* Concurrent add()s rarely touch one list at once: a rewrite that keeps
 * losing is given up (link_orphans reaches its element afterwards). */
constexpr int rewrite_attempts = 64;

bool
BuildGraph::join_duplicate(std::uint32_t id, const float *v, std::uint64_t payload, Inserter &ins)
{
	if (std::memcmp(vector(id), v, sizeof(float) * header_->shape.dims) != 0)
		return false;
	Node *n = node(id);
	SpinGuard guard(n->lock, ins.stop);
	if (n->payload_count >= std::min<std::uint32_t>(max_payloads, header_->shape.payload_limit))
		return false;
	n->payloads[n->payload_count++] = payload;
	return true;
}

BuildGraph::AddResult
BuildGraph::add(const float *v, std::uint64_t payload, int level, Inserter &ins)
{
	const GraphShape &shape = header_->shape;
	level = std::min(level, max_level);

	/* Held to the end by an insert that becomes the entry point; released
	 * on every way out, exceptions included. */
	SpinGuard entry_guard(header_->entry_lock, ins.stop);
	std::uint32_t entry = header_->entry;
	int top = header_->top_level;
	if (level <= top)
		entry_guard.release();

	/* Search first: whether the vector duplicates an element is known only
	 * once the base level has been searched. */
	GraphScratch<std::uint32_t> &sc = ins.scratch;
	GraphView view(*this, ins, v);
	for (auto &c : sc.chosen)
		c.clear();
	if (entry != no_node)
	{
		search_for_insert(view, sc, entry, top, level, params());
		if (!sc.found.empty() && join_duplicate(sc.found[0].ref, v, payload, ins))
			return AddResult::duplicate;
	}

	/* Claim link space for upper levels, then a node: a failure leaves no
	 * half-made node behind, only unused link words. */
	std::uint64_t upper = 0;
	std::uint64_t upper_needed = static_cast<std::uint64_t>(level) * (1 + shape.m);
	if (level > 0)
		upper = header_->upper_used.fetch_add(upper_needed, std::memory_order_acq_rel);
	std::uint32_t id = no_node;
	if (upper + upper_needed <= header_->upper_words)
		id = header_->count.fetch_add(1, std::memory_order_acq_rel);
	if (id == no_node || id >= header_->capacity)
		return AddResult::full;

	Node *n = node(id);
	new (&n->lock) std::atomic<std::uint8_t>(0);
	n->level = static_cast<std::uint8_t>(level);
	n->payload_count = 1;
	n->payloads[0] = payload;
	n->upper = static_cast<std::uint32_t>(upper);
	std::memcpy(const_cast<float *>(vector(id)), v, sizeof(float) * shape.dims);
	for (int l = 0; l <= level; l++)
	{
		std::uint32_t *list = links_of(n, l);
		std::size_t count =
			static_cast<std::size_t>(l) < sc.chosen.size() ? sc.chosen[l].size() : 0;
		for (std::size_t i = 0; i < count; i++)
			list[1 + i] = sc.chosen[l][i].ref;
		list[0] = static_cast<std::uint32_t>(count);
	}

	/* Make it reachable: links from its new neighbours, level by level. */
	if (entry != no_node)
		link_new_element(view, sc, id, level, top, params(), rewrite_attempts);

	if (entry_guard.held())
	{
		header_->entry = id;
		header_->top_level = level;
	}
	return AddResult::added;
}

namespace {

/* The reached set of link_orphans over dense ids. */
class ReachedIds
{
public:
	explicit ReachedIds(std::size_t n) : marks_(n, 0) {}
	void clear() { std::fill(marks_.begin(), marks_.end(), 0); }
	bool visit(std::uint32_t id) { return marks_[id] ? false : (marks_[id] = 1); }
	bool contains(std::uint32_t id) const { return marks_[id] != 0; }

private:
	std::vector<std::uint8_t> marks_;
};

} // namespace

std::size_t
BuildGraph::link_orphans(Inserter &ins)
{
	const std::uint32_t n = size();
	if (n < 2)
		return 0;
	std::vector<std::uint32_t> elements(n);
	for (std::uint32_t id = 0; id < n; id++)
		elements[id] = id;
	ReachedIds reached(n);
	GraphView view(*this, ins, nullptr);
	return hnsw::link_orphans(view, ins.scratch, reached, elements, header_->entry,
							  header_->top_level, params(), [](std::uint32_t) { return false; });
}

void
BuildGraph::search(const float *query, std::size_t k, std::size_t ef, Inserter &ins,
				   std::vector<Candidate<std::uint32_t>> &out) const
{
	out.clear();
	if (header_->entry == no_node)
		return;
	GraphView view(*this, ins, query);
	LayerSearch<std::uint32_t> &layer = ins.scratch.layer;
	search_graph(view, layer, header_->entry, header_->top_level, std::max(ef, k),
				 static_cast<int>(header_->shape.m), false);
	layer.sort_nearest();
	out.assign(layer.nearest.begin(), layer.nearest.begin() + std::min(k, layer.nearest.size()));
}

} // namespace vecdb::core::hnsw
