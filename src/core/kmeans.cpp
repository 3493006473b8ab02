/*
 * kmeans.cpp: k-means++ seeding and Lloyd iterations.
 *
 * The O(n k dims) work, distances between points and centroids, runs in the
 * dispatched SIMD kernels of distance.h: with a few dims (PQ's sub-spaces)
 * the exact column kernels, 16 centroids a register; otherwise the blocked
 * nearest_dot_cols. The O(n dims) bookkeeping (sums, means, normalisation,
 * splits) uses Eigen maps over the same row-major arrays. This file is
 * compiled with the baseline flags, so Eigen only gets SSE2 here, and it
 * must stay so: Eigen's templates have external linkage, and an instance
 * compiled in a per-ISA unit could be the copy the linker keeps for every
 * caller (see distance_simd.h). SSE2 is plenty for work k times smaller
 * than the assignment's.
 */
#include "core/kmeans.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>
#include <stdexcept>

#include <Eigen/Core>

#include "core/distance.h"

namespace vecdb::core {

const char *
Interrupted::what() const noexcept
{
	return "vecdb: computation interrupted";
}

namespace {

using RowMatrix = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using RowMatrixD = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using ConstRows = Eigen::Map<const RowMatrix>;
using Rows = Eigen::Map<RowMatrix>;
/* dims x k columns in ld-float rows: the layout of distance.h's column kernels */
using Cols = Eigen::Map<RowMatrix, Eigen::Unaligned, Eigen::OuterStride<>>;

constexpr float inf = std::numeric_limits<float>::infinity();
constexpr std::size_t none = ~std::size_t{0};

/* The kernels track columns in float lanes somewhere (distance.h). */
constexpr std::size_t max_clusters = std::size_t{1} << 24;

/*
 * Up to this many dims (PQ's sub-spaces), L2 k-means assigns with
 * nearest_l2_cols, the kernel PQ encodes with, and seeds with min_l2_cols
 * over the points as columns; beyond, it assigns with the blocked
 * nearest_dot_cols and seeds with l2_squared point by point.
 */
constexpr std::size_t column_max_dims = 16;

/* Multiply-adds between two interrupt polls: about a millisecond of SIMD
 * work, a few with the scalar kernels. */
constexpr std::size_t poll_work = std::size_t{1} << 22;

/* Items per poll when each costs `cost` multiply-adds, a multiple of `unit`. */
std::size_t
poll_chunk(std::size_t cost, std::size_t unit)
{
	std::size_t items = poll_work / std::max<std::size_t>(cost, 1);
	return std::max(unit, items / unit * unit);
}

/* Our own mappings of the generator's output: the std distributions may
 * differ between standard library versions. */
double
uniform01(std::mt19937_64 &rng)
{
	return static_cast<double>(rng() >> 11) * 0x1.0p-53;
}

std::size_t
uniform_index(std::mt19937_64 &rng, std::size_t n)
{
	return static_cast<std::size_t>((static_cast<unsigned __int128>(rng()) * n) >> 64);
}

/* Scales a row to unit length; a zero (or non-finite) row is left alone. */
template <class Row>
void
normalize_row(Row &&row)
{
	const float norm = row.norm();
	if (norm > 0.0f && std::isfinite(norm))
		row /= norm;
}

class KMeans
{
public:
	KMeans(const float *points, std::size_t n, std::size_t dims, std::size_t k,
		   const KMeansParams &params)
		: x_(points, n, dims), n_(n), dims_(dims), k_(k), params_(params),
		  columns_(!params.spherical && dims <= column_max_dims), centroids_(k * dims),
		  assignment_(n, ~std::uint32_t{0}), distance_(n)
	{
	}

	std::vector<float> run()
	{
		seed();
		bool split = false;
		for (int it = 0; it < params_.iterations; it++)
		{
			/* Same clusters as last time and no split since: the means are
			 * the centroids already. */
			if (!assign() && it > 0 && !split)
				break;
			split = update();
		}
		return std::move(centroids_);
	}

private:
	void poll() const
	{
		if (params_.interrupted && params_.interrupted())
			throw Interrupted();
	}

	Rows centroids() { return Rows(centroids_.data(), k_, dims_); }

	void seed();
	void lower_min_distances(std::size_t j);
	std::size_t sample(std::mt19937_64 &rng) const;
	bool assign();
	bool update();
	bool split_one(std::size_t empty);

