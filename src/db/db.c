/*
 * db.c — the backend-neutral half of the storage layer: picks the driver,
 * forwards every call through its vtable, and runs transactions with
 * retries, grouping concurrent write transactions into one commit.
 * Nothing here knows SQL.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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
	if (pthread_mutex_init(&db->group.mu, NULL) != 0) {
		free(db);
		return SF_ERR_INTERNAL;
	}
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
	if (db)
		pthread_mutex_destroy(&db->group.mu);
	free(db);
	return err;
}

void sf_db_close(struct sf_db *db)
{
	if (!db)
		return;
	db->drv->close(db); /* closes the group's writer connection too */
	pthread_mutex_destroy(&db->group.mu);
	free(db);
}

enum sf_db_backend sf_db_backend(const struct sf_db *db)
{
	return db->backend;
}

/* While this thread runs a batch of write transactions (see "Group
 * commit"), the connection they run on: a transaction function that asks
 * for "this thread's connection" must get the one its transaction is open
 * on. */
static _Thread_local struct sf_db_conn *tl_writer;

struct sf_db_conn *sf_db_conn_get(struct sf_db *db)
{
	if (tl_writer && tl_writer->db == db)
		return tl_writer;
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

/* ==== Group commit ====
 *
 * SQLite has one writer, and every commit writes each page it changed to
 * the log: the hot pages (the audit head, the last pages of the order,
 * event and outbox tables and of their indexes) are changed by nearly every
 * transaction, so 5 small transactions per checkout wrote ~60 pages.  And
 * each commit by one connection empties every other connection's page
 * cache.  So write transactions queue, and the first in line runs the
 * transactions waiting behind it (at most GROUP_MAX) as one transaction on
 * one connection kept for writing, each inside its own savepoint, and
 * commits once — LevelDB's writer queue.  A transaction whose function
 * fails is rolled back to its savepoint alone; the others commit.  Nobody
 * waits for a timer: a lone caller runs at once, and batches form only
 * from callers that arrive while a batch is running.
 *
 * Each caller still gets its own outcome, tries and after-commit notices
 * (run on its own thread once the batch has committed).  An attempt that
 * fails as a whole (BEGIN or COMMIT, or the backend ended the transaction
 * after an error) counts as a try for every function still pending, and
 * those asking to retry run again in the next attempt, after a back-off. */

#define GROUP_MAX 64

struct sf_db_job {
	sf_db_txn_fn fn;
	void *ctx;
	int max_tries, tries;
	enum sf_db_status st; /* the outcome (or, while pending, the last result) */
	int fin;              /* the leader has settled it (leader-private) */
	int ok;               /* this attempt ran it and kept its work */
	int lead;             /* woken to lead the next batch, not settled */
	sem_t wake;           /* posted once: settled, or lead */
	size_t nafter;
	struct sf_db_after after[SF_DB_AFTER_COMMIT_MAX];
	struct sf_db_job *next;
};

/* One attempt: BEGIN, every pending job in its savepoint, COMMIT.  Settles
 * the jobs whose function failed for good; returns SF_DB_OK when the
 * attempt committed, else the status that undid it (SF_DB_RETRY when the
 * backend ended the transaction because of one function's error). */
static enum sf_db_status attempt(struct sf_db *db, struct sf_db_conn *w, struct sf_db_job **jobs, size_t n)
{
	const struct sf_db_driver *drv = db->drv;
	enum sf_db_status st = drv->begin(w, 1);

