/*
 * test_vector_format.cpp: the text and binary parsers, as vector_format.h
 * documents them.
 */
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <ostream>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "core/vector_format.h"

namespace vecdb::core {
/* Statuses by name in failure messages. */
void
PrintTo(ParseStatus s, std::ostream *os)
{
	static const char *const names[] = {
		"ok",           "syntax", "no_open_bracket", "junk_after", "empty",     "too_many_dims",
		"out_of_range", "nan",    "infinite",        "bad_header", "bad_length"};
	*os << names[static_cast<int>(s)];
}
} // namespace vecdb::core

using namespace vecdb::core;

namespace {

/* Parse with room for `capacity` elements; canaries catch writes past it. */
struct Parsed
{
	ParseResult r;
	std::vector<float> out;
};

constexpr float canary = -12345.0f;

Parsed
parse_text(const std::string &text, std::size_t capacity = 64)
{
	std::vector<float> buf(capacity + 4, canary);
	Parsed p{parse_vector_text(text.c_str(), buf.data(), capacity), {}};
	for (std::size_t i = capacity; i < buf.size(); i++)
		EXPECT_EQ(buf[i], canary) << "wrote past capacity " << capacity << " for '" << text << "'";
	if (p.r.status == ParseStatus::ok)
		p.out.assign(buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(p.r.dims));
	return p;
}

ParseStatus
text_status(const std::string &text, std::size_t capacity = 64)
{
	return parse_text(text, capacity).r.status;
}

/* ---- text ---- */

TEST(TextFormat, ParsesElements)
{
	auto p = parse_text("[1,2,3]");
	ASSERT_EQ(p.r.status, ParseStatus::ok);
	EXPECT_EQ(p.r.dims, 3u);
	EXPECT_EQ(p.out, (std::vector<float>{1, 2, 3}));

	p = parse_text("[1, 2.5, -3e-2]");
	ASSERT_EQ(p.r.status, ParseStatus::ok);
	EXPECT_EQ(p.out, (std::vector<float>{1.0f, 2.5f, -3e-2f}));

	p = parse_text("[42]");
	ASSERT_EQ(p.r.status, ParseStatus::ok);
	EXPECT_EQ(p.out, std::vector<float>{42.0f});
}

TEST(TextFormat, WhitespaceAroundElementsAndBrackets)
{
	for (const char *text : {" [ 1 , 2 ] ", "[1 ,2]", "[ 1,2 ]", "\t[1,\n2]\n", "[1,2] "})
	{
		auto p = parse_text(text);
		ASSERT_EQ(p.r.status, ParseStatus::ok) << "'" << text << "'";
		EXPECT_EQ(p.out, (std::vector<float>{1, 2})) << "'" << text << "'";
	}
}

TEST(TextFormat, FloatRoundTrip)
{
	/* What strtof makes of each token, bit for bit. */
	for (const char *token : {"0.1", "-0", "3.4028235e38", "1.17549435e-38", "16777217", "1e-7"})
	{
		auto p = parse_text(std::string("[") + token + "]");
		ASSERT_EQ(p.r.status, ParseStatus::ok) << token;
		float want = std::strtof(token, nullptr), got = p.out[0];
		EXPECT_EQ(std::memcmp(&want, &got, sizeof got), 0) << token << " -> " << got;
	}
}

TEST(TextFormat, EmptyVector)
{
	EXPECT_EQ(text_status("[]"), ParseStatus::empty);
	EXPECT_EQ(text_status("[ ]"), ParseStatus::empty);
}

TEST(TextFormat, NaNAndInfinity)
{
	EXPECT_EQ(text_status("[1,NaN]"), ParseStatus::nan);
	EXPECT_EQ(text_status("[nan]"), ParseStatus::nan);
	EXPECT_EQ(text_status("[1,Infinity]"), ParseStatus::infinite);
	EXPECT_EQ(text_status("[-inf]"), ParseStatus::infinite);
	EXPECT_EQ(text_status("[-Infinity, 1]"), ParseStatus::infinite);
}

TEST(TextFormat, OutOfRangePointsAtTheToken)
{
	std::string text = "[1e39]";
	auto r = parse_text(text).r;
	EXPECT_EQ(r.status, ParseStatus::out_of_range);
	EXPECT_EQ(text.substr(r.token_offset, r.token_length), "1e39");

	text = "[2,-1e39,3]";
	r = parse_text(text).r;
	EXPECT_EQ(r.status, ParseStatus::out_of_range);
	EXPECT_EQ(text.substr(r.token_offset, r.token_length), "-1e39");
}

TEST(TextFormat, SyntaxErrors)
{
	for (const char *text : {"[1,2", "[1,,2]", "[1 2]", "[a]", "[", "[,]", "[1,]", "[,1]", "[[1]]",
							 "[1;2]", "[1e]", "[--1]", "[1 ,, 2]"})
		EXPECT_EQ(text_status(text), ParseStatus::syntax) << "'" << text << "'";
	/* the two that pgvector names in a DETAIL */
	for (const char *text : {"1,2", "", "]", "(1,2)", "  {1}"})
		EXPECT_EQ(text_status(text), ParseStatus::no_open_bracket) << "'" << text << "'";
	for (const char *text : {"[1,2]x", "[1]]", "[1,2]  ,", "[1] [2]"})
		EXPECT_EQ(text_status(text), ParseStatus::junk_after) << "'" << text << "'";
	/* '[]' is the empty vector's error whatever follows, as in pgvector */
	EXPECT_EQ(text_status("[]"), ParseStatus::empty);
	EXPECT_EQ(text_status("[ ] x"), ParseStatus::empty);
}

TEST(TextFormat, TooManyDims)
{
	EXPECT_EQ(text_status("[1,2,3]", 3), ParseStatus::ok);
	EXPECT_EQ(text_status("[1,2,3]", 2), ParseStatus::too_many_dims);
	EXPECT_EQ(text_status("[1]", 0), ParseStatus::too_many_dims);

	std::string big = "[1";
	for (std::size_t i = 1; i <= max_vector_dims; i++)
		big += ",1";
	big += "]";
	EXPECT_EQ(text_status(big, max_vector_dims), ParseStatus::too_many_dims);
	auto p = parse_text(big, max_vector_dims + 1);
	ASSERT_EQ(p.r.status, ParseStatus::ok);
	EXPECT_EQ(p.r.dims, max_vector_dims + 1);
}

TEST(TextFormat, DimsUpperBound)
{
	for (const char *text : {"[1,2,3]", "[1]", " [ 1 , 2 ] ", "[1,2,3,4,5,6,7,8,9,10]", "[]"})
	{
		auto p = parse_text(text);
		std::size_t dims = p.r.status == ParseStatus::ok ? p.r.dims : 0;
		EXPECT_GE(text_dims_upper_bound(text), dims) << text;
	}
	EXPECT_GE(text_dims_upper_bound("[1,2,3]"), 3u);
	/* Sized by the bound, the parser never runs out of room. */
	const char *text = "[0.5, -1, 2e3, 7]";
	auto p = parse_text(text, text_dims_upper_bound(text));
	ASSERT_EQ(p.r.status, ParseStatus::ok);
	EXPECT_EQ(p.r.dims, 4u);
}

/* ---- binary ---- */

std::vector<unsigned char>
encode(const std::vector<float> &x)
{
	std::vector<unsigned char> buf(binary_vector_size(x.size()));
	format_vector_binary(x.data(), x.size(), buf.data());
	return buf;
}

ParseResult
decode(const std::vector<unsigned char> &buf, std::vector<float> &out)
{
	return parse_vector_binary(buf.data(), buf.size(), out.data(), out.size());
}

TEST(BinaryFormat, NetworkByteOrder)
{
	auto buf = encode({1.0f, -2.0f, 0.5f});
	const std::vector<unsigned char> want = {0x00, 0x03, 0x00, 0x00, 0x3f, 0x80, 0x00, 0x00,
											 0xc0, 0x00, 0x00, 0x00, 0x3f, 0x00, 0x00, 0x00};
	EXPECT_EQ(buf, want);
	EXPECT_EQ(binary_dims(buf.data(), buf.size()), 3);
}

TEST(BinaryFormat, RoundTripsRandomVectors)
{
	std::mt19937 rng(7);
	std::uniform_real_distribution<float> value(-1e6f, 1e6f);
	for (std::size_t n : {1, 2, 3, 16, 100, 768, 1536, 16000})
	{
		std::vector<float> x(n), y(n, canary);
		for (float &v : x)
			v = value(rng);
		x[0] = -0.0f;
		auto buf = encode(x);
		ASSERT_EQ(buf.size(), 4 + 4 * n);
		EXPECT_EQ(binary_dims(buf.data(), buf.size()), static_cast<long>(n));
		auto r = decode(buf, y);
		ASSERT_EQ(r.status, ParseStatus::ok) << n;
		EXPECT_EQ(r.dims, n);
		EXPECT_EQ(std::memcmp(x.data(), y.data(), n * sizeof(float)), 0) << n;
	}
}

TEST(BinaryFormat, BadLength)
{
	auto buf = encode({1, 2, 3});
	std::vector<float> out(8);
	for (std::size_t len : {4, 5, 15})
		EXPECT_EQ(parse_vector_binary(buf.data(), len, out.data(), out.size()).status,
				  ParseStatus::bad_length)
			<< len;
	buf.push_back(0);
	EXPECT_EQ(decode(buf, out).status, ParseStatus::bad_length);
	buf.resize(20, 0);
	EXPECT_EQ(decode(buf, out).status, ParseStatus::bad_length);
}

TEST(BinaryFormat, BadHeader)
{
	std::vector<float> out(8);
	auto buf = encode({1, 2, 3});
	buf[3] = 1; /* reserved field */
	EXPECT_EQ(decode(buf, out).status, ParseStatus::bad_header);
	buf[3] = 0;
	buf[2] = 0x80;
	EXPECT_EQ(decode(buf, out).status, ParseStatus::bad_header);

	/* dims are unsigned, as pgvector reads them: 0xffff and 0xfffd are too
	 * many, whatever the length */
	for (std::size_t len : {4, 16})
	{
		std::vector<unsigned char> huge(len, 0);
		huge[0] = huge[1] = 0xff;
		EXPECT_EQ(decode(huge, out).status, ParseStatus::too_many_dims) << len;
		huge[1] = 0xfd;
		EXPECT_EQ(decode(huge, out).status, ParseStatus::too_many_dims) << len;
	}
}

TEST(BinaryFormat, NaNAndInfinity)
{
	std::vector<float> out(4);
	float inf = std::numeric_limits<float>::infinity();
	EXPECT_EQ(decode(encode({1, std::nanf("")}), out).status, ParseStatus::nan);
	EXPECT_EQ(decode(encode({inf, 1}), out).status, ParseStatus::infinite);
	EXPECT_EQ(decode(encode({1, 2, -inf}), out).status, ParseStatus::infinite);
}

TEST(BinaryFormat, TooManyDims)
{
	std::vector<float> out(2);
	EXPECT_EQ(decode(encode({1, 2}), out).status, ParseStatus::ok);
	EXPECT_EQ(decode(encode({1, 2, 3}), out).status, ParseStatus::too_many_dims);
}

TEST(BinaryFormat, DimsNeedsAFullHeader)
{
	const unsigned char buf[] = {0x00, 0x02, 0x00, 0x00};
	for (std::size_t len = 0; len < 4; len++)
		EXPECT_EQ(binary_dims(buf, len), -1) << len;
	EXPECT_EQ(binary_dims(buf, 4), 2);
}

} // namespace
