/*
 * authorize.c — the auth stage (auth.h): principal resolution, the route
 * row's auth mode and CSRF policy, anonymous CSRF tokens, login/logout
 * session switching and the injectable clock.
 */
#include "auth/auth.h"

#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "auth/auth_int.h"
#include "auth/csrf.h"
#include "auth/form.h"
#include "auth/session.h"
#include "core/app.h"
#include "core/config.h"
#include "core/log.h"
#include "core/util.h"
#include "db/db.h"
#include "edge/edge.h"
#include "http/internal.h"

#define CUSTOMER_COOKIE "__Host-sf_session"
#define COOKIE_HDR_MAX 256

/* ==== Clock ==== */

static int64_t (*clock_fn)(void);

int64_t sf_auth_now(void)
{
	int64_t (*fn)(void) = __atomic_load_n(&clock_fn, __ATOMIC_ACQUIRE);
	return fn ? fn() : (int64_t)time(NULL);
}

void sf_auth_set_clock(int64_t (*fn)(void))
{
	__atomic_store_n(&clock_fn, fn, __ATOMIC_RELEASE);
}

/* ==== Registered policies and resolvers ==== */

static const struct sf_session_policy *policies[SF_PRINCIPAL_TOKEN + 1];
static sf_auth_mode_fn mode_fns[SF_AUTH_SIGNED + 1];

void sf_auth_set_policy(enum sf_principal_kind kind, const struct sf_session_policy *pol)
{
	if ((unsigned)kind <= SF_PRINCIPAL_TOKEN && kind != SF_PRINCIPAL_CUSTOMER)
		policies[kind] = pol;
}

void sf_auth_set_mode_handler(enum sf_auth_mode mode, sf_auth_mode_fn fn)
{
	if (mode == SF_AUTH_STAFF || mode == SF_AUTH_TOKEN)
		mode_fns[mode] = fn;
}

void sf_auth_customer_policy(const struct sf_config *cfg, struct sf_session_policy *out)
{
	out->kind = "customer";
	out->cookie = CUSTOMER_COOKIE;
	out->same_site = "Lax";
	out->idle_s = cfg ? cfg->auth_customer_idle_s : 30 * 60;
	out->absolute_s = cfg ? cfg->auth_customer_absolute_s : 7 * 86400;
}

static const struct sf_config *req_cfg(const struct sf_req *req)
{
	const struct sf_app *app = req->app;
	return app ? app->cfg : NULL;
}

/* The policy for kind on this request (customer: built from the config). */
static const struct sf_session_policy *policy_for(const struct sf_req *req, enum sf_principal_kind kind,
						  struct sf_session_policy *buf)
{
	if (kind == SF_PRINCIPAL_CUSTOMER) {
		sf_auth_customer_policy(req_cfg(req), buf);
		return buf;
	}
	return (unsigned)kind <= SF_PRINCIPAL_TOKEN ? policies[kind] : NULL;
}

/* ==== Per-request state ==== */

static const struct sf_principal anonymous = {SF_PRINCIPAL_ANONYMOUS, 0, 0};

struct sf_auth_state *sf_auth_state(struct sf_req *req)
{
	if (!req->auth)
		req->auth = sf_arena_zalloc(req->arena, sizeof(struct sf_auth_state));
	return req->auth;
}

const struct sf_principal *sf_auth_principal(const struct sf_req *req)
{
	const struct sf_auth_state *st = req->auth;
	return st ? &st->p : &anonymous;
}

void sf_auth_set_principal(struct sf_req *req, const struct sf_principal *p)
{
	struct sf_auth_state *st = sf_auth_state(req);
	if (st)
		st->p = *p;
}

static struct sf_db_conn *req_conn(struct sf_req *req)
{
	struct sf_app *app = req->app;
	return app && app->db ? sf_db_conn_get(app->db) : NULL;
}

static const struct sf_keyring *req_keys(struct sf_req *req)
{
	const struct sf_app *app = req->app;
	return app ? app->keys : NULL;
}

static int https_of(const struct sf_req *req)
{
	const struct sf_http_server *srv = sf_http_req_server(req);
	return req->https || (srv && srv->proxy_tls);
}

static enum sf_err set_cookie(struct sf_req *req, struct sf_resp *resp, const struct sf_session_policy *pol,
			      const char *token)
{
	char v[COOKIE_HDR_MAX];
	enum sf_err err = sf_session_cookie(pol, token, v, sizeof v);
	if (!err)
		err = sf_resp_header(req, resp, "Set-Cookie", v);
	sodium_memzero(v, sizeof v);
	return err;
}

