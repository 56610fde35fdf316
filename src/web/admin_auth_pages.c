/*
 * admin_auth_pages.c — login, enrollment, second factor, password,
 * re-authentication and session pages of the back office, and their JSON
 * API (admin_auth_pages.h).
 *
 * The account logic lives in src/auth/staff.c and apitoken.c; the page
 * context and rendering come from admin_util.h; nothing here holds SQL or
 * markup.  Secrets shown once (TOTP key, recovery codes, API tokens) are
 * copied into the page context only, which is freed after rendering, and
 * the local copies are wiped.
 */
#include "web/admin_auth_pages.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth/apitoken.h"
#include "auth/auth.h"
#include "auth/form.h"
#include "auth/staff.h"
#include "core/app.h"
#include "core/util.h"
#include "web/admin_util.h"

#define URI_MAX 512

/* ==== Navigation ==== */

struct nav_item {
	const char *suffix; /* after the back-office path */
	const char *label;
	const char *perm;   /* NULL: every signed-in staff member */
};

static const struct nav_item nav_items[] = {
	{"", "Dashboard", NULL},
	{"/products", "Catalog", "catalog.read"},
	{"/inventory", "Inventory", "inventory.read"},
	{"/orders", "Orders", "orders.read"},
	{"/customers", "Customers", "customers.read"},
	{"/coupons", "Coupons", "coupons.read"},
	{"/shipping", "Shipping", "shipping.read"},
	{"/tax", "Tax", "tax.read"},
	{"/staff", "Staff & roles", "staff.read"},
	{"/security", "Security", "security.read"},
	{"/logins", "Login history", "audit.read"},
	{"/reports", "Reports", "reports.read"},
	{"/audit", "Audit", "audit.read"},
};

/* Is the internal path (/admin...) inside section suffix? */
static int in_section(const char *path, const char *suffix)
{
	char want[64];
	snprintf(want, sizeof want, "/admin%s", suffix);
	size_t n = strlen(want);
	if (!path || strncmp(path, want, n) != 0)
		return 0;
	return *suffix ? path[n] == '\0' || path[n] == '/' : path[n] == '\0';
}

json_t *sf_admin_nav_json(struct sf_req *req)
{
	const struct sf_staff_viewer *v = sf_staff_viewer(req);
	if (!v || !v->id || strcmp(v->stage, "full") != 0)
		return json_null();
	json_t *list = json_array();
	const char *base = sf_staff_admin_path(req);
	for (size_t i = 0; list && i < sizeof nav_items / sizeof nav_items[0]; i++) {
		const struct nav_item *it = &nav_items[i];
		if (it->perm && !sf_rbac_can(req, it->perm))
			continue;
		char href[128];
		snprintf(href, sizeof href, "%s%s", base, it->suffix);
		if (json_array_append_new(list, json_pack("{s:s, s:s, s:b}", "href", href, "label", it->label, "current",
							  in_section(req->path, it->suffix))) != 0) {
			json_decref(list);
			return NULL;
		}
	}
	return list ? json_pack("{s:o}", "items", list) : NULL;
}

/* ==== Helpers ==== */

static const char *admin_url(struct sf_req *req, const char *suffix)
{
	return sf_arena_printf(req->arena, "%s%s", sf_staff_admin_path(req), suffix);
}

/* Render tmpl with the common context plus extra (stolen) and an error
 * message (may be NULL). */
static enum sf_err page(struct sf_req *req, struct sf_resp *resp, unsigned status, const char *tmpl, const char *title,
			json_t *extra, const char *error)
{
	json_t *ctx = sf_admin_ctx(req, resp, title, "account"); /* with admin_nav */
	if (!ctx) {
		json_decref(extra);
		return SF_ERR_NOMEM;
	}
	if (extra)
		json_object_update(ctx, extra);
	json_decref(extra);
	if (error)
		json_object_set_new(ctx, "error", json_pack("{s:s}", "message", error));
	return sf_admin_render(req, resp, status, tmpl, ctx);
}

static enum sf_err redirect(struct sf_req *req, struct sf_resp *resp, const char *suffix)
{
	const char *to = admin_url(req, suffix);
	return to ? sf_resp_redirect(req, resp, 303, to) : SF_ERR_NOMEM;
}

/* Where a session of stage continues. */
static const char *stage_path(const char *stage)
{
	if (!strcmp(stage, "totp"))
		return "/login/code";
	if (!strcmp(stage, "enroll"))
		return "/2fa/setup";
	if (!strcmp(stage, "password"))
		return "/password";
	return "";
}

