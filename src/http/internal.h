/*
 * internal.h — what the files of src/http/ share with each other (and with
 * their unit tests), never with handlers: the per-request context behind
 * req->priv, the strict decoders, the security header set and the helpers
 * the static handlers use.  libmicrohttpd types appear here and stop here.
 */
#ifndef SF_HTTP_INTERNAL_H
#define SF_HTTP_INTERNAL_H

#include <microhttpd.h>
#include <stdint.h>
#include <sys/socket.h>
#include <time.h>

#include "core/buf.h"
#include "http/http.h"

struct sf_http_server;

/* One listening daemon: the HTTPS one, or the plain one on http_port (which
 * either redirects to HTTPS or, without TLS, serves the routes). */
struct sf_http_listener {
	struct sf_http_server *srv;
	struct MHD_Daemon *daemon;
	int tls;      /* connections arrive over TLS */
	int redirect; /* answer everything with 308 to https */
	uint16_t port;
	struct sf_http_acceptor *acceptor; /* owns the listening socket */
};

struct sf_http_server {
	struct sf_http_options opt; /* copy; strings borrowed from the caller */
	const struct sf_route *routes;
	size_t nroutes;
	struct sf_route_index *route_ix; /* NULL: routes scanned in order */
	struct sf_http_hooks hooks;
	void *app;
	struct sf_http_listener https;
	struct sf_http_listener http;
	int proxy_tls; /* no certificate: TLS is terminated by a trusted proxy */
};

/* Per-request state; req.priv points back here. */
struct sf_http_ctx {
	struct sf_arena arena;
	struct sf_req req;
	struct sf_resp resp;
	struct sf_http_listener *ln; /* NULL in unit tests */
	struct MHD_Connection *con;  /* NULL in unit tests */
	struct timespec started;
	enum sf_err pending;         /* error found before the handler ran */
	const char *allow;           /* Allow header value for 405 answers */
	int phase;                   /* 0: first call not seen; 1: headers done; 2: answered;
	                              * 3: deferred to the request pool (server.c) */
	int hooks_started;           /* on_headers ran (or would have) */
	int inspect_body;            /* refused at the first call, body still read for the edge */
	int edge_body_done;          /* on_body ran for a refused request, or must not (on_headers refused) */
	int malformed;               /* refused as malformed framing: the edge never sees it */
	int discard_body;            /* body over the cap: drop it, answer 413 */
	int over_cap;                /* the connection is beyond a connection cap: 503, close */
	_Atomic int deferred_done;   /* phase 3: the pool has prepared resp */
	int chunked;
	size_t body_cap;
	size_t body_expected;        /* Content-Length, or 0 */
	struct sf_buf body_buf;      /* chunked bodies accumulate here */
	char *body_fixed;            /* Content-Length bodies land here (arena) */
	size_t body_got;
	size_t body_seen;            /* bytes received, including dropped ones */
	unsigned status_sent;
	size_t bytes_sent;
	const char *user_agent;      /* arena copy for the access log */
	char *raw_path_log;          /* arena copy of the target's path for the log */
};

/* ==== request.c ==== */

/* Strictly percent-decode the path part of a raw request target (everything
 * before '?').  The target must be origin-form ("/..."), printable ASCII,
 * with no fragment.  Returns:
 *   SF_OK               *out is the decoded path (arena string);
 *   SF_ERR_BAD_ENCODING a malformed %xx, %00, a decoded control character,
 *                       a raw non-ASCII or control byte, or invalid UTF-8;
 *   SF_ERR_BAD_REQUEST  not origin-form, a '#', a "." or ".." segment, an
 *                       empty segment ("//"), a backslash or an encoded '/';
 *   SF_ERR_NOMEM        the arena is exhausted. */
enum sf_err sf_http_decode_path(struct sf_arena *a, const char *raw, size_t len, char **out);

#define SF_HTTP_MAX_QARGS 64

/* Split a raw query string on '&' and '=' ('+' is a space) and decode each
 * part strictly (as the path, except that tab, CR and LF are allowed in
 * values).  Empty pairs are skipped; a pair without '=' has the value "".
 * Returns SF_OK with *args and *nargs set (arena), SF_ERR_BAD_ENCODING,
 * SF_ERR_BAD_PARAM (more than SF_HTTP_MAX_QARGS pairs or an empty name) or
 * SF_ERR_NOMEM. */
enum sf_err sf_http_parse_query(struct sf_arena *a, const char *raw, size_t len, struct sf_kv **args,
				size_t *nargs);

/* Is s[0..n) valid UTF-8 (no overlong forms, surrogates or values past
 * U+10FFFF)? */
