/*
 * server.c — the libmicrohttpd daemons and the request state machine.
 *
 * One HTTPS daemon serves the routes; an optional plain daemon on http_port
 * answers every request with 308 to HTTPS (or, when there is no certificate
 * because a trusted proxy terminates TLS, serves the routes itself).
 *
 * libmicrohttpd calls the access handler several times per request:
 *   1st call (headers complete): decode the raw target, check limits, route,
 *            run hooks.on_headers.  Nothing is queued here (queueing on the
 *            first call makes 0.9.75 close keep-alive connections), except
 *            an error for a request that announces a body we will not read.
 *   next calls with data: the body, accumulated up to the route's cap.
 *   last call (no data): hooks.on_body, the handler, the answer.
 *
 * A watchdog thread closes connections that take longer than timeout_s to
 * deliver a request (slowloris): libmicrohttpd's own timeout only counts
 * idle time, and one byte a second is never idle.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/log.h"
#include "core/util.h"
#include "core/workpool.h"
#include "http/internal.h"
#include "http/tlsout.h"

/* ==== Connection watchdog ==== */

/* The request path only stores and clears deadlines (atomics, no lock):
 * taking a shared mutex and waking the watchdog on every request cost more
 * than a third of the CPU time of a small keep-alive request.  The mutex
 * guards the list, which changes once per connection, not per request. */
struct sf_http_watch {
	struct sf_http_watch *prev, *next;
	int fd;
	_Atomic long long deadline_ms; /* CLOCK_MONOTONIC ms; 0: not receiving a request */
	uint8_t addr[16];              /* the client (IPv4 as IPv4-mapped IPv6) */
	int counted;                   /* included in the connection counts */
	int over_cap;                  /* beyond max_connections(_per_ip): answer 503 and close */
	int tls;                       /* out is this connection's TLS push */
	struct sf_tls_out out;
};

/* ==== Connection counts ====
 *
 * max_connections and max_connections_per_ip are enforced here, per
 * connection, so that a client beyond them gets an answer (503, Connection:
 * close) rather than a reset: libmicrohttpd's own limits, which can only
 * close the socket, are set CAP_GRACE higher as the hard stop. */

#define CAP_GRACE_PER_IP 8
#define CAP_GRACE_TOTAL 64
#define COUNT_BUCKETS 1024

struct ip_count {
	struct ip_count *next;
	uint8_t addr[16];
	unsigned n;
};

struct sf_http_counts {
	pthread_mutex_t mu;
	unsigned total;
	struct ip_count *b[COUNT_BUCKETS];
};

struct sf_http_watchdog {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	pthread_t thread;
	int running;
	int stop;
	struct sf_http_watch *head;
	unsigned timeout_s;
	_Atomic size_t inflight;  /* requests between the URI callback and completion */
	_Atomic int draining;     /* sf_http_stop waits for inflight to reach 0 */
};

struct sf_http_server_full {
	struct sf_http_server pub;
	struct sf_http_watchdog wd;
	struct sf_http_counts counts;
	struct sf_workpool *pool; /* deferred requests (see pool_defer) */
};

/* ==== Deferred requests ====
 *
 * A request that may write or hash (deferrable()) is not processed on the
 * libmicrohttpd worker that read it: the connection is suspended, the
 * request runs on the pool (at opt.write_nice, [server] write_nice: when
 * the cores are busy, reads on the workers go first), and the pool resumes the connection, whose next
 * access callback sends the prepared answer.  A worker therefore never
 * waits for SQLite's write lock or for argon2 while other connections wait
 * for it. */

#define POOL_QUEUE 4096
#define POOL_THREADS_PER_CORE 16
#define POOL_THREADS_MAX 64

static void process(struct sf_http_ctx *ctx);

static void deferred_run(void *arg)
{
	struct sf_http_ctx *ctx = arg;
	struct MHD_Connection *con = ctx->con;
	process(ctx);
	atomic_store_explicit(&ctx->deferred_done, 1, memory_order_release);
	MHD_resume_connection(con); /* ctx may be freed from here on */
}

/* Suspend the connection and queue its request; with the queue full the
 * request runs here instead (still answered through the resume path).
 * Returns 0 when there is no pool (then the caller processes inline). */
static int pool_defer(struct sf_http_server *srv, struct sf_http_ctx *ctx)
{
	struct sf_workpool *pool = ((struct sf_http_server_full *)srv)->pool;
	if (!pool)
		return 0;
	ctx->phase = 3;
	MHD_suspend_connection(ctx->con);
	if (!sf_workpool_submit(pool, deferred_run, ctx))
		deferred_run(ctx);
	return 1;
}

static struct sf_http_counts *srv_counts(struct sf_http_server *srv)
{
	return &((struct sf_http_server_full *)srv)->counts;
}

static size_t addr_bucket(const uint8_t a[16])
{
	uint32_t h = 2166136261u;
	for (int i = 0; i < 16; i++)
		h = (h ^ a[i]) * 16777619u;
	return h % COUNT_BUCKETS;
}

static void addr_key(const struct sockaddr *sa, uint8_t out[16])
{
	memset(out, 0, 16);
	if (!sa)
		return;
	if (sa->sa_family == AF_INET) {
		out[10] = out[11] = 0xff;
		memcpy(out + 12, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, 4);
	} else if (sa->sa_family == AF_INET6) {
		memcpy(out, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr, 16);
	}
}

/* Count a new connection; returns non-zero when it is beyond a cap (it is
 * counted all the same, and uncounted when it closes). */
static int counts_add(struct sf_http_server *srv, const uint8_t a[16])
{
	struct sf_http_counts *c = srv_counts(srv);
	const struct sf_http_options *opt = &srv->opt;
	size_t k = addr_bucket(a);
	pthread_mutex_lock(&c->mu);
	struct ip_count *e = c->b[k];
	while (e && memcmp(e->addr, a, 16) != 0)
		e = e->next;
	if (!e && (e = calloc(1, sizeof *e)) != NULL) {
		memcpy(e->addr, a, 16);
		e->next = c->b[k];
		c->b[k] = e;
	}
	unsigned n = e ? ++e->n : 0;
	unsigned total = ++c->total;
	pthread_mutex_unlock(&c->mu);
	return (opt->max_connections_per_ip && n > opt->max_connections_per_ip) ||
	       (opt->max_connections && total > opt->max_connections);
}