static const char *viewer_stage(struct sf_req *req)
{
	const struct sf_staff_viewer *v = sf_staff_viewer(req);
	return v ? v->stage : "";
}

/* ==== Login ==== */

enum sf_err sf_web_admin_login_form(struct sf_req *req, struct sf_resp *resp)
{
	enum sf_err err = sf_staff_gate(req);
	if (err)
		return err;
	return page(req, resp, 200, "admin_login", "Sign in", NULL, NULL);
}

enum sf_err sf_web_admin_login(struct sf_req *req, struct sf_resp *resp)
{
	enum sf_err err = sf_staff_gate(req);
	if (!err)
		err = sf_form_parse(req);
	if (err)
		return err;
	struct sf_staff_actor a;
	sf_staff_actor_of(req, &a);
	int64_t id = 0;
	const char *stage = NULL;
	const char *email = sf_form_get(req, "email");
	err = sf_staff_login_password(req->app, &a, email, sf_form_get(req, "password"), &id, &stage);
	if (err == SF_ERR_LOGIN_FAILED) {
		sf_auth_login_failed(req, "staff");
		json_t *v = json_pack("{s:s}", "email", email && strlen(email) <= 254 ? email : "");
		return page(req, resp, 401, "admin_login", "Sign in", v, sf_err_desc(err));
	}
	if (!err)
		err = sf_staff_session_begin(req, resp, id, stage);
	if (err)
		return err;
	return redirect(req, resp, stage_path(stage));
}

enum sf_err sf_web_admin_code_form(struct sf_req *req, struct sf_resp *resp)
{
	if (strcmp(viewer_stage(req), "totp") != 0)
		return redirect(req, resp, stage_path(viewer_stage(req)));
	return page(req, resp, 200, "admin_login_code", "Authenticator code", NULL, NULL);
}

enum sf_err sf_web_admin_code(struct sf_req *req, struct sf_resp *resp)
{
	const struct sf_staff_viewer *v = sf_staff_viewer(req);
	enum sf_err err = sf_form_parse(req);
	if (err)
		return err;
	if (!v || strcmp(v->stage, "totp") != 0)
		return redirect(req, resp, stage_path(viewer_stage(req)));
	struct sf_staff_actor a;
	sf_staff_actor_of(req, &a);
	const char *stage = NULL;
	int64_t id = v->id;
	err = sf_staff_login_code(req->app, &a, id, sf_form_get(req, "code"), &stage);
	if (err == SF_ERR_LOGIN_FAILED) {
		sf_auth_login_failed(req, "staff");
		return page(req, resp, 401, "admin_login_code", "Authenticator code", NULL,
			    "The code is not correct, was already used, or the account is locked.");
	}
	if (!err)
		err = sf_staff_session_begin(req, resp, id, stage);
	if (err)
		return err;
	return redirect(req, resp, stage_path(stage));
}

enum sf_err sf_web_admin_logout(struct sf_req *req, struct sf_resp *resp)
{
	enum sf_err err = sf_staff_logout(req, resp);
	if (err)
		return err;
	return redirect(req, resp, "/login");
}

/* ==== Enrollment ==== */

static const char *token_param(const char *t)
{
	return t && strlen(t) <= 64 ? t : "";
}

enum sf_err sf_web_admin_enroll_form(struct sf_req *req, struct sf_resp *resp)
{
	enum sf_err err = sf_staff_gate(req);
	if (err)
		return err;
	const char *tok = sf_req_query(req, "token");
	int64_t id;
	err = sf_staff_enroll_check(req->app, tok, &id, NULL);
	if (err == SF_ERR_TOKEN_INVALID)
		return page(req, resp, 400, "admin_login_message", "Enrollment link",
			    json_pack("{s:s}", "heading", "This link does not work"), sf_err_desc(err));
	if (err)
		return err;
	return page(req, resp, 200, "admin_enroll", "Set your password", json_pack("{s:s}", "token", token_param(tok)),
		    NULL);
}

