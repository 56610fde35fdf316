/*
 * staff.c — staff accounts, login stages, the per-request back-office
 * check and account administration (staff.h).
 *
 * Shape of the code: small readers fill plain structs from one statement;
 * every change runs in one sf_db_txn together with its audit event; slow
 * work (argon2, unsealing) happens before the transaction, which re-reads
 * what it changes.  Nothing about a staff member is cached between
 * requests.
 */
#include "auth/staff.h"

#include <sodium.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit/audit.h"
#include "auth/apitoken.h"
#include "auth/auth_int.h"
#include "auth/password.h"
#include "auth/policy.h"
#include "core/app.h"
#include "core/config.h"
#include "core/log.h"
#include "core/util.h"
#include "crypto/keyring.h"
#include "db/db.h"
#include "edge/edge_int.h"

#define TRIES 8
#define FOREVER ((int64_t)1 << 60)
#define UA_MAX 160
#define CFG(app, field, def) ((app) && (app)->cfg ? (app)->cfg->field : (def))
#define RECOVERY_DOMAIN "sf-staff-recovery-v1"
#define ENROLL_DOMAIN "sf-staff-enroll-v1"
#define PW_INPUT_MAX 1024

/* ==== Module state (set once by sf_staff_init) ==== */

static struct sf_cidr_list g_allow;
static struct sf_session_policy g_pol;
static atomic_uint_fast64_t st_refused_policy, st_refused_perm, st_failed, st_ok;

void sf_staff_stats(struct sf_staff_stats *out)
{
	out->refused_policy = atomic_load(&st_refused_policy);
	out->refused_perm = atomic_load(&st_refused_perm);
	out->logins_failed = atomic_load(&st_failed);
	out->logins_ok = atomic_load(&st_ok);
}

void sf_staff_session_policy(const struct sf_config *cfg, struct sf_session_policy *out)
{
	out->kind = "staff";
	out->cookie = SF_STAFF_COOKIE;
	out->same_site = "Strict";
	out->idle_s = cfg ? cfg->admin_idle_s : 15 * 60;
	out->absolute_s = cfg ? cfg->admin_absolute_s : 8 * 3600;
}

int sf_staff_admin_path_ok(const char *p)
{
	static const char *const reserved[] = {"/api", "/static", "/media", "/account", "/cart", "/checkout",
					       "/orders", "/c", "/p", "/search", "/healthz", "/readyz"};
	size_t n = p ? strlen(p) : 0;
	if (n < 2 || n > 63 || p[0] != '/' || p[n - 1] == '/')
		return 0;
	for (size_t i = 1; i < n; i++) {
		char c = p[i];
		int ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
			 (c == '/' && p[i - 1] != '/');
		if (!ok)
			return 0;
	}
	for (size_t i = 0; i < sizeof reserved / sizeof reserved[0]; i++) {
		size_t rl = strlen(reserved[i]);
		if (!strncmp(p, reserved[i], rl) && (p[rl] == '\0' || p[rl] == '/'))
			return 0;
	}
	return 1;
}

enum sf_err sf_staff_init(struct sf_app *app, char *errbuf, size_t errlen)
{
	const struct sf_config *cfg = app ? app->cfg : NULL;
	char bad[64];
	if (cfg && !sf_staff_admin_path_ok(cfg->admin_path)) {
		snprintf(errbuf, errlen,
			 "[admin] path '%s': must start with '/', use only a-z 0-9 - _ and not end with '/' "
			 "or take a storefront prefix (/api, /static, /account, ...)",
			 cfg->admin_path);
		return SF_ERR_CONFIG;
	}
	sf_cidr_list_free(&g_allow);
	enum sf_err err = sf_cidr_list_parse(cfg ? cfg->admin_allow : "", &g_allow, bad, sizeof bad);
	if (err == SF_ERR_INVALID) {
		snprintf(errbuf, errlen, "[admin] allow: '%s' is not an IPv4/IPv6 address or CIDR block", bad);
		return SF_ERR_CONFIG;
	}
	if (err)
		return err;
	sf_staff_session_policy(cfg, &g_pol);
	sf_auth_set_policy(SF_PRINCIPAL_STAFF, &g_pol);
	sf_auth_set_mode_handler(SF_AUTH_STAFF, sf_staff_authorize);
	sf_auth_set_mode_handler(SF_AUTH_TOKEN, sf_apitoken_authorize);
	return SF_OK;
}

const char *sf_staff_admin_path(const struct sf_req *req)
{
	const struct sf_app *app = req ? req->app : NULL;
	return app && app->cfg && app->cfg->admin_path[0] ? app->cfg->admin_path : "/admin";
}

/* ==== The viewer ==== */

const struct sf_staff_viewer *sf_staff_viewer(const struct sf_req *req)
{
	const struct sf_auth_state *st = req->auth;
	return st ? st->staff : NULL;
}

struct sf_staff_viewer *sf_staff_viewer_mut(struct sf_req *req)
{
	struct sf_auth_state *st = sf_auth_state(req);
	if (!st)
		return NULL;
	if (!st->staff)
		st->staff = sf_arena_zalloc(req->arena, sizeof(struct sf_staff_viewer));
	return st->staff;
}

void sf_staff_actor_of(struct sf_req *req, struct sf_staff_actor *out)
{
	const struct sf_staff_viewer *v = sf_staff_viewer(req);
	out->type = v && v->id ? "staff" : "anonymous";
	out->staff_id = v ? v->id : 0;
	out->ip = req->client_ip[0] ? req->client_ip : NULL;
	out->request_id = req->request_id;
	out->now = sf_auth_now();
}

/* ==== Audit ==== */

