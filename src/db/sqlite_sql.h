/*
 * sqlite_sql.h — the SQLite statement table (SQL text indexed by enum
 * sf_stmt) and the completeness check used by the conformance tests.
 */
#ifndef SF_DB_SQLITE_SQL_H
#define SF_DB_SQLITE_SQL_H

#include "db/stmt.h"

/* SQL text for each statement; an entry left out is NULL. */
extern const char *const sf_sqlite_sql[SF_STMT__COUNT];

/* The first statement id (in enum order) whose SQL is missing, or -1 when
 * every statement of every module has its SQL. */
int sf_sqlite_sql_missing(void);

#endif
