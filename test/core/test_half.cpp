/*
 * test_half.cpp: float <-> half conversions (core/half.h): every half
 * round-trips exactly and the batch converter (F16C where present) agrees
 * with the bit-level one on all 65,536; float_to_half rounds to nearest,
 * ties to even, as the hardware's VCVTPS2PH does, and refuses what does
 * not fit.
 */
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

#include <gtest/gtest.h>

#include "core/half.h"

using namespace vecdb::core;

namespace {

std::uint32_t
bits(float x)
{
	std::uint32_t b;
	std::memcpy(&b, &x, sizeof(b));
	return b;
}

TEST(Half, EveryHalfRoundTrips)
{
	std::vector<Half> all(65536);
	for (std::uint32_t i = 0; i < 65536; i++)
		all[i] = static_cast<Half>(i);
	std::vector<float> batch(all.size());
	halfs_to_floats(all.data(), batch.data(), all.size());
	int finite = 0;
	for (std::uint32_t i = 0; i < 65536; i++)
	{
		float f = half_to_float(all[i]);
		ASSERT_EQ(bits(batch[i]), bits(f))
			<< "half " << i << (half_conversion_uses_f16c() ? " (f16c)" : "");
		if (!std::isfinite(f))
		{
			EXPECT_EQ((i >> 10) & 0x1f, 0x1fu) << i;
			continue;
		}
		finite++;
		Half back;
		ASSERT_TRUE(float_to_half(f, &back)) << i;
		EXPECT_EQ(back, all[i]) << i;
	}
	EXPECT_EQ(finite, 65536 - 2048);
}

TEST(Half, KnownValues)
{
	EXPECT_EQ(half_to_float(0x3c00), 1.0f);
	EXPECT_EQ(half_to_float(0xc000), -2.0f);
	EXPECT_EQ(half_to_float(0x7bff), 65504.0f);
	EXPECT_EQ(half_to_float(0x0001), 0x1p-24f);
	EXPECT_EQ(half_to_float(0x0400), 0x1p-14f);
	Half h;
	ASSERT_TRUE(float_to_half(1.23456f, &h));
	EXPECT_EQ(half_to_float(h), 1.234375f); /* pgvector's halfvec prints this */
	ASSERT_TRUE(float_to_half(65519.0f, &h));
	EXPECT_EQ(half_to_float(h), 65504.0f);
	EXPECT_FALSE(float_to_half(65520.0f, &h));
	EXPECT_FALSE(float_to_half(-65520.0f, &h));
	EXPECT_FALSE(float_to_half(3.4e38f, &h));
	EXPECT_FALSE(float_to_half(std::numeric_limits<float>::infinity(), &h));
	EXPECT_FALSE(float_to_half(std::numeric_limits<float>::quiet_NaN(), &h));
	ASSERT_TRUE(float_to_half(1e-8f, &h));
	EXPECT_EQ(h, 0x0000);
	ASSERT_TRUE(float_to_half(-1e-8f, &h));
	EXPECT_EQ(h, 0x8000);
	ASSERT_TRUE(float_to_half(0x1p-25f, &h)); /* a tie between 0 and 2^-24: even is 0 */
	EXPECT_EQ(h, 0x0000);
	ASSERT_TRUE(float_to_half(0x1.8p-24f, &h)); /* a tie between 1 and 2 steps: 2 */
	EXPECT_EQ(h, 0x0002);
}

/* Random floats across the range: the nearest half, ties to even, checked
 * against the two halves around each value. */
TEST(Half, RoundsToNearestEven)
{
	std::mt19937 rng(16);
	std::uniform_int_distribution<std::uint32_t> any(0, 0x477fefff);
	for (int i = 0; i < 200000; i++)
	{
		std::uint32_t a = any(rng);
		float x;
		std::memcpy(&x, &a, sizeof(x));
		if (i % 2)
			x = -x;
		Half h;
		ASSERT_TRUE(float_to_half(x, &h)) << x;
		double got = half_to_float(h);
		/* no half is nearer */
		for (int d : {-1, 1})
		{
			Half n = static_cast<Half>(h + d);
			float other = half_to_float(n);
			if (!std::isfinite(other) || ((n ^ h) & 0x8000))
				continue;
			double e_got = std::fabs(got - x), e_other = std::fabs(static_cast<double>(other) - x);
			ASSERT_LE(e_got, e_other) << x;
			if (e_got == e_other)
			{
				ASSERT_EQ(h & 1, 0) << "tie not to even at " << x;
			}
		}
	}
}

} // namespace

/* The distance kernels over halves: every table this CPU runs against a
 * double-precision sum of the same converted values, at lengths that meet
 * each tail of the 8-wide loop. */
TEST(HalfKernels, MatchAReferenceSum)
{
	std::vector<const HalfKernels *> tables{&half_kernels_portable()};
	if (half_kernels_f16c() != nullptr)
		tables.push_back(half_kernels_f16c());
	std::mt19937 rng(3);
	std::uniform_real_distribution<float> value(-4.0f, 4.0f);
	for (std::size_t n : {0, 1, 7, 8, 9, 15, 16, 17, 100, 1536})
	{
		std::vector<Half> a(n), b(n);
		for (std::size_t i = 0; i < n; i++)
		{
			ASSERT_TRUE(float_to_half(value(rng), &a[i]));
			ASSERT_TRUE(float_to_half(value(rng), &b[i]));
		}
		double l2 = 0, ip = 0, l1 = 0;
		for (std::size_t i = 0; i < n; i++)
		{
			double x = half_to_float(a[i]), y = half_to_float(b[i]);
			l2 += (x - y) * (x - y);
			ip += x * y;
			l1 += std::fabs(x - y);
		}
		for (const HalfKernels *k : tables)
		{
			double tolerance = 1e-5 * (1 + l2 + l1 + std::fabs(ip)) + 1e-6 * n;
			EXPECT_NEAR(k->l2_squared(a.data(), b.data(), n), l2, tolerance) << n;
			EXPECT_NEAR(k->inner_product(a.data(), b.data(), n), ip, tolerance) << n;
			EXPECT_NEAR(k->l1(a.data(), b.data(), n), l1, tolerance) << n;
		}
	}
}

TEST(HalfKernels, CosineMatchesAReferenceAndIsNaNForZero)
{
	std::vector<const HalfKernels *> tables{&half_kernels_portable()};
	if (half_kernels_f16c() != nullptr)
		tables.push_back(half_kernels_f16c());
	std::mt19937 rng(5);
	std::uniform_real_distribution<float> value(-4.0f, 4.0f);
	for (std::size_t n : {1, 7, 8, 9, 17, 100, 1536})
	{
		std::vector<Half> a(n), b(n), zero(n, 0);
		for (std::size_t i = 0; i < n; i++)
		{
			ASSERT_TRUE(float_to_half(value(rng), &a[i]));
			ASSERT_TRUE(float_to_half(value(rng), &b[i]));
		}
		double dot = 0, na = 0, nb = 0;
		for (std::size_t i = 0; i < n; i++)
		{
			double x = half_to_float(a[i]), y = half_to_float(b[i]);
			dot += x * y;
			na += x * x;
			nb += y * y;
		}
		double expected = 1 - dot / std::sqrt(na * nb);
		for (const HalfKernels *k : tables)
		{
			EXPECT_NEAR(k->cosine_distance(a.data(), b.data(), n), expected, 1e-5) << n;
			EXPECT_NEAR(k->cosine_distance(a.data(), a.data(), n), 0.0, 1e-5) << n;
			EXPECT_TRUE(std::isnan(k->cosine_distance(a.data(), zero.data(), n))) << n;
		}
	}
}