enum sf_db_status sf_staff_audit(struct sf_db_conn *c, const struct sf_app *app, const struct sf_staff_actor *a,
				 const char *action, const char *object_type, int64_t object_id, const char *outcome,
				 json_t *detail)
{
	char actor[24], obj[24];
	char *d = detail ? json_dumps(detail, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
	json_decref(detail);
	snprintf(actor, sizeof actor, "%lld", (long long)a->staff_id);
	snprintf(obj, sizeof obj, "%lld", (long long)object_id);
	struct sf_audit_event ev = {.actor_type = a->type,
				    .actor_id = a->staff_id ? actor : NULL,
				    .ip = a->ip,
				    .action = action,
				    .object_type = object_id ? object_type : NULL,
				    .object_id = object_id ? obj : NULL,
				    .outcome = outcome,
				    .request_id = a->request_id,
				    .detail = d};
	enum sf_err err = sf_audit_append(c, app->keys, &ev);
	free(d);
	return sf_db_status_from_err(err);
}

static enum sf_db_status audit(struct sf_db_conn *c, const struct sf_app *app, const struct sf_staff_actor *a,
			       const char *action, int64_t object_id, const char *outcome, json_t *detail)
{
	return sf_staff_audit(c, app, a, action, "staff", object_id, outcome, detail);
}

static json_t *reason(const char *r)
{
	return json_pack("{s:s}", "reason", r);
}

/* ==== Readers ==== */

struct srow {
	int found;
	int64_t id;
	char email[SF_STAFF_EMAIL_MAX + 1];
	char name[SF_STAFF_NAME_MAX * 4 + 1];
	char hash[SF_PW_HASH_MAX];
	int has_hash;
	int64_t pw_changed;
	int active;
	int64_t failed, locked_until;
	char allow[SF_POLICY_TEXT_MAX + 1], deny[SF_POLICY_TEXT_MAX + 1], windows[SF_POLICY_TEXT_MAX + 1];
	int64_t pw_min, pw_max_age; /* -1: inherit */
	int enrolled;
	int64_t created;
};

static void read_srow(struct sf_db_cursor *cur, void *arg)
{
	struct srow *r = arg;
	r->found = 1;
	r->id = sf_db_col_int(cur, 0);
	sf_strlcpy(r->email, sf_db_col_text(cur, 1, NULL), sizeof r->email);
	sf_strlcpy(r->name, sf_db_col_text(cur, 2, NULL), sizeof r->name);
	r->has_hash = !sf_db_col_is_null(cur, 3);
	sf_strlcpy(r->hash, sf_db_col_text(cur, 3, NULL), sizeof r->hash);
	r->pw_changed = sf_db_col_int(cur, 4);
	r->active = (int)sf_db_col_int(cur, 5);
	r->failed = sf_db_col_int(cur, 6);
	r->locked_until = sf_db_col_int(cur, 7);
	sf_strlcpy(r->allow, sf_db_col_text(cur, 8, NULL), sizeof r->allow);
	sf_strlcpy(r->deny, sf_db_col_text(cur, 9, NULL), sizeof r->deny);
	sf_strlcpy(r->windows, sf_db_col_text(cur, 10, NULL), sizeof r->windows);
	r->pw_min = sf_db_col_is_null(cur, 11) ? -1 : sf_db_col_int(cur, 11);
	r->pw_max_age = sf_db_col_is_null(cur, 12) ? -1 : sf_db_col_int(cur, 12);
	r->enrolled = (int)sf_db_col_int(cur, 13);
	r->created = sf_db_col_int(cur, 14);
}

static enum sf_db_status get_staff(struct sf_db_conn *c, int64_t id, struct srow *r)
{
	memset(r, 0, sizeof *r);
	struct sf_db_param p[] = {SF_DB_INT(id)};
	return sf_db_query_one(c, SF_STMT_STAFF_GET, p, 1, read_srow, r);
}

static void wipe_srow(struct srow *r)
{
	sodium_memzero(r->hash, sizeof r->hash);
}

struct perms {
	struct sf_rbac_set set;
	int owner;
	char roles[SF_STAFF_MAX_ROLES][SF_STAFF_ROLE_MAX + 1];
	size_t nroles;
};

static enum sf_db_status load_perms(struct sf_db_conn *c, int64_t staff_id, struct perms *pr)
{
	memset(pr, 0, sizeof *pr);
	struct sf_db_param p[] = {SF_DB_INT(staff_id)};
	struct sf_db_cursor *cur = NULL;
	enum sf_db_status st = sf_db_query(c, SF_STMT_STAFF_PERMS, p, 1, &cur);
	if (st != SF_DB_OK)
		return st;
	while ((st = sf_db_next(cur)) == SF_DB_OK) {
		const char *role = sf_db_col_text(cur, 0, NULL);
		if (sf_db_col_int(cur, 1)) {
			struct sf_rbac_set b;
			if (sf_rbac_builtin_set(role, &b))
				sf_rbac_set_union(&pr->set, &b);
			if (!strcmp(role, "owner"))
				pr->owner = 1;
		} else if (!sf_db_col_is_null(cur, 2)) {
			sf_rbac_set_add(&pr->set, sf_db_col_text(cur, 2, NULL));
		}
		int seen = 0;
		for (size_t i = 0; i < pr->nroles; i++)
			seen |= !strcmp(pr->roles[i], role);
		if (!seen && pr->nroles < SF_STAFF_MAX_ROLES)
			sf_strlcpy(pr->roles[pr->nroles++], role, sizeof pr->roles[0]);
	}
	sf_db_cursor_close(cur);
	return st == SF_DB_NO_ROWS ? SF_DB_OK : st;
}

static void read_int(struct sf_db_cursor *cur, void *arg)
{
	*(int64_t *)arg = sf_db_col_int(cur, 0);
}

static enum sf_db_status find_by_email(struct sf_db_conn *c, const char *norm, int64_t *id)
{
	*id = 0;
	struct sf_db_param p[] = {SF_DB_TEXT(norm)};
	return sf_db_query_one(c, SF_STMT_STAFF_BY_EMAIL, p, 1, read_int, id);
}

int sf_staff_email_norm(const char *in, char *out, size_t n)
{
	if (!in || n == 0)
		return 0;
	while (*in == ' ' || *in == '\t')
		in++;
	size_t len = strlen(in);
	while (len && (in[len - 1] == ' ' || in[len - 1] == '\t'))
		len--;
	if (len < 3 || len > SF_STAFF_EMAIL_MAX || len >= n || !sf_utf8_valid(in, len, 1))
		return 0;
	const char *at = memchr(in, '@', len);
	if (!at || at == in || at == in + len - 1 || memchr(at + 1, '@', len - (size_t)(at - in) - 1))
		return 0;
	for (size_t i = 0; i < len; i++) {
		char ch = in[i];
		if (ch == ' ' || ch == '<' || ch == '>' || ch == '"' || ch == ',' || ch == ';')
			return 0;
		out[i] = ch >= 'A' && ch <= 'Z' ? (char)(ch - 'A' + 'a') : ch;
	}
	out[len] = '\0';
	return 1;
}

static struct sf_db_conn *conn(struct sf_app *app)
{
	return app && app->db ? sf_db_conn_get(app->db) : NULL;
}

static void pw_params(const struct sf_app *app, struct sf_pw_params *p)
{
	sf_password_params_default(p);
	p->memory_kib = (size_t)CFG(app, auth_argon2_memory_kib, SF_PW_MIN_MEMORY_KIB);
	p->ops = (uint64_t)CFG(app, auth_argon2_ops, SF_PW_MIN_OPS);
}

/* ==== Refusals (audited, counted) ==== */

struct deny_ctx {
	struct sf_app *app;
	struct sf_staff_actor a;
	int64_t object;
	json_t *detail;
};

static enum sf_db_status deny_txn(struct sf_db_conn *c, void *arg)
{
	struct deny_ctx *x = arg;
	return audit(c, x->app, &x->a, "staff.access_denied", x->object, "denied", json_incref(x->detail));
}

enum sf_err sf_staff_refuse(struct sf_req *req, int64_t staff_id, const char *why, enum sf_err err)
{
	struct sf_app *app = req->app;
	struct deny_ctx x = {.app = app, .object = staff_id};
	sf_staff_actor_of(req, &x.a);
	if (staff_id && !x.a.staff_id) {
		x.a.type = "staff";
		x.a.staff_id = staff_id;
	}
	const struct sf_route *r = req->route;
	x.detail = json_pack("{s:s, s:s, s:s}", "reason", why, "method", req->method ? req->method : "",
			     "route", r && r->pattern ? r->pattern : "");
	if (err == SF_ERR_ACCESS_POLICY)
		atomic_fetch_add(&st_refused_policy, 1);
	else
		atomic_fetch_add(&st_refused_perm, 1);
	sf_log(SF_LOG_WARN, "staff.access_denied", "%s %s refused (%s) staff=%lld ip=%s request_id=%s",
	       req->method ? req->method : "", r && r->pattern ? r->pattern : "", why, (long long)staff_id,
	       req->client_ip, req->request_id);
	if (app && app->db && app->keys) {
		enum sf_db_status st = sf_db_txn(app->db, deny_txn, &x, TRIES);
		if (st < 0)
			sf_log(SF_LOG_ERROR, "staff.audit_failed", "could not audit a refusal request_id=%s",
			       req->request_id);
	}
	json_decref(x.detail);
	return err;
}

enum sf_err sf_staff_gate(struct sf_req *req)
{
	if (g_allow.n && !sf_cidr_list_match(&g_allow, req->client_ip))
		return sf_staff_refuse(req, 0, sf_policy_reason(SF_POLICY_GLOBAL_IP), SF_ERR_ACCESS_POLICY);
	return SF_OK;
}

/* ==== The per-request check ==== */

struct sess_row {
	int found;
	char stage[12];
	int64_t fresh_until;
};

static void read_sess(struct sf_db_cursor *cur, void *arg)
{
	struct sess_row *r = arg;
	r->found = 1;
	sf_strlcpy(r->stage, sf_db_col_text(cur, 0, NULL), sizeof r->stage);
	r->fresh_until = sf_db_col_int(cur, 1);
}

enum sf_err sf_staff_authorize(struct sf_req *req, struct sf_resp *resp)
{
	(void)resp;
	struct sf_app *app = req->app;
	const struct sf_route *route = req->route;
	struct sf_auth_state *st = sf_auth_state(req);
	if (!st || !route)
		return st ? SF_ERR_INTERNAL : SF_ERR_NOMEM;
	enum sf_err err = sf_staff_gate(req);
	if (err)
		return err;
	const char *ck = sf_req_cookie(req, g_pol.cookie ? g_pol.cookie : SF_STAFF_COOKIE);
	struct sf_db_conn *c = conn(app);
	if (!ck)
		return SF_ERR_UNAUTHORIZED;
	if (!c || !g_pol.kind)
		return SF_ERR_UNAVAILABLE;
	int64_t now = sf_auth_now();
	struct sf_session s;
	err = sf_session_lookup(c, &g_pol, ck, now, &s);
	if (err == SF_ERR_NOT_FOUND)
		return SF_ERR_UNAUTHORIZED;
	if (err)
		return err;
	struct sess_row sr = {0};
	struct sf_db_param p[] = {SF_DB_INT(s.id)};
	enum sf_db_status dst = sf_db_query_one(c, SF_STMT_STAFF_SESS_GET, p, 1, read_sess, &sr);
	if (dst < 0)
		return sf_db_err(dst);
	struct srow *r = sf_arena_alloc(req->arena, sizeof *r);
	if (!r)
		return SF_ERR_NOMEM;
	dst = get_staff(c, s.principal_id, r);
	if (dst < 0)
		return sf_db_err(dst);
	wipe_srow(r);
	if (!sr.found || !r->found || !r->active || now < r->locked_until) {
		/* Deactivated or locked since the session began: it ends now. */
		err = sf_session_delete(c, s.id);
		return err ? err : SF_ERR_UNAUTHORIZED;
	}
	enum sf_policy_verdict v = sf_policy_check(NULL, r->allow, r->deny, r->windows, req->client_ip, now);
	if (v != SF_POLICY_OK)
		return sf_staff_refuse(req, r->id, sf_policy_reason(v), SF_ERR_ACCESS_POLICY);

	struct sf_staff_viewer *vw = sf_staff_viewer_mut(req);
	struct perms *pr = sf_arena_alloc(req->arena, sizeof *pr);
	if (!vw || !pr)
		return SF_ERR_NOMEM;
	dst = load_perms(c, r->id, pr);
	if (dst < 0)
		return sf_db_err(dst);
	st->p.kind = SF_PRINCIPAL_STAFF;
	st->p.id = r->id;
	st->p.session_id = s.id;
	st->has_session = 1;
	memcpy(st->sess_hash, s.hash, sizeof st->sess_hash);
	vw->id = r->id;
	vw->session_id = s.id;
	vw->email = sf_arena_strdup(req->arena, r->email);
	vw->name = sf_arena_strdup(req->arena, r->name);
	sf_strlcpy(vw->stage, sr.stage, sizeof vw->stage);
	vw->fresh_until = sr.fresh_until;
	vw->is_owner = pr->owner;
	vw->perms = pr->set;
	vw->perms_set = 1;

	err = sf_staff_route_decision(route, sr.stage, &pr->set);
	if (err == SF_ERR_FORBIDDEN)
		return sf_staff_refuse(req, r->id, sf_rbac_valid(route->permission) ? "permission" : "undeclared_permission",
				       SF_ERR_FORBIDDEN);
	return err;
}

enum sf_err sf_staff_route_decision(const struct sf_route *route, const char *stage, const struct sf_rbac_set *perms)
{
	const char *perm = route->permission;
	if (route->auth != SF_AUTH_STAFF && route->auth != SF_AUTH_TOKEN)
		return SF_ERR_FORBIDDEN;
	if (perm && !strcmp(perm, SF_RBAC_LOGIN_STEP) && route->auth == SF_AUTH_STAFF)
		return SF_OK;
	if (!stage || strcmp(stage, "full") != 0)
		return SF_ERR_UNAUTHORIZED; /* part-way through logging in */
	if (perm && !strcmp(perm, SF_RBAC_SELF))
		return SF_OK;
	if (!perm || !sf_rbac_valid(perm) || !perms || !sf_rbac_set_has(perms, perm))
		return SF_ERR_FORBIDDEN;
	return SF_OK;
}

enum sf_err sf_staff_require_fresh(struct sf_req *req)
{
	const struct sf_staff_viewer *v = sf_staff_viewer(req);
	if (!v || !v->id)
		return SF_ERR_UNAUTHORIZED;
	if (v->token_id || !v->session_id)
		return SF_ERR_REAUTH;
	return sf_auth_now() < v->fresh_until ? SF_OK : SF_ERR_REAUTH;
}

enum sf_err sf_staff_rights(struct sf_app *app, int64_t staff_id, int64_t now, struct sf_rbac_set *perms, int *owner,
			    int *usable)
{
	struct sf_db_conn *c = conn(app);
	memset(perms, 0, sizeof *perms);
	*owner = *usable = 0;
	if (!c)
		return SF_ERR_UNAVAILABLE;
	struct srow r;
	struct perms p;
	enum sf_db_status st = get_staff(c, staff_id, &r);
	wipe_srow(&r);
	if (st < 0)
		return sf_db_err(st);
	if (!r.found)
		return SF_OK;
	if ((st = load_perms(c, staff_id, &p)) < 0)
		return sf_db_err(st);
	*perms = p.set;
	*owner = p.owner;
	*usable = r.active && now >= r.locked_until;
	return SF_OK;
}

/* ==== Failures: account lock and per-address throttle ==== */

struct iprow {
	int found;
	int64_t failures, start;
};

static void read_ip(struct sf_db_cursor *cur, void *arg)
{
	struct iprow *r = arg;
	r->found = 1;
	r->failures = sf_db_col_int(cur, 0);
	r->start = sf_db_col_int(cur, 1);
}

static enum sf_db_status ip_get(struct sf_db_conn *c, const char *ip, struct iprow *r)
{
	memset(r, 0, sizeof *r);
	struct sf_db_param p[] = {SF_DB_TEXT(ip)};
	return sf_db_query_one(c, SF_STMT_STAFF_IP_GET, p, 1, read_ip, r);
}

static int ip_throttled(struct sf_app *app, struct sf_db_conn *c, const char *ip, int64_t now)
{
	struct iprow r;
	if (!ip || ip_get(c, ip, &r) < 0 || !r.found)
		return 0;
	return now - r.start < CFG(app, admin_ip_window_s, 900) && r.failures >= CFG(app, admin_ip_max_failures, 30);
}

struct fail_ctx {
	struct sf_app *app;
	const struct sf_staff_actor *a;
	int64_t id;          /* the account, 0 when unknown */
	int count;           /* count towards the account lock */
	const char *action;  /* "staff.login", "staff.2fa", ... */
	const char *why;
	int locked;          /* out: this failure locked the account */
};

static enum sf_db_status fail_txn(struct sf_db_conn *c, void *arg)
{
	struct fail_ctx *x = arg;
	int64_t now = x->a->now;
	x->locked = 0;
	enum sf_db_status st;
	if (x->a->ip) {
		struct iprow r;
		if ((st = ip_get(c, x->a->ip, &r)) < 0)
			return st;
		int64_t n = 1, start = now;
		if (r.found && now - r.start < CFG(x->app, admin_ip_window_s, 900)) {
			n = r.failures + 1;
			start = r.start;
		}
		struct sf_db_param p[] = {SF_DB_TEXT(x->a->ip), SF_DB_INT(n), SF_DB_INT(start)};
		if ((st = sf_db_exec(c, SF_STMT_STAFF_IP_PUT, p, 3, NULL)) < 0)
			return st;
	}
	if (x->id && x->count) {
		struct srow r;
		if ((st = get_staff(c, x->id, &r)) < 0)
			return st;
		wipe_srow(&r);
		if (r.found) {
			int64_t failed = r.failed + 1, until = r.locked_until;
			if (failed >= CFG(x->app, auth_max_failures, 10)) {
				until = now + CFG(x->app, auth_lock_minutes, 30) * 60;
				failed = 0;
				x->locked = 1;
			}
			struct sf_db_param p[] = {SF_DB_INT(x->id), SF_DB_INT(failed), SF_DB_INT(until), SF_DB_INT(now)};
			if ((st = sf_db_exec(c, SF_STMT_STAFF_LOGIN_FAILED, p, 4, NULL)) < 0)
				return st;
		}
	}
	st = audit(c, x->app, x->a, x->action, x->id, "failure", reason(x->why));
	if (st < 0 || !x->locked)
		return st;
	/* A lock ends every session of the account. */
	st = sf_db_status_from_err(sf_session_delete_principal(c, "staff", x->id, 0));
	if (st < 0)
		return st;
	return audit(c, x->app, x->a, "staff.lock", x->id, "success", reason("failures"));
}

static enum sf_err record_failure(struct sf_app *app, const struct sf_staff_actor *a, int64_t id, int count,
				  const char *action, const char *why)
{
	struct fail_ctx x = {.app = app, .a = a, .id = id, .count = count, .action = action, .why = why};
	atomic_fetch_add(&st_failed, 1);
	enum sf_err err = sf_db_err(sf_db_txn(app->db, fail_txn, &x, TRIES));
	if (x.locked)
		sf_log(SF_LOG_WARN, "staff.locked", "staff %lld locked after repeated failures", (long long)id);
	return err ? err : SF_ERR_LOGIN_FAILED;
}

/* ==== Password policy ==== */

struct pwpol {
	int64_t min_len;
	int64_t max_age_days; /* 0: never expires */
};

static void read_pol(struct sf_db_cursor *cur, void *arg)
{
	struct pwpol *p = arg;
	if (!sf_db_col_is_null(cur, 0) && sf_db_col_int(cur, 0) > p->min_len)
		p->min_len = sf_db_col_int(cur, 0);
	if (!sf_db_col_is_null(cur, 1)) {
		int64_t v = sf_db_col_int(cur, 1);
		if (v > 0 && (p->max_age_days == 0 || v < p->max_age_days))
			p->max_age_days = v;
	}
}

/* The strictest of [admin] defaults, the account's roles and the account. */
static enum sf_db_status pw_policy(struct sf_app *app, struct sf_db_conn *c, const struct srow *r, struct pwpol *p)
{
	p->min_len = CFG(app, admin_pw_min_length, 12);
	p->max_age_days = CFG(app, admin_pw_max_age_days, 90);
	struct sf_db_param q[] = {SF_DB_INT(r->id)};
	enum sf_db_status st = sf_db_query_one(c, SF_STMT_STAFF_PW_POLICY_ROLES, q, 1, read_pol, p);
	if (st < 0)
		return st;
	if (r->pw_min > p->min_len)
		p->min_len = r->pw_min;
	if (r->pw_max_age > 0 && (p->max_age_days == 0 || r->pw_max_age < p->max_age_days))
		p->max_age_days = r->pw_max_age;
	if (p->min_len > SF_PW_MAX_CHARS)
		p->min_len = SF_PW_MAX_CHARS;
	return SF_DB_OK;
}

static int pw_expired(const struct pwpol *p, const struct srow *r, int64_t now)
{
	return p->max_age_days > 0 && now - r->pw_changed >= p->max_age_days * 86400;
}

/* Is pw acceptable for account r?  Runs argon2 once per remembered password. */
static enum sf_err pw_acceptable(struct sf_app *app, struct sf_db_conn *c, const struct srow *r, const char *pw,
				 const char **why)
{
	struct pwpol pol;
	*why = NULL;
	if (!pw || strlen(pw) > PW_INPUT_MAX) {
		*why = "The password is too long.";
		return SF_ERR_WEAK_PASSWORD;
	}
	enum sf_db_status st = pw_policy(app, c, r, &pol);
	if (st < 0)
		return sf_db_err(st);
	if ((int64_t)sf_utf8_chars(pw) < pol.min_len) {
		*why = "The password is shorter than the minimum length set for this account.";
		return SF_ERR_WEAK_PASSWORD;
	}
	char local[SF_STAFF_EMAIL_MAX + 1];
	sf_strlcpy(local, r->email, sizeof local);
	char *at = strchr(local, '@');
	if (at)
		*at = '\0';
	const char *hints[] = {local, r->email, r->name, NULL};
	enum sf_err err = sf_password_policy(pw, hints, why);
	if (err)
		return err;
	int64_t keep = CFG(app, admin_pw_history, 4);
	if (keep <= 0)
		return SF_OK;
	char (*old)[SF_PW_HASH_MAX] = calloc((size_t)keep, SF_PW_HASH_MAX);
	if (!old)
		return SF_ERR_NOMEM;
	size_t n = 0;
	struct sf_db_param q[] = {SF_DB_INT(r->id), SF_DB_INT(keep)};
	struct sf_db_cursor *cur = NULL;
	st = sf_db_query(c, SF_STMT_STAFF_PW_HISTORY, q, 2, &cur);
	if (st == SF_DB_OK) {
		while ((st = sf_db_next(cur)) == SF_DB_OK && n < (size_t)keep)
			sf_strlcpy(old[n++], sf_db_col_text(cur, 0, NULL), SF_PW_HASH_MAX);
		sf_db_cursor_close(cur);
	}
	int reused = 0;
	for (size_t i = 0; i < n && !reused; i++)
		reused = sf_password_verify(old[i], pw);
	sodium_memzero(old, (size_t)keep * SF_PW_HASH_MAX);
	free(old);
	if (st < 0)
		return sf_db_err(st);
	if (reused) {
		*why = "This password was used recently for this account: choose another one.";
		return SF_ERR_WEAK_PASSWORD;
	}
	return SF_OK;
}

/* Store a new password hash (and remember it) inside a transaction. */
static enum sf_db_status pw_store(struct sf_db_conn *c, int64_t id, const char *hash, int64_t now)
{
	struct sf_db_param p[] = {SF_DB_INT(id), SF_DB_TEXT(hash), SF_DB_INT(now)};
	enum sf_db_status st = sf_db_exec(c, SF_STMT_STAFF_SET_PASSWORD, p, 3, NULL);
	if (st < 0)
		return st;
	return sf_db_exec(c, SF_STMT_STAFF_PW_HISTORY_ADD, p, 3, NULL);
}

/* ==== Login: password ==== */

/* An account and a password hash (an upgraded one at login, NULL: keep). */
struct hash_ctx {
	struct sf_app *app;
	const struct sf_staff_actor *a;
	int64_t id;
	const char *hash;
};

static enum sf_db_status login_ok_txn(struct sf_db_conn *c, void *arg)
{
	struct hash_ctx *x = arg;
	struct srow r;
	enum sf_db_status st = get_staff(c, x->id, &r);
	if (st < 0)
		return st;
	struct sf_db_param p[] = {SF_DB_INT(x->id), SF_DB_TEXT(x->hash ? x->hash : r.hash)};
	st = sf_db_exec(c, SF_STMT_STAFF_LOGIN_OK, p, 2, NULL);
	wipe_srow(&r);
	if (st < 0)
		return st;
	return audit(c, x->app, x->a, "staff.login", x->id, "success",
		     json_pack("{s:s, s:b}", "step", "password", "rehashed", x->hash != NULL));
}

static const char *stage_after_code(struct sf_app *app, struct sf_db_conn *c, const struct srow *r, int64_t now,
				    enum sf_err *err)
{
	struct pwpol pol;
	enum sf_db_status st = pw_policy(app, c, r, &pol);
	*err = st < 0 ? sf_db_err(st) : SF_OK;
	return pw_expired(&pol, r, now) ? "password" : "full";
}

enum sf_err sf_staff_login_password(struct sf_app *app, const struct sf_staff_actor *a, const char *email,
				    const char *password, int64_t *staff_id, const char **stage)
{
	char norm[SF_STAFF_EMAIL_MAX + 1];
	struct sf_pw_params pp;
	*staff_id = 0;
	*stage = NULL;
	pw_params(app, &pp);
	struct sf_db_conn *c = conn(app);
	if (!c)
		return SF_ERR_UNAVAILABLE;
	int shaped = sf_staff_email_norm(email, norm, sizeof norm) && password && strnlen(password, 4096) <= PW_INPUT_MAX;
	int64_t id = 0;
	struct srow r = {0};
	enum sf_db_status st = shaped ? find_by_email(c, norm, &id) : SF_DB_NO_ROWS;
	if (st < 0)
		return sf_db_err(st);
	if (id && (st = get_staff(c, id, &r)) < 0)
		return sf_db_err(st);
	int throttled = ip_throttled(app, c, a->ip, a->now);
	int pw_ok = 0;
	char upgraded[SF_PW_HASH_MAX];
	const char *new_hash = NULL;
	if (r.found && r.has_hash && !throttled) {
		pw_ok = sf_password_verify(r.hash, password);
		if (pw_ok && sf_password_needs_rehash(&pp, r.hash) && sf_password_hash(&pp, password, upgraded) == SF_OK)
			new_hash = upgraded;
	} else {
		sf_password_verify_dummy(&pp, password && shaped ? password : "");
	}
	wipe_srow(&r);
	enum sf_err err;
	if (throttled)
		err = record_failure(app, a, id, 0, "staff.login", "address_throttled");
	else if (!r.found)
		err = record_failure(app, a, 0, 0, "staff.login", "unknown");
	else if (!r.active)
		err = record_failure(app, a, id, 0, "staff.login", "inactive");
	else if (a->now < r.locked_until)
		err = record_failure(app, a, id, 0, "staff.login", "locked");
	else if (!r.has_hash)
		err = record_failure(app, a, id, 0, "staff.login", "not_enrolled");
	else if (!pw_ok)
		err = record_failure(app, a, id, 1, "staff.login", "password");
	else
		err = SF_OK;
	if (err) {
		sodium_memzero(upgraded, sizeof upgraded);
		return err;
	}
	/* The account's own where-and-when rules (the [admin] list was checked
	 * before the form was read).  A refusal answers like a wrong password,
	 * so it does not confirm that the password was right. */
	enum sf_policy_verdict v = sf_policy_check(NULL, r.allow, r.deny, r.windows, a->ip, a->now);
	if (v != SF_POLICY_OK) {
		sodium_memzero(upgraded, sizeof upgraded);
		struct deny_ctx d = {.app = app, .a = *a, .object = id, .detail = reason(sf_policy_reason(v))};
		atomic_fetch_add(&st_refused_policy, 1);
		st = sf_db_txn(app->db, deny_txn, &d, TRIES);
		json_decref(d.detail);
		return st < 0 ? sf_db_err(st) : SF_ERR_LOGIN_FAILED;
	}
	struct hash_ctx x = {.app = app, .a = a, .id = id, .hash = new_hash};
	err = sf_db_err(sf_db_txn(app->db, login_ok_txn, &x, TRIES));
	sodium_memzero(upgraded, sizeof upgraded);
	if (err)
		return err;
	*staff_id = id;
	if (r.enrolled)
		*stage = "totp";
	else if (CFG(app, admin_require_2fa, 1))
		*stage = "enroll";
	else
		*stage = stage_after_code(app, c, &r, a->now, &err);
	if (!strcmp(*stage, "full"))
		atomic_fetch_add(&st_ok, 1);
	return err;
}

/* ==== Login: the code ==== */

struct code_ctx {
	struct sf_app *app;
	const struct sf_staff_actor *a;
	int64_t id;
	int64_t step;                      /* TOTP step that matched, or 0 */
	unsigned char rhash[SF_SESSION_HASH_LEN]; /* recovery code hash when step is 0 */
	const char *action;
	int used;                          /* out: the code was consumed */
};

static enum sf_db_status code_txn(struct sf_db_conn *c, void *arg)
{
	struct code_ctx *x = arg;
	int64_t changes = 0;
	enum sf_db_status st;
	x->used = 0;
	if (x->step) {
		struct sf_db_param p[] = {SF_DB_INT(x->id), SF_DB_INT(x->step)};
		st = sf_db_exec(c, SF_STMT_STAFF_TOTP_STEP, p, 2, &changes);
	} else {
		struct sf_db_param p[] = {SF_DB_INT(x->id), SF_DB_BLOB(x->rhash, sizeof x->rhash), SF_DB_INT(x->a->now)};
		st = sf_db_exec(c, SF_STMT_STAFF_RECOVERY_USE, p, 3, &changes);
	}
	if (st < 0)
		return st;
	if (changes != 1)
		return SF_DB_OK; /* replayed step or used code: nothing to commit */
	x->used = 1;
	struct sf_db_param p[] = {SF_DB_INT(x->id), SF_DB_INT(0), SF_DB_INT(x->a->now)};
	if ((st = sf_db_exec(c, SF_STMT_STAFF_SET_LOCK, p, 3, NULL)) < 0)
		return st;
	return audit(c, x->app, x->a, x->action, x->id, "success",
		     json_pack("{s:s}", "method", x->step ? "totp" : "recovery_code"));
}

struct totp_row {
	int found;
	unsigned char *seed, *pending;
	size_t seed_n, pending_n;
	int64_t last_step;
};

static void read_totp(struct sf_db_cursor *cur, void *arg)
{
	struct totp_row *r = arg;
	size_t n = 0;
	const void *b;
	r->found = 1;
	if ((b = sf_db_col_blob(cur, 0, &n)) && n && (r->seed = malloc(n))) {
		memcpy(r->seed, b, n);
		r->seed_n = n;
	}
	if ((b = sf_db_col_blob(cur, 1, &n)) && n && (r->pending = malloc(n))) {
		memcpy(r->pending, b, n);
		r->pending_n = n;
	}
	r->last_step = sf_db_col_int(cur, 2);
}

static void totp_row_free(struct totp_row *r)
{
	free(r->seed);
	free(r->pending);
}

static enum sf_err totp_get(struct sf_db_conn *c, int64_t id, struct totp_row *r)
{
	memset(r, 0, sizeof *r);
	struct sf_db_param p[] = {SF_DB_INT(id)};
	enum sf_db_status st = sf_db_query_one(c, SF_STMT_STAFF_TOTP_GET, p, 1, read_totp, r);
	return st < 0 ? sf_db_err(st) : SF_OK;
}

/* Check code (TOTP or recovery) for account id and consume it; failures are
 * recorded under action.  SF_OK or SF_ERR_LOGIN_FAILED (or an error). */
static enum sf_err check_code(struct sf_app *app, const struct sf_staff_actor *a, int64_t id, const char *code,
			      const char *action)
{
	struct sf_db_conn *c = conn(app);
	if (!c)
		return SF_ERR_UNAVAILABLE;
	struct code_ctx x = {.app = app, .a = a, .id = id, .action = action};
	const char *why = "code";
	enum sf_err err = SF_OK;
	if (code && strlen(code) == SF_TOTP_DIGITS) {
		struct totp_row t;
		if ((err = totp_get(c, id, &t)))
			return err;
		char *seed = NULL;
		size_t n = 0;
		if (t.seed && (err = sf_unseal(app->keys, "staff", "totp_seed", id, t.seed, t.seed_n, &seed, &n)) == SF_OK) {
			err = sf_totp_verify((const unsigned char *)seed, n, code, a->now, t.last_step, &x.step);
			if (err == SF_ERR_LOGIN_FAILED)
				err = SF_OK; /* x.step stays 0: wrong or replayed */
		}
		sf_unsealed_free(seed, n);
		totp_row_free(&t);
		if (err)
			return err;
		if (!x.step)
			return record_failure(app, a, id, 1, action, "code");
	} else {
		char norm[SF_RECOVERY_CODE_LEN + 1];
		if (!sf_recovery_code_norm(code, norm))
			return record_failure(app, a, id, 1, action, "code");
		sf_token_hash(RECOVERY_DOMAIN, norm, x.rhash);
		sodium_memzero(norm, sizeof norm);
		why = "recovery_code";
	}
	err = sf_db_err(sf_db_txn(app->db, code_txn, &x, TRIES));
	if (err)
		return err;
	return x.used ? SF_OK : record_failure(app, a, id, 1, action, x.step ? "replayed_code" : why);
}

/* The account as a login step needs it: active and not locked. */
static enum sf_err step_account(struct sf_app *app, const struct sf_staff_actor *a, int64_t id, struct srow *r)
{
	struct sf_db_conn *c = conn(app);
	if (!c)
		return SF_ERR_UNAVAILABLE;
	enum sf_db_status st = get_staff(c, id, r);
	if (st < 0)
		return sf_db_err(st);
	if (!r->found || !r->active || a->now < r->locked_until)
		return SF_ERR_LOGIN_FAILED;
	return SF_OK;
}

enum sf_err sf_staff_login_code(struct sf_app *app, const struct sf_staff_actor *a, int64_t staff_id,
				const char *code, const char **stage)
{
	struct srow r;
	*stage = NULL;
	enum sf_err err = step_account(app, a, staff_id, &r);
	wipe_srow(&r);
	if (err)
		return err;
	if (!r.enrolled)
		return SF_ERR_LOGIN_FAILED;
	if ((err = check_code(app, a, staff_id, code, "staff.2fa")))
		return err;
	*stage = stage_after_code(app, conn(app), &r, a->now, &err);
	if (!err && !strcmp(*stage, "full"))
		atomic_fetch_add(&st_ok, 1);
	return err;
}

/* ==== Sessions ==== */

struct begin_ctx {
	int64_t sid, id, fresh;
	const char *stage, *ua;
};

static enum sf_db_status begin_txn(struct sf_db_conn *c, void *arg)
{
	struct begin_ctx *x = arg;
	struct sf_db_param p[] = {SF_DB_INT(x->sid), SF_DB_INT(x->id), SF_DB_TEXT(x->stage), SF_DB_TEXT(x->ua)};
	enum sf_db_status st = sf_db_exec(c, SF_STMT_STAFF_SESS_INSERT, p, 4, NULL);
	if (st < 0 || !x->fresh)
		return st;
	struct sf_db_param f[] = {SF_DB_INT(x->sid), SF_DB_INT(x->fresh)};
	return sf_db_exec(c, SF_STMT_STAFF_SESS_FRESH, f, 2, NULL);
}

/* A printable, bounded copy of the User-Agent for the sessions list. */
static const char *user_agent(struct sf_req *req)
{
	const char *ua = sf_req_header(req, "User-Agent");
	char buf[UA_MAX + 1];
	size_t n = 0;
	for (; ua && *ua && n < UA_MAX; ua++)
		buf[n++] = (*ua >= 0x20 && *ua < 0x7f) ? *ua : '?';
	buf[n] = '\0';
	const char *out = sf_arena_strdup(req->arena, buf);
	return out ? out : "";
}

enum sf_err sf_staff_session_begin(struct sf_req *req, struct sf_resp *resp, int64_t staff_id, const char *stage)
{
	struct sf_app *app = req->app;
	struct sf_auth_state *st = sf_auth_state(req);
	if (!st)
		return SF_ERR_NOMEM;
	if (!app || !app->db)
		return SF_ERR_UNAVAILABLE;
	if (st->p.kind != SF_PRINCIPAL_STAFF)
		st->has_session = 0; /* a customer session in the same browser stays */
	enum sf_err err = sf_auth_session_start(req, resp, SF_PRINCIPAL_STAFF, staff_id);
	if (err)
		return err;
	int64_t now = sf_auth_now();
	struct begin_ctx x = {.sid = st->p.session_id, .id = staff_id, .stage = stage, .ua = user_agent(req)};
	if (!strcmp(stage, "full"))
		x.fresh = now + CFG(app, admin_reauth_minutes, 5) * 60;
	err = sf_db_err(sf_db_txn(app->db, begin_txn, &x, TRIES));
	if (err)
		return err;
	struct sf_staff_viewer *v = sf_staff_viewer_mut(req);
	if (!v)
		return SF_ERR_NOMEM;
	v->id = staff_id;
	v->session_id = x.sid;
	sf_strlcpy(v->stage, stage, sizeof v->stage);
	v->fresh_until = x.fresh;
	return SF_OK;
}

struct logout_ctx {
	struct sf_app *app;
	struct sf_staff_actor a;
};

static enum sf_db_status logout_txn(struct sf_db_conn *c, void *arg)
{
	struct logout_ctx *x = arg;
	return audit(c, x->app, &x->a, "staff.logout", x->a.staff_id, "success", NULL);
}

enum sf_err sf_staff_logout(struct sf_req *req, struct sf_resp *resp)
{
	struct logout_ctx x = {.app = req->app};
	sf_staff_actor_of(req, &x.a);
	enum sf_err err = sf_auth_session_end(req, resp);
	if (err || !x.a.staff_id || !x.app || !x.app->db)
		return err;
	return sf_db_err(sf_db_txn(x.app->db, logout_txn, &x, TRIES));
}

struct fresh_ctx {
	struct sf_app *app;
	const struct sf_staff_actor *a;
};

static enum sf_db_status reauth_txn(struct sf_db_conn *c, void *arg)
{
	struct fresh_ctx *x = arg;
	return audit(c, x->app, x->a, "staff.reauth", x->a->staff_id, "success", NULL);
}

enum sf_err sf_staff_reauth(struct sf_req *req, struct sf_resp *resp, const char *password, const char *code)
{
	struct sf_app *app = req->app;
	const struct sf_staff_viewer *v = sf_staff_viewer(req);
	struct sf_staff_actor a;
	sf_staff_actor_of(req, &a);
	if (!v || !v->session_id)
		return SF_ERR_UNAUTHORIZED;
	struct srow r;
	enum sf_err err = step_account(app, &a, v->id, &r);
	if (err) {
		wipe_srow(&r);
		return err;
	}
	int ok = r.has_hash && password && strnlen(password, 4096) <= PW_INPUT_MAX && sf_password_verify(r.hash, password);
	int enrolled = r.enrolled;
	wipe_srow(&r);
	if (!ok)
		return record_failure(app, &a, v->id, 1, "staff.reauth", "password");
	if (enrolled && (err = check_code(app, &a, v->id, code, "staff.reauth")))
		return err;
	if (!enrolled && CFG(app, admin_require_2fa, 1))
		return SF_ERR_LOGIN_FAILED;
	struct fresh_ctx x = {.app = app, .a = &a};
	if ((err = sf_db_err(sf_db_txn(app->db, reauth_txn, &x, TRIES))))
		return err;
	/* Elevated: a new token, and the new session starts fresh. */
	return sf_staff_session_begin(req, resp, v->id, "full");
}

/* ==== Enrollment ==== */

struct tok_row {
	int found;
	int64_t id, staff_id, expires;
	int used;
};

static void read_tok(struct sf_db_cursor *cur, void *arg)
{
	struct tok_row *t = arg;
	t->found = 1;
	t->id = sf_db_col_int(cur, 0);
	t->staff_id = sf_db_col_int(cur, 1);
	t->expires = sf_db_col_int(cur, 2);
	t->used = !sf_db_col_is_null(cur, 3);
}

static enum sf_db_status tok_get(struct sf_db_conn *c, const char *token, struct tok_row *t)
{
	unsigned char h[SF_SESSION_HASH_LEN];
	memset(t, 0, sizeof *t);
	if (!sf_token_shape_ok(token))
		return SF_DB_NO_ROWS;
	sf_token_hash(ENROLL_DOMAIN, token, h);
	struct sf_db_param p[] = {SF_DB_BLOB(h, sizeof h)};
	return sf_db_query_one(c, SF_STMT_STAFF_TOKEN_GET, p, 1, read_tok, t);
}

enum sf_err sf_staff_enroll_check(struct sf_app *app, const char *token, int64_t *staff_id, int *has_password)
{
	struct sf_db_conn *c = conn(app);
	struct tok_row t;
	*staff_id = 0;
	if (!c)
		return SF_ERR_UNAVAILABLE;
	enum sf_db_status st = tok_get(c, token, &t);
	if (st < 0)
		return sf_db_err(st);
	if (!t.found || t.used || sf_auth_now() >= t.expires)
		return SF_ERR_TOKEN_INVALID;
	struct srow r;
	if ((st = get_staff(c, t.staff_id, &r)) < 0)
		return sf_db_err(st);
	wipe_srow(&r);
	if (!r.found || !r.active)
		return SF_ERR_TOKEN_INVALID;
	*staff_id = t.staff_id;
	if (has_password)
		*has_password = r.has_hash;
	return SF_OK;
}

struct enroll_ctx {
	struct sf_app *app;
	const struct sf_staff_actor *a;
	const char *token;
	const char *hash;
	int64_t id;
	int ok;
};

static enum sf_db_status enroll_txn(struct sf_db_conn *c, void *arg)
{
	struct enroll_ctx *x = arg;
	struct tok_row t;
	x->ok = 0;
	enum sf_db_status st = tok_get(c, x->token, &t);
	if (st < 0)
		return st;
	if (!t.found || t.used || x->a->now >= t.expires || t.staff_id != x->id)
		return SF_DB_OK;
	struct sf_db_param u[] = {SF_DB_INT(t.id), SF_DB_INT(x->a->now)};
	if ((st = sf_db_exec(c, SF_STMT_STAFF_TOKEN_USE, u, 2, NULL)) < 0)
		return st;
	if ((st = pw_store(c, x->id, x->hash, x->a->now)) < 0)
		return st;
	struct sf_db_param l[] = {SF_DB_INT(x->id), SF_DB_INT(0), SF_DB_INT(x->a->now)};
	if ((st = sf_db_exec(c, SF_STMT_STAFF_SET_LOCK, l, 3, NULL)) < 0)
		return st;
	x->ok = 1;
	return audit(c, x->app, x->a, "staff.enroll", x->id, "success", json_pack("{s:s}", "step", "password"));
}

enum sf_err sf_staff_enroll_password(struct sf_app *app, const struct sf_staff_actor *a, const char *token,
				     const char *password, int64_t *staff_id, const char **why)
{
	*why = NULL;
	int64_t id;
	enum sf_err err = sf_staff_enroll_check(app, token, &id, NULL);
	if (err)
		return err;
	struct sf_db_conn *c = conn(app);
	struct srow r;
	enum sf_db_status st = get_staff(c, id, &r);
	if (st < 0)
		return sf_db_err(st);
	wipe_srow(&r);
	if ((err = pw_acceptable(app, c, &r, password, why)))
		return err;
	struct sf_pw_params pp;
	pw_params(app, &pp);
	char hash[SF_PW_HASH_MAX];
	if ((err = sf_password_hash(&pp, password, hash)))
		return err;
	struct enroll_ctx x = {.app = app, .a = a, .token = token, .hash = hash, .id = id};
	err = sf_db_err(sf_db_txn(app->db, enroll_txn, &x, TRIES));
	sodium_memzero(hash, sizeof hash);
	if (err)
		return err;
	if (!x.ok)
		return SF_ERR_TOKEN_INVALID;
	*staff_id = id;
	return SF_OK;
}

static const char *issuer_of(const struct sf_app *app)
{
	return app && app->cfg && app->cfg->shop_name[0] ? app->cfg->shop_name : "storefort";
}

enum sf_err sf_staff_totp_begin(struct sf_app *app, int64_t staff_id, char key[SF_TOTP_B32_MAX], char *uri,
				size_t urilen, json_t **qr)
{
	*qr = NULL;
	key[0] = '\0';
	struct sf_db_conn *c = conn(app);
	if (!c)
		return SF_ERR_UNAVAILABLE;
	struct srow r;
	enum sf_db_status st = get_staff(c, staff_id, &r);
	if (st < 0)
		return sf_db_err(st);
	wipe_srow(&r);
	if (!r.found)
		return SF_ERR_NOT_FOUND;
	unsigned char seed[SF_TOTP_SEED_LEN];
	sf_totp_new_seed(seed);
	unsigned char *sealed = NULL;
	size_t sn = 0;
	enum sf_err err = sf_seal(app->keys, "staff", "totp_pending", staff_id, seed, sizeof seed, &sealed, &sn);
	if (!err) {
		struct sf_db_param p[] = {SF_DB_INT(staff_id), SF_DB_BLOB(sealed, sn), SF_DB_INT(sf_auth_now())};
		err = sf_db_err(sf_db_exec(c, SF_STMT_STAFF_TOTP_PENDING, p, 3, NULL));
	}
	free(sealed);
	if (!err)
		err = sf_totp_base32(seed, sizeof seed, 1, key);
	if (!err)
		err = sf_totp_uri(issuer_of(app), r.email, seed, sizeof seed, uri, urilen);
	if (!err)
		err = sf_totp_qr_json(uri, qr);
	sodium_memzero(seed, sizeof seed);
	if (err) {
		sodium_memzero(key, SF_TOTP_B32_MAX);
		sodium_memzero(uri, urilen);
	}
	return err;
}

struct confirm_ctx {
	struct sf_app *app;
	const struct sf_staff_actor *a;
	int64_t id, step;
	const unsigned char *sealed;
	size_t sn;
	unsigned char hashes[SF_RECOVERY_CODES][SF_SESSION_HASH_LEN];
};

static enum sf_db_status confirm_txn(struct sf_db_conn *c, void *arg)
{
	struct confirm_ctx *x = arg;
	struct sf_db_param p[] = {SF_DB_INT(x->id), SF_DB_BLOB(x->sealed, x->sn), SF_DB_INT(x->step),
				  SF_DB_INT(x->a->now)};
	enum sf_db_status st = sf_db_exec(c, SF_STMT_STAFF_TOTP_CONFIRM, p, 4, NULL);
	if (st < 0)
		return st;
	struct sf_db_param d[] = {SF_DB_INT(x->id)};
	if ((st = sf_db_exec(c, SF_STMT_STAFF_RECOVERY_CLEAR, d, 1, NULL)) < 0)
		return st;
	for (int i = 0; i < SF_RECOVERY_CODES; i++) {
		struct sf_db_param q[] = {SF_DB_INT(x->id), SF_DB_BLOB(x->hashes[i], SF_SESSION_HASH_LEN)};
		if ((st = sf_db_exec(c, SF_STMT_STAFF_RECOVERY_ADD, q, 2, NULL)) < 0)
			return st;
	}
	return audit(c, x->app, x->a, "staff.enroll", x->id, "success", json_pack("{s:s}", "step", "totp"));
}

enum sf_err sf_staff_totp_confirm(struct sf_app *app, const struct sf_staff_actor *a, int64_t staff_id,
				  const char *code, char codes[SF_RECOVERY_CODES][SF_RECOVERY_CODE_LEN + 1],
				  const char **stage)
{
	*stage = NULL;
	struct sf_db_conn *c = conn(app);
	if (!c)
		return SF_ERR_UNAVAILABLE;
	struct totp_row t;
	enum sf_err err = totp_get(c, staff_id, &t);
	if (err)
		return err;
	char *seed = NULL;
	size_t n = 0;
	int64_t step = 0;
	if (!t.pending) {
		totp_row_free(&t);
		return record_failure(app, a, staff_id, 1, "staff.enroll", "nothing_pending");
	}
	err = sf_unseal(app->keys, "staff", "totp_pending", staff_id, t.pending, t.pending_n, &seed, &n);
	totp_row_free(&t);
	if (!err) {
		err = sf_totp_verify((const unsigned char *)seed, n, code, a->now, 0, &step);
		if (err == SF_ERR_LOGIN_FAILED) {
			sf_unsealed_free(seed, n);
			return record_failure(app, a, staff_id, 1, "staff.enroll", "code");
		}
	}
	struct confirm_ctx x = {.app = app, .a = a, .id = staff_id, .step = step};
	unsigned char *sealed = NULL;
	if (!err)
		err = sf_seal(app->keys, "staff", "totp_seed", staff_id, seed, n, &sealed, &x.sn);
	sf_unsealed_free(seed, n);
	if (err)
		return err;
	x.sealed = sealed;
	for (int i = 0; i < SF_RECOVERY_CODES; i++) {
		sf_recovery_code_new(codes[i]);
		sf_token_hash(RECOVERY_DOMAIN, codes[i], x.hashes[i]);
	}
	err = sf_db_err(sf_db_txn(app->db, confirm_txn, &x, TRIES));
	free(sealed);
	struct srow r;
	enum sf_db_status st = err ? SF_DB_OK : get_staff(c, staff_id, &r);
	wipe_srow(&r);
	if (!err && st < 0)
		err = sf_db_err(st);
	if (!err)
		*stage = stage_after_code(app, c, &r, a->now, &err);
	if (err)
		sodium_memzero(codes, (size_t)SF_RECOVERY_CODES * (SF_RECOVERY_CODE_LEN + 1));
	else if (!strcmp(*stage, "full"))
		atomic_fetch_add(&st_ok, 1);
	return err;
}

/* ==== Password change ==== */

static enum sf_db_status pwchange_txn(struct sf_db_conn *c, void *arg)
{
	struct hash_ctx *x = arg;
	enum sf_db_status st = pw_store(c, x->id, x->hash, x->a->now);
	if (st < 0)
		return st;
	/* Every session of the account ends; the caller starts a new one. */
	if ((st = sf_db_status_from_err(sf_session_delete_principal(c, "staff", x->id, 0))) < 0)
		return st;
	return audit(c, x->app, x->a, "staff.password_change", x->id, "success", NULL);
}

enum sf_err sf_staff_password_change(struct sf_app *app, const struct sf_staff_actor *a, int64_t staff_id,
				     const char *current, const char *new_pw, const char **why)
{
	*why = NULL;
	struct srow r;
	enum sf_err err = step_account(app, a, staff_id, &r);
	if (err) {
		wipe_srow(&r);
		return err;
	}
	int ok = r.has_hash && current && strnlen(current, 4096) <= PW_INPUT_MAX && sf_password_verify(r.hash, current);
	wipe_srow(&r);
	if (!ok)
		return record_failure(app, a, staff_id, 1, "staff.password_change", "password");
	if ((err = pw_acceptable(app, conn(app), &r, new_pw, why)))
		return err;
	struct sf_pw_params pp;
	pw_params(app, &pp);
	char hash[SF_PW_HASH_MAX];
	if ((err = sf_password_hash(&pp, new_pw, hash)))
		return err;
	struct hash_ctx x = {.app = app, .a = a, .id = staff_id, .hash = hash};
	err = sf_db_err(sf_db_txn(app->db, pwchange_txn, &x, TRIES));
	sodium_memzero(hash, sizeof hash);
	return err;
}

/* ==== Administration ==== */

static int role_name_ok(const char *n)
{
	size_t len = n ? strlen(n) : 0;
	return len >= 1 && len <= SF_STAFF_ROLE_MAX && strspn(n, "abcdefghijklmnopqrstuvwxyz0123456789_") == len;
}

struct admin_ctx {
	struct sf_app *app;
	const struct sf_staff_actor *a;
	int64_t id;
	const char *const *roles;
	size_t nroles;
	int flag;              /* active / lock */
	const char *s1, *s2, *s3;
	int64_t i1, i2;
	enum sf_err out;       /* a refusal decided inside the transaction */
	const char *why;
	char token[SF_SESSION_COOKIE_LEN + 1];
};

/* Is the actor an owner (the CLI counts as one)?  -1 on a database error. */
static int actor_owner(struct sf_db_conn *c, const struct sf_staff_actor *a)
{
	if (!strcmp(a->type, "cli"))
		return 1;
	if (strcmp(a->type, "staff") != 0 || !a->staff_id)
		return 0;
	struct perms p;
	return load_perms(c, a->staff_id, &p) < 0 ? -1 : p.owner;
}

static int target_owner(struct sf_db_conn *c, int64_t id)
{
	struct perms p;
	return load_perms(c, id, &p) < 0 ? -1 : p.owner;
}

static int other_owners(struct sf_db_conn *c, int64_t id)
{
	int64_t n = 0;
	struct sf_db_param p[] = {SF_DB_INT(id)};
	return sf_db_query_one(c, SF_STMT_STAFF_OWNER_COUNT, p, 1, read_int, &n) < 0 ? -1 : (int)n;
}

/* The owner rules for changing account x->id (needs_owner: the change gives
 * or takes ownership); sets x->out and returns 1 when refused, -1 on error. */
static int owner_rules(struct sf_db_conn *c, struct admin_ctx *x, int touches_owner_role, int removes_owner)
{
	int tgt = target_owner(c, x->id), act = actor_owner(c, x->a);
	if (tgt < 0 || act < 0)
		return -1;
	if ((tgt || touches_owner_role) && !act) {
		x->out = SF_ERR_FORBIDDEN;
		return 1;
	}
	if (tgt && removes_owner) {
		int others = other_owners(c, x->id);
		if (others < 0)
			return -1;
		if (others == 0) {
			x->out = SF_ERR_LAST_OWNER;
			return 1;
		}
	}
	return 0;
}

static enum sf_db_status exists(struct sf_db_conn *c, struct admin_ctx *x)
{
	struct srow r;
	enum sf_db_status st = get_staff(c, x->id, &r);
	wipe_srow(&r);
	if (st < 0)
		return st;
	if (!r.found)
		x->out = SF_ERR_NOT_FOUND;
	return SF_DB_OK;
}

/* The common start of a change to account x->id: it exists and the owner
 * rules allow the change.  Returns 1 when the transaction function must
 * return *st at once (a refusal is then in x->out), 0 to go on. */
static int precheck(struct sf_db_conn *c, struct admin_ctx *x, int touches_owner_role, int removes_owner,
		    enum sf_db_status *st)
{
	*st = exists(c, x);
	if (*st < 0 || x->out)
		return 1;
	int r = owner_rules(c, x, touches_owner_role, removes_owner);
	if (!r)
		return 0;
	*st = x->out ? SF_DB_OK : SF_DB_HARD;
	return 1;
}

static const char *link_base(const struct sf_app *app, char *buf, size_t n)
{
	const struct sf_config *cfg = app ? app->cfg : NULL;
	if (cfg && cfg->mail_link_base[0])
		return cfg->mail_link_base;
	if (cfg && cfg->public_host[0])
		snprintf(buf, n, "https://%s", cfg->public_host);
	else
		snprintf(buf, n, "https://localhost:%lld", (long long)(cfg ? cfg->https_port : 8443));
	return buf;
}

static enum sf_db_status new_link(struct sf_db_conn *c, struct admin_ctx *x)
{
	unsigned char h[SF_SESSION_HASH_LEN];
	struct sf_db_param k[] = {SF_DB_INT(x->id), SF_DB_INT(x->a->now)};
	enum sf_db_status st = sf_db_exec(c, SF_STMT_STAFF_TOKEN_KILL, k, 2, NULL);
	if (st < 0)
		return st;
	sf_token_new(x->token);
	sf_token_hash(ENROLL_DOMAIN, x->token, h);
	int64_t exp = x->a->now + CFG(x->app, admin_enroll_hours, 72) * 3600;
	struct sf_db_param p[] = {SF_DB_BLOB(h, sizeof h), SF_DB_INT(x->id), SF_DB_TEXT("enroll"), SF_DB_INT(exp)};
	return sf_db_exec(c, SF_STMT_STAFF_TOKEN_INSERT, p, 4, NULL);
}

static void link_text(const struct sf_app *app, const char *token, char link[SF_STAFF_LINK_MAX])
{
	char buf[300];
	const char *path = app && app->cfg && app->cfg->admin_path[0] ? app->cfg->admin_path : "/admin";
	snprintf(link, SF_STAFF_LINK_MAX, "%s%s/enroll?token=%s", link_base(app, buf, sizeof buf), path, token);
}

static json_t *roles_json(const char *const *roles, size_t n)
{
	json_t *a = json_array();
	for (size_t i = 0; a && i < n; i++)
		json_array_append_new(a, json_string(roles[i]));
	return json_pack("{s:o}", "roles", a ? a : json_array());
}

/* Add the roles (checked to exist); sets x->out/why when one does not. */
static enum sf_db_status add_roles(struct sf_db_conn *c, struct admin_ctx *x)
{
	for (size_t i = 0; i < x->nroles; i++) {
		int64_t changes = 0;
		struct sf_db_param p[] = {SF_DB_INT(x->id), SF_DB_TEXT(x->roles[i])};
		enum sf_db_status st = sf_db_exec(c, SF_STMT_STAFF_ROLE_ADD, p, 2, &changes);
		if (st < 0)
			return st;
		if (st == SF_DB_NO_ROWS || changes == 0) {
			struct sf_db_param q[] = {SF_DB_TEXT(x->roles[i])};
			int64_t rid = 0;
			if ((st = sf_db_query_one(c, SF_STMT_ROLE_BY_NAME, q, 1, read_int, &rid)) < 0)
				return st;
			if (!rid) {
				x->out = SF_ERR_BAD_PARAM;
				x->why = "Unknown role.";
				return SF_DB_HARD; /* roll back */
			}
		}
	}
	return SF_DB_OK;
}

static int has_owner(const char *const *roles, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(roles[i], "owner"))
			return 1;
	return 0;
}

