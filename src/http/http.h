/*
 * http.h — the HTTP layer's public face: requests, responses, the static
 * route table, hooks for the edge (WAF, rate limits, bans) and the server.
 *
 * Layering: handlers (api/, web/) see only struct sf_req / struct sf_resp;
 * libmicrohttpd types never leave src/http/.  Everything a request allocates
 * comes from req->arena (hard cap) and dies with the request.
 *
 * The path of a request through this layer:
 *   accept  -> our own accept loop (accept.c): the PROXY header from a
 *              trusted proxy (hooks.expect_proxy), then hooks.on_accept
 *              (ban list; before anything is parsed), then the connection
 *              goes to a libmicrohttpd worker (socket number % workers)
 *   target  -> raw request target captured (URI log callback), URL length cap,
 *              request id assigned, arena created
 *   headers -> header size cap (connection memory limit), route lookup
 *              (404 / 405 + Allow), per-route body cap
 *   edge    -> hooks.on_headers, then the body is read (capped), then
 *              hooks.on_body — the WAF and rate limits sit here; they are
 *              skipped for routes flagged SF_ROUTE_STATIC
 *   auth    -> hooks.authorize: session/token, policy, permission, CSRF
 *   handler -> route->handler(req, resp)
 *   answer  -> security headers + X-Request-Id added, hooks.on_response,
 *              response queued, access log line written on completion.
 */
#ifndef SF_HTTP_HTTP_H
#define SF_HTTP_HTTP_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "core/arena.h"
#include "core/err.h"

#define SF_HTTP_MAX_PARAMS 8
#define SF_REQUEST_ID_LEN 26 /* 26 chars, base32 of 128 random bits */

/* ==== Route table ==== */

enum sf_auth_mode {
	SF_AUTH_NONE,     /* public */
	SF_AUTH_CUSTOMER, /* storefront customer session */
	SF_AUTH_STAFF,    /* back-office staff session (+ policy, 2FA) */
	SF_AUTH_TOKEN,    /* API bearer token */
	SF_AUTH_SIGNED,   /* signed webhook from a provider; no session */
};

enum sf_csrf_policy {
	SF_CSRF_NONE,     /* safe method, nothing to protect */
	SF_CSRF_REQUIRED, /* state-changing with a cookie session: token + origin */
	SF_CSRF_EXEMPT,   /* state-changing but authenticated otherwise (bearer, signature) */
};

/* Route classes: the unit rate limits and per-route limits are set for. */
enum sf_route_class {
	SF_RC_STATIC, SF_RC_HEALTH, SF_RC_READ, SF_RC_AUTH, SF_RC_ORDER,
	SF_RC_WEBHOOK, SF_RC_ADMIN, SF_RC_WRITE,
};

#define SF_ROUTE_STATIC 0x1u /* embedded static asset: not inspected by the WAF */

struct sf_req;
struct sf_resp;

/* A handler fills resp and returns SF_OK, or returns an error code and the
 * layer answers with the matching error page / JSON error. */
typedef enum sf_err (*sf_handler_fn)(struct sf_req *req, struct sf_resp *resp);

struct sf_route {
	const char *method;        /* "GET", "POST", ... (GET also answers HEAD) */
	const char *pattern;       /* "/api/v1/products/{slug}"; "{*rest}" matches the tail */
	sf_handler_fn handler;
	enum sf_auth_mode auth;
	const char *permission;    /* "catalog.read"; NULL only for SF_AUTH_NONE routes */
	enum sf_csrf_policy csrf;
	enum sf_route_class rclass;
	size_t max_body;           /* 0: the server default */
	unsigned flags;            /* SF_ROUTE_* */
};

/* ==== Requests ==== */

struct sf_kv {
	const char *k;
	const char *v;
};

