/*
 * sqlite_sql.h — the SQLite statement table (SQL text indexed by enum
 * sf_stmt) and the completeness check used by the conformance tests.
 */
#ifndef SF_DB_SQLITE_SQL_H
#define SF_DB_SQLITE_SQL_H

#include "db/stmt.h"

/* SQL text for each statement; an entry left out is NULL. */
extern const char *const sf_sqlite_sql[SF_STMT__COUNT];

/* The first statement id (in enum order) whose SQL is missing, considering
 * every statement when include_catalog is non-zero and skipping the
 * SF_STMT_CAT_* group (the last group of the enum) otherwise.  Returns -1
 * when none is missing. */
int sf_sqlite_sql_missing(int include_catalog);

#endif
