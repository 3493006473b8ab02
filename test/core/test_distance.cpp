/*
 * test_distance.cpp: every kernel table this CPU runs, against a
 * double-precision reference.
 */
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <initializer_list>
#include <iterator>
#include <limits>
#include <ostream>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "core/distance.h"

namespace vecdb::core {
/* ISAs by name in failure messages. */
void
PrintTo(Isa isa, std::ostream *os)
{
	*os << isa_name(isa);
}
} // namespace vecdb::core

using namespace vecdb::core;

namespace {

constexpr Isa all_isas[] = {Isa::scalar, Isa::sse2, Isa::avx2, Isa::avx512};

/* Every tail length of every ISA (up to 4 x 16 lanes), then real-world sizes. */
std::vector<std::size_t>
test_lengths()
{
	std::vector<std::size_t> n;
	for (std::size_t i = 1; i <= 64; i++)
		n.push_back(i);
	for (std::size_t i : {65,  100, 127,  128,  129,  255,  256,  257,  383,   384,
						  768, 769, 1024, 1535, 1536, 1537, 4095, 4096, 15999, 16000})
		n.push_back(i);
	return n;
}

/* (offset of a, offset of b) in floats from a 64-byte boundary. */
constexpr std::size_t offsets[][2] = {{0, 0}, {1, 1}, {1, 3}};

/* Two vectors at chosen misalignments inside 64-byte aligned storage. */
class Pair
{
public:
	Pair(std::size_t n, std::size_t off_a, std::size_t off_b)
		: storage_(2 * (n + 32)), a_(aligned(0) + off_a), b_(aligned(n + 16) + off_b)
	{
	}
	float *a() { return a_; }
	float *b() { return b_; }

private:
	float *aligned(std::size_t at)
	{
		auto p = reinterpret_cast<std::uintptr_t>(storage_.data() + at);
		return reinterpret_cast<float *>((p + 63) & ~std::uintptr_t(63));
	}
	std::vector<float> storage_;
	float *a_, *b_;
};

void
fill_uniform(float *x, std::size_t n, std::mt19937 &rng)
{
	std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
	for (std::size_t i = 0; i < n; i++)
		x[i] = dist(rng);
}

/* Small integers: every partial sum stays an integer below 2^24, so exact. */
void
fill_integers(float *x, std::size_t n, std::mt19937 &rng)
{
	std::uniform_int_distribution<int> dist(-4, 4);
	for (std::size_t i = 0; i < n; i++)
		x[i] = static_cast<float>(dist(rng));
}

/* A double-precision result and the sum of the |terms| it came from. */
struct Ref
{
	double value = 0, scale = 0;
};

Ref
ref_l2(const float *a, const float *b, std::size_t n)
{
	Ref r;
	for (std::size_t i = 0; i < n; i++)
	{
		double d = double(a[i]) - double(b[i]);
		r.value += d * d;
	}
	r.scale = r.value;
	return r;
}

Ref
ref_dot(const float *a, const float *b, std::size_t n)
{
	Ref r;
	for (std::size_t i = 0; i < n; i++)
	{
		r.value += double(a[i]) * double(b[i]);
		r.scale += std::fabs(double(a[i]) * double(b[i]));
	}
	return r;
}

Ref
ref_l1(const float *a, const float *b, std::size_t n)
{
	Ref r;
	for (std::size_t i = 0; i < n; i++)
		r.value += std::fabs(double(a[i]) - double(b[i]));
	r.scale = r.value;
	return r;
}

double
ref_cosine_distance(const float *a, const float *b, std::size_t n)
{
	double dot = ref_dot(a, b, n).value, na = ref_dot(a, a, n).value, nb = ref_dot(b, b, n).value;
	return 1.0 - dot / std::sqrt(na * nb);
}

/*
 * Relative error allowed against the sum of |terms|. Float accumulation errs
 * like sqrt(n) * eps on random data (n * eps is the worst case), so 4 sqrt(n)
 * eps is a generous margin, yet stays below 1/n, the average weight of one
 * term, up to 16000 dims: a kernel that drops or repeats an element fails.
 * The integer tests below catch those exactly.
 */
double
tolerance(std::size_t n)
{
	return 4.0 * std::numeric_limits<float>::epsilon() * std::sqrt(double(n));
}

::testing::AssertionResult
close_to(double got, Ref ref, std::size_t n)
{
	double err = std::fabs(got - ref.value), bound = tolerance(n) * ref.scale;
	if (err <= bound)
		return ::testing::AssertionSuccess();
	return ::testing::AssertionFailure() << "got " << got << ", expected " << ref.value
										 << ", error " << err << " > bound " << bound;
}

std::string
isa_param_name(const ::testing::TestParamInfo<Isa> &info)
{
	return isa_name(info.param);
}

/* Runs once per ISA; skipped where this CPU or build lacks it. */
class Kernels : public ::testing::TestWithParam<Isa>
{
protected:
	void SetUp() override
	{
		k_ = kernels_for(GetParam());
		if (!k_)
			GTEST_SKIP() << isa_name(GetParam()) << " not available here";
	}

