/*
 * sqlite.c — the SQLite driver.
 *
 * One connection per thread (SQLITE_OPEN_NOMUTEX: a connection is never
 * used by two threads at once, so SQLite's own mutexes are not needed), and
 * one more for the group commit's writer (db.c), used by one leader at a
 * time, with a checkpointer thread beside it.  A thread's connection is
 * found through a pthread key and listed in a registry in the handle, so
 * sf_db_close can close every thread's connection; a thread that exits
 * closes its own.  Each connection prepares a statement the first time it is
 * used and keeps it in an array indexed by enum sf_stmt; after each use the
 * statement is reset and its bindings cleared.
 *
 * Settings on every connection: WAL journal (set once, it is persistent),
 * synchronous=NORMAL, foreign_keys=ON, busy_timeout, and an automatic
 * checkpoint every WAL_AUTOCHECKPOINT pages instead of SQLite's 1,000: a
 * checkpoint copies each distinct page once and fsyncs, and the hot pages of
 * a write-heavy load (audit head, order and event tables' last pages) are
 * rewritten by nearly every commit, so checkpointing 10x less often writes
 * and syncs far less (a checkpoint is due once the WAL holds ~40 MB; under
 * continuous reads the log cannot restart and grows until the load pauses,
 * as it did before; the writer's checkpoints run on their own thread, see
 * "Checkpoints").  Write transactions use
 * BEGIN IMMEDIATE so that a conflict shows up at BEGIN (where waiting and
 * retrying are safe) rather than at the first write.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sqlite3.h>

#include "core/util.h"
#include "db/db.h"
#include "db/db_int.h"
#include "db/sqlite_sql.h"

#define WAL_AUTOCHECKPOINT 10000 /* pages (4 KiB) */

struct sq_db;

/* Transaction control statements, kept prepared per connection. */
enum sq_tx { TX_BEGIN_WRITE, TX_BEGIN_READ, TX_COMMIT, TX_SAVEPOINT, TX_RELEASE, TX_ROLLBACK_TO, TX__COUNT };
static const char *const tx_sql[TX__COUNT] = {"BEGIN IMMEDIATE", "BEGIN DEFERRED",    "COMMIT",
					      "SAVEPOINT sf_job", "RELEASE sf_job", "ROLLBACK TO sf_job"};

struct sq_cursor {
	struct sf_db_cursor base; /* first: the neutral layer casts */
	sqlite3_stmt *st;
};

struct sq_conn {
	struct sf_db_conn base; /* first: the neutral layer casts */
	struct sq_db *owner;
	sqlite3 *h;
	sqlite3_stmt *stmts[SF_STMT__COUNT];
	sqlite3_stmt *tx[TX__COUNT]; /* BEGIN / COMMIT, prepared once (see sq_tx) */
	struct sq_cursor cur;
	int cur_open;
	struct sq_conn *next; /* registry list */
};

struct sq_db {
	struct sf_db *db;
	char *path;
	int busy_ms;
	int create;
	pthread_key_t key;
	pthread_mutex_t mu; /* guards conns and the checkpointer's fields */
	struct sq_conn *conns;
	/* The checkpointer (see "Checkpoints"), started with the writer. */
	pthread_t ckpt_thread;
	pthread_cond_t ckpt_cv;
	int ckpt_started, ckpt_due, ckpt_stop;
	struct sq_conn *ckpt_conn;
};

static const char empty_bytes[1] = {0};

/* ==== Status mapping ==== */

static enum sf_db_status map_rc(int rc)
{
	switch (rc & 0xff) {
	case SQLITE_OK:
	case SQLITE_DONE:
	case SQLITE_ROW:
		return SF_DB_OK;
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return SF_DB_RETRY;
	case SQLITE_CONSTRAINT:
		return SF_DB_CONSTRAINT;
	default:
		return SF_DB_HARD;
	}
}

/* ==== Connections ==== */