enum sf_err sf_web_admin_enroll(struct sf_req *req, struct sf_resp *resp)
{
	enum sf_err err = sf_staff_gate(req);
	if (!err)
		err = sf_form_parse(req);
	if (err)
		return err;
	const char *tok = sf_form_get(req, "token"), *pw = sf_form_get(req, "password"),
		   *again = sf_form_get(req, "password_again");
	if (!pw || !again || strcmp(pw, again) != 0)
		return page(req, resp, 400, "admin_enroll", "Set your password",
			    json_pack("{s:s}", "token", token_param(tok)), "The two passwords do not match.");
	struct sf_staff_actor a;
	sf_staff_actor_of(req, &a);
	int64_t id = 0;
	const char *why = NULL;
	err = sf_staff_enroll_password(req->app, &a, tok, pw, &id, &why);
	if (err == SF_ERR_TOKEN_INVALID)
		return page(req, resp, 400, "admin_login_message", "Enrollment link",
			    json_pack("{s:s}", "heading", "This link does not work"), sf_err_desc(err));
	if (err == SF_ERR_WEAK_PASSWORD)
		return page(req, resp, 400, "admin_enroll", "Set your password",
			    json_pack("{s:s}", "token", token_param(tok)), why ? why : sf_err_desc(err));
	if (err)
		return err;
	/* The link proved the address; the second factor comes next. */
	err = sf_staff_session_begin(req, resp, id, "enroll");
	if (err)
		return err;
	return redirect(req, resp, "/2fa/setup");
}

static enum sf_err totp_page(struct sf_req *req, struct sf_resp *resp, unsigned status, const char *error)
{
	const struct sf_staff_viewer *v = sf_staff_viewer(req);
	char key[SF_TOTP_B32_MAX], uri[URI_MAX];
	json_t *qr = NULL;
	enum sf_err err = sf_staff_totp_begin(req->app, v->id, key, uri, sizeof uri, &qr);
	if (err)
		return err;
	json_t *extra = json_pack("{s:s, s:o}", "key", key, "qr", qr);
	sodium_memzero(key, sizeof key);
	sodium_memzero(uri, sizeof uri);
	if (!extra)
		return SF_ERR_NOMEM;
	return page(req, resp, status, "admin_enroll_totp", "Set up your authenticator", extra, error);
}

enum sf_err sf_web_admin_totp_form(struct sf_req *req, struct sf_resp *resp)
{
	if (strcmp(viewer_stage(req), "enroll") != 0)
		return redirect(req, resp, stage_path(viewer_stage(req)));
	return totp_page(req, resp, 200, NULL);
}

enum sf_err sf_web_admin_totp(struct sf_req *req, struct sf_resp *resp)
{
	const struct sf_staff_viewer *v = sf_staff_viewer(req);
	enum sf_err err = sf_form_parse(req);
	if (err)
		return err;
	if (!v || strcmp(v->stage, "enroll") != 0)
		return redirect(req, resp, stage_path(viewer_stage(req)));
	struct sf_staff_actor a;
	sf_staff_actor_of(req, &a);
	char codes[SF_RECOVERY_CODES][SF_RECOVERY_CODE_LEN + 1];
	int64_t id = v->id;
	const char *stage = NULL;
	err = sf_staff_totp_confirm(req->app, &a, id, sf_form_get(req, "code"), codes, &stage);
	if (err == SF_ERR_LOGIN_FAILED)
		return totp_page(req, resp, 400, "The code is not correct: scan the new QR code and try again.");
	if (err)
		return err;
	json_t *list = json_array();
	for (int i = 0; list && i < SF_RECOVERY_CODES; i++)
		json_array_append_new(list, json_string(codes[i]));
	sodium_memzero(codes, sizeof codes);
	/* Enrolled: the session moves on (a new token). */
	err = sf_staff_session_begin(req, resp, id, stage);
	if (err) {
		json_decref(list);
		return err;
	}
	return page(req, resp, 200, "admin_enroll_codes", "Your recovery codes",
		    json_pack("{s:o, s:s}", "codes", list ? list : json_array(), "next", admin_url(req, stage_path(stage))),
		    NULL);
}

/* ==== Password ==== */

enum sf_err sf_web_admin_password_form(struct sf_req *req, struct sf_resp *resp)
{
	const char *st = viewer_stage(req);
	if (strcmp(st, "password") != 0 && strcmp(st, "full") != 0)
		return redirect(req, resp, stage_path(st));
	return page(req, resp, 200, "admin_password", "Change your password",
		    json_pack("{s:b}", "forced", !strcmp(st, "password")), NULL);
}