int sf_http_utf8_valid(const unsigned char *s, size_t n);

/* Write a fresh request id (26 lowercase base32 chars of 128 random bits
 * plus NUL) into out. */
void sf_http_request_id(char out[SF_REQUEST_ID_LEN + 1]);

/* ==== response.c ==== */

/* Call fn for each security header that a response carries (X-Request-Id,
 * HSTS when hsts is set, CSP, nosniff, ...).  Cache-Control no-store and
 * the default CSP are left out when the handler set its own. */
void sf_http_security_headers(const char *request_id, int hsts, int has_cache_control, int has_csp,
			      void (*fn)(void *ctx, const char *k, const char *v), void *ctx);

/* The value of the HSTS header. */
#define SF_HTTP_HSTS "max-age=63072000; includeSubDomains"
#define SF_HTTP_CSP                                                                              \
	"default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "         \
	"object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

/* Find an extra header of resp by case-insensitive name, or NULL. */
const char *sf_http_resp_find(const struct sf_resp *resp, const char *name);

/* Does an If-None-Match header value match etag (a quoted strong ETag)?
 * Handles lists, weak validators and "*". */
int sf_http_etag_match(const char *if_none_match, const char *etag);

/* Release resp's owned body (body_free) and reset it to an empty 200. */
void sf_http_resp_reset(struct sf_resp *resp);

/* ==== static.c ==== */

/* Is p (the {*path} tail, already percent-decoded) acceptable below a
 * served root?  Rejects "", a leading '/', empty segments, segments that
 * start with '.', backslashes and NUL/control bytes.  Non-zero when fine. */
int sf_http_static_path_ok(const char *p);

/* The media content type for a file name by its extension (svg, png, jpg,
 * jpeg, webp, gif; case-insensitive), or NULL when not allowed. */
const char *sf_http_media_type(const char *name);

#define SF_HTTP_MEDIA_MAX (10u * 1024u * 1024u)
#define SF_HTTP_SVG_CSP "default-src 'none'; sandbox"

/* ==== proxyproto.c ==== */

/* Longest PROXY header accepted (v1 lines are at most 107 bytes; v2 headers
 * are 16 bytes plus an address block with optional TLVs). */
#define SF_PROXY_MAX_HEADER 1024

enum sf_proxy_result {
	SF_PROXY_INVALID = -1, /* not a valid PROXY v1/v2 header: close the connection */
	SF_PROXY_MORE = 0,     /* a valid prefix: wait for more bytes */
	SF_PROXY_OK = 1,       /* *addr is the client's address */
	SF_PROXY_LOCAL = 2,    /* valid, but names no client (LOCAL, UNKNOWN, AF_UNSPEC): keep the peer's */
};

/* Parse the PROXY protocol header at the start of buf[0..len).  On OK and
 * LOCAL, *consumed is the header's length (the bytes to remove before the
 * TLS or HTTP stream starts); on OK, *addr and *addrlen name the client
 * (AF_INET or AF_INET6 with its port). */
enum sf_proxy_result sf_proxy_parse(const uint8_t *buf, size_t len, struct sockaddr_storage *addr, socklen_t *addrlen,
				    size_t *consumed);

/* ==== accept.c ==== */

struct sf_http_acceptor;

/* Bind and listen on addr, then accept on a thread of its own: each
 * connection goes through hooks.on_accept (bans) and, when
 * hooks.expect_proxy says so for its peer, a PROXY header read with a
 * deadline; then it is handed to ln->daemon (MHD_add_connection) with the
 * client's address.  Returns SF_OK with *out and ln->port set. */
enum sf_err sf_http_acceptor_start(struct sf_http_listener *ln, const struct sockaddr *addr, socklen_t addrlen,
				   struct sf_http_acceptor **out, char *errbuf, size_t errlen);
/* The textual address of sa (an IPv4-mapped IPv6 address as IPv4) into
 * ip, and its port into *port when port is not NULL; "" for other families. */
void sf_http_addr_text(const struct sockaddr *sa, char *ip, size_t iplen, uint16_t *port);
/* Stop accepting and close the listening socket (connections already handed
 * over stay with the daemon). NULL accepted. */
void sf_http_acceptor_stop(struct sf_http_acceptor *ac);

/* ==== server.c ==== */

/* Only TLS 1.2 and 1.3 are offered; the server's cipher order wins. */
#define SF_HTTP_TLS_PRIORITIES "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2:%SERVER_PRECEDENCE"

/* The server a request belongs to, or NULL (unit tests). */
const struct sf_http_server *sf_http_req_server(const struct sf_req *req);

#endif