static void conn_free(struct sq_conn *c)
{
	for (int i = 0; i < SF_STMT__COUNT; i++)
		sqlite3_finalize(c->stmts[i]);
	for (int i = 0; i < TX__COUNT; i++)
		sqlite3_finalize(c->tx[i]);
	sqlite3_close_v2(c->h);
	free(c);
}

/* Thread exit: close this thread's connection and drop it from the list. */
static void conn_destructor(void *v)
{
	struct sq_conn *c = v;
	struct sq_db *s = c->owner;

	pthread_mutex_lock(&s->mu);
	for (struct sq_conn **pp = &s->conns; *pp; pp = &(*pp)->next) {
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	}
	pthread_mutex_unlock(&s->mu);
	conn_free(c);
}

/* Open one connection and apply the per-connection settings.  On failure
 * the reason goes to errbuf and *rc_out holds SQLite's code. */
static struct sq_conn *conn_open(struct sq_db *s, char *errbuf, size_t errlen, int *rc_out)
{
	struct sq_conn *c = calloc(1, sizeof(*c));
	char pragmas[200];
	int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | (s->create ? SQLITE_OPEN_CREATE : 0);
	int rc;

	*rc_out = SQLITE_NOMEM;
	if (!c) {
		snprintf(errbuf, errlen, "out of memory");
		return NULL;
	}
	c->base.db = s->db;
	c->owner = s;
	c->cur.base.conn = &c->base;
	rc = sqlite3_open_v2(s->path, &c->h, flags, NULL);
	if (rc != SQLITE_OK) {
		snprintf(errbuf, errlen, "cannot open database %s: %s", s->path,
			 c->h ? sqlite3_errmsg(c->h) : sqlite3_errstr(rc));
		goto fail;
	}
	sqlite3_extended_result_codes(c->h, 1);
	snprintf(pragmas, sizeof(pragmas),
		 "PRAGMA busy_timeout = %d; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON; "
		 "PRAGMA wal_autocheckpoint = %d;",
		 s->busy_ms, WAL_AUTOCHECKPOINT);
	rc = sqlite3_exec(c->h, pragmas, NULL, NULL, NULL);
	if (rc != SQLITE_OK) {
		snprintf(errbuf, errlen, "cannot configure database %s: %s", s->path, sqlite3_errmsg(c->h));
		goto fail;
	}
	*rc_out = SQLITE_OK;
	return c;
fail:
	*rc_out = rc;
	sqlite3_close_v2(c->h);
	free(c);
	return NULL;
}

static void conn_list(struct sq_db *s, struct sq_conn *c)
{
	pthread_mutex_lock(&s->mu);
	c->next = s->conns;
	s->conns = c;
	pthread_mutex_unlock(&s->mu);
}

/* List c and make it this thread's connection. */
static void conn_register(struct sq_db *s, struct sq_conn *c)
{
	conn_list(s, c);
	pthread_setspecific(s->key, c);
}

/* ==== Checkpoints ====
 *
 * A checkpoint copies the log's pages back into the database and syncs
 * both files: with SQLite's automatic checkpoint it runs inside the commit
 * that crosses the threshold, and with group commit that commit holds up
 * every write transaction queued behind it (~30 ms for 10,000 pages).  So
 * the writer's commits only count the log's pages (a WAL hook) and, past
 * WAL_AUTOCHECKPOINT, wake a thread of its own that runs a PASSIVE
 * checkpoint on its own connection, beside the writers.  Connections of
 * other threads and processes keep SQLite's automatic checkpoint. */