/* Resolve the customer session cookie into st.  An unknown or expired one
 * is cleared on resp. */
static enum sf_err resolve_customer(struct sf_req *req, struct sf_resp *resp, struct sf_auth_state *st)
{
	struct sf_session_policy pol;
	sf_auth_customer_policy(req_cfg(req), &pol);
	const char *ck = sf_req_cookie(req, pol.cookie);
	if (!ck)
		return SF_OK;
	struct sf_db_conn *c = req_conn(req);
	if (!c)
		return SF_ERR_UNAVAILABLE;
	struct sf_session s;
	enum sf_err err = sf_session_lookup(c, &pol, ck, sf_auth_now(), &s);
	if (err == SF_ERR_NOT_FOUND)
		return set_cookie(req, resp, &pol, NULL);
	if (err)
		return err;
	st->p.kind = SF_PRINCIPAL_CUSTOMER;
	st->p.id = s.principal_id;
	st->p.session_id = s.id;
	st->has_session = 1;
	memcpy(st->sess_hash, s.hash, sizeof st->sess_hash);
	return SF_OK;
}

static int method_is_safe(const char *m)
{
	return !strcmp(m, "GET") || !strcmp(m, "HEAD") || !strcmp(m, "OPTIONS");
}

static enum sf_err check_csrf(struct sf_req *req, struct sf_auth_state *st)
{
	enum sf_err err = sf_csrf_origin_check(sf_req_header(req, "Sec-Fetch-Site"), sf_req_header(req, "Origin"),
					       sf_req_header(req, "Host"), https_of(req));
	if (err)
		return err;
	const char *tok = sf_req_header(req, "X-CSRF-Token");
	if (!tok) {
		err = sf_form_parse(req);
		if (err == SF_ERR_UNSUPPORTED_MEDIA)
			return SF_ERR_CSRF; /* a JSON body must carry the header */
		if (err)
			return err;
		tok = sf_form_get(req, "csrf_token");
	}
	if (!tok)
		return SF_ERR_CSRF;
	const struct sf_keyring *kr = req_keys(req);
	if (st->has_session && sf_csrf_matches(kr, SF_CSRF_BIND_SESSION, st->sess_hash, sizeof st->sess_hash, tok))
		return SF_OK;
	if (st->pre && sf_csrf_matches(kr, SF_CSRF_BIND_PRESESSION, st->pre, strlen(st->pre), tok))
		return SF_OK;
	return SF_ERR_CSRF;
}

enum sf_err sf_auth_authorize(struct sf_req *req, struct sf_resp *resp)
{
	const struct sf_route *route = req->route;
	struct sf_auth_state *st = sf_auth_state(req);
	if (!st || !route)
		return st ? SF_ERR_INTERNAL : SF_ERR_NOMEM;
	const char *pre = sf_req_cookie(req, SF_PRESESSION_COOKIE);
	if (sf_token_shape_ok(pre))
		st->pre = pre;
	enum sf_err err = resolve_customer(req, resp, st);
	if (err)
		return err;
	switch (route->auth) {
	case SF_AUTH_NONE:
	case SF_AUTH_SIGNED: /* the handler verifies the provider's signature */
		break;
	case SF_AUTH_CUSTOMER:
		if (st->p.kind != SF_PRINCIPAL_CUSTOMER)
			return SF_ERR_UNAUTHORIZED;
		break;
	case SF_AUTH_STAFF:
	case SF_AUTH_TOKEN:
		if (!mode_fns[route->auth])
			return SF_ERR_FORBIDDEN;
		err = mode_fns[route->auth](req, resp);
		if (err)
			return err;
		break;
	default:
		return SF_ERR_FORBIDDEN;
	}
	if (!method_is_safe(req->method)) {
		if (route->csrf == SF_CSRF_NONE)
			return SF_ERR_CSRF; /* a state-changing route that declared nothing */
		if (route->csrf == SF_CSRF_REQUIRED) {
			err = check_csrf(req, st);
			if (err) {
				sf_log(SF_LOG_WARN, "auth.csrf_refused", "%s %s refused (%s) request_id=%s",
				       req->method, route->pattern, sf_err_code(err), req->request_id);
				return err;
			}
		}
	}
	return SF_OK;
}

