/*
 * test_sq8.cpp: 8-bit scalar codes (core/sq8.h): every ISA's kernels
 * against the decoded vector in double, the coding error, and the lower
 * bound an index scan re-ranks by, which must never exceed the SQL
 * operator's value on the original vector, whatever the data.
 */
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <limits>
#include <random>
#include <vector>

#include <gtest/gtest.h>

#include "core/distance.h"
#include "core/metric.h"
#include "core/sq8.h"

using namespace vecdb::core;

namespace {

constexpr Isa all_isas[] = {Isa::scalar, Isa::sse2, Isa::avx2, Isa::avx512};
constexpr Metric all_metrics[] = {Metric::l2, Metric::inner_product, Metric::cosine, Metric::l1};

struct Coded
{
	Sq8Header h;
	std::vector<std::uint8_t> codes;
};

Coded
encode(const std::vector<float> &x, Metric metric)
{
	Coded c{{}, std::vector<std::uint8_t>(x.size())};
	sq8_encode(x.data(), x.size(), metric, &c.h, c.codes.data());
	return c;
}

/* As the index prepares a cosine vector (index/vector_index.cpp). */
std::vector<float>
normalized(std::vector<float> x)
{
	double norm = std::sqrt(static_cast<double>(squared_norm(x.data(), x.size())));
	for (float &v : x)
		v = static_cast<float>(v / norm);
	return x;
}

/* The SQL operator's value, as src/type computes it with table k. */
double
sql_value(const DistanceKernels &k, Metric metric, const std::vector<float> &q,
		  const std::vector<float> &x)
{
	switch (metric)
	{
		case Metric::l2:
			return std::sqrt(static_cast<double>(k.l2_squared(q.data(), x.data(), q.size())));
		case Metric::inner_product:
			return -static_cast<double>(k.inner_product(q.data(), x.data(), q.size()));
		case Metric::cosine: {
			float dot, na, nb;
			k.cosine_parts(q.data(), x.data(), q.size(), &dot, &na, &nb);
			double sim = dot / std::sqrt(static_cast<double>(na) * nb);
			return 1 - std::clamp(sim, -1.0, 1.0);
		}
		case Metric::l1:
			return k.l1(q.data(), x.data(), q.size());
	}
	return 0;
}

/* The index's ranking distance to the code with table k, and its bound. */
double
bound(const DistanceKernels &k, Metric metric, const std::vector<float> &q, const Coded &c)
{
	std::vector<float> query = metric == Metric::cosine ? normalized(q) : q;
	const std::size_t n = q.size();
	float ranking;
	switch (metric)
	{
		case Metric::l2:
			ranking = k.sq8_l2_squared(query.data(), c.codes.data(), c.h.lo, c.h.step, n);
			break;
		case Metric::l1:
			ranking = k.sq8_l1(query.data(), c.codes.data(), c.h.lo, c.h.step, n);
			break;
		default:
			ranking = -k.sq8_inner_product(query.data(), c.codes.data(), c.h.lo, c.h.step, n);
	}
	double qnorm = std::sqrt(static_cast<double>(squared_norm(query.data(), n)));
	return sq8_lower_bound(metric, ranking, qnorm, c.h.slack, n);
}

using Gen = std::function<float(std::mt19937 &, std::size_t)>;

struct Data
{
	const char *name;
	Gen gen;
};

const Data data_sets[] = {
	{"gaussian", [](std::mt19937 &g, std::size_t) { return std::normal_distribution<float>()(g); }},
	{"pixels", /* Fashion-MNIST-like: integers 0..255, coded exactly */
	 [](std::mt19937 &g, std::size_t) {
		 return static_cast<float>(std::uniform_int_distribution<int>(0, 255)(g));
	 }},
	{"outlier", /* one wide coordinate coarsens the rest */
	 [](std::mt19937 &g, std::size_t i) {
		 return i == 3 ? 1e4f : std::uniform_real_distribution<float>(-1, 1)(g);
	 }},
	{"huge", [](std::mt19937 &g,
				std::size_t) { return std::uniform_real_distribution<float>(-1e18f, 1e18f)(g); }},
	{"tiny", [](std::mt19937 &g,
				std::size_t) { return std::uniform_real_distribution<float>(-1e-30f, 1e-30f)(g); }},
	{"near_max", /* sums overflow float: no bound rather than a wrong one */
	 [](std::mt19937 &g, std::size_t) {
		 return std::uniform_real_distribution<float>(-3e38f, 3e38f)(g);
	 }},
	{"constant", [](std::mt19937 &, std::size_t) { return 0.25f; }},
};

std::vector<float>
draw(const Data &d, std::size_t n, std::mt19937 &g)
{
	std::vector<float> x(n);
	for (std::size_t i = 0; i < n; i++)
		x[i] = d.gen(g, i);
	return x;
}

TEST(Sq8, KernelsMatchTheDecodedVector)
{
	std::mt19937 g(7);
	for (Isa isa : all_isas)
	{
		const DistanceKernels *k = kernels_for(isa);
		if (k == nullptr)
			continue;
		for (std::size_t n : {1, 7, 15, 16, 17, 100, 255, 256, 257, 784, 3072, 16000})
		{
			std::vector<float> x = draw(data_sets[0], n, g), q = draw(data_sets[0], n, g);
			Coded c = encode(x, Metric::l2);
			std::vector<float> d(n);
			sq8_decode(c.h, c.codes.data(), n, d.data());
			double l2 = 0, dot = 0, l1 = 0, scale = 0;
			for (std::size_t i = 0; i < n; i++)
			{
				l2 += (static_cast<double>(q[i]) - d[i]) * (q[i] - d[i]);
				dot += static_cast<double>(q[i]) * d[i];
				l1 += std::fabs(static_cast<double>(q[i]) - d[i]);
				scale += std::fabs(static_cast<double>(q[i]) * d[i]);
			}
			double tol = 1e-5 * n;
			EXPECT_NEAR(k->sq8_l2_squared(q.data(), c.codes.data(), c.h.lo, c.h.step, n), l2,
						tol * l2)
				<< isa_name(isa) << " n=" << n;
			EXPECT_NEAR(k->sq8_inner_product(q.data(), c.codes.data(), c.h.lo, c.h.step, n), dot,
						tol * scale)
				<< isa_name(isa) << " n=" << n;
			EXPECT_NEAR(k->sq8_l1(q.data(), c.codes.data(), c.h.lo, c.h.step, n), l1, tol * l1)
				<< isa_name(isa) << " n=" << n;
		}
	}
}

TEST(Sq8, CodingErrorIsHalfAStep)
{
	std::mt19937 g(11);
	for (const Data &set : data_sets)
		for (std::size_t n : {1, 2, 100, 784})
		{
			std::vector<float> x = draw(set, n, g);
			Coded c = encode(x, Metric::l2);
			std::vector<float> d(n);
			sq8_decode(c.h, c.codes.data(), n, d.data());
			for (std::size_t i = 0; i < n; i++)
				ASSERT_LE(std::fabs(static_cast<double>(x[i]) - d[i]),
						  0.5 * c.h.step * (1 + 1e-6) + 1e-6 * std::fabs(x[i]))
					<< set.name << " n=" << n << " i=" << i;
		}
	/* integers 0..255 and constants come back exactly */
	std::vector<float> pixels = {0, 17, 255, 128, 3};
	Coded c = encode(pixels, Metric::l2);
	EXPECT_LT(c.h.slack, 1e-3f); /* rounding only */
	std::vector<float> d(pixels.size());
	sq8_decode(c.h, c.codes.data(), d.size(), d.data());
	EXPECT_EQ(d, pixels);
	std::vector<float> same(40, -2.5f);
	c = encode(same, Metric::l1);
	EXPECT_EQ(c.h.step, 0.0f);
	d.resize(same.size());
	sq8_decode(c.h, c.codes.data(), d.size(), d.data());
	EXPECT_EQ(d[39], -2.5f);
}

/* The bound is the whole point: for every metric, ISA and kind of data,
 * it never exceeds what the SQL operator computes, and on ordinary data
 * it is close (so a re-rank fetches few extra rows). */
TEST(Sq8, LowerBoundNeverExceedsTheSqlDistance)
{
	std::mt19937 g(13);
	for (Isa isa : all_isas)
	{
		const DistanceKernels *k = kernels_for(isa);
		if (k == nullptr)
			continue;
		for (const Data &set : data_sets)
			for (std::size_t n : {1, 3, 16, 100, 784, 3072})
				for (Metric metric : all_metrics)
					for (int trial = 0; trial < 20; trial++)
					{
						std::vector<float> x = draw(set, n, g);
						/* a query near the vector too, where rounding matters most */
						std::vector<float> q = trial % 2 ? draw(set, n, g) : x;
						if (trial % 4 == 2)
							q[0] = std::nextafter(q[0], 0.0f);
						std::vector<float> stored = metric == Metric::cosine ? normalized(x) : x;
						if (metric == Metric::cosine &&
							!std::isfinite(std::sqrt(squared_norm(x.data(), n))))
							continue; /* the index does not take it (prepare_index_vector) */
						Coded c = encode(stored, metric);
						double exact = sql_value(*k, metric, q, x);
						double lb = bound(*k, metric, q, c);
						ASSERT_FALSE(std::isnan(lb));
						if (std::isnan(exact))
							continue; /* orders after everything, any bound holds */
						ASSERT_LE(lb, exact)
							<< isa_name(isa) << " " << set.name << " n=" << n
							<< " metric=" << static_cast<int>(metric) << " trial=" << trial;
					}
	}
}

TEST(Sq8, LowerBoundIsTightOnOrdinaryData)
{
	std::mt19937 g(17);
	const DistanceKernels &k = kernels();
	for (Metric metric : all_metrics)
	{
		double worst = 0;
		for (int trial = 0; trial < 200; trial++)
		{
			std::vector<float> x = draw(data_sets[0], 128, g), q = draw(data_sets[0], 128, g);
			std::vector<float> stored = metric == Metric::cosine ? normalized(x) : x;
			double exact = sql_value(k, metric, q, x);
			double lb = bound(k, metric, q, encode(stored, metric));
			/* the distance itself for L2 and L1; inner products are bounded
			 * through |q| |x - x'|, so relative to |q| |x| */
			double scale = exact;
			if (metric == Metric::inner_product)
				scale = std::sqrt(static_cast<double>(squared_norm(q.data(), 128)) *
								  squared_norm(x.data(), 128));
			else if (metric == Metric::cosine)
				scale = 1;
			worst = std::max(worst, (exact - lb) / scale);
		}
		/* a step is 1/255 of a Gaussian's range: about 1 % of slack */
		EXPECT_LT(worst, 0.02) << static_cast<int>(metric);
		EXPECT_GT(worst, 0.0) << static_cast<int>(metric);
	}
}

TEST(Sq8, NonFiniteInputHasNoBound)
{
	std::vector<float> x = {1, std::numeric_limits<float>::infinity(), 2};
	Coded c = encode(x, Metric::l2);
	EXPECT_TRUE(std::isinf(c.h.slack));
	EXPECT_EQ(sq8_lower_bound(Metric::l2, 1.0f, 1, c.h.slack, 3),
			  -std::numeric_limits<double>::infinity());
	EXPECT_EQ(sq8_lower_bound(Metric::l1, std::numeric_limits<float>::quiet_NaN(), 1, 0, 3),
			  -std::numeric_limits<double>::infinity());
}

} // namespace