static int roles_ok(const char *const *roles, size_t n)
{
	if (n > SF_STAFF_MAX_ROLES)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!role_name_ok(roles[i]))
			return 0;
	return 1;
}

static enum sf_db_status add_txn(struct sf_db_conn *c, void *arg)
{
	struct admin_ctx *x = arg;
	x->out = SF_OK;
	int act = actor_owner(c, x->a);
	if (act < 0)
		return SF_DB_HARD;
	if (has_owner(x->roles, x->nroles) && !act) {
		x->out = SF_ERR_FORBIDDEN;
		return SF_DB_OK;
	}
	int64_t existing = 0;
	enum sf_db_status st = find_by_email(c, x->s1, &existing);
	if (st < 0)
		return st;
	if (existing) {
		x->out = SF_ERR_EXISTS;
		return SF_DB_OK;
	}
	struct sf_db_param p[] = {SF_DB_TEXT(x->s1), SF_DB_TEXT(x->s2), SF_DB_INT(x->a->now)};
	if ((st = sf_db_exec(c, SF_STMT_STAFF_INSERT, p, 3, NULL)) < 0)
		return st;
	x->id = sf_db_last_id(c);
	if ((st = add_roles(c, x)) < 0)
		return st;
	if ((st = new_link(c, x)) < 0)
		return st;
	return audit(c, x->app, x->a, "staff.create", x->id, "success", roles_json(x->roles, x->nroles));
}

