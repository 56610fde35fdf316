/*
 * apitoken.c — API tokens (apitoken.h).
 */
#include "auth/apitoken.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "auth/auth_int.h"
#include "auth/staff.h"
#include "core/app.h"
#include "core/log.h"
#include "core/util.h"
#include "db/db.h"

#define DOMAIN "sf-api-token-v1"
#define TRIES 8
#define SCOPES_MAX 2048

static struct sf_db_conn *conn(struct sf_app *app)
{
	return app && app->db ? sf_db_conn_get(app->db) : NULL;
}

static int token_shape_ok(const char *t)
{
	size_t pl = strlen(SF_APITOKEN_PREFIX);
	return t && strlen(t) == SF_APITOKEN_LEN && !strncmp(t, SF_APITOKEN_PREFIX, pl) && sf_token_shape_ok(t + pl);
}

/* ==== Create / revoke / list ==== */

struct create_ctx {
	struct sf_app *app;
	const struct sf_staff_actor *a;
	int64_t staff_id, expires, id;
	const char *name, *scopes;
	unsigned char hash[SF_SESSION_HASH_LEN];
};

static enum sf_db_status create_txn(struct sf_db_conn *c, void *arg)
{
	struct create_ctx *x = arg;
	struct sf_db_param p[] = {SF_DB_BLOB(x->hash, sizeof x->hash), SF_DB_TEXT(x->name), SF_DB_INT(x->staff_id),
				  SF_DB_TEXT(x->scopes), SF_DB_INT(x->a->now), SF_DB_INT(x->expires)};
	enum sf_db_status st = sf_db_exec(c, SF_STMT_APITOKEN_INSERT, p, 6, NULL);
	if (st < 0)
		return st;
	x->id = sf_db_last_id(c);
	return sf_staff_audit(c, x->app, x->a, "api_token.create", "api_token", x->id, "success",
			      json_pack("{s:s, s:s, s:I}", "name", x->name, "scopes", x->scopes, "expires_at",
					(json_int_t)x->expires));
}

enum sf_err sf_apitoken_create(struct sf_app *app, const struct sf_staff_actor *a, int64_t staff_id,
			       const char *name, const char *const *scopes, size_t nscopes, int64_t days,
			       char token[SF_APITOKEN_LEN + 1], int64_t *id, const char **why)
{
	*id = 0;
	*why = NULL;
	token[0] = '\0';
	if (!name || !*name || !sf_utf8_line_fits(name, SF_APITOKEN_NAME_MAX)) {
		*why = "Give the token a name: one line of at most 100 characters.";
		return SF_ERR_BAD_PARAM;
	}
	if (sf_log_has_card(name, strlen(name)))
		return SF_ERR_CARD_DATA; /* the name is stored and audited in clear */
	if (days < 1 || days > SF_APITOKEN_MAX_DAYS) {
		*why = "A token is valid for 1 to 365 days.";
		return SF_ERR_BAD_PARAM;
	}
	if (nscopes == 0 || nscopes > SF_RBAC_NPERM) {
		*why = "Give the token one or more permissions.";
		return SF_ERR_BAD_PARAM;
	}
	struct sf_rbac_set held;
	int owner, usable;
	enum sf_err err = sf_staff_rights(app, staff_id, a->now, &held, &owner, &usable);
	if (err)
		return err;
	if (!usable)
		return SF_ERR_FORBIDDEN;
	char list[SCOPES_MAX];
	size_t o = 0;
	struct sf_rbac_set seen = {{0, 0}};
	for (size_t i = 0; i < nscopes; i++) {
		if (!sf_rbac_valid(scopes[i])) {
			*why = "Unknown permission: use resource.action names such as orders.read.";
			return SF_ERR_BAD_PARAM;
		}
		if (!sf_rbac_set_has(&held, scopes[i])) {
			*why = "A token can only carry permissions that you hold.";
			return SF_ERR_BAD_PARAM;
		}
		if (sf_rbac_set_has(&seen, scopes[i]))
			continue;
		sf_rbac_set_add(&seen, scopes[i]);
		size_t n = strlen(scopes[i]);
		if (o + n + 2 > sizeof list)
			return SF_ERR_LIMIT;
		if (o)
			list[o++] = ' ';
		memcpy(list + o, scopes[i], n);
		o += n;
	}
	list[o] = '\0';
	struct create_ctx x = {.app = app, .a = a, .staff_id = staff_id, .expires = a->now + days * 86400,
			       .name = name, .scopes = list};
	char raw[SF_SESSION_COOKIE_LEN + 1];
	sf_token_new(raw);
	memcpy(token, SF_APITOKEN_PREFIX, strlen(SF_APITOKEN_PREFIX));
	memcpy(token + strlen(SF_APITOKEN_PREFIX), raw, SF_SESSION_COOKIE_LEN + 1);
	sodium_memzero(raw, sizeof raw);
	sf_token_hash(DOMAIN, token, x.hash);
	err = sf_db_err(sf_db_txn(app->db, create_txn, &x, TRIES));
	if (err) {
		sodium_memzero(token, SF_APITOKEN_LEN + 1);
		return err;
	}
	*id = x.id;
	return SF_OK;
}