struct sf_req {
	struct sf_arena *arena;     /* this request's arena */
	const char *method;
	const char *target;         /* raw request target as received */
	const char *path;           /* percent-decoded, validated UTF-8 path */
	const char *query;          /* raw query string (after '?') or NULL */
	struct sf_kv *qargs;        /* decoded query arguments, in order */
	size_t nqargs;
	const char *version;        /* "HTTP/1.1" */
	char request_id[SF_REQUEST_ID_LEN + 1];
	char client_ip[46];         /* textual address of the client */
	uint16_t client_port;
	int https;                  /* arrived over TLS */
	const struct sf_route *route;
	struct sf_kv params[SF_HTTP_MAX_PARAMS]; /* path parameters, decoded */
	size_t nparams;
	const char *body;           /* NUL-terminated copy of the body, or NULL */
	size_t body_len;
	void *app;                  /* the application context given to the server */
	void *edge;                 /* owned by the edge hooks (e.g. WAF transaction) */
	void *auth;                 /* owned by the auth hook: the authenticated principal */
	void *priv;                 /* owned by the http layer */
};

/* Request header by case-insensitive name, or NULL. */
const char *sf_req_header(struct sf_req *req, const char *name);
/* Decoded query argument (first occurrence) or NULL. */
const char *sf_req_query(const struct sf_req *req, const char *name);
/* Path parameter from the route pattern, or NULL. */
const char *sf_req_param(const struct sf_req *req, const char *name);
/* Cookie value, or NULL. */
const char *sf_req_cookie(struct sf_req *req, const char *name);
/* Iterate every header: fn is called for each (name, value) in order. */
void sf_req_headers_each(struct sf_req *req, void (*fn)(void *ctx, const char *k, const char *v),
			 void *ctx);
/* Does the path start with /api/? (errors answer JSON there). */
int sf_req_is_api(const struct sf_req *req);

/* ==== multipart/form-data (multipart.c) ==== */

struct sf_part {
	const char *name;          /* the form field name (arena) */
	const char *content_type;  /* the part's Content-Type (arena) or NULL */
	const unsigned char *data; /* into req->body, not NUL-terminated */
	size_t len;
	int is_file;               /* the part carried a filename (a file input) */
};

/* Is this Content-Type multipart/form-data? */
int sf_multipart_is(const char *content_type);
/* Split req->body into at most max parts.  SF_OK with *nparts set;
 * SF_ERR_UNSUPPORTED_MEDIA (not multipart/form-data); SF_ERR_BAD_REQUEST
 * (no or bad boundary, bad framing, a part without a name, more than max
 * parts). */
enum sf_err sf_multipart_parse(struct sf_req *req, struct sf_part *parts, size_t max,
			       size_t *nparts) SF_WARN_UNUSED;
/* The same on any bytes (for tests and fuzzing): ct is the Content-Type,
 * data[0..len) the body; parts point into data; copies come from a. */
enum sf_err sf_multipart_split(struct sf_arena *a, const char *ct, const char *data, size_t len,
			       struct sf_part *parts, size_t max, size_t *nparts) SF_WARN_UNUSED;

/* ==== Responses ==== */

struct sf_resp {
	unsigned status;          /* default 200 */
	const char *content_type; /* default "text/html; charset=utf-8" */
	const void *body;
	size_t body_len;
	void (*body_free)(void *); /* called on body after sending, or NULL */
	struct sf_kv headers[24];  /* extra headers (arena strings) */
	size_t nheaders;
};

/* Add a header (values copied into the request arena). */
enum sf_err sf_resp_header(struct sf_req *req, struct sf_resp *resp, const char *name, const char *value);
/* Set a body the response owns: body_free(body) runs once sent (may be NULL
 * for static or arena memory). */
void sf_resp_body(struct sf_resp *resp, unsigned status, const char *content_type, const void *body,
		  size_t len, void (*body_free)(void *));
/* A 200 answer with body (as sf_resp_body) carrying a strong ETag (etag is
 * quoted, e.g. "\"abc\""): when the request's If-None-Match matches it, the
 * answer is 304 without a body instead (body_free still runs).  Returns
 * SF_OK, or the error of adding the ETag header (the body is then owned by
 * resp anyway). */
enum sf_err sf_resp_tagged(struct sf_req *req, struct sf_resp *resp, const char *content_type, const void *body,
			   size_t len, void (*body_free)(void *), const char *etag);
