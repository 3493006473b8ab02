/*
 * quantizer.cpp: timings of k-means and product quantization (make bench-quantizer).
 *
 * The steps of an ivfpq build on Fashion-MNIST (60,000 x 784, read from
 * Debian's dataset-fashion-mnist, or $VECDB_FASHION_MNIST_DIR; a seeded
 * Gaussian mixture of the same shape where it is missing): coarse k-means
 * (k = 245 on a 10,000 sample), assigning every vector to a list, PQ
 * training (m = 196 on the sample), encoding every vector, then the ADC scan
 * kernels of every instruction set. Each step runs three times; the best
 * time is printed. Single-threaded, as a backend is.
 */
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include <zlib.h>

#include "core/distance.h"
#include "core/kmeans.h"
#include "core/pq.h"

using namespace vecdb::core;

namespace {

constexpr std::size_t dims = 784, base_n = 60000, sample_n = 10000, lists = 245, pq_m = 196;

/* An IDX file of unsigned bytes (n images of 28 x 28) as floats, or empty. */
std::vector<float>
read_idx_images(const std::string &path)
{
	gzFile f = gzopen(path.c_str(), "rb");
	if (!f)
		return {};
	unsigned char header[16];
	std::vector<float> out;
	if (gzread(f, header, 16) == 16 && header[2] == 0x08 && header[3] == 3)
	{
		std::size_t n =
			(std::size_t(header[4]) << 24) | (header[5] << 16) | (header[6] << 8) | header[7];
		std::vector<unsigned char> bytes(n * dims);
		if (gzread(f, bytes.data(), static_cast<unsigned>(bytes.size())) == int(bytes.size()))
			out.assign(bytes.begin(), bytes.end());
	}
	gzclose(f);
	return out;
}

/* 60,000 points around 100 centres, pixel-like values. */
std::vector<float>
gaussian_mixture()
{
	std::mt19937_64 rng(7);
	std::normal_distribution<float> noise(0.0f, 40.0f);
	std::uniform_real_distribution<float> centre(0.0f, 255.0f);
	std::vector<float> centres(100 * dims), x(base_n * dims);
	for (float &c : centres)
		c = centre(rng);
	for (std::size_t i = 0; i < base_n; i++)
		for (std::size_t d = 0; d < dims; d++)
			x[i * dims + d] = centres[(i % 100) * dims + d] + noise(rng);
	return x;
}

template <class F>
double
best_of_3(F f)
{
	double best = 1e30;
	for (int r = 0; r < 3; r++)
	{
		auto t0 = std::chrono::steady_clock::now();
		f();
		std::chrono::duration<double> s = std::chrono::steady_clock::now() - t0;
		best = std::min(best, s.count());
	}
	return best;
}

} // namespace