static enum sf_err run_admin(struct sf_app *app, sf_db_txn_fn fn, struct admin_ctx *x)
{
	if (!app || !app->db)
		return SF_ERR_UNAVAILABLE;
	x->out = SF_OK;
	enum sf_db_status st = sf_db_txn(app->db, fn, x, TRIES);
	if (x->out)
		return x->out; /* refused (rolled back when the refusal came late) */
	return sf_db_err(st);
}

enum sf_err sf_staff_add(struct sf_app *app, const struct sf_staff_actor *a, const char *email, const char *name,
			 const char *const *roles, size_t nroles, int64_t *staff_id, char link[SF_STAFF_LINK_MAX],
			 const char **why)
{
	char norm[SF_STAFF_EMAIL_MAX + 1];
	*staff_id = 0;
	*why = NULL;
	link[0] = '\0';
	if (!sf_staff_email_norm(email, norm, sizeof norm)) {
		*why = "Enter a valid e-mail address.";
		return SF_ERR_BAD_PARAM;
	}
	if (!name)
		name = "";
	if (!sf_utf8_line_fits(name, SF_STAFF_NAME_MAX)) { /* one line: it heads pages and audit rows */
		*why = "The name must be one line of at most 100 characters.";
		return SF_ERR_BAD_PARAM;
	}
	if (sf_log_has_card(name, strlen(name)) || sf_log_has_card(norm, strlen(norm)))
		return SF_ERR_CARD_DATA; /* name and address are stored in clear */
	if (!nroles || !roles_ok(roles, nroles)) {
		*why = "Give one or more existing roles.";
		return SF_ERR_BAD_PARAM;
	}
	struct admin_ctx x = {.app = app, .a = a, .roles = roles, .nroles = nroles, .s1 = norm, .s2 = name};
	enum sf_err err = run_admin(app, add_txn, &x);
	if (!err) {
		*staff_id = x.id;
		link_text(app, x.token, link);
	}
	*why = x.why;
	sodium_memzero(x.token, sizeof x.token);
	return err;
}

