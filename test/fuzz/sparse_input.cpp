/*
 * sparse_input.cpp: libFuzzer target for sparse vectors' parsers
 * (core/sparse.h).
 *
 * Each input is taken as a text sparse vector and as a binary one:
 *
 *   - text: parse_sparse_text never writes past its capacity; ok means the
 *     pairs are non-zero, finite and sorted, and at most the upper bound
 *     from the commas; with a capacity one less than the pairs found, it
 *     reports too_many;
 *   - binary: a header is read exactly when 12 bytes are there; where the
 *     body fits, check_sparse's verdict holds up (a vector it passes has
 *     indices in range and ascending and values finite and non-zero), and
 *     formatting a passed vector gives back the very same bytes.
 */
#include "core/sparse.h"
#include "fuzz_check.h"

#include <cmath>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>

using namespace vecdb::core;
using vecdb::fuzz::check;

namespace {

void
fuzz_text(const std::uint8_t *data, std::size_t size)
{
	std::string text(reinterpret_cast<const char *>(data), size);
	const char *s = text.c_str(); /* stops at the first NUL, as a cstring */
	std::size_t bound = sparse_text_pairs_upper_bound(s);
	std::size_t capacity = bound < max_sparse_nnz ? bound : max_sparse_nnz;
	std::unique_ptr<SparsePair[]> pairs(new SparsePair[capacity + 1]);
	pairs[capacity] = SparsePair{12345, 6.5f}; /* a guard past the end */

	SparseTextResult r = parse_sparse_text(s, pairs.get(), capacity);
	check(pairs[capacity].index == 12345 && pairs[capacity].value == 6.5f,
		  "text: wrote past capacity");
	if (r.status != SparseTextStatus::ok)
		return;
	check(r.nnz <= capacity, "text: more pairs than capacity");
	for (std::size_t i = 0; i < r.nnz; i++)
	{
		check(pairs[i].value != 0 && std::isfinite(pairs[i].value),
			  "text: a zero or non-finite value");
		check(i == 0 || pairs[i - 1].index <= pairs[i].index, "text: pairs not sorted");
	}
	if (r.nnz > 0)
	{
		SparseTextResult less = parse_sparse_text(s, pairs.get(), r.nnz - 1);
		check(less.status == SparseTextStatus::too_many, "text: capacity not enforced");
	}
}

void
fuzz_binary(const std::uint8_t *data, std::size_t size)
{
	SparseBinaryHeader header;
	bool read = read_sparse_header(data, size, &header);
	check(read == (size >= sparse_binary_header_size), "binary: header read wrongly");
	if (!read || header.nnz < 0 || static_cast<std::size_t>(header.nnz) > max_sparse_nnz ||
		size < binary_sparse_size(static_cast<std::size_t>(header.nnz)))
		return;

	std::size_t nnz = static_cast<std::size_t>(header.nnz);
	std::unique_ptr<std::int32_t[]> indices(new std::int32_t[nnz + 1]);
	std::unique_ptr<float[]> values(new float[nnz + 1]);
	read_sparse_body(data, nnz, indices.get(), values.get());
	SparseView v{indices.get(), values.get(), nnz};
	if (check_sparse(v, header.dims, false) != SparseFault::none)
		return;
	for (std::size_t i = 0; i < nnz; i++)
	{
		check(indices[i] >= 0 && indices[i] < header.dims, "binary: index passed out of range");
		check(i == 0 || indices[i - 1] < indices[i], "binary: indices passed unordered");
		check(values[i] != 0 && std::isfinite(values[i]), "binary: value passed");
	}
	if (header.unused != 0)
		return;
	std::unique_ptr<unsigned char[]> out(new unsigned char[binary_sparse_size(nnz)]);
	format_sparse_binary(v, header.dims, out.get());
	check(std::memcmp(out.get(), data, binary_sparse_size(nnz)) == 0, "binary: no round trip");
	/* the distances of a passed vector with itself */
	check(sparse_l2_squared(v, v) == 0, "binary: nonzero distance to itself");
	check(sparse_compare(v, header.dims, v, header.dims) == 0, "binary: unequal to itself");
}

} // namespace

extern "C" int
LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size)
{
	fuzz_text(data, size);
	fuzz_binary(data, size);
	return 0;
}
