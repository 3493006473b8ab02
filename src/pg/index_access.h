/*
 * index_access.h: opening an index, and its table, for a function that reads
 * them on a user's behalf (vecdb_index_check, the ivfpq reports).
 *
 * Such a function takes an OID from any role that may EXECUTE it, so the
 * privilege check comes before the first lock: a role that may not read a
 * table must not be able to queue behind, or block, its ALTER TABLE.
 *
 * A check also evaluates the index's expressions and predicate over the
 * table. Those are functions the table's owner chose: they run as that owner
 * under SECURITY_RESTRICTED_OPERATION, as amcheck runs them since
 * CVE-2022-1552, so a superuser who checks an index cannot be made to run a
 * hostile owner's code with a superuser's rights.
 */
#pragma once

#include "pg/pg.h"

extern "C" {
#include "storage/lockdefs.h"
#include "utils/rel.h"
}

namespace vecdb::pg {

enum class IndexAccess
{
	/* read the index's pages only: SELECT on the table, or membership in
	 * pg_stat_scan_tables (who may run pgstattuple's pgstatindex) */
	read_pages,
	/* read the index and evaluate it over the table: the table's owner, or
	 * a member of the owner's role */
	check_rows,
};

struct OpenedIndex
{
	Relation heap;
	Relation index;
	LOCKMODE lockmode;
	/* the caller's identity, restored by close_index() */
	Oid saved_userid;
	int saved_sec_context;
	int saved_guc_level;
};

/*
 * Check that the current user may do what access says with index_oid, then
 * lock and open its table and it. For check_rows, the rest of the
 * transaction, until close_index(), runs as the table's owner.
 */
OpenedIndex open_index(Oid index_oid, IndexAccess access, LOCKMODE lockmode);

void close_index(OpenedIndex &opened);

} // namespace vecdb::pg
