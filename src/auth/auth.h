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

#endif
