/*
 * sparse.cpp: sparse vectors' distances, order and formats (sparse.h).
 */
#include "core/sparse.h"
#include "core/wire.h"

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cmath>
#include <cstdlib>
#include <cstring>

namespace vecdb::core {

using wire::load_be32;
using wire::skip_space;
using wire::store_be32;

namespace {

/*
 * The merge join under every distance: both(x, y) for an index the two
 * share, only_a(x) and only_b(y) for one that just one of them holds.
 */
template <typename Both, typename OnlyA, typename OnlyB>
void
merge(SparseView a, SparseView b, Both both, OnlyA only_a, OnlyB only_b) noexcept
{
	std::size_t i = 0;
	std::size_t j = 0;
	while (i < a.nnz && j < b.nnz)
	{
		if (a.indices[i] == b.indices[j])
			both(a.values[i++], b.values[j++]);
		else if (a.indices[i] < b.indices[j])
			only_a(a.values[i++]);
		else
			only_b(b.values[j++]);
	}
	for (; i < a.nnz; i++)
		only_a(a.values[i]);
	for (; j < b.nnz; j++)
		only_b(b.values[j]);
}

void
ignore(float) noexcept
{
}

} // namespace

float
sparse_dot(SparseView a, SparseView b) noexcept
{
	float sum = 0;
	merge(
		a, b, [&](float x, float y) { sum += x * y; }, ignore, ignore);
	return sum;
}

float
sparse_l2_squared(SparseView a, SparseView b) noexcept
{
	float sum = 0;
	auto alone = [&](float x) { sum += x * x; };
	merge(
		a, b,
		[&](float x, float y) {
			float d = x - y;
			sum += d * d;
		},
		alone, alone);
	return sum;
}

double
sparse_l1(SparseView a, SparseView b) noexcept
{
	double sum = 0;
	auto alone = [&](float x) { sum += std::fabs(x); };
	merge(
		a, b, [&](float x, float y) { sum += std::fabs(x - y); }, alone, alone);
	return sum;
}

double
sparse_squared_norm(SparseView a) noexcept
{
	double sum = 0;
	for (std::size_t i = 0; i < a.nnz; i++)
		sum += static_cast<double>(a.values[i]) * a.values[i];
	return sum;
}

int
sparse_compare(SparseView a, std::int32_t a_dims, SparseView b, std::int32_t b_dims) noexcept
{
	/* Walk the positions either stores, in order, within the common length:
	 * the first whose values differ decides (a stored value is never zero,
	 * so a position only one stores always differs). */
	std::int32_t common = std::min(a_dims, b_dims);
	std::size_t i = 0;
	std::size_t j = 0;
	for (;;)
	{
		std::int32_t ai = i < a.nnz ? a.indices[i] : INT32_MAX;
		std::int32_t bj = j < b.nnz ? b.indices[j] : INT32_MAX;
		std::int32_t at = std::min(ai, bj);
		if (at >= common)
			break;
		float x = ai == at ? a.values[i++] : 0.0f;
		float y = bj == at ? b.values[j++] : 0.0f;
		if (x != y)
			return x < y ? -1 : 1;
	}
	return a_dims < b_dims ? -1 : a_dims > b_dims ? 1 : 0;
}

SparseFault
check_sparse(SparseView v, std::int32_t dims, bool zeros_allowed) noexcept
{
	for (std::size_t i = 0; i < v.nnz; i++)
	{
		std::int32_t index = v.indices[i];
		if (index < 0 || index >= dims)
			return SparseFault::index_out_of_bounds;
		if (i > 0 && index < v.indices[i - 1])
			return SparseFault::unordered;
		if (i > 0 && index == v.indices[i - 1])
			return SparseFault::duplicate;
	}
	for (std::size_t i = 0; i < v.nnz; i++)
	{
		if (std::isnan(v.values[i]))
			return SparseFault::nan;
		if (std::isinf(v.values[i]))
			return SparseFault::infinite;
		if (v.values[i] == 0 && !zeros_allowed)
			return SparseFault::zero;
	}
	return SparseFault::none;
}

/* ---- text ---- */

namespace {

SparseTextResult
text_failure(SparseTextStatus status, std::size_t offset = 0, std::size_t length = 0) noexcept
{
	return SparseTextResult{status, 0, 0, offset, length};
}

/* An integer token at p, clamped to [lo, INT32_MAX]; false if none. */
bool
parse_integer(const char *p, const char **end, long lo, long *value) noexcept
{
	char *stop;
	errno = 0;
	long v = std::strtol(p, &stop, 10);
	if (stop == p)
		return false;
	*end = stop;
	*value = std::clamp(v, lo, static_cast<long>(INT32_MAX));
	return true;
}

} // namespace

std::size_t
sparse_text_pairs_upper_bound(const char *text) noexcept
{
	std::size_t commas = 0;
	for (const char *p = text; *p; p++)
		commas += (*p == ',');
	return commas + 1;
}

SparseTextResult
parse_sparse_text(const char *text, SparsePair *out, std::size_t capacity) noexcept
{
	const char *p = skip_space(text);
	if (*p != '{')
		return text_failure(SparseTextStatus::no_open_brace);
	p = skip_space(p + 1);

	std::size_t nnz = 0;
	if (*p == '}')
		p++;
	else
	{
		for (;;)
		{
			p = skip_space(p);
			long index;
			if (*p == '\0' || !parse_integer(p, &p, static_cast<long>(INT32_MIN) + 1, &index))
				return text_failure(SparseTextStatus::syntax);
			p = skip_space(p);
			if (*p != ':')
				return text_failure(SparseTextStatus::syntax);
			p = skip_space(p + 1);

			char *end;
			errno = 0;
			float value = std::strtof(p, &end);
			if (end == p)
				return text_failure(SparseTextStatus::syntax);
			std::size_t offset = static_cast<std::size_t>(p - text);
			std::size_t length = static_cast<std::size_t>(end - p);
			/* ERANGE on underflow to a denormal is fine, as in float4in */
			if (errno == ERANGE && (value == 0 || std::isinf(value)))
				return text_failure(SparseTextStatus::out_of_range, offset, length);
			if (std::isnan(value))
				return text_failure(SparseTextStatus::nan, offset, length);
			if (std::isinf(value))
				return text_failure(SparseTextStatus::infinite, offset, length);

			if (value != 0)
			{
				if (nnz == capacity)
					return text_failure(SparseTextStatus::too_many);
				/* 1-based in the text, 0-based inside */
				out[nnz++] = SparsePair{static_cast<std::int32_t>(index - 1), value};
			}

			p = skip_space(end);
			if (*p == ',')
			{
				p++;
				continue;
			}
			if (*p == '}')
			{
				p++;
				break;
			}
			return text_failure(SparseTextStatus::syntax);
		}
	}

	p = skip_space(p);
	if (*p != '/')
		return text_failure(SparseTextStatus::no_slash);
	p = skip_space(p + 1);
	long dims;
	if (!parse_integer(p, &p, INT32_MIN, &dims))
		return text_failure(SparseTextStatus::syntax);
	if (*skip_space(p) != '\0')
		return text_failure(SparseTextStatus::junk_after);

	std::sort(out, out + nnz,
			  [](const SparsePair &x, const SparsePair &y) { return x.index < y.index; });
	return SparseTextResult{SparseTextStatus::ok, nnz, dims, 0, 0};
}

/* ---- binary ---- */

namespace {

std::int32_t
load_int32(const unsigned char *p) noexcept
{
	return static_cast<std::int32_t>(load_be32(p));
}

float
load_float(const unsigned char *p) noexcept
{
	std::uint32_t bits = load_be32(p);
	float f;
	std::memcpy(&f, &bits, sizeof f);
	return f;
}

} // namespace

bool
read_sparse_header(const unsigned char *buf, std::size_t len, SparseBinaryHeader *header) noexcept
{
	if (len < sparse_binary_header_size)
		return false;
	header->dims = load_int32(buf);
	header->nnz = load_int32(buf + 4);
	header->unused = load_int32(buf + 8);
	return true;
}

void
read_sparse_body(const unsigned char *buf, std::size_t nnz, std::int32_t *indices,
				 float *values) noexcept
{
	const unsigned char *p = buf + sparse_binary_header_size;
	for (std::size_t i = 0; i < nnz; i++, p += 4)
		indices[i] = load_int32(p);
	for (std::size_t i = 0; i < nnz; i++, p += 4)
		values[i] = load_float(p);
}

void
format_sparse_binary(SparseView v, std::int32_t dims, unsigned char *out) noexcept
{
	store_be32(out, static_cast<std::uint32_t>(dims));
	store_be32(out + 4, static_cast<std::uint32_t>(v.nnz));
	store_be32(out + 8, 0);
	unsigned char *p = out + sparse_binary_header_size;
	for (std::size_t i = 0; i < v.nnz; i++, p += 4)
		store_be32(p, static_cast<std::uint32_t>(v.indices[i]));
	for (std::size_t i = 0; i < v.nnz; i++, p += 4)
	{
		std::uint32_t bits;
		std::memcpy(&bits, &v.values[i], sizeof bits);
		store_be32(p, bits);
	}
}

} // namespace vecdb::core
