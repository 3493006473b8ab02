/*
 * test_sparse.cpp: sparse vectors (core/sparse.h). The merge-join
 * distances against a dense reference summed in the same order, the order
 * against the dense forms' lexicographic one, and the text and binary
 * formats: pgvector's grammar, its limits, and a round trip.
 */
#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include <gtest/gtest.h>

#include "core/sparse.h"

using namespace vecdb::core;

namespace {

struct Sparse
{
	std::int32_t dims;
	std::vector<std::int32_t> indices;
	std::vector<float> values;

	SparseView view() const { return SparseView{indices.data(), values.data(), indices.size()}; }

	std::vector<float> dense() const
	{
		std::vector<float> d(static_cast<std::size_t>(dims), 0.0f);
		for (std::size_t i = 0; i < indices.size(); i++)
			d[static_cast<std::size_t>(indices[i])] = values[i];
		return d;
	}
};

Sparse
random_sparse(std::mt19937 &rng, std::int32_t dims, double density)
{
	Sparse s{dims, {}, {}};
	std::bernoulli_distribution keep(density);
	std::uniform_real_distribution<float> value(-2.0f, 2.0f);
	for (std::int32_t i = 0; i < dims; i++)
		if (keep(rng))
		{
			float v = value(rng);
			if (v == 0)
				continue;
			s.indices.push_back(i);
			s.values.push_back(v);
		}
	return s;
}

int
dense_compare(const std::vector<float> &a, const std::vector<float> &b)
{
	std::size_t common = std::min(a.size(), b.size());
	for (std::size_t i = 0; i < common; i++)
		if (a[i] != b[i])
			return a[i] < b[i] ? -1 : 1;
	return a.size() < b.size() ? -1 : a.size() > b.size() ? 1 : 0;
}

} // namespace

TEST(Sparse, DistancesMatchDenseReference)
{
	std::mt19937 rng(42);
	for (int trial = 0; trial < 500; trial++)
	{
		std::int32_t dims = 1 + static_cast<std::int32_t>(rng() % 300);
		double density_a = (rng() % 100) / 100.0;
		double density_b = (rng() % 100) / 100.0;
		Sparse a = random_sparse(rng, dims, density_a);
		Sparse b = random_sparse(rng, dims, density_b);
		std::vector<float> da = a.dense(), db = b.dense();

		/* the reference visits the indices in the same order as the merge,
		 * and adds nothing for a position neither stores */
		float dot = 0, l2 = 0;
		double l1 = 0, norm = 0;
		for (std::int32_t i = 0; i < dims; i++)
		{
			float x = da[i], y = db[i];
			if (x == 0 && y == 0)
				continue;
			dot += x * y;
			float d = x - y;
			l2 += d * d;
			l1 += std::fabs(x - y);
		}
		for (float x : a.values)
			norm += static_cast<double>(x) * x;

		ASSERT_FLOAT_EQ(sparse_dot(a.view(), b.view()), dot);
		ASSERT_FLOAT_EQ(sparse_l2_squared(a.view(), b.view()), l2);
		ASSERT_DOUBLE_EQ(sparse_l1(a.view(), b.view()), l1);
		ASSERT_DOUBLE_EQ(sparse_squared_norm(a.view()), norm);
		/* symmetric, and zero against itself */
		ASSERT_EQ(sparse_l2_squared(a.view(), a.view()), 0.0f);
		ASSERT_FLOAT_EQ(sparse_l2_squared(b.view(), a.view()), l2);
	}
}

TEST(Sparse, EmptyVectors)
{
	Sparse empty{5, {}, {}};
	Sparse one{5, {2}, {3.0f}};
	EXPECT_EQ(sparse_dot(empty.view(), one.view()), 0.0f);
	EXPECT_EQ(sparse_l2_squared(empty.view(), one.view()), 9.0f);
	EXPECT_EQ(sparse_l1(one.view(), empty.view()), 3.0);
	EXPECT_EQ(sparse_squared_norm(empty.view()), 0.0);
}

TEST(Sparse, OrderMatchesDenseOrder)
{
	std::mt19937 rng(7);
	for (int trial = 0; trial < 2000; trial++)
	{
		/* few dims and values, so that equal prefixes and ties are common */
		std::int32_t da = 1 + static_cast<std::int32_t>(rng() % 5);
		std::int32_t db = 1 + static_cast<std::int32_t>(rng() % 5);
		Sparse a{da, {}, {}}, b{db, {}, {}};
		for (Sparse *s : {&a, &b})
			for (std::int32_t i = 0; i < s->dims; i++)
			{
				int v = static_cast<int>(rng() % 3) - 1;
				if (v != 0)
				{
					s->indices.push_back(i);
					s->values.push_back(static_cast<float>(v));
				}
			}
		ASSERT_EQ(sparse_compare(a.view(), a.dims, b.view(), b.dims),
				  dense_compare(a.dense(), b.dense()));
	}
}

