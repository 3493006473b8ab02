/*
 * binary_input.cpp: libFuzzer target for vecdb::core::parse_vector_binary.
 *
 * The input is taken as a vector's binary (send/recv) representation. The
 * parser is given a buffer of exactly max_vector_dims floats (what src/type
 * allows), and its result is checked:
 *
 *   - binary_dims() agrees with the header;
 *   - ok means 1 <= dims <= capacity, the length is exactly 4 + 4*dims, the
 *     elements are finite, and format_vector_binary() gives back the very
 *     same bytes;
 *   - with one slot less capacity, an ok input reports too_many_dims.
 */
#include "core/vector_format.h"
#include "fuzz_check.h"

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>

using vecdb::core::ParseResult;
using vecdb::core::ParseStatus;

using vecdb::fuzz::check;

extern "C" int
LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size)
{
	/* A heap copy of exactly `size` bytes, so ASan sees any over-read. */
	std::unique_ptr<unsigned char[]> buf(new unsigned char[size ? size : 1]);
	if (size)
		std::memcpy(buf.get(), data, size);

	long hdr = vecdb::core::binary_dims(buf.get(), size);
	if (size < 4)
		check(hdr == -1, "binary_dims() of a short message is not -1");
	else
		check(hdr == ((buf[0] << 8) | buf[1]), "binary_dims() disagrees with the header");

	const std::size_t capacity = vecdb::core::max_vector_dims;
	std::unique_ptr<float[]> out(new float[capacity]);
	ParseResult r = vecdb::core::parse_vector_binary(buf.get(), size, out.get(), capacity);

	if (size < 4)
		check(r.status != ParseStatus::ok, "ok on a message shorter than the header");
	if (r.status != ParseStatus::ok)
		return 0;

	check(r.dims >= 1, "ok with no dimensions");
	check(r.dims <= capacity, "ok with more dims than capacity");
	check(static_cast<long>(r.dims) == hdr, "ok with dims other than the header's");
	check(size == vecdb::core::binary_vector_size(r.dims), "ok with a wrong length");
	check(buf[2] == 0 && buf[3] == 0, "ok with a non-zero reserved field");
	for (std::size_t i = 0; i < r.dims; i++)
		check(std::isfinite(out[i]), "ok with a non-finite element");

	std::unique_ptr<unsigned char[]> again(new unsigned char[size]);
	vecdb::core::format_vector_binary(out.get(), r.dims, again.get());
	check(std::memcmp(again.get(), buf.get(), size) == 0, "re-encoding gives other bytes");

	if (r.dims > 1)
	{
		std::unique_ptr<float[]> small(new float[r.dims - 1]);
		ParseResult r2 = vecdb::core::parse_vector_binary(buf.get(), size, small.get(), r.dims - 1);
		check(r2.status == ParseStatus::too_many_dims, "capacity dims-1 not too_many_dims");
	}
	return 0;
}
