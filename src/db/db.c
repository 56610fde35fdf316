/*
 * db.c — the backend-neutral half of the storage layer: picks the driver,
 * forwards every call through its vtable, and runs transactions with
 * retries.  Nothing here knows SQL.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <sodium.h>

#include "db/db.h"
#include "db/db_int.h"

/* ==== Handles ==== */

enum sf_err sf_db_open(const struct sf_db_options *opt, struct sf_db **out, char *errbuf, size_t errlen)
{
	struct sf_db *db = NULL;
	enum sf_err err = SF_OK;

	*out = NULL;
	if (errlen)
		errbuf[0] = '\0';
	if (sodium_init() < 0) {
		snprintf(errbuf, errlen, "libsodium failed to initialise");
		return SF_ERR_INTERNAL;
	}
	db = calloc(1, sizeof(*db));
	if (!db)
		return SF_ERR_NOMEM;
	db->backend = opt->backend;
	switch (opt->backend) {
	case SF_DB_SQLITE:
		db->drv = &sf_db_sqlite_driver;
		break;
	case SF_DB_POSTGRES:
	default:
		snprintf(errbuf, errlen, "this binary has no driver for the PostgreSQL backend");
		err = SF_ERR_DB;
		goto out;
	}
	err = db->drv->open(db, opt, errbuf, errlen);
	if (err)
		goto out;
	*out = db;
	db = NULL;
out:
	free(db);
	return err;
}

void sf_db_close(struct sf_db *db)
{
	if (!db)
		return;
	db->drv->close(db);
	free(db);
}

enum sf_db_backend sf_db_backend(const struct sf_db *db)
{
	return db->backend;
}

struct sf_db_conn *sf_db_conn_get(struct sf_db *db)
{
	return db->drv->conn_get(db);
}

/* ==== Statements ==== */

enum sf_db_status sf_db_exec(struct sf_db_conn *c, enum sf_stmt id, const struct sf_db_param *params,
			     size_t nparams, int64_t *changes)
{
	if (changes)
		*changes = 0;
	if ((int)id < 0 || id >= SF_STMT__COUNT)
		return SF_DB_HARD;
	return c->db->drv->exec(c, id, params, nparams, changes);
}

enum sf_db_status sf_db_query(struct sf_db_conn *c, enum sf_stmt id, const struct sf_db_param *params,
			      size_t nparams, struct sf_db_cursor **cur)
{
	*cur = NULL;
	if ((int)id < 0 || id >= SF_STMT__COUNT)
		return SF_DB_HARD;
	return c->db->drv->query(c, id, params, nparams, cur);
}

enum sf_db_status sf_db_next(struct sf_db_cursor *cur)
{
	return cur->conn->db->drv->next(cur);
}

int sf_db_col_is_null(struct sf_db_cursor *cur, int col)
{
	return cur->conn->db->drv->col_is_null(cur, col);
}

int64_t sf_db_col_int(struct sf_db_cursor *cur, int col)
{
	return cur->conn->db->drv->col_int(cur, col);
}

const char *sf_db_col_text(struct sf_db_cursor *cur, int col, size_t *len)
{
	return cur->conn->db->drv->col_text(cur, col, len);
}

const void *sf_db_col_blob(struct sf_db_cursor *cur, int col, size_t *len)
{
	return cur->conn->db->drv->col_blob(cur, col, len);
}

void sf_db_cursor_close(struct sf_db_cursor *cur)
{
	if (cur)
		cur->conn->db->drv->cursor_close(cur);
}

enum sf_db_status sf_db_query_one(struct sf_db_conn *c, enum sf_stmt id, const struct sf_db_param *params,
				  size_t nparams, sf_db_row_fn fn, void *ctx)
{
	struct sf_db_cursor *cur = NULL;
	enum sf_db_status st = sf_db_query(c, id, params, nparams, &cur);

	if (st != SF_DB_OK)
		return st;
	st = sf_db_next(cur);
	if (st == SF_DB_OK && fn)
		fn(cur, ctx);
	sf_db_cursor_close(cur);
	return st;
}