static enum sf_db_status link_txn(struct sf_db_conn *c, void *arg)
{
	struct admin_ctx *x = arg;
	enum sf_db_status st;
	if (precheck(c, x, 0, 0, &st))
		return st;
	if ((st = new_link(c, x)) < 0)
		return st;
	return audit(c, x->app, x->a, "staff.enroll_link", x->id, "success", NULL);
}

enum sf_err sf_staff_enroll_link(struct sf_app *app, const struct sf_staff_actor *a, int64_t staff_id,
				 char link[SF_STAFF_LINK_MAX])
{
	struct admin_ctx x = {.app = app, .a = a, .id = staff_id};
	link[0] = '\0';
	enum sf_err err = run_admin(app, link_txn, &x);
	if (!err)
		link_text(app, x.token, link);
	sodium_memzero(x.token, sizeof x.token);
	return err;
}

enum sf_err sf_staff_find(struct sf_app *app, const char *email, int64_t *staff_id)
{
	char norm[SF_STAFF_EMAIL_MAX + 1];
	*staff_id = 0;
	struct sf_db_conn *c = conn(app);
	if (!c)
		return SF_ERR_UNAVAILABLE;
	if (!sf_staff_email_norm(email, norm, sizeof norm))
		return SF_ERR_NOT_FOUND;
	enum sf_db_status st = find_by_email(c, norm, staff_id);
	if (st < 0)
		return sf_db_err(st);
	return *staff_id ? SF_OK : SF_ERR_NOT_FOUND;
}