	if (st != SF_DB_OK)
		return st;
	for (size_t i = 0; i < n; i++) {
		struct sf_db_job *j = jobs[i];
		if (j->fin)
			continue;
		if ((st = drv->savepoint(w)) != SF_DB_OK)
			goto undo;
		w->nafter = 0;
		w->in_txn = 1;
		enum sf_db_status fs = j->fn(w, j->ctx);
		w->in_txn = 0;
		j->st = fs;
		if (fs == SF_DB_OK || fs == SF_DB_NO_ROWS) {
			if ((st = drv->release(w)) != SF_DB_OK)
				goto undo;
			j->ok = 1;
			j->nafter = w->nafter;
			memcpy(j->after, w->after, w->nafter * sizeof w->after[0]);
			continue;
		}
		drv->rollback_to(w);
		if (fs != SF_DB_RETRY || j->tries >= j->max_tries)
			j->fin = 1;
		if (!drv->txn_open(w)) {
			st = SF_DB_RETRY; /* the others' work went with it: run them again */
			goto undo;
		}
	}
	w->nafter = 0;
	if ((st = drv->commit(w)) == SF_DB_OK)
		return SF_DB_OK;
undo:
	w->nafter = 0;
	w->in_txn = 0;
	drv->rollback(w);
	return st == SF_DB_OK ? SF_DB_HARD : st;
}

/* Run a batch to the end: every job leaves settled. */
static void run_batch(struct sf_db *db, struct sf_db_job **jobs, size_t n)
{
	struct sf_db_group *g = &db->group;

	if (!g->writer)
		g->writer = db->drv->conn_new(db);
	if (!g->writer) {
		for (size_t i = 0; i < n; i++) {
			jobs[i]->st = SF_DB_HARD;
			jobs[i]->fin = 1;
		}
		return;
	}
	tl_writer = g->writer;
	for (int round = 1;; round++) {
		size_t pending = 0;
		for (size_t i = 0; i < n; i++) {
			if (jobs[i]->fin)
				continue;
			jobs[i]->tries++;
			jobs[i]->ok = 0;
			jobs[i]->nafter = 0; /* notices only from the attempt that commits */
			pending++;
		}
		if (!pending)
			break;
		if (round > 1)
			backoff(round - 1);
		enum sf_db_status st = attempt(db, g->writer, jobs, n);
		for (size_t i = 0; i < n; i++) {
			struct sf_db_job *j = jobs[i];
			if (j->fin)
				continue;
			if (st == SF_DB_OK && j->ok) {
				j->fin = 1; /* committed, with its function's status */
				continue;
			}
			j->nafter = 0;
			if (st != SF_DB_OK)
				j->st = st; /* undone with the whole attempt */
			if (j->st != SF_DB_RETRY || j->tries >= j->max_tries)
				j->fin = 1;
		}
	}
	tl_writer = NULL;
}

/* Run the batch at the head of the queue (the caller's own job is its
 * first), then hand the queue to the next in line and wake the members.
 * The wake-ups happen after the group mutex is released: a member woken
 * while the leader still held it would wake only to block on it again (a
 * quarter of the server's context switches under the checkout benchmark).
 * A member may return, and its job leave the stack, as soon as it is
 * posted, so nothing here touches a job after posting it. */
static void lead(struct sf_db *db)
{
	struct sf_db_group *g = &db->group;
	struct sf_db_job *batch[GROUP_MAX], *next;
	size_t n = 0;

	pthread_mutex_lock(&g->mu);
	while (g->head && n < GROUP_MAX) {
		batch[n++] = g->head;
		g->head = g->head->next;
	}
	if (!g->head)
		g->tail = NULL;
	g->batches++;
	g->jobs += n;
	pthread_mutex_unlock(&g->mu);
	run_batch(db, batch, n);
	pthread_mutex_lock(&g->mu);
	next = g->head;
	if (next)
		next->lead = 1; /* g->leading stays set: the queue passes to it */
	else
		g->leading = 0;
	pthread_mutex_unlock(&g->mu);
	if (next)
		sem_post(&next->wake); /* the write path first: it is the queue */
	for (size_t i = 1; i < n; i++)
		sem_post(&batch[i]->wake);
}

enum sf_db_status sf_db_txn(struct sf_db *db, sf_db_txn_fn fn, void *ctx, int max_tries)
{
	struct sf_db_group *g = &db->group;