struct revoke_ctx {
	struct sf_app *app;
	const struct sf_staff_actor *a;
	int64_t id;
	int done;
};

static enum sf_db_status revoke_txn(struct sf_db_conn *c, void *arg)
{
	struct revoke_ctx *x = arg;
	int64_t changes = 0;
	struct sf_db_param p[] = {SF_DB_INT(x->id), SF_DB_INT(x->a->now)};
	enum sf_db_status st = sf_db_exec(c, SF_STMT_APITOKEN_REVOKE, p, 2, &changes);
	x->done = st == SF_DB_OK && changes == 1;
	if (st < 0 || !x->done)
		return st < 0 ? st : SF_DB_OK;
	return sf_staff_audit(c, x->app, x->a, "api_token.revoke", "api_token", x->id, "success", NULL);
}

enum sf_err sf_apitoken_revoke(struct sf_app *app, const struct sf_staff_actor *a, int64_t id)
{
	if (!app || !app->db)
		return SF_ERR_UNAVAILABLE;
	struct revoke_ctx x = {.app = app, .a = a, .id = id};
	enum sf_err err = sf_db_err(sf_db_txn(app->db, revoke_txn, &x, TRIES));
	if (err)
		return err;
	return x.done ? SF_OK : SF_ERR_NOT_FOUND;
}

static json_t *scope_list(const char *s)
{
	json_t *a = json_array();
	while (a && *s) {
		const char *e = strchr(s, ' ');
		size_t n = e ? (size_t)(e - s) : strlen(s);
		if (n)
			json_array_append_new(a, json_stringn(s, n));
		s += n + (e != NULL);
	}
	return a ? a : json_array();
}

static json_t *opt_time(struct sf_db_cursor *cur, int col)
{
	return sf_db_col_is_null(cur, col) ? json_null() : json_integer(sf_db_col_int(cur, col));
}

static json_t *token_row(struct sf_db_cursor *cur, void *ctx)
{
	int64_t now = *(const int64_t *)ctx, exp = sf_db_col_int(cur, 5);
	int revoked = !sf_db_col_is_null(cur, 6);
	return json_pack("{s:I, s:s, s:I, s:o, s:I, s:I, s:o, s:o, s:s}", "id", (json_int_t)sf_db_col_int(cur, 0),
			 "name", sf_db_col_text(cur, 1, NULL), "staff_id", (json_int_t)sf_db_col_int(cur, 2), "scopes",
			 scope_list(sf_db_col_text(cur, 3, NULL)), "created_at", (json_int_t)sf_db_col_int(cur, 4),
			 "expires_at", (json_int_t)exp, "revoked_at", opt_time(cur, 6), "last_used_at", opt_time(cur, 7),
			 "state", revoked ? "revoked" : now >= exp ? "expired" : "active");
}

enum sf_err sf_apitoken_list_json(struct sf_app *app, json_t **out)
{
	int64_t now = sf_auth_now();
	return sf_staff_json_rows(app, SF_STMT_APITOKEN_LIST, NULL, 0, token_row, &now, out);
}

/* ==== The resolver ==== */

struct tok_row {
	int found;
	int64_t id, staff_id, expires;
	int revoked;
	char scopes[SCOPES_MAX];
};

static void read_tok(struct sf_db_cursor *cur, void *arg)
{
	struct tok_row *t = arg;
	t->found = 1;
	t->id = sf_db_col_int(cur, 0);
	t->staff_id = sf_db_col_int(cur, 1);
	sf_strlcpy(t->scopes, sf_db_col_text(cur, 2, NULL), sizeof t->scopes);
	t->expires = sf_db_col_int(cur, 3);
	t->revoked = !sf_db_col_is_null(cur, 4);
}

struct use_ctx {
	struct sf_app *app;
	struct sf_staff_actor a;
	int64_t id;
	const char *outcome;
	json_t *detail;
};

