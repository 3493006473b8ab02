/*
 * k-means: recovery of separated clusters (through both assignment kernels),
 * determinism, spherical centroids, n <= k, duplicate points, bad arguments,
 * interrupts; CentroidAssigner and the kernels behind it, on every ISA,
 * against brute force.
 */
#include "core/kmeans.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <stdexcept>
#include <vector>

#include "core/aligned.h"
#include "core/distance.h"

using namespace vecdb::core;

namespace {

constexpr Isa all_isas[] = {Isa::scalar, Isa::sse2, Isa::avx2, Isa::avx512};

double
squared_distance(const float *a, const float *b, std::size_t dims)
{
	double s = 0;
	for (std::size_t d = 0; d < dims; d++)
		s += (double(a[d]) - b[d]) * (double(a[d]) - b[d]);
	return s;
}

double
dot(const float *a, const float *b, std::size_t dims)
{
	double s = 0;
	for (std::size_t d = 0; d < dims; d++)
		s += double(a[d]) * b[d];
	return s;
}

struct Clusters
{
	std::vector<float> centres, points;
};

/* `per` points around each of k centres in [-10, 10]^dims, at least 3 apart;
 * noise sigma. */
Clusters
separated_clusters(std::size_t k, std::size_t per, std::size_t dims, float sigma, unsigned seed)
{
	std::mt19937 rng(seed);
	std::uniform_real_distribution<float> where(-10.0f, 10.0f);
	std::normal_distribution<float> noise(0.0f, sigma);
	Clusters c;
	c.centres.resize(k * dims);
	for (std::size_t j = 0; j < k; j++)
		for (bool apart = false; !apart;)
		{
			for (std::size_t d = 0; d < dims; d++)
				c.centres[j * dims + d] = where(rng);
			apart = true;
			for (std::size_t t = 0; t < j; t++)
				apart &= squared_distance(&c.centres[j * dims], &c.centres[t * dims], dims) >= 9.0;
		}
	/* Interleaved, so that no cluster is a contiguous run. */
	for (std::size_t i = 0; i < k * per; i++)
		for (std::size_t d = 0; d < dims; d++)
			c.points.push_back(c.centres[(i % k) * dims + d] + noise(rng));
	return c;
}

std::vector<float>
uniform_points(std::size_t n, std::size_t dims, unsigned seed)
{
	std::mt19937 rng(seed);
	std::uniform_real_distribution<float> u(-1.0f, 1.0f);
	std::vector<float> x(n * dims);
	for (float &v : x)
		v = u(rng);
	return x;
}

/* Each true centre has a centroid within tol, and each centroid a centre. */
void
expect_matched(const std::vector<float> &centres, const std::vector<float> &centroids,
			   std::size_t dims, double tol)
{
	const std::size_t k = centres.size() / dims, kc = centroids.size() / dims;
	auto nearest = [&](const float *x, const std::vector<float> &set, std::size_t count) {
		double best = std::numeric_limits<double>::infinity();
		for (std::size_t j = 0; j < count; j++)
			best = std::min(best, squared_distance(x, &set[j * dims], dims));
		return std::sqrt(best);
	};
	for (std::size_t j = 0; j < k; j++)
		EXPECT_LT(nearest(&centres[j * dims], centroids, kc), tol) << "centre " << j;
	for (std::size_t j = 0; j < kc; j++)
		EXPECT_LT(nearest(&centroids[j * dims], centres, k), tol) << "centroid " << j;
}

/* dims 2 and 16 run the column kernels, 17 and 100 the blocked dot product. */
class Recovery : public ::testing::TestWithParam<std::size_t>
{
};

TEST_P(Recovery, FindsSeparatedGaussianClusters)
{
	const std::size_t dims = GetParam(), k = 12;
	Clusters c = separated_clusters(k, 150, dims, 0.05f, 11);
	KMeansParams params;
	params.iterations = 20;
	std::vector<float> centroids = train_kmeans(c.points.data(), k * 150, dims, k, params);
	ASSERT_EQ(centroids.size(), k * dims);
	/* The mean of 150 points of sigma 0.05 is off by about 0.004 sqrt(dims). */
	expect_matched(c.centres, centroids, dims, 0.03 * std::sqrt(double(dims)));
}

INSTANTIATE_TEST_SUITE_P(Dims, Recovery, ::testing::Values(2, 16, 17, 100));

TEST(KMeans, SingleClusterIsTheMean)
{
	std::vector<float> x = uniform_points(1000, 5, 3);
	std::vector<float> c = train_kmeans(x.data(), 1000, 5, 1, KMeansParams{});
	for (std::size_t d = 0; d < 5; d++)
	{
		double mean = 0;
		for (std::size_t i = 0; i < 1000; i++)
			mean += x[i * 5 + d] / 1000.0;
		EXPECT_NEAR(c[d], mean, 1e-5);
	}
}

TEST(KMeans, LloydLowersTheObjective)
{
	const std::size_t n = 3000, dims = 24, k = 20;
	std::vector<float> x = uniform_points(n, dims, 5);
	auto objective = [&](const std::vector<float> &c) {
		double sum = 0;
		for (std::size_t i = 0; i < n; i++)
		{
			double best = std::numeric_limits<double>::infinity();
			for (std::size_t j = 0; j < k; j++)
				best = std::min(best, squared_distance(&x[i * dims], &c[j * dims], dims));
			sum += best;
		}
		return sum;
	};
	KMeansParams seeds_only, trained;
	seeds_only.iterations = 0;
	trained.iterations = 10;
	double before = objective(train_kmeans(x.data(), n, dims, k, seeds_only));
	double after = objective(train_kmeans(x.data(), n, dims, k, trained));
	EXPECT_LT(after, 0.9 * before);
}

/* Lloyd's iterations from train_kmeans' own seeds (iterations = 0), done
 * plainly in double: train_kmeans must land on the same centroids, through
 * the column kernels and their shortcuts (dims 4) or the blocked kernel
 * (dims 24). */
TEST(KMeans, MatchesAPlainLloyd)
{
	for (std::size_t dims : {4, 24})
	{
		SCOPED_TRACE(dims);
		const std::size_t n = 3000, k = 25;
		std::vector<float> x = uniform_points(n, dims, 21);
		KMeansParams params;
		params.iterations = 0;
		std::vector<float> seeds = train_kmeans(x.data(), n, dims, k, params);
		std::vector<double> c(seeds.begin(), seeds.end());
		std::vector<std::size_t> owner(n, k);
		int iterations = 0;
		for (; iterations < 8; iterations++)
		{
			bool changed = false;
			for (std::size_t i = 0; i < n; i++)
			{
				std::size_t best = 0;
				double least = std::numeric_limits<double>::infinity();
				for (std::size_t j = 0; j < k; j++)
				{
					double d = 0;
					for (std::size_t t = 0; t < dims; t++)
						d += (x[i * dims + t] - c[j * dims + t]) *
							 (x[i * dims + t] - c[j * dims + t]);
					if (d < least)
					{
						least = d;
						best = j;
					}
				}
				changed |= owner[i] != best;
				owner[i] = best;
			}
			if (!changed)
				break;
			std::vector<double> sum(k * dims, 0.0);
			std::vector<std::size_t> count(k, 0);
			for (std::size_t i = 0; i < n; i++)
			{
				count[owner[i]]++;
				for (std::size_t t = 0; t < dims; t++)
					sum[owner[i] * dims + t] += x[i * dims + t];
			}
			for (std::size_t j = 0; j < k; j++)
			{
				ASSERT_GT(count[j], 0u) << "an empty cluster: the data does not suit this test";
				for (std::size_t t = 0; t < dims; t++)
					c[j * dims + t] = sum[j * dims + t] / double(count[j]);
			}
		}
		params.iterations = 8;
		std::vector<float> mine = train_kmeans(x.data(), n, dims, k, params);
		for (std::size_t v = 0; v < k * dims; v++)
			EXPECT_NEAR(mine[v], c[v], 1e-5) << "centroid " << v / dims;
	}
}

TEST(KMeans, DeterministicForASeed)
{
	for (std::size_t dims : {4, 40})
	{
		SCOPED_TRACE(dims);
		const std::size_t n = 2000, k = 30;
		std::vector<float> x = uniform_points(n, dims, 9);
		KMeansParams params;
		params.seed = 42;
		std::vector<float> a = train_kmeans(x.data(), n, dims, k, params);
		std::vector<float> b = train_kmeans(x.data(), n, dims, k, params);
		ASSERT_EQ(a.size(), b.size());
		EXPECT_EQ(std::memcmp(a.data(), b.data(), a.size() * sizeof(float)), 0);

		/* A copy of the input elsewhere in memory: no dependence on addresses. */
		std::vector<float> copy(x);
		std::vector<float> c = train_kmeans(copy.data(), n, dims, k, params);
		EXPECT_EQ(std::memcmp(a.data(), c.data(), a.size() * sizeof(float)), 0);

		/* On uniform noise another seed finds another local optimum. */
		params.seed = 43;
		std::vector<float> d = train_kmeans(x.data(), n, dims, k, params);
		EXPECT_NE(std::memcmp(a.data(), d.data(), a.size() * sizeof(float)), 0);
	}
}

TEST(KMeans, SphericalCentroidsAreUnitAndFollowDirections)
{
	/* Four directions, points at very different lengths: L2 k-means would
	 * cluster by length, spherical k-means by direction. */
	const std::size_t dims = 32, k = 4, per = 200;
	std::mt19937 rng(4);
	std::normal_distribution<float> gauss(0.0f, 1.0f);
	std::uniform_real_distribution<float> length(0.5f, 20.0f);
	std::vector<float> dirs(k * dims), x;
	for (std::size_t j = 0; j < k; j++)
	{
		double norm = 0;
		for (std::size_t d = 0; d < dims; d++)
		{
			dirs[j * dims + d] = gauss(rng);
			norm += dirs[j * dims + d] * dirs[j * dims + d];
		}
		for (std::size_t d = 0; d < dims; d++)
			dirs[j * dims + d] /= float(std::sqrt(norm));
	}
	for (std::size_t i = 0; i < k * per; i++)
	{
		float len = length(rng);
		for (std::size_t d = 0; d < dims; d++)
			x.push_back(len * (dirs[(i % k) * dims + d] + 0.02f * gauss(rng)));
	}
	KMeansParams params;
	params.spherical = true;
	params.iterations = 15;
	std::vector<float> c = train_kmeans(x.data(), k * per, dims, k, params);
	for (std::size_t j = 0; j < k; j++)
	{
		EXPECT_NEAR(dot(&c[j * dims], &c[j * dims], dims), 1.0, 1e-5);
		double best = -2;
		for (std::size_t t = 0; t < k; t++)
			best = std::max(best, dot(&c[j * dims], &dirs[t * dims], dims));
		EXPECT_GT(best, 0.99) << "centroid " << j;
	}
	for (std::size_t t = 0; t < k; t++)
	{
		double best = -2;
		for (std::size_t j = 0; j < k; j++)
			best = std::max(best, dot(&c[j * dims], &dirs[t * dims], dims));
		EXPECT_GT(best, 0.99) << "direction " << t;
	}
}

TEST(KMeans, FewerPointsThanClustersRepeatsThePoints)
{
	const float x[] = {1, 2, 3, 4, 5, 6, 7, 8, 9}; /* 3 points of 3 dims */
	std::vector<float> c = train_kmeans(x, 3, 3, 7, KMeansParams{});
	ASSERT_EQ(c.size(), 21u);
	for (std::size_t j = 0; j < 7; j++)
		for (std::size_t d = 0; d < 3; d++)
			EXPECT_EQ(c[j * 3 + d], x[(j % 3) * 3 + d]);

	c = train_kmeans(x, 3, 3, 3, KMeansParams{});
	EXPECT_TRUE(std::equal(c.begin(), c.end(), x));

	KMeansParams spherical;
	spherical.spherical = true;
	c = train_kmeans(x, 3, 3, 4, spherical);
	for (std::size_t j = 0; j < 4; j++)
	{
		double norm = std::sqrt(dot(&x[(j % 3) * 3], &x[(j % 3) * 3], 3));
		for (std::size_t d = 0; d < 3; d++)
			EXPECT_NEAR(c[j * 3 + d], x[(j % 3) * 3 + d] / norm, 1e-6);
	}
}

/* More clusters than distinct points: some stay empty whatever is split;
 * they must not become NaN (0 / 0) nor anything but a data point. */
TEST(KMeans, DuplicatePointsLeaveNoNaN)
{
	for (std::size_t dims : {3, 50})
	{
		SCOPED_TRACE(dims);
		std::vector<float> distinct = uniform_points(4, dims, 8), x;
		for (std::size_t i = 0; i < 400; i++)
			x.insert(x.end(), &distinct[(i * 7 % 4) * dims], &distinct[(i * 7 % 4) * dims] + dims);
		for (bool spherical : {false, true})
		{
			KMeansParams params;
			params.spherical = spherical;
			std::vector<float> c = train_kmeans(x.data(), 400, dims, 10, params);
			std::vector<bool> covered(4, false);
			for (std::size_t j = 0; j < 10; j++)
			{
				bool matches = false;
				for (std::size_t t = 0; t < 4; t++)
				{
					std::vector<float> target(&distinct[t * dims], &distinct[t * dims] + dims);
					if (spherical)
					{
						double norm = std::sqrt(dot(target.data(), target.data(), dims));
						for (float &v : target)
							v = float(v / norm);
					}
					if (squared_distance(&c[j * dims], target.data(), dims) < 1e-10)
						matches = covered[t] = true;
				}
				EXPECT_TRUE(matches) << "centroid " << j << " is no data point";
			}
			for (std::size_t t = 0; t < 4; t++)
				EXPECT_TRUE(covered[t]) << "point " << t << " has no centroid";
		}
	}
}

/* Half the points coincide: empty clusters must be re-seeded from the rest
 * (splitting the largest), so that every centroid ends up serving points. */
TEST(KMeans, EveryClusterServesPoints)
{
	const std::size_t dims = 8, k = 16;
	std::vector<float> x = uniform_points(1000, dims, 12);
	for (std::size_t i = 0; i < 1000; i += 2)
		std::fill(&x[i * dims], &x[i * dims] + dims, 0.5f);
	for (std::size_t iterations : {1, 2, 10})
	{
		KMeansParams params;
		params.iterations = int(iterations);
		std::vector<float> c = train_kmeans(x.data(), 1000, dims, k, params);
		std::vector<std::uint32_t> index(1000);
		CentroidAssigner(c.data(), k, dims, false).assign(x.data(), 1000, index.data());
		std::vector<std::size_t> count(k, 0);
		for (std::uint32_t j : index)
			count[j]++;
		for (std::size_t j = 0; j < k; j++)
		{
			EXPECT_TRUE(std::isfinite(c[j * dims]));
			EXPECT_GT(count[j], 0u) << "centroid " << j << " after " << iterations;
		}
	}
}

/* Spherical, with most points exactly along one direction at lengths far
 * apart: k-means++ (which seeds by L2) picks several of them, and their
 * centroids coincide, so all but one go empty. They must be re-seeded by
 * splitting the cluster whose directions do spread. */
TEST(KMeans, EmptyClustersAreSplitOff)
{
	const std::size_t dims = 2, k = 3;
	std::vector<float> x;
	for (int i = 0; i < 300; i++)
		x.insert(x.end(), {2.0f + float(i) / 3.0f, 0.0f});
	for (int i = 0; i < 100; i++)
	{
		double angle = M_PI / 2 + (i - 50) * 0.004;
		x.insert(x.end(), {float(std::cos(angle)), float(std::sin(angle))});
	}
	const std::size_t n = x.size() / dims;
	for (std::uint64_t seed : {1, 2, 3})
	{
		SCOPED_TRACE(seed);
		KMeansParams params;
		params.spherical = true;
		params.seed = seed;
		std::vector<float> c = train_kmeans(x.data(), n, dims, k, params);
		std::vector<std::uint32_t> index(n);
		CentroidAssigner(c.data(), k, dims, true).assign(x.data(), n, index.data());
		std::vector<std::size_t> count(k, 0);
		for (std::uint32_t j : index)
			count[j]++;
		for (std::size_t j = 0; j < k; j++)
		{
			EXPECT_NEAR(dot(&c[j * dims], &c[j * dims], dims), 1.0, 1e-5);
			EXPECT_GT(count[j], 0u) << "centroid " << j << " serves no point";
		}
	}
}

TEST(KMeans, InvalidArgumentsThrow)
{
	const float x[4] = {1, 2, 3, 4};
	EXPECT_THROW(train_kmeans(x, 0, 2, 1, KMeansParams{}), std::invalid_argument);
	EXPECT_THROW(train_kmeans(x, 2, 0, 1, KMeansParams{}), std::invalid_argument);
	EXPECT_THROW(train_kmeans(x, 2, 2, 0, KMeansParams{}), std::invalid_argument);
	EXPECT_THROW(CentroidAssigner(x, 0, 2, false), std::invalid_argument);
	EXPECT_THROW(CentroidAssigner(x, 2, 0, false), std::invalid_argument);
}

int polls = 0;
int polls_before_cancel = 0;

bool
cancel_after_some_polls()
{
	return ++polls > polls_before_cancel;
}

TEST(KMeans, InterruptedThrows)
{
	const std::size_t n = 4000;
	for (std::size_t dims : {4, 64})
	{
		SCOPED_TRACE(dims);
		std::vector<float> x = uniform_points(n, dims, 2);
		KMeansParams params;
		params.interrupted = cancel_after_some_polls;

		/* Never cancelled: it still polls, at least once per seeding round. */
		polls = 0;
		polls_before_cancel = std::numeric_limits<int>::max();
		EXPECT_NO_THROW(train_kmeans(x.data(), n, dims, 50, params));
		EXPECT_GE(polls, 50);
		const int total = polls;

		/* Cancelled in seeding, and late in the Lloyd iterations. */
		for (int after : {0, 10, total - 2})
		{
			polls = 0;
			polls_before_cancel = after;
			EXPECT_THROW(train_kmeans(x.data(), n, dims, 50, params), Interrupted);
			EXPECT_EQ(polls, after + 1);
		}
	}
	EXPECT_NE(std::string(Interrupted().what()), "");
}

/* ---- CentroidAssigner and its kernels ---- */

TEST(CentroidAssigner, MatchesBruteForce)
{
	for (std::size_t dims : {1, 3, 17, 100})
		for (std::size_t k : {1, 5, 16, 33, 70})
			for (bool spherical : {false, true})
			{
				SCOPED_TRACE(::testing::Message()
							 << "dims=" << dims << " k=" << k << " spherical=" << spherical);
				std::vector<float> c = uniform_points(k, dims, unsigned(dims * 100 + k));
				std::vector<float> x = uniform_points(103, dims, unsigned(k));
				CentroidAssigner a(c.data(), k, dims, spherical);
				EXPECT_EQ(a.k(), k);
				EXPECT_EQ(a.dims(), dims);
				std::vector<std::uint32_t> index(103);
				std::vector<float> distance(103);
				a.assign(x.data(), 103, index.data(), distance.data());
				for (std::size_t i = 0; i < 103; i++)
				{
					ASSERT_LT(index[i], k);
					/* The chosen one is the best up to float rounding. */
					double best = std::numeric_limits<double>::infinity(), got, scale;
					for (std::size_t j = 0; j < k; j++)
					{
						double v = spherical ? -dot(&x[i * dims], &c[j * dims], dims)
											 : squared_distance(&x[i * dims], &c[j * dims], dims);
						best = std::min(best, v);
					}
					const float *mine = &c[index[i] * dims];
					got = spherical ? -dot(&x[i * dims], mine, dims)
									: squared_distance(&x[i * dims], mine, dims);
					scale = 1e-5 * (dot(&x[i * dims], &x[i * dims], dims) + dims);
					EXPECT_LE(got, best + scale) << "point " << i;
					EXPECT_NEAR(distance[i], got, scale) << "point " << i;
				}
			}
}

class ColumnKernels : public ::testing::TestWithParam<Isa>
{
protected:
	void SetUp() override
	{
		k_ = kernels_for(GetParam());
		if (!k_)
			GTEST_SKIP() << isa_name(GetParam()) << " not available here";
	}
	const DistanceKernels *k_ = nullptr;
};

/* nearest_dot_cols on small integers: exact arithmetic in every ISA, so the
 * exact answer, including the lowest column of exact ties. */
TEST_P(ColumnKernels, NearestDotColsIsExactOnIntegers)
{
	std::mt19937 rng(5);
	std::uniform_int_distribution<int> small(-3, 3);
	for (std::size_t dims : {1, 2, 5, 16, 40})
		for (std::size_t k : {1, 7, 16, 64, 100, 256})
			for (bool ip : {false, true})
			{
				SCOPED_TRACE(::testing::Message() << "dims=" << dims << " k=" << k << " ip=" << ip);
				const std::size_t ld = cols_ld(k), n = 11;
				AlignedFloats cols(dims * ld, 0.0f),
					half(ld, std::numeric_limits<float>::infinity());
				std::vector<float> c(k * dims), x(n * dims + 3);
				for (float &v : c)
					v = float(small(rng));
				for (float &v : x)
					v = float(small(rng));
				for (std::size_t j = 0; j < k; j++)
				{
					double norm = 0;
					for (std::size_t d = 0; d < dims; d++)
					{
						cols[d * ld + j] = c[j * dims + d];
						norm += c[j * dims + d] * c[j * dims + d];
					}
					half[j] = ip ? 0.0f : float(norm / 2);
				}
				/* Rows 3 floats apart from an odd start: any stride works. */
				const std::size_t stride = dims + 3;
				std::vector<float> rows(n * stride + 1);
				for (std::size_t i = 0; i < n; i++)
					std::copy_n(&x[i * dims], dims, &rows[1 + i * stride]);
				std::vector<std::uint32_t> index(n, 12345);
				std::vector<float> value(n);
				k_->nearest_dot_cols(rows.data() + 1, n, stride, cols.data(), half.data(), dims, ld,
									 index.data(), value.data());
				for (std::size_t i = 0; i < n; i++)
				{
					double best = std::numeric_limits<double>::infinity();
					std::uint32_t where = 0;
					for (std::size_t j = 0; j < k; j++)
					{
						double v = half[j] - dot(&x[i * dims], &c[j * dims], dims);
						if (v < best)
						{
							best = v;
							where = std::uint32_t(j);
						}
					}
					EXPECT_EQ(index[i], where) << "point " << i;
					EXPECT_EQ(value[i], best) << "point " << i;
				}
			}
}

/* min_l2_cols: the running minima and the block sums k-means++ samples by. */
TEST_P(ColumnKernels, MinL2ColsUpdatesMinimaAndBlockSums)
{
	std::mt19937 rng(6);
	std::uniform_real_distribution<float> u(-1.0f, 1.0f);
	for (std::size_t dims : {1, 4, 7})
		for (std::size_t n : {1, 15, 64, 65, 200, 1000})
		{
			SCOPED_TRACE(::testing::Message() << "dims=" << dims << " n=" << n);
			const std::size_t ld = cols_ld(n), blocks = (n + min_l2_block - 1) / min_l2_block;
			AlignedFloats cols(dims * ld);
			for (float &v : cols)
				v = u(rng);
			std::vector<float> mind(n), x(dims), sums(blocks, -1.0f), expect(n);
			for (std::size_t i = 0; i < n; i++)
				mind[i] = i % 3 == 0 ? std::numeric_limits<float>::infinity() : u(rng) + 1.0f;
			for (float &v : x)
				v = u(rng);
			for (std::size_t i = 0; i < n; i++)
			{
				double d = 0;
				for (std::size_t j = 0; j < dims; j++)
					d += (double(x[j]) - cols[j * ld + i]) * (double(x[j]) - cols[j * ld + i]);
				expect[i] = std::min(mind[i], float(d));
			}
			k_->min_l2_cols(x.data(), cols.data(), dims, n, ld, mind.data(), sums.data());
			for (std::size_t i = 0; i < n; i++)
				EXPECT_NEAR(mind[i], expect[i], 1e-5f) << i;
			for (std::size_t b = 0; b < blocks; b++)
			{
				double s = 0;
				for (std::size_t i = b * min_l2_block; i < std::min(n, (b + 1) * min_l2_block); i++)
					s += mind[i];
				EXPECT_NEAR(sums[b], s, 1e-4 * (1 + s)) << "block " << b;
			}
		}
}

std::string
isa_param_name(const ::testing::TestParamInfo<Isa> &info)
{
	return isa_name(info.param);
}

INSTANTIATE_TEST_SUITE_P(AllIsas, ColumnKernels, ::testing::ValuesIn(all_isas), isa_param_name);

} // namespace