static void counts_del(struct sf_http_server *srv, const uint8_t a[16])
{
	struct sf_http_counts *c = srv_counts(srv);
	size_t k = addr_bucket(a);
	pthread_mutex_lock(&c->mu);
	c->total--;
	for (struct ip_count **pp = &c->b[k]; *pp; pp = &(*pp)->next) {
		struct ip_count *e = *pp;
		if (memcmp(e->addr, a, 16) != 0)
			continue;
		if (--e->n == 0) {
			*pp = e->next;
			free(e);
		}
		break;
	}
	pthread_mutex_unlock(&c->mu);
}

static void counts_free(struct sf_http_counts *c)
{
	for (size_t k = 0; k < COUNT_BUCKETS; k++)
		while (c->b[k]) {
			struct ip_count *e = c->b[k];
			c->b[k] = e->next;
			free(e);
		}
	pthread_mutex_destroy(&c->mu);
}

static struct sf_http_watchdog *srv_wd(struct sf_http_server *srv)
{
	return &((struct sf_http_server_full *)srv)->wd;
}

static void deadline_arm(struct sf_http_watchdog *wd, struct sf_http_watch *w)
{
	if (!w)
		return;
	atomic_store_explicit(&w->deadline_ms, sf_time_mono_ms() + (long long)wd->timeout_s * 1000, memory_order_relaxed);
}

static void *watchdog_main(void *arg)
{
	struct sf_http_watchdog *wd = arg;
	pthread_mutex_lock(&wd->mu);
	while (!wd->stop) {
		long long now = sf_time_mono_ms();
		for (struct sf_http_watch *w = wd->head; w; w = w->next) {
			long long d = atomic_load_explicit(&w->deadline_ms, memory_order_relaxed);
			if (d != 0 && now >= d) {
				/* The connection is still registered, so libmicrohttpd has
				 * not closed this fd yet: shutting it down makes the next
				 * read fail and the daemon close the connection itself. */
				shutdown(w->fd, SHUT_RDWR);
				atomic_store_explicit(&w->deadline_ms, 0, memory_order_relaxed);
			}
		}
		struct timespec wake;
		sf_time_deadline(&wake, 250);
		pthread_cond_timedwait(&wd->cv, &wd->mu, &wake);
	}
	pthread_mutex_unlock(&wd->mu);
	return NULL;
}

static void notify_connection_cb(void *cls, struct MHD_Connection *con, void **socket_context,
				 enum MHD_ConnectionNotificationCode toe)
{
	struct sf_http_listener *ln = cls;
	struct sf_http_watchdog *wd = srv_wd(ln->srv);
	if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
		const union MHD_ConnectionInfo *ci = MHD_get_connection_info(con, MHD_CONNECTION_INFO_CONNECTION_FD);
		struct sf_http_watch *w = calloc(1, sizeof *w);
		if (!w || !ci) {
			free(w);
			*socket_context = NULL;
			return;
		}
		w->fd = ci->connect_fd;
		const union MHD_ConnectionInfo *ca = MHD_get_connection_info(con, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
		addr_key(ca ? ca->client_addr : NULL, w->addr);
		w->over_cap = counts_add(ln->srv, w->addr);
		w->counted = 1;
		if (ln->tls) {
			const union MHD_ConnectionInfo *ts =
				MHD_get_connection_info(con, MHD_CONNECTION_INFO_GNUTLS_SESSION);
			if (ts && ts->tls_session) {
				sf_tls_out_attach(&w->out, (gnutls_session_t)ts->tls_session, w->fd);
				w->tls = 1;
			}
		}
		deadline_arm(wd, w);
		pthread_mutex_lock(&wd->mu);
		w->next = wd->head;
		if (wd->head)
			wd->head->prev = w;
		wd->head = w;
		pthread_mutex_unlock(&wd->mu);
		*socket_context = w;
		return;
	}
	struct sf_http_watch *w = *socket_context;
	if (!w)
		return;
	if (w->counted)
		counts_del(ln->srv, w->addr);
	pthread_mutex_lock(&wd->mu);
	if (w->prev)
		w->prev->next = w->next;
	else
		wd->head = w->next;
	if (w->next)
		w->next->prev = w->prev;
	pthread_mutex_unlock(&wd->mu);
	free(w);
	*socket_context = NULL;
}