/* Serialise json (reference stolen) as the body, application/json. */
enum sf_err sf_resp_json(struct sf_req *req, struct sf_resp *resp, unsigned status, json_t *json);
/* A redirect (303 for POST answers, 302 otherwise when status is 0). */
enum sf_err sf_resp_redirect(struct sf_req *req, struct sf_resp *resp, unsigned status, const char *location);
/* Fill resp with the error answer for err: JSON
 * {"error":{"code","message","request_id"}} under /api/, an HTML page
 * elsewhere (hooks.error_page when set, else a built-in escaped page).
 * message NULL uses the registry's description; for errors whose status is
 * 5xx the registry's description is always used, so a message can never
 * leak internal detail.  The body is heap memory (works with a full arena). */
void sf_resp_error(struct sf_req *req, struct sf_resp *resp, enum sf_err err, const char *message);

/* ==== Server ==== */

struct sf_http_hooks {
	/* After accept, before parsing: return non-zero to drop the connection. */
	int (*on_accept)(void *app, const char *ip);
	/* Right after accept, with the socket's peer address: non-zero when this
	 * peer is a trusted proxy that starts every connection with a PROXY
	 * protocol header (v1 or v2).  The header is then required (read with a
	 * deadline, connection closed when missing or malformed) and its client
	 * address replaces the peer's for everything after it, on_accept
	 * included.  NULL: no PROXY protocol. */
	int (*expect_proxy)(void *app, const char *peer_ip);
	/* After the headers, before the body (not for SF_ROUTE_STATIC routes). */
	enum sf_err (*on_headers)(struct sf_req *req);
	/* After the complete body, before the handler (not for static routes). */
	enum sf_err (*on_body)(struct sf_req *req);
	/* The auth stage, after on_body and before the handler (not for static
	 * routes): resolve the session or token into req->auth and enforce the
	 * route's auth mode, permission and CSRF policy.  An error answers with
	 * that error (401/403) and the handler does not run; resp may carry
	 * headers (e.g. a cleared cookie) that survive the error answer only if
	 * the hook returns SF_OK. */
	enum sf_err (*authorize)(struct sf_req *req, struct sf_resp *resp);
	/* After the handler, before sending (response headers phase). */
	void (*on_response)(struct sf_req *req, struct sf_resp *resp);
	/* When the request is done: called for every request that reached the
	 * handler stage (so always when on_headers was), errors included. */
	void (*on_done)(struct sf_req *req);
	/* Render an HTML error page into resp (NULL: built-in minimal page). */
	void (*error_page)(struct sf_req *req, struct sf_resp *resp, enum sf_err err, const char *message);
};

struct sf_http_options {
	const char *bind_addr;        /* "127.0.0.1", "::", "0.0.0.0" */
	uint16_t https_port;          /* with a certificate: the HTTPS port, 0 an ephemeral one
	                               * (see sf_http_https_port); without one it must be 0 */
	uint16_t http_port;           /* 0: none; otherwise only redirects to HTTPS (or serves if no TLS) */
	const char *tls_cert_pem;     /* PEM text (NULL: plain HTTP, only with a TLS-terminating proxy);
	                               * needed only during sf_http_start (may be wiped after) */
	const char *tls_key_pem;
	const char *public_host;      /* host:port used in redirects; NULL: derive from Host */
	unsigned threads;             /* 0: number of cores */
	int write_nice;               /* nice value (0..19) of the threads that run requests other than
	                               * GET/HEAD (the request pool); higher lets reads go first */
	unsigned max_connections;     /* total */
	unsigned max_connections_per_ip;
	unsigned timeout_s;           /* idle/slow client timeout */
	size_t max_url;               /* bytes of the request target */
	size_t max_header;            /* bytes of all request headers */
	size_t max_body;              /* default body cap per request */
	size_t arena_cap;             /* hard cap per request (must exceed the largest body cap:
	                               * the body is copied into the arena) */
	int hsts;                     /* send Strict-Transport-Security (HTTPS, or behind TLS proxy) */
	const char *media_dir;        /* directory served under /media/ (NULL: none) */
	int http_ephemeral;           /* with http_port 0: still open the plain listener on an
	                               * ephemeral port (tests; see sf_http_http_port) */
	const char *admin_prefix;     /* the back-office path ([admin] path): a request under it is
	                               * routed as "/admin" + the rest, and "/admin..." itself answers
	                               * 404; NULL or "/admin": no rewrite */
};

