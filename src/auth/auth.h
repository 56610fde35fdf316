/*
 * auth.h — the auth stage of the request path: who is calling, and may they.
 *
 * sf_auth_authorize is installed as sf_http_hooks.authorize.  For every
 * non-static route it:
 *   1. resolves the caller into a principal (req->auth): a customer or staff
 *      session cookie, or an API bearer token; anonymous otherwise;
 *   2. enforces the route row: auth mode (401 when a session is required and
 *      missing), permission (403), and CSRF policy — for SF_CSRF_REQUIRED on
 *      an unsafe method, a valid CSRF token (form field "csrf_token" or header
 *      "X-CSRF-Token") plus an Origin / Sec-Fetch-Site check; a missing or
 *      wrong token is 403 and the handler never runs.
 * Anonymous visitors get CSRF tokens too (bound to a pre-session cookie), so
 * register, login and guest-cart forms are protected the same way.
 *
 * Handlers use only the functions below; the session store, cookie names and
 * token formats are private to src/auth/.
 */
#ifndef SF_AUTH_AUTH_H
#define SF_AUTH_AUTH_H

#include <stdint.h>

#include "core/err.h"
#include "http/http.h"

enum sf_principal_kind {
	SF_PRINCIPAL_ANONYMOUS = 0,
	SF_PRINCIPAL_CUSTOMER,
	SF_PRINCIPAL_STAFF,
	SF_PRINCIPAL_TOKEN,
};

struct sf_principal {
	enum sf_principal_kind kind;
	int64_t id;         /* customer id, staff id or API token id; 0 when anonymous */
	int64_t session_id; /* 0 when none */
};

/* The principal of this request (never NULL; anonymous before/without the
 * auth stage). */
const struct sf_principal *sf_auth_principal(const struct sf_req *req);

/* The CSRF token to put in a form of this response (hidden field
 * "csrf_token") or hand to a cookie-session API client.  Creates the
 * anonymous pre-session cookie on resp when the visitor has none.  Returns
 * an arena string, or NULL on allocation failure. */
const char *sf_auth_csrf_token(struct sf_req *req, struct sf_resp *resp);

/* The hook (see above). */
enum sf_err sf_auth_authorize(struct sf_req *req, struct sf_resp *resp);

/* ==== Sessions for handlers (login / logout) ==== */

struct sf_config;
struct sf_session_policy;

/* Start a session for (kind, id) after a successful login or a privilege
 * change: the request's current session (if any) is deleted, a new token is
 * made and set as the kind's cookie on resp, and the request's principal
 * becomes (kind, id), so a CSRF token made afterwards for this response is
 * bound to the new session.  Only SF_PRINCIPAL_CUSTOMER has a built-in
 * policy; other kinds need sf_auth_set_policy first.  Returns SF_OK,
 * SF_ERR_INVALID (no policy for kind), SF_ERR_UNAVAILABLE (no database),
 * SF_ERR_DB*. */
enum sf_err sf_auth_session_start(struct sf_req *req, struct sf_resp *resp, enum sf_principal_kind kind,
				  int64_t id) SF_WARN_UNUSED;

/* Log out: delete the request's session and clear its cookie on resp; the
 * principal becomes anonymous.  SF_OK also without a session; SF_ERR_DB*. */
enum sf_err sf_auth_session_end(struct sf_req *req, struct sf_resp *resp) SF_WARN_UNUSED;

/* The customer session policy for cfg (NULL: defaults): cookie
 * "__Host-sf_session", SameSite=Lax, [auth] customer_idle_timeout and
 * customer_absolute_timeout. */
void sf_auth_customer_policy(const struct sf_config *cfg, struct sf_session_policy *out);

/* Register the session policy of another principal kind (staff: its own
 * cookie, SameSite=Strict, 15 min idle / 8 h absolute).  pol must outlive
 * the server.  Call before serving. */
void sf_auth_set_policy(enum sf_principal_kind kind, const struct sf_session_policy *pol);

/* A module that grants access for an auth mode (staff sessions and their
 * policy, API tokens) registers its resolver here before serving; it sets
 * the principal (sf_auth_set_principal) and returns SF_OK, or an error
 * (401/403).  Without a resolver, SF_AUTH_STAFF and SF_AUTH_TOKEN routes
 * are denied (403): deny by default. */
typedef enum sf_err (*sf_auth_mode_fn)(struct sf_req *req, struct sf_resp *resp);
void sf_auth_set_mode_handler(enum sf_auth_mode mode, sf_auth_mode_fn fn);
/* For resolvers: set the request's principal. */
void sf_auth_set_principal(struct sf_req *req, const struct sf_principal *p);

/* ==== Time (injectable for tests) ==== */

/* Seconds since the epoch: time(NULL), or the test clock. */
int64_t sf_auth_now(void);
/* Replace the clock (NULL restores time(NULL)).  Tests only. */
void sf_auth_set_clock(int64_t (*fn)(void));

/* ==== Failed logins ==== */

/* Report a failed login from this request's client address to the edge
 * (ban list) and the application log.  Called by every login handler on
 * each failure, whatever its kind. */
void sf_auth_login_failed(struct sf_req *req, const char *kind);

#endif
