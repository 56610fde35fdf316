/*
 * report.c — sales reports (report.h): one read snapshot, three prepared
 * queries (totals, the series by bucket, top products), then every bucket
 * of the period filled in so charts show the days without sales too.
 */
#include "shop/report.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "db/db.h"
#include "shop/money.h"

#define MAX_BUCKETS 400

static const char *const period_names[] = {"day", "week", "month"};

const char *sf_report_period_name(enum sf_report_period p)
{
	return (unsigned)p <= SF_REPORT_MONTH ? period_names[p] : "day";
}

int sf_report_period_parse(const char *s, enum sf_report_period *out)
{
	for (int i = 0; s && i <= SF_REPORT_MONTH; i++) {
		if (!strcmp(s, period_names[i])) {
			*out = (enum sf_report_period)i;
			return 0;
		}
	}
	return -1;
}

int64_t sf_report_bucket(enum sf_report_period p, int64_t t, char *out, size_t n)
{
	time_t tt = (time_t)t;
	struct tm tm;
	if (!gmtime_r(&tt, &tm)) {
		if (n)
			out[0] = '\0';
		return t + 86400;
	}
	int64_t day = t - (t % 86400 + 86400) % 86400;
	if (p == SF_REPORT_MONTH) {
		strftime(out, n, "%Y-%m", &tm);
		struct tm next = {.tm_year = tm.tm_year + (tm.tm_mon == 11), .tm_mon = (tm.tm_mon + 1) % 12, .tm_mday = 1};
		return (int64_t)timegm(&next);
	}
	if (p == SF_REPORT_WEEK) {
		int64_t monday = day - (int64_t)((tm.tm_wday + 6) % 7) * 86400;
		time_t mt = (time_t)monday;
		struct tm mtm;
		if (gmtime_r(&mt, &mtm))
			strftime(out, n, "%Y-%m-%d", &mtm);
		return monday + 7 * 86400;
	}
	strftime(out, n, "%Y-%m-%d", &tm);
	return day + 86400;
}

enum sf_err sf_report_default_currency(struct sf_db *db, char out[4])
{
	out[0] = '\0';
	struct sf_db_conn *c = sf_db_conn_get(db);
	if (!c)
		return SF_ERR_UNAVAILABLE;
	struct sf_db_cursor *cur;
	enum sf_db_status st = sf_db_query(c, SF_STMT_REPORT_LAST_CURRENCY, NULL, 0, &cur);
	if (st != SF_DB_OK)
		return sf_db_err(st);
	st = sf_db_next(cur);
	if (st == SF_DB_OK) {
		size_t len;
		const char *cy = sf_db_col_text(cur, 0, &len);
		if (len == 3)
			memcpy(out, cy, 4);
	}
	sf_db_cursor_close(cur);
	return st < 0 ? sf_db_err(st) : SF_OK;
}

struct rep {
	const struct sf_report_query *q;
	json_t *out;     /* the report being built */
	json_t *by_label; /* bucket label -> series element (borrowed) */
	enum sf_err err;
};

static enum sf_db_status rep_fail(struct rep *r, enum sf_err err)
{
	r->err = err;
	return SF_DB_HARD;
}

static enum sf_db_status rep_totals(struct rep *r, struct sf_db_conn *c)
{
	const struct sf_report_query *q = r->q;
	struct sf_db_param p[] = {SF_DB_INT(q->from), SF_DB_INT(q->to), SF_DB_TEXT(q->currency)};
	struct sf_db_cursor *cur;
	enum sf_db_status st = sf_db_query(c, SF_STMT_REPORT_TOTALS, p, 3, &cur);
	if (st != SF_DB_OK)
		return st;
	int64_t placed = 0, sold = 0, net = 0;
	st = sf_db_next(cur);
	if (st == SF_DB_OK) {
		placed = sf_db_col_int(cur, 0);
		sold = sf_db_col_int(cur, 1);
		net = sf_db_col_int(cur, 2);
	}
	sf_db_cursor_close(cur);
	if (st < 0)
		return st;
	int64_t aov = sold ? (net + sold / 2) / sold : 0;
	int64_t conv = placed ? (sold * 10000 + placed / 2) / placed : 0;
	if (json_object_set_new(r->out, "placed", json_integer(placed)) ||
	    json_object_set_new(r->out, "sold", json_integer(sold)) ||
	    json_object_set_new(r->out, "net_sales", json_integer(net)) ||
	    json_object_set_new(r->out, "aov", json_integer(aov)) ||
	    json_object_set_new(r->out, "conversion_bp", json_integer(conv)))
		return rep_fail(r, SF_ERR_NOMEM);
	return SF_DB_OK;
}