	/* f(a, b, n) on seeded random data for every length and misalignment. */
	template <class F> void for_each_case(void (*fill)(float *, std::size_t, std::mt19937 &), F f)
	{
		for (std::size_t n : test_lengths())
			for (auto &off : offsets)
			{
				SCOPED_TRACE(::testing::Message()
							 << "n=" << n << " offsets=" << off[0] << "," << off[1]);
				std::mt19937 rng(static_cast<std::uint32_t>(n * 7 + off[1]));
				Pair p(n, off[0], off[1]);
				fill(p.a(), n, rng);
				fill(p.b(), n, rng);
				f(p.a(), p.b(), n);
			}
	}

	const DistanceKernels *k_ = nullptr;
};

TEST_P(Kernels, TableReportsItsIsa)
{
	EXPECT_EQ(k_->isa, GetParam());
	EXPECT_TRUE(k_->l2_squared && k_->inner_product && k_->l1 && k_->cosine_parts &&
				k_->squared_norm);
}

TEST_P(Kernels, L2Squared)
{
	for_each_case(fill_uniform, [&](const float *a, const float *b, std::size_t n) {
		EXPECT_TRUE(close_to(k_->l2_squared(a, b, n), ref_l2(a, b, n), n));
	});
}

TEST_P(Kernels, InnerProduct)
{
	for_each_case(fill_uniform, [&](const float *a, const float *b, std::size_t n) {
		EXPECT_TRUE(close_to(k_->inner_product(a, b, n), ref_dot(a, b, n), n));
	});
}

TEST_P(Kernels, L1)
{
	for_each_case(fill_uniform, [&](const float *a, const float *b, std::size_t n) {
		EXPECT_TRUE(close_to(k_->l1(a, b, n), ref_l1(a, b, n), n));
	});
}

TEST_P(Kernels, CosineParts)
{
	for_each_case(fill_uniform, [&](const float *a, const float *b, std::size_t n) {
		float dot = -1, na = -1, nb = -1;
		k_->cosine_parts(a, b, n, &dot, &na, &nb);
		EXPECT_TRUE(close_to(dot, ref_dot(a, b, n), n));
		EXPECT_TRUE(close_to(na, ref_dot(a, a, n), n));
		EXPECT_TRUE(close_to(nb, ref_dot(b, b, n), n));
	});
}

TEST_P(Kernels, SquaredNorm)
{
	for_each_case(fill_uniform, [&](const float *a, const float *, std::size_t n) {
		EXPECT_TRUE(close_to(k_->squared_norm(a, n), ref_dot(a, a, n), n));
	});
}

/* Exact arithmetic leaves no room: every element must be counted once. */
TEST_P(Kernels, ExactOnSmallIntegers)
{
	for_each_case(fill_integers, [&](const float *a, const float *b, std::size_t n) {
		EXPECT_EQ(k_->l2_squared(a, b, n), ref_l2(a, b, n).value);
		EXPECT_EQ(k_->inner_product(a, b, n), ref_dot(a, b, n).value);
		EXPECT_EQ(k_->l1(a, b, n), ref_l1(a, b, n).value);
		EXPECT_EQ(k_->squared_norm(b, n), ref_dot(b, b, n).value);
		float dot, na, nb;
		k_->cosine_parts(a, b, n, &dot, &na, &nb);
		EXPECT_EQ(dot, ref_dot(a, b, n).value);
		EXPECT_EQ(na, ref_dot(a, a, n).value);
		EXPECT_EQ(nb, ref_dot(b, b, n).value);
	});
}

TEST_P(Kernels, ZeroLength)
{
	float x[1] = {5.0f}, dot = -1, na = -1, nb = -1;
	EXPECT_EQ(k_->l2_squared(x, x, 0), 0.0f);
	EXPECT_EQ(k_->inner_product(x, x, 0), 0.0f);
	EXPECT_EQ(k_->l1(x, x, 0), 0.0f);
	EXPECT_EQ(k_->squared_norm(x, 0), 0.0f);
	k_->cosine_parts(x, x, 0, &dot, &na, &nb);
	EXPECT_EQ(dot, 0.0f);
	EXPECT_EQ(na, 0.0f);
	EXPECT_EQ(nb, 0.0f);
}

TEST_P(Kernels, ZeroIdenticalAndOppositeVectors)
{
	for (std::size_t n : {1, 7, 16, 33, 768, 1537})
	{
		SCOPED_TRACE(n);
		std::mt19937 rng(static_cast<std::uint32_t>(n));
		std::vector<float> zero(n, 0.0f), a(n), neg(n);
		fill_uniform(a.data(), n, rng);
		for (std::size_t i = 0; i < n; i++)
			neg[i] = -a[i];
		float dot, na, nb;

		EXPECT_EQ(k_->l2_squared(zero.data(), zero.data(), n), 0.0f);
		EXPECT_EQ(k_->l1(zero.data(), zero.data(), n), 0.0f);
		k_->cosine_parts(zero.data(), a.data(), n, &dot, &na, &nb);
		EXPECT_EQ(dot, 0.0f);
		EXPECT_EQ(na, 0.0f);
		EXPECT_GT(nb, 0.0f);

		/* Same operations in the same order: exactly equal parts. */
		EXPECT_EQ(k_->l2_squared(a.data(), a.data(), n), 0.0f);
		EXPECT_EQ(k_->l1(a.data(), a.data(), n), 0.0f);
		k_->cosine_parts(a.data(), a.data(), n, &dot, &na, &nb);
		EXPECT_EQ(dot, na);
		EXPECT_EQ(na, nb);

		k_->cosine_parts(a.data(), neg.data(), n, &dot, &na, &nb);
		EXPECT_EQ(dot, -na);
		EXPECT_EQ(na, nb);
		/* a - (-a) = 2a: the inner product's sums (same unroll), scaled by 4 exactly. */
		EXPECT_EQ(k_->l2_squared(a.data(), neg.data(), n),
				  4.0f * k_->inner_product(a.data(), a.data(), n));
	}
}

INSTANTIATE_TEST_SUITE_P(AllIsas, Kernels, ::testing::ValuesIn(all_isas), isa_param_name);

/* ---- dispatch ---- */

/* The CPU flags the kernel reports; it hides those whose state the OS does not save. */
std::set<std::string>
cpuinfo_flags()
{
	std::ifstream in("/proc/cpuinfo");
	std::string line;
	while (std::getline(in, line))
		if (line.rfind("flags", 0) == 0)
		{
			std::istringstream words(line.substr(line.find(':') + 1));
			return {std::istream_iterator<std::string>(words),
					std::istream_iterator<std::string>()};
		}
	return {};
}

TEST(Dispatch, PicksTheBestAvailable)
{
	Isa best = Isa::scalar;
	for (Isa isa : all_isas)
		if (kernels_for(isa))
			best = isa;
	EXPECT_EQ(kernels().isa, best);
	EXPECT_EQ(&kernels(), kernels_for(best));
	EXPECT_NE(kernels_for(Isa::scalar), nullptr);
	EXPECT_EQ(kernels_for(static_cast<Isa>(99)), nullptr);
}

/* Checked against the kernel's view of the CPU, not against our own detection. */
TEST(Dispatch, AgreesWithProcCpuinfo)
{
	auto flags = cpuinfo_flags();
	if (flags.empty())
		GTEST_SKIP() << "no /proc/cpuinfo";
	auto has = [&](std::initializer_list<const char *> names) {
		return std::all_of(names.begin(), names.end(),
						   [&](const char *f) { return flags.count(f) > 0; });
	};
	bool avx2 = has({"avx2", "fma"});
	bool avx512 = avx2 && has({"avx512f", "avx512cd", "avx512dq", "avx512bw"});
	EXPECT_EQ(kernels_for(Isa::sse2) != nullptr, has({"sse2"}));
	EXPECT_EQ(kernels_for(Isa::avx2) != nullptr, avx2);
	EXPECT_EQ(kernels_for(Isa::avx512) != nullptr, avx512);
	EXPECT_EQ(kernels().isa, avx512 ? Isa::avx512 : avx2 ? Isa::avx2 : Isa::sse2);
	std::printf("[          ] kernels(): %s\n", isa_name(kernels().isa));
}

TEST(Dispatch, IsaNames)
{
	EXPECT_STREQ(isa_name(Isa::scalar), "scalar");
	EXPECT_STREQ(isa_name(Isa::sse2), "sse2");
	EXPECT_STREQ(isa_name(Isa::avx2), "avx2");
	EXPECT_STREQ(isa_name(Isa::avx512), "avx512");
}

TEST(Dispatch, WrappersUseTheBestKernels)
{
	std::mt19937 rng(1);
	Pair p(300, 1, 2);
	fill_uniform(p.a(), 300, rng);
	fill_uniform(p.b(), 300, rng);
	const DistanceKernels &k = kernels();
	EXPECT_EQ(l2_squared_distance(p.a(), p.b(), 300), k.l2_squared(p.a(), p.b(), 300));
	EXPECT_EQ(inner_product(p.a(), p.b(), 300), k.inner_product(p.a(), p.b(), 300));
	EXPECT_EQ(l1_distance(p.a(), p.b(), 300), k.l1(p.a(), p.b(), 300));
	EXPECT_EQ(squared_norm(p.a(), 300), k.squared_norm(p.a(), 300));
}

/* ---- cosine_distance ---- */

TEST(CosineDistance, MatchesDoubleReference)
{
	for (std::size_t n : test_lengths())
	{
		SCOPED_TRACE(n);
		std::mt19937 rng(static_cast<std::uint32_t>(n));
		Pair p(n, 1, 1);
		fill_uniform(p.a(), n, rng);
		fill_uniform(p.b(), n, rng);
		/* |dot| <= |a||b|, so each part's relative error moves the cosine by that much. */
		EXPECT_NEAR(cosine_distance(p.a(), p.b(), n), ref_cosine_distance(p.a(), p.b(), n),
					3 * tolerance(n));
	}
}

TEST(CosineDistance, ZeroVectorIsNaN)
{
	std::vector<float> zero(10, 0.0f), one(10, 1.0f);
	EXPECT_TRUE(std::isnan(cosine_distance(zero.data(), one.data(), 10)));
	EXPECT_TRUE(std::isnan(cosine_distance(one.data(), zero.data(), 10)));
	EXPECT_TRUE(std::isnan(cosine_distance(zero.data(), zero.data(), 10)));
	EXPECT_TRUE(std::isnan(cosine_distance(one.data(), one.data(), 0)));
	/* |a|^2 underflows float to 0 though a is not zero: still NaN, not 0 or inf. */
	std::vector<float> tiny(10, 1e-30f);
	EXPECT_TRUE(std::isnan(cosine_distance(tiny.data(), one.data(), 10)));
}

TEST(CosineDistance, KnownValues)
{
	const float x[] = {1, 0}, y[] = {0, 1}, z[] = {-1, 0}, w[] = {1, 1};
	EXPECT_EQ(cosine_distance(x, y, 2), 1.0);
	EXPECT_EQ(cosine_distance(x, z, 2), 2.0);
	EXPECT_EQ(cosine_distance(x, x, 2), 0.0);
	EXPECT_NEAR(cosine_distance(x, w, 2), 1.0 - std::sqrt(0.5), 1e-7);
}

/* Clamping keeps rounding from leaving [0, 2] for (anti)parallel vectors. */
TEST(CosineDistance, IdenticalScaledAndOpposite)
{
	for (std::size_t n : {1, 3, 17, 128, 768, 1536, 16000})
	{
		SCOPED_TRACE(n);
		std::mt19937 rng(static_cast<std::uint32_t>(n));
		std::vector<float> a(n), scaled(n), neg(n);
		fill_uniform(a.data(), n, rng);
		for (std::size_t i = 0; i < n; i++)
		{
			scaled[i] = a[i] * 3.3f;
			neg[i] = a[i] * -0.7f;
		}
		double same = cosine_distance(a.data(), a.data(), n);
		double par = cosine_distance(a.data(), scaled.data(), n);
		double opp = cosine_distance(a.data(), neg.data(), n);
		EXPECT_EQ(same, 0.0);
		EXPECT_GE(par, 0.0);
		EXPECT_NEAR(par, 0.0, 1e-6);
		EXPECT_LE(opp, 2.0);
		EXPECT_NEAR(opp, 2.0, 1e-6);
	}
}

} // namespace