static void *ckpt_main(void *arg)
{
	struct sq_db *s = arg;

	sf_thread_nice(SF_BACKGROUND_NICE);
	pthread_mutex_lock(&s->mu);
	for (;;) {
		while (!s->ckpt_due && !s->ckpt_stop)
			pthread_cond_wait(&s->ckpt_cv, &s->mu);
		if (s->ckpt_stop)
			break;
		s->ckpt_due = 0;
		pthread_mutex_unlock(&s->mu);
		(void)sqlite3_wal_checkpoint_v2(s->ckpt_conn->h, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
		pthread_mutex_lock(&s->mu);
	}
	pthread_mutex_unlock(&s->mu);
	return NULL;
}

static int wal_hook(void *arg, sqlite3 *h, const char *name, int frames)
{
	struct sq_db *s = arg;
	(void)h;
	(void)name;
	if (frames >= WAL_AUTOCHECKPOINT) {
		pthread_mutex_lock(&s->mu);
		if (!s->ckpt_due) {
			s->ckpt_due = 1;
			pthread_cond_signal(&s->ckpt_cv);
		}
		pthread_mutex_unlock(&s->mu);
	}
	return SQLITE_OK;
}

/* Start the checkpointer for writer w; 0 when it cannot run (then w keeps
 * the automatic checkpoint). */
static int ckpt_start(struct sq_db *s, struct sq_conn *w)
{
	char errbuf[256];
	int rc;
	struct sq_conn *c = conn_open(s, errbuf, sizeof(errbuf), &rc);

	if (!c)
		return 0;
	if (pthread_cond_init(&s->ckpt_cv, NULL) != 0) {
		conn_free(c);
		return 0;
	}
	s->ckpt_conn = c;
	if (pthread_create(&s->ckpt_thread, NULL, ckpt_main, s) != 0) {
		pthread_cond_destroy(&s->ckpt_cv);
		s->ckpt_conn = NULL;
		conn_free(c);
		return 0;
	}
	s->ckpt_started = 1;
	conn_list(s, c);
	sqlite3_wal_hook(w->h, wal_hook, s); /* replaces the automatic checkpoint */
	return 1;
}

static void ckpt_stop(struct sq_db *s)
{
	if (!s->ckpt_started)
		return;
	pthread_mutex_lock(&s->mu);
	s->ckpt_stop = 1;
	pthread_cond_signal(&s->ckpt_cv);
	pthread_mutex_unlock(&s->mu);
	pthread_join(s->ckpt_thread, NULL);
	pthread_cond_destroy(&s->ckpt_cv);
	s->ckpt_started = 0;
}

/* The group-commit writer: a connection of no thread, in the registry so
 * that close() closes it, with the checkpointer beside it.  Savepoints keep
 * a copy of each page they change that an earlier savepoint changed too
 * (the sub-journal): in memory, not in a temporary file. */
static struct sf_db_conn *sq_conn_new(struct sf_db *db)
{
	struct sq_db *s = db->impl;
	char errbuf[256];
	int rc;
	struct sq_conn *c = conn_open(s, errbuf, sizeof(errbuf), &rc);

	if (!c)
		return NULL;
	if (sqlite3_exec(c->h, "PRAGMA temp_store = MEMORY", NULL, NULL, NULL) != SQLITE_OK) {
		conn_free(c);
		return NULL;
	}
	if (!s->ckpt_started)
		(void)ckpt_start(s, c);
	conn_list(s, c);
	return &c->base;
}

static struct sf_db_conn *sq_conn_get(struct sf_db *db)
{
	struct sq_db *s = db->impl;
	struct sq_conn *c = pthread_getspecific(s->key);
	char errbuf[256];
	int rc;

	if (c)
		return &c->base;
	c = conn_open(s, errbuf, sizeof(errbuf), &rc);
	if (!c)
		return NULL;
	conn_register(s, c);
	return &c->base;
}

/* Journal mode is a property of the file: set WAL once and check that it
 * took (a read-only or odd file system may refuse). */
static int set_wal(sqlite3 *h, char *errbuf, size_t errlen, int *rc_out)
{
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(h, "PRAGMA journal_mode = WAL", -1, &st, NULL);
	int ok = 0;

	if (rc == SQLITE_OK) {
		rc = sqlite3_step(st);
		if (rc == SQLITE_ROW) {
			const unsigned char *mode = sqlite3_column_text(st, 0);
			ok = mode && strcmp((const char *)mode, "wal") == 0;
			rc = SQLITE_OK;
			if (!ok)
				snprintf(errbuf, errlen, "the database refused WAL journal mode (got %s)",
					 mode ? (const char *)mode : "nothing");
		}
	}
	if (rc != SQLITE_OK)
		snprintf(errbuf, errlen, "cannot use the database: %s", sqlite3_errmsg(h));
	sqlite3_finalize(st);
	*rc_out = rc == SQLITE_OK && !ok ? SQLITE_ERROR : rc;
	return ok;
}

/* SQLite counts every allocation under one global mutex for
 * sqlite3_memory_used(), which storefort never asks for: with 32 request
 * threads that mutex was contended (1.6 % of the server's context switches
 * under the checkout benchmark).  Off, before SQLite initialises; in a
 * process that used SQLite already the call fails and changes nothing. */
static void sq_configure(void)
{
	(void)sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}

static enum sf_err sq_open(struct sf_db *db, const struct sf_db_options *opt, char *errbuf, size_t errlen)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;

	struct sq_db *s = NULL;
	struct sq_conn *c = NULL;
	char sub[256] = "";
	int rc = SQLITE_OK;
	enum sf_err err = SF_ERR_DB;

	if (!sqlite3_threadsafe()) {
		snprintf(errbuf, errlen, "SQLite was built without thread support");
		return SF_ERR_DB;
	}
	(void)pthread_once(&once, sq_configure);
	if (!opt->path || !opt->path[0]) {
		snprintf(errbuf, errlen, "no database path given");
		return SF_ERR_INVALID;
	}
	s = calloc(1, sizeof(*s));
	if (!s)
		return SF_ERR_NOMEM;
	s->db = db;
	s->busy_ms = opt->busy_timeout_ms > 0 ? opt->busy_timeout_ms : 5000;
	s->create = opt->create;
	s->path = strdup(opt->path);
	if (!s->path) {
		free(s);
		return SF_ERR_NOMEM;
	}
	if (pthread_mutex_init(&s->mu, NULL) != 0) {
		free(s->path);
		free(s);
		return SF_ERR_INTERNAL;
	}
	if (pthread_key_create(&s->key, conn_destructor) != 0) {
		pthread_mutex_destroy(&s->mu);
		free(s->path);
		free(s);
		snprintf(errbuf, errlen, "out of thread-specific keys");
		return SF_ERR_INTERNAL;
	}
	/* Open this thread's connection now, so that a bad path or a file that
	 * is not a database is reported here rather than at first use. */
	c = conn_open(s, sub, sizeof(sub), &rc);
	if (!c)
		goto fail;
	if (!set_wal(c->h, sub, sizeof(sub), &rc))
		goto fail;
	rc = sqlite3_exec(c->h, "SELECT count(*) FROM sqlite_master", NULL, NULL, NULL);
	if (rc != SQLITE_OK) {
		snprintf(sub, sizeof(sub), "cannot read database %s: %s", s->path, sqlite3_errmsg(c->h));
		goto fail;
	}
	db->impl = s;
	conn_register(s, c);
	return SF_OK;
fail:
	snprintf(errbuf, errlen, "%s", sub);
	if ((rc & 0xff) == SQLITE_CANTOPEN || (rc & 0xff) == SQLITE_IOERR || (rc & 0xff) == SQLITE_PERM ||
	    (rc & 0xff) == SQLITE_READONLY)
		err = SF_ERR_IO;
	if (c) {
		sqlite3_close_v2(c->h);
		free(c);
	}
	pthread_key_delete(s->key);
	pthread_mutex_destroy(&s->mu);
	free(s->path);
	free(s);
	return err;
}

