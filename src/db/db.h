/*
 * db.h — the storage interface every backend implements (SQLite now,
 * PostgreSQL next).
 *
 * Callers never see SQL text: they name a statement from the shared enum in
 * db/stmt.h and bind typed parameters.  Each backend keeps its SQL in one
 * table indexed by that enum and prepares each statement once per connection.
 *
 * Outcomes follow the GNU Taler pattern:
 *   SF_DB_OK      the statement ran (for a query: a row is available)
 *   SF_DB_NO_ROWS the query produced no (more) rows / the update touched none
 *   SF_DB_RETRY   a serialization conflict or busy database: retry the whole
 *                 transaction (sf_db_txn does this for you)
 *   SF_DB_HARD    a hard error (constraint violation is reported separately as
 *                 SF_DB_CONSTRAINT so callers can answer 409)
 *
 * Threads: an sf_db is shared; each thread obtains its own connection with
 * sf_db_conn_get() (connections are per thread and reused).  A connection
 * must not be used by two threads at once.
 */
#ifndef SF_DB_DB_H
#define SF_DB_DB_H

#include <stddef.h>
#include <stdint.h>
#include <string.h> /* strlen in SF_DB_TEXT */

#include "core/err.h"
#include "db/stmt.h"

enum sf_db_status {
	SF_DB_OK = 0,
	SF_DB_NO_ROWS = 1,
	SF_DB_RETRY = -1,
	SF_DB_HARD = -2,
	SF_DB_CONSTRAINT = -3,
};

enum sf_db_type { SF_DB_T_NULL, SF_DB_T_INT, SF_DB_T_TEXT, SF_DB_T_BLOB };

/* One bound parameter.  Text and blobs are borrowed for the call only. */
struct sf_db_param {
	enum sf_db_type type;
	int64_t i;
	const void *p; /* text (need not be NUL-terminated) or blob */
	size_t n;      /* its length in bytes */
};

#define SF_DB_NULL ((struct sf_db_param){.type = SF_DB_T_NULL})
#define SF_DB_INT(v) ((struct sf_db_param){.type = SF_DB_T_INT, .i = (int64_t)(v)})
#define SF_DB_TEXT(s) ((struct sf_db_param){.type = SF_DB_T_TEXT, .p = (s), .n = strlen(s)})
#define SF_DB_TEXTN(s, len) ((struct sf_db_param){.type = SF_DB_T_TEXT, .p = (s), .n = (len)})
#define SF_DB_BLOB(b, len) ((struct sf_db_param){.type = SF_DB_T_BLOB, .p = (b), .n = (len)})
/* Text or NULL when s is NULL. */
#define SF_DB_TEXT_OR_NULL(s) ((s) ? SF_DB_TEXT(s) : SF_DB_NULL)

enum sf_db_backend { SF_DB_SQLITE, SF_DB_POSTGRES };

struct sf_db_options {
	enum sf_db_backend backend;
	const char *path;     /* SQLite: database file */
	const char *conninfo; /* PostgreSQL: libpq connection string */
	int busy_timeout_ms;  /* SQLite busy timeout (default 5000) */
	int create;           /* SQLite: create the file if missing */
};

struct sf_db;
struct sf_db_conn;
struct sf_db_cursor;

/* Open a database handle.  Returns SF_OK and *out, or SF_ERR_DB / SF_ERR_IO
 * with a human-readable reason in errbuf (never holds secrets). */
enum sf_err sf_db_open(const struct sf_db_options *opt, struct sf_db **out, char *errbuf,
		       size_t errlen) SF_WARN_UNUSED;
/* Close every connection (every thread's) and free the handle.  Call it once
 * the other threads have stopped using db; their connections are closed
 * here and must not be used again.  A thread that exits earlier closes its
 * own connection.  NULL is accepted. */
void sf_db_close(struct sf_db *db);
enum sf_db_backend sf_db_backend(const struct sf_db *db);

/* This thread's connection, opened on first use; NULL on failure. */
struct sf_db_conn *sf_db_conn_get(struct sf_db *db);

/* Run a statement that returns no rows (INSERT/UPDATE/DELETE/DDL).
 * *changes (may be NULL) receives the number of rows affected.
 * Returns SF_DB_OK, SF_DB_NO_ROWS (0 rows changed), SF_DB_RETRY, SF_DB_HARD
 * or SF_DB_CONSTRAINT. */
enum sf_db_status sf_db_exec(struct sf_db_conn *c, enum sf_stmt id, const struct sf_db_param *params,
			     size_t nparams, int64_t *changes);

/* Start a query; step through rows with sf_db_next().  The cursor is valid
 * until sf_db_cursor_close() and only one cursor per connection may be open.
 * Returns SF_DB_OK with *cur set, or an error status (cursor not created). */
enum sf_db_status sf_db_query(struct sf_db_conn *c, enum sf_stmt id, const struct sf_db_param *params,
			      size_t nparams, struct sf_db_cursor **cur);
/* Advance: SF_DB_OK (a row is current), SF_DB_NO_ROWS (done), or an error. */
enum sf_db_status sf_db_next(struct sf_db_cursor *cur);
/* Column accessors for the current row (0-based).  Text and blob pointers are
 * valid until the next sf_db_next / sf_db_cursor_close. */