static struct sf_http_watch *con_watch(struct MHD_Connection *con)
{
	const union MHD_ConnectionInfo *ci = MHD_get_connection_info(con, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	return ci ? ci->socket_context : NULL;
}

/* ==== Small helpers ==== */

const struct sf_http_server *sf_http_req_server(const struct sf_req *req)
{
	const struct sf_http_ctx *ctx = req ? req->priv : NULL;
	return (ctx && ctx->ln) ? ctx->ln->srv : NULL;
}

static int hsts_due(const struct sf_http_ctx *ctx)
{
	const struct sf_http_server *srv = ctx->ln->srv;
	if (!srv->opt.hsts || ctx->ln->redirect)
		return 0;
	return ctx->ln->tls || srv->proxy_tls;
}

__attribute__((format(printf, 2, 0))) static void mhd_log_cb(void *cls, const char *fmt, va_list ap)
{
	(void)cls;
	char line[512];
	vsnprintf(line, sizeof line, fmt, ap);
	size_t n = strlen(line);
	while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
		line[--n] = '\0';
	sf_log(SF_LOG_INFO, "http_daemon", "%s", line);
}

static enum MHD_Result accept_cb(void *cls, const struct sockaddr *addr, socklen_t addrlen)
{
	(void)addrlen;
	struct sf_http_listener *ln = cls;
	if (!ln->srv->hooks.on_accept)
		return MHD_YES;
	char ip[INET6_ADDRSTRLEN];
	sf_http_addr_text(addr, ip, sizeof ip, NULL);
	return ln->srv->hooks.on_accept(ln->srv->app, ip) ? MHD_NO : MHD_YES;
}

/* ==== Request start: the URI log callback ==== */

static void *uri_log_cb(void *cls, const char *uri, struct MHD_Connection *con)
{
	struct sf_http_listener *ln = cls;
	struct sf_http_server *srv = ln->srv;
	struct sf_http_ctx *ctx = calloc(1, sizeof *ctx);
	if (!ctx)
		return NULL;
	clock_gettime(CLOCK_MONOTONIC, &ctx->started);
	sf_arena_init(&ctx->arena, srv->opt.arena_cap);
	ctx->ln = ln;
	ctx->con = con;
	ctx->req.arena = &ctx->arena;
	ctx->req.priv = ctx;
	ctx->req.app = srv->app;
	ctx->req.https = ln->tls;
	ctx->resp.status = 200;
	sf_buf_init(&ctx->body_buf, 0);
	sf_http_request_id(ctx->req.request_id);
	const union MHD_ConnectionInfo *ci = MHD_get_connection_info(con, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	sf_http_addr_text(ci ? ci->client_addr : NULL, ctx->req.client_ip, sizeof ctx->req.client_ip,
		     &ctx->req.client_port);

	/* A copy of the target's path for the access log, printable ASCII
	 * only and bounded, whatever the target holds. */
	size_t len = strlen(uri ? uri : "");
	size_t keep = len < 512 ? len : 512;
	ctx->raw_path_log = sf_arena_alloc(&ctx->arena, keep + 4);
	if (ctx->raw_path_log) {
		for (size_t i = 0; i < keep; i++) {
			unsigned char c = (unsigned char)uri[i];
			ctx->raw_path_log[i] = (c > 0x20 && c < 0x7f) ? (char)c : '?';
		}
		memcpy(ctx->raw_path_log + keep, len > keep ? "..." : "", len > keep ? 4 : 1);
	}
	if (len > srv->opt.max_url)
		ctx->pending = SF_ERR_URI_TOO_LONG;
	else if (!(ctx->req.target = sf_arena_strndup(&ctx->arena, uri, len)))
		ctx->pending = SF_ERR_NOMEM;

	atomic_fetch_add_explicit(&srv_wd(srv)->inflight, 1, memory_order_relaxed);
	return ctx;
}

/* ==== Answering ==== */

/* The request is in (or answered): the watchdog no longer times it, so a
 * slow handler is never cut off by it. */
static void deadline_clear(struct sf_http_ctx *ctx)
{
	struct sf_http_watch *w = con_watch(ctx->con);
	if (!w)
		return;
	atomic_store_explicit(&w->deadline_ms, 0, memory_order_relaxed);
}

struct add_hdr_ctx {
	struct MHD_Response *r;
};

static void add_hdr(void *cls, const char *k, const char *v)
{
	struct add_hdr_ctx *a = cls;
	MHD_add_response_header(a->r, k, v);
}

/* Turn ctx->resp into a libmicrohttpd response and queue it.  Returns the
 * libmicrohttpd result for the access handler. */
static enum MHD_Result answer(struct sf_http_ctx *ctx)
{
	struct sf_resp *resp = &ctx->resp;
	unsigned status = resp->status ? resp->status : 200;
	struct MHD_Response *r;
	const void *body = resp->body ? resp->body : "";
	size_t len = resp->body ? resp->body_len : 0;
	if (status == 304 || status == 204) {
		if (resp->body_free && resp->body)
			resp->body_free((void *)(uintptr_t)resp->body);
		resp->body_free = NULL;
		resp->body = NULL;
		body = "";
		len = 0;
	}
	if (resp->body_free) {
		r = MHD_create_response_from_buffer_with_free_callback(len, (void *)(uintptr_t)body,
									resp->body_free);
		if (!r) {
			resp->body_free((void *)(uintptr_t)body);
		}
		resp->body_free = NULL; /* owned by libmicrohttpd now (or freed) */
		resp->body = NULL;
	} else {
		/* Static or arena memory: the arena outlives the response, as it
		 * is released only in the completion callback. */
		r = MHD_create_response_from_buffer(len, (void *)(uintptr_t)body, MHD_RESPMEM_PERSISTENT);
	}
	if (!r)
		return MHD_NO;
	if (status != 304 && status != 204)
		MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
					resp->content_type ? resp->content_type : "text/html; charset=utf-8");
	for (size_t i = 0; i < resp->nheaders; i++)
		MHD_add_response_header(r, resp->headers[i].k, resp->headers[i].v);
	if (status == 405 && ctx->allow && !sf_http_resp_find(resp, "Allow"))
		MHD_add_response_header(r, "Allow", ctx->allow);
	struct add_hdr_ctx a = { r };
	sf_http_security_headers(ctx->req.request_id, hsts_due(ctx), sf_http_resp_find(resp, "Cache-Control") != NULL,
				 sf_http_resp_find(resp, "Content-Security-Policy") != NULL, add_hdr, &a);
	/* A body that goes right after the header (not HEAD; 204 and 304 have
	 * none by now): one TLS send for both (tlsout.h). */
	int head = ctx->req.method && strcmp(ctx->req.method, "HEAD") == 0;
	struct sf_http_watch *w = NULL;
	if (len > 0 && status >= 200 && ctx->req.method && !head) {
		w = con_watch(ctx->con);
		if (w && w->tls)
			sf_tls_out_hold_next(&w->out);
	}
	enum MHD_Result ret = MHD_queue_response(ctx->con, status, r);
	if (ret != MHD_YES && w && w->tls)
		sf_tls_out_hold_cancel(&w->out);
	MHD_destroy_response(r);
	ctx->status_sent = status;
	ctx->bytes_sent = head ? 0 : len;
	ctx->phase = 2;
	deadline_clear(ctx);
	return ret;
}

/* ctx->resp becomes the error answer for err (response hook included). */
static void prepare_error(struct sf_http_ctx *ctx, enum sf_err err)
{
	sf_http_resp_reset(&ctx->resp);
	sf_resp_error(&ctx->req, &ctx->resp, err, NULL);
	if (err == SF_ERR_TOO_MANY_CONNECTIONS) {
		(void)sf_resp_header(&ctx->req, &ctx->resp, "Retry-After", "1");
		(void)sf_resp_header(&ctx->req, &ctx->resp, "Connection", "close");
	}
	if (ctx->ln->srv->hooks.on_response)
		ctx->ln->srv->hooks.on_response(&ctx->req, &ctx->resp);
}

static enum MHD_Result answer_error(struct sf_http_ctx *ctx, enum sf_err err)
{
	prepare_error(ctx, err);
	return answer(ctx);
}

/* Host for the HTTPS redirect: public_host, else the Host header without
 * its port when it is a plain name or a bracketed IPv6 literal. */
static const char *redirect_host(struct sf_http_ctx *ctx, int *with_port)
{
	const struct sf_http_server *srv = ctx->ln->srv;
	*with_port = 1;
	if (srv->opt.public_host && *srv->opt.public_host) {
		*with_port = 0;
		return srv->opt.public_host;
	}
	const char *h = MHD_lookup_connection_value(ctx->con, MHD_HEADER_KIND, MHD_HTTP_HEADER_HOST);
	if (!h || !*h)
		return "localhost";
	size_t n;
	if (h[0] == '[') {
		const char *close = strchr(h, ']');
		if (!close || close - h < 3)
			return "localhost";
		for (const char *p = h + 1; p < close; p++)
			if (!strchr("0123456789abcdefABCDEF:.", *p))
				return "localhost";
		n = (size_t)(close - h) + 1;
	} else {
		n = strcspn(h, ":");
		if (n == 0 || n > 253)
			return "localhost";
		for (size_t i = 0; i < n; i++) {
			char c = h[i];
			if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
			      c == '-'))
				return "localhost";
		}
	}
	const char *rest = h + n;
	if (*rest == ':') {
		rest++;
		if (!*rest || strspn(rest, "0123456789") != strlen(rest))
			return "localhost";
	} else if (*rest) {
		return "localhost";
	}
	char *out = sf_arena_strndup(&ctx->arena, h, n);
	return out ? out : "localhost";
}

