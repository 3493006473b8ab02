/*
 * kmeans.h: k-means clustering, for the ivfpq index's coarse centroids and
 * its product quantizer's codebooks.
 *
 * Knows nothing of PostgreSQL. Long computations poll a caller-provided
 * interrupt check and unwind with Interrupted, which the PostgreSQL side
 * turns into a query cancel; nothing here may ereport.
 */
#pragma once

#include <cstddef>
#include <cstdint>
#include <exception>
#include <vector>

#include "core/aligned.h"

namespace vecdb::core {

/* Thrown when KMeansParams::interrupted returns true; the PostgreSQL side
 * turns it into a cancel. */
struct Interrupted : std::exception
{
	const char *what() const noexcept override;
};

using InterruptCheck = bool (*)();

struct KMeansParams
{
	int iterations = 10;
	std::uint64_t seed = 1;
	/* unit-length centroids, points assigned by largest inner product */
	bool spherical = false;
	/* polled often (at least every ~10 ms of work); may be null */
	InterruptCheck interrupted = nullptr;
};

/*
 * k centroids (k x dims, row-major) of n points (n x dims, row-major):
 * k-means++ seeding, then Lloyd iterations (fewer once no point changes
 * cluster). Deterministic for the same input and seed on the same machine:
 * the random draws come from std::mt19937_64 through our own mapping, and no
 * result depends on thread timing or addresses; the instruction set may
 * change float roundings, hence ties. n <= k: the points themselves,
 * repeated cyclically to fill k rows. Empty clusters are re-seeded by
 * splitting the largest one. Spherical: centroids are normalised (a zero
 * point stays zero). Throws std::invalid_argument when n == 0, k == 0 or
 * dims == 0 or k > 2^24, Interrupted when params.interrupted says so,
 * std::bad_alloc.
 */
std::vector<float> train_kmeans(const float *points, std::size_t n, std::size_t dims, std::size_t k,
								const KMeansParams &params);

/*
 * Centroids prepared for assigning many points, by the rule train_kmeans
 * assigns by: the nearest in L2, or with spherical the largest inner
 * product. Stored as columns (distance.h), so that assign() runs the
 * blocked nearest_dot_cols kernel: |x - c|^2 = |x|^2 + 2 (|c|^2 / 2 - <x, c>),
 * of which only the bracket depends on c.
 */
class CentroidAssigner
{
public:
	/* Throws std::invalid_argument when k == 0, dims == 0 or k > 2^24. */
	CentroidAssigner(const float *centroids, std::size_t k, std::size_t dims, bool spherical);

	std::size_t k() const { return k_; }
	std::size_t dims() const { return dims_; }

	/*
	 * For each of n points (n x dims, row-major), the index of its centroid
	 * (the lowest on ties) into index[i] and, when distance is not null, the
	 * ranking distance to it into distance[i]: |x - c|^2 (computed as
	 * above, so with cancellation error for far-off points; never below 0),
	 * or -<x, c> with spherical. Cannot be interrupted: callers that assign
	 * many points pass them in chunks and poll in between.
	 */
	void assign(const float *points, std::size_t n, std::uint32_t *index,
				float *distance = nullptr) const noexcept;

private:
	std::size_t k_, dims_, ld_;
	bool spherical_;
	AlignedFloats cols_;      /* dims x ld_ */
	AlignedFloats half_norm_; /* ld_: |c|^2 / 2, or 0 (spherical); +inf for padding */
};

} // namespace vecdb::core
