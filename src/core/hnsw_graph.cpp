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
	  distance_(ranking_distance(header_->shape.metric))
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

/* The Store of hnsw_search.h over the in-memory graph, for one query. */
class GraphView
{
public:
	using Ref = std::uint32_t;

	GraphView(const BuildGraph &g, Inserter &ins, const float *query)
		: g_(g), ins_(ins), query_(query)
	{
	}

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

private:
	const BuildGraph &g_;
	Inserter &ins_;
	const float *query_;
};

/*
 * Link from -> to at level; when from's list is full, keep what the
 * heuristic chooses among its links and the new one, as hnswlib does.
 */
void
BuildGraph::connect(std::uint32_t from, std::uint32_t to, int level, Inserter &ins)
{
	Node *n = node(from);
	const int capacity = max_links(static_cast<int>(header_->shape.m), level);
	SpinGuard guard(n->lock, ins.stop);
	std::uint32_t *list = links_of(n, level);
	std::uint32_t count = list[0];
	for (std::uint32_t i = 0; i < count; i++)
		if (list[1 + i] == to)
			return;
	if (count < static_cast<std::uint32_t>(capacity))
	{
		list[1 + count] = to;
		list[0] = count + 1;
		return;
	}

	const float *base = vector(from);
	ins.pool.clear();
	ins.pool.push_back({distance(base, vector(to)), to});
	for (std::uint32_t i = 0; i < count; i++)
		ins.pool.push_back({distance(base, vector(list[1 + i])), list[1 + i]});
	std::sort(ins.pool.begin(), ins.pool.end(),
			  [](const auto &a, const auto &b) { return a.distance < b.distance; });
	GraphView view(*this, ins, base);
	select_neighbours(view, ins.pool, static_cast<std::size_t>(capacity), distance_,
					  header_->shape.dims, ins.slots, ins.kept, ins.pruned);
	for (std::size_t i = 0; i < ins.pruned.size(); i++)
		list[1 + i] = ins.pruned[i].ref;
	list[0] = static_cast<std::uint32_t>(ins.pruned.size());
}

bool
BuildGraph::join_duplicate(std::uint32_t id, const float *v, std::uint64_t payload, Inserter &ins)
{
	if (std::memcmp(vector(id), v, sizeof(float) * header_->shape.dims) != 0)
		return false;
	Node *n = node(id);
	SpinGuard guard(n->lock, ins.stop);
	if (n->payload_count >= max_payloads)
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
	if (ins.chosen.size() < static_cast<std::size_t>(max_level + 1))
		ins.chosen.resize(max_level + 1);
	for (auto &c : ins.chosen)
		c.clear();

	if (entry != no_node)
	{
		GraphView view(*this, ins, v);
		ins.visited.reset(header_->capacity);
		ins.layer.keep_spilled = false;
		ins.layer.clear();
		view.visit(entry);
		ins.layer.seed({view.distance_to(entry), entry});

		for (int l = top; l >= 0; l--)
		{
			bool linking = l <= level;
			std::size_t ef = linking ? shape.ef_construction : 1;
			search_layer(view, ins.layer, ef, l, max_links(static_cast<int>(shape.m), l));
			ins.layer.sort_nearest();
			if (linking)
				select_neighbours(view, ins.layer.nearest, shape.m, distance_, shape.dims,
								  ins.slots, ins.kept, ins.chosen[l]);
			/* The next level starts afresh from what this one found. */
			ins.found.swap(ins.layer.nearest);
			ins.layer.clear();
			ins.visited.reset(header_->capacity);
			for (std::size_t i = 0; i < (linking ? ins.found.size() : 1); i++)
			{
				view.visit(ins.found[i].ref);
				ins.layer.seed(ins.found[i]);
			}
			if (l == 0 && join_duplicate(ins.found[0].ref, v, payload, ins))
				return AddResult::duplicate;
		}
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
		const auto &chosen = ins.chosen[l];
		for (std::size_t i = 0; i < chosen.size(); i++)
			list[1 + i] = chosen[i].ref;
		list[0] = static_cast<std::uint32_t>(chosen.size());
	}

	/* Make it reachable: links from its new neighbours, level by level. */
	for (int l = std::min(level, top); l >= 0; l--)
		for (const auto &c : ins.chosen[l])
			connect(c.ref, id, l, ins);

	if (entry_guard.held())
	{
		header_->entry = id;
		header_->top_level = level;
	}
	return AddResult::added;
}

