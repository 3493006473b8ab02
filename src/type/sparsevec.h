/*
 * sparsevec.h: pgvector's sparse vector type, its in-memory layout.
 *
 * A varlena header, int32 dims, int32 nnz, int32 reserved (always 0),
 * nnz int32 indices (0-based, strictly ascending), then nnz float4 values,
 * none of them zero. The layout is pgvector's, so that its binary-compatible
 * tools and dumps work.
 */
#pragma once

#include "pg/pg.h"
#include "core/sparse.h"

namespace vecdb {

struct SparseVector
{
	int32 vl_len_; /* varlena header: never touch directly */
	int32 dim;
	int32 nnz;
	int32 unused; /* reserved, always 0 */
	int32 indices[FLEXIBLE_ARRAY_MEMBER];
};

static_assert(offsetof(SparseVector, indices) == 16, "pgvector's sparsevec header");

constexpr Size
sparsevec_size(int nnz)
{
	return offsetof(SparseVector, indices) +
		   (sizeof(int32) + sizeof(float)) * static_cast<Size>(nnz);
}

inline float *
sparse_values(SparseVector *v)
{
	return reinterpret_cast<float *>(v->indices + v->nnz);
}

inline core::SparseView
sparse_view(SparseVector *v)
{
	return core::SparseView{v->indices, sparse_values(v), static_cast<Size>(v->nnz)};
}

/* A sparse vector of dim dimensions with room for nnz values, zeroed;
 * ERROR unless 1 <= dim <= 1,000,000,000 and 0 <= nnz <= min(dim, 16000). */
SparseVector *new_sparsevec(int dim, int nnz);

/* The datum detoasted; ERROR if its size is not what its nnz says. */
SparseVector *datum_get_sparsevec(Datum d);

} // namespace vecdb

#define PG_GETARG_SPARSEVEC_P(n) (vecdb::datum_get_sparsevec(PG_GETARG_DATUM(n)))