enum sf_err sf_web_admin_password(struct sf_req *req, struct sf_resp *resp)
{
	const struct sf_staff_viewer *v = sf_staff_viewer(req);
	enum sf_err err = sf_form_parse(req);
	if (err)
		return err;
	const char *st = viewer_stage(req);
	if (!v || (strcmp(st, "password") != 0 && strcmp(st, "full") != 0))
		return redirect(req, resp, stage_path(st));
	int forced = !strcmp(st, "password");
	const char *pw = sf_form_get(req, "new_password"), *again = sf_form_get(req, "new_password_again");
	if (!pw || !again || strcmp(pw, again) != 0)
		return page(req, resp, 400, "admin_password", "Change your password", json_pack("{s:b}", "forced", forced),
			    "The two new passwords do not match.");
	struct sf_staff_actor a;
	sf_staff_actor_of(req, &a);
	const char *why = NULL;
	int64_t id = v->id;
	err = sf_staff_password_change(req->app, &a, id, sf_form_get(req, "current_password"), pw, &why);
	if (err == SF_ERR_LOGIN_FAILED || err == SF_ERR_WEAK_PASSWORD) {
		if (err == SF_ERR_LOGIN_FAILED)
			sf_auth_login_failed(req, "staff");
		return page(req, resp, err == SF_ERR_LOGIN_FAILED ? 401 : 400, "admin_password", "Change your password",
			    json_pack("{s:b}", "forced", forced),
			    err == SF_ERR_LOGIN_FAILED ? "The current password is not correct." : why ? why : sf_err_desc(err));
	}
	if (err)
		return err;
	/* Every session of the account ended; this browser gets a new one. */
	err = sf_staff_session_begin(req, resp, id, "full");
	if (err)
		return err;
	return redirect(req, resp, "");
}

/* ==== Re-authentication ==== */

/* A safe "next": a path under the back office, of plain characters. */
static const char *next_ok(struct sf_req *req, const char *next)
{
	const char *base = sf_staff_admin_path(req);
	size_t bl = strlen(base);
	if (!next || strlen(next) > 512 || strncmp(next, base, bl) != 0 || (next[bl] != '\0' && next[bl] != '/') ||
	    strstr(next, "//") || strstr(next, "/.") || strspn(next, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
								 "0123456789/-_.~?=&%") != strlen(next))
		return base;
	return next;
}

enum sf_err sf_web_admin_reauth_form(struct sf_req *req, struct sf_resp *resp)
{
	return page(req, resp, 200, "admin_login_reauth", "Confirm it is you",
		    json_pack("{s:s}", "next", next_ok(req, sf_req_query(req, "next"))), NULL);
}

enum sf_err sf_web_admin_reauth(struct sf_req *req, struct sf_resp *resp)
{
	enum sf_err err = sf_form_parse(req);
	if (err)
		return err;
	const char *next = next_ok(req, sf_form_get(req, "next"));
	err = sf_staff_reauth(req, resp, sf_form_get(req, "password"), sf_form_get(req, "code"));
	if (err == SF_ERR_LOGIN_FAILED) {
		sf_auth_login_failed(req, "staff");
		return page(req, resp, 401, "admin_login_reauth", "Confirm it is you", json_pack("{s:s}", "next", next),
			    "The password or code is not correct, or the account is locked.");
	}
	if (err)
		return err;
	return sf_resp_redirect(req, resp, 303, next);
}

/* ==== Sessions ==== */

/* An action on the path's {id}. */
typedef enum sf_err (*id_action)(struct sf_req *req, int64_t id);

static enum sf_err with_id(struct sf_req *req, id_action act, int64_t *id)
{
	enum sf_err err = sf_admin_path_id(req, "id", id);
	return err ? err : act(req, *id);
}

/* Run act on {id}, then answer JSON {key: true}. */
static enum sf_err api_id(struct sf_req *req, struct sf_resp *resp, id_action act, const char *key)
{
	int64_t id;
	enum sf_err err = with_id(req, act, &id);
	if (err)
		return err;
	return sf_resp_json(req, resp, 200, json_pack("{s:b}", key, 1));
}

/* The account page of the UI (web/admin_*.c) an owner action returns to. */
static const char *staff_page(struct sf_req *req, int64_t id)
{
	return sf_arena_printf(req->arena, "%s/staff/%lld", sf_staff_admin_path(req), (long long)id);
}


enum sf_err sf_web_admin_sessions(struct sf_req *req, struct sf_resp *resp)
{
	const struct sf_staff_viewer *v = sf_staff_viewer(req);
	json_t *list = NULL;
	enum sf_err err = sf_staff_sessions_json(req->app, v->id, v->session_id, &list);
	if (err)
		return err;
	return page(req, resp, 200, "admin_sessions", "Your sessions",
		    json_pack("{s:o, s:b}", "sessions", list, "has_others", json_array_size(list) > 1), NULL);
}

