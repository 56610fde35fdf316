/*
 * admin_home.c — the back-office dashboard and the sales reports with SVG
 * charts and CSV export (admin_pages.h).
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "audit/search.h"
#include "auth/form.h"
#include "auth/rbac.h"
#include "core/app.h"
#include "shop/backoffice.h"
#include "shop/catalog.h"
#include "shop/commerce.h"
#include "shop/report.h"
#include "web/admin_pages.h"
#include "web/admin_util.h"
#include "web/chart.h"

#define LOW_STOCK 5        /* units at or below which a variant is "low" */
#define DASH_DAYS 14       /* days of sales on the dashboard chart */
#define REPORT_DAYS 30     /* default report period */

static void money_fmt(int64_t v, char *out, size_t n, void *ctx)
{
	sf_money_format(v, ctx, out, n);
}

/* Add "<key>_text" money strings to each object of arr. */
static int money_texts(json_t *arr, const char *key, const char *cy)
{
	size_t i;
	json_t *o;
	char k[48], t[48];
	snprintf(k, sizeof k, "%s_text", key);
	json_array_foreach(arr, i, o) {
		sf_money_format(json_integer_value(json_object_get(o, key)), cy, t, sizeof t);
		if (json_object_set_new(o, k, json_string(t)))
			return -1;
	}
	return 0;
}

/* A chart of the "net_sales" of series (kind) into ctx[key]. */
static int put_chart(json_t *ctx, const char *key, enum sf_chart_kind kind, const char *title, json_t *series,
		     const char *member, const char *cy)
{
	size_t n = json_array_size(series);
	struct sf_chart_point pts[SF_CHART_MAX_POINTS];
	if (n > SF_CHART_MAX_POINTS)
		n = SF_CHART_MAX_POINTS;
	for (size_t i = 0; i < n; i++) {
		json_t *b = json_array_get(series, i);
		pts[i].label = json_string_value(json_object_get(b, "bucket"));
		pts[i].value = json_integer_value(json_object_get(b, member));
	}
	json_t *chart = sf_chart_build(kind, title, pts, n, cy ? money_fmt : NULL, (void *)cy);
	return !chart || json_object_set_new(ctx, key, chart);
}

static void today_range(int64_t days, int64_t *from, int64_t *to)
{
	int64_t now = sf_shop_now();
	int64_t day = now - now % 86400;
	*to = day + 86400;
	*from = *to - days * 86400;
}

/* The sales part of the dashboard. */
static enum sf_err dash_sales(struct sf_req *req, json_t *ctx)
{
	struct sf_app *app = req->app;
	struct sf_report_query q = {.period = SF_REPORT_DAY, .top = 5};
	enum sf_err err = sf_report_default_currency(app->db, q.currency);
	if (err || !q.currency[0])
		return err;
	today_range(DASH_DAYS, &q.from, &q.to);
	json_t *rep;
	err = sf_report_sales(app->db, &q, &rep);
	if (err)
		return err;
	json_t *series = json_object_get(rep, "series");
	json_t *today = json_array_get(series, json_array_size(series) - 1);
	char t[48];
	sf_money_format(json_integer_value(json_object_get(today, "net_sales")), q.currency, t, sizeof t);
	int bad = json_object_set_new(ctx, "today",
				      json_pack("{s:s,s:O}", "sales_text", t, "orders", json_object_get(today, "orders")));
	bad |= put_chart(ctx, "chart", SF_CHART_BAR, "Net sales, last 14 days", series, "net_sales", q.currency);
	json_decref(rep);
	return bad ? SF_ERR_NOMEM : SF_OK;
}

