/*
 * test_search.c — filtered, paged audit reads (src/audit/search.c): filter
 * parsing with hostile input, every filter against a known trail, keyset
 * paging without gaps or repeats, and the problems summary.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "audit/audit.h"
#include "audit/search.h"
#include "crypto/keyring.h"
#include "db/db.h"
#include "sf_test.h"

struct fx {
	char dir[96];
	struct sf_db *db;
	struct sf_keyring *kr;
};

struct app_ctx {
	const struct sf_keyring *kr;
	const struct sf_audit_event *ev;
};

static enum sf_db_status append_txn(struct sf_db_conn *c, void *ctx)
{
	struct app_ctx *a = ctx;
	return sf_db_status_from_err(sf_audit_append(c, a->kr, a->ev));
}

static void append(struct fx *f, const char *atype, const char *aid, const char *action, const char *otype,
		   const char *oid, const char *outcome)
{
	struct sf_audit_event ev = {.actor_type = atype, .actor_id = aid, .ip = "192.0.2.7", .action = action,
				    .object_type = otype, .object_id = oid, .outcome = outcome,
				    .request_id = "req", .detail = "{\"k\":1}"};
	struct app_ctx a = {f->kr, &ev};
	assert_int_equal(sf_db_txn(f->db, append_txn, &a, 5), SF_DB_OK);
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof *f);
	assert_non_null(f);
	assert_int_equal(sf_test_mkdtemp(f->dir, sizeof f->dir, "search"), 0);
	f->db = sf_test_db_open(f->dir, "t.db");
	sf_keyring_free(sf_test_ring_open(f->dir, "master.key", 1, 1));
	f->kr = sf_test_ring_load(f->db, f->dir, "master.key");
	/* 30 events: staff 1 refunds orders 1..10, staff 2 reads customers,
	 * 5 denied logins, 5 failures by customer 9. */
	char id[16];
	for (int i = 1; i <= 10; i++) {
		snprintf(id, sizeof id, "%d", i);
		append(f, "staff", "1", "order.refund", "order", id, "success");
	}
	for (int i = 1; i <= 10; i++) {
		snprintf(id, sizeof id, "%d", i);
		append(f, "staff", "2", "customer.reveal", "customer", id, "success");
	}
	for (int i = 0; i < 5; i++)
		append(f, "anonymous", NULL, "staff.login", NULL, NULL, "denied");
	for (int i = 0; i < 5; i++)
		append(f, "customer", "9", "customer.login", "customer", "9", "failure");
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	sf_keyring_free(f->kr);
	sf_db_close(f->db);
	sf_test_rmtree(f->dir);
	free(f);
	return 0;
}

static size_t search(struct fx *f, const struct sf_audit_filter *flt, json_t **out)
{
	assert_int_equal(sf_audit_search(f->db, flt, out), SF_OK);
	return json_array_size(json_object_get(*out, "items"));
}

static size_t count_with(struct fx *f, const char *actor, const char *action, const char *object, const char *from,
			 const char *to, const char *outcome)
{
	struct sf_audit_filter flt;
	const char *bad;
	json_t *o;
	assert_int_equal(sf_audit_filter_parse(&flt, actor, action, object, from, to, outcome, NULL, "500", &bad),
			 SF_OK);
	size_t n = search(f, &flt, &o);
	json_decref(o);
	return n;
}

static void test_filters(void **state)
{
	struct fx *f = *state;
	assert_int_equal(count_with(f, NULL, NULL, NULL, NULL, NULL, NULL), 30);
	assert_int_equal(count_with(f, "staff:1", NULL, NULL, NULL, NULL, NULL), 10);
	assert_int_equal(count_with(f, "staff", NULL, NULL, NULL, NULL, NULL), 20);
	assert_int_equal(count_with(f, "9", NULL, NULL, NULL, NULL, NULL), 5);
	assert_int_equal(count_with(f, NULL, "order.refund", NULL, NULL, NULL, NULL), 10);
	assert_int_equal(count_with(f, NULL, "customer.", NULL, NULL, NULL, NULL), 15);
	assert_int_equal(count_with(f, NULL, "customer*", NULL, NULL, NULL, NULL), 15);
	assert_int_equal(count_with(f, NULL, "order", NULL, NULL, NULL, NULL), 0); /* exact, not prefix */
	assert_int_equal(count_with(f, NULL, NULL, "order:3", NULL, NULL, NULL), 1);
	assert_int_equal(count_with(f, NULL, NULL, "customer", NULL, NULL, NULL), 15);
	assert_int_equal(count_with(f, NULL, NULL, NULL, NULL, NULL, "denied"), 5);
	assert_int_equal(count_with(f, "staff:2", "customer.reveal", "customer:4", NULL, NULL, "success"), 1);
	/* time range: everything was written today (UTC) */
	char today[16], iso[32];
	sf_audit_iso((int64_t)time(NULL), iso, sizeof iso);
	memcpy(today, iso, 10);
	today[10] = '\0';
	assert_int_equal(count_with(f, NULL, NULL, NULL, today, today, NULL), 30);
	assert_int_equal(count_with(f, NULL, NULL, NULL, "2000-01-01", "2000-01-31", NULL), 0);
	assert_int_equal(count_with(f, NULL, NULL, NULL, "2999-01-01", NULL, NULL), 0);
	/* a filter value is data, never SQL */
	assert_int_equal(count_with(f, "' OR 1=1 --", NULL, NULL, NULL, NULL, NULL), 0);
	assert_int_equal(count_with(f, NULL, "x' OR action LIKE '%", NULL, NULL, NULL, NULL), 0);
}

