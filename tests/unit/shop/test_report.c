/*
 * test_report.c — sales reports (src/shop/report.c): buckets by day, week
 * (Monday) and month with the empty ones filled in, net sales (paid minus
 * refunded, sold orders only), average order value, checkout conversion,
 * top products, one currency at a time, and refused ranges.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "db/db.h"
#include "shop/report.h"
#include "sf_test.h"

/* 2026-01-05 is a Monday. */
#define MON 1767571200LL
#define DAY 86400LL

struct fx {
	char dir[96];
	char path[160];
	struct sf_db *db;
	sqlite3 *raw;
	int n;
};

static void order(struct fx *f, int64_t at, const char *status, const char *cy, int64_t paid, int64_t refunded,
		  const char *sku, int64_t qty, int64_t line)
{
	char sql[1024];
	f->n++;
	snprintf(sql, sizeof sql,
		 "INSERT INTO orders(status, currency, prices_include_tax, subtotal_minor, discount_minor, "
		 "shipping_minor, tax_minor, total_minor, paid_minor, refunded_minor, shipping_method, shipping_name, "
		 "idem_owner, idem_key_hash, idem_body_hash, reserved_until, created_at, updated_at) VALUES "
		 "('%s', '%s', 1, %lld, 0, 0, 0, %lld, %lld, %lld, 'standard', 'Standard', 't', x'%04x', x'00', 0, "
		 "%lld, %lld);"
		 "INSERT INTO order_lines VALUES (last_insert_rowid(), 1, 1, '%s', 'Item %s', %lld, %lld, 'standard', "
		 "2000, %lld, 0, 0);",
		 status, cy, (long long)line, (long long)line, (long long)paid, (long long)refunded, f->n,
		 (long long)at, (long long)at, sku, sku, (long long)qty, (long long)(line / qty), (long long)line);
	char *err = NULL;
	if (sqlite3_exec(f->raw, sql, NULL, NULL, &err) != SQLITE_OK)
		fail_msg("sql: %s", err);
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof *f);
	assert_non_null(f);
	assert_int_equal(sf_test_mkdtemp(f->dir, sizeof f->dir, "report"), 0);
	f->db = sf_test_db_open(f->dir, "t.db");
	sf_test_path(f->path, sizeof f->path, f->dir, "t.db");
	assert_int_equal(sqlite3_open(f->path, &f->raw), SQLITE_OK);
	/* Monday: two sold, one pending, one cancelled */
	order(f, MON + 3600, "paid", "EUR", 1000, 0, "A", 1, 1000);
	order(f, MON + 7200, "shipped", "EUR", 3000, 0, "B", 3, 3000);
	order(f, MON + 9000, "pending_payment", "EUR", 0, 0, "A", 1, 1000);
	order(f, MON + 9500, "cancelled", "EUR", 0, 0, "A", 1, 1000);
	/* Wednesday: a partially refunded order */
	order(f, MON + 2 * DAY + 60, "partially_refunded", "EUR", 5000, 1500, "A", 5, 5000);
	/* next Monday: one, and one in another currency */
	order(f, MON + 7 * DAY + 10, "delivered", "EUR", 2000, 0, "B", 2, 2000);
	order(f, MON + 7 * DAY + 20, "paid", "USD", 9999, 0, "C", 1, 9999);
	/* February */
	order(f, 1769904000LL + 100, "paid", "EUR", 700, 0, "C", 1, 700); /* 2026-02-01 */
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	sqlite3_close(f->raw);
	sf_db_close(f->db);
	sf_test_rmtree(f->dir);
	free(f);
	return 0;
}

static json_t *report(struct fx *f, int64_t from, int64_t to, enum sf_report_period p, const char *cy)
{
	struct sf_report_query q = {.from = from, .to = to, .period = p, .top = 10};
	snprintf(q.currency, sizeof q.currency, "%s", cy);
	json_t *o = NULL;
	assert_int_equal(sf_report_sales(f->db, &q, &o), SF_OK);
	return o;
}

static int64_t iv(json_t *o, const char *k)
{
	return json_integer_value(json_object_get(o, k));
}