static enum sf_err revoke_one(struct sf_req *req, int64_t sid)
{
	const struct sf_staff_viewer *v = sf_staff_viewer(req);
	struct sf_staff_actor a;
	sf_staff_actor_of(req, &a);
	if (sid == v->session_id)
		return SF_ERR_BAD_PARAM; /* this session: log out instead */
	return sf_staff_end_sessions(req->app, &a, v->id, sid, 0);
}

enum sf_err sf_web_admin_session_revoke(struct sf_req *req, struct sf_resp *resp)
{
	int64_t sid;
	enum sf_err err = with_id(req, revoke_one, &sid);
	return err ? err : redirect(req, resp, "/sessions");
}

enum sf_err sf_web_admin_sessions_revoke_others(struct sf_req *req, struct sf_resp *resp)
{
	const struct sf_staff_viewer *v = sf_staff_viewer(req);
	struct sf_staff_actor a;
	sf_staff_actor_of(req, &a);
	enum sf_err err = sf_staff_end_sessions(req->app, &a, v->id, 0, v->session_id);
	if (err)
		return err;
	return redirect(req, resp, "/sessions");
}

/* ==== Owner actions on another account ==== */

static enum sf_err reset_2fa(struct sf_req *req, int64_t id)
{
	struct sf_staff_actor a;
	sf_staff_actor_of(req, &a);
	return sf_staff_reset_2fa(req->app, &a, id);
}

static enum sf_err revoke_all(struct sf_req *req, int64_t id)
{
	struct sf_staff_actor a;
	sf_staff_actor_of(req, &a);
	const struct sf_staff_viewer *v = sf_staff_viewer(req);
	return sf_staff_end_sessions(req->app, &a, id, 0, id == v->id ? v->session_id : 0);
}

enum sf_err sf_web_admin_staff_reset_2fa(struct sf_req *req, struct sf_resp *resp)
{
	int64_t id;
	int detour = 0;
	enum sf_err err = sf_admin_path_id(req, "id", &id);
	const char *back = err ? NULL : staff_page(req, id);
	if (!err && !back)
		err = SF_ERR_NOMEM;
	if (!err)
		err = sf_admin_fresh(req, resp, back, &detour);
	if (err || detour)
		return err;
	if ((err = reset_2fa(req, id)))
		return err;
	return sf_resp_redirect(req, resp, 303, back);
}

enum sf_err sf_web_admin_staff_revoke_sessions(struct sf_req *req, struct sf_resp *resp)
{
	int64_t id;
	enum sf_err err = with_id(req, revoke_all, &id);
	const char *back = err ? NULL : staff_page(req, id);
	if (err)
		return err;
	return back ? sf_resp_redirect(req, resp, 303, back) : SF_ERR_NOMEM;
}

/* ==== JSON API ==== */

static json_t *perm_list(const struct sf_rbac_set *s)
{
	json_t *a = json_array();
	for (int i = 0; a && s && i < SF_RBAC_NPERM; i++)
		if (sf_rbac_set_has(s, sf_rbac_name(i)))
			json_array_append_new(a, json_string(sf_rbac_name(i)));
	return a ? a : json_array();
}

enum sf_err sf_api_admin_me(struct sf_req *req, struct sf_resp *resp)
{
	const struct sf_staff_viewer *v = sf_staff_viewer(req);
	json_t *o = json_pack("{s:I, s:s, s:s, s:b, s:I, s:o}", "id", (json_int_t)v->id, "email", v->email ? v->email : "",
			      "name", v->name ? v->name : "", "owner", v->is_owner, "fresh_until",
			      (json_int_t)v->fresh_until, "permissions", perm_list(sf_rbac_request_set(req)));
	return o ? sf_resp_json(req, resp, 200, o) : SF_ERR_NOMEM;
}

enum sf_err sf_api_admin_csrf(struct sf_req *req, struct sf_resp *resp)
{
	const char *tok = sf_auth_csrf_token(req, resp);
	json_t *o = tok ? json_pack("{s:s}", "csrf_token", tok) : NULL;
	return o ? sf_resp_json(req, resp, 200, o) : SF_ERR_NOMEM;
}

enum sf_err sf_api_admin_sessions(struct sf_req *req, struct sf_resp *resp)
{
	const struct sf_staff_viewer *v = sf_staff_viewer(req);
	json_t *list = NULL;
	enum sf_err err = sf_staff_sessions_json(req->app, v->id, v->session_id, &list);
	if (err)
		return err;
	return sf_resp_json(req, resp, 200, json_pack("{s:o}", "sessions", list));
}

