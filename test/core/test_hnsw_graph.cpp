/*
 * The build's in-memory HNSW graph: recall against brute force for every
 * metric, duplicates, a full arena, and concurrent inserts.
 */
#include "core/hnsw_graph.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <iostream>
#include <cmath>
#include <random>
#include <set>
#include <thread>

using namespace vecdb::core;
using namespace vecdb::core::hnsw;

namespace {

struct Dataset
{
	std::size_t n, dims;
	std::vector<float> data;
	const float *row(std::size_t i) const { return data.data() + i * dims; }
};

/* Clustered data, as real embeddings are: uniform noise makes HNSW look
 * better than it is. */
Dataset
make_data(std::size_t n, std::size_t dims, bool normalize, unsigned seed)
{
	std::mt19937 rng(seed);
	std::normal_distribution<float> gauss(0.0f, 1.0f);
	std::vector<float> centres(32 * dims);
	for (float &c : centres)
		c = gauss(rng) * 3.0f;
	Dataset d{n, dims, std::vector<float>(n * dims)};
	for (std::size_t i = 0; i < n; i++)
	{
		const float *c = centres.data() + (rng() % 32) * dims;
		float norm = 0;
		for (std::size_t j = 0; j < dims; j++)
		{
			d.data[i * dims + j] = c[j] + gauss(rng);
			norm += d.data[i * dims + j] * d.data[i * dims + j];
		}
		if (normalize)
			for (std::size_t j = 0; j < dims; j++)
				d.data[i * dims + j] /= std::sqrt(norm);
	}
	return d;
}

std::vector<std::uint64_t>
exact_top(const Dataset &d, const float *q, std::size_t k, Metric metric)
{
	DistanceFn dist = ranking_distance(metric);
	std::vector<std::pair<float, std::uint64_t>> all;
	for (std::size_t i = 0; i < d.n; i++)
		all.push_back({dist(q, d.row(i), d.dims), i});
	std::partial_sort(all.begin(), all.begin() + k, all.end());
	std::vector<std::uint64_t> top;
	for (std::size_t i = 0; i < k; i++)
		top.push_back(all[i].second);
	return top;
}

/* work(t) for t = 0..threads-1, each on its own thread (0 on this one). */
template <typename Work>
void
run_on_threads(int threads, Work &work)
{
	std::vector<std::thread> pool;
	for (int t = 1; t < threads; t++)
		pool.emplace_back(work, t);
	work(0);
	for (auto &t : pool)
		t.join();
}

struct Built
{
	std::vector<unsigned char> memory;
	BuildGraph graph;
};

Built
build(const Dataset &d, Metric metric, std::size_t capacity, int threads = 1)
{
	GraphShape shape{static_cast<std::uint32_t>(d.dims), 16, 64, metric};
	std::size_t upper = BuildGraph::upper_words_for(capacity, shape.m);
	std::vector<unsigned char> memory(BuildGraph::bytes_needed(shape, capacity, upper));
	BuildGraph g = BuildGraph::create(memory.data(), shape, capacity, upper);
	auto work = [&](int t) {
		Inserter ins;
		std::mt19937_64 rng(42 + t);
		std::uniform_real_distribution<double> u(0.0, 1.0);
		for (std::size_t i = t; i < d.n; i += threads)
			g.add(d.row(i), i, random_level(1.0 - u(rng), 16, BuildGraph::max_level), ins);
	};
	run_on_threads(threads, work);
	return Built{std::move(memory), g};
}

double
recall(const Dataset &d, const BuildGraph &g, Metric metric, std::size_t ef)
{
	/* Queries near the data, not in it: rows with a little noise. */
	Dataset queries{100, d.dims, std::vector<float>(100 * d.dims)};
	std::mt19937 rng(7);
	std::normal_distribution<float> gauss(0.0f, 0.1f);
	for (std::size_t q = 0; q < queries.n; q++)
		for (std::size_t j = 0; j < d.dims; j++)
			queries.data[q * d.dims + j] = d.row(q * 37 % d.n)[j] + gauss(rng);
	Inserter ins;
	std::vector<Candidate<std::uint32_t>> found;
	std::size_t hits = 0;
	for (std::size_t q = 0; q < queries.n; q++)
	{
		auto truth = exact_top(d, queries.row(q), 10, metric);
		std::set<std::uint64_t> want(truth.begin(), truth.end());
		g.search(queries.row(q), 10, ef, ins, found);
		for (const auto &c : found)
			for (int p = 0; p < g.payload_count(c.ref); p++)
				hits += want.count(g.payload(c.ref, p));
	}
	return static_cast<double>(hits) / (10.0 * queries.n);
}

class GraphRecall : public ::testing::TestWithParam<Metric>
{
};

TEST_P(GraphRecall, MatchesBruteForce)
{
	Metric metric = GetParam();
	Dataset d = make_data(5000, 24, metric == Metric::cosine, 1);
	Built b = build(d, metric, d.n);
	EXPECT_EQ(b.graph.size(), d.n);
	EXPECT_GE(recall(d, b.graph, metric, 64), 0.95);
	/* A wider search never finds less. */
	EXPECT_GE(recall(d, b.graph, metric, 200), recall(d, b.graph, metric, 10) - 1e-9);
}

INSTANTIATE_TEST_SUITE_P(Metrics, GraphRecall,
						 ::testing::Values(Metric::l2, Metric::inner_product, Metric::cosine,
										   Metric::l1));

TEST(Graph, EveryLinkIsValidAndWithinCapacity)
{
	Dataset d = make_data(3000, 16, false, 3);
	Built b = build(d, Metric::l2, d.n);
	const BuildGraph &g = b.graph;
	for (std::uint32_t id = 0; id < g.size(); id++)
		for (int l = 0; l <= g.level(id); l++)
		{
			const std::uint32_t *links;
			int n = g.links(id, l, &links);
			ASSERT_LE(n, max_links(16, l));
			for (int i = 0; i < n; i++)
			{
				ASSERT_LT(links[i], g.size());
				ASSERT_NE(links[i], id);
				ASSERT_GE(g.level(links[i]), l);
			}
		}
	EXPECT_EQ(g.level(g.entry()), g.top_level());
}

TEST(Graph, LinkOrphansMakesEveryElementReachable)
{
	/* Small m prunes hard, which orphans elements. */
	Dataset d = make_data(4000, 8, false, 9);
	GraphShape shape{8, 2, 8, Metric::l2};
	std::size_t upper = BuildGraph::upper_words_for(d.n, shape.m);
	std::vector<unsigned char> memory(BuildGraph::bytes_needed(shape, d.n, upper));
	BuildGraph g = BuildGraph::create(memory.data(), shape, d.n, upper);
	Inserter ins;
	std::mt19937_64 rng(1);
	std::uniform_real_distribution<double> u(0.0, 1.0);
	for (std::size_t i = 0; i < d.n; i++)
		g.add(d.row(i), i, random_level(1.0 - u(rng), 2, BuildGraph::max_level), ins);

	auto unreachable = [&] {
		std::vector<bool> seen(g.size());
		std::vector<std::uint32_t> stack{g.entry()};
		seen[g.entry()] = true;
		while (!stack.empty())
		{
			std::uint32_t id = stack.back();
			stack.pop_back();
			const std::uint32_t *links;
			int n = g.links(id, 0, &links);
			for (int i = 0; i < n; i++)
				if (!seen[links[i]])
				{
					seen[links[i]] = true;
					stack.push_back(links[i]);
				}
		}
		return static_cast<std::size_t>(std::count(seen.begin(), seen.end(), false));
	};
	std::size_t orphans = unreachable();
	EXPECT_GT(orphans, 0u) << "the data no longer orphans anything: the test proves nothing";
	EXPECT_GT(g.link_orphans(ins), 0u);
	EXPECT_EQ(unreachable(), 0u);
}

TEST(Graph, DuplicatesShareAnElement)
{
	Dataset d = make_data(500, 8, false, 4);
	GraphShape shape{8, 8, 32, Metric::l2};
	std::size_t upper = BuildGraph::upper_words_for(1000, shape.m);
	std::vector<unsigned char> memory(BuildGraph::bytes_needed(shape, 1000, upper));
	BuildGraph g = BuildGraph::create(memory.data(), shape, 1000, upper);
	Inserter ins;
	for (std::size_t i = 0; i < d.n; i++)
		ASSERT_EQ(g.add(d.row(i), i, 0, ins), BuildGraph::AddResult::added);
	/* Three copies fit one element; the fourth makes a new one. */
	EXPECT_EQ(g.add(d.row(10), 1000, 0, ins), BuildGraph::AddResult::duplicate);
	EXPECT_EQ(g.add(d.row(10), 1001, 0, ins), BuildGraph::AddResult::duplicate);
	EXPECT_EQ(g.add(d.row(10), 1002, 0, ins), BuildGraph::AddResult::added);
	EXPECT_EQ(g.size(), d.n + 1);
	std::vector<Candidate<std::uint32_t>> found;
	g.search(d.row(10), 1, 40, ins, found);
	ASSERT_EQ(found.size(), 1u);
	EXPECT_EQ(found[0].distance, 0.0f);
}

/* A payload limit of 1 (a quantized index: each row its own element). */
TEST(Graph, PayloadLimitKeepsDuplicatesApart)
{
	Dataset d = make_data(200, 8, false, 5);
	GraphShape shape{8, 8, 32, Metric::l2, 1};
	std::size_t upper = BuildGraph::upper_words_for(400, shape.m);
	std::vector<unsigned char> memory(BuildGraph::bytes_needed(shape, 400, upper));
	BuildGraph g = BuildGraph::create(memory.data(), shape, 400, upper);
	Inserter ins;
	for (std::size_t i = 0; i < d.n; i++)
		ASSERT_EQ(g.add(d.row(i), i, 0, ins), BuildGraph::AddResult::added);
	for (int copy = 0; copy < 4; copy++)
		EXPECT_EQ(g.add(d.row(10), 1000 + copy, 0, ins), BuildGraph::AddResult::added);
	EXPECT_EQ(g.size(), d.n + 4);
	std::vector<Candidate<std::uint32_t>> found;
	g.search(d.row(10), 5, 40, ins, found);
	ASSERT_EQ(found.size(), 5u);
	for (const auto &c : found)
	{
		EXPECT_EQ(c.distance, 0.0f);
		EXPECT_EQ(g.payload_count(c.ref), 1);
	}
}

TEST(Graph, FullArenaChangesNothing)
{
	Dataset d = make_data(300, 8, false, 5);
	GraphShape shape{8, 4, 16, Metric::l2};
	std::size_t upper = BuildGraph::upper_words_for(100, shape.m);
	std::vector<unsigned char> memory(BuildGraph::bytes_needed(shape, 100, upper));
	BuildGraph g = BuildGraph::create(memory.data(), shape, 100, upper);
	Inserter ins;
	std::size_t added = 0, full = 0;
	for (std::size_t i = 0; i < d.n; i++)
	{
		auto r = g.add(d.row(i), i, static_cast<int>(i % 3 == 0), ins);
		added += r == BuildGraph::AddResult::added;
		full += r == BuildGraph::AddResult::full;
	}
	EXPECT_EQ(added, 100u);
	EXPECT_EQ(full, 200u);
	EXPECT_EQ(g.size(), 100u);
	for (std::uint32_t id = 0; id < g.size(); id++)
	{
		const std::uint32_t *links;
		int n = g.links(id, 0, &links);
		for (int i = 0; i < n; i++)
			ASSERT_LT(links[i], 100u);
	}
}

TEST(Graph, ConcurrentInsertsKeepRecall)
{
	Dataset d = make_data(5000, 24, false, 6);
	Built b = build(d, Metric::l2, d.n, 4);
	EXPECT_EQ(b.graph.size(), d.n);
	EXPECT_GE(recall(d, b.graph, Metric::l2, 64), 0.95);
}

/* A participant whose waits are given up (a cancelled parallel build
 * worker: add() throws Interrupted) must leave no lock held: the others
 * keep inserting. The patient inserter gives up only after a minute, as a
 * guard against hanging the suite, and the test fails if it had to. */
std::atomic<std::chrono::steady_clock::time_point> patience_end;

bool
stop_now()
{
	return true;
}

bool
stop_after_patience()
{
	return std::chrono::steady_clock::now() > patience_end.load();
}

TEST(Graph, InterruptedInsertsLeaveNoLockHeld)
{
	Dataset d = make_data(6000, 8, false, 9);
	GraphShape shape{static_cast<std::uint32_t>(d.dims), 4, 16, Metric::l2};
	const std::size_t capacity = d.n + 1; /* room for one more at the end */
	std::size_t upper = BuildGraph::upper_words_for(capacity, shape.m) + 16 * (1 + shape.m);
	std::vector<unsigned char> memory(BuildGraph::bytes_needed(shape, capacity, upper));
	BuildGraph g = BuildGraph::create(memory.data(), shape, capacity, upper);
	patience_end = std::chrono::steady_clock::now() + std::chrono::seconds(60);
	const int threads = 4;
	std::atomic<int> interrupted[threads] = {};
	std::atomic<std::size_t> added_by_patient{0};
	auto work = [&](int t) {
		Inserter ins;
		ins.stop = t == 0 ? stop_after_patience : stop_now;
		std::mt19937_64 rng(99 + t);
		std::uniform_real_distribution<double> u(0.0, 1.0);
		for (std::size_t i = t; i < d.n; i += threads)
		{
			/* Every 125th row, each thread's in turn, raises the top level
			 * now and then: its add() holds the entry lock throughout, and
			 * the others wait for it (and give up), or it waits holding it. */
			int level = i % 125 == 0 ? std::min(static_cast<int>(i / 400), BuildGraph::max_level)
									 : random_level(1.0 - u(rng), 4, BuildGraph::max_level);
			try
			{
				g.add(d.row(i), i, level, ins);
				if (t == 0)
					added_by_patient++;
			}
			catch (const Interrupted &)
			{
				interrupted[t]++;
			}
		}
	};
	run_on_threads(threads, work);
	EXPECT_EQ(interrupted[0].load(), 0) << "the patient inserter waited a minute for a lock";
	EXPECT_EQ(added_by_patient.load(), d.n / threads);
	std::cout << "interrupted adds: " << interrupted[1] + interrupted[2] + interrupted[3] << "\n";
	/* and the graph takes a new element from a fresh inserter */
	Inserter last;
	last.stop = stop_now;
	std::vector<float> v(d.dims, 0.5f);
	EXPECT_NE(g.add(v.data(), 1u << 30, BuildGraph::max_level, last), BuildGraph::AddResult::full);
	EXPECT_EQ(g.top_level(), BuildGraph::max_level);
}

TEST(LayerSearch, RestartBringsBackSpilledCandidates)
{
	LayerSearch<int> s;
	s.keep_spilled = true;
	for (int i = 0; i < 10; i++)
		s.offer({static_cast<float>(10 - i), i}, 4);
	EXPECT_EQ(s.nearest.size(), 4u);
	EXPECT_EQ(s.spilled.size(), 6u);
	s.restart_from_spilled(4);
	s.sort_nearest();
	ASSERT_EQ(s.nearest.size(), 4u);
	EXPECT_EQ(s.nearest[0].distance, 5.0f);
	EXPECT_EQ(s.spilled.size(), 2u);
}

} // namespace