	if (!db->drv->conn_new)
		return run_txn(db, 1, fn, ctx, max_tries);
	if (tl_writer && tl_writer->db == db)
		return SF_DB_HARD; /* a transaction function may not start another */
	struct sf_db_job j = {.fn = fn, .ctx = ctx, .max_tries = max_tries < 1 ? 1 : max_tries};
	if (sem_init(&j.wake, 0, 0) != 0)
		return SF_DB_HARD;
	pthread_mutex_lock(&g->mu);
	if (g->tail)
		g->tail->next = &j;
	else
		g->head = &j;
	g->tail = &j;
	g->arrivals++;
	int leads = !g->leading; /* nobody running a batch: then it is first in line */
	if (leads)
		g->leading = 1;
	pthread_mutex_unlock(&g->mu);
	if (!leads) {
		while (sem_wait(&j.wake) != 0)
			; /* EINTR */
		leads = j.lead;
	}
	if (leads)
		lead(db);
	sem_destroy(&j.wake);
	for (size_t i = 0; i < j.nafter; i++)
		j.after[i].fn(j.after[i].arg);
	return j.st;
}

void sf_db_group_stats(struct sf_db *db, uint64_t *batches, uint64_t *txns)
{
	pthread_mutex_lock(&db->group.mu);
	*batches = db->group.batches;
	*txns = db->group.jobs;
	pthread_mutex_unlock(&db->group.mu);
}

enum sf_db_status sf_db_txn_read(struct sf_db *db, sf_db_txn_fn fn, void *ctx, int max_tries)
{
	return run_txn(db, 0, fn, ctx, max_tries);
}

/* ==== Housekeeping: bounded deletes ==== */

struct prune {
	enum sf_stmt old, drop;
	int64_t cutoff, deleted;
	int limit, found;
	char ids[SF_DB_PRUNE_MAX * 21 + 3]; /* "[" id ("," id)* "]" */
};

static enum sf_db_status prune_list(struct sf_db_conn *c, void *ctx)
{
	struct prune *p = ctx;
	struct sf_db_param par[] = {SF_DB_INT(p->cutoff), SF_DB_INT(p->limit)};
	struct sf_db_cursor *cur = NULL;
	size_t off = 0;
	p->found = 0;
	p->ids[off++] = '[';
	enum sf_db_status st = sf_db_query(c, p->old, par, 2, &cur);
	if (st != SF_DB_OK)
		return st;
	while (p->found < p->limit && (st = sf_db_next(cur)) == SF_DB_OK) {
		int w = snprintf(p->ids + off, sizeof p->ids - off, "%s%" PRId64, p->found ? "," : "",
				 sf_db_col_int(cur, 0));
		if (w < 0 || (size_t)w >= sizeof p->ids - off - 1) {
			st = SF_DB_HARD;
			break;
		}
		off += (size_t)w;
		p->found++;
	}
	sf_db_cursor_close(cur);
	p->ids[off++] = ']';
	p->ids[off] = '\0';
	return st < 0 ? st : SF_DB_OK;
}

static enum sf_db_status prune_drop(struct sf_db_conn *c, void *ctx)
{
	struct prune *p = ctx;
	struct sf_db_param par[] = {SF_DB_TEXT(p->ids), SF_DB_INT(p->cutoff)};
	int64_t n = 0;
	enum sf_db_status st = sf_db_exec(c, p->drop, par, 2, &n);
	p->deleted = st < 0 ? 0 : n;
	return st;
}

enum sf_err sf_db_prune(struct sf_db *db, enum sf_stmt old, enum sf_stmt drop, int64_t cutoff, int limit,
			int64_t *deleted)
{
	*deleted = 0;
	if (limit < 1 || limit > SF_DB_PRUNE_MAX)
		return SF_ERR_INVALID;
	struct prune *p = calloc(1, sizeof *p);
	if (!p)
		return SF_ERR_NOMEM;
	p->old = old;
	p->drop = drop;
	p->cutoff = cutoff;
	p->limit = limit;
	enum sf_db_status st = sf_db_txn_read(db, prune_list, p, 3);
	if (st >= 0 && p->found)
		st = sf_db_txn(db, prune_drop, p, 3);
	*deleted = p->deleted;
	free(p);
	return st < 0 ? sf_db_err(st) : SF_OK;
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