enum sf_err sf_api_admin_session_delete(struct sf_req *req, struct sf_resp *resp)
{
	return api_id(req, resp, revoke_one, "revoked");
}

enum sf_err sf_api_admin_tokens(struct sf_req *req, struct sf_resp *resp)
{
	json_t *list = NULL;
	enum sf_err err = sf_apitoken_list_json(req->app, &list);
	if (err)
		return err;
	return sf_resp_json(req, resp, 200, json_pack("{s:o}", "tokens", list));
}

static enum sf_err api_fail(struct sf_req *req, struct sf_resp *resp, enum sf_err err, const char *why)
{
	if (sf_err_status(err) >= 500)
		return err;
	sf_resp_error(req, resp, err, why);
	return SF_OK;
}

enum sf_err sf_api_admin_token_create(struct sf_req *req, struct sf_resp *resp)
{
	enum sf_err err = sf_staff_require_fresh(req);
	if (err)
		return err;
	json_t *body = NULL;
	if ((err = sf_json_body(req, &body)))
		return err;
	const char *scopes[SF_RBAC_NPERM];
	size_t n = 0;
	json_t *name = json_object_get(body, "name"), *sc = json_object_get(body, "scopes"),
	       *days = json_object_get(body, "days");
	int shaped = json_is_string(name) && json_is_array(sc) && json_array_size(sc) <= SF_RBAC_NPERM &&
		     (!days || json_is_integer(days));
	for (size_t i = 0; shaped && i < json_array_size(sc); i++) {
		json_t *s = json_array_get(sc, i);
		shaped = json_is_string(s);
		if (shaped)
			scopes[n++] = json_string_value(s);
	}
	if (!shaped) {
		json_decref(body);
		return api_fail(req, resp, SF_ERR_BAD_PARAM, "Expected {\"name\": text, \"scopes\": [permission...], \"days\": number}.");
	}
	struct sf_staff_actor a;
	sf_staff_actor_of(req, &a);
	const struct sf_staff_viewer *v = sf_staff_viewer(req);
	char token[SF_APITOKEN_LEN + 1];
	int64_t id = 0;
	const char *why = NULL;
	err = sf_apitoken_create(req->app, &a, v->id, json_string_value(name), scopes, n,
				 days ? (int64_t)json_integer_value(days) : 30, token, &id, &why);
	json_decref(body);
	if (err)
		return api_fail(req, resp, err, why);
	json_t *o = json_pack("{s:I, s:s}", "id", (json_int_t)id, "token", token);
	sodium_memzero(token, sizeof token);
	return o ? sf_resp_json(req, resp, 201, o) : SF_ERR_NOMEM;
}

static enum sf_err token_revoke(struct sf_req *req, int64_t id)
{
	struct sf_staff_actor a;
	sf_staff_actor_of(req, &a);
	return sf_apitoken_revoke(req->app, &a, id);
}

enum sf_err sf_api_admin_token_delete(struct sf_req *req, struct sf_resp *resp)
{
	return api_id(req, resp, token_revoke, "revoked");
}

enum sf_err sf_api_admin_staff_reset_2fa(struct sf_req *req, struct sf_resp *resp)
{
	enum sf_err err = sf_staff_require_fresh(req);
	return err ? err : api_id(req, resp, reset_2fa, "reset");
}

enum sf_err sf_api_admin_staff_revoke_sessions(struct sf_req *req, struct sf_resp *resp)
{
	return api_id(req, resp, revoke_all, "revoked");
}

enum sf_err sf_api_admin_token_self(struct sf_req *req, struct sf_resp *resp)
{
	const struct sf_staff_viewer *v = sf_staff_viewer(req);
	json_t *o = json_pack("{s:I, s:I, s:o}", "token_id", (json_int_t)v->token_id, "staff_id", (json_int_t)v->id,
			      "scopes", perm_list(sf_rbac_request_set(req)));
	return o ? sf_resp_json(req, resp, 200, o) : SF_ERR_NOMEM;
}

enum sf_err sf_api_admin_token_staff(struct sf_req *req, struct sf_resp *resp)
{
	json_t *list = NULL;
	enum sf_err err = sf_staff_list_json(req->app, &list);
	if (err)
		return err;
	return sf_resp_json(req, resp, 200, json_pack("{s:o}", "staff", list));
}