struct sf_http_server;

/* Start listening.  routes must outlive the server.  Returns SF_OK or an
 * error with a reason (which port, which option) in errbuf. */
enum sf_err sf_http_start(const struct sf_http_options *opt, const struct sf_route *routes, size_t nroutes,
			  const struct sf_http_hooks *hooks, void *app, struct sf_http_server **out,
			  char *errbuf, size_t errlen) SF_WARN_UNUSED;
/* Stop accepting, finish in-flight requests, free. NULL accepted. */
void sf_http_stop(struct sf_http_server *srv);
/* The ports actually bound (useful with port 0 in tests). */
uint16_t sf_http_https_port(const struct sf_http_server *srv);
uint16_t sf_http_http_port(const struct sf_http_server *srv);

/* ==== Static files: handlers for the application's route table ==== */

/* For "/static/{*path}" (flags SF_ROUTE_STATIC): the embedded asset
 * "static/" + path with its ETag; If-None-Match -> 304; Cache-Control
 * "public, max-age=31536000, immutable".  Nothing outside "static/" is
 * reachable.  Returns SF_OK, SF_ERR_NOT_FOUND or SF_ERR_BAD_REQUEST (a
 * dot segment, empty segment or backslash in path). */
enum sf_err sf_http_static_asset(struct sf_req *req, struct sf_resp *resp);
/* For "/media/{*path}": a regular file below opt->media_dir, opened
 * segment by segment with O_NOFOLLOW (no symlinks), at most 10 MB, of an
 * allowed image type (svg, png, jpg, jpeg, webp, gif), with an ETag from
 * size and mtime; If-None-Match -> 304; SVG gets the CSP
 * "default-src 'none'; sandbox".  Returns SF_OK, SF_ERR_NOT_FOUND (also
 * for a disallowed type, a symlink, a non-regular or too large file, or no
 * media_dir), SF_ERR_BAD_REQUEST (bad path), SF_ERR_IO or SF_ERR_NOMEM.
 * The body is heap memory freed after sending. */
enum sf_err sf_http_static_media(struct sf_req *req, struct sf_resp *resp);

/* The back-office prefix rewrite (see sf_http_options.admin_prefix) for a
 * decoded path: returns path unchanged, the rewritten path (arena string),
 * or NULL when the path must answer 404 (the literal /admin under another
 * prefix) or the arena is exhausted (*nomem set). */
const char *sf_http_admin_rewrite(struct sf_arena *a, const char *prefix, const char *path, int *nomem);
/* The same rewrite the other way, for Location headers: a local redirect to
 * "/admin..." becomes prefix + the rest, so handlers may always name the
 * internal "/admin" paths.  Other locations are returned unchanged. */
const char *sf_http_admin_outward(struct sf_arena *a, const char *prefix, const char *location, int *nomem);

/* Match a path against the table.  Returns the route or NULL; sets *allow
 * (arena string "GET, HEAD") when the path exists with other methods. */
const struct sf_route *sf_http_route_match(const struct sf_route *routes, size_t nroutes, const char *method,
					   const char *path, struct sf_req *req, const char **allow);

/* The same matching through an index built once per table: routes grouped
 * by their literal first 1-3 path segments (routes that start with a
 * parameter are candidates for every path; table order kept), so a request
 * walks only the routes that could fit.  Same answers as sf_http_route_match,
 * including Allow.
 * new returns NULL when out of memory or a pattern is NULL; the table must
 * outlive the index. */
struct sf_route_index;
struct sf_route_index *sf_http_route_index_new(const struct sf_route *routes, size_t nroutes);
void sf_http_route_index_free(struct sf_route_index *ix);
const struct sf_route *sf_http_route_match_ix(const struct sf_route_index *ix, const char *method, const char *path,
					      struct sf_req *req, const char **allow);

#endif
