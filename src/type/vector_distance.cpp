/*
 * vector_distance.cpp: the distance functions behind <->, <#>, <=> and <+>.
 *
 * These run once per row in an exact ORDER BY ... LIMIT, so each one is a
 * detoast (which copies only when the value is toasted or packed, and fetches
 * a TOASTed query vector once, not once per row) and a single call into the
 * run-time dispatched kernels of src/core. The per-row fmgr call itself is
 * the executor's and costs far less than reading the row's 3 KB.
 */
#include "type/vector.h"
#include "core/distance.h"

#include <algorithm>
#include <cmath>

using namespace vecdb;

namespace {

/* Both arguments, detoasted and checked to have equal dimensions. */
struct VectorPair
{
	Vector *a;
	Vector *b;
};

inline VectorPair
get_pair(FunctionCallInfo fcinfo)
{
	VectorPair pair{vector_arg_reusing_detoast(fcinfo, 0), vector_arg_reusing_detoast(fcinfo, 1)};
	check_same_dims(pair.a, pair.b);
	return pair;
}

inline std::size_t
dims(const VectorPair &pair)
{
	return static_cast<std::size_t>(pair.a->dim);
}

} // namespace

/* l2_distance(vector, vector): <-> */
VECDB_FUNCTION(l2_distance)
{
	VectorPair p = get_pair(fcinfo);
	PG_RETURN_FLOAT8(
		std::sqrt(static_cast<double>(core::l2_squared_distance(p.a->x, p.b->x, dims(p)))));
}

/* vector_l2_squared_distance(vector, vector): what an index orders by */
VECDB_FUNCTION(vector_l2_squared_distance)
{
	VectorPair p = get_pair(fcinfo);
	PG_RETURN_FLOAT8(static_cast<double>(core::l2_squared_distance(p.a->x, p.b->x, dims(p))));
}

/* inner_product(vector, vector) */
VECDB_FUNCTION(inner_product)
{
	VectorPair p = get_pair(fcinfo);
	PG_RETURN_FLOAT8(static_cast<double>(core::inner_product(p.a->x, p.b->x, dims(p))));
}

/* vector_negative_inner_product(vector, vector): <#>, so that ascending
 * order puts the largest inner product first */
VECDB_FUNCTION(vector_negative_inner_product)
{
	VectorPair p = get_pair(fcinfo);
	PG_RETURN_FLOAT8(-static_cast<double>(core::inner_product(p.a->x, p.b->x, dims(p))));
}

/* cosine_distance(vector, vector): <=>, NaN when either vector is zero */
VECDB_FUNCTION(cosine_distance)
{
	VectorPair p = get_pair(fcinfo);
	PG_RETURN_FLOAT8(core::cosine_distance(p.a->x, p.b->x, dims(p)));
}

/*
 * vector_spherical_distance(vector, vector): the angle between two unit
 * vectors as a fraction of pi, pgvector's function of that name (its
 * ivfflat classes name it; vecdb's do not, but dumps refer to it)
 */
VECDB_FUNCTION(vector_spherical_distance)
{
	VectorPair p = get_pair(fcinfo);
	double dot = core::inner_product(p.a->x, p.b->x, dims(p));
	PG_RETURN_FLOAT8(std::acos(std::clamp(dot, -1.0, 1.0)) / M_PI);
}

/* l1_distance(vector, vector): <+> */
VECDB_FUNCTION(l1_distance)
{
	VectorPair p = get_pair(fcinfo);
	PG_RETURN_FLOAT8(static_cast<double>(core::l1_distance(p.a->x, p.b->x, dims(p))));
}
