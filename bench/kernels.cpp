/*
 * kernels.cpp: Google Benchmark of the distance kernels (make bench-kernels).
 *
 * For d = 128, 768, 1536 and each kernel, times every kernel table this CPU
 * runs (scalar loop, sse2, avx2, avx512) plus "best", the public entry points
 * that go through kernels() as the rest of vecdb does. Two data sets:
 *
 *   hot   a query against 4 vectors, all in L1: the kernels' compute speed.
 *         bytes/s counts both operands.
 *   cold  the query against a 1 GiB array read in order (as an IVF list scan
 *         would), bigger than this machine's L3: memory bandwidth.
 *         bytes/s counts the streamed vectors only (the query stays cached).
 *
 * At the end it prints each table's speedup over the scalar loop (hot data).
 *
 * VECDB_BENCH_DIMS=784,100 measures those dimensions instead (bench/run
 * profile times one distance at its data's dimensions this way).
 */
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <iterator>
#include <string>
#include <vector>

#include <unistd.h>

#include <benchmark/benchmark.h>

#include "core/distance.h"

using namespace vecdb::core;

namespace {

constexpr std::size_t default_dims[] = {128, 768, 1536};
constexpr const char *kernel_names[] = {"l2_squared", "inner_product", "cosine", "l1"};
constexpr Isa isas[] = {Isa::scalar, Isa::sse2, Isa::avx2, Isa::avx512};
constexpr std::size_t hot_vectors = 4;
constexpr std::size_t cold_bytes = std::size_t(1) << 30;

struct FreeDeleter
{
	void operator()(float *p) const { std::free(p); }
};
using Floats = std::unique_ptr<float[], FreeDeleter>;

/* 64-byte aligned, filled with values in [-1, 1) (no denormals to slow things). */
Floats
make_floats(std::size_t n, std::uint64_t seed)
{
	Floats x(static_cast<float *>(std::aligned_alloc(64, (n * sizeof(float) + 63) / 64 * 64)));
	if (!x)
	{
		std::fprintf(stderr, "out of memory\n");
		std::exit(1);
	}
	for (std::size_t i = 0; i < n; i++)
	{
		seed ^= seed << 13, seed ^= seed >> 7, seed ^= seed << 17; /* xorshift64 */
		x[i] = static_cast<float>(seed >> 40) / float(1 << 23) - 1.0f;
	}
	return x;
}

/* The cold array, shared by every dimension and allocated on first use. */
const float *
cold_data()
{
	static Floats data = make_floats(cold_bytes / sizeof(float), 42);
	return data.get();
}

/* The dimensions to measure: VECDB_BENCH_DIMS (comma-separated), else the defaults. */
const std::vector<std::size_t> &
dims_list()
{
	static const std::vector<std::size_t> dims = [] {
		std::vector<std::size_t> out;
		if (const char *env = std::getenv("VECDB_BENCH_DIMS"))
			for (const char *p = env; *p;)
			{
				char *end;
				unsigned long d = std::strtoul(p, &end, 10);
				if (end == p || d == 0)
				{
					std::fprintf(stderr, "VECDB_BENCH_DIMS: not a list of positive numbers: %s\n",
								 env);
					std::exit(2);
				}
				out.push_back(d);
				p = *end == ',' ? end + 1 : end;
			}
		if (out.empty())
			out.assign(std::begin(default_dims), std::end(default_dims));
		return out;
	}();
	return dims;
}

/* One distance computation: a kernel of a table k, or the public entry point. */
using Fn = double (*)(const DistanceKernels *k, const float *a, const float *b, std::size_t n);

/* Kernel i of kernel_names through table k; cosine sums its parts to use them all. */
template <int i>
double
via_table(const DistanceKernels *k, const float *a, const float *b, std::size_t n)
{
	if constexpr (i == 0)
		return k->l2_squared(a, b, n);
	else if constexpr (i == 1)
		return k->inner_product(a, b, n);
	else if constexpr (i == 2)
	{
		float dot, na, nb;
		k->cosine_parts(a, b, n, &dot, &na, &nb);
		return dot + na + nb;
	}
	else
		return k->l1(a, b, n);
}

template <int i>
double
via_public(const DistanceKernels *, const float *a, const float *b, std::size_t n)
{
	if constexpr (i == 0)
		return l2_squared_distance(a, b, n);
	else if constexpr (i == 1)
		return inner_product(a, b, n);
	else if constexpr (i == 2)
		return cosine_distance(a, b, n);
	else
		return l1_distance(a, b, n);
}

constexpr Fn table_fns[] = {via_table<0>, via_table<1>, via_table<2>, via_table<3>};
constexpr Fn public_fns[] = {via_public<0>, via_public<1>, via_public<2>, via_public<3>};

void
bench_hot(benchmark::State &state, Fn fn, const DistanceKernels *k, std::size_t d)
{
	Floats data = make_floats((hot_vectors + 1) * d, d);
	const float *query = data.get(), *base = data.get() + d;
	std::size_t i = 0;
	for (auto _ : state)
	{
		benchmark::DoNotOptimize(fn(k, query, base + (i++ % hot_vectors) * d, d));
	}
	state.SetItemsProcessed(state.iterations());
	state.SetBytesProcessed(state.iterations() * std::int64_t(2 * d * sizeof(float)));
}

void
bench_cold(benchmark::State &state, Fn fn, const DistanceKernels *k, std::size_t d)
{
	Floats query = make_floats(d, 7);
	const float *base = cold_data();
	const std::size_t count = cold_bytes / (d * sizeof(float));
	std::size_t i = 0;
	for (auto _ : state)
	{
		benchmark::DoNotOptimize(fn(k, query.get(), base + i * d, d));
		if (++i == count)
			i = 0;
	}
	state.SetItemsProcessed(state.iterations());
	state.SetBytesProcessed(state.iterations() * std::int64_t(d * sizeof(float)));
}

/* Console output as usual, plus a speedup table once everything has run. */
class SpeedupReporter : public benchmark::ConsoleReporter
{
public:
	/* Colour only on a terminal, as the default reporter would. */
	SpeedupReporter() : ConsoleReporter(isatty(fileno(stdout)) ? OO_ColorTabular : OO_Tabular) {}