enum sf_err sf_web_admin_dashboard(struct sf_req *req, struct sf_resp *resp)
{
	struct sf_app *app = req->app;
	json_t *ctx = sf_admin_ctx(req, resp, "Dashboard", "dashboard");
	enum sf_err err = ctx ? SF_OK : SF_ERR_NOMEM;
	if (!err && sf_rbac_can(req, "reports.read"))
		err = dash_sales(req, ctx);
	if (!err && (sf_rbac_can(req, "orders.read") || sf_rbac_can(req, "inventory.read"))) {
		json_t *d;
		err = sf_bo_dashboard(app->db, LOW_STOCK, &d);
		if (!err && json_object_update(ctx, d))
			err = SF_ERR_NOMEM;
		json_decref(d);
	}
	if (!err && sf_rbac_can(req, "audit.read")) {
		char since[32];
		json_t *sec;
		sf_audit_iso(sf_shop_now() - 86400, since, sizeof since);
		err = sf_audit_problems(app->db, since, 5, &sec);
		if (!err && json_object_set_new(ctx, "security", sec))
			err = SF_ERR_NOMEM;
	}
	if (err) {
		json_decref(ctx);
		return err;
	}
	return sf_admin_render(req, resp, 200, "admin_dashboard", ctx);
}

/* ==== Reports ==== */

/* Read the report query from the query string (GET) or the form (export). */
static enum sf_err report_query(struct sf_req *req, int from_form, struct sf_report_query *q, json_t *echo)
{
	const char *v[4];
	static const char *const names[] = {"from", "to", "period", "currency"};
	for (int i = 0; i < 4; i++) {
		v[i] = from_form ? sf_form_get(req, names[i]) : sf_req_query(req, names[i]);
		if (v[i] && !*v[i])
			v[i] = NULL;
	}
	int64_t t, span, from, to;
	today_range(REPORT_DAYS, &from, &to);
	memset(q, 0, sizeof *q);
	q->top = 10;
	if (v[0]) {
		if (sf_audit_parse_when(v[0], &t, &span) || span != 86400)
			return SF_ERR_BAD_PARAM;
		from = t;
	}
	if (v[1]) {
		if (sf_audit_parse_when(v[1], &t, &span) || span != 86400)
			return SF_ERR_BAD_PARAM;
		to = t + 86400;
	}
	q->from = from;
	q->to = to;
	if (v[2] && sf_report_period_parse(v[2], &q->period))
		return SF_ERR_BAD_PARAM;
	if (v[3]) {
		if (strlen(v[3]) != 3)
			return SF_ERR_BAD_PARAM;
		memcpy(q->currency, v[3], 4);
	} else {
		enum sf_err err = sf_report_default_currency(((struct sf_app *)req->app)->db, q->currency);
		if (err)
			return err;
		if (!q->currency[0])
			memcpy(q->currency, "EUR", 4);
	}
	char f[16], l[16];
	sf_admin_time(q->from, f, sizeof f);
	sf_admin_time(q->to - 86400, l, sizeof l);
	f[10] = l[10] = '\0';
	return json_object_set_new(echo, "q",
				   json_pack("{s:s,s:s,s:s,s:s,s:b,s:b,s:b}", "from", f, "to", l, "period",
					     sf_report_period_name(q->period), "currency", q->currency, "is_day",
					     q->period == SF_REPORT_DAY, "is_week", q->period == SF_REPORT_WEEK,
					     "is_month", q->period == SF_REPORT_MONTH))
		       ? SF_ERR_NOMEM
		       : SF_OK;
}

