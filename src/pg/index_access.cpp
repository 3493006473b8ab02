/*
 * index_access.cpp: privilege checks and the owner's identity for functions
 * that read an index on a user's behalf (see index_access.h).
 */
#include "pg/index_access.h"

extern "C" {
#include "access/genam.h"
#include "access/table.h"
#include "catalog/index.h"
#include "catalog/pg_authid.h"
#include "catalog/pg_class.h"
#include "utils/acl.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
}

namespace vecdb::pg {

namespace {

/* The table of index_oid, or an ERROR that names what the OID is instead. */
Oid
table_of_index(Oid index_oid)
{
	Oid heap_oid = IndexGetRelation(index_oid, true);
	if (OidIsValid(heap_oid))
		return heap_oid;
	char *name = get_rel_name(index_oid);
	if (name == nullptr)
		ereport(ERROR, (errcode(ERRCODE_UNDEFINED_TABLE),
						errmsg("relation with OID %u does not exist", index_oid)));
	ereport(ERROR, (errcode(ERRCODE_WRONG_OBJECT_TYPE), errmsg("\"%s\" is not an index", name)));
	pg_unreachable();
}

void
check_privilege(Oid heap_oid, IndexAccess access)
{
	Oid user = GetUserId();
	bool allowed;
	AclResult denial;
	if (access == IndexAccess::check_rows)
	{
		allowed = pg_class_ownercheck(heap_oid, user);
		denial = ACLCHECK_NOT_OWNER;
	}
	else
	{
		allowed = pg_class_aclcheck(heap_oid, user, ACL_SELECT) == ACLCHECK_OK ||
				  has_privs_of_role(user, ROLE_PG_STAT_SCAN_TABLES);
		denial = ACLCHECK_NO_PRIV;
	}
	if (allowed)
		return;
	char *name = get_rel_name(heap_oid);
	if (name == nullptr) /* dropped since we looked it up */
		ereport(ERROR, (errcode(ERRCODE_UNDEFINED_TABLE),
						errmsg("relation with OID %u does not exist", heap_oid)));
	aclcheck_error(denial, get_relkind_objtype(get_rel_relkind(heap_oid)), name);
}

/* Only an index with pages of its own, in our buffers, can be read. */
void
check_readable(Relation index)
{
	if (index->rd_rel->relkind != RELKIND_INDEX)
		ereport(ERROR, (errcode(ERRCODE_WRONG_OBJECT_TYPE),
						errmsg("\"%s\" is a partitioned index", RelationGetRelationName(index)),
						errhint("Name the index of one partition.")));
	if (RELATION_IS_OTHER_TEMP(index))
		ereport(ERROR, (errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
						errmsg("cannot access temporary indexes of other sessions")));
}

} // namespace

OpenedIndex
open_index(Oid index_oid, IndexAccess access, LOCKMODE lockmode)
{
	OpenedIndex opened{};
	opened.lockmode = lockmode;

	/* The table first, as every index user locks them: no deadlock. */
	Oid heap_oid = table_of_index(index_oid);
	check_privilege(heap_oid, access);
	opened.heap = table_open(heap_oid, lockmode);

	/* The index could have been dropped, and its OID reused, before the
	 * lock: look again now that nothing can change it. */
	if (IndexGetRelation(index_oid, true) != heap_oid)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("could not open index with OID %u: it was dropped or moved", index_oid)));

	GetUserIdAndSecContext(&opened.saved_userid, &opened.saved_sec_context);
	if (access == IndexAccess::check_rows)
	{
		SetUserIdAndSecContext(opened.heap->rd_rel->relowner,
							   opened.saved_sec_context | SECURITY_RESTRICTED_OPERATION);
		/* settings the owner's functions change die with the check */
		opened.saved_guc_level = NewGUCNestLevel();
	}
	opened.index = index_open(index_oid, lockmode);
	check_readable(opened.index);
	return opened;
}

/* On ERROR, transaction abort restores the user and the settings instead. */
void
close_index(OpenedIndex &opened)
{
	index_close(opened.index, opened.lockmode);
	if (opened.saved_guc_level != 0)
	{
		AtEOXact_GUC(false, opened.saved_guc_level);
		SetUserIdAndSecContext(opened.saved_userid, opened.saved_sec_context);
	}
	table_close(opened.heap, opened.lockmode);
}

} // namespace vecdb::pg