int
main()
{
	const char *dir = std::getenv("VECDB_FASHION_MNIST_DIR");
	std::string path = std::string(dir ? dir : "/usr/share/datasets/fashion-mnist") +
					   "/train-images-idx3-ubyte.gz";
	std::vector<float> base = read_idx_images(path);
	const char *source = "fashion-mnist";
	if (base.size() != base_n * dims)
	{
		base = gaussian_mixture();
		source = "gaussian mixture";
	}
	std::printf("data: %s, %zu x %zu; kernels: %s\n", source, base_n, dims,
				isa_name(kernels().isa));

	/* Every sixth vector: a sample spread over the table. */
	std::vector<float> sample(sample_n * dims);
	for (std::size_t i = 0; i < sample_n; i++)
		std::copy_n(&base[i * 6 * dims], dims, &sample[i * dims]);

	KMeansParams params;
	params.iterations = 10;
	std::vector<float> centroids;
	double t =
		best_of_3([&] { centroids = train_kmeans(sample.data(), sample_n, dims, lists, params); });
	std::printf("train_kmeans %zu x %zu, k = %zu, 10 iterations: %.3f s\n", sample_n, dims, lists,
				t);

	std::vector<std::uint32_t> list(base_n);
	const CentroidAssigner assigner(centroids.data(), lists, dims, false);
	t = best_of_3([&] { assigner.assign(base.data(), base_n, list.data()); });
	std::printf("assign %zu vectors to %zu lists (blocked nearest_dot_cols): %.3f s\n", base_n,
				lists, t);
	std::vector<std::uint32_t> pairwise(base_n);
	t = best_of_3([&] {
		for (std::size_t i = 0; i < base_n; i++)
		{
			float best = INFINITY;
			for (std::size_t j = 0; j < lists; j++)
			{
				float d = l2_squared_distance(&base[i * dims], &centroids[j * dims], dims);
				if (d < best)
				{
					best = d;
					pairwise[i] = static_cast<std::uint32_t>(j);
				}
			}
		}
	});
	std::size_t differ = 0;
	for (std::size_t i = 0; i < base_n; i++)
		differ += list[i] != pairwise[i];
	std::printf("  the same with pairwise l2_squared: %.3f s (%zu of %zu assignments differ)\n", t,
				differ, base_n);

	/* PQ of the residuals, as ivfpq stores them, and of the raw vectors. */
	std::vector<float> residuals(base_n * dims), sample_residuals(sample_n * dims);
	for (std::size_t i = 0; i < base_n; i++)
		for (std::size_t d = 0; d < dims; d++)
			residuals[i * dims + d] = base[i * dims + d] - centroids[list[i] * dims + d];
	for (std::size_t i = 0; i < sample_n; i++)
		std::copy_n(&residuals[i * 6 * dims], dims, &sample_residuals[i * dims]);

	ProductQuantizer pq(dims, pq_m);
	t = best_of_3([&] { pq.train(sample.data(), sample_n, params); });
	std::printf("ProductQuantizer(%zu, %zu).train, %zu vectors, 10 iterations: %.3f s\n", dims,
				pq_m, sample_n, t);
	t = best_of_3([&] { pq.train(sample_residuals.data(), sample_n, params); });
	std::printf("  the same on residuals: %.3f s\n", t);

	std::vector<std::uint8_t> codes(base_n * pq_m);
	t = best_of_3([&] { pq.encode_many(residuals.data(), base_n, codes.data()); });
	std::printf("encode_many %zu x %zu: %.3f s\n", base_n, dims, t);

	double err = 0, var = 0;
	std::vector<float> mean(dims, 0.0f), back(dims);
	for (std::size_t i = 0; i < base_n; i++)
		for (std::size_t d = 0; d < dims; d++)
			mean[d] += residuals[i * dims + d] / base_n;
	for (std::size_t i = 0; i < base_n; i++)
	{
		pq.decode(&codes[i * pq_m], back.data());
		for (std::size_t d = 0; d < dims; d++)
		{
			double e = back[d] - residuals[i * dims + d], v = residuals[i * dims + d] - mean[d];
			err += e * e;
			var += v * v;
		}
	}
	std::printf("  reconstruction MSE / variance of the residuals: %.4f\n", err / var);

	std::vector<float> table(pq_m * ProductQuantizer::ksub), out(base_n);
	t = best_of_3([&] {
		for (int r = 0; r < 100; r++)
			pq.l2_table(&base[r * dims], table.data());
	});
	std::printf("l2_table: %.1f us a query\n", t / 100 * 1e6);
	/* ADC scans over random codes, for m = 196 and the other usual sizes. */
	for (std::size_t m : {32, 96, 196, 384})
	{
		std::mt19937_64 rng(m);
		std::vector<std::uint8_t> random(base_n * m);
		for (auto &c : random)
			c = static_cast<std::uint8_t>(rng());
		std::vector<float> tab(m * ProductQuantizer::ksub);
		for (float &v : tab)
			v = static_cast<float>(rng() >> 40) / float(1 << 24);
		std::printf("adc_sums, %zu codes of m = %zu bytes:", base_n, m);
		for (Isa isa : {Isa::scalar, Isa::sse2, Isa::avx2, Isa::avx512})
			if (const DistanceKernels *k = kernels_for(isa))
			{
				t = best_of_3(
					[&] { k->adc_sums(tab.data(), m, random.data(), m, base_n, out.data()); });
				std::printf("  %s %.1f ns", isa_name(isa), t / base_n * 1e9);
			}
		std::printf(" a code\n");
	}
	return 0;
}
