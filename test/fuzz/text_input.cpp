/*
 * text_input.cpp: libFuzzer target for vecdb::core::parse_vector_text.
 *
 * The input is any byte string. It is made NUL-terminated (the parser's
 * contract), parsed into a buffer sized exactly as src/type sizes it, and the
 * result is checked against the parser's promises:
 *
 *   - ok means 1 <= dims <= capacity, and every element is finite;
 *   - a failure's token lies inside the string;
 *   - an ok result printed back as text (9 significant digits, enough for
 *     any float) parses again to the same bits;
 *   - with one slot less capacity, an ok input reports too_many_dims.
 *
 * ASan catches any read past the input or write past the buffer (the buffer
 * is a heap block of exactly `capacity` floats). A broken promise aborts.
 */
#include "core/vector_format.h"
#include "fuzz_check.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

using vecdb::core::ParseResult;
using vecdb::core::ParseStatus;

using vecdb::fuzz::check;

extern "C" int
LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size)
{
	std::string text(reinterpret_cast<const char *>(data), size);
	const char *str = text.c_str(); /* NUL-terminated; may end early at an embedded NUL */
	std::size_t len = std::strlen(str);

	std::size_t bound = vecdb::core::text_dims_upper_bound(str);
	check(bound >= 1, "text_dims_upper_bound() is 0");
	std::size_t capacity = std::min(bound, vecdb::core::max_vector_dims);

	std::unique_ptr<float[]> out(new float[capacity]);
	ParseResult r = vecdb::core::parse_vector_text(str, out.get(), capacity);

	check(r.token_offset <= len, "token_offset past the end of the text");
	check(r.token_length <= len - r.token_offset, "token runs past the end of the text");

	if (r.status != ParseStatus::ok)
		return 0;

	check(r.dims >= 1, "ok with no dimensions");
	check(r.dims <= capacity, "ok with more dims than capacity");
	for (std::size_t i = 0; i < r.dims; i++)
		check(std::isfinite(out[i]), "ok with a non-finite element");

	/* Print back, parse again: the same bits must come out. */
	std::string again = "[";
	char buf[64];
	for (std::size_t i = 0; i < r.dims; i++)
	{
		std::snprintf(buf, sizeof(buf), "%s%.9g", i ? "," : "", static_cast<double>(out[i]));
		again += buf;
	}
	again += "]";
	std::unique_ptr<float[]> back(new float[r.dims]);
	ParseResult r2 = vecdb::core::parse_vector_text(again.c_str(), back.get(), r.dims);
	check(r2.status == ParseStatus::ok, "printed vector does not parse");
	check(r2.dims == r.dims, "printed vector parses to other dims");
	check(std::memcmp(back.get(), out.get(), r.dims * sizeof(float)) == 0,
		  "printed vector parses to other bits");

	/* One slot short: must refuse, never write past it. */
	if (r.dims > 1)
	{
		std::unique_ptr<float[]> small(new float[r.dims - 1]);
		ParseResult r3 = vecdb::core::parse_vector_text(str, small.get(), r.dims - 1);
		check(r3.status == ParseStatus::too_many_dims, "capacity dims-1 not too_many_dims");
	}
	return 0;
}
