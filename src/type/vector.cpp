/*
 * vector.cpp: construction of vectors and the checks shared by every function
 * on them. Messages and SQLSTATEs follow pgvector's, which applications may
 * match on.
 */
#include "type/vector.h"

#include <cmath>

extern "C" {
#include "access/detoast.h"
}

namespace vecdb {

/* Every vector is built here, so no path can make one of 0 or 40001 dims. */
Vector *
new_vector(int dim)
{
	check_dim(dim);
	Size size = vector_size(dim);
	Vector *v = static_cast<Vector *>(palloc0(size));
	SET_VARSIZE(v, size);
	v->dim = static_cast<int16>(dim);
	return v;
}

namespace {

/*
 * Per call site, per argument: the TOAST pointer seen last, and the value it
 * points to once it has been seen twice in a row. Only the second sighting
 * copies into the long-lived context, so a column whose value changes every
 * row (the table side of a distance) costs an 18-byte compare and no copy.
 */
struct DetoastSlot
{
	char pointer[TOAST_POINTER_SIZE];
	Vector *vector;
};

struct DetoastCache
{
	DetoastSlot slot[2];
};

} // namespace

Vector *
vector_arg_reusing_detoast(FunctionCallInfo fcinfo, int argno)
{
	Datum datum = PG_GETARG_DATUM(argno);
	auto *raw = reinterpret_cast<struct varlena *>(DatumGetPointer(datum));
	FmgrInfo *flinfo = fcinfo->flinfo;

	/* Inline values need no fetch; direct calls have nowhere to cache. */
	if (!VARATT_IS_EXTERNAL_ONDISK(raw) || flinfo == nullptr || argno > 1)
		return datum_get_vector(datum);

	auto *cache = static_cast<DetoastCache *>(flinfo->fn_extra);
	if (cache == nullptr)
	{
		cache = static_cast<DetoastCache *>(
			MemoryContextAllocZero(flinfo->fn_mcxt, sizeof(DetoastCache)));
		flinfo->fn_extra = cache;
	}

	DetoastSlot &slot = cache->slot[argno];
	if (memcmp(slot.pointer, raw, TOAST_POINTER_SIZE) != 0)
	{
		memcpy(slot.pointer, raw, TOAST_POINTER_SIZE);
		if (slot.vector != nullptr)
			pfree(slot.vector);
		slot.vector = nullptr;
		return datum_get_vector(datum);
	}
	if (slot.vector == nullptr)
	{
		MemoryContext old = MemoryContextSwitchTo(flinfo->fn_mcxt);
		slot.vector = datum_get_vector(datum);
		MemoryContextSwitchTo(old);
	}
	return slot.vector;
}

HalfVector *
new_halfvec(int dim)
{
	check_dim(dim, "halfvec");
	Size size = halfvec_size(dim);
	auto *v = static_cast<HalfVector *>(palloc0(size));
	SET_VARSIZE(v, size);
	v->dim = static_cast<int16>(dim);
	return v;
}

void
check_dim(int dim, const char *type, int max_dims)
{
	if (dim < 1)
		ereport(ERROR, (errcode(ERRCODE_DATA_EXCEPTION),
						errmsg("%s must have at least 1 dimension", type)));
	if (dim > max_dims)
		ereport(ERROR, (errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
						errmsg("%s cannot have more than %d dimensions", type, max_dims)));
}

void
check_expected_dim(int32 typmod, int dim)
{
	if (typmod != -1 && typmod != dim)
		ereport(ERROR, (errcode(ERRCODE_DATA_EXCEPTION),
						errmsg("expected %d dimensions, not %d", typmod, dim)));
}

void
check_same_dims(int a, int b, const char *type)
{
	if (a != b)
		ereport(ERROR, (errcode(ERRCODE_DATA_EXCEPTION),
						errmsg("different %s dimensions %d and %d", type, a, b)));
}

void
check_element(float value, const char *type)
{
	if (std::isnan(value))
		ereport(ERROR, (errcode(ERRCODE_DATA_EXCEPTION), errmsg("NaN not allowed in %s", type)));
	if (std::isinf(value))
		ereport(ERROR, (errcode(ERRCODE_DATA_EXCEPTION),
						errmsg("infinite value not allowed in %s", type)));
}

/* Arithmetic that leaves float4's range is an error, never an Infinity. */
void
check_overflow(float result)
{
	if (std::isinf(result))
		ereport(ERROR, (errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
						errmsg("value out of range: overflow")));
}

} // namespace vecdb