	void ReportRuns(const std::vector<Run> &runs) override
	{
		ConsoleReporter::ReportRuns(runs);
		/* CPU time (the machine may be shared); with --benchmark_repetitions the
		 * median, which is also all this reporter sees under
		 * --benchmark_display_aggregates_only. */
		for (const Run &r : runs)
			if (!r.error_occurred &&
				(r.run_type == Run::RT_Iteration ? r.repetitions <= 1
												 : r.aggregate_name == "median"))
				ns_[r.run_name.function_name] = r.GetAdjustedCPUTime();
	}

	void Finalize() override
	{
		ConsoleReporter::Finalize();
		std::printf("\nSpeedup over the scalar loop, hot data (scalar: CPU ns per call, median if "
					"repeated)\n");
		std::printf("%-14s %5s %10s %8s %8s %8s %8s\n", "kernel", "d", "scalar ns", "sse2", "avx2",
					"avx512", "best");
		for (const char *kernel : kernel_names)
			for (std::size_t d : dims_list())
			{
				auto key = [&](const char *v) {
					return std::string(kernel) + "/" + v + "/" + std::to_string(d) + "/hot";
				};
				auto scalar = ns_.find(key("scalar"));
				if (scalar == ns_.end())
					continue;
				std::printf("%-14s %5zu %10.1f", kernel, d, scalar->second);
				for (const char *v : {"sse2", "avx2", "avx512", "best"})
				{
					auto it = ns_.find(key(v));
					if (it == ns_.end())
						std::printf(" %8s", "-");
					else
						std::printf(" %7.1fx", scalar->second / it->second);
				}
				std::printf("\n");
			}
	}

private:
	std::map<std::string, double> ns_;
};

} // namespace

int
main(int argc, char **argv)
{
	for (std::size_t i = 0; i < std::size(kernel_names); i++)
		for (std::size_t d : dims_list())
			for (const char *mode : {"hot", "cold"})
			{
				auto bench = std::string(mode) == "hot" ? bench_hot : bench_cold;
				auto add = [&](const char *variant, const DistanceKernels *k, bool best) {
					std::string name = std::string(kernel_names[i]) + "/" + variant + "/" +
									   std::to_string(d) + "/" + mode;
					benchmark::RegisterBenchmark(name.c_str(), bench,
												 best ? public_fns[i] : table_fns[i], k, d);
				};
				for (Isa isa : isas)
					if (const DistanceKernels *k = kernels_for(isa))
						add(isa_name(isa), k, false);
				add("best", &kernels(), true);
			}

	benchmark::Initialize(&argc, argv);
	if (benchmark::ReportUnrecognizedArguments(argc, argv))
		return 1;
	std::printf("kernels(): %s\n", isa_name(kernels().isa));
	SpeedupReporter reporter;
	benchmark::RunSpecifiedBenchmarks(&reporter);
	benchmark::Shutdown();
	return 0;
}
