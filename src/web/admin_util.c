/*
 * admin_util.c — shared pieces of the back-office page handlers
 * (admin_util.h).
 */
#include "web/admin_util.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "audit/audit.h"
#include "auth/auth.h"
#include "auth/form.h"
#include "auth/rbac.h"
#include "auth/staff.h"
#include "core/app.h"
#include "core/config.h"
#include "core/util.h"
#include "db/db.h"
#include "shop/report.h"
#include "web/admin_auth_pages.h"
#include "web/pages.h"
#include "web/tmpl.h"

void sf_admin_actor(struct sf_req *req, struct sf_shop_actor *a, char idbuf[24])
{
	const struct sf_staff_viewer *v = sf_staff_viewer(req);
	idbuf[0] = '\0';
	if (v)
		snprintf(idbuf, 24, "%" PRId64, v->id);
	a->type = v ? "staff" : "anonymous";
	a->id = v ? idbuf : NULL;
	a->ip = req->client_ip;
	a->request_id = req->request_id;
}

static json_t *can_map(struct sf_req *req)
{
	json_t *can = json_object();
	for (int i = 0; can && i < SF_RBAC_NPERM; i++) {
		const char *name = sf_rbac_name(i);
		char key[32];
		size_t n = strlen(name);
		if (n >= sizeof key)
			continue;
		memcpy(key, name, n + 1);
		key[strcspn(key, ".")] = '_';
		if (sf_rbac_can(req, name) && json_object_set_new(can, key, json_true())) {
			json_decref(can);
			return NULL;
		}
	}
	return can;
}

json_t *sf_admin_ctx(struct sf_req *req, struct sf_resp *resp, const char *title, const char *section)
{
	const struct sf_app *app = req->app;
	const char *tok = sf_auth_csrf_token(req, resp);
	const struct sf_staff_viewer *v = sf_staff_viewer(req);
	const char *shop = app && app->cfg && app->cfg->shop_name[0] ? app->cfg->shop_name : SF_WEB_SHOP_NAME;
	if (!tok)
		return NULL;
	json_t *staff = v ? json_pack("{s:I,s:s,s:s}", "id", (json_int_t)v->id, "email", v->email ? v->email : "",
				      "name", v->name ? v->name : "")
			  : json_null();
	json_t *ctx = json_pack("{s:s,s:s,s:s,s:s,s:s,s:o,s:o}", "shop", shop, "title", title, "section", section,
				"csrf_token", tok, "admin", sf_staff_admin_path(req), "staff", staff, "can",
				can_map(req));
	if (ctx && (json_object_set_new(ctx, section, json_true()) ||
		    json_object_set_new(ctx, "admin_nav", sf_admin_nav_json(req)))) {
		json_decref(ctx);
		return NULL;
	}
	return ctx;
}

enum sf_err sf_admin_render(struct sf_req *req, struct sf_resp *resp, unsigned status, const char *name,
			    json_t *ctx)
{
	const struct sf_app *app = req->app;
	struct sf_buf out;
	enum sf_err err = !ctx ? SF_ERR_NOMEM : !app || !app->tmpl ? SF_ERR_UNAVAILABLE : SF_OK;
	sf_buf_init(&out, SF_WEB_PAGE_CAP);
	if (!err)
		err = sf_tmpl_render(app->tmpl, name, ctx, &out);
	json_decref(ctx);
	size_t n = 0;
	char *html = err ? NULL : sf_buf_steal(&out, &n);
	sf_buf_free(&out);
	if (!err && !html)
		err = SF_ERR_NOMEM;
	if (!err)
		err = sf_resp_header(req, resp, "Cache-Control", "no-store");
	if (err) {
		free(html);
		return err;
	}
	sf_resp_body(resp, status, "text/html; charset=utf-8", html, n, free);
	return SF_OK;
}

int sf_admin_user_error(enum sf_err err)
{
	unsigned s = err ? sf_err_status(err) : 0;
	return s >= 400 && s < 500 && err != SF_ERR_UNAUTHORIZED && err != SF_ERR_FORBIDDEN;
}

void sf_admin_error(json_t *ctx, enum sf_err err, const char *why)
{
	if (ctx && err)
		json_object_set_new(ctx, "error", json_pack("{s:s,s:s}", "code", sf_err_code(err), "message",
							    why ? why : sf_err_desc(err)));
}

enum sf_err sf_admin_path_id(struct sf_req *req, const char *name, int64_t *out)
{
	const char *s = sf_req_param(req, name);
	return s && !sf_parse_i64(s, 1, 9007199254740992LL, out) ? SF_OK : SF_ERR_NOT_FOUND;
}

enum sf_err sf_admin_int(struct sf_req *req, const char *name, int from_query, int64_t min, int64_t max,
			 int64_t dflt, int64_t *out)
{
	const char *s = from_query ? sf_req_query(req, name) : sf_form_get(req, name);
	*out = dflt;
	if (!s || !*s)
		return SF_OK;
	return sf_parse_i64(s, min, max, out) ? SF_ERR_BAD_PARAM : SF_OK;
}

void sf_admin_shop_currency(struct sf_db *db, char out[4])
{
	if (!db || sf_report_default_currency(db, out) != SF_OK || !out[0])
		memcpy(out, "EUR", 4);
}