std::size_t
BuildGraph::link_orphans(Inserter &ins)
{
	const std::uint32_t n = size();
	if (n < 2)
		return 0;
	std::vector<std::uint8_t> reached(n, 0);
	std::vector<std::uint32_t> queue;
	auto walk = [&](std::uint32_t from) {
		queue.assign(1, from);
		reached[from] = 1;
		while (!queue.empty())
		{
			std::uint32_t id = queue.back();
			queue.pop_back();
			const std::uint32_t *list;
			int count = links(id, 0, &list);
			for (int i = 0; i < count; i++)
				if (!reached[list[i]])
				{
					reached[list[i]] = 1;
					queue.push_back(list[i]);
				}
		}
	};

	std::size_t linked = 0;
	std::vector<Candidate<std::uint32_t>> near;
	/* A replaced link may orphan its target in turn: a few rounds settle. */
	for (int round = 0; round < 16; round++)
	{
		std::fill(reached.begin(), reached.end(), 0);
		walk(header_->entry);
		std::size_t before = linked;
		for (std::uint32_t u = 0; u < n; u++)
		{
			if (reached[u])
				continue;
			search(vector(u), 8, header_->shape.ef_construction, ins, near);
			/* The nearest reached element with room, else the nearest. */
			const std::uint32_t capacity = 2 * header_->shape.m;
			std::uint32_t host = no_node;
			for (const auto &c : near)
				if (c.ref != u && reached[c.ref])
				{
					if (host == no_node)
						host = c.ref;
					if (links_of(node(c.ref), 0)[0] < capacity)
					{
						host = c.ref;
						break;
					}
				}
			if (host == no_node)
				host = header_->entry;
			/* Append, or take the place of the host's farthest link. */
			std::uint32_t *list = links_of(node(host), 0);
			if (list[0] < capacity)
				list[1 + list[0]++] = u;
			else
			{
				std::uint32_t farthest = 0;
				float worst = -1;
				for (std::uint32_t i = 0; i < list[0]; i++)
				{
					float d = distance(vector(host), vector(list[1 + i]));
					if (d > worst)
					{
						worst = d;
						farthest = i;
					}
				}
				list[1 + farthest] = u;
			}
			linked++;
			walk(u);
		}
		if (linked == before)
			break;
	}
	return linked;
}

void
BuildGraph::search(const float *query, std::size_t k, std::size_t ef, Inserter &ins,
				   std::vector<Candidate<std::uint32_t>> &out) const
{
	out.clear();
	if (header_->entry == no_node)
		return;
	GraphView view(*this, ins, query);
	ins.visited.reset(header_->capacity);
	ins.layer.keep_spilled = false;
	ins.layer.clear();
	view.visit(header_->entry);
	ins.layer.seed({view.distance_to(header_->entry), header_->entry});
	for (int l = header_->top_level; l >= 0; l--)
	{
		search_layer(view, ins.layer, l == 0 ? std::max(ef, k) : 1, l,
					 max_links(static_cast<int>(header_->shape.m), l));
		ins.layer.sort_nearest();
		if (l == 0)
			break;
		Candidate<std::uint32_t> best = ins.layer.nearest[0];
		ins.layer.clear();
		ins.visited.reset(header_->capacity);
		view.visit(best.ref);
		ins.layer.seed(best);
	}
	out.assign(ins.layer.nearest.begin(),
			   ins.layer.nearest.begin() + std::min(k, ins.layer.nearest.size()));
}

} // namespace vecdb::core::hnsw
