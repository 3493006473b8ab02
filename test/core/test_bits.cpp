/*
 * test_bits.cpp: the bit-string kernels (core/bits.h). Every table this
 * CPU runs against a bit-by-bit reference, at every length from 0 to 300
 * bytes (so each word and 64-byte loop meets every tail), and the jaccard
 * distance's edge cases.
 */
#include <cstdint>
#include <random>
#include <vector>

#include <gtest/gtest.h>

#include "core/bits.h"

using namespace vecdb::core;

namespace {

constexpr BitIsa all_isas[] = {BitIsa::portable, BitIsa::popcnt, BitIsa::avx512_vpopcntdq};

bool
bit(const std::vector<std::uint8_t> &s, std::size_t i)
{
	return (s[i / 8] >> (i % 8)) & 1;
}

struct Reference
{
	std::uint64_t differ = 0, both = 0, either = 0;
};

Reference
reference(const std::vector<std::uint8_t> &a, const std::vector<std::uint8_t> &b)
{
	Reference r;
	for (std::size_t i = 0; i < a.size() * 8; i++)
	{
		r.differ += bit(a, i) != bit(b, i);
		r.both += bit(a, i) && bit(b, i);
		r.either += bit(a, i) || bit(b, i);
	}
	return r;
}

/* Random bytes, each bit set with probability p, so that sparse and dense
 * strings both occur. */
std::vector<std::uint8_t>
random_bits(std::mt19937 &rng, std::size_t bytes, double p)
{
	std::bernoulli_distribution set(p);
	std::vector<std::uint8_t> s(bytes);
	for (std::size_t i = 0; i < bytes * 8; i++)
		if (set(rng))
			s[i / 8] |= static_cast<std::uint8_t>(1u << (i % 8));
	return s;
}

TEST(Bits, EveryTableMatchesTheReference)
{
	std::mt19937 rng(7);
	int tables = 0;
	for (BitIsa isa : all_isas)
	{
		const BitKernels *k = bit_kernels_for(isa);
		if (k == nullptr)
			continue;
		tables++;
		EXPECT_EQ(k->isa, isa);
		for (std::size_t bytes = 0; bytes <= 300; bytes++)
			for (double p : {0.05, 0.5, 0.95})
			{
				auto a = random_bits(rng, bytes, p), b = random_bits(rng, bytes, 1 - p);
				Reference r = reference(a, b);
				ASSERT_EQ(k->hamming(a.data(), b.data(), bytes), r.differ)
					<< bit_isa_name(isa) << ", " << bytes << " bytes";
				BitOverlap o = k->overlap(a.data(), b.data(), bytes);
				ASSERT_EQ(o.both, r.both) << bit_isa_name(isa) << ", " << bytes << " bytes";
				ASSERT_EQ(o.either, r.either) << bit_isa_name(isa) << ", " << bytes << " bytes";
			}
	}
	EXPECT_GE(tables, 1);
	EXPECT_NE(bit_kernels_for(bit_kernels().isa), nullptr);
}

/* Loads are unaligned: the strings of a varbit start 4 bytes into it. */
TEST(Bits, UnalignedStarts)
{
	std::mt19937 rng(11);
	auto a = random_bits(rng, 200, 0.5), b = random_bits(rng, 200, 0.5);
	for (BitIsa isa : all_isas)
		if (const BitKernels *k = bit_kernels_for(isa))
			for (std::size_t off = 1; off < 9; off++)
			{
				std::vector<std::uint8_t> x(a.begin() + off, a.end()), y(b.begin() + off, b.end());
				EXPECT_EQ(k->hamming(a.data() + off, b.data() + off, 200 - off),
						  reference(x, y).differ)
					<< bit_isa_name(isa) << ", offset " << off;
			}
}

TEST(Bits, Jaccard)
{
	EXPECT_EQ(jaccard_distance({0, 0}), 1.0); /* two empty sets: pgvector's 1 */
	EXPECT_EQ(jaccard_distance({0, 5}), 1.0);
	EXPECT_EQ(jaccard_distance({4, 4}), 0.0);
	EXPECT_DOUBLE_EQ(jaccard_distance({3, 4}), 0.25);
	EXPECT_DOUBLE_EQ(jaccard_distance({1, 2}), 0.5);
}

} // namespace