TEST(Sparse, CheckFindsEachFaultInPgvectorsOrder)
{
	std::int32_t idx[] = {0, 2, 4};
	float ok[] = {1, 2, 3};
	EXPECT_EQ(check_sparse(SparseView{idx, ok, 3}, 5, false), SparseFault::none);
	EXPECT_EQ(check_sparse(SparseView{idx, ok, 3}, 4, false), SparseFault::index_out_of_bounds);
	std::int32_t negative[] = {-1};
	EXPECT_EQ(check_sparse(SparseView{negative, ok, 1}, 4, false),
			  SparseFault::index_out_of_bounds);
	std::int32_t unordered[] = {2, 1};
	EXPECT_EQ(check_sparse(SparseView{unordered, ok, 2}, 4, false), SparseFault::unordered);
	std::int32_t dup[] = {1, 1};
	EXPECT_EQ(check_sparse(SparseView{dup, ok, 2}, 4, false), SparseFault::duplicate);
	float bad[] = {1, NAN, 0};
	EXPECT_EQ(check_sparse(SparseView{idx, bad, 3}, 5, false), SparseFault::nan);
	float inf[] = {1, 2, -INFINITY};
	EXPECT_EQ(check_sparse(SparseView{idx, inf, 3}, 5, false), SparseFault::infinite);
	float zero[] = {1, 0, 2};
	EXPECT_EQ(check_sparse(SparseView{idx, zero, 3}, 5, false), SparseFault::zero);
	EXPECT_EQ(check_sparse(SparseView{idx, zero, 3}, 5, true), SparseFault::none);
	/* indices before values: a bad index wins over a NaN */
	EXPECT_EQ(check_sparse(SparseView{dup, bad, 2}, 4, false), SparseFault::duplicate);
}

TEST(SparseText, Grammar)
{
	SparsePair out[8];
	SparseTextResult r = parse_sparse_text(" { 3 : 2 , 1:1.5, 2:0 } / 5 ", out, 8);
	ASSERT_EQ(r.status, SparseTextStatus::ok);
	ASSERT_EQ(r.nnz, 2u);
	EXPECT_EQ(r.dims, 5);
	EXPECT_EQ(out[0].index, 0);
	EXPECT_EQ(out[0].value, 1.5f);
	EXPECT_EQ(out[1].index, 2);
	EXPECT_EQ(out[1].value, 2.0f);

	r = parse_sparse_text("{}/3", out, 8);
	ASSERT_EQ(r.status, SparseTextStatus::ok);
	EXPECT_EQ(r.nnz, 0u);

	struct
	{
		const char *text;
		SparseTextStatus status;
	} cases[] = {
		{"", SparseTextStatus::no_open_brace},
		{"[1:1]/3", SparseTextStatus::no_open_brace},
		{"{1:1}", SparseTextStatus::no_slash},
		{"{1:1} 3", SparseTextStatus::no_slash},
		{"{1:1}/3x", SparseTextStatus::junk_after},
		{"{1:1}/3/", SparseTextStatus::junk_after},
		{"{1:1,}/3", SparseTextStatus::syntax},
		{"{1 1}/3", SparseTextStatus::syntax},
		{"{1:}/3", SparseTextStatus::syntax},
		{"{:1}/3", SparseTextStatus::syntax},
		{"{1:1}/", SparseTextStatus::syntax},
		{"{1:1", SparseTextStatus::syntax},
		{"{1:nan}/3", SparseTextStatus::nan},
		{"{1:-inf}/3", SparseTextStatus::infinite},
		{"{1:1e39}/3", SparseTextStatus::out_of_range},
		{"{1:1e-50}/3", SparseTextStatus::out_of_range},
	};
	for (const auto &c : cases)
		EXPECT_EQ(parse_sparse_text(c.text, out, 8).status, c.status) << c.text;

	/* the offending value is pointed at */
	r = parse_sparse_text("{2:1, 1:1e39}/3", out, 8);
	ASSERT_EQ(r.status, SparseTextStatus::out_of_range);
	EXPECT_EQ(std::string("{2:1, 1:1e39}/3").substr(r.token_offset, r.token_length), "1e39");
}

TEST(SparseText, IndicesAndDimsClampedForTheChecks)
{
	SparsePair out[2];
	SparseTextResult r = parse_sparse_text("{99999999999999999999:1}/99999999999999999999", out, 2);
	ASSERT_EQ(r.status, SparseTextStatus::ok);
	EXPECT_EQ(r.dims, INT32_MAX);
	EXPECT_EQ(out[0].index, INT32_MAX - 1);
	r = parse_sparse_text("{-99999999999999999999:1}/-99999999999999999999", out, 2);
	ASSERT_EQ(r.status, SparseTextStatus::ok);
	EXPECT_EQ(r.dims, INT32_MIN);
	EXPECT_EQ(out[0].index, INT32_MIN);
}

TEST(SparseText, CapacityCountsNonZerosOnly)
{
	SparsePair out[2];
	EXPECT_EQ(parse_sparse_text("{1:1,2:0,3:0,4:2}/4", out, 2).status, SparseTextStatus::ok);
	EXPECT_EQ(parse_sparse_text("{1:1,2:3,4:2}/4", out, 2).status, SparseTextStatus::too_many);
	EXPECT_EQ(sparse_text_pairs_upper_bound("{1:1,2:3,4:2}/4"), 3u);
}

TEST(SparseBinary, RoundTrip)
{
	Sparse s{1000, {0, 17, 999}, {1.5f, -2.0f, 3.4028235e38f}};
	std::vector<unsigned char> bytes(binary_sparse_size(3));
	format_sparse_binary(s.view(), s.dims, bytes.data());
	/* network order: dims 1000 = 0x3e8 */
	EXPECT_EQ(bytes[2], 0x03);
	EXPECT_EQ(bytes[3], 0xe8);
	SparseBinaryHeader h;
	ASSERT_TRUE(read_sparse_header(bytes.data(), bytes.size(), &h));
	EXPECT_EQ(h.dims, 1000);
	EXPECT_EQ(h.nnz, 3);
	EXPECT_EQ(h.unused, 0);
	std::int32_t idx[3];
	float val[3];
	read_sparse_body(bytes.data(), 3, idx, val);
	for (int i = 0; i < 3; i++)
	{
		EXPECT_EQ(idx[i], s.indices[i]);
		EXPECT_EQ(val[i], s.values[i]);
	}
	EXPECT_FALSE(read_sparse_header(bytes.data(), 11, &h));
}