static void sq_close(struct sf_db *db)
{
	struct sq_db *s = db->impl;
	struct sq_conn *c;

	if (!s)
		return;
	ckpt_stop(s);
	/* Forget this thread's pointer; other threads' values die with the key
	 * (no destructor runs for a deleted key). */
	pthread_setspecific(s->key, NULL);
	pthread_key_delete(s->key);
	pthread_mutex_lock(&s->mu);
	c = s->conns;
	s->conns = NULL;
	pthread_mutex_unlock(&s->mu);
	while (c) {
		struct sq_conn *n = c->next;
		conn_free(c);
		c = n;
	}
	pthread_mutex_destroy(&s->mu);
	free(s->path);
	free(s);
	db->impl = NULL;
}

/* ==== Statements ==== */

static sqlite3_stmt *stmt_get(struct sq_conn *c, enum sf_stmt id)
{
	const char *sql = sf_sqlite_sql[id];

	if (c->stmts[id])
		return c->stmts[id];
	if (!sql)
		return NULL;
	if (sqlite3_prepare_v3(c->h, sql, -1, SQLITE_PREPARE_PERSISTENT, &c->stmts[id], NULL) != SQLITE_OK) {
		sqlite3_finalize(c->stmts[id]);
		c->stmts[id] = NULL;
	}
	return c->stmts[id];
}