static enum sf_db_status roles_txn(struct sf_db_conn *c, void *arg)
{
	struct admin_ctx *x = arg;
	enum sf_db_status st = exists(c, x);
	if (st < 0 || x->out)
		return st;
	int tgt = target_owner(c, x->id);
	if (tgt < 0)
		return SF_DB_HARD;
	int gives = has_owner(x->roles, x->nroles);
	if (owner_rules(c, x, gives != tgt, tgt && !gives))
		return x->out ? SF_DB_OK : SF_DB_HARD;
	struct sf_db_param p[] = {SF_DB_INT(x->id)};
	if ((st = sf_db_exec(c, SF_STMT_STAFF_ROLES_CLEAR, p, 1, NULL)) < 0)
		return st;
	if ((st = add_roles(c, x)) < 0)
		return st;
	return audit(c, x->app, x->a, "staff.roles", x->id, "success", roles_json(x->roles, x->nroles));
}

enum sf_err sf_staff_set_roles(struct sf_app *app, const struct sf_staff_actor *a, int64_t staff_id,
			       const char *const *roles, size_t nroles, const char **why)
{
	*why = NULL;
	if (!roles_ok(roles, nroles)) {
		*why = "Unknown role.";
		return SF_ERR_BAD_PARAM;
	}
	struct admin_ctx x = {.app = app, .a = a, .id = staff_id, .roles = roles, .nroles = nroles};
	enum sf_err err = run_admin(app, roles_txn, &x);
	*why = x.why;
	return err;
}

