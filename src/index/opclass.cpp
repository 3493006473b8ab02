/*
 * opclass.cpp: what an operator class tells a vecdb index, through its
 * support function 2 (vector_index.h's OpclassSupport).
 *
 * Each operator class names its own function, vector_l2_support(internal)
 * for vector_l2_ops and so on, which returns the type the class indexes and
 * the metric it ranks by. The access methods ask for nothing else, so a new
 * type or metric is a row in the table below and an operator class in SQL,
 * not a change in hnsw or ivfpq. Support function 1 stays the distance, as
 * pgvector declares it, for what reads the catalogue.
 */
#include "index/vector_index.h"

extern "C" {
#include "access/htup_details.h"
#include "catalog/pg_opclass.h"
#include "catalog/pg_proc.h"
#include "catalog/pg_type.h"
#include "utils/lsyscache.h"
#include "utils/syscache.h"
}

using vecdb::InputType;
using vecdb::OpclassSupport;
using vecdb::core::Metric;

/* One support function a row: its SQL and C name, and what it says. */
#define VECDB_OPCLASS_SUPPORT(name, input, metric)                                                 \
	VECDB_FUNCTION(name)                                                                           \
	{                                                                                              \
		static const OpclassSupport support{input, metric};                                        \
		PG_RETURN_POINTER(&support);                                                               \
	}

VECDB_OPCLASS_SUPPORT(vector_l2_support, InputType::vector, Metric::l2)
VECDB_OPCLASS_SUPPORT(vector_ip_support, InputType::vector, Metric::inner_product)
VECDB_OPCLASS_SUPPORT(vector_cosine_support, InputType::vector, Metric::cosine)
VECDB_OPCLASS_SUPPORT(vector_l1_support, InputType::vector, Metric::l1)
VECDB_OPCLASS_SUPPORT(halfvec_l2_support, InputType::halfvec, Metric::l2)
VECDB_OPCLASS_SUPPORT(halfvec_ip_support, InputType::halfvec, Metric::inner_product)
VECDB_OPCLASS_SUPPORT(halfvec_cosine_support, InputType::halfvec, Metric::cosine)
VECDB_OPCLASS_SUPPORT(halfvec_l1_support, InputType::halfvec, Metric::l1)
VECDB_OPCLASS_SUPPORT(sparsevec_l2_support, InputType::sparsevec, Metric::l2)
VECDB_OPCLASS_SUPPORT(sparsevec_ip_support, InputType::sparsevec, Metric::inner_product)
VECDB_OPCLASS_SUPPORT(sparsevec_cosine_support, InputType::sparsevec, Metric::cosine)
VECDB_OPCLASS_SUPPORT(sparsevec_l1_support, InputType::sparsevec, Metric::l1)
VECDB_OPCLASS_SUPPORT(bit_hamming_support, InputType::bit, Metric::hamming)
VECDB_OPCLASS_SUPPORT(bit_jaccard_support, InputType::bit, Metric::jaccard)

extern "C" {
Datum vector_l2_squared_distance(PG_FUNCTION_ARGS);
Datum vector_negative_inner_product(PG_FUNCTION_ARGS);
Datum cosine_distance(PG_FUNCTION_ARGS);
Datum l1_distance(PG_FUNCTION_ARGS);
}

/*
 * pgvector's support functions for its types (hnsw_halfvec_support and the
 * like) exist in vecdb under their names only because dumps of pgvector
 * databases GRANT on them; vecdb's classes name their own support
 * function 2, and nothing calls these.
 */
VECDB_FUNCTION(pgvector_type_support)
{
	ereport(ERROR, (errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					errmsg("%s is kept for pgvector's dumps only: vecdb's operator classes do "
						   "not use it",
						   get_func_name(fcinfo->flinfo->fn_oid))));
	PG_RETURN_NULL();
}