static enum MHD_Result answer_redirect(struct sf_http_ctx *ctx)
{
	const struct sf_http_server *srv = ctx->ln->srv;
	int with_port;
	const char *host = redirect_host(ctx, &with_port);
	const char *target = ctx->req.target;
	int target_ok = target && target[0] == '/';
	for (const char *p = target; target_ok && *p; p++)
		if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f)
			target_ok = 0;
	if (!target_ok || (target[1] == '/' ))
		target = "/"; /* never "//host" (protocol-relative) nor raw bytes */
	char portbuf[8] = "";
	if (with_port && srv->https.port != 443)
		snprintf(portbuf, sizeof portbuf, ":%u", (unsigned)srv->https.port);
	char *loc = sf_arena_printf(&ctx->arena, "https://%s%s%s", host, portbuf, target);
	sf_http_resp_reset(&ctx->resp);
	if (!loc)
		return answer_error(ctx, SF_ERR_NOMEM);
	ctx->resp.headers[0].k = "Location";
	ctx->resp.headers[0].v = loc;
	ctx->resp.nheaders = 1;
	sf_resp_body(&ctx->resp, 308, "text/plain; charset=utf-8", NULL, 0, NULL);
	return answer(ctx);
}

/* ==== First call: headers are complete ==== */

struct hdr_size_ctx {
	size_t total;
	int bad;      /* a control byte (bare CR, NUL...) in a header */
};

static enum MHD_Result hdr_size_cb(void *cls, enum MHD_ValueKind kind, const char *k, const char *v)
{
	(void)kind;
	struct hdr_size_ctx *h = cls;
	h->total += strlen(k) + (v ? strlen(v) : 0);
	for (const char *p = v; p && *p && !h->bad; p++)
		h->bad = ((unsigned char)*p < 0x20 && *p != '\t') || *p == 0x7f;
	return MHD_YES;
}

/* Parse a Content-Length value strictly; -1 when malformed. */
static long long parse_length(const char *s)
{
	if (!s || !*s)
		return -1;
	long long v = 0;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		if (v > (LLONG_MAX - 9) / 10)
			return -1;
		v = v * 10 + (*s - '0');
	}
	return v;
}

