/*
 * binary_input.cpp: libFuzzer target for vecdb::core::parse_vector_binary
 * and parse_halfvec_binary.
 *
 * Each input is taken as a vector's binary (send/recv) representation and
 * as a halfvec's. Each parser is given a buffer of exactly max_vector_dims
 * elements (what src/type allows), and its result is checked:
 *
 *   - binary_dims() agrees with the header;
 *   - ok means 1 <= dims <= capacity, the length is exactly 4 + dims
 *     elements, the elements are finite, and formatting them gives back the
 *     very same bytes;
 *   - with one slot less capacity, an ok input reports too_many_dims.
 */
#include "core/half.h"
#include "core/vector_format.h"
#include "fuzz_check.h"

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>

using vecdb::core::Half;
using vecdb::core::ParseResult;
using vecdb::core::ParseStatus;

using vecdb::fuzz::check;

namespace {

/* The two formats, as the checks below see them. */
struct VectorFormat
{
	using Element = float;
	static ParseResult parse(const unsigned char *b, std::size_t n, float *out, std::size_t cap)
	{
		return vecdb::core::parse_vector_binary(b, n, out, cap);
	}
	static void format(const float *x, std::size_t n, unsigned char *out)
	{
		vecdb::core::format_vector_binary(x, n, out);
	}
	static bool finite(float x) { return std::isfinite(x); }
};

struct HalfvecFormat
{
	using Element = Half;
	static ParseResult parse(const unsigned char *b, std::size_t n, Half *out, std::size_t cap)
	{
		return vecdb::core::parse_halfvec_binary(b, n, out, cap);
	}
	static void format(const Half *x, std::size_t n, unsigned char *out)
	{
		vecdb::core::format_halfvec_binary(x, n, out);
	}
	static bool finite(Half x) { return std::isfinite(vecdb::core::half_to_float(x)); }
};

template <typename Format>
void
check_format(const unsigned char *buf, std::size_t size, long hdr)
{
	using E = typename Format::Element;
	const std::size_t capacity = vecdb::core::max_vector_dims;
	std::unique_ptr<E[]> out(new E[capacity]);
	ParseResult r = Format::parse(buf, size, out.get(), capacity);

	if (size < 4)
		check(r.status != ParseStatus::ok, "ok on a message shorter than the header");
	if (r.status != ParseStatus::ok)
		return;

	check(r.dims >= 1, "ok with no dimensions");
	check(r.dims <= capacity, "ok with more dims than capacity");
	check(static_cast<long>(r.dims) == hdr, "ok with dims other than the header's");
	check(size == 4 + sizeof(E) * r.dims, "ok with a wrong length");
	check(buf[2] == 0 && buf[3] == 0, "ok with a non-zero reserved field");
	for (std::size_t i = 0; i < r.dims; i++)
		check(Format::finite(out[i]), "ok with a non-finite element");

	std::unique_ptr<unsigned char[]> again(new unsigned char[size]);
	Format::format(out.get(), r.dims, again.get());
	check(std::memcmp(again.get(), buf, size) == 0, "re-encoding gives other bytes");

	if (r.dims > 1)
	{
		std::unique_ptr<E[]> small(new E[r.dims - 1]);
		ParseResult r2 = Format::parse(buf, size, small.get(), r.dims - 1);
		check(r2.status == ParseStatus::too_many_dims, "capacity dims-1 not too_many_dims");
	}
}

} // namespace

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

	check_format<VectorFormat>(buf.get(), size, hdr);
	check_format<HalfvecFormat>(buf.get(), size, hdr);
	return 0;
}