static enum sf_db_status use_txn(struct sf_db_conn *c, void *arg)
{
	struct use_ctx *x = arg;
	struct sf_db_param p[] = {SF_DB_INT(x->id), SF_DB_INT(x->a.now)};
	enum sf_db_status st = sf_db_exec(c, SF_STMT_APITOKEN_TOUCH, p, 2, NULL);
	if (st < 0)
		return st;
	return sf_staff_audit(c, x->app, &x->a, "api_token.use", "api_token", x->id, x->outcome,
			      json_incref(x->detail));
}

static enum sf_err record_use(struct sf_req *req, const struct tok_row *t, const char *outcome, const char *why)
{
	struct sf_app *app = req->app;
	struct use_ctx x = {.app = app, .id = t->id, .outcome = outcome};
	sf_staff_actor_of(req, &x.a);
	x.a.type = "api_token";
	x.a.staff_id = t->staff_id;
	const struct sf_route *r = req->route;
	x.detail = json_pack("{s:s, s:s, s:s}", "method", req->method ? req->method : "", "route",
			     r && r->pattern ? r->pattern : "", "reason", why);
	enum sf_err err = sf_db_err(sf_db_txn(app->db, use_txn, &x, TRIES));
	json_decref(x.detail);
	return err;
}

enum sf_err sf_apitoken_authorize(struct sf_req *req, struct sf_resp *resp)
{
	(void)resp;
	struct sf_app *app = req->app;
	const struct sf_route *route = req->route;
	struct sf_db_conn *c = conn(app);
	if (!route)
		return SF_ERR_INTERNAL;
	const char *h = sf_req_header(req, "Authorization");
	if (!h || strncasecmp(h, "Bearer ", 7) != 0)
		return SF_ERR_UNAUTHORIZED;
	const char *tok = h + 7;
	while (*tok == ' ')
		tok++;
	if (!token_shape_ok(tok))
		return SF_ERR_UNAUTHORIZED;
	if (!c)
		return SF_ERR_UNAVAILABLE;
	enum sf_err err = sf_staff_gate(req);
	if (err)
		return err;
	unsigned char hash[SF_SESSION_HASH_LEN];
	sf_token_hash(DOMAIN, tok, hash);
	struct tok_row *t = sf_arena_zalloc(req->arena, sizeof *t);
	if (!t)
		return SF_ERR_NOMEM;
	struct sf_db_param p[] = {SF_DB_BLOB(hash, sizeof hash)};
	enum sf_db_status st = sf_db_query_one(c, SF_STMT_APITOKEN_GET, p, 1, read_tok, t);
	if (st < 0)
		return sf_db_err(st);
	int64_t now = sf_auth_now();
	if (!t->found)
		return SF_ERR_UNAUTHORIZED;
	if (t->revoked || now >= t->expires) {
		err = record_use(req, t, "denied", t->revoked ? "revoked" : "expired");
		return err ? err : SF_ERR_UNAUTHORIZED;
	}
	struct sf_rbac_set held, scope = {{0, 0}};
	int owner, usable;
	if ((err = sf_staff_rights(app, t->staff_id, now, &held, &owner, &usable)))
		return err;
	if (!usable) {
		err = record_use(req, t, "denied", "owner_inactive");
		return err ? err : SF_ERR_UNAUTHORIZED;
	}
	for (int i = 0; i < SF_RBAC_NPERM; i++) {
		const char *n = sf_rbac_name(i);
		size_t nl = strlen(n);
		for (const char *s = t->scopes; (s = strstr(s, n)) != NULL; s += nl)
			if ((s == t->scopes || s[-1] == ' ') && (s[nl] == ' ' || s[nl] == '\0') &&
			    sf_rbac_set_has(&held, n))
				sf_rbac_set_add(&scope, n);
	}
	struct sf_auth_state *as = sf_auth_state(req);
	struct sf_staff_viewer *v = sf_staff_viewer_mut(req);
	if (!as || !v)
		return SF_ERR_NOMEM;
	as->p.kind = SF_PRINCIPAL_TOKEN;
	as->p.id = t->id;
	as->p.session_id = 0;
	v->id = t->staff_id;
	v->token_id = t->id;
	v->is_owner = owner;
	v->perms = scope;
	v->perms_set = 1;
	if (sf_staff_route_decision(route, "full", &scope) != SF_OK) /* audited: staff.access_denied, token_scope */
		return sf_staff_refuse(req, t->staff_id, "token_scope", SF_ERR_FORBIDDEN);
	return record_use(req, t, "success", "ok");
}