enum sf_err sf_web_admin_reports(struct sf_req *req, struct sf_resp *resp)
{
	struct sf_app *app = req->app;
	json_t *ctx = sf_admin_ctx(req, resp, "Reports", "reports");
	struct sf_report_query q;
	json_t *rep = NULL;
	enum sf_err err = ctx ? report_query(req, 0, &q, ctx) : SF_ERR_NOMEM;
	if (!err)
		err = sf_report_sales(app->db, &q, &rep);
	if (err == SF_ERR_INVALID)
		err = SF_ERR_BAD_PARAM; /* a range the report refuses (too long, reversed) */
	if (err) {
		json_decref(ctx);
		return err;
	}
	json_t *series = json_object_get(rep, "series");
	char t[48];
	int bad = money_texts(series, "net_sales", q.currency) ||
		  money_texts(json_object_get(rep, "top"), "revenue", q.currency);
	sf_money_format(json_integer_value(json_object_get(rep, "net_sales")), q.currency, t, sizeof t);
	bad |= json_object_set_new(rep, "net_sales_text", json_string(t));
	sf_money_format(json_integer_value(json_object_get(rep, "aov")), q.currency, t, sizeof t);
	bad |= json_object_set_new(rep, "aov_text", json_string(t));
	int64_t bp = json_integer_value(json_object_get(rep, "conversion_bp"));
	snprintf(t, sizeof t, "%" PRId64 ".%02" PRId64 " %%", bp / 100, bp % 100);
	bad |= json_object_set_new(rep, "conversion_text", json_string(t));
	bad |= put_chart(ctx, "sales_chart", SF_CHART_BAR, "Net sales", series, "net_sales", q.currency);
	bad |= put_chart(ctx, "orders_chart", SF_CHART_LINE, "Sold orders", series, "orders", NULL);
	bad |= json_object_set_new(ctx, "report", rep);
	if (bad) {
		json_decref(ctx);
		return SF_ERR_NOMEM;
	}
	return sf_admin_render(req, resp, 200, "admin_reports", ctx);
}

enum sf_err sf_web_admin_reports_export(struct sf_req *req, struct sf_resp *resp)
{
	struct sf_app *app = req->app;
	int detour;
	enum sf_err err = sf_admin_fresh(req, resp, "/admin/reports", &detour);
	if (err || detour)
		return err;
	struct sf_report_query q;
	json_t *echo = json_object(), *rep = NULL;
	err = !echo ? SF_ERR_NOMEM : sf_form_parse(req);
	if (!err)
		err = report_query(req, 1, &q, echo);
	if (!err)
		err = sf_report_sales(app->db, &q, &rep);
	if (err == SF_ERR_INVALID)
		err = SF_ERR_BAD_PARAM;
	struct sf_buf b;
	sf_buf_init(&b, SF_ADMIN_CSV_MAX);
	size_t i;
	json_t *o;
	int64_t rows = 0;
	if (!err)
		err = sf_buf_puts(&b, "period,orders,net_sales_minor,currency\r\n");
	json_array_foreach(json_object_get(rep, "series"), i, o) {
		char n1[24], n2[24];
		snprintf(n1, sizeof n1, "%" JSON_INTEGER_FORMAT, json_integer_value(json_object_get(o, "orders")));
		snprintf(n2, sizeof n2, "%" JSON_INTEGER_FORMAT, json_integer_value(json_object_get(o, "net_sales")));
		const char *row[] = {json_string_value(json_object_get(o, "bucket")), n1, n2, q.currency};
		if (!err)
			err = sf_admin_csv_row(&b, row, 4);
		rows++;
	}
	if (!err)
		err = sf_buf_puts(&b, "\r\nsku,product,units,revenue_minor\r\n");
	json_array_foreach(json_object_get(rep, "top"), i, o) {
		char n1[24], n2[24];
		snprintf(n1, sizeof n1, "%" JSON_INTEGER_FORMAT, json_integer_value(json_object_get(o, "units")));
		snprintf(n2, sizeof n2, "%" JSON_INTEGER_FORMAT, json_integer_value(json_object_get(o, "revenue")));
		const char *row[] = {json_string_value(json_object_get(o, "sku")),
				     json_string_value(json_object_get(o, "name")), n1, n2};
		if (!err)
			err = sf_admin_csv_row(&b, row, 4);
		rows++;
	}
	if (!err)
		err = sf_admin_audit_export(req, "reports.export", rows, json_object_get(echo, "q"));
	if (!err)
		err = sf_admin_csv_send(req, resp, &b, "sales-report.csv");
	sf_buf_free(&b);
	json_decref(rep);
	json_decref(echo);
	return err;
}
