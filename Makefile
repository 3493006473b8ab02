# vecdb: PGXS build of a C++17 extension.
#
#   make && make install       build and install vecdb.so and the SQL scripts
#   make installcheck          pg_regress against a running server (PGHOST/PGPORT)
#   make unittest              GoogleTest suite for src/core (no server needed)
#   make bench-kernels         Google Benchmark of the distance kernels
#   make bench-quantizer       timings of k-means and product quantization
#   make fuzz                  libFuzzer targets (clang-14) for the input parsers
#   make VECDB_SANITIZE=1      an ASan + UBSan build (see test/run --asan)
#
# The full test command, which also installs dependencies and starts its own
# throwaway server, is test/run (see README.md).

EXTENSION = vecdb
MODULE_big = vecdb
DATA = $(wildcard sql/vecdb--*.sql)

CORE_SRCS = $(sort $(wildcard src/core/*.cpp))
PG_SRCS = $(sort $(wildcard src/*.cpp src/pg/*.cpp src/type/*.cpp src/index/*.cpp src/tier/*.cpp src/hnsw/*.cpp src/ivfpq/*.cpp src/worker/*.cpp))
OBJS = $(CORE_SRCS:.cpp=.o) $(PG_SRCS:.cpp=.o)

# Every sql/*.sql except the extension scripts is a pg_regress test.
REGRESS = $(patsubst sql/%.sql,%,$(filter-out sql/vecdb--%,$(sort $(wildcard sql/*.sql))))
REGRESS_OPTS = --load-extension=vecdb

PG_CONFIG ?= pg_config

# The kernels need -O3 vectorisation only where xsimd does not already give it;
# the shipped build never uses -march=native: per-ISA translation units get
# their own -m flags and are chosen at run time (src/core/distance.cpp).
EIGEN_INCLUDE ?= /usr/include/eigen3
PG_CPPFLAGS = -I$(srcdir)/src -isystem $(EIGEN_INCLUDE)
# -Wno-register: PostgreSQL's spinlock headers use the C keyword.
PG_CXXFLAGS = -std=c++17 -O2 -Wextra -Wno-unused-parameter -Wno-missing-field-initializers -Wno-register
ifdef VECDB_WERROR
PG_CXXFLAGS += -Werror
endif
SHLIB_LINK = -lstdc++

# VECDB_SANITIZE=1: AddressSanitizer and UBSan (test/run --asan). The server
# that loads this build must have gcc's libasan preloaded (LD_PRELOAD), as
# PostgreSQL itself is not instrumented. A UBSan finding aborts, as an ASan
# one does. Build it in a tree of its own: its objects must not be mixed with
# the plain build's (test/run --asan builds in a copy).
ifdef VECDB_SANITIZE
SANITIZE_FLAGS = -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
PG_CXXFLAGS += $(SANITIZE_FLAGS) -g
SHLIB_LINK += $(SANITIZE_FLAGS)
# Not the SIMD kernels: instrumented, their unrolled templates take gcc more
# than five minutes a file. The scalar kernels (distance_scalar.cpp), which
# the GoogleTest suite checks them against, are instrumented.
SANITIZE_SKIP_OBJS = src/core/distance_sse2.o src/core/distance_avx2.o src/core/distance_avx512.o
$(SANITIZE_SKIP_OBJS): CXXFLAGS += -fno-sanitize=all
endif

# -ffp-contract=off: the "direct" column distances (PQ's lookup tables) must
# not fuse a * b + c into an FMA, so that every ISA computes the scalar
# loop's bits (src/core/distance.h); the kernels that want FMAs ask for them.
ISA_FLAGS_avx2 = -mavx2 -mfma -ffp-contract=off
ISA_FLAGS_avx512 = -mavx512f -mavx512cd -mavx512dq -mavx512bw -mavx2 -mfma -ffp-contract=off
src/core/distance_avx2.o: CXXFLAGS += $(ISA_FLAGS_avx2)
src/core/distance_avx512.o: CXXFLAGS += $(ISA_FLAGS_avx512)

# No JIT bitcode: vecdb's functions are called through fmgr, never inlined by
# PostgreSQL's JIT, and clang would have to understand the per-ISA flags.
override with_llvm = no

PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

# PGXS tracks no header dependencies here: rebuild everything when any of
# our headers changes (they are few, and a stale per-ISA object is a crash).
$(OBJS): $(wildcard $(srcdir)/src/*/*.h)

# ---------------------------------------------------------------------------
# Programs that do not run inside PostgreSQL: unit tests, kernel benchmark,
# fuzzers. They link src/core only.

BUILD = build
CORE_OBJS = $(CORE_SRCS:.cpp=.o)

$(BUILD):
	mkdir -p $@

$(BUILD)/core_tests: $(sort $(wildcard test/core/*.cpp)) $(CORE_OBJS) | $(BUILD)
	$(CXX) $(CXXFLAGS) $(PG_CXXFLAGS) -Isrc -isystem $(EIGEN_INCLUDE) -o $@ $^ -lgtest -lgtest_main -pthread

unittest: $(BUILD)/core_tests
	$(BUILD)/core_tests

$(BUILD)/bench_kernels: bench/kernels.cpp $(CORE_OBJS) | $(BUILD)
	$(CXX) $(CXXFLAGS) $(PG_CXXFLAGS) -Isrc -o $@ $^ -lbenchmark -pthread

bench-kernels: $(BUILD)/bench_kernels
	$(BUILD)/bench_kernels

$(BUILD)/bench_quantizer: bench/quantizer.cpp $(CORE_OBJS) | $(BUILD)
	$(CXX) $(CXXFLAGS) $(PG_CXXFLAGS) -Isrc -o $@ $^ -lz

bench-quantizer: $(BUILD)/bench_quantizer
	$(BUILD)/bench_quantizer

FUZZ_CXX ?= clang++-14
# UBSan findings abort, so that the fuzz run counts them as crashes.
FUZZ_FLAGS = -std=c++17 -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined -Isrc
FUZZ_TARGETS = $(patsubst test/fuzz/%.cpp,$(BUILD)/fuzz_%,$(wildcard test/fuzz/*.cpp))
# The fuzzers exercise the parsers only, which need no kernels.
FUZZ_CORE_SRCS = src/core/vector_format.cpp

$(BUILD)/fuzz_%: test/fuzz/%.cpp $(FUZZ_CORE_SRCS) src/core/vector_format.h | $(BUILD)
	$(FUZZ_CXX) $(FUZZ_FLAGS) -DVECDB_FUZZ -o $@ $< $(FUZZ_CORE_SRCS)

fuzz: $(FUZZ_TARGETS)

.PHONY: unittest bench-kernels bench-quantizer fuzz
EXTRA_CLEAN = $(BUILD)