int sf_db_col_is_null(struct sf_db_cursor *cur, int col);
int64_t sf_db_col_int(struct sf_db_cursor *cur, int col);
const char *sf_db_col_text(struct sf_db_cursor *cur, int col, size_t *len); /* NUL-terminated; "" for NULL */
const void *sf_db_col_blob(struct sf_db_cursor *cur, int col, size_t *len);
void sf_db_cursor_close(struct sf_db_cursor *cur);

/* Convenience: run a query expected to give at most one row and hand it to
 * fn (called once when a row exists).  Returns SF_DB_OK, SF_DB_NO_ROWS or an
 * error status. */
typedef void (*sf_db_row_fn)(struct sf_db_cursor *cur, void *ctx);
enum sf_db_status sf_db_query_one(struct sf_db_conn *c, enum sf_stmt id, const struct sf_db_param *params,
				  size_t nparams, sf_db_row_fn fn, void *ctx);

/* The id generated by the last successful INSERT on this connection (for
 * statements whose SQL ends in RETURNING id, read it as a query instead). */
int64_t sf_db_last_id(struct sf_db_conn *c);

/* Transactions.  fn runs inside BEGIN (SQLite: BEGIN IMMEDIATE) ... COMMIT;
 * it returns SF_DB_OK/SF_DB_NO_ROWS to commit, or an error status to roll
 * back.  SF_DB_RETRY (from fn, BEGIN or COMMIT) rolls back and runs fn again,
 * up to max_tries times with a short randomised back-off; fn must therefore
 * be safe to run more than once (keep side effects outside the database out
 * of it).  Returns the last status. */
typedef enum sf_db_status (*sf_db_txn_fn)(struct sf_db_conn *c, void *ctx);
/* Write transactions are grouped: while one batch commits, the callers
 * that arrive queue, and the first of them then runs the queued functions
 * one after the other, each in its own savepoint, as one transaction on a
 * connection kept for writing (see db.c, "Group commit").  So fn may run
 * on another thread than the caller's: it must use c (sf_db_conn_get
 * inside fn returns c too) and ctx, and no thread-local state.  A failing
 * fn is rolled back alone; its status, like every caller's, is its own.
 * fn may not start another transaction (SF_DB_HARD). */
enum sf_db_status sf_db_txn(struct sf_db *db, sf_db_txn_fn fn, void *ctx, int max_tries);
/* Group commit counters since open: batches committed or tried, and the
 * write transactions they carried. */
void sf_db_group_stats(struct sf_db *db, uint64_t *batches, uint64_t *txns);
/* Inside an sf_db_txn function: run fn(arg) once, on the caller's thread,
 * right after the transaction commits — never when it rolls back, and only for
 * the attempt that commits (registrations of a retried attempt are
 * dropped).  For in-process notices that must not be seen before the change
 * is (cache generations).  Outside a transaction (autocommit: the statement
 * already committed) fn runs at once.  The same (fn, arg) is registered
 * once.  Returns SF_DB_OK, or SF_DB_HARD when more than 4 are registered. */
enum sf_db_status sf_db_after_commit(struct sf_db_conn *c, void (*fn)(void *arg), void *arg);
/* Like sf_db_txn, but fn runs in a read transaction: every query inside sees
 * one consistent snapshot (SQLite: BEGIN DEFERRED; PostgreSQL: REPEATABLE
 * READ READ ONLY) and writers are not blocked.  fn must not write.  Used for
 * reads that must agree with each other (audit verification, exports). */
enum sf_db_status sf_db_txn_read(struct sf_db *db, sf_db_txn_fn fn, void *ctx, int max_tries);

/* Housekeeping: delete at most limit (1..SF_DB_PRUNE_MAX) rows in two
 * steps, so that a scan never holds the write lock: `old` ((cutoff, limit)
 * -> id) lists them in a read transaction, then `drop` ((JSON array of ids,
 * cutoff)) deletes them in a write transaction and must re-check its
 * condition there.  *deleted: rows deleted.  SF_OK, SF_ERR_INVALID (limit),
 * SF_ERR_NOMEM or a database error. */
#define SF_DB_PRUNE_MAX 1000
enum sf_err sf_db_prune(struct sf_db *db, enum sf_stmt old, enum sf_stmt drop, int64_t cutoff, int limit,
			int64_t *deleted) SF_WARN_UNUSED;

/* Schema migrations (numbered files embedded at build time, per backend).
 * sf_db_migrate applies every pending migration, each in its own transaction,
 * and reports how many were applied.  sf_db_schema_status reports the
 * current and the latest known version. */
enum sf_err sf_db_migrate(struct sf_db *db, int *applied, char *errbuf, size_t errlen) SF_WARN_UNUSED;
enum sf_err sf_db_schema_status(struct sf_db *db, int *current, int *latest) SF_WARN_UNUSED;

/* Map a status to an sf_err (SF_DB_OK and SF_DB_NO_ROWS map to SF_OK). */
enum sf_err sf_db_err(enum sf_db_status st);
/* The reverse, for code inside a transaction function that calls helpers
 * returning enum sf_err: SF_OK -> SF_DB_OK, SF_ERR_DB_CONFLICT -> SF_DB_RETRY,
 * SF_ERR_DB_CONSTRAINT -> SF_DB_CONSTRAINT, anything else -> SF_DB_HARD. */
enum sf_db_status sf_db_status_from_err(enum sf_err err);

/* The last backend error message on this connection (for logs, no values). */
const char *sf_db_errmsg(struct sf_db_conn *c);

#endif