/* Why a statement has no prepared form: a missing table entry is our bug
 * (HARD); a busy schema read is worth a retry. */
static enum sf_db_status prepare_failed(struct sq_conn *c, enum sf_stmt id)
{
	if (!sf_sqlite_sql[id])
		return SF_DB_HARD;
	return map_rc(sqlite3_errcode(c->h)) == SF_DB_RETRY ? SF_DB_RETRY : SF_DB_HARD;
}

static int bind_params(sqlite3_stmt *st, const struct sf_db_param *params, size_t n, int transient)
{
	sqlite3_destructor_type d = transient ? SQLITE_TRANSIENT : SQLITE_STATIC;

	if (n != (size_t)sqlite3_bind_parameter_count(st))
		return SQLITE_RANGE;
	for (size_t i = 0; i < n; i++) {
		const struct sf_db_param *p = &params[i];
		int idx = (int)i + 1;
		int rc;

		switch (p->type) {
		case SF_DB_T_NULL:
			rc = sqlite3_bind_null(st, idx);
			break;
		case SF_DB_T_INT:
			rc = sqlite3_bind_int64(st, idx, p->i);
			break;
		case SF_DB_T_TEXT:
			rc = sqlite3_bind_text64(st, idx, p->n ? p->p : empty_bytes, p->n, d, SQLITE_UTF8);
			break;
		case SF_DB_T_BLOB:
			/* A NULL pointer would bind SQL NULL: an empty blob stays a blob. */
			rc = sqlite3_bind_blob64(st, idx, p->n ? p->p : empty_bytes, p->n, d);
			break;
		default:
			rc = SQLITE_MISUSE;
			break;
		}
		if (rc != SQLITE_OK)
			return rc;
	}
	return SQLITE_OK;
}

/* Does this SQL change rows (so that "0 rows changed" means NO_ROWS)?
 * sqlite3_changes() is only meaningful after INSERT, UPDATE or DELETE. */
static int is_dml(const char *sql)
{
	static const char *const kw[] = {"INSERT", "UPDATE", "DELETE", "REPLACE", "WITH"};

	while (*sql == ' ' || *sql == '\t' || *sql == '\n')
		sql++;
	for (size_t i = 0; i < sizeof(kw) / sizeof(kw[0]); i++)
		if (strncasecmp(sql, kw[i], strlen(kw[i])) == 0)
			return 1;
	return 0;
}

static void stmt_done(sqlite3_stmt *st)
{
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
}

static enum sf_db_status sq_exec(struct sf_db_conn *bc, enum sf_stmt id, const struct sf_db_param *params,
				 size_t nparams, int64_t *changes)
{
	struct sq_conn *c = (struct sq_conn *)bc;
	sqlite3_stmt *st = stmt_get(c, id);
	int rc;

	if (!st)
		return prepare_failed(c, id);
	if (c->cur_open && c->cur.st == st)
		return SF_DB_HARD; /* our bug: the open cursor uses this statement */
	rc = bind_params(st, params, nparams, 0);
	if (rc == SQLITE_OK) {
		rc = sqlite3_step(st);
		while (rc == SQLITE_ROW) /* DDL/pragmas may yield rows: drain them */
			rc = sqlite3_step(st);
	}
	stmt_done(st);
	if (rc != SQLITE_DONE) {
		enum sf_db_status s = map_rc(rc);
		return s == SF_DB_OK ? SF_DB_HARD : s;
	}
	if (!is_dml(sf_sqlite_sql[id]))
		return SF_DB_OK; /* DDL and the like change no rows but did their work */
	{
		int64_t n = sqlite3_changes64(c->h);
		if (changes)
			*changes = n;
		return n == 0 ? SF_DB_NO_ROWS : SF_DB_OK;
	}
}