static void test_days(void **state)
{
	struct fx *f = *state;
	json_t *r = report(f, MON, MON + 7 * DAY, SF_REPORT_DAY, "EUR");
	json_t *s = json_object_get(r, "series");
	assert_int_equal(json_array_size(s), 7); /* every day, the empty ones too */
	assert_string_equal(json_string_value(json_object_get(json_array_get(s, 0), "bucket")), "2026-01-05");
	assert_int_equal(iv(json_array_get(s, 0), "orders"), 2);
	assert_int_equal(iv(json_array_get(s, 0), "net_sales"), 4000);
	assert_int_equal(iv(json_array_get(s, 1), "orders"), 0);
	assert_int_equal(iv(json_array_get(s, 2), "net_sales"), 3500); /* 5000 paid - 1500 refunded */
	assert_int_equal(iv(r, "placed"), 5);
	assert_int_equal(iv(r, "sold"), 3);
	assert_int_equal(iv(r, "net_sales"), 7500);
	assert_int_equal(iv(r, "aov"), 2500);
	assert_int_equal(iv(r, "conversion_bp"), 6000);
	/* top products by revenue of sold orders: A = 1000 + 5000, B = 3000 */
	json_t *top = json_object_get(r, "top");
	assert_int_equal(json_array_size(top), 2);
	assert_string_equal(json_string_value(json_object_get(json_array_get(top, 0), "sku")), "A");
	assert_int_equal(iv(json_array_get(top, 0), "units"), 6);
	assert_int_equal(iv(json_array_get(top, 0), "revenue"), 6000);
	json_decref(r);
}

static void test_weeks_months_currency(void **state)
{
	struct fx *f = *state;
	/* from a Wednesday: the first bucket is labelled by its Monday */
	json_t *r = report(f, MON + 2 * DAY, MON + 14 * DAY, SF_REPORT_WEEK, "EUR");
	json_t *s = json_object_get(r, "series");
	assert_int_equal(json_array_size(s), 2);
	assert_string_equal(json_string_value(json_object_get(json_array_get(s, 0), "bucket")), "2026-01-05");
	assert_string_equal(json_string_value(json_object_get(json_array_get(s, 1), "bucket")), "2026-01-12");
	assert_int_equal(iv(json_array_get(s, 0), "net_sales"), 3500);
	assert_int_equal(iv(json_array_get(s, 1), "net_sales"), 2000);
	json_decref(r);
	r = report(f, MON, MON + 40 * DAY, SF_REPORT_MONTH, "EUR");
	s = json_object_get(r, "series");
	assert_int_equal(json_array_size(s), 2);
	assert_string_equal(json_string_value(json_object_get(json_array_get(s, 1), "bucket")), "2026-02");
	assert_int_equal(iv(json_array_get(s, 0), "net_sales"), 9500);
	assert_int_equal(iv(json_array_get(s, 1), "net_sales"), 700);
	json_decref(r);
	/* USD is reported on its own, never added to EUR */
	r = report(f, MON, MON + 40 * DAY, SF_REPORT_MONTH, "USD");
	assert_int_equal(iv(r, "net_sales"), 9999);
	assert_int_equal(iv(r, "sold"), 1);
	json_decref(r);
	/* nothing: zeros, not division by zero */
	r = report(f, MON - 30 * DAY, MON - DAY, SF_REPORT_DAY, "EUR");
	assert_int_equal(iv(r, "aov"), 0);
	assert_int_equal(iv(r, "conversion_bp"), 0);
	json_decref(r);
	char cy[4];
	assert_int_equal(sf_report_default_currency(f->db, cy), SF_OK);
	assert_string_equal(cy, "EUR");
}

static void test_refused(void **state)
{
	struct fx *f = *state;
	struct sf_report_query bad[] = {
		{.from = MON, .to = MON, .top = 5, .currency = "EUR"},
		{.from = MON, .to = MON - 1, .top = 5, .currency = "EUR"},
		{.from = MON, .to = MON + SF_REPORT_MAX_SPAN + 1, .top = 5, .currency = "EUR"},
		{.from = MON, .to = MON + 500 * DAY, .top = 5, .currency = "EUR"}, /* > 400 daily buckets */
		{.from = MON, .to = MON + DAY, .top = 0, .currency = "EUR"},
		{.from = MON, .to = MON + DAY, .top = 5, .currency = "eur"},
		{.from = MON, .to = MON + DAY, .top = 5, .currency = "E'R"},
		{.from = -1, .to = MON, .top = 5, .currency = "EUR"},
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		json_t *o = NULL;
		assert_int_equal(sf_report_sales(f->db, &bad[i], &o), SF_ERR_INVALID);
		assert_null(o);
	}
	enum sf_report_period p;
	assert_int_equal(sf_report_period_parse("week", &p), 0);
	assert_int_equal(p, SF_REPORT_WEEK);
	assert_int_equal(sf_report_period_parse("year", &p), -1);
	assert_int_equal(sf_report_period_parse(NULL, &p), -1);
	char b[16];
	assert_int_equal(sf_report_bucket(SF_REPORT_WEEK, MON + 6 * DAY + 100, b, sizeof b), MON + 7 * DAY);
	assert_string_equal(b, "2026-01-05");
	assert_int_equal(sf_report_bucket(SF_REPORT_MONTH, 1767225600LL + 31 * DAY - 1, b, sizeof b), 1769904000LL);
	assert_string_equal(b, "2026-01");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_days, setup, teardown),
		cmocka_unit_test_setup_teardown(test_weeks_months_currency, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refused, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