static void test_paging(void **state)
{
	struct fx *f = *state;
	struct sf_audit_filter flt;
	const char *bad;
	assert_int_equal(sf_audit_filter_parse(&flt, NULL, NULL, NULL, NULL, NULL, NULL, NULL, "7", &bad), SF_OK);
	int64_t seen = 0, last = INT64_MAX;
	for (int page = 0; page < 10; page++) {
		json_t *o;
		size_t n = search(f, &flt, &o);
		for (size_t i = 0; i < n; i++) {
			int64_t id = json_integer_value(json_object_get(json_array_get(json_object_get(o, "items"), i), "id"));
			assert_true(id < last); /* newest first, no repeats */
			assert_int_equal(id, last == INT64_MAX ? 30 : last - 1); /* no gaps */
			last = id;
			seen++;
		}
		json_t *next = json_object_get(o, "next_before");
		if (page < 4)
			assert_true(json_is_integer(next));
		flt.before_id = json_is_integer(next) ? json_integer_value(next) : 0;
		json_decref(o);
		if (!flt.before_id)
			break;
	}
	assert_int_equal(seen, 30);
}

static void test_bad_filters(void **state)
{
	(void)state;
	struct sf_audit_filter flt;
	const char *bad;
	char big[300];
	memset(big, 'a', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	struct {
		const char *v[9];
		const char *field;
	} cases[] = {
		{{big, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL}, "actor"},
		{{"robot:1", NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL}, "actor"},
		{{"staff:", NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL}, "actor"},
		{{"a\x01", NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL}, "actor"},
		{{NULL, "\xff\xfe", NULL, NULL, NULL, NULL, NULL, NULL, NULL}, "action"},
		{{NULL, NULL, ":5", NULL, NULL, NULL, NULL, NULL, NULL}, "object"},
		{{NULL, NULL, NULL, "2026-02-30", NULL, NULL, NULL, NULL, NULL}, "from"},
		{{NULL, NULL, NULL, "2026-13-01", NULL, NULL, NULL, NULL, NULL}, "from"},
		{{NULL, NULL, NULL, "yesterday", NULL, NULL, NULL, NULL, NULL}, "from"},
		{{NULL, NULL, NULL, "1969-12-31", NULL, NULL, NULL, NULL, NULL}, "from"},
		{{NULL, NULL, NULL, "2026-01-01T25:00", NULL, NULL, NULL, NULL, NULL}, "from"},
		{{NULL, NULL, NULL, "2026-01-0x", NULL, NULL, NULL, NULL, NULL}, "from"},
		{{NULL, NULL, NULL, "2026-03-01", "2026-02-01", NULL, NULL, NULL, NULL}, "to"},
		{{NULL, NULL, NULL, NULL, NULL, "maybe", NULL, NULL, NULL}, "outcome"},
		{{NULL, NULL, NULL, NULL, NULL, NULL, "-1", NULL, NULL}, "before"},
		{{NULL, NULL, NULL, NULL, NULL, NULL, "1e9", NULL, NULL}, "before"},
		{{NULL, NULL, NULL, NULL, NULL, NULL, NULL, "0", NULL}, "limit"},
		{{NULL, NULL, NULL, NULL, NULL, NULL, NULL, "501", NULL}, "limit"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const char *const *v = cases[i].v;
		assert_int_equal(sf_audit_filter_parse(&flt, v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7], &bad),
				 SF_ERR_BAD_PARAM);
		assert_string_equal(bad, cases[i].field);
	}
	/* the good forms */
	assert_int_equal(sf_audit_filter_parse(&flt, "", "", "", "2026-01-31T08:05", "2026-01-31", "", "", "", &bad),
			 SF_OK);
	assert_string_equal(flt.since, "2026-01-31T08:05:00.000Z");
	assert_string_equal(flt.until, "2026-02-01T00:00:00.000Z");
	assert_null(flt.actor_type);
	assert_int_equal(flt.limit, 50);
	flt.limit = 0;
	json_t *o = NULL;
	assert_int_equal(sf_audit_search(NULL, &flt, &o), SF_ERR_INVALID);
}

static void test_problems(void **state)
{
	struct fx *f = *state;
	json_t *o;
	assert_int_equal(sf_audit_problems(f->db, "2000-01-01T00:00:00.000Z", 3, &o), SF_OK);
	assert_int_equal(json_integer_value(json_object_get(o, "count")), 10);
	assert_int_equal(json_array_size(json_object_get(o, "items")), 3);
	json_t *first = json_array_get(json_object_get(o, "items"), 0);
	assert_string_equal(json_string_value(json_object_get(first, "outcome")), "failure");
	assert_true(json_is_true(json_object_get(first, "failed")));
	json_decref(o);
	assert_int_equal(sf_audit_problems(f->db, "2999-01-01T00:00:00.000Z", 3, &o), SF_OK);
	assert_int_equal(json_integer_value(json_object_get(o, "count")), 0);
	json_decref(o);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_filters, setup, teardown),
		cmocka_unit_test_setup_teardown(test_paging, setup, teardown),
		cmocka_unit_test(test_bad_filters),
		cmocka_unit_test_setup_teardown(test_problems, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