/* Activate or deactivate (x->i1 == 0), or lock or unlock (x->i1 == 1),
 * as x->flag says; taking access away ends the account's sessions. */
static enum sf_db_status state_txn(struct sf_db_conn *c, void *arg)
{
	struct admin_ctx *x = arg;
	int lock = x->i1 == 1, removes = lock ? x->flag : !x->flag;
	enum sf_db_status st;
	if (precheck(c, x, 0, removes, &st))
		return st;
	int64_t v = lock ? (x->flag ? FOREVER : 0) : x->flag;
	struct sf_db_param p[] = {SF_DB_INT(x->id), SF_DB_INT(v), SF_DB_INT(x->a->now)};
	if ((st = sf_db_exec(c, lock ? SF_STMT_STAFF_SET_LOCK : SF_STMT_STAFF_SET_ACTIVE, p, 3, NULL)) < 0)
		return st;
	if (removes && (st = sf_db_status_from_err(sf_session_delete_principal(c, "staff", x->id, 0))) < 0)
		return st;
	const char *action = lock ? (x->flag ? "staff.lock" : "staff.unlock")
				  : (x->flag ? "staff.activate" : "staff.deactivate");
	return audit(c, x->app, x->a, action, x->id, "success", lock && x->flag ? reason("manual") : NULL);
}

enum sf_err sf_staff_set_active(struct sf_app *app, const struct sf_staff_actor *a, int64_t staff_id, int active)
{
	struct admin_ctx x = {.app = app, .a = a, .id = staff_id, .flag = !!active, .i1 = 0};
	return run_admin(app, state_txn, &x);
}

enum sf_err sf_staff_lock(struct sf_app *app, const struct sf_staff_actor *a, int64_t staff_id, int lock)
{
	struct admin_ctx x = {.app = app, .a = a, .id = staff_id, .flag = !!lock, .i1 = 1};
	return run_admin(app, state_txn, &x);
}

static enum sf_db_status reset2fa_txn(struct sf_db_conn *c, void *arg)
{
	struct admin_ctx *x = arg;
	enum sf_db_status st = exists(c, x);
	if (st < 0 || x->out)
		return st;
	int act = actor_owner(c, x->a);
	if (act < 0)
		return SF_DB_HARD;
	if (!act) {
		x->out = SF_ERR_FORBIDDEN;
		return audit(c, x->app, x->a, "staff.2fa_reset", x->id, "denied", reason("not_owner"));
	}
	struct sf_db_param p[] = {SF_DB_INT(x->id), SF_DB_INT(x->a->now)};
	if ((st = sf_db_exec(c, SF_STMT_STAFF_TOTP_RESET, p, 2, NULL)) < 0)
		return st;
	if ((st = sf_db_exec(c, SF_STMT_STAFF_RECOVERY_CLEAR, p, 1, NULL)) < 0)
		return st;
	if ((st = sf_db_status_from_err(sf_session_delete_principal(c, "staff", x->id, 0))) < 0)
		return st;
	return audit(c, x->app, x->a, "staff.2fa_reset", x->id, "success", NULL);
}

enum sf_err sf_staff_reset_2fa(struct sf_app *app, const struct sf_staff_actor *a, int64_t staff_id)
{
	struct admin_ctx x = {.app = app, .a = a, .id = staff_id};
	enum sf_err err = run_admin(app, reset2fa_txn, &x);
	/* The denial was audited in a committed transaction (x.out set after
	 * the audit append returned OK). */
	return err;
}

static enum sf_db_status access_txn(struct sf_db_conn *c, void *arg)
{
	struct admin_ctx *x = arg;
	enum sf_db_status st;
	if (precheck(c, x, 0, 0, &st))
		return st;
	struct sf_db_param p[] = {SF_DB_INT(x->id), SF_DB_TEXT(x->s1), SF_DB_TEXT(x->s2), SF_DB_TEXT(x->s3),
				  SF_DB_INT(x->a->now)};
	if ((st = sf_db_exec(c, SF_STMT_STAFF_SET_ACCESS, p, 5, NULL)) < 0)
		return st;
	return audit(c, x->app, x->a, "staff.access_policy", x->id, "success",
		     json_pack("{s:s, s:s, s:s}", "allow", x->s1, "deny", x->s2, "windows", x->s3));
}

enum sf_err sf_staff_set_access(struct sf_app *app, const struct sf_staff_actor *a, int64_t staff_id,
				const char *allow, const char *deny, const char *windows, const char **why)
{
	struct sf_windows w;
	*why = NULL;
	allow = allow ? allow : "";
	deny = deny ? deny : "";
	windows = windows ? windows : "";
	enum sf_err err = sf_iplist_check(allow, why);
	if (!err)
		err = sf_iplist_check(deny, why);
	if (!err)
		err = sf_windows_parse(windows, &w, why);
	if (err)
		return err;
	struct admin_ctx x = {.app = app, .a = a, .id = staff_id, .s1 = allow, .s2 = deny, .s3 = windows};
	return run_admin(app, access_txn, &x);
}

static struct sf_db_param opt_int(int64_t v)
{
	return v > 0 ? SF_DB_INT(v) : SF_DB_NULL;
}

static enum sf_db_status pwpol_txn(struct sf_db_conn *c, void *arg)
{
	struct admin_ctx *x = arg;
	enum sf_db_status st;
	if (precheck(c, x, 0, 0, &st))
		return st;
	struct sf_db_param p[] = {SF_DB_INT(x->id), opt_int(x->i1), opt_int(x->i2), SF_DB_INT(x->a->now)};
	if ((st = sf_db_exec(c, SF_STMT_STAFF_SET_PW_POLICY, p, 4, NULL)) < 0)
		return st;
	return audit(c, x->app, x->a, "staff.password_policy", x->id, "success",
		     json_pack("{s:I, s:I}", "min_length", (json_int_t)x->i1, "max_age_days", (json_int_t)x->i2));
}

static int pw_policy_ok(int64_t min_length, int64_t max_age_days, const char **why)
{
	if (min_length != 0 && (min_length < SF_PW_MIN_CHARS || min_length > SF_PW_MAX_CHARS)) {
		*why = "The minimum length must be between 12 and 128 characters.";
		return 0;
	}
	if (max_age_days < 0 || max_age_days > 3650) {
		*why = "The maximum age must be between 0 and 3650 days.";
		return 0;
	}
	return 1;
}

enum sf_err sf_staff_set_password_policy(struct sf_app *app, const struct sf_staff_actor *a, int64_t staff_id,
					 int64_t min_length, int64_t max_age_days, const char **why)
{
	*why = NULL;
	if (!pw_policy_ok(min_length, max_age_days, why))
		return SF_ERR_BAD_PARAM;
	struct admin_ctx x = {.app = app, .a = a, .id = staff_id, .i1 = min_length, .i2 = max_age_days};
	return run_admin(app, pwpol_txn, &x);
}

struct role_row {
	int64_t id;
	int builtin;
};

static void read_role(struct sf_db_cursor *cur, void *arg)
{
	struct role_row *r = arg;
	r->id = sf_db_col_int(cur, 0);
	r->builtin = (int)sf_db_col_int(cur, 1);
}

static enum sf_db_status role_save_txn(struct sf_db_conn *c, void *arg)
{
	struct admin_ctx *x = arg;
	struct role_row rr = {0};
	struct sf_db_param q[] = {SF_DB_TEXT(x->s1)};
	enum sf_db_status st = sf_db_query_one(c, SF_STMT_ROLE_BY_NAME, q, 1, read_role, &rr);
	if (st < 0)
		return st;
	if (rr.builtin) {
		x->out = SF_ERR_FORBIDDEN;
		return SF_DB_OK;
	}
	if (!rr.id) {
		struct sf_db_param p[] = {SF_DB_TEXT(x->s1), SF_DB_TEXT(x->s2), SF_DB_INT(x->a->now)};
		if ((st = sf_db_exec(c, SF_STMT_ROLE_INSERT, p, 3, NULL)) < 0)
			return st;
		rr.id = sf_db_last_id(c);
	}
	struct sf_db_param d[] = {SF_DB_INT(rr.id)};
	if ((st = sf_db_exec(c, SF_STMT_ROLE_PERMS_CLEAR, d, 1, NULL)) < 0)
		return st;
	json_t *list = json_array();
	for (size_t i = 0; i < x->nroles; i++) {
		struct sf_db_param p[] = {SF_DB_INT(rr.id), SF_DB_TEXT(x->roles[i])};
		if ((st = sf_db_exec(c, SF_STMT_ROLE_PERM_ADD, p, 2, NULL)) < 0) {
			json_decref(list);
			return st;
		}
		json_array_append_new(list, json_string(x->roles[i]));
	}
	struct sf_db_param pp[] = {SF_DB_INT(rr.id), opt_int(x->i1), opt_int(x->i2)};
	if ((st = sf_db_exec(c, SF_STMT_ROLE_SET_PW_POLICY, pp, 3, NULL)) < 0) {
		json_decref(list);
		return st;
	}
	return sf_staff_audit(c, x->app, x->a, "role.save", "role", rr.id, "success",
			      json_pack("{s:s, s:o}", "role", x->s1, "permissions", list ? list : json_array()));
}