int64_t sf_db_last_id(struct sf_db_conn *c)
{
	return c->db->drv->last_id(c);
}

const char *sf_db_errmsg(struct sf_db_conn *c)
{
	return c ? c->db->drv->errmsg(c) : "no database connection";
}

/* ==== Transactions ==== */

/* Sleep a little before the next try: a random 0.1–(1 + try) ms, capped, so
 * that threads that collided do not collide again in lock step. */
static void backoff(int attempt)
{
	uint32_t span_us = 1000u * (uint32_t)(attempt < 10 ? attempt : 10);
	struct timespec ts;

	uint32_t us = 100u + randombytes_uniform(span_us);
	ts.tv_sec = 0;
	ts.tv_nsec = (long)us * 1000L;
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

static enum sf_db_status run_txn(struct sf_db *db, int write, sf_db_txn_fn fn, void *ctx, int max_tries)
{
	struct sf_db_conn *c = sf_db_conn_get(db);
	const struct sf_db_driver *drv = db->drv;
	enum sf_db_status st = SF_DB_HARD;

	if (!c)
		return SF_DB_HARD;
	if (max_tries < 1)
		max_tries = 1;
	for (int attempt = 1;; attempt++) {
		c->nafter = 0;
		st = drv->begin(c, write);
		if (st == SF_DB_OK) {
			c->in_txn = 1;
			st = fn(c, ctx);
			c->in_txn = 0;
			if (st == SF_DB_OK || st == SF_DB_NO_ROWS) {
				enum sf_db_status cst = drv->commit(c);
				if (cst != SF_DB_OK) {
					drv->rollback(c);
					st = cst;
				} else {
					size_t n = c->nafter;
					c->nafter = 0;
					for (size_t i = 0; i < n; i++)
						c->after[i].fn(c->after[i].arg);
				}
			} else {
				drv->rollback(c);
			}
		}
		c->nafter = 0;
		if (st != SF_DB_RETRY || attempt >= max_tries)
			return st;
		backoff(attempt);
	}
}

enum sf_db_status sf_db_after_commit(struct sf_db_conn *c, void (*fn)(void *arg), void *arg)
{
	if (!c || !fn)
		return SF_DB_HARD;
	if (!c->in_txn) {
		fn(arg);
		return SF_DB_OK;
	}
	for (size_t i = 0; i < c->nafter; i++)
		if (c->after[i].fn == fn && c->after[i].arg == arg)
			return SF_DB_OK;
	if (c->nafter >= SF_DB_AFTER_COMMIT_MAX)
		return SF_DB_HARD;
	c->after[c->nafter].fn = fn;
	c->after[c->nafter].arg = arg;
	c->nafter++;
	return SF_DB_OK;
}

enum sf_db_status sf_db_txn(struct sf_db *db, sf_db_txn_fn fn, void *ctx, int max_tries)
{
	return run_txn(db, 1, fn, ctx, max_tries);
}

enum sf_db_status sf_db_txn_read(struct sf_db *db, sf_db_txn_fn fn, void *ctx, int max_tries)
{
	return run_txn(db, 0, fn, ctx, max_tries);
}

/* ==== Status mapping ==== */

enum sf_err sf_db_err(enum sf_db_status st)
{
	switch (st) {
	case SF_DB_OK:
	case SF_DB_NO_ROWS:
		return SF_OK;
	case SF_DB_RETRY:
		return SF_ERR_DB_CONFLICT;
	case SF_DB_CONSTRAINT:
		return SF_ERR_DB_CONSTRAINT;
	case SF_DB_HARD:
	default:
		return SF_ERR_DB;
	}
}

enum sf_db_status sf_db_status_from_err(enum sf_err err)
{
	switch (err) {
	case SF_OK:
		return SF_DB_OK;
	case SF_ERR_DB_CONFLICT:
		return SF_DB_RETRY;
	case SF_ERR_DB_CONSTRAINT:
		return SF_DB_CONSTRAINT;
	default:
		return SF_DB_HARD;
	}
}