enum sf_err sf_admin_fresh(struct sf_req *req, struct sf_resp *resp, const char *back, int *detour)
{
	*detour = 0;
	enum sf_err err = sf_staff_require_fresh(req);
	if (err != SF_ERR_REAUTH)
		return err;
	struct sf_buf b;
	sf_buf_init(&b, 2048);
	err = sf_buf_printf(&b, "%s/reauth?next=", sf_staff_admin_path(req));
	for (const unsigned char *p = (const unsigned char *)back; !err && *p; p++) {
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
		    strchr("/-._~", *p))
			err = sf_buf_putc(&b, (char)*p);
		else
			err = sf_buf_printf(&b, "%%%02X", *p);
	}
	if (!err) {
		err = sf_resp_redirect(req, resp, 303, b.bf_data);
		*detour = !err;
	}
	sf_buf_free(&b);
	return err;
}

enum sf_err sf_admin_csv_cell(struct sf_buf *b, const char *s, int first)
{
	enum sf_err err = first ? SF_OK : sf_buf_putc(b, ',');
	if (!s)
		s = "";
	int formula = strchr("=+-@\t\r", s[0]) && s[0];
	int quote = formula || strpbrk(s, ",\"\r\n") != NULL;
	if (!err && quote)
		err = sf_buf_putc(b, '"');
	if (!err && formula)
		err = sf_buf_putc(b, '\'');
	for (const char *p = s; !err && *p; p++)
		err = *p == '"' ? sf_buf_puts(b, "\"\"") : sf_buf_putc(b, *p);
	if (!err && quote)
		err = sf_buf_putc(b, '"');
	return err;
}

enum sf_err sf_admin_csv_eol(struct sf_buf *b)
{
	return sf_buf_puts(b, "\r\n");
}

enum sf_err sf_admin_csv_row(struct sf_buf *b, const char *const *cells, size_t n)
{
	enum sf_err err = SF_OK;
	for (size_t i = 0; !err && i < n; i++)
		err = sf_admin_csv_cell(b, cells[i], i == 0);
	return err ? err : sf_admin_csv_eol(b);
}

enum sf_err sf_admin_csv_send(struct sf_req *req, struct sf_resp *resp, struct sf_buf *b, const char *filename)
{
	char disp[128];
	snprintf(disp, sizeof disp, "attachment; filename=\"%s\"", filename);
	enum sf_err err = sf_resp_header(req, resp, "Content-Disposition", disp);
	if (!err)
		err = sf_resp_header(req, resp, "Cache-Control", "no-store");
	size_t n = 0;
	char *data = err ? NULL : sf_buf_steal(b, &n);
	if (!err && !data)
		data = calloc(1, 1);
	if (!data)
		return err ? err : SF_ERR_NOMEM;
	sf_resp_body(resp, 200, "text/csv; charset=utf-8", data, n, free);
	return SF_OK;
}

struct exp_ctx {
	const struct sf_keyring *kr;
	const struct sf_audit_event *ev;
	enum sf_err err;
};

static enum sf_db_status exp_txn(struct sf_db_conn *c, void *ctx)
{
	struct exp_ctx *x = ctx;
	enum sf_err err = sf_audit_append(c, x->kr, x->ev);
	x->err = err == SF_ERR_DB_CONFLICT ? SF_OK : err;
	return sf_db_status_from_err(err);
}

enum sf_err sf_admin_audit_export(struct sf_req *req, const char *action, int64_t rows, json_t *filter)
{
	struct sf_app *app = req->app;
	struct sf_shop_actor a;
	char id[24];
	sf_admin_actor(req, &a, id);
	json_t *d = json_pack("{s:I,s:O}", "rows", (json_int_t)rows, "filter", filter ? filter : json_null());
	char *detail = d ? json_dumps(d, JSON_COMPACT) : NULL;
	json_decref(d);
	if (!detail)
		return SF_ERR_NOMEM;
	struct sf_audit_event ev = {
		.actor_type = a.type, .actor_id = a.id, .ip = a.ip, .action = action, .object_type = "export",
		.outcome = "success", .request_id = a.request_id, .detail = detail,
	};
	struct exp_ctx x = {.kr = app->keys, .ev = &ev};
	enum sf_db_status st = sf_db_txn(app->db, exp_txn, &x, 5);
	free(detail);
	return x.err ? x.err : st < 0 ? sf_db_err(st) : SF_OK;
}

void sf_admin_time(int64_t t, char *out, size_t n)
{
	time_t tt = (time_t)t;
	struct tm tm;
	if (!gmtime_r(&tt, &tm) || !strftime(out, n, "%Y-%m-%d %H:%M", &tm)) {
		if (n)
			out[0] = '\0';
	}
}

int sf_admin_times(json_t *arr, const char *key)
{
	size_t i;
	json_t *o;
	char k[64];
	snprintf(k, sizeof k, "%s_text", key);
	json_array_foreach(arr, i, o) {
		json_t *v = json_object_get(o, key);
		char t[32];
		if (!json_is_integer(v))
			continue;
		sf_admin_time(json_integer_value(v), t, sizeof t);
		if (json_object_set_new(o, k, json_string(t)))
			return -1;
	}
	return 0;
}