enum sf_err sf_staff_role_save(struct sf_app *app, const struct sf_staff_actor *a, const char *name,
			       const char *description, const char *const *perms, size_t nperms, int64_t min_length,
			       int64_t max_age_days, const char **why)
{
	*why = NULL;
	struct sf_rbac_set b;
	if (!role_name_ok(name) || sf_rbac_builtin_set(name, &b)) {
		*why = "A role name is 1 to 64 of a-z, 0-9 and _, and not a built-in role's.";
		return SF_ERR_BAD_PARAM;
	}
	if (!description)
		description = "";
	if (strlen(description) > 500 || !sf_utf8_valid(description, strlen(description), 1)) {
		*why = "The description must be at most 500 bytes of text.";
		return SF_ERR_BAD_PARAM;
	}
	if (sf_log_has_card(name, strlen(name)) || sf_log_has_card(description, strlen(description)))
		return SF_ERR_CARD_DATA; /* stored and audited in clear */
	if (nperms > SF_RBAC_NPERM) {
		*why = "Too many permissions.";
		return SF_ERR_BAD_PARAM;
	}
	for (size_t i = 0; i < nperms; i++)
		if (!sf_rbac_valid(perms[i])) {
			*why = "Unknown permission: use resource.action names such as orders.read.";
			return SF_ERR_BAD_PARAM;
		}
	if (!pw_policy_ok(min_length, max_age_days, why))
		return SF_ERR_BAD_PARAM;
	struct admin_ctx x = {.app = app, .a = a, .s1 = name, .s2 = description, .roles = perms, .nroles = nperms,
			      .i1 = min_length, .i2 = max_age_days};
	return run_admin(app, role_save_txn, &x);
}

static enum sf_db_status role_delete_txn(struct sf_db_conn *c, void *arg)
{
	struct admin_ctx *x = arg;
	struct role_row rr = {0};
	struct sf_db_param q[] = {SF_DB_TEXT(x->s1)};
	enum sf_db_status st = sf_db_query_one(c, SF_STMT_ROLE_BY_NAME, q, 1, read_role, &rr);
	if (st < 0)
		return st;
	if (!rr.id || rr.builtin) {
		x->out = rr.id ? SF_ERR_FORBIDDEN : SF_ERR_NOT_FOUND;
		return SF_DB_OK;
	}
	struct sf_db_param d[] = {SF_DB_INT(rr.id)};
	if ((st = sf_db_exec(c, SF_STMT_ROLE_DELETE, d, 1, NULL)) < 0)
		return st;
	return audit(c, x->app, x->a, "role.delete", 0, "success", json_pack("{s:s}", "role", x->s1));
}

enum sf_err sf_staff_role_delete(struct sf_app *app, const struct sf_staff_actor *a, const char *name)
{
	if (!role_name_ok(name))
		return SF_ERR_NOT_FOUND;
	struct admin_ctx x = {.app = app, .a = a, .s1 = name};
	return run_admin(app, role_delete_txn, &x);
}

static enum sf_db_status end_txn(struct sf_db_conn *c, void *arg)
{
	struct admin_ctx *x = arg;
	enum sf_db_status st = exists(c, x);
	if (st < 0 || x->out)
		return st;
	int self = !strcmp(x->a->type, "staff") && x->a->staff_id == x->id;
	if (!self) {
		int act = actor_owner(c, x->a);
		if (act < 0)
			return SF_DB_HARD;
		if (!act) {
			x->out = SF_ERR_FORBIDDEN;
			return SF_DB_OK;
		}
	}
	if (x->i1) {
		int64_t changes = 0;
		struct sf_db_param p[] = {SF_DB_INT(x->i1), SF_DB_INT(x->id)};
		if ((st = sf_db_exec(c, SF_STMT_STAFF_SESS_DELETE, p, 2, &changes)) < 0)
			return st;
		if (changes != 1) {
			x->out = SF_ERR_NOT_FOUND;
			return SF_DB_OK;
		}
		return audit(c, x->app, x->a, "staff.session_revoke", x->id, "success",
			     json_pack("{s:I}", "session", (json_int_t)x->i1));
	}
	if ((st = sf_db_status_from_err(sf_session_delete_principal(c, "staff", x->id, x->i2))) < 0)
		return st;
	return audit(c, x->app, x->a, "staff.sessions_revoke", x->id, "success", NULL);
}

enum sf_err sf_staff_end_sessions(struct sf_app *app, const struct sf_staff_actor *a, int64_t staff_id,
				  int64_t session_id, int64_t keep_id)
{
	struct admin_ctx x = {.app = app, .a = a, .id = staff_id, .i1 = session_id, .i2 = keep_id};
	return run_admin(app, end_txn, &x);
}

/* ==== Read models ==== */

static json_t *split(const char *s, char sep)
{
	json_t *a = json_array();
	while (a && s && *s) {
		const char *e = strchr(s, sep);
		size_t n = e ? (size_t)(e - s) : strlen(s);
		if (n)
			json_array_append_new(a, json_stringn(s, n));
		s = e ? e + 1 : s + n;
	}
	return a;
}

enum sf_err sf_staff_json_rows(struct sf_app *app, enum sf_stmt id, const struct sf_db_param *params, size_t n,
			       sf_staff_row_fn row, void *ctx, json_t **out)
{
	*out = NULL;
	struct sf_db_conn *c = conn(app);
	if (!c)
		return SF_ERR_UNAVAILABLE;
	struct sf_db_cursor *cur = NULL;
	enum sf_db_status st = sf_db_query(c, id, params, n, &cur);
	if (st != SF_DB_OK)
		return sf_db_err(st);
	json_t *list = json_array();
	int oom = !list;
	while (!oom && (st = sf_db_next(cur)) == SF_DB_OK)
		oom = json_array_append_new(list, row(cur, ctx)) != 0;
	sf_db_cursor_close(cur);
	if (oom || st != SF_DB_NO_ROWS) {
		json_decref(list);
		return oom ? SF_ERR_NOMEM : sf_db_err(st);
	}
	*out = list;
	return SF_OK;
}

static json_t *staff_row(struct sf_db_cursor *cur, void *ctx)
{
	int64_t now = *(const int64_t *)ctx;
	return json_pack("{s:I, s:s, s:s, s:b, s:b, s:b, s:I, s:o}", "id", (json_int_t)sf_db_col_int(cur, 0), "email",
			 sf_db_col_text(cur, 1, NULL), "name", sf_db_col_text(cur, 2, NULL), "active",
			 (int)sf_db_col_int(cur, 3), "locked", sf_db_col_int(cur, 4) > now, "enrolled",
			 (int)sf_db_col_int(cur, 5), "created_at", (json_int_t)sf_db_col_int(cur, 6), "roles",
			 split(sf_db_col_text(cur, 7, NULL), ','));
}

enum sf_err sf_staff_list_json(struct sf_app *app, json_t **out)
{
	int64_t now = sf_auth_now();
	return sf_staff_json_rows(app, SF_STMT_STAFF_LIST, NULL, 0, staff_row, &now, out);
}

static json_t *opt_json(int64_t v)
{
	return v >= 0 ? json_integer(v) : json_null();
}

enum sf_err sf_staff_get_json(struct sf_app *app, int64_t staff_id, json_t **out)
{
	*out = NULL;
	struct sf_db_conn *c = conn(app);
	if (!c)
		return SF_ERR_UNAVAILABLE;
	struct srow r;
	struct perms p;
	int64_t left = 0;
	enum sf_db_status st = get_staff(c, staff_id, &r);
	wipe_srow(&r);
	if (st < 0)
		return sf_db_err(st);
	if (!r.found)
		return SF_ERR_NOT_FOUND;
	if ((st = load_perms(c, staff_id, &p)) < 0)
		return sf_db_err(st);
	struct sf_db_param q[] = {SF_DB_INT(staff_id)};
	if ((st = sf_db_query_one(c, SF_STMT_STAFF_RECOVERY_LEFT, q, 1, read_int, &left)) < 0)
		return sf_db_err(st);
	json_t *roles = json_array();
	for (size_t i = 0; roles && i < p.nroles; i++)
		json_array_append_new(roles, json_string(p.roles[i]));
	int64_t now = sf_auth_now();
	*out = json_pack("{s:I, s:s, s:s, s:b, s:b, s:I, s:b, s:o, s:s, s:s, s:s, s:o, s:o, s:I, s:I, s:I, s:b}",
			 "id", (json_int_t)r.id, "email", r.email, "name", r.name, "active", r.active, "locked",
			 r.locked_until > now, "locked_until", (json_int_t)(r.locked_until > now ? r.locked_until : 0),
			 "enrolled", r.enrolled, "roles", roles ? roles : json_array(), "allow_ips", r.allow, "deny_ips",
			 r.deny, "access_windows", r.windows, "pw_min_length", opt_json(r.pw_min), "pw_max_age_days",
			 opt_json(r.pw_max_age), "password_changed_at", (json_int_t)r.pw_changed,
			 "recovery_codes_left", (json_int_t)left, "created_at", (json_int_t)r.created, "owner", p.owner);
	return *out ? SF_OK : SF_ERR_NOMEM;
}

static json_t *role_row(struct sf_db_cursor *cur, void *ctx)
{
	(void)ctx;
	const char *name = sf_db_col_text(cur, 1, NULL);
	int builtin = (int)sf_db_col_int(cur, 2);
	json_t *perms;
	struct sf_rbac_set b;
	if (builtin && sf_rbac_builtin_set(name, &b)) {
		perms = json_array();
		for (int i = 0; perms && i < SF_RBAC_NPERM; i++)
			if (sf_rbac_set_has(&b, sf_rbac_name(i)))
				json_array_append_new(perms, json_string(sf_rbac_name(i)));
	} else {
		perms = split(sf_db_col_text(cur, 6, NULL), ' ');
	}
	return json_pack("{s:I, s:s, s:b, s:s, s:o, s:o, s:o, s:I}", "id", (json_int_t)sf_db_col_int(cur, 0), "name",
			 name, "builtin", builtin, "description", sf_db_col_text(cur, 3, NULL), "pw_min_length",
			 sf_db_col_is_null(cur, 4) ? json_null() : json_integer(sf_db_col_int(cur, 4)), "pw_max_age_days",
			 sf_db_col_is_null(cur, 5) ? json_null() : json_integer(sf_db_col_int(cur, 5)), "permissions",
			 perms ? perms : json_array(), "members", (json_int_t)sf_db_col_int(cur, 7));
}

enum sf_err sf_staff_roles_json(struct sf_app *app, json_t **out)
{
	return sf_staff_json_rows(app, SF_STMT_ROLE_LIST, NULL, 0, role_row, NULL, out);
}

static json_t *session_row(struct sf_db_cursor *cur, void *ctx)
{
	int64_t id = sf_db_col_int(cur, 0), current = *(const int64_t *)ctx;
	return json_pack("{s:I, s:I, s:I, s:I, s:s, s:s, s:s, s:b}", "id", (json_int_t)id, "created_at",
			 (json_int_t)sf_db_col_int(cur, 1), "last_seen_at", (json_int_t)sf_db_col_int(cur, 2),
			 "expires_at", (json_int_t)sf_db_col_int(cur, 3), "ip", sf_db_col_text(cur, 4, NULL), "stage",
			 sf_db_col_text(cur, 5, NULL), "user_agent", sf_db_col_text(cur, 6, NULL), "current",
			 id == current);
}

enum sf_err sf_staff_sessions_json(struct sf_app *app, int64_t staff_id, int64_t current, json_t **out)
{
	struct sf_db_param p[] = {SF_DB_INT(staff_id)};
	return sf_staff_json_rows(app, SF_STMT_STAFF_SESS_LIST, p, 1, session_row, &current, out);
}

enum sf_err sf_staff_tokens_prune(struct sf_db *db, int64_t now, int limit, int64_t *n)
{
	return sf_db_prune(db, SF_STMT_STAFF_TOKEN_OLD, SF_STMT_STAFF_TOKEN_DROP, now, limit, n);
}
