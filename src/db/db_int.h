/*
 * db_int.h — what the backend-neutral layer (db.c, migrate.c) and the
 * backends (sqlite.c, later postgres.c) share, and nothing else includes
 * (tests do, to reach the driver and the migration numbering checker).
 *
 * A backend supplies a struct sf_db_driver.  Its connection and cursor
 * structs begin with struct sf_db_conn / struct sf_db_cursor, so db.c can
 * find the handle (and through it the driver) from any of them.
 */
#ifndef SF_DB_DB_INT_H
#define SF_DB_DB_INT_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "db/db.h"

struct sf_db_driver {
	const char *name;              /* "sqlite" */
	const char *migrations_prefix; /* asset prefix, "migrations/sqlite/" */

	/* Open the backend state (db->impl) and check that the database is
	 * usable; SF_ERR_DB / SF_ERR_IO with a reason in errbuf. */
	enum sf_err (*open)(struct sf_db *db, const struct sf_db_options *opt, char *errbuf, size_t errlen);
	/* Close every connection (all threads') and free db->impl. */
	void (*close)(struct sf_db *db);
	struct sf_db_conn *(*conn_get)(struct sf_db *db);

	enum sf_db_status (*exec)(struct sf_db_conn *c, enum sf_stmt id, const struct sf_db_param *params,
				  size_t nparams, int64_t *changes);
	enum sf_db_status (*query)(struct sf_db_conn *c, enum sf_stmt id, const struct sf_db_param *params,
				   size_t nparams, struct sf_db_cursor **cur);
	enum sf_db_status (*next)(struct sf_db_cursor *cur);
	int (*col_is_null)(struct sf_db_cursor *cur, int col);
	int64_t (*col_int)(struct sf_db_cursor *cur, int col);
	const char *(*col_text)(struct sf_db_cursor *cur, int col, size_t *len);
	const void *(*col_blob)(struct sf_db_cursor *cur, int col, size_t *len);
	void (*cursor_close)(struct sf_db_cursor *cur);
	int64_t (*last_id)(struct sf_db_conn *c);

	/* Transaction control.  begin(write=1) takes the write lock up front
	 * (SQLite BEGIN IMMEDIATE); begin(write=0) starts a read snapshot. */
	enum sf_db_status (*begin)(struct sf_db_conn *c, int write);
	enum sf_db_status (*commit)(struct sf_db_conn *c);
	/* Roll back if a transaction is open; never fails visibly. */
	void (*rollback)(struct sf_db_conn *c);
	/* Run a trusted multi-statement script (our own migration files only,
	 * never input). */
	enum sf_db_status (*exec_script)(struct sf_db_conn *c, const char *sql);
	const char *(*errmsg)(struct sf_db_conn *c);

	/* Group commit (db.c, "Group commit"): a backend that gains from
	 * running several callers' transactions as one sets all five; NULL
	 * conn_new runs each transaction on its own.  conn_new opens a
	 * connection bound to no thread (closed by close); savepoint marks a
	 * point inside the open transaction, release forgets it, rollback_to
	 * undoes everything since it and forgets it; txn_open says whether the
	 * transaction is still open (a backend may end it on some errors). */
	struct sf_db_conn *(*conn_new)(struct sf_db *db);
	enum sf_db_status (*savepoint)(struct sf_db_conn *c);
	enum sf_db_status (*release)(struct sf_db_conn *c);
	void (*rollback_to)(struct sf_db_conn *c);
	int (*txn_open)(struct sf_db_conn *c);
};

struct sf_db_job; /* a queued write transaction (db.c) */

/* The write queue of group commit (db.c). */
struct sf_db_group {
	pthread_mutex_t mu;
	struct sf_db_job *head, *tail; /* waiting, in arrival order */
	uint64_t arrivals;             /* callers ever queued */
	int leading;                  /* a thread is running a batch */
	struct sf_db_conn *writer;    /* the connection batches run on */
	uint64_t batches, jobs;       /* counters (tests, metrics) */
};

struct sf_db {
	const struct sf_db_driver *drv;
	enum sf_db_backend backend;
	void *impl; /* backend state */
	struct sf_db_group group;
};

#define SF_DB_AFTER_COMMIT_MAX 4

struct sf_db_after {
	void (*fn)(void *arg);
	void *arg;
};

struct sf_db_conn {
	struct sf_db *db;
	int in_txn; /* inside sf_db_txn's fn */
	size_t nafter;
	struct sf_db_after after[SF_DB_AFTER_COMMIT_MAX]; /* sf_db_after_commit, run after COMMIT */
};

struct sf_db_cursor {
	struct sf_db_conn *conn;
};

extern const struct sf_db_driver sf_db_sqlite_driver;

/* ---- migration numbering (migrate.c) ---- */

/* Check a list of migration file names (base names such as
 * "0001_core.sql", in ascending name order): each must be NNNN_name.sql with
 * four digits, and the numbers must run 1, 2, 3, ... with no gap and no
 * duplicate.  Returns SF_OK with *latest = the highest number (0 for an empty
 * list), or SF_ERR_DB_SCHEMA with the offending name in errbuf. */
enum sf_err sf_db_migrations_check(const char *const *names, size_t n, int *latest, char *errbuf,
				   size_t errlen) SF_WARN_UNUSED;

#endif
