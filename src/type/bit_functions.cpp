/*
 * bit_functions.cpp: binary quantization over PostgreSQL's own bit type,
 * as pgvector has it: binary_quantize(vector) gives a bit(n) string with a
 * 1 for each positive coordinate, and hamming_distance (<~>) and
 * jaccard_distance (<%>) compare two strings of equal length. Bit strings
 * keep their unused trailing bits zero (varbit.c pads every value it
 * makes), so the kernels of core/bits.h count whole bytes.
 */
#include "type/vector.h"
#include "core/bits.h"

extern "C" {
#include "utils/varbit.h"
}

using namespace vecdb;

namespace {

/* ERROR unless a and b have the same length: pgvector's message and code. */
void
check_same_lengths(const VarBit *a, const VarBit *b)
{
	if (VARBITLEN(a) != VARBITLEN(b))
		ereport(ERROR, (errcode(ERRCODE_DATA_EXCEPTION),
						errmsg("different bit lengths %d and %d", VARBITLEN(a), VARBITLEN(b))));
}

const uint8 *
bytes_of(VarBit *v)
{
	return reinterpret_cast<const uint8 *>(VARBITS(v));
}

} // namespace

/* hamming_distance(bit, bit): <~>, the bits in which they differ */
VECDB_FUNCTION(hamming_distance)
{
	VarBit *a = PG_GETARG_VARBIT_P(0);
	VarBit *b = PG_GETARG_VARBIT_P(1);
	check_same_lengths(a, b);
	uint64 differ = core::bit_kernels().hamming(bytes_of(a), bytes_of(b), VARBITBYTES(a));
	PG_RETURN_FLOAT8(static_cast<double>(differ));
}

/* jaccard_distance(bit, bit): <%>, 1 - shared set bits / set bits of either */
VECDB_FUNCTION(jaccard_distance)
{
	VarBit *a = PG_GETARG_VARBIT_P(0);
	VarBit *b = PG_GETARG_VARBIT_P(1);
	check_same_lengths(a, b);
	core::BitOverlap o = core::bit_kernels().overlap(bytes_of(a), bytes_of(b), VARBITBYTES(a));
	PG_RETURN_FLOAT8(core::jaccard_distance(o));
}

/* binary_quantize(vector): bit i is 1 where coordinate i is positive */
VECDB_FUNCTION(binary_quantize)
{
	Vector *v = PG_GETARG_VECTOR_P(0);
	int dim = v->dim;
	Size size = VARBITTOTALLEN(dim);
	auto *result = static_cast<VarBit *>(palloc0(size));
	SET_VARSIZE(result, size);
	VARBITLEN(result) = dim;
	bits8 *out = VARBITS(result);
	for (int i = 0; i < dim; i++)
		if (v->x[i] > 0)
			out[i / BITS_PER_BYTE] |= static_cast<bits8>(0x80 >> (i % BITS_PER_BYTE));
	PG_RETURN_VARBIT_P(result);
}
