/*
 * pgvector_names.h: pgvector's setting names (hnsw.ef_search, ...) read as
 * aliases of vecdb's own.
 *
 * An application written for pgvector runs SET hnsw.ef_search = 100.
 * Without pgvector's library PostgreSQL keeps that as a placeholder: any
 * string, unchecked, read by nobody, and the search would still use ef 40.
 * vecdb reads such a placeholder wherever it reads its own setting.
 *
 * vecdb does not define these names itself. A backend that loads both
 * libraries (both in shared_preload_libraries, which vecdb's merge worker
 * wants) would otherwise fail in pgvector's _PG_init ("attempt to redefine
 * parameter"), and one cluster must be able to hold a pgvector database
 * beside a vecdb one. What that costs: a bad value is refused when a query
 * plans or scans a vecdb index, not by SET, with the message SET would
 * have given (PostgreSQL's own, as pgvector's settings are GUCs).
 *
 * Which value counts: where pgvector's library defines the name in this
 * backend, the value is pgvector's and vecdb keeps its own setting; else a
 * pgvector name that is set (in the session, or by ALTER ROLE / DATABASE
 * SET, or in postgresql.conf) wins over vecdb's own name. RESET makes it
 * unset again.
 */
#pragma once

#include "pg/pg.h"

extern "C" {
#include "utils/guc.h"
}

namespace vecdb::index {

/* The integer that name is set to, checked against [min, max]; own when
 * it is not set (see above). */
int pgvector_int(const char *name, int own, int min, int max);

/* The same for a real-valued setting. */
double pgvector_real(const char *name, double own, double min, double max);

/* The same for an enum, whose values are options (as for
 * DefineCustomEnumVariable). */
int pgvector_enum(const char *name, int own, const struct config_enum_entry *options);

} // namespace vecdb::index