	ConstRows x_;
	std::size_t n_, dims_, k_;
	const KMeansParams &params_;
	bool columns_; /* L2 with few dims: the exact column kernels */
	std::vector<float> centroids_;
	std::vector<std::uint32_t> assignment_;
	bool assigned_ = false;       /* assignment_ holds a first assignment */
	std::vector<float> distance_; /* from each point to its centroid, for splits */

	/* seeding */
	std::vector<float> min_distance_, block_sums_;
	AlignedFloats point_cols_;         /* columns_: dims x cols_ld(n) */
	std::vector<std::uint32_t> owner_; /* otherwise: each point's nearest centre so far */
	std::vector<float> gap_;           /* and the centres' distances to the newest */

	/* update */
	RowMatrixD sums_;
	std::vector<std::size_t> counts_, farthest_;
};

/* k-means++: each centre a point drawn with probability proportional to its
 * squared distance to the nearest centre so far (in L2, spherical or not). */
void
KMeans::seed()
{
	std::mt19937_64 rng(params_.seed);
	const std::size_t blocks = (n_ + min_l2_block - 1) / min_l2_block;
	min_distance_.assign(n_, inf);
	block_sums_.assign(blocks, 0.0f);
	if (columns_)
	{
		const std::size_t ld = cols_ld(n_);
		point_cols_.assign(dims_ * ld, 0.0f);
		Cols(point_cols_.data(), dims_, n_, Eigen::OuterStride<>(ld)) = x_.transpose();
	}

	Rows c = centroids();
	c.row(0) = x_.row(uniform_index(rng, n_));
	for (std::size_t j = 1; j < k_; j++)
	{
		lower_min_distances(j - 1);
		c.row(j) = x_.row(sample(rng));
	}
	if (params_.spherical)
		for (std::size_t j = 0; j < k_; j++)
			normalize_row(c.row(j));

	point_cols_ = AlignedFloats();
	min_distance_ = std::vector<float>();
	block_sums_ = std::vector<float>();
	owner_ = std::vector<std::uint32_t>();
	gap_ = std::vector<float>();
}

/*
 * min_distance_ and block_sums_ after adding centre j. Seeding reads every
 * point once a centre: for large dims that streams the whole sample from
 * memory k times, so points that the triangle inequality shows cannot be
 * nearer the new centre than their own are skipped (Elkan's bound: on
 * Fashion-MNIST, k = 245, it skips half the reads and a third of the time).
 */
void
KMeans::lower_min_distances(std::size_t j)
{
	const DistanceKernels &kern = kernels();
	const float *centroid = centroids_.data() + j * dims_;
	const std::size_t chunk = poll_chunk(dims_, min_l2_block);
	if (!columns_)
	{
		/* gap[a] = |centre a - centre j|^2 */
		gap_.resize(j);
		for (std::size_t a = 0; a < j; a++)
			gap_[a] = kern.l2_squared(centroids_.data() + a * dims_, centroid, dims_);
		if (j == 0)
			owner_.assign(n_, 0);
	}
	const float *gap = gap_.data();
	for (std::size_t start = 0; start < n_; start += chunk)
	{
		poll();
		const std::size_t end = std::min(n_, start + chunk);
		float *mind = min_distance_.data();
		float *sums = block_sums_.data() + start / min_l2_block;
		if (columns_)
		{
			kern.min_l2_cols(centroid, point_cols_.data() + start, dims_, end - start, cols_ld(n_),
							 mind + start, sums);
			continue;
		}
		for (std::size_t b = start; b < end; b += min_l2_block)
		{
			float sum = 0.0f;
			for (std::size_t i = b; i < std::min(end, b + min_l2_block); i++)
			{
				/* |x - new| >= |owner - new| - |x - owner| >= |x - owner|:
				 * the point cannot come closer, and need not be read. */
				if (j == 0 || gap[owner_[i]] < 4.0f * mind[i])
				{
					float d = kern.l2_squared(x_.row(i).data(), centroid, dims_);
					if (d < mind[i])
					{
						mind[i] = d;
						owner_[i] = static_cast<std::uint32_t>(j);
					}
				}
				sum += mind[i];
			}
			*sums++ = sum;
		}
	}
}

/* A point drawn with probability min_distance_[i] / total: the block sums
 * find the block, a walk through it the point. */
std::size_t
KMeans::sample(std::mt19937_64 &rng) const
{
	const std::size_t blocks = block_sums_.size();
	double total = 0.0;
	for (float s : block_sums_)
		total += s;
	const double target = uniform01(rng) * total;
	/* Every point a centre already (duplicates), or distances overflowed. */
	if (!(total > 0.0) || !std::isfinite(total))
		return uniform_index(rng, n_);

	double acc = 0.0;
	std::size_t b = 0;
	while (b + 1 < blocks && acc + block_sums_[b] <= target)
		acc += block_sums_[b++];
	std::size_t last = none;
	for (std::size_t i = b * min_l2_block; i < std::min(n_, (b + 1) * min_l2_block); i++)
		if (min_distance_[i] > 0.0f)
		{
			last = i;
			acc += min_distance_[i];
			if (acc > target)
				return i;
		}
	/* Rounding (the block sums are float) overshot the block. */
	if (last != none)
		return last;
	for (std::size_t i = n_; i-- > 0;)
		if (min_distance_[i] > 0.0f)
			return i;
	return uniform_index(rng, n_);
}

/* Each point to its nearest centroid; whether any point changed cluster. */
bool
KMeans::assign()
{
	const DistanceKernels &kern = kernels();
	bool changed = false;
	auto note = [&](std::size_t i, std::uint32_t j) {
		if (assignment_[i] != j)
		{
			assignment_[i] = j;
			changed = true;
		}
	};

	if (columns_)
	{
		const std::size_t ld = cols_ld(k_);
		AlignedFloats cols(dims_ * ld, 0.0f), half_norm(k_);
		Cols(cols.data(), dims_, k_, Eigen::OuterStride<>(ld)) = centroids().transpose();
		for (std::size_t j = 0; j < k_; j++)
			half_norm[j] = 0.5f * centroids().row(j).squaredNorm();

		/*
		 * Once points have centroids, a point nearer its centroid than half
		 * the way to the next centroid keeps it (triangle inequality), which
		 * costs dims operations to check against k dims for the kernel. In
		 * PQ's sub-spaces three points in four pass after the first
		 * iteration; with many dims almost none do, so only here.
		 * reach[a] is that half way, squared, and a hair short.
		 */
		const bool again = assigned_;
		const std::size_t chunk = poll_chunk(k_ * dims_, 1);
		std::vector<float> reach(again ? k_ : 0);
		for (std::size_t a = 0; a < reach.size(); a++)
		{
			if (a % chunk == 0)
				poll();
			float other;
			const float own = half_norm[a];
			half_norm[a] = inf; /* rank itself last */
			kern.nearest_l2_cols(&centroids_[a * dims_], cols.data(), half_norm.data(), dims_, k_,
								 ld, &other);
			half_norm[a] = own;
			reach[a] = 0.25f * (1.0f - 1e-5f) * other;
		}

		for (std::size_t start = 0; start < n_; start += chunk)
		{
			poll();
			for (std::size_t i = start; i < std::min(n_, start + chunk); i++)
			{
				const float *x = x_.row(i).data();
				if (again)
				{
					const std::uint32_t a = assignment_[i];
					const float *c = &centroids_[a * dims_];
					float d = 0.0f;
					for (std::size_t t = 0; t < dims_; t++)
						d += (x[t] - c[t]) * (x[t] - c[t]);
					if (d < reach[a])
					{
						distance_[i] = d;
						continue;
					}
				}
				note(i, kern.nearest_l2_cols(x, cols.data(), half_norm.data(), dims_, k_, ld,
											 &distance_[i]));
			}
		}
		assigned_ = true;
		return changed;
	}

	const CentroidAssigner assigner(centroids_.data(), k_, dims_, params_.spherical);
	const std::size_t chunk = poll_chunk(k_ * dims_, 4);
	std::vector<std::uint32_t> index(std::min(chunk, n_));
	for (std::size_t start = 0; start < n_; start += chunk)
	{
		poll();
		const std::size_t count = std::min(chunk, n_ - start);
		assigner.assign(x_.row(start).data(), count, index.data(), distance_.data() + start);
		for (std::size_t i = 0; i < count; i++)
			note(start + i, index[i]);
	}
	return changed;
}

/* Centroids to the means of their clusters; whether an empty one was split off. */
bool
KMeans::update()
{
	sums_.setZero(k_, dims_);
	counts_.assign(k_, 0);
	farthest_.assign(k_, none);
	const std::size_t chunk = poll_chunk(dims_, 1);
	for (std::size_t start = 0; start < n_; start += chunk)
	{
		poll();
		for (std::size_t i = start; i < std::min(n_, start + chunk); i++)
		{
			const std::size_t j = assignment_[i];
			sums_.row(j) += x_.row(i).cast<double>();
			counts_[j]++;
			if (farthest_[j] == none || distance_[i] > distance_[farthest_[j]])
				farthest_[j] = i;
		}
	}

	Rows c = centroids();
	for (std::size_t j = 0; j < k_; j++)
	{
		if (counts_[j] == 0)
			continue;
		c.row(j) = (sums_.row(j) / static_cast<double>(counts_[j])).cast<float>();
		if (params_.spherical)
			normalize_row(c.row(j));
	}

	bool split = false;
	for (std::size_t j = 0; j < k_; j++)
		if (counts_[j] == 0)
			split |= split_one(j);
	return split;
}

/*
 * Re-seeds the empty cluster `empty` by splitting the largest cluster that
 * has a member off its centroid: the two centroids move a little apart along
 * the line to that member (the farthest), so the next assignment cuts the
 * cluster in two through its old centroid. Whether a cluster was split; a
 * cluster of identical points cannot be.
 */
bool
KMeans::split_one(std::size_t empty)
{
	constexpr float step = 0.25f;
	Rows c = centroids();
	for (;;)
	{
		std::size_t largest = none;
		for (std::size_t j = 0; j < k_; j++)
			if (counts_[j] >= 2 && farthest_[j] != none &&
				(largest == none || counts_[j] > counts_[largest]))
				largest = j;
		if (largest == none)
			return false;

		Eigen::RowVectorXf towards = x_.row(farthest_[largest]);
		farthest_[largest] = none; /* a second split of it would repeat this one */
		if (params_.spherical)
			normalize_row(towards);
		towards -= c.row(largest);
		if (!(towards.squaredNorm() > 0.0f))
			continue;

		c.row(empty) = c.row(largest) + step * towards;
		c.row(largest) -= step * towards;
		if (params_.spherical)
		{
			normalize_row(c.row(empty));
			normalize_row(c.row(largest));
		}
		counts_[empty] = counts_[largest] / 2;
		counts_[largest] -= counts_[empty];
		return true;
	}
}

} // namespace

std::vector<float>
train_kmeans(const float *points, std::size_t n, std::size_t dims, std::size_t k,
			 const KMeansParams &params)
{
	if (n == 0 || k == 0 || dims == 0)
		throw std::invalid_argument("k-means needs at least one point, cluster and dimension");
	if (k > max_clusters)
		throw std::invalid_argument("k-means: too many clusters");

	if (n <= k)
	{
		std::vector<float> centroids(k * dims);
		Rows c(centroids.data(), k, dims);
		ConstRows x(points, n, dims);
		for (std::size_t j = 0; j < k; j++)
		{
			c.row(j) = x.row(j % n);
			if (params.spherical)
				normalize_row(c.row(j));
		}
		return centroids;
	}
	return KMeans(points, n, dims, k, params).run();
}

CentroidAssigner::CentroidAssigner(const float *centroids, std::size_t k, std::size_t dims,
								   bool spherical)
	: k_(k), dims_(dims), ld_(cols_ld(k)), spherical_(spherical), cols_(dims * ld_, 0.0f),
	  half_norm_(ld_, inf)
{
	if (k == 0 || dims == 0)
		throw std::invalid_argument("no centroids to assign to");
	if (k > max_clusters)
		throw std::invalid_argument("too many centroids");
	ConstRows c(centroids, k, dims);
	Cols(cols_.data(), dims, k, Eigen::OuterStride<>(ld_)) = c.transpose();
	for (std::size_t j = 0; j < k; j++)
		half_norm_[j] = spherical ? 0.0f : 0.5f * c.row(j).squaredNorm();
}

void
CentroidAssigner::assign(const float *points, std::size_t n, std::uint32_t *index,
						 float *distance) const noexcept
{
	const DistanceKernels &kern = kernels();
	constexpr std::size_t batch = 64;
	float value[batch];
	for (std::size_t start = 0; start < n; start += batch)
	{
		const std::size_t count = std::min(batch, n - start);
		const float *x = points + start * dims_;
		kern.nearest_dot_cols(x, count, dims_, cols_.data(), half_norm_.data(), dims_, ld_,
							  index + start, value);
		if (!distance)
			continue;
		for (std::size_t i = 0; i < count; i++)
		{
			if (spherical_)
				distance[start + i] = value[i];
			else
				distance[start + i] =
					std::max(0.0f, kern.squared_norm(x + i * dims_, dims_) + 2.0f * value[i]);
		}
	}
}

} // namespace vecdb::core
