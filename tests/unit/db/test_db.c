/*
 * test_db.c — the storage conformance suite.
 *
 * Every test in `conformance[]` takes an opened, migrated struct sf_db and
 * must pass on every backend.  A backend joins by adding a fixture to
 * `backends[]` (today SQLite in a temp dir; a PostgreSQL fixture would open a
 * scratch database from an environment variable).  Backend-specific checks
 * (SQLite file errors, the statement table) follow the shared suite.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "db/db.h"
#include "db/db_int.h"
#include "db/sqlite_sql.h"

/* ==== Temp dirs ==== */

static void rm_tree(const char *dir)
{
	static const char *const files[] = {"test.db", "test.db-wal", "test.db-shm", "test.db-journal",
					    "corrupt.db", "corrupt.db-wal", "corrupt.db-shm"};
	char p[512];

	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(p, sizeof(p), "%s/%s", dir, files[i]);
		unlink(p);
	}
	assert_int_equal(rmdir(dir), 0);
}

/* ==== Backend fixtures ==== */

struct fixture {
	struct sf_db *db;
	char dir[64];
};

struct backend {
	const char *name;
	int (*setup)(struct fixture *f);
	void (*teardown)(struct fixture *f);
};

static int sqlite_setup(struct fixture *f)
{
	char path[128], errbuf[256];

	snprintf(f->dir, sizeof(f->dir), "/tmp/sf_dbtest_XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	snprintf(path, sizeof(path), "%s/test.db", f->dir);
	struct sf_db_options opt = {.backend = SF_DB_SQLITE, .path = path, .create = 1};
	if (sf_db_open(&opt, &f->db, errbuf, sizeof(errbuf)) != SF_OK) {
		fprintf(stderr, "open: %s\n", errbuf);
		return -1;
	}
	return 0;
}

static void sqlite_teardown(struct fixture *f)
{
	sf_db_close(f->db);
	f->db = NULL;
	rm_tree(f->dir);
}

static const struct backend backends[] = {
	{"sqlite", sqlite_setup, sqlite_teardown},
};

/* ==== Helpers ==== */

static void migrate_and_scratch(struct sf_db *db)
{
	char errbuf[256];
	int applied = -1;

	assert_int_equal(sf_db_migrate(db, &applied, errbuf, sizeof(errbuf)), SF_OK);
	struct sf_db_conn *c = sf_db_conn_get(db);
	assert_non_null(c);
	enum sf_db_status st = sf_db_exec(c, SF_STMT_TEST_CREATE, NULL, 0, NULL);
	assert_int_equal(st, SF_DB_OK);
	assert_int_equal(sf_db_exec(c, SF_STMT_TEST_DELETE_ALL, NULL, 0, NULL) < 0, 0);
}

static enum sf_db_status insert_row(struct sf_db_conn *c, const char *name, int64_t n, const void *data,
				    size_t len)
{
	struct sf_db_param p[] = {SF_DB_TEXT(name), SF_DB_INT(n), data ? SF_DB_BLOB(data, len) : SF_DB_NULL};
	return sf_db_exec(c, SF_STMT_TEST_INSERT, p, 3, NULL);
}

static int64_t count_rows(struct sf_db_conn *c)
{
	struct sf_db_cursor *cur = NULL;
	int64_t n;

	assert_int_equal(sf_db_query(c, SF_STMT_TEST_COUNT, NULL, 0, &cur), SF_DB_OK);
	assert_int_equal(sf_db_next(cur), SF_DB_OK);
	n = sf_db_col_int(cur, 0);
	assert_int_equal(sf_db_next(cur), SF_DB_NO_ROWS);
	sf_db_cursor_close(cur);
	return n;
}

static int64_t row_n(struct sf_db_conn *c, const char *name)
{
	struct sf_db_param p[] = {SF_DB_TEXT(name)};
	struct sf_db_cursor *cur = NULL;
	int64_t n;

	assert_int_equal(sf_db_query(c, SF_STMT_TEST_GET, p, 1, &cur), SF_DB_OK);
	assert_int_equal(sf_db_next(cur), SF_DB_OK);
	n = sf_db_col_int(cur, 1);
	sf_db_cursor_close(cur);
	return n;
}

/* ==== The shared suite ==== */

static void t_migrate_idempotent(struct sf_db *db)
{
	char errbuf[256];
	int applied = -1, cur = -1, latest = -1;

	assert_int_equal(sf_db_schema_status(db, &cur, &latest), SF_OK);
	assert_int_equal(cur, 0);
	assert_true(latest >= 1);
	assert_int_equal(sf_db_migrate(db, &applied, errbuf, sizeof(errbuf)), SF_OK);
	assert_int_equal(applied, latest);
	assert_int_equal(sf_db_schema_status(db, &cur, &latest), SF_OK);
	assert_int_equal(cur, latest);
	assert_int_equal(sf_db_migrate(db, &applied, errbuf, sizeof(errbuf)), SF_OK);
	assert_int_equal(applied, 0);
	assert_int_equal(sf_db_schema_status(db, &cur, &latest), SF_OK);
	assert_int_equal(cur, latest);
}

static void t_ping_and_meta(struct sf_db *db)
{
	struct sf_db_conn *c;
	int64_t one = 0;
	char value[32] = "";

	migrate_and_scratch(db);
	c = sf_db_conn_get(db);
	assert_ptr_equal(c, sf_db_conn_get(db)); /* reused per thread */
	struct sf_db_cursor *cur = NULL;
	assert_int_equal(sf_db_query(c, SF_STMT_PING, NULL, 0, &cur), SF_DB_OK);
	assert_int_equal(sf_db_next(cur), SF_DB_OK);
	one = sf_db_col_int(cur, 0);
	sf_db_cursor_close(cur);
	assert_int_equal(one, 1);

	struct sf_db_param set[] = {SF_DB_TEXT("k"), SF_DB_TEXT("v1")};
	assert_int_equal(sf_db_exec(c, SF_STMT_META_SET, set, 2, NULL), SF_DB_OK);
	struct sf_db_param set2[] = {SF_DB_TEXT("k"), SF_DB_TEXT("v2")};
	assert_int_equal(sf_db_exec(c, SF_STMT_META_SET, set2, 2, NULL), SF_DB_OK);
	struct sf_db_param key[] = {SF_DB_TEXT("k")};
	assert_int_equal(sf_db_query(c, SF_STMT_META_GET, key, 1, &cur), SF_DB_OK);
	assert_int_equal(sf_db_next(cur), SF_DB_OK);
	snprintf(value, sizeof(value), "%s", sf_db_col_text(cur, 0, NULL));
	sf_db_cursor_close(cur);
	assert_string_equal(value, "v2");
	assert_int_equal(sf_db_exec(c, SF_STMT_META_DELETE, key, 1, NULL), SF_DB_OK);
	assert_int_equal(sf_db_exec(c, SF_STMT_META_DELETE, key, 1, NULL), SF_DB_NO_ROWS);
}

static void t_types(struct sf_db *db)
{
	static const unsigned char nul_blob[] = {'a', 0, 'b', 0, 0, 0xff, 'c'};
	struct sf_db_conn *c;
	struct sf_db_cursor *cur = NULL;
	size_t len = 0;
	const void *b;
	const char *t;
	int64_t changes = -1;

	migrate_and_scratch(db);
	c = sf_db_conn_get(db);
	/* int extremes, text with a NUL inside, blob with NULs, a NULL blob, an empty blob */
	struct sf_db_param p1[] = {SF_DB_TEXTN("x\0y", 3), SF_DB_INT(INT64_MIN), SF_DB_BLOB(nul_blob, sizeof(nul_blob))};
	assert_int_equal(sf_db_exec(c, SF_STMT_TEST_INSERT, p1, 3, &changes), SF_DB_OK);
	assert_int_equal(changes, 1);
	assert_int_equal(insert_row(c, "max", INT64_MAX, NULL, 0), SF_DB_OK);
	struct sf_db_param p3[] = {SF_DB_TEXT("empty"), SF_DB_INT(0), SF_DB_BLOB(NULL, 0)};
	assert_int_equal(sf_db_exec(c, SF_STMT_TEST_INSERT, p3, 3, NULL), SF_DB_OK);
	assert_true(sf_db_last_id(c) > 0);
	assert_int_equal(count_rows(c), 3);

	struct sf_db_param k1[] = {SF_DB_TEXTN("x\0y", 3)};
	assert_int_equal(sf_db_query(c, SF_STMT_TEST_GET, k1, 1, &cur), SF_DB_OK);
	assert_int_equal(sf_db_next(cur), SF_DB_OK);
	t = sf_db_col_text(cur, 0, &len);
	assert_int_equal(len, 3);
	assert_memory_equal(t, "x\0y", 3);
	assert_int_equal(t[3], '\0');
	assert_true(sf_db_col_int(cur, 1) == INT64_MIN);
	assert_false(sf_db_col_is_null(cur, 2));
	b = sf_db_col_blob(cur, 2, &len);
	assert_int_equal(len, sizeof(nul_blob));
	assert_memory_equal(b, nul_blob, sizeof(nul_blob));
	assert_int_equal(sf_db_next(cur), SF_DB_NO_ROWS);
	sf_db_cursor_close(cur);

	struct sf_db_param k2[] = {SF_DB_TEXT("max")};
	assert_int_equal(sf_db_query(c, SF_STMT_TEST_GET, k2, 1, &cur), SF_DB_OK);
	assert_int_equal(sf_db_next(cur), SF_DB_OK);
	assert_true(sf_db_col_int(cur, 1) == INT64_MAX);
	assert_true(sf_db_col_is_null(cur, 2));
	len = 99;
	assert_null(sf_db_col_blob(cur, 2, &len));
	assert_int_equal(len, 0);
	t = sf_db_col_text(cur, 2, &len); /* NULL as text reads as "" */
	assert_non_null(t);
	assert_string_equal(t, "");
	assert_int_equal(len, 0);
	sf_db_cursor_close(cur);

	struct sf_db_param k3[] = {SF_DB_TEXT("empty")};
	assert_int_equal(sf_db_query(c, SF_STMT_TEST_GET, k3, 1, &cur), SF_DB_OK);
	assert_int_equal(sf_db_next(cur), SF_DB_OK);
	assert_false(sf_db_col_is_null(cur, 2)); /* an empty blob is not NULL */
	assert_non_null(sf_db_col_blob(cur, 2, &len));
	assert_int_equal(len, 0);
	sf_db_cursor_close(cur);
}

static void t_big_blob(struct sf_db *db)
{
	size_t n = 1024 * 1024;
	unsigned char *big = malloc(n);
	struct sf_db_conn *c;
	struct sf_db_cursor *cur = NULL;
	size_t len = 0;

	assert_non_null(big);
	for (size_t i = 0; i < n; i++)
		big[i] = (unsigned char)(i * 131 + (i >> 9));
	big[0] = 0;
	big[n - 1] = 0;
	migrate_and_scratch(db);
	c = sf_db_conn_get(db);
	assert_int_equal(insert_row(c, "big", 1, big, n), SF_DB_OK);
	struct sf_db_param k[] = {SF_DB_TEXT("big")};
	assert_int_equal(sf_db_query(c, SF_STMT_TEST_GET, k, 1, &cur), SF_DB_OK);
	assert_int_equal(sf_db_next(cur), SF_DB_OK);
	const void *b = sf_db_col_blob(cur, 2, &len);
	assert_int_equal(len, n);
	assert_memory_equal(b, big, n);
	sf_db_cursor_close(cur);
	free(big);
}

/* Parameters passed to a query are copied: the caller's buffer may change
 * before the rows are read. */
static void t_query_params_copied(struct sf_db *db)
{
	struct sf_db_conn *c;
	struct sf_db_cursor *cur = NULL;
	char name[8] = "alpha";

	migrate_and_scratch(db);
	c = sf_db_conn_get(db);
	assert_int_equal(insert_row(c, "alpha", 7, "z", 1), SF_DB_OK);
	struct sf_db_param k[] = {SF_DB_TEXT(name)};
	assert_int_equal(sf_db_query(c, SF_STMT_TEST_GET, k, 1, &cur), SF_DB_OK);
	memcpy(name, "omega", 5);
	assert_int_equal(sf_db_next(cur), SF_DB_OK);
	assert_int_equal(sf_db_col_int(cur, 1), 7);
	sf_db_cursor_close(cur);
}

static void t_no_rows(struct sf_db *db)
{
	struct sf_db_conn *c;
	struct sf_db_cursor *cur = NULL;
	int64_t changes = -1;
	int called = 0;

	migrate_and_scratch(db);
	c = sf_db_conn_get(db);
	struct sf_db_param k[] = {SF_DB_TEXT("nobody")};
	assert_int_equal(sf_db_query(c, SF_STMT_TEST_GET, k, 1, &cur), SF_DB_OK);
	assert_int_equal(sf_db_next(cur), SF_DB_NO_ROWS);
	sf_db_cursor_close(cur);
	assert_int_equal(sf_db_query_one(c, SF_STMT_TEST_GET, k, 1, NULL, &called), SF_DB_NO_ROWS);
	assert_int_equal(sf_db_exec(c, SF_STMT_TEST_INCR, k, 1, &changes), SF_DB_NO_ROWS);
	assert_int_equal(changes, 0);
	assert_int_equal(sf_db_exec(c, SF_STMT_TEST_DELETE_ALL, NULL, 0, &changes), SF_DB_NO_ROWS);
}

static void count_called(struct sf_db_cursor *cur, void *ctx)
{
	int *called = ctx;
	(*called)++;
	assert_int_equal(sf_db_col_int(cur, 1), 5);
}

static void t_query_one(struct sf_db *db)
{
	struct sf_db_conn *c;
	int called = 0;

	migrate_and_scratch(db);
	c = sf_db_conn_get(db);
	assert_int_equal(insert_row(c, "one", 5, NULL, 0), SF_DB_OK);
	struct sf_db_param k[] = {SF_DB_TEXT("one")};
	assert_int_equal(sf_db_query_one(c, SF_STMT_TEST_GET, k, 1, count_called, &called), SF_DB_OK);
	assert_int_equal(called, 1);
	/* the cursor was closed: another query may start */
	assert_int_equal(count_rows(c), 1);
}

static void t_misuse(struct sf_db *db)
{
	struct sf_db_conn *c;
	struct sf_db_cursor *cur = NULL, *cur2 = NULL;

	migrate_and_scratch(db);
	c = sf_db_conn_get(db);
	/* wrong parameter count */
	struct sf_db_param k[] = {SF_DB_TEXT("a"), SF_DB_INT(1)};
	assert_int_equal(sf_db_exec(c, SF_STMT_TEST_INCR, k, 2, NULL), SF_DB_HARD);
	assert_int_equal(sf_db_exec(c, SF_STMT__COUNT, NULL, 0, NULL), SF_DB_HARD);
	/* one cursor per connection */
	assert_int_equal(sf_db_query(c, SF_STMT_TEST_COUNT, NULL, 0, &cur), SF_DB_OK);
	assert_int_equal(sf_db_query(c, SF_STMT_PING, NULL, 0, &cur2), SF_DB_HARD);
	assert_null(cur2);
	sf_db_cursor_close(cur);
	assert_int_equal(count_rows(c), 0);
}

static void t_constraint(struct sf_db *db)
{
	struct sf_db_conn *c;

	migrate_and_scratch(db);
	c = sf_db_conn_get(db);
	assert_int_equal(insert_row(c, "dup", 1, NULL, 0), SF_DB_OK);
	assert_int_equal(insert_row(c, "dup", 2, NULL, 0), SF_DB_CONSTRAINT);
	assert_int_equal(sf_db_err(SF_DB_CONSTRAINT), SF_ERR_DB_CONSTRAINT);
	assert_non_null(sf_db_errmsg(c));
	assert_non_null(strstr(sf_db_errmsg(c), "UNIQUE"));
	/* the connection is still usable and the first row intact */
	assert_int_equal(row_n(c, "dup"), 1);
	assert_int_equal(count_rows(c), 1);
}

struct txn_ctx {
	int runs;
	int fail_times;
	enum sf_db_status fail_with;
	const char *name;
};

static enum sf_db_status txn_insert(struct sf_db_conn *c, void *vctx)
{
	struct txn_ctx *t = vctx;
	enum sf_db_status st;

	t->runs++;
	st = insert_row(c, t->name, t->runs, NULL, 0);
	if (st != SF_DB_OK)
		return st;
	if (t->runs <= t->fail_times)
		return t->fail_with;
	return SF_DB_OK;
}

static void t_txn_commit_rollback(struct sf_db *db)
{
	struct sf_db_conn *c;

	migrate_and_scratch(db);
	c = sf_db_conn_get(db);
	struct txn_ctx ok = {.name = "committed"};
	assert_int_equal(sf_db_txn(db, txn_insert, &ok, 3), SF_DB_OK);
	assert_int_equal(ok.runs, 1);
	assert_int_equal(count_rows(c), 1);

	struct txn_ctx bad = {.name = "rolled_back", .fail_times = 100, .fail_with = SF_DB_HARD};
	assert_int_equal(sf_db_txn(db, txn_insert, &bad, 3), SF_DB_HARD);
	assert_int_equal(bad.runs, 1); /* hard errors are not retried */
	assert_int_equal(count_rows(c), 1);

	struct txn_ctx cons = {.name = "committed"}; /* duplicate key inside the txn */
	assert_int_equal(sf_db_txn(db, txn_insert, &cons, 3), SF_DB_CONSTRAINT);
	assert_int_equal(count_rows(c), 1);

	/* NO_ROWS from fn still commits */
	struct txn_ctx nr = {.name = "no_rows", .fail_times = 1, .fail_with = SF_DB_NO_ROWS};
	assert_int_equal(sf_db_txn(db, txn_insert, &nr, 3), SF_DB_NO_ROWS);
	assert_int_equal(count_rows(c), 2);
}

static void t_txn_retry(struct sf_db *db)
{
	struct sf_db_conn *c;

	migrate_and_scratch(db);
	c = sf_db_conn_get(db);
	struct txn_ctx r = {.name = "retried", .fail_times = 2, .fail_with = SF_DB_RETRY};
	assert_int_equal(sf_db_txn(db, txn_insert, &r, 5), SF_DB_OK);
	assert_int_equal(r.runs, 3);
	assert_int_equal(count_rows(c), 1); /* the two failed runs left nothing */
	assert_int_equal(row_n(c, "retried"), 3);

	struct txn_ctx g = {.name = "gave_up", .fail_times = 100, .fail_with = SF_DB_RETRY};
	assert_int_equal(sf_db_txn(db, txn_insert, &g, 4), SF_DB_RETRY);
	assert_int_equal(g.runs, 4);
	assert_int_equal(count_rows(c), 1);
	assert_int_equal(sf_db_err(SF_DB_RETRY), SF_ERR_DB_CONFLICT);
}

/* ---- after-commit notices ---- */

struct after_ctx {
	int runs;            /* attempts of the transaction function */
	int retry_first;     /* the first attempt registers, then asks for a retry */
	enum sf_db_status end; /* what the last attempt returns */
	int registrations;   /* how many registrations to make per attempt */
	enum sf_db_status reg_status;
	int *fired;
};

static void scratch_clear(struct sf_db_conn *c)
{
	assert_int_equal(sf_db_exec(c, SF_STMT_TEST_DELETE_ALL, NULL, 0, NULL) < 0, 0);
}

static void after_fire(void *arg)
{
	(*(int *)arg)++;
}

static void after_fire_other(void *arg)
{
	(*(int *)arg) += 100;
}

static enum sf_db_status txn_after(struct sf_db_conn *c, void *vctx)
{
	struct after_ctx *t = vctx;
	t->runs++;
	enum sf_db_status st = insert_row(c, "after", t->runs, NULL, 0);
	if (st != SF_DB_OK)
		return st;
	for (int i = 0; i < t->registrations; i++) {
		/* The same (fn, arg) twice counts once; distinct functions count. */
		t->reg_status = sf_db_after_commit(c, i % 2 ? after_fire_other : after_fire, t->fired + i / 2);
		if (t->reg_status != SF_DB_OK)
			return t->reg_status;
		assert_int_equal(sf_db_after_commit(c, i % 2 ? after_fire_other : after_fire, t->fired + i / 2),
				 SF_DB_OK);
	}
	assert_int_equal(t->fired[0], 0); /* never before the commit */
	if (t->retry_first && t->runs == 1)
		return SF_DB_RETRY;
	return t->end;
}

static void t_after_commit(struct sf_db *db)
{
	migrate_and_scratch(db);
	struct sf_db_conn *c = sf_db_conn_get(db);
	int fired[4] = {0};
	struct after_ctx ok = {.registrations = 1, .end = SF_DB_OK, .fired = fired};
	assert_int_equal(sf_db_txn(db, txn_after, &ok, 3), SF_DB_OK);
	assert_int_equal(fired[0], 1);
	scratch_clear(c);

	/* A rolled-back transaction sends nothing. */
	memset(fired, 0, sizeof fired);
	struct after_ctx bad = {.registrations = 1, .end = SF_DB_HARD, .fired = fired};
	assert_int_equal(sf_db_txn(db, txn_after, &bad, 3), SF_DB_HARD);
	assert_int_equal(fired[0], 0);

	/* A retried attempt's registrations are dropped: one notice, for the attempt that committed. */
	struct after_ctx retry = {.registrations = 1, .retry_first = 1, .end = SF_DB_OK, .fired = fired};
	assert_int_equal(sf_db_txn(db, txn_after, &retry, 3), SF_DB_OK);
	assert_int_equal(retry.runs, 2);
	assert_int_equal(fired[0], 1);
	scratch_clear(c);

	/* Four distinct notices fit; a fifth is refused and the transaction rolls back. */
	memset(fired, 0, sizeof fired);
	struct after_ctx four = {.registrations = 4, .end = SF_DB_OK, .fired = fired};
	assert_int_equal(sf_db_txn(db, txn_after, &four, 1), SF_DB_OK);
	assert_int_equal(fired[0], 101);
	assert_int_equal(fired[1], 101);
	scratch_clear(c);
	memset(fired, 0, sizeof fired);
	struct after_ctx five = {.registrations = 5, .end = SF_DB_OK, .fired = fired};
	assert_int_equal(sf_db_txn(db, txn_after, &five, 1), SF_DB_HARD);
	assert_int_equal(five.reg_status, SF_DB_HARD);
	assert_int_equal(fired[0] + fired[1] + fired[2], 0);
	assert_int_equal(count_rows(c), 0);

	/* Outside a transaction the statement has committed already: at once. */
	assert_int_equal(sf_db_after_commit(c, after_fire, fired), SF_DB_OK);
	assert_int_equal(fired[0], 1);
	assert_int_equal(sf_db_after_commit(c, NULL, fired), SF_DB_HARD);
	assert_int_equal(sf_db_after_commit(NULL, after_fire, fired), SF_DB_HARD);
}

static enum sf_db_status txn_read_count(struct sf_db_conn *c, void *vctx)
{
	*(int64_t *)vctx = count_rows(c);
	return SF_DB_OK;
}

static void t_txn_read(struct sf_db *db)
{
	int64_t n = -1;

	migrate_and_scratch(db);
	assert_int_equal(insert_row(sf_db_conn_get(db), "r", 1, NULL, 0), SF_DB_OK);
	assert_int_equal(sf_db_txn_read(db, txn_read_count, &n, 3), SF_DB_OK);
	assert_int_equal(n, 1);
}

struct incr_ctx {
	struct sf_db *db;
	int n;
	int failures;
};

static enum sf_db_status txn_incr(struct sf_db_conn *c, void *vctx)
{
	struct sf_db_param k[] = {SF_DB_TEXT("counter")};
	(void)vctx;
	return sf_db_exec(c, SF_STMT_TEST_INCR, k, 1, NULL);
}

static void *incr_thread(void *v)
{
	struct incr_ctx *ix = v;

	for (int i = 0; i < ix->n; i++)
		if (sf_db_txn(ix->db, txn_incr, NULL, 50) != SF_DB_OK)
			ix->failures++;
	return NULL;
}

static void t_concurrency(struct sf_db *db)
{
	pthread_t th[4];
	struct incr_ctx ix[4];

	migrate_and_scratch(db);
	assert_int_equal(insert_row(sf_db_conn_get(db), "counter", 0, NULL, 0), SF_DB_OK);
	for (int i = 0; i < 4; i++) {
		ix[i] = (struct incr_ctx){.db = db, .n = 500};
		assert_int_equal(pthread_create(&th[i], NULL, incr_thread, &ix[i]), 0);
	}
	for (int i = 0; i < 4; i++) {
		assert_int_equal(pthread_join(th[i], NULL), 0);
		assert_int_equal(ix[i].failures, 0);
	}
	assert_int_equal(row_n(sf_db_conn_get(db), "counter"), 2000);
}

/* ---- group commit ----
 *
 * Write transactions that arrive while one runs are run together by the
 * next in line, each in its own savepoint.  To make a batch of known
 * content, a "gate" transaction holds its batch open until the wanted
 * number of callers are waiting behind it. */

struct gate {
	struct sf_db *db;
	uint64_t base; /* arrivals before the jobs */
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int started; /* callers about to call sf_db_txn */
	int want;
};

/* Callers ever queued for a write transaction. */
static uint64_t arrivals(struct sf_db *db)
{
	pthread_mutex_lock(&db->group.mu);
	uint64_t n = db->group.arrivals;
	pthread_mutex_unlock(&db->group.mu);
	return n;
}

static enum sf_db_status gate_txn(struct sf_db_conn *c, void *vctx)
{
	struct gate *g = vctx;
	assert_int_equal(insert_row(c, "gate", 1, NULL, 0), SF_DB_OK);
	pthread_mutex_lock(&g->mu);
	while (g->started < g->want)
		pthread_cond_wait(&g->cv, &g->mu);
	pthread_mutex_unlock(&g->mu);
	/* Until they are all in the queue. */
	while (g->db->drv->conn_new && arrivals(g->db) < g->base + (uint64_t)g->want)
		usleep(1000);
	return SF_DB_OK;
}

static void *gate_thread(void *v)
{
	struct gate *g = v;
	assert_int_equal(sf_db_txn(g->db, gate_txn, g, 1), SF_DB_OK);
	return NULL;
}

enum job_kind { JOB_OK, JOB_HARD, JOB_DUP, JOB_RETRY_ONCE, JOB_LOSE_TXN, JOB_NESTED, JOB_OK_THEN_HARD };

struct job {
	struct gate *g;
	enum job_kind kind;
	char name[16];
	int runs;
	enum sf_db_status st;
	pthread_t caller, notified_on;
	int notified;
	int conn_same; /* sf_db_conn_get inside fn returned c */
};

static void job_notice(void *arg)
{
	struct job *j = arg;
	j->notified++;
	j->notified_on = pthread_self();
}

static enum sf_db_status job_txn(struct sf_db_conn *c, void *vctx)
{
	struct job *j = vctx;
	j->runs++;
	j->conn_same = sf_db_conn_get(c->db) == c;
	enum sf_db_status st = insert_row(c, j->kind == JOB_DUP ? "gate" : j->name, j->runs, NULL, 0);
	if (st != SF_DB_OK)
		return st;
	struct sf_db_param k[] = {SF_DB_TEXT("gate")};
	if ((st = sf_db_exec(c, SF_STMT_TEST_INCR, k, 1, NULL)) != SF_DB_OK)
		return st;
	if (sf_db_after_commit(c, job_notice, j) != SF_DB_OK)
		return SF_DB_HARD;
	switch (j->kind) {
	case JOB_HARD:
		return SF_DB_HARD;
	case JOB_RETRY_ONCE:
		return j->runs == 1 ? SF_DB_RETRY : SF_DB_OK;
	case JOB_OK_THEN_HARD:
		return j->runs == 1 ? SF_DB_OK : SF_DB_HARD;
	case JOB_LOSE_TXN:
		/* What a backend does on some errors (SQLite: a full disk): the
		 * whole transaction is gone, the others' work with it. */
		c->db->drv->exec_script(c, "ROLLBACK");
		return SF_DB_HARD;
	case JOB_NESTED:
		return sf_db_txn(c->db, txn_read_count, NULL, 1) == SF_DB_HARD ? SF_DB_OK : SF_DB_HARD;
	default:
		return SF_DB_OK;
	}
}

static void *job_thread(void *v)
{
	struct job *j = v;
	j->caller = pthread_self();
	pthread_mutex_lock(&j->g->mu);
	j->g->started++;
	pthread_cond_broadcast(&j->g->cv);
	pthread_mutex_unlock(&j->g->mu);
	j->st = sf_db_txn(j->g->db, job_txn, j, 3);
	return NULL;
}

/* Run the gate and these jobs; the jobs form one batch behind it. */
static void run_batch_of(struct sf_db *db, struct job *jobs, size_t n)
{
	struct gate g = {.db = db, .want = (int)n};
	pthread_t gt, th[16];
	uint64_t b0, t0, b1, t1;

	assert_true(n <= 16);
	pthread_mutex_init(&g.mu, NULL);
	pthread_cond_init(&g.cv, NULL);
	sf_db_group_stats(db, &b0, &t0);
	assert_int_equal(pthread_create(&gt, NULL, gate_thread, &g), 0);
	/* The gate leads before any job arrives. */
	for (;;) {
		sf_db_group_stats(db, &b1, &t1);
		if (t1 > t0)
			break;
		usleep(1000);
	}
	g.base = arrivals(db); /* written before the jobs start: the gate reads it after */
	for (size_t i = 0; i < n; i++) {
		jobs[i].g = &g;
		snprintf(jobs[i].name, sizeof jobs[i].name, "job%zu", i);
		assert_int_equal(pthread_create(&th[i], NULL, job_thread, &jobs[i]), 0);
		/* One at a time, so the batch runs them in this order. */
		while (db->drv->conn_new && arrivals(db) < g.base + i + 1)
			usleep(1000);
	}
	assert_int_equal(pthread_join(gt, NULL), 0);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(pthread_join(th[i], NULL), 0);
	sf_db_group_stats(db, &b1, &t1);
	assert_int_equal(t1 - t0, n + 1);
	if (db->drv->conn_new)
		assert_int_equal(b1 - b0, 2); /* the gate alone, then every job in one batch */
	pthread_mutex_destroy(&g.mu);
	pthread_cond_destroy(&g.cv);
}

static int row_exists(struct sf_db_conn *c, const char *name)
{
	struct sf_db_param p[] = {SF_DB_TEXT(name)};
	return sf_db_query_one(c, SF_STMT_TEST_GET, p, 1, NULL, NULL) == SF_DB_OK;
}

static void t_group_commit(struct sf_db *db)
{
	migrate_and_scratch(db);
	struct sf_db_conn *c = sf_db_conn_get(db);
	struct job jobs[] = {{.kind = JOB_OK},  {.kind = JOB_HARD},	 {.kind = JOB_OK},
			     {.kind = JOB_DUP}, {.kind = JOB_RETRY_ONCE}, {.kind = JOB_NESTED}};
	size_t n = sizeof jobs / sizeof jobs[0];
	run_batch_of(db, jobs, n);
	int committed = 0;
	for (size_t i = 0; i < n; i++) {
		struct job *j = &jobs[i];
		int ok = j->kind == JOB_OK || j->kind == JOB_RETRY_ONCE || j->kind == JOB_NESTED;
		/* Each caller gets its own outcome; a failure undoes only its own work. */
		assert_int_equal(j->st, ok ? SF_DB_OK : j->kind == JOB_DUP ? SF_DB_CONSTRAINT : SF_DB_HARD);
		assert_int_equal(row_exists(c, j->name), ok);
		assert_int_equal(j->runs, j->kind == JOB_RETRY_ONCE ? 2 : 1);
		assert_true(j->conn_same);
		/* Notices: once, after the commit, on the caller's own thread. */
		assert_int_equal(j->notified, ok);
		if (ok)
			assert_true(pthread_equal(j->notified_on, j->caller));
		committed += ok;
	}
	assert_int_equal(row_n(c, "gate"), 1 + committed);
	assert_int_equal(count_rows(c), 1 + committed);
}

static void t_group_lost_txn(struct sf_db *db)
{
	migrate_and_scratch(db);
	struct sf_db_conn *c = sf_db_conn_get(db);
	struct job jobs[] = {{.kind = JOB_OK}, {.kind = JOB_LOSE_TXN}, {.kind = JOB_OK}};
	run_batch_of(db, jobs, 3);
	assert_int_equal(jobs[1].st, SF_DB_HARD);
	assert_int_equal(jobs[1].runs, 1);
	assert_false(row_exists(c, "job1"));
	/* The first job's work went with the transaction: it ran again and committed. */
	assert_int_equal(jobs[0].st, SF_DB_OK);
	assert_true(jobs[0].runs >= 1);
	assert_int_equal(jobs[0].notified, 1);
	assert_int_equal(jobs[2].st, SF_DB_OK);
	assert_int_equal(jobs[2].notified, 1);
	assert_int_equal(count_rows(c), 3);
	assert_int_equal(row_n(c, "gate"), 3);
	if (db->drv->conn_new)
		assert_int_equal(jobs[0].runs, 2);

	/* A function whose first run was undone with the batch and whose
	 * second run fails: its caller gets the failure and no notice (the
	 * undone run's registration is dropped). */
	if (!db->drv->conn_new)
		return;
	migrate_and_scratch(db);
	struct job again[] = {{.kind = JOB_OK_THEN_HARD}, {.kind = JOB_LOSE_TXN}};
	run_batch_of(db, again, 2);
	assert_int_equal(again[0].runs, 2);
	assert_int_equal(again[0].st, SF_DB_HARD);
	assert_int_equal(again[0].notified, 0);
	assert_int_equal(again[1].st, SF_DB_HARD);
	assert_int_equal(count_rows(c), 1); /* the gate's row only */
}

/* Many writers at once, some failing: exactly the successful ones count. */
struct mix_ctx {
	struct sf_db *db;
	int id, n, ok, bad;
};

struct mix_txn {
	const char *name;
	int fail;
};

static enum sf_db_status mix_fn(struct sf_db_conn *c, void *vctx)
{
	struct mix_txn *m = vctx;
	enum sf_db_status st = insert_row(c, m->name, 0, NULL, 0);
	if (st != SF_DB_OK)
		return st;
	struct sf_db_param k[] = {SF_DB_TEXT("counter")};
	if ((st = sf_db_exec(c, SF_STMT_TEST_INCR, k, 1, NULL)) != SF_DB_OK)
		return st;
	return m->fail ? SF_DB_HARD : SF_DB_OK;
}

static void *mix_thread(void *v)
{
	struct mix_ctx *x = v;
	for (int i = 0; i < x->n; i++) {
		char name[32];
		snprintf(name, sizeof name, "m%d-%d", x->id, i);
		struct mix_txn m = {.name = name, .fail = i % 7 == 3};
		enum sf_db_status st = sf_db_txn(x->db, mix_fn, &m, 5);
		if (st == SF_DB_OK)
			x->ok++;
		else if (st == SF_DB_HARD && m.fail)
			x->bad++;
	}
	return NULL;
}

static void t_group_many(struct sf_db *db)
{
	enum { THREADS = 12, EACH = 150 };
	pthread_t th[THREADS];
	struct mix_ctx x[THREADS];
	uint64_t b0, t0, b1, t1;

	migrate_and_scratch(db);
	struct sf_db_conn *c = sf_db_conn_get(db);
	assert_int_equal(insert_row(c, "counter", 0, NULL, 0), SF_DB_OK);
	sf_db_group_stats(db, &b0, &t0);
	for (int i = 0; i < THREADS; i++) {
		x[i] = (struct mix_ctx){.db = db, .id = i, .n = EACH};
		assert_int_equal(pthread_create(&th[i], NULL, mix_thread, &x[i]), 0);
	}
	int ok = 0, bad = 0;
	for (int i = 0; i < THREADS; i++) {
		assert_int_equal(pthread_join(th[i], NULL), 0);
		ok += x[i].ok;
		bad += x[i].bad;
	}
	int fails_each = 0;
	for (int i = 0; i < EACH; i++)
		fails_each += i % 7 == 3;
	assert_int_equal(bad, THREADS * fails_each);
	assert_int_equal(ok, THREADS * (EACH - fails_each));
	assert_int_equal(row_n(c, "counter"), ok);
	assert_int_equal(count_rows(c), 1 + ok);
	assert_false(row_exists(c, "m0-3"));
	assert_true(row_exists(c, "m0-4"));
	sf_db_group_stats(db, &b1, &t1);
	assert_int_equal(t1 - t0, THREADS * EACH);
	assert_true(b1 - b0 <= t1 - t0);
}

/* A thread that keeps its connection open until after sf_db_close: close
 * must close it too (ASan reports a leak otherwise). */
struct park_ctx {
	struct sf_db *db;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int ready, release;
};

static void *park_thread(void *v)
{
	struct park_ctx *p = v;
	struct sf_db_conn *c = sf_db_conn_get(p->db);

	assert_non_null(c);
	assert_int_equal(sf_db_exec(c, SF_STMT_TEST_INCR, (struct sf_db_param[]){SF_DB_TEXT("x")}, 1, NULL),
			 SF_DB_NO_ROWS);
	pthread_mutex_lock(&p->mu);
	p->ready = 1;
	pthread_cond_broadcast(&p->cv);
	while (!p->release)
		pthread_cond_wait(&p->cv, &p->mu);
	pthread_mutex_unlock(&p->mu);
	return NULL;
}

static const struct {
	const char *name;
	void (*fn)(struct sf_db *db);
} conformance[] = {
	{"migrate_idempotent", t_migrate_idempotent},
	{"ping_and_meta", t_ping_and_meta},
	{"types", t_types},
	{"big_blob", t_big_blob},
	{"query_params_copied", t_query_params_copied},
	{"no_rows", t_no_rows},
	{"query_one", t_query_one},
	{"misuse", t_misuse},
	{"constraint", t_constraint},
	{"txn_commit_rollback", t_txn_commit_rollback},
	{"txn_retry", t_txn_retry},
	{"after_commit", t_after_commit},
	{"txn_read", t_txn_read},
	{"concurrency", t_concurrency},
	{"group_commit", t_group_commit},
	{"group_lost_txn", t_group_lost_txn},
	{"group_many", t_group_many},
};

#define N_CONF (sizeof(conformance) / sizeof(conformance[0]))
#define N_BACKENDS (sizeof(backends) / sizeof(backends[0]))

struct conf_case {
	const struct backend *be;
	size_t test;
	char name[80];
	struct fixture fx;
};

static int conf_setup(void **state)
{
	struct conf_case *cc = *state;
	return cc->be->setup(&cc->fx);
}

static int conf_teardown(void **state)
{
	struct conf_case *cc = *state;
	cc->be->teardown(&cc->fx);
	return 0;
}

static void conf_run(void **state)
{
	struct conf_case *cc = *state;
	conformance[cc->test].fn(cc->fx.db);
}

/* ==== SQLite-specific ==== */

static void t_sqlite_close_other_threads(void **state)
{
	struct fixture f;
	struct park_ctx p = {.ready = 0};
	pthread_t th;

	(void)state;
	assert_int_equal(sqlite_setup(&f), 0);
	migrate_and_scratch(f.db);
	p.db = f.db;
	pthread_mutex_init(&p.mu, NULL);
	pthread_cond_init(&p.cv, NULL);
	assert_int_equal(pthread_create(&th, NULL, park_thread, &p), 0);
	pthread_mutex_lock(&p.mu);
	while (!p.ready)
		pthread_cond_wait(&p.cv, &p.mu);
	pthread_mutex_unlock(&p.mu);
	sqlite_teardown(&f); /* closes the parked thread's connection too */
	pthread_mutex_lock(&p.mu);
	p.release = 1;
	pthread_cond_broadcast(&p.cv);
	pthread_mutex_unlock(&p.mu);
	assert_int_equal(pthread_join(th, NULL), 0);
	pthread_cond_destroy(&p.cv);
	pthread_mutex_destroy(&p.mu);
}

static void t_sqlite_settings(void **state)
{
	struct fixture f;
	(void)state;
	assert_int_equal(sqlite_setup(&f), 0);
	/* WAL is a property of the file: a raw handle sees it */
	char path[128];
	sqlite3 *h = NULL;
	sqlite3_stmt *st = NULL;
	snprintf(path, sizeof(path), "%s/test.db", f.dir);
	assert_int_equal(sqlite3_open_v2(path, &h, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(h, "PRAGMA journal_mode", -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_string_equal((const char *)sqlite3_column_text(st, 0), "wal");
	sqlite3_finalize(st);
	sqlite3_close(h);
	assert_int_equal(sf_db_backend(f.db), SF_DB_SQLITE);
	sqlite_teardown(&f);
}

static void t_sqlite_bad_path(void **state)
{
	struct sf_db *db = (struct sf_db *)1;
	char errbuf[256] = "";
	(void)state;

	struct sf_db_options opt = {.backend = SF_DB_SQLITE, .path = "/nonexistent-dir-sf/x/y.db", .create = 1};
	assert_int_not_equal(sf_db_open(&opt, &db, errbuf, sizeof(errbuf)), SF_OK);
	assert_null(db);
	assert_non_null(strstr(errbuf, "/nonexistent-dir-sf/x/y.db"));
	assert_non_null(strstr(errbuf, "unable to open"));

	/* create = 0 and no file */
	char dir[] = "/tmp/sf_dbtest_XXXXXX", path[128];
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/test.db", dir);
	struct sf_db_options opt2 = {.backend = SF_DB_SQLITE, .path = path, .create = 0};
	errbuf[0] = '\0';
	assert_int_equal(sf_db_open(&opt2, &db, errbuf, sizeof(errbuf)), SF_ERR_IO);
	assert_true(strlen(errbuf) > 0);
	assert_int_equal(access(path, F_OK), -1);

	struct sf_db_options opt3 = {.backend = SF_DB_SQLITE, .path = ""};
	assert_int_not_equal(sf_db_open(&opt3, &db, errbuf, sizeof(errbuf)), SF_OK);
	struct sf_db_options opt4 = {.backend = SF_DB_POSTGRES, .conninfo = "dbname=x"};
	assert_int_equal(sf_db_open(&opt4, &db, errbuf, sizeof(errbuf)), SF_ERR_DB);
	assert_non_null(strstr(errbuf, "PostgreSQL"));
	rm_tree(dir);
}

static void t_sqlite_corrupt(void **state)
{
	char dir[] = "/tmp/sf_dbtest_XXXXXX", path[128], errbuf[256] = "";
	struct sf_db *db = NULL;
	FILE *fp;
	(void)state;

	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/corrupt.db", dir);
	fp = fopen(path, "wb");
	assert_non_null(fp);
	for (int i = 0; i < 256; i++)
		fputs("this is not an SQLite database, just text. ", fp);
	fclose(fp);
	struct sf_db_options opt = {.backend = SF_DB_SQLITE, .path = path};
	assert_int_equal(sf_db_open(&opt, &db, errbuf, sizeof(errbuf)), SF_ERR_DB);
	assert_null(db);
	assert_non_null(strstr(errbuf, "not a database"));
	rm_tree(dir);
}

static void t_sqlite_sql_complete(void **state)
{
	(void)state;
	assert_int_equal(sf_sqlite_sql_missing(), -1); /* every statement of every module */
	/* every entry that exists is valid SQL for our schema */
	struct fixture f;
	sqlite3 *h = NULL;
	char path[128];
	assert_int_equal(sqlite_setup(&f), 0);
	migrate_and_scratch(f.db);
	snprintf(path, sizeof(path), "%s/test.db", f.dir);
	assert_int_equal(sqlite3_open_v2(path, &h, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	for (int i = 0; i < SF_STMT__COUNT; i++) {
		sqlite3_stmt *st = NULL;
		if (!sf_sqlite_sql[i] || i >= SF_STMT_CAT_CATEGORY_LIST)
			continue;
		if (sqlite3_prepare_v2(h, sf_sqlite_sql[i], -1, &st, NULL) != SQLITE_OK)
			fail_msg("statement %d does not prepare: %s", i, sqlite3_errmsg(h));
		sqlite3_finalize(st);
	}
	sqlite3_close(h);
	sqlite_teardown(&f);
}

static void t_migration_numbering(void **state)
{
	char errbuf[200];
	int latest = -1;
	(void)state;

	const char *ok[] = {"0001_core.sql", "0002_catalog.sql", "0003_orders-v2.sql"};
	assert_int_equal(sf_db_migrations_check(ok, 3, &latest, errbuf, sizeof(errbuf)), SF_OK);
	assert_int_equal(latest, 3);
	assert_int_equal(sf_db_migrations_check(ok, 0, &latest, errbuf, sizeof(errbuf)), SF_OK);
	assert_int_equal(latest, 0);

	const char *gap[] = {"0001_core.sql", "0003_orders.sql"};
	assert_int_equal(sf_db_migrations_check(gap, 2, &latest, errbuf, sizeof(errbuf)), SF_ERR_DB_SCHEMA);
	assert_non_null(strstr(errbuf, "0003_orders.sql"));
	assert_non_null(strstr(errbuf, "gap"));

	const char *late_start[] = {"0002_core.sql"};
	assert_int_equal(sf_db_migrations_check(late_start, 1, &latest, errbuf, sizeof(errbuf)), SF_ERR_DB_SCHEMA);

	const char *dup[] = {"0001_core.sql", "0002_a.sql", "0002_b.sql"};
	assert_int_equal(sf_db_migrations_check(dup, 3, &latest, errbuf, sizeof(errbuf)), SF_ERR_DB_SCHEMA);
	assert_non_null(strstr(errbuf, "0002_b.sql"));
	assert_non_null(strstr(errbuf, "twice"));

	const char *bad[][1] = {{"1_core.sql"}, {"0001core.sql"}, {"0001_core.txt"}, {"0001_.sql"},
				{"000a_core.sql"}, {"0001_co re.sql"}, {"0001_core.sql.bak"}};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		errbuf[0] = '\0';
		assert_int_equal(sf_db_migrations_check(bad[i], 1, &latest, errbuf, sizeof(errbuf)),
				 SF_ERR_DB_SCHEMA);
		assert_non_null(strstr(errbuf, "NNNN_name.sql"));
	}
}

static void t_status_mapping(void **state)
{
	(void)state;
	assert_int_equal(sf_db_err(SF_DB_OK), SF_OK);
	assert_int_equal(sf_db_err(SF_DB_NO_ROWS), SF_OK);
	assert_int_equal(sf_db_err(SF_DB_HARD), SF_ERR_DB);
	assert_int_equal(sf_db_status_from_err(SF_OK), SF_DB_OK);
	assert_int_equal(sf_db_status_from_err(SF_ERR_DB_CONFLICT), SF_DB_RETRY);
	assert_int_equal(sf_db_status_from_err(SF_ERR_DB_CONSTRAINT), SF_DB_CONSTRAINT);
	assert_int_equal(sf_db_status_from_err(SF_ERR_CRYPTO), SF_DB_HARD);
}

int main(void)
{
	static struct conf_case cases[N_CONF * N_BACKENDS];
	static const struct CMUnitTest fixed[] = {
		cmocka_unit_test(t_sqlite_close_other_threads),
		cmocka_unit_test(t_sqlite_settings),
		cmocka_unit_test(t_sqlite_bad_path),
		cmocka_unit_test(t_sqlite_corrupt),
		cmocka_unit_test(t_sqlite_sql_complete),
		cmocka_unit_test(t_migration_numbering),
		cmocka_unit_test(t_status_mapping),
	};
	struct CMUnitTest tests[N_CONF * N_BACKENDS + sizeof(fixed) / sizeof(fixed[0])];
	size_t n = 0;

	for (size_t b = 0; b < N_BACKENDS; b++) {
		for (size_t i = 0; i < N_CONF; i++) {
			struct conf_case *cc = &cases[n];
			cc->be = &backends[b];
			cc->test = i;
			snprintf(cc->name, sizeof(cc->name), "%s/%s", backends[b].name, conformance[i].name);
			tests[n] = (struct CMUnitTest){.name = cc->name,
						       .test_func = conf_run,
						       .setup_func = conf_setup,
						       .teardown_func = conf_teardown,
						       .initial_state = cc};
			n++;
		}
	}
	for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
		tests[n++] = fixed[i];
	return _cmocka_run_group_tests("db", tests, n, NULL, NULL);
}