static enum sf_db_status rep_series(struct rep *r, struct sf_db_conn *c)
{
	const struct sf_report_query *q = r->q;
	struct sf_db_param p[] = {SF_DB_TEXT(sf_report_period_name(q->period)), SF_DB_INT(q->from),
				  SF_DB_INT(q->to), SF_DB_TEXT(q->currency)};
	struct sf_db_cursor *cur;
	enum sf_db_status st = sf_db_query(c, SF_STMT_REPORT_SALES, p, 4, &cur);
	if (st != SF_DB_OK)
		return st;
	while ((st = sf_db_next(cur)) == SF_DB_OK) {
		json_t *b = json_object_get(r->by_label, sf_db_col_text(cur, 0, NULL));
		if (b && (json_object_set_new(b, "orders", json_integer(sf_db_col_int(cur, 1))) ||
			  json_object_set_new(b, "net_sales", json_integer(sf_db_col_int(cur, 2))))) {
			sf_db_cursor_close(cur);
			return rep_fail(r, SF_ERR_NOMEM);
		}
	}
	sf_db_cursor_close(cur);
	return st < 0 ? st : SF_DB_OK;
}

static enum sf_db_status rep_top(struct rep *r, struct sf_db_conn *c)
{
	const struct sf_report_query *q = r->q;
	struct sf_db_param p[] = {SF_DB_INT(q->from), SF_DB_INT(q->to), SF_DB_TEXT(q->currency), SF_DB_INT(q->top)};
	struct sf_db_cursor *cur;
	enum sf_db_status st = sf_db_query(c, SF_STMT_REPORT_TOP_PRODUCTS, p, 4, &cur);
	if (st != SF_DB_OK)
		return st;
	json_t *top = json_array();
	int bad = !top;
	while (!bad && (st = sf_db_next(cur)) == SF_DB_OK) {
		bad = json_array_append_new(top, json_pack("{s:s,s:s,s:I,s:I}", "sku", sf_db_col_text(cur, 0, NULL),
							   "name", sf_db_col_text(cur, 1, NULL), "units",
							   (json_int_t)sf_db_col_int(cur, 2), "revenue",
							   (json_int_t)sf_db_col_int(cur, 3)));
	}
	sf_db_cursor_close(cur);
	if (bad || json_object_set_new(r->out, "top", top))
		return rep_fail(r, SF_ERR_NOMEM);
	return st < 0 ? st : SF_DB_OK;
}

/* Runs in a read snapshot; may run more than once (fresh series each time). */
static enum sf_db_status rep_txn(struct sf_db_conn *c, void *ctx)
{
	struct rep *r = ctx;
	json_t *series = json_array();
	json_object_clear(r->by_label);
	if (!series || json_object_set_new(r->out, "series", series))
		return rep_fail(r, SF_ERR_NOMEM);
	for (int64_t t = r->q->from; t < r->q->to;) {
		char label[16];
		int64_t next = sf_report_bucket(r->q->period, t, label, sizeof label);
		json_t *b = json_pack("{s:s,s:i,s:i}", "bucket", label, "orders", 0, "net_sales", 0);
		if (!b || json_object_set(r->by_label, label, b) || json_array_append_new(series, b))
			return rep_fail(r, SF_ERR_NOMEM);
		if (json_array_size(series) > MAX_BUCKETS)
			return rep_fail(r, SF_ERR_INVALID);
		t = next > t ? next : t + 86400;
	}
	enum sf_db_status st = rep_totals(r, c);
	if (st == SF_DB_OK)
		st = rep_series(r, c);
	if (st == SF_DB_OK)
		st = rep_top(r, c);
	return st;
}

enum sf_err sf_report_sales(struct sf_db *db, const struct sf_report_query *q, json_t **out)
{
	*out = NULL;
	if (q->from < 0 || q->to <= q->from || q->to - q->from > SF_REPORT_MAX_SPAN || !sf_money_currency_ok(q->currency) ||
	    q->top < 1 || q->top > SF_REPORT_TOP_MAX || (unsigned)q->period > SF_REPORT_MONTH)
		return SF_ERR_INVALID;
	struct rep r = {.q = q};
	r.out = json_pack("{s:s,s:s,s:I,s:I}", "currency", q->currency, "period", sf_report_period_name(q->period),
			  "from", (json_int_t)q->from, "to", (json_int_t)q->to);
	r.by_label = json_object();
	if (!r.out || !r.by_label) {
		json_decref(r.out);
		json_decref(r.by_label);
		return SF_ERR_NOMEM;
	}
	enum sf_db_status st = sf_db_txn_read(db, rep_txn, &r, 5);
	enum sf_err err = r.err ? r.err : sf_db_err(st);
	json_decref(r.by_label);
	if (err) {
		json_decref(r.out);
		return err;
	}
	*out = r.out;
	return SF_OK;
}
