/*
 * test_audit.c — the audit trail: append and verify, then tamper with the
 * file as an attacker with write access would (through a raw SQLite handle,
 * after dropping the append-only triggers) and check that verification
 * names the right event.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "audit/audit.h"
#include "crypto/keyring.h"
#include "db/db.h"

#define N_EVENTS 40

struct fx {
	char dir[64];
	char db_path[128];
	char key_path[128];
	struct sf_db *db;
	struct sf_keyring *kr;
};

/* ==== Fixture ==== */

static void open_env(const char *dir, const char *name, struct sf_db **db, struct sf_keyring **kr, char *db_path,
		     size_t dblen)
{
	char key_path[160], errbuf[256];
	int applied = 0;

	snprintf(db_path, dblen, "%s/%s.db", dir, name);
	snprintf(key_path, sizeof(key_path), "%s/%s.key", dir, name);
	struct sf_db_options opt = {.backend = SF_DB_SQLITE, .path = db_path, .create = 1};
	assert_int_equal(sf_db_open(&opt, db, errbuf, sizeof(errbuf)), SF_OK);
	assert_int_equal(sf_db_migrate(*db, &applied, errbuf, sizeof(errbuf)), SF_OK);
	assert_int_equal(sf_master_key_create(key_path, 1), SF_OK);
	assert_int_equal(sf_keyring_open(key_path, kr, errbuf, sizeof(errbuf)), SF_OK);
	assert_int_equal(sf_keystore_load(*db, *kr, errbuf, sizeof(errbuf)), SF_OK);
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	snprintf(f->dir, sizeof(f->dir), "/tmp/sf_audittest_XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	open_env(f->dir, "a", &f->db, &f->kr, f->db_path, sizeof(f->db_path));
	*state = f;
	return 0;
}

static void rm_env(const char *dir, const char *name)
{
	static const char *const sfx[] = {".db", ".db-wal", ".db-shm", ".key"};
	char p[256];

	for (size_t i = 0; i < sizeof(sfx) / sizeof(sfx[0]); i++) {
		snprintf(p, sizeof(p), "%s/%s%s", dir, name, sfx[i]);
		unlink(p);
	}
}

static int teardown(void **state)
{
	struct fx *f = *state;

	sf_db_close(f->db);
	sf_keyring_free(f->kr);
	rm_env(f->dir, "a");
	rm_env(f->dir, "b");
	rmdir(f->dir);
	free(f);
	return 0;
}

/* ==== Helpers ==== */

struct append_ctx {
	const struct sf_keyring *kr;
	int n;        /* events to append in this transaction */
	int first;    /* number used in the action name */
	int rollback; /* return an error after appending */
	enum sf_err err;
};

static enum sf_db_status append_txn(struct sf_db_conn *c, void *vctx)
{
	struct append_ctx *a = vctx;
	char action[32], obj[32], detail[64];

	for (int i = 0; i < a->n; i++) {
		int k = a->first + i;
		snprintf(action, sizeof(action), "test.action%d", k % 3);
		snprintf(obj, sizeof(obj), "%d", k);
		snprintf(detail, sizeof(detail), "{\"k\":%d}", k);
		struct sf_audit_event ev = {
			.actor_type = k % 2 ? "staff" : "system",
			.actor_id = k % 2 ? "7" : NULL,
			.ip = k % 4 ? "192.0.2.1" : NULL,
			.action = action,
			.object_type = "product",
			.object_id = obj,
			.outcome = "success",
			.request_id = k % 5 ? "req-abc" : NULL,
			.detail = k % 2 ? detail : NULL,
		};
		a->err = sf_audit_append(c, a->kr, &ev);
		if (a->err)
			return sf_db_status_from_err(a->err);
	}
	return a->rollback ? SF_DB_HARD : SF_DB_OK;
}

static void append_n(struct fx *f, int n, int per_txn)
{
	for (int done = 0; done < n; done += per_txn) {
		struct append_ctx a = {.kr = f->kr, .n = n - done < per_txn ? n - done : per_txn, .first = done + 1};
		assert_int_equal(sf_db_txn(f->db, append_txn, &a, 5), SF_DB_OK);
		assert_int_equal(a.err, SF_OK);
	}
}

/* Run SQL on the file through a separate raw handle, as an attacker would. */
static void raw_sql(struct fx *f, const char *sql)
{
	sqlite3 *h = NULL;
	char *msg = NULL;

	assert_int_equal(sqlite3_open_v2(f->db_path, &h, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
	if (sqlite3_exec(h, sql, NULL, NULL, &msg) != SQLITE_OK) {
		fprintf(stderr, "raw sql failed: %s\n", msg);
		sqlite3_free(msg);
		sqlite3_close(h);
		fail();
	}
	sqlite3_close(h);
}

/* Like raw_sql, but the statement must be refused; returns SQLite's message. */
static void raw_sql_refused(struct fx *f, const char *sql, const char *want)
{
	sqlite3 *h = NULL;
	char *msg = NULL;

	assert_int_equal(sqlite3_open_v2(f->db_path, &h, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
	assert_int_not_equal(sqlite3_exec(h, sql, NULL, NULL, &msg), SQLITE_OK);
	assert_non_null(msg);
	assert_non_null(strstr(msg, want));
	sqlite3_free(msg);
	sqlite3_close(h);
}

static void drop_triggers(struct fx *f)
{
	raw_sql(f, "DROP TRIGGER audit_events_no_update; DROP TRIGGER audit_events_no_delete;");
}

static void expect_broken(struct fx *f, const struct sf_keyring *kr, int64_t id, const char *reason)
{
	struct sf_audit_report rep;

	assert_int_equal(sf_audit_verify(f->db, kr, &rep, NULL, NULL), SF_ERR_AUDIT_BROKEN);
	if (rep.first_broken != id || !strstr(rep.reason, reason))
		fail_msg("want event %lld (%s), got %lld: %s", (long long)id, reason, (long long)rep.first_broken,
			 rep.reason);
}

static void expect_ok(struct fx *f, int64_t n)
{
	struct sf_audit_report rep;

	assert_int_equal(sf_audit_verify(f->db, f->kr, &rep, NULL, NULL), SF_OK);
	assert_int_equal(rep.verified, n);
	assert_int_equal(rep.first_broken, 0);
}

/* ==== Tests ==== */

static void t_empty(void **state)
{
	expect_ok(*state, 0);
}

static void count_progress(int64_t checked, void *ctx)
{
	int64_t *last = ctx;
	assert_true(checked > *last);
	*last = checked;
}

static void t_append_verify(void **state)
{
	struct fx *f = *state;
	struct sf_audit_report rep;
	int64_t last = 0;
	sqlite3 *h = NULL;
	sqlite3_stmt *st = NULL;

	append_n(f, 7, 1);
	append_n(f, N_EVENTS - 7, 11);
	expect_ok(f, N_EVENTS);
	/* ids 1..N, timestamps in the documented format, first prev_hash zero */
	assert_int_equal(sqlite3_open_v2(f->db_path, &h, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(h, "SELECT min(id), max(id), count(*) FROM audit_events", -1, &st, NULL),
			 SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_int_equal(sqlite3_column_int(st, 0), 1);
	assert_int_equal(sqlite3_column_int(st, 1), N_EVENTS);
	assert_int_equal(sqlite3_column_int(st, 2), N_EVENTS);
	sqlite3_finalize(st);
	assert_int_equal(sqlite3_prepare_v2(h, "SELECT ts, prev_hash FROM audit_events WHERE id = 1", -1, &st, NULL),
			 SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	const char *ts = (const char *)sqlite3_column_text(st, 0);
	assert_int_equal(strlen(ts), 24);
	assert_int_equal(ts[10], 'T');
	assert_int_equal(ts[19], '.');
	assert_int_equal(ts[23], 'Z');
	static const unsigned char zero[32];
	assert_int_equal(sqlite3_column_bytes(st, 1), 32);
	assert_memory_equal(sqlite3_column_blob(st, 1), zero, 32);
	sqlite3_finalize(st);
	sqlite3_close(h);

	/* more than one page (1000) of events, with progress reports */
	append_n(f, 2100, 700);
	assert_int_equal(sf_audit_verify(f->db, f->kr, &rep, count_progress, &last), SF_OK);
	assert_int_equal(rep.verified, N_EVENTS + 2100);
	assert_int_equal(last, N_EVENTS + 2100);
}

static void t_rollback_leaves_nothing(void **state)
{
	struct fx *f = *state;

	append_n(f, 5, 5);
	struct append_ctx a = {.kr = f->kr, .n = 3, .first = 100, .rollback = 1};
	assert_int_equal(sf_db_txn(f->db, append_txn, &a, 5), SF_DB_HARD);
	assert_int_equal(a.err, SF_OK);
	expect_ok(f, 5);
	/* and the next append continues the chain from event 5 */
	append_n(f, 2, 1);
	expect_ok(f, 7);
}

static void t_triggers_refuse(void **state)
{
	struct fx *f = *state;

	append_n(f, 3, 3);
	raw_sql_refused(f, "UPDATE audit_events SET outcome = 'failure' WHERE id = 2", "append-only");
	raw_sql_refused(f, "DELETE FROM audit_events WHERE id = 3", "append-only");
	raw_sql_refused(f, "DELETE FROM audit_events", "append-only");
	expect_ok(f, 3);
}

static void t_tamper_edit(void **state)
{
	struct fx *f = *state;

	append_n(f, N_EVENTS, 10);
	drop_triggers(f);
	raw_sql(f, "UPDATE audit_events SET outcome = 'failure' WHERE id = 17");
	expect_broken(f, f->kr, 17, "event 17: hash does not match its contents");
	raw_sql(f, "UPDATE audit_events SET outcome = 'success' WHERE id = 17");
	expect_ok(f, N_EVENTS);
	/* NULL and "" are different contents (event 2 has actor_id NULL) */
	raw_sql(f, "UPDATE audit_events SET actor_id = '' WHERE id = 2");
	expect_broken(f, f->kr, 2, "event 2: hash does not match its contents");
	raw_sql(f, "UPDATE audit_events SET actor_id = NULL WHERE id = 2");
	/* the timestamp is covered too */
	raw_sql(f, "UPDATE audit_events SET ts = '2001-01-01T00:00:00.000Z' WHERE id = 33");
	expect_broken(f, f->kr, 33, "event 33: hash does not match its contents");
}

static void t_tamper_delete_middle(void **state)
{
	struct fx *f = *state;

	append_n(f, N_EVENTS, 40);
	drop_triggers(f);
	raw_sql(f, "DELETE FROM audit_events WHERE id = 17");
	expect_broken(f, f->kr, 18, "event 18: does not follow event 16 (missing or reordered events)");
}

static void t_tamper_delete_first(void **state)
{
	struct fx *f = *state;

	append_n(f, 10, 10);
	drop_triggers(f);
	raw_sql(f, "DELETE FROM audit_events WHERE id = 1");
	expect_broken(f, f->kr, 2, "event 2:");
}

static void t_tamper_insert_forged(void **state)
{
	struct fx *f = *state;

	append_n(f, N_EVENTS, 20);
	drop_triggers(f);
	/* make room at 20 by renumbering, then forge an event there that links
	 * to event 19's hash */
	raw_sql(f, "UPDATE audit_events SET id = -id WHERE id >= 20;"
		   "UPDATE audit_events SET id = 1 - id WHERE id < 0;"
		   "INSERT INTO audit_events(id, ts, actor_type, action, outcome, prev_hash, hash) "
		   "SELECT 20, ts, 'staff', 'order.refund', 'success', hash, randomblob(32) "
		   "FROM audit_events WHERE id = 19;");
	expect_broken(f, f->kr, 20, "event 20: hash does not match its contents");
}

static void t_tamper_append_forged(void **state)
{
	struct fx *f = *state;

	append_n(f, N_EVENTS, 20);
	drop_triggers(f);
	raw_sql(f, "INSERT INTO audit_events(id, ts, actor_type, action, outcome, prev_hash, hash) "
		   "SELECT 41, ts, 'staff', 'order.refund', 'success', hash, randomblob(32) "
		   "FROM audit_events WHERE id = 40;");
	expect_broken(f, f->kr, 41, "event 41: hash does not match its contents");
	/* a copy of a genuine event replayed at the end does not link either */
	raw_sql(f, "DELETE FROM audit_events WHERE id = 41;"
		   "INSERT INTO audit_events SELECT 41, ts, actor_type, actor_id, ip, action, object_type, "
		   "object_id, outcome, request_id, detail, prev_hash, hash FROM audit_events WHERE id = 40;");
	expect_broken(f, f->kr, 41, "event 41: does not follow event 40");
}

static void t_tamper_swap(void **state)
{
	struct fx *f = *state;

	append_n(f, N_EVENTS, 40);
	drop_triggers(f);
	raw_sql(f, "UPDATE audit_events SET id = -1 WHERE id = 10;"
		   "UPDATE audit_events SET id = 10 WHERE id = 11;"
		   "UPDATE audit_events SET id = 11 WHERE id = -1;");
	expect_broken(f, f->kr, 10, "event 10: does not follow event 9 (missing or reordered events)");
}

static void t_tamper_delete_last(void **state)
{
	struct fx *f = *state;

	append_n(f, N_EVENTS, 40);
	drop_triggers(f);
	raw_sql(f, "DELETE FROM audit_events WHERE id = 40");
	expect_broken(f, f->kr, 40, "chain ends at event 39 but the head records 40 events (events removed from the end)");
	/* appending on top of a truncated trail is refused, not laundered */
	struct append_ctx a = {.kr = f->kr, .n = 1, .first = 1};
	raw_sql(f, "DELETE FROM audit_events WHERE id >= 38;");
	raw_sql(f, "UPDATE audit_head SET last_id = 37, count = 37, "
		   "last_hash = (SELECT hash FROM audit_events WHERE id = 37)");
	expect_broken(f, f->kr, 0, "head MAC invalid");
	assert_int_equal(sf_db_txn(f->db, append_txn, &a, 5), SF_DB_HARD);
	assert_int_equal(a.err, SF_ERR_AUDIT_BROKEN);
}

static void t_tamper_head(void **state)
{
	struct fx *f = *state;

	append_n(f, 5, 5);
	raw_sql(f, "UPDATE audit_head SET count = 4");
	expect_broken(f, f->kr, 0, "head MAC invalid");
	raw_sql(f, "DELETE FROM audit_head");
	expect_broken(f, f->kr, 0, "head is missing");
}

static void t_wrong_key(void **state)
{
	struct fx *f = *state;
	struct sf_db *db2 = NULL;
	struct sf_keyring *kr2 = NULL;
	char path2[128];

	append_n(f, 10, 10);
	/* another installation: another master key, so another audit key */
	open_env(f->dir, "b", &db2, &kr2, path2, sizeof(path2));
	expect_broken(f, kr2, 1, "event 1: hash does not match its contents");
	/* nor may it append to this trail */
	struct append_ctx a = {.kr = kr2, .n = 1, .first = 1};
	assert_int_equal(sf_db_txn(f->db, append_txn, &a, 5), SF_DB_HARD);
	assert_int_equal(a.err, SF_ERR_AUDIT_BROKEN);
	expect_ok(f, 10);
	sf_db_close(db2);
	sf_keyring_free(kr2);
}

static void t_invalid_event(void **state)
{
	struct fx *f = *state;
	struct sf_db_conn *c = sf_db_conn_get(f->db);
	struct sf_audit_event ev = {.actor_type = "system", .action = NULL, .outcome = "success"};

	assert_int_equal(sf_audit_append(c, f->kr, &ev), SF_ERR_INVALID);
	expect_ok(f, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(t_empty, setup, teardown),
		cmocka_unit_test_setup_teardown(t_append_verify, setup, teardown),
		cmocka_unit_test_setup_teardown(t_rollback_leaves_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(t_triggers_refuse, setup, teardown),
		cmocka_unit_test_setup_teardown(t_tamper_edit, setup, teardown),
		cmocka_unit_test_setup_teardown(t_tamper_delete_middle, setup, teardown),
		cmocka_unit_test_setup_teardown(t_tamper_delete_first, setup, teardown),
		cmocka_unit_test_setup_teardown(t_tamper_insert_forged, setup, teardown),
		cmocka_unit_test_setup_teardown(t_tamper_append_forged, setup, teardown),
		cmocka_unit_test_setup_teardown(t_tamper_swap, setup, teardown),
		cmocka_unit_test_setup_teardown(t_tamper_delete_last, setup, teardown),
		cmocka_unit_test_setup_teardown(t_tamper_head, setup, teardown),
		cmocka_unit_test_setup_teardown(t_wrong_key, setup, teardown),
		cmocka_unit_test_setup_teardown(t_invalid_event, setup, teardown),
	};
	return cmocka_run_group_tests_name("audit", tests, NULL, NULL);
}