namespace vecdb {

namespace {

/* Whether proc takes (internal) and returns internal, as a support
 * function 2 must: any other would be called with the wrong arguments. */
bool
is_support_signature(Oid proc)
{
	HeapTuple tuple = SearchSysCache1(PROCOID, ObjectIdGetDatum(proc));
	if (!HeapTupleIsValid(tuple))
		return false;
	auto *form = reinterpret_cast<Form_pg_proc>(GETSTRUCT(tuple));
	bool ok = form->prorettype == INTERNALOID && form->pronargs == 1 &&
			  form->proargtypes.values[0] == INTERNALOID;
	ReleaseSysCache(tuple);
	return ok;
}

/*
 * An index made under vecdb 0.1.0, before ALTER EXTENSION vecdb UPDATE:
 * its class has no support function 2 yet. 0.1.0 had four classes, all
 * of vector, told apart by their distance (support function 1); this
 * table is theirs alone and never grows.
 */
const OpclassSupport &
support_of_0_1_0(Relation index)
{
	static const struct
	{
		PGFunction distance;
		OpclassSupport support;
	} classes[] = {
		{vector_l2_squared_distance, {InputType::vector, Metric::l2}},
		{vector_negative_inner_product, {InputType::vector, Metric::inner_product}},
		{cosine_distance, {InputType::vector, Metric::cosine}},
		{l1_distance, {InputType::vector, Metric::l1}},
	};
	FmgrInfo *distance = index_getprocinfo(index, 1, 1);
	for (Size i = 0; i < lengthof(classes); i++)
		if (distance->fn_addr == classes[i].distance)
			return classes[i].support;
	ereport(ERROR,
			(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
			 errmsg("operator class of index \"%s\" has no support function %d",
					RelationGetRelationName(index), opclass_support_proc),
			 errhint("A vecdb operator class names what it indexes in its support function 2, "
					 "as vector_l2_ops names vector_l2_support(internal).")));
	pg_unreachable();
}

} // namespace

const OpclassSupport &
opclass_support(Relation index)
{
	Oid support = index_getprocid(index, 1, opclass_support_proc);
	if (!OidIsValid(support))
		return support_of_0_1_0(index);
	/* a class made by hand could name any function: called with a null
	 * pointer for its argument, another kind would crash */
	if (!is_support_signature(support))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_OBJECT_DEFINITION),
				 errmsg("support function %d of the operator class of index \"%s\" does not take "
						"and return internal",
						opclass_support_proc, RelationGetRelationName(index))));
	FmgrInfo *proc = index_getprocinfo(index, 1, opclass_support_proc);
	return *reinterpret_cast<const OpclassSupport *>(
		DatumGetPointer(FunctionCall1(proc, PointerGetDatum(nullptr))));
}

core::Metric
index_metric(Relation index)
{
	return opclass_support(index).metric;
}

bool
validate_vector_opclass(Oid opclass)
{
	HeapTuple tuple = SearchSysCache1(CLAOID, ObjectIdGetDatum(opclass));
	if (!HeapTupleIsValid(tuple))
		elog(ERROR, "cache lookup failed for operator class %u", opclass);
	const char *name =
		pstrdup(NameStr(reinterpret_cast<Form_pg_opclass>(GETSTRUCT(tuple))->opcname));
	ReleaseSysCache(tuple);

	Oid family = get_opclass_family(opclass);
	Oid type = get_opclass_input_type(opclass);
	bool ok = true;
	if (!OidIsValid(get_opfamily_proc(family, type, type, 1)))
	{
		ereport(INFO, (errcode(ERRCODE_INVALID_OBJECT_DEFINITION),
					   errmsg("operator class %s has no distance (support function 1)", name)));
		ok = false;
	}
	Oid support = get_opfamily_proc(family, type, type, opclass_support_proc);
	if (!OidIsValid(support) || !is_support_signature(support))
	{
		ereport(INFO, (errcode(ERRCODE_INVALID_OBJECT_DEFINITION),
					   errmsg("operator class %s has no support function %d(internal) "
							  "returning internal",
							  name, opclass_support_proc)));
		ok = false;
	}
	return ok;
}

} // namespace vecdb
