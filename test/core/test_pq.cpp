/*
 * Product quantization: reconstruction quality, lookup tables and ADC sums
 * against brute force over decoded vectors, the nearest-codeword and table
 * kernels of every ISA against scalar brute force, codebook round trips,
 * bad arguments.
 */
#include "core/pq.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <stdexcept>
#include <vector>

#include "core/distance.h"

using namespace vecdb::core;

namespace {

constexpr Isa all_isas[] = {Isa::scalar, Isa::sse2, Isa::avx2, Isa::avx512};
constexpr std::size_t ksub = ProductQuantizer::ksub;

/* n points around 40 centres, as embeddings are; noise sigma 0.3. */
std::vector<float>
clustered(std::size_t n, std::size_t dims, unsigned seed)
{
	std::mt19937 rng(seed);
	std::normal_distribution<float> gauss(0.0f, 1.0f);
	std::vector<float> centres(40 * dims), x(n * dims);
	for (float &c : centres)
		c = 2.0f * gauss(rng);
	for (std::size_t i = 0; i < n; i++)
	{
		const float *c = &centres[(rng() % 40) * dims];
		for (std::size_t d = 0; d < dims; d++)
			x[i * dims + d] = c[d] + 0.3f * gauss(rng);
	}
	return x;
}

double
squared_error(const float *a, const float *b, std::size_t dims)
{
	double s = 0;
	for (std::size_t d = 0; d < dims; d++)
		s += (double(a[d]) - b[d]) * (double(a[d]) - b[d]);
	return s;
}

/* Mean squared distance to the mean, summed over dims. */
double
variance(const std::vector<float> &x, std::size_t dims)
{
	const std::size_t n = x.size() / dims;
	std::vector<double> mean(dims, 0.0);
	for (std::size_t i = 0; i < n; i++)
		for (std::size_t d = 0; d < dims; d++)
			mean[d] += x[i * dims + d] / double(n);
	double v = 0;
	for (std::size_t i = 0; i < n; i++)
		for (std::size_t d = 0; d < dims; d++)
			v += (x[i * dims + d] - mean[d]) * (x[i * dims + d] - mean[d]);
	return v / double(n);
}

ProductQuantizer
trained(std::size_t dims, std::size_t m, const std::vector<float> &x)
{
	ProductQuantizer pq(dims, m);
	KMeansParams params;
	params.iterations = 8;
	pq.train(x.data(), x.size() / dims, params);
	return pq;
}

TEST(ProductQuantizer, Shape)
{
	ProductQuantizer pq(784, 196);
	EXPECT_EQ(pq.dims(), 784u);
	EXPECT_EQ(pq.m(), 196u);
	EXPECT_EQ(pq.dsub(), 4u);
	EXPECT_EQ(pq.code_size(), 196u);
	EXPECT_EQ(pq.codebook_floats(), ksub * 784);
	ProductQuantizer one(3, 1);
	EXPECT_EQ(one.dsub(), 3u);
	EXPECT_EQ(one.codebook_floats(), ksub * 3);
}

TEST(ProductQuantizer, InvalidShapesThrow)
{
	EXPECT_THROW(ProductQuantizer(784, 0), std::invalid_argument);
	EXPECT_THROW(ProductQuantizer(784, 5), std::invalid_argument);
	EXPECT_THROW(ProductQuantizer(10, 20), std::invalid_argument);
	EXPECT_THROW(ProductQuantizer(0, 4), std::invalid_argument);
	ProductQuantizer pq(8, 2);
	EXPECT_THROW(pq.train(nullptr, 0, KMeansParams{}), std::invalid_argument);
}

TEST(ProductQuantizer, ReconstructsClusteredData)
{
	for (std::size_t m : {8, 16, 32})
	{
		SCOPED_TRACE(m);
		const std::size_t dims = 64, n = 3000;
		std::vector<float> x = clustered(n, dims, 1);
		ProductQuantizer pq = trained(dims, m, x);

		std::vector<std::uint8_t> codes(n * m);
		pq.encode_many(x.data(), n, codes.data());
		std::mt19937 rng(2);
		std::vector<float> back(dims);
		std::vector<std::uint8_t> random_code(m);
		double err = 0, random_err = 0;
		for (std::size_t i = 0; i < n; i++)
		{
			pq.decode(&codes[i * m], back.data());
			double e = squared_error(&x[i * dims], back.data(), dims);
			err += e;
			for (auto &c : random_code)
				c = std::uint8_t(rng());
			pq.decode(random_code.data(), back.data());
			double r = squared_error(&x[i * dims], back.data(), dims);
			random_err += r;
			EXPECT_LE(e, r + 1e-4) << "vector " << i;
		}
		/* Noise alone is 0.09 a dimension of a total variance near 4. */
		EXPECT_LT(err / n, 0.1 * variance(x, dims));
		EXPECT_LT(err, 0.2 * random_err);
	}
}

/* Every sub-vector's code is its nearest codeword, up to float rounding
 * (the kernels rank by |c|^2 / 2 - <x, c>), and encode agrees with
 * encode_many; for every kind of dsub. */
class EncodeShapes : public ::testing::TestWithParam<std::pair<std::size_t, std::size_t>>
{
};

TEST_P(EncodeShapes, EncodeChoosesNearestCodewords)
{
	const std::size_t dims = GetParam().first, m = GetParam().second, dsub = dims / m, n = 500;
	std::vector<float> x = clustered(n, dims, 3);
	ProductQuantizer pq = trained(dims, m, x);
	std::vector<float> test = clustered(n, dims, 4);
	std::vector<std::uint8_t> many(n * m), one(m);
	pq.encode_many(test.data(), n, many.data());
	std::size_t exact = 0;
	for (std::size_t i = 0; i < n; i++)
	{
		pq.encode(&test[i * dims], one.data());
		EXPECT_TRUE(std::equal(one.begin(), one.end(), &many[i * m])) << "vector " << i;
		for (std::size_t j = 0; j < m; j++)
		{
			const float *sub = &test[i * dims + j * dsub];
			const float *book = pq.codebooks() + j * ksub * dsub;
			double best = std::numeric_limits<double>::infinity();
			std::size_t where = 0;
			for (std::size_t c = 0; c < ksub; c++)
			{
				double e = squared_error(sub, book + c * dsub, dsub);
				if (e < best)
				{
					best = e;
					where = c;
				}
			}
			double got = squared_error(sub, book + one[j] * dsub, dsub);
			EXPECT_LE(got, best + 1e-5 * (1 + best)) << "vector " << i << " sub-space " << j;
			exact += one[j] == where;
		}
	}
	EXPECT_GE(exact, n * m - 5);
}

/* dsub = 4 (the default), 2 and 8 have unrolled kernels, the rest loop. */
INSTANTIATE_TEST_SUITE_P(DimsAndM, EncodeShapes,
						 ::testing::Values(std::make_pair(48, 12), std::make_pair(45, 15),
										   std::make_pair(16, 16), std::make_pair(40, 4),
										   std::make_pair(32, 4), std::make_pair(34, 17)));

TEST(ProductQuantizer, FewTrainingVectorsBecomeCodewords)
{
	const std::size_t dims = 8, m = 2, n = 5;
	std::vector<float> x = clustered(n, dims, 5);
	ProductQuantizer pq = trained(dims, m, x);
	std::vector<std::uint8_t> code(m);
	std::vector<float> back(dims);
	for (std::size_t i = 0; i < n; i++)
	{
		pq.encode(&x[i * dims], code.data());
		pq.decode(code.data(), back.data());
		for (std::size_t d = 0; d < dims; d++)
			EXPECT_EQ(back[d], x[i * dims + d]);
	}
}

TEST(ProductQuantizer, CodebooksRoundTrip)
{
	const std::size_t dims = 32, m = 8, n = 1000;
	std::vector<float> x = clustered(n, dims, 6);
	ProductQuantizer pq = trained(dims, m, x);
	std::vector<float> saved(pq.codebooks(), pq.codebooks() + pq.codebook_floats());

	ProductQuantizer copy(dims, m);
	copy.load(saved.data());
	EXPECT_EQ(std::memcmp(copy.codebooks(), pq.codebooks(), saved.size() * sizeof(float)), 0);

	std::vector<std::uint8_t> a(n * m), b(n * m);
	pq.encode_many(x.data(), n, a.data());
	copy.encode_many(x.data(), n, b.data());
	EXPECT_EQ(a, b);
	std::vector<float> ta(m * ksub), tb(m * ksub);
	pq.l2_table(x.data(), ta.data());
	copy.l2_table(x.data(), tb.data());
	EXPECT_EQ(ta, tb);

	/* Training is deterministic too. */
	ProductQuantizer again = trained(dims, m, x);
	EXPECT_EQ(std::memcmp(again.codebooks(), pq.codebooks(), saved.size() * sizeof(float)), 0);
}

int pq_polls = 0;

bool
cancel_on_third_poll()
{
	return ++pq_polls >= 3;
}

TEST(ProductQuantizer, TrainingCanBeInterrupted)
{
	const std::size_t dims = 16, m = 4;
	std::vector<float> x = clustered(2000, dims, 7);
	ProductQuantizer pq(dims, m);
	KMeansParams params;
	params.interrupted = cancel_on_third_poll;
	EXPECT_THROW(pq.train(x.data(), 2000, params), Interrupted);
	EXPECT_EQ(pq_polls, 3);
}

/* ---- tables and ADC ---- */

struct Decoded
{
	std::vector<std::uint8_t> codes;
	std::vector<float> vectors;
};

Decoded
random_codes(const ProductQuantizer &pq, std::size_t n, std::size_t stride, unsigned seed)
{
	std::mt19937 rng(seed);
	Decoded d{std::vector<std::uint8_t>(n * stride + 1), std::vector<float>(n * pq.dims())};
	for (auto &c : d.codes)
		c = std::uint8_t(rng());
	for (std::size_t i = 0; i < n; i++)
		pq.decode(&d.codes[1 + i * stride], &d.vectors[i * pq.dims()]);
	return d;
}

/* adc_sums of each table against the distance to the decoded vector, on
 * every ISA, with m that leaves tails of every gather width, codes an odd
 * address apart and strides longer than m. */
TEST(ProductQuantizer, AdcSumsMatchDecodedVectors)
{
	for (std::size_t m : {1, 7, 16, 33, 196})
	{
		const std::size_t dsub = 2, dims = m * dsub, n = 50;
		SCOPED_TRACE(m);
		std::vector<float> x = clustered(800, dims, unsigned(m));
		ProductQuantizer pq = trained(dims, m, x);
		const std::size_t stride = m + 5;
		Decoded d = random_codes(pq, n, stride, 9);
		std::vector<float> q = clustered(1, dims, 10), table(m * ksub), out(n);

		for (Isa isa : all_isas)
		{
			const DistanceKernels *k = kernels_for(isa);
			if (!k)
				continue;
			SCOPED_TRACE(isa_name(isa));
			for (int which = 0; which < 3; which++)
			{
				if (which == 0)
					pq.inner_product_table(q.data(), table.data());
				else if (which == 1)
					pq.l2_table(q.data(), table.data());
				else
					pq.l1_table(q.data(), table.data());
				k->adc_sums(table.data(), m, d.codes.data() + 1, stride, n, out.data());
				for (std::size_t i = 0; i < n; i++)
				{
					const float *v = &d.vectors[i * dims];
					double expect = 0, scale = 0;
					for (std::size_t t = 0; t < dims; t++)
					{
						double term = which == 0   ? double(q[t]) * v[t]
									  : which == 1 ? (double(q[t]) - v[t]) * (q[t] - v[t])
												   : std::fabs(double(q[t]) - v[t]);
						expect += term;
						scale += std::fabs(term);
					}
					EXPECT_NEAR(out[i], expect, 1e-5 * (scale + 1))
						<< "table " << which << " code " << i;
				}
			}
		}
		/* The public entry point uses the best kernels. */
		pq.l2_table(q.data(), table.data());
		std::vector<float> best(n);
		adc_sums(table.data(), m, d.codes.data() + 1, stride, n, best.data());
		kernels().adc_sums(table.data(), m, d.codes.data() + 1, stride, n, out.data());
		EXPECT_EQ(best, out);
	}
}

/* ---- the kernels behind encode and the tables, on every ISA ---- */

class CodebookKernels : public ::testing::TestWithParam<Isa>
{
protected:
	void SetUp() override
	{
		k_ = kernels_for(GetParam());
		if (!k_)
			GTEST_SKIP() << isa_name(GetParam()) << " not available here";
		EXPECT_TRUE(k_->nearest_l2_cols && k_->l2_cols && k_->inner_product_cols && k_->l1_cols &&
					k_->min_l2_cols && k_->nearest_dot_cols && k_->adc_sums);
	}
	const DistanceKernels *k_ = nullptr;
};

/* Codewords as columns, with their half norms. */
struct Book
{
	std::size_t dims, k, ld;
	std::vector<float> rows; /* k x dims */
	AlignedFloats cols, half;
};

Book
make_book(std::size_t dims, std::size_t k, std::size_t ld, std::vector<float> rows)
{
	Book b{dims, k, ld, std::move(rows), AlignedFloats(dims * ld, 0.0f), AlignedFloats(k)};
	for (std::size_t c = 0; c < k; c++)
	{
		float norm = 0;
		for (std::size_t d = 0; d < dims; d++)
		{
			b.cols[d * ld + c] = b.rows[c * dims + d];
			norm += b.rows[c * dims + d] * b.rows[c * dims + d];
		}
		b.half[c] = 0.5f * norm;
	}
	return b;
}

/* The scalar brute force: first codeword of least direct distance. */
std::uint32_t
brute_nearest(const Book &b, const float *x, float *dist)
{
	float best = std::numeric_limits<float>::infinity();
	std::uint32_t where = 0;
	for (std::size_t c = 0; c < b.k; c++)
	{
		float s = 0;
		for (std::size_t d = 0; d < b.dims; d++)
			s += (x[d] - b.rows[c * b.dims + d]) * (x[d] - b.rows[c * b.dims + d]);
		if (s < best)
		{
			best = s;
			where = std::uint32_t(c);
		}
	}
	*dist = best;
	return where;
}

/* Small integers: every rank and distance is exact in float on every ISA,
 * so the kernel must return exactly the brute force's codeword, and ties
 * (there are many: codewords repeat) must go to the lowest index. */
TEST_P(CodebookKernels, NearestCodewordEqualsBruteForceExactly)
{
	std::mt19937 rng(1);
	std::uniform_int_distribution<int> small(-4, 4);
	for (std::size_t dims : {1, 2, 3, 4, 5, 8, 16})
		for (std::size_t k : {1, 5, 16, 31, 40, 256, 300})
			for (std::size_t extra : {0, 16})
			{
				SCOPED_TRACE(::testing::Message()
							 << "dims=" << dims << " k=" << k << " ld=k+" << extra);
				std::vector<float> rows(k * dims);
				for (float &v : rows)
					v = float(small(rng));
				Book b = make_book(dims, k, k + extra, rows);
				for (int t = 0; t < 200; t++)
				{
					std::vector<float> x(dims);
					for (float &v : x)
						v = float(small(rng));
					float dist = -1, bdist;
					std::uint32_t got = k_->nearest_l2_cols(x.data(), b.cols.data(), b.half.data(),
															dims, k, b.ld, &dist);
					std::uint32_t want = brute_nearest(b, x.data(), &bdist);
					ASSERT_EQ(got, want) << "trial " << t;
					ASSERT_EQ(dist, bdist) << "trial " << t;
				}
			}
}

/* Random floats: the codeword every ISA picks is the brute force's, but for
 * near-ties within rounding; and its reported distance is exact. */
TEST_P(CodebookKernels, NearestCodewordOnFloats)
{
	std::mt19937 rng(2);
	std::normal_distribution<float> gauss(0.0f, 1.0f);
	for (std::size_t dims : {2, 4, 8, 12})
	{
		SCOPED_TRACE(dims);
		const std::size_t k = 256;
		std::vector<float> rows(k * dims);
		for (float &v : rows)
			v = gauss(rng);
		Book b = make_book(dims, k, k, rows);
		std::size_t differ = 0;
		for (int t = 0; t < 5000; t++)
		{
			std::vector<float> x(dims);
			for (float &v : x)
				v = 1.5f * gauss(rng);
			float dist, bdist;
			std::uint32_t got =
				k_->nearest_l2_cols(x.data(), b.cols.data(), b.half.data(), dims, k, k, &dist);
			std::uint32_t want = brute_nearest(b, x.data(), &bdist);
			ASSERT_LT(got, k);
			double exact = squared_error(x.data(), &rows[got * dims], dims);
			EXPECT_NEAR(dist, exact, 1e-5 * (1 + exact));
			/* Ranking error grows with |x|^2 + |c|^2, not with the distance. */
			double xx = 0;
			for (float v : x)
				xx += double(v) * v;
			EXPECT_LE(dist, bdist + 1e-5 * (1 + xx + 10.0 * dims));
			differ += got != want;
		}
		EXPECT_LE(differ, 5u);
	}
}

/* A NaN query has no nearest codeword; the answer must still be a valid
 * index (0, as the scalar loop says), never garbage to index a table with. */
TEST_P(CodebookKernels, NaNQueryGivesIndexZero)
{
	for (std::size_t dims : {1, 4, 7})
		for (std::size_t k : {5, 256, 300})
		{
			std::vector<float> rows(k * dims, 1.0f);
			Book b = make_book(dims, k, cols_ld(k), rows);
			std::vector<float> x(dims, std::numeric_limits<float>::quiet_NaN());
			float dist;
			EXPECT_EQ(
				k_->nearest_l2_cols(x.data(), b.cols.data(), b.half.data(), dims, k, b.ld, &dist),
				0u);
			std::uint32_t index = 12345;
			float value;
			AlignedFloats half(b.ld, std::numeric_limits<float>::infinity());
			std::copy(b.half.begin(), b.half.end(), half.begin());
			k_->nearest_dot_cols(x.data(), 1, dims, b.cols.data(), half.data(), dims, b.ld, &index,
								 &value);
			EXPECT_EQ(index, 0u);
		}
}

/* The tables' kernels against a double-precision reference. */
TEST_P(CodebookKernels, TableKernels)
{
	std::mt19937 rng(3);
	std::uniform_real_distribution<float> u(-2.0f, 2.0f);
	for (std::size_t dims : {1, 3, 4, 9})
		for (std::size_t k : {1, 15, 16, 17, 256, 257})
		{
			SCOPED_TRACE(::testing::Message() << "dims=" << dims << " k=" << k);
			const std::size_t ld = cols_ld(k);
			std::vector<float> rows(k * dims), x(dims);
			for (float &v : rows)
				v = u(rng);
			for (float &v : x)
				v = u(rng);
			Book b = make_book(dims, k, ld, rows);
			std::vector<float> l2(k + 1, -7), ip(k + 1, -7), l1(k + 1, -7);
			k_->l2_cols(x.data(), b.cols.data(), dims, k, ld, l2.data());
			k_->inner_product_cols(x.data(), b.cols.data(), dims, k, ld, ip.data());
			k_->l1_cols(x.data(), b.cols.data(), dims, k, ld, l1.data());
			for (std::size_t c = 0; c < k; c++)
			{
				double el2 = 0, eip = 0, el1 = 0;
				for (std::size_t d = 0; d < dims; d++)
				{
					double diff = double(x[d]) - rows[c * dims + d];
					el2 += diff * diff;
					eip += double(x[d]) * rows[c * dims + d];
					el1 += std::fabs(diff);
				}
				EXPECT_NEAR(l2[c], el2, 1e-5 * (1 + el2)) << c;
				EXPECT_NEAR(ip[c], eip, 1e-5 * (1 + std::fabs(eip))) << c;
				EXPECT_NEAR(l1[c], el1, 1e-5 * (1 + el1)) << c;
			}
			/* Nothing written past k. */
			EXPECT_EQ(l2[k], -7);
			EXPECT_EQ(ip[k], -7);
			EXPECT_EQ(l1[k], -7);
		}
}

/* Each ISA's direct tables are the scalar loop's, bit for bit. */
TEST_P(CodebookKernels, DirectTablesAreTheScalarOnes)
{
	const DistanceKernels *scalar = kernels_for(Isa::scalar);
	std::mt19937 rng(4);
	std::normal_distribution<float> gauss(0.0f, 1.0f);
	for (std::size_t dims : {1, 4, 6})
	{
		std::vector<float> rows(256 * dims), x(dims);
		for (float &v : rows)
			v = gauss(rng);
		for (float &v : x)
			v = gauss(rng);
		Book b = make_book(dims, 256, 256, rows);
		std::vector<float> mine(256), ref(256);
		k_->l2_cols(x.data(), b.cols.data(), dims, 256, 256, mine.data());
		scalar->l2_cols(x.data(), b.cols.data(), dims, 256, 256, ref.data());
		EXPECT_EQ(mine, ref);
		k_->l1_cols(x.data(), b.cols.data(), dims, 256, 256, mine.data());
		scalar->l1_cols(x.data(), b.cols.data(), dims, 256, 256, ref.data());
		EXPECT_EQ(mine, ref);
	}
}

std::string
isa_param_name(const ::testing::TestParamInfo<Isa> &info)
{
	return isa_name(info.param);
}

INSTANTIATE_TEST_SUITE_P(AllIsas, CodebookKernels, ::testing::ValuesIn(all_isas), isa_param_name);

} // namespace