static enum sf_db_status sq_query(struct sf_db_conn *bc, enum sf_stmt id, const struct sf_db_param *params,
				  size_t nparams, struct sf_db_cursor **cur)
{
	struct sq_conn *c = (struct sq_conn *)bc;
	sqlite3_stmt *st;
	int rc;

	if (c->cur_open)
		return SF_DB_HARD; /* our bug: one cursor per connection */
	st = stmt_get(c, id);
	if (!st)
		return prepare_failed(c, id);
	/* The cursor outlives this call, the caller's buffers may not. */
	rc = bind_params(st, params, nparams, 1);
	if (rc != SQLITE_OK) {
		stmt_done(st);
		return SF_DB_HARD;
	}
	c->cur.st = st;
	c->cur_open = 1;
	*cur = &c->cur.base;
	return SF_DB_OK;
}

static enum sf_db_status sq_next(struct sf_db_cursor *bcur)
{
	struct sq_cursor *cur = (struct sq_cursor *)bcur;
	int rc = sqlite3_step(cur->st);

	if (rc == SQLITE_ROW)
		return SF_DB_OK;
	if (rc == SQLITE_DONE)
		return SF_DB_NO_ROWS;
	{
		enum sf_db_status s = map_rc(rc);
		return s == SF_DB_OK ? SF_DB_HARD : s;
	}
}

static int sq_col_is_null(struct sf_db_cursor *bcur, int col)
{
	struct sq_cursor *cur = (struct sq_cursor *)bcur;

	return sqlite3_column_type(cur->st, col) == SQLITE_NULL;
}

static int64_t sq_col_int(struct sf_db_cursor *bcur, int col)
{
	struct sq_cursor *cur = (struct sq_cursor *)bcur;

	return sqlite3_column_int64(cur->st, col);
}

static const char *sq_col_text(struct sf_db_cursor *bcur, int col, size_t *len)
{
	struct sq_cursor *cur = (struct sq_cursor *)bcur;
	const unsigned char *t = sqlite3_column_text(cur->st, col);
	int n = sqlite3_column_bytes(cur->st, col);

	if (!t) {
		t = (const unsigned char *)empty_bytes;
		n = 0;
	}
	if (len)
		*len = (size_t)n;
	return (const char *)t;
}

static const void *sq_col_blob(struct sf_db_cursor *bcur, int col, size_t *len)
{
	struct sq_cursor *cur = (struct sq_cursor *)bcur;
	int null = sqlite3_column_type(cur->st, col) == SQLITE_NULL;
	const void *b = sqlite3_column_blob(cur->st, col);
	int n = sqlite3_column_bytes(cur->st, col);

	if (len)
		*len = null ? 0 : (size_t)n;
	if (null)
		return NULL;
	return b ? b : empty_bytes; /* an empty blob is not NULL */
}

static void sq_cursor_close(struct sf_db_cursor *bcur)
{
	struct sq_cursor *cur = (struct sq_cursor *)bcur;
	struct sq_conn *c = (struct sq_conn *)bcur->conn;

	if (!c->cur_open)
		return;
	stmt_done(cur->st);
	cur->st = NULL;
	c->cur_open = 0;
}

static int64_t sq_last_id(struct sf_db_conn *bc)
{
	struct sq_conn *c = (struct sq_conn *)bc;

	return sqlite3_last_insert_rowid(c->h);
}

/* ==== Transactions and scripts ==== */

static enum sf_db_status sq_script(struct sf_db_conn *bc, const char *sql)
{
	struct sq_conn *c = (struct sq_conn *)bc;
	int rc = sqlite3_exec(c->h, sql, NULL, NULL, NULL);
	enum sf_db_status s = map_rc(rc);