const char *sf_auth_csrf_token(struct sf_req *req, struct sf_resp *resp)
{
	struct sf_auth_state *st = sf_auth_state(req);
	const struct sf_keyring *kr = req_keys(req);
	char tok[SF_CSRF_TOKEN_LEN + 1];
	if (!st)
		return NULL;
	if (st->has_session) {
		if (sf_csrf_make(kr, SF_CSRF_BIND_SESSION, st->sess_hash, sizeof st->sess_hash, tok))
			return NULL;
		return sf_arena_strdup(req->arena, tok);
	}
	if (!st->pre) {
		char v[SF_SESSION_COOKIE_LEN + 1];
		sf_token_new(v);
		const char *val = sf_arena_strdup(req->arena, v);
		const char *hdr = sf_arena_printf(req->arena, "%s=%s; Path=/; Secure; HttpOnly; SameSite=Lax",
						  SF_PRESESSION_COOKIE, v);
		sodium_memzero(v, sizeof v);
		if (!val || !hdr || sf_resp_header(req, resp, "Set-Cookie", hdr))
			return NULL;
		st->pre = val;
		st->pre_set = 1;
	}
	if (sf_csrf_make(kr, SF_CSRF_BIND_PRESESSION, st->pre, strlen(st->pre), tok))
		return NULL;
	return sf_arena_strdup(req->arena, tok);
}

/* ==== Login / logout ==== */

struct start_ctx {
	const struct sf_session_policy *pol;
	int64_t old_id;
	int64_t id;
	const char *ip;
	int64_t now;
	char token[SF_SESSION_COOKIE_LEN + 1];
	struct sf_session s;
};

static enum sf_db_status start_txn(struct sf_db_conn *c, void *arg)
{
	struct start_ctx *x = arg;
	if (x->old_id) {
		enum sf_err err = sf_session_delete(c, x->old_id);
		if (err)
			return sf_db_status_from_err(err);
	}
	return sf_db_status_from_err(sf_session_create(c, x->pol, x->id, x->ip, x->now, x->token, &x->s));
}

enum sf_err sf_auth_session_start(struct sf_req *req, struct sf_resp *resp, enum sf_principal_kind kind, int64_t id)
{
	struct sf_session_policy buf;
	const struct sf_session_policy *pol = policy_for(req, kind, &buf);
	struct sf_auth_state *st = sf_auth_state(req);
	struct sf_app *app = req->app;
	if (!pol)
		return SF_ERR_INVALID;
	if (!st)
		return SF_ERR_NOMEM;
	if (!app || !app->db)
		return SF_ERR_UNAVAILABLE;
	struct start_ctx x = {.pol = pol, .old_id = st->has_session ? st->p.session_id : 0, .id = id,
			      .ip = req->client_ip[0] ? req->client_ip : NULL, .now = sf_auth_now()};
	enum sf_db_status dst = sf_db_txn(app->db, start_txn, &x, 5);
	enum sf_err err = sf_db_err(dst);
	if (!err)
		err = set_cookie(req, resp, pol, x.token);
	sodium_memzero(x.token, sizeof x.token);
	if (err)
		return err;
	st->p.kind = kind;
	st->p.id = id;
	st->p.session_id = x.s.id;
	st->has_session = 1;
	memcpy(st->sess_hash, x.s.hash, sizeof st->sess_hash);
	return SF_OK;
}

enum sf_err sf_auth_session_end(struct sf_req *req, struct sf_resp *resp)
{
	struct sf_auth_state *st = sf_auth_state(req);
	if (!st)
		return SF_ERR_NOMEM;
	struct sf_session_policy buf;
	const struct sf_session_policy *pol = policy_for(req, st->p.kind, &buf);
	if (st->has_session) {
		struct sf_db_conn *c = req_conn(req);
		if (!c)
			return SF_ERR_UNAVAILABLE;
		enum sf_err err = sf_session_delete(c, st->p.session_id);
		if (err)
			return err;
	}
	if (pol) {
		enum sf_err err = set_cookie(req, resp, pol, NULL);
		if (err)
			return err;
	}
	st->p = anonymous;
	st->has_session = 0;
	sodium_memzero(st->sess_hash, sizeof st->sess_hash);
	return SF_OK;
}

void sf_auth_login_failed(struct sf_req *req, const char *kind)
{
	sf_log(SF_LOG_INFO, "auth.login_failed", "%s login failed from %s request_id=%s", kind, req->client_ip,
	       req->request_id);
	struct sf_app *app = req->app;
	if (app && req->client_ip[0])
		(void)sf_edge_report(app, req->client_ip, SF_EDGE_LOGIN_FAILED, req->request_id);
}
