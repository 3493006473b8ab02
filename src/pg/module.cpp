/*
 * module.cpp: what PostgreSQL looks for when it loads vecdb.so.
 */
#include "pg/pg.h"

extern "C" {
PG_MODULE_MAGIC;

void _PG_init(void);
}

/* Settings and the background worker register here as they arrive. */
void
_PG_init(void)
{
}