	return rc == SQLITE_OK ? SF_DB_OK : (s == SF_DB_OK ? SF_DB_HARD : s);
}

/* Run BEGIN or COMMIT from its prepared statement: sqlite3_exec parsed the
 * text again on every transaction (two per request on the checkout path). */
static enum sf_db_status sq_tx(struct sf_db_conn *bc, enum sq_tx which)
{
	struct sq_conn *c = (struct sq_conn *)bc;
	int rc = SQLITE_OK;

	if (!c->tx[which])
		rc = sqlite3_prepare_v3(c->h, tx_sql[which], -1, SQLITE_PREPARE_PERSISTENT, &c->tx[which], NULL);
	if (rc == SQLITE_OK) {
		rc = sqlite3_step(c->tx[which]);
		sqlite3_reset(c->tx[which]);
	}
	enum sf_db_status s = map_rc(rc);

	return rc == SQLITE_DONE ? SF_DB_OK : (s == SF_DB_OK ? SF_DB_HARD : s);
}

static enum sf_db_status sq_begin(struct sf_db_conn *c, int write)
{
	return sq_tx(c, write ? TX_BEGIN_WRITE : TX_BEGIN_READ);
}

static enum sf_db_status sq_commit(struct sf_db_conn *c)
{
	return sq_tx(c, TX_COMMIT);
}

static enum sf_db_status sq_savepoint(struct sf_db_conn *bc)
{
	return sq_tx(bc, TX_SAVEPOINT);
}

/* Releasing or rolling back to a savepoint needs no open statement: a cursor
 * a function left open is closed first (it would make RELEASE fail). */
static enum sf_db_status sq_release(struct sf_db_conn *bc)
{
	struct sq_conn *c = (struct sq_conn *)bc;

	if (c->cur_open)
		sq_cursor_close(&c->cur.base);
	return sq_tx(bc, TX_RELEASE);
}

static void sq_rollback_to(struct sf_db_conn *bc)
{
	struct sq_conn *c = (struct sq_conn *)bc;

	if (c->cur_open)
		sq_cursor_close(&c->cur.base);
	if (!sqlite3_get_autocommit(c->h) && sq_tx(bc, TX_ROLLBACK_TO) == SF_DB_OK)
		(void)sq_tx(bc, TX_RELEASE);
}

static int sq_txn_open(struct sf_db_conn *bc)
{
	return !sqlite3_get_autocommit(((struct sq_conn *)bc)->h);
}

static void sq_rollback(struct sf_db_conn *bc)
{
	struct sq_conn *c = (struct sq_conn *)bc;

	if (c->cur_open)
		sq_cursor_close(&c->cur.base);
	if (!sqlite3_get_autocommit(c->h))
		sqlite3_exec(c->h, "ROLLBACK", NULL, NULL, NULL);
}

static const char *sq_errmsg(struct sf_db_conn *bc)
{
	struct sq_conn *c = (struct sq_conn *)bc;

	return sqlite3_errmsg(c->h);
}

const struct sf_db_driver sf_db_sqlite_driver = {
	.name = "sqlite",
	.migrations_prefix = "migrations/sqlite/",
	.open = sq_open,
	.close = sq_close,
	.conn_get = sq_conn_get,
	.exec = sq_exec,
	.query = sq_query,
	.next = sq_next,
	.col_is_null = sq_col_is_null,
	.col_int = sq_col_int,
	.col_text = sq_col_text,
	.col_blob = sq_col_blob,
	.cursor_close = sq_cursor_close,
	.last_id = sq_last_id,
	.begin = sq_begin,
	.commit = sq_commit,
	.rollback = sq_rollback,
	.exec_script = sq_script,
	.errmsg = sq_errmsg,
	.conn_new = sq_conn_new,
	.savepoint = sq_savepoint,
	.release = sq_release,
	.rollback_to = sq_rollback_to,
	.txn_open = sq_txn_open,
};