/* Everything known once the headers are in.  Sets ctx->pending on error. */
static void first_call_checks(struct sf_http_ctx *ctx, const char *method, const char *version)
{
	struct sf_http_server *srv = ctx->ln->srv;
	struct sf_req *req = &ctx->req;
	req->method = sf_arena_strdup(&ctx->arena, method);
	req->version = sf_arena_strdup(&ctx->arena, version ? version : "");
	const char *ua = MHD_lookup_connection_value(ctx->con, MHD_HEADER_KIND, MHD_HTTP_HEADER_USER_AGENT);
	if (ua)
		ctx->user_agent = sf_arena_strndup(&ctx->arena, ua, strnlen(ua, 256));
	if (!req->method || !req->version)
		ctx->pending = SF_ERR_NOMEM;

	const char *cl = MHD_lookup_connection_value(ctx->con, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
	const char *te = MHD_lookup_connection_value(ctx->con, MHD_HEADER_KIND, MHD_HTTP_HEADER_TRANSFER_ENCODING);
	if (te && cl) {
		/* Both framings at once is the classic smuggling vector (RFC 9112
		 * 6.1: a server MAY reject it): refuse. */
		ctx->pending = SF_ERR_BAD_REQUEST;
		ctx->chunked = 1;
	} else if (te) {
		ctx->chunked = 1;
	} else if (cl) {
		long long n = parse_length(cl);
		if (n < 0) {
			if (!ctx->pending)
				ctx->pending = SF_ERR_BAD_REQUEST;
		} else {
			ctx->body_expected = (size_t)n;
		}
	}
	if (ctx->pending || ctx->ln->redirect)
		return;

	struct hdr_size_ctx hs = { 0 };
	MHD_get_connection_values(ctx->con, MHD_HEADER_KIND, hdr_size_cb, &hs);
	if (hs.total > srv->opt.max_header) {
		ctx->pending = SF_ERR_HEADERS_TOO_LARGE;
		return;
	}
	/* Framing the request itself gets wrong (RFC 9110/9112): a method that
	 * is not a token, a fragment in the target, a control byte in a header
	 * (response splitting), a Host that is not host[:port].  Such a request
	 * is refused as malformed before the edge sees it. */
	const char *host = MHD_lookup_connection_value(ctx->con, MHD_HEADER_KIND, MHD_HTTP_HEADER_HOST);
	if (hs.bad || strchr(req->target, '#') || !req->method[0] ||
	    strspn(req->method, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789!#$%&'*+-.^_`|~") !=
		    strlen(req->method) ||
	    (host && *host && strspn(host, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789.-:[]") !=
				      strlen(host))) {
		ctx->pending = SF_ERR_BAD_REQUEST;
		ctx->malformed = 1;
		return;
	}

	const char *t = req->target;
	const char *q = strchr(t, '?');
	size_t plen = q ? (size_t)(q - t) : strlen(t);
	char *path = NULL;
	enum sf_err err = sf_http_decode_path(&ctx->arena, t, plen, &path);
	if (err) {
		ctx->pending = err;
		return;
	}
	int nomem = 0;
	req->path = sf_http_admin_rewrite(&ctx->arena, srv->opt.admin_prefix, path, &nomem);
	if (!req->path) {
		ctx->pending = nomem ? SF_ERR_NOMEM : SF_ERR_NOT_FOUND;
		return;
	}
	if (q) {
		req->query = q + 1;
		err = sf_http_parse_query(&ctx->arena, q + 1, strlen(q + 1), &req->qargs, &req->nqargs);
		if (err) {
			ctx->pending = err;
			return;
		}
	}

	const char *allow = NULL;
	const struct sf_route *route =
		srv->route_ix ? sf_http_route_match_ix(srv->route_ix, req->method, req->path, req, &allow)
			      : sf_http_route_match(srv->routes, srv->nroutes, req->method, req->path, req, &allow);
	if (!route) {
		if (sf_arena_failed(&ctx->arena)) {
			ctx->pending = SF_ERR_NOMEM;
		} else if (allow) {
			ctx->allow = allow;
			ctx->pending = SF_ERR_METHOD;
		} else {
			ctx->pending = SF_ERR_NOT_FOUND;
		}
		return;
	}
	ctx->body_cap = route->max_body ? route->max_body : srv->opt.max_body;
	if (!ctx->chunked && ctx->body_expected > ctx->body_cap) {
		ctx->pending = SF_ERR_BODY_TOO_LARGE;
		return;
	}
	if (!ctx->chunked && ctx->body_expected > 0) {
		ctx->body_fixed = sf_arena_alloc(&ctx->arena, ctx->body_expected + 1);
		if (!ctx->body_fixed) {
			ctx->pending = SF_ERR_NOMEM;
			return;
		}
	}
	if (ctx->chunked)
		ctx->body_buf.bf_max = ctx->body_cap;
}

static enum sf_err body_finish(struct sf_http_ctx *ctx);

/* The edge (hooks.on_headers / on_body) sees every dynamic request that
 * libmicrohttpd parsed, also one this layer refuses (400, 404, 405): a
 * scanner's probes must reach the WAF and the ban counters, as they would
 * behind a proxy.  The layer's own error still answers such a request; its
 * body is read (up to the default cap) so that the WAF inspects it too. */
static void first_call(struct sf_http_ctx *ctx, const char *method, const char *version)
{
	struct sf_http_server *srv = ctx->ln->srv;
	first_call_checks(ctx, method, version);
	const struct sf_http_watch *w = con_watch(ctx->con);
	if (w && w->over_cap) {
		/* Beyond a connection cap: this answer is all the connection gets. */
		ctx->pending = SF_ERR_TOO_MANY_CONNECTIONS;
		ctx->over_cap = 1;
		return;
	}
	const struct sf_route *route = ctx->req.route;
	if (ctx->ln->redirect || !srv->hooks.on_headers || !ctx->req.target || !ctx->req.method || ctx->malformed ||
	    ctx->pending == SF_ERR_NOMEM || ctx->pending == SF_ERR_HEADERS_TOO_LARGE ||
	    (route && (route->flags & SF_ROUTE_STATIC)))
		return;
	ctx->hooks_started = 1;
	if (ctx->pending && ctx->pending != SF_ERR_BODY_TOO_LARGE && !(ctx->chunked && ctx->body_expected)) {
		if (!ctx->body_cap)
			ctx->body_cap = srv->opt.max_body;
		if (ctx->chunked) {
			ctx->body_buf.bf_max = ctx->body_cap;
			ctx->inspect_body = 1;
		} else if (ctx->body_expected <= ctx->body_cap) {
			if (!ctx->body_fixed && ctx->body_expected > 0)
				ctx->body_fixed = sf_arena_alloc(&ctx->arena, ctx->body_expected + 1);
			ctx->inspect_body = ctx->body_expected == 0 || ctx->body_fixed != NULL;
		}
	}
	enum sf_err err = srv->hooks.on_headers(&ctx->req);
	if (err) {
		ctx->edge_body_done = 1; /* refused by the edge itself: no body phase */
		if (!ctx->pending || sf_err_status(err) == 403)
			ctx->pending = err; /* the edge refusing access (WAF, ban) answers first */
	}
}

/* A request the layer refuses itself still completes the edge's
 * inspection (the body phase, with the body when it was read) before the
 * answer; when the edge refuses access (403: the WAF blocks), that is the
 * answer, otherwise the layer's own error stays. */
static void edge_inspect_refused(struct sf_http_ctx *ctx)
{
	struct sf_http_server *srv = ctx->ln->srv;
	if (!ctx->hooks_started || ctx->edge_body_done || !srv->hooks.on_body)
		return;
	ctx->edge_body_done = 1;
	if (!ctx->inspect_body || ctx->discard_body || body_finish(ctx) != SF_OK) {
		ctx->req.body = NULL;
		ctx->req.body_len = 0;
	}
	enum sf_err err = srv->hooks.on_body(&ctx->req);
	if (err && sf_err_status(err) == 403)
		ctx->pending = err;
}

/* ==== Body ==== */

static void body_feed(struct sf_http_ctx *ctx, const char *data, size_t n)
{
	ctx->body_seen += n;
	if (ctx->discard_body || (ctx->pending && !ctx->inspect_body))
		return;
	if (ctx->body_fixed) {
		if (n > ctx->body_expected - ctx->body_got) {
			if (!ctx->pending)
				ctx->pending = SF_ERR_BAD_REQUEST; /* more than announced */
			return;
		}
		memcpy(ctx->body_fixed + ctx->body_got, data, n);
		ctx->body_got += n;
		return;
	}
	if (ctx->body_buf.bf_len + n > ctx->body_cap) {
		ctx->discard_body = 1;
		sf_buf_free(&ctx->body_buf);
		return;
	}
	if (sf_buf_append(&ctx->body_buf, data, n))
		ctx->pending = SF_ERR_NOMEM;
}

/* Put the complete body into the arena, NUL-terminated. */
static enum sf_err body_finish(struct sf_http_ctx *ctx)
{
	if (ctx->body_fixed) {
		if (ctx->body_got != ctx->body_expected)
			return SF_ERR_BAD_REQUEST;
		ctx->body_fixed[ctx->body_got] = '\0';
		ctx->req.body = ctx->body_fixed;
		ctx->req.body_len = ctx->body_got;
		return SF_OK;
	}
	if (ctx->chunked && ctx->body_buf.bf_len > 0) {
		char *b = sf_arena_strndup(&ctx->arena, ctx->body_buf.bf_data, ctx->body_buf.bf_len);
		size_t n = ctx->body_buf.bf_len;
		sf_buf_free(&ctx->body_buf);
		if (!b)
			return SF_ERR_NOMEM;
		ctx->req.body = b;
		ctx->req.body_len = n;
	}
	return SF_OK;
}

/* ==== The access handler ==== */

/* Everything from the complete body to a ready ctx->resp: the edge's body
 * phase, the auth stage, the handler and the response hook.  Runs on the
 * libmicrohttpd worker, or for a deferred request on a pool thread. */
static void process(struct sf_http_ctx *ctx)
{
	struct sf_http_server *srv = ctx->ln->srv;
	enum sf_err err = body_finish(ctx);
	const struct sf_route *route = ctx->req.route;
	if (!err && !(route->flags & SF_ROUTE_STATIC) && srv->hooks.on_body)
		err = srv->hooks.on_body(&ctx->req);
	if (err) {
		prepare_error(ctx, err);
		return;
	}
	/* The auth stage: session or token, staff policy, permission, CSRF —
	 * everything the route row declares (see hooks.authorize). */
	if (!(route->flags & SF_ROUTE_STATIC) && srv->hooks.authorize) {
		err = srv->hooks.authorize(&ctx->req, &ctx->resp);
		if (err) {
			sf_http_resp_reset(&ctx->resp);
			sf_resp_error(&ctx->req, &ctx->resp, err, NULL);
			goto respond;
		}
	}
	err = route->handler(&ctx->req, &ctx->resp);
	if (sf_arena_failed(&ctx->arena))
		err = SF_ERR_NOMEM;
	if (err) {
		sf_http_resp_reset(&ctx->resp);
		sf_resp_error(&ctx->req, &ctx->resp, err, NULL);
	}
respond:
	if (srv->hooks.on_response)
		srv->hooks.on_response(&ctx->req, &ctx->resp);
}

/* Requests that may write or hash (every method but GET and HEAD) run on
 * the request pool, so that a checkout waiting for SQLite's write lock or a
 * login hashing a password never holds up the reads sharing its worker. */
static int deferrable(const struct sf_http_ctx *ctx)
{
	const char *m = ctx->req.method;
	return ctx->req.route && !(ctx->req.route->flags & SF_ROUTE_STATIC) && m && strcmp(m, "GET") != 0 &&
	       strcmp(m, "HEAD") != 0;
}

static enum MHD_Result final_call(struct sf_http_ctx *ctx)
{
	struct sf_http_server *srv = ctx->ln->srv;
	deadline_clear(ctx);
	if (ctx->ln->redirect)
		return answer_redirect(ctx);
	if (ctx->discard_body || ctx->pending) {
		enum sf_err refused = ctx->discard_body && !ctx->inspect_body ? SF_ERR_BODY_TOO_LARGE : ctx->pending;
		edge_inspect_refused(ctx);
		return answer_error(ctx, sf_err_status(ctx->pending) == 403 ? ctx->pending : refused);
	}
	if (deferrable(ctx) && pool_defer(srv, ctx))
		return MHD_YES; /* suspended; answered when the pool resumes it */
	process(ctx);
	return answer(ctx);
}

/* How much of an over-cap chunked body is read (and dropped) before the
 * connection is closed instead of answered. */
static size_t discard_limit(size_t cap)
{
	return cap > 1024 * 1024 ? cap : 1024 * 1024;
}

static enum MHD_Result static_503(struct MHD_Connection *con)
{
	static const char msg[] = "Service unavailable\n";
	struct MHD_Response *r = MHD_create_response_from_buffer(sizeof msg - 1, (void *)(uintptr_t)msg,
								 MHD_RESPMEM_PERSISTENT);
	if (!r)
		return MHD_NO;
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "text/plain; charset=utf-8");
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONNECTION, "close");
	enum MHD_Result ret = MHD_queue_response(con, 503, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result access_cb(void *cls, struct MHD_Connection *con, const char *url, const char *method,
				 const char *version, const char *upload_data, size_t *upload_data_size,
				 void **con_cls)
{
	(void)cls;
	(void)url; /* already unescaped and without the query: never used */
	struct sf_http_ctx *ctx = *con_cls;
	if (!ctx)
		return static_503(con); /* the URI callback could not allocate */
	if (ctx->phase == 0) {
		ctx->phase = 1;
		first_call(ctx, method, version);
		int has_body = ctx->chunked || ctx->body_expected > 0;
		if (has_body && !ctx->inspect_body && (ctx->pending || ctx->ln->redirect)) {
			/* Answer before the body is read; the connection closes. */
			if (ctx->ln->redirect)
				return answer_redirect(ctx);
			edge_inspect_refused(ctx);
			return answer_error(ctx, ctx->pending);
		}
		return MHD_YES;
	}
	if (ctx->phase == 2) {
		*upload_data_size = 0;
		return MHD_YES;
	}
	if (ctx->phase == 3) { /* deferred: the pool has it */
		int done = atomic_load_explicit(&ctx->deferred_done, memory_order_acquire);
		return done ? answer(ctx) : MHD_YES;
	}
	if (*upload_data_size) {
		body_feed(ctx, upload_data, *upload_data_size);
		*upload_data_size = 0;
		if (ctx->discard_body && ctx->body_seen - ctx->body_cap > discard_limit(ctx->body_cap)) {
			/* libmicrohttpd 0.9.75 cannot queue an answer in the middle
			 * of an upload, so a chunked body over the cap is dropped
			 * until its end and then answered 413; one that goes on far
			 * past the cap is cut off instead. */
			return MHD_NO;
		}
		return MHD_YES;
	}
	return final_call(ctx);
}

/* ==== Completion ==== */

static void completed_cb(void *cls, struct MHD_Connection *con, void **con_cls, enum MHD_RequestTerminationCode toe)
{
	(void)toe;
	struct sf_http_listener *ln = cls;
	struct sf_http_server *srv = ln->srv;
	struct sf_http_ctx *ctx = *con_cls;
	if (!ctx)
		return;
	*con_cls = NULL;
	if (ctx->phase >= 1 && srv->hooks.on_done)
		srv->hooks.on_done(&ctx->req);

	if (ctx->phase >= 1 && sf_log_access_on()) {
		struct timespec now;
		clock_gettime(CLOCK_MONOTONIC, &now);
		double ms = (double)(now.tv_sec - ctx->started.tv_sec) * 1000.0 +
			    (double)(now.tv_nsec - ctx->started.tv_nsec) / 1e6;
		const char *path = ctx->req.path;
		char *log_path = NULL;
		if (!path && ctx->raw_path_log) {
			size_t pl = strcspn(ctx->raw_path_log, "?");
			log_path = strndup(ctx->raw_path_log, pl);
			path = log_path;
		}
		char *rq = NULL;
		if (ctx->req.query)
			rq = sf_log_redact_query(ctx->req.query);
		else if (!ctx->req.path && ctx->raw_path_log && strchr(ctx->raw_path_log, '?'))
			rq = sf_log_redact_query(strchr(ctx->raw_path_log, '?') + 1);
		struct sf_log_access_line line = {
			.request_id = ctx->req.request_id,
			.ip = ctx->req.client_ip,
			.method = ctx->req.method,
			.path = path,
			.query = rq,
			.user_agent = ctx->user_agent,
			.status = ctx->status_sent,
			.bytes = ctx->bytes_sent,
			.duration_ms = ms,
			.tls = ctx->ln->tls,
		};
		sf_log_access(&line);
		free(rq);
		free(log_path);
	}

	struct sf_http_watchdog *wd = srv_wd(srv);
	struct sf_http_watch *w = con ? con_watch(con) : NULL;
	if (w)
		deadline_arm(wd, w); /* the next request on this connection */
	atomic_fetch_sub(&wd->inflight, 1);
	if (atomic_load(&wd->draining)) {
		/* Only a stopping server waits for this: wake it. */
		pthread_mutex_lock(&wd->mu);
		pthread_cond_broadcast(&wd->cv);
		pthread_mutex_unlock(&wd->mu);
	}

	sf_http_resp_reset(&ctx->resp);
	sf_buf_free(&ctx->body_buf);
	sf_arena_release(&ctx->arena);
	free(ctx);
}

/* ==== Start / stop ==== */

static size_t memory_limit(const struct sf_http_options *opt)
{
	/* The read buffer must hold the request line and all headers, plus
	 * libmicrohttpd's own copies; our limits answer first (414/431).
	 * Not more: libmicrohttpd 0.9.75 zeroes the free part of this pool
	 * after every request, so each KiB here costs every request (a 128 KiB
	 * pool was 8% of the CPU time of a cached catalog answer). */
	size_t m = opt->max_url + 2 * opt->max_header + 8 * 1024;
	return m < 32 * 1024 ? 32 * 1024 : m;
}

static enum sf_err start_daemon(struct sf_http_server *srv, struct sf_http_listener *ln, uint16_t port, int tls,
				char *errbuf, size_t errlen)
{
	const struct sf_http_options *opt = &srv->opt;
	const char *bind = opt->bind_addr && *opt->bind_addr ? opt->bind_addr : "127.0.0.1";
	struct sockaddr_in sin;
	struct sockaddr_in6 sin6;
	struct sockaddr *sa;
	socklen_t salen;
	/* No listening socket for libmicrohttpd: accept.c accepts and hands
	 * connections over (MHD_add_connection; ITC wakes the worker). */
	unsigned flags = MHD_USE_EPOLL_INTERNAL_THREAD | MHD_USE_ERROR_LOG | MHD_USE_ITC | MHD_USE_NO_LISTEN_SOCKET |
			 MHD_ALLOW_SUSPEND_RESUME;
	memset(&sin, 0, sizeof sin);
	memset(&sin6, 0, sizeof sin6);
	if (inet_pton(AF_INET, bind, &sin.sin_addr) == 1) {
		sin.sin_family = AF_INET;
		sin.sin_port = htons(port);
		sa = (struct sockaddr *)&sin;
		salen = sizeof sin;
	} else if (inet_pton(AF_INET6, bind, &sin6.sin6_addr) == 1) {
		sin6.sin6_family = AF_INET6;
		sin6.sin6_port = htons(port);
		sa = (struct sockaddr *)&sin6;
		salen = sizeof sin6;
	} else {
		snprintf(errbuf, errlen, "bind address '%s' is not a numeric IPv4 or IPv6 address", bind);
		return SF_ERR_CONFIG;
	}
	if (tls)
		flags |= MHD_USE_TLS;
	unsigned threads = opt->threads;
	if (threads == 0) {
		long n = sysconf(_SC_NPROCESSORS_ONLN);
		threads = n > 0 ? (unsigned)n : 1;
	}
	if (ln->redirect && threads > 1)
		threads = 1; /* the redirect listener is tiny */
	ln->srv = srv;
	ln->tls = tls;

	struct MHD_OptionItem ops[24];
	size_t i = 0;
#define OPT(o, v, p) ops[i++] = (struct MHD_OptionItem){ (o), (intptr_t)(v), (p) }
	OPT(MHD_OPTION_EXTERNAL_LOGGER, (intptr_t)mhd_log_cb, ln); /* first, or early messages go to stderr */
	if (threads > 1)
		OPT(MHD_OPTION_THREAD_POOL_SIZE, threads, NULL);
	/* The caps themselves answer 503 (counts_add); libmicrohttpd's limits
	 * are the hard stop a little above them. */
	if (opt->max_connections)
		OPT(MHD_OPTION_CONNECTION_LIMIT, opt->max_connections + CAP_GRACE_TOTAL, NULL);
	if (opt->max_connections_per_ip)
		OPT(MHD_OPTION_PER_IP_CONNECTION_LIMIT, opt->max_connections_per_ip + CAP_GRACE_PER_IP, NULL);
	OPT(MHD_OPTION_CONNECTION_TIMEOUT, opt->timeout_s ? opt->timeout_s : 30, NULL);
	OPT(MHD_OPTION_CONNECTION_MEMORY_LIMIT, memory_limit(opt), NULL);
	OPT(MHD_OPTION_STRICT_FOR_CLIENT, 1, NULL);
	OPT(MHD_OPTION_URI_LOG_CALLBACK, (intptr_t)uri_log_cb, ln);
	OPT(MHD_OPTION_NOTIFY_COMPLETED, (intptr_t)completed_cb, ln);
	OPT(MHD_OPTION_NOTIFY_CONNECTION, (intptr_t)notify_connection_cb, ln);
	if (tls) {
		OPT(MHD_OPTION_HTTPS_MEM_CERT, 0, (void *)(uintptr_t)opt->tls_cert_pem);
		OPT(MHD_OPTION_HTTPS_MEM_KEY, 0, (void *)(uintptr_t)opt->tls_key_pem);
		OPT(MHD_OPTION_HTTPS_PRIORITIES, 0, (void *)(uintptr_t)SF_HTTP_TLS_PRIORITIES);
	}
	OPT(MHD_OPTION_END, 0, NULL);
#undef OPT
	ln->daemon = MHD_start_daemon(flags, 0, accept_cb, ln, access_cb, ln, MHD_OPTION_ARRAY, ops, MHD_OPTION_END);
	if (!ln->daemon) {
		snprintf(errbuf, errlen, "cannot start the %s server%s", tls ? "HTTPS" : "HTTP",
			 tls ? ": check the TLS certificate and key" : "");
		return SF_ERR_CONFIG;
	}
	char why[160];
	enum sf_err err = sf_http_acceptor_start(ln, sa, salen, &ln->acceptor, why, sizeof why);
	if (err) {
		snprintf(errbuf, errlen, "cannot listen on %s port %u (%s): %s%s", bind, (unsigned)port,
			 tls ? "HTTPS" : "HTTP", why, err == SF_ERR_CONFIG ? ": check that the port is free and allowed" : "");
		return err;
	}
	return SF_OK;
}

enum sf_err sf_http_start(const struct sf_http_options *opt, const struct sf_route *routes, size_t nroutes,
			  const struct sf_http_hooks *hooks, void *app, struct sf_http_server **out, char *errbuf,
			  size_t errlen)
{
	enum sf_err err = SF_OK;
	if (errlen)
		errbuf[0] = '\0';
	*out = NULL;
	if (!opt || (!routes && nroutes)) {
		snprintf(errbuf, errlen, "no options or routes given");
		return SF_ERR_INVALID;
	}
	int have_tls = opt->tls_cert_pem && opt->tls_key_pem;
	if ((opt->tls_cert_pem != NULL) != (opt->tls_key_pem != NULL)) {
		snprintf(errbuf, errlen, "a TLS certificate needs its key and a key its certificate");
		return SF_ERR_CONFIG;
	}
	if (!have_tls && opt->https_port) {
		snprintf(errbuf, errlen, "https_port %u is set but no TLS certificate was given", (unsigned)opt->https_port);
		return SF_ERR_CONFIG;
	}
	if (!have_tls && !opt->http_port && !opt->http_ephemeral) {
		snprintf(errbuf, errlen, "no listener: give a TLS certificate or an http_port");
		return SF_ERR_CONFIG;
	}
	if (opt->max_url == 0 || opt->max_header == 0 || opt->arena_cap == 0) {
		snprintf(errbuf, errlen, "max_url, max_header and arena_cap must be set");
		return SF_ERR_CONFIG;
	}
	if (sodium_init() < 0) {
		snprintf(errbuf, errlen, "libsodium failed to initialise");
		return SF_ERR_CRYPTO;
	}
	struct sf_http_server_full *full = calloc(1, sizeof *full);
	if (!full)
		return SF_ERR_NOMEM;
	struct sf_http_server *srv = &full->pub;
	srv->opt = *opt;
	srv->routes = routes;
	srv->nroutes = nroutes;
	srv->route_ix = nroutes ? sf_http_route_index_new(routes, nroutes) : NULL; /* NULL: linear */
	if (hooks)
		srv->hooks = *hooks;
	srv->app = app;
	srv->proxy_tls = !have_tls;
	struct sf_http_watchdog *wd = &full->wd;
	pthread_mutex_init(&full->counts.mu, NULL);
	{
		long n = sysconf(_SC_NPROCESSORS_ONLN);
		/* Most pool threads wait (for the group commit, for the network,
		 * for their turn at argon2: auth/password.c), not compute; more of
		 * them let more write transactions share one commit. */
		unsigned pt = POOL_THREADS_PER_CORE * (unsigned)(n > 1 ? n : 1);
		if (pt > POOL_THREADS_MAX)
			pt = POOL_THREADS_MAX;
		if (!(full->pool = sf_workpool_new(pt, opt->write_nice, POOL_QUEUE))) {
			pthread_mutex_destroy(&full->counts.mu);
			sf_http_route_index_free(srv->route_ix);
			free(full);
			snprintf(errbuf, errlen, "cannot start the request pool threads");
			return SF_ERR_INTERNAL;
		}
	}
	pthread_mutex_init(&wd->mu, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_cond_init(&wd->cv, &ca);
	pthread_condattr_destroy(&ca);
	wd->timeout_s = opt->timeout_s ? opt->timeout_s : 30;
	if (pthread_create(&wd->thread, NULL, watchdog_main, wd) != 0) {
		snprintf(errbuf, errlen, "cannot start the connection watchdog thread");
		err = SF_ERR_INTERNAL;
		goto out;
	}
	wd->running = 1;

	if (have_tls) {
		err = start_daemon(srv, &srv->https, opt->https_port, 1, errbuf, errlen);
		if (err)
			goto out;
	}
	if (opt->http_port || opt->http_ephemeral) {
		srv->http.redirect = have_tls;
		err = start_daemon(srv, &srv->http, opt->http_port, 0, errbuf, errlen);
		if (err)
			goto out;
	}
	*out = srv;
out:
	if (err)
		sf_http_stop(srv);
	return err;
}

void sf_http_stop(struct sf_http_server *srv)
{
	if (!srv)
		return;
	struct sf_http_watchdog *wd = srv_wd(srv);
	struct sf_http_listener *lns[2] = { &srv->https, &srv->http };
	/* Stop accepting; let requests in flight finish (bounded). */
	for (int i = 0; i < 2; i++) {
		sf_http_acceptor_stop(lns[i]->acceptor);
		lns[i]->acceptor = NULL;
	}
	struct timespec limit;
	clock_gettime(CLOCK_MONOTONIC, &limit);
	limit.tv_sec += 10;
	atomic_store(&wd->draining, 1);
	pthread_mutex_lock(&wd->mu);
	while (atomic_load(&wd->inflight) > 0 && wd->running) {
		struct timespec now, wake;
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (now.tv_sec >= limit.tv_sec)
			break;
		sf_time_deadline(&wake, 50);
		pthread_cond_timedwait(&wd->cv, &wd->mu, &wake);
	}
	pthread_mutex_unlock(&wd->mu);
	/* Deferred requests still running finish and resume their connections
	 * before the daemons stop (libmicrohttpd must not stop with a
	 * connection suspended). */
	sf_workpool_free(((struct sf_http_server_full *)srv)->pool);
	((struct sf_http_server_full *)srv)->pool = NULL;
	for (int i = 0; i < 2; i++) {
		if (lns[i]->daemon)
			MHD_stop_daemon(lns[i]->daemon);
		lns[i]->daemon = NULL;
	}
	if (wd->running) {
		pthread_mutex_lock(&wd->mu);
		wd->stop = 1;
		pthread_cond_broadcast(&wd->cv);
		pthread_mutex_unlock(&wd->mu);
		pthread_join(wd->thread, NULL);
	}
	pthread_cond_destroy(&wd->cv);
	pthread_mutex_destroy(&wd->mu);
	counts_free(srv_counts(srv));
	sf_http_route_index_free(srv->route_ix);
	free(srv);
}

uint16_t sf_http_https_port(const struct sf_http_server *srv)
{
	return srv && srv->https.daemon ? srv->https.port : 0;
}

uint16_t sf_http_http_port(const struct sf_http_server *srv)
{
	return srv && srv->http.daemon ? srv->http.port : 0;
}
