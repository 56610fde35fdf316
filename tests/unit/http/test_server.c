/* test_server.c — the server in-process on loopback over plain sockets:
 * start errors, proxy mode (no certificate: routes on the plain listener,
 * HSTS forced), hooks (accept, headers, body, response, done), keep-alive,
 * and the HTTPS redirect listener. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "core/log.h"
#include "http/http.h"
#include "http/tls.h"

static atomic_int n_headers, n_body, n_done, n_response, deny_accept, bad_accept;

static enum sf_err h_ok(struct sf_req *req, struct sf_resp *resp)
{
	const char *c = sf_req_cookie(req, "sid");
	char *body = sf_arena_printf(req->arena, "path=%s sid=%s body=%zu", req->path, c ? c : "-", req->body_len);
	if (!body)
		return SF_ERR_NOMEM;
	sf_resp_body(resp, 200, "text/plain; charset=utf-8", body, strlen(body), NULL);
	return SF_OK;
}

static enum sf_err on_headers(struct sf_req *req)
{
	n_headers++;
	return sf_req_header(req, "X-Block") ? SF_ERR_FORBIDDEN : SF_OK;
}
static enum sf_err on_body(struct sf_req *req)
{
	(void)req;
	n_body++;
	return SF_OK;
}
static void on_response(struct sf_req *req, struct sf_resp *resp)
{
	(void)req;
	(void)resp;
	n_response++;
}
static void on_done(struct sf_req *req)
{
	(void)req;
	n_done++;
}
static int on_accept(void *app, const char *ip)
{
	/* Runs on a daemon thread: record, assert on the test's thread. */
	if (strcmp((const char *)app, "app") != 0 || strcmp(ip, "127.0.0.1") != 0)
		bad_accept = 1;
	return deny_accept;
}

static const struct sf_route routes[] = {
	{ "GET", "/x", h_ok, SF_AUTH_NONE, NULL, SF_CSRF_NONE, SF_RC_READ, 0, 0 },
	{ "POST", "/x", h_ok, SF_AUTH_NONE, NULL, SF_CSRF_EXEMPT, SF_RC_WRITE, 8, 0 },
	{ "GET", "/s/{*path}", h_ok, SF_AUTH_NONE, NULL, SF_CSRF_NONE, SF_RC_STATIC, 0, SF_ROUTE_STATIC },
};

static struct sf_http_options base_opt(void)
{
	struct sf_http_options o = {
		.bind_addr = "127.0.0.1",
		.threads = 1,
		.max_connections = 16,
		.max_connections_per_ip = 16,
		.timeout_s = 5,
		.max_url = 1024,
		.max_header = 4096,
		.max_body = 1024,
		.arena_cap = 256 * 1024,
		.hsts = 1,
	};
	return o;
}

/* Send req on a new connection; return what comes back until the server
 * closes (malloc'd), or after two seconds of silence. */
static char *roundtrip(uint16_t port, const char *req)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(fd >= 0);
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(port) };
	inet_pton(AF_INET, "127.0.0.1", &sin.sin_addr);
	struct timeval tv = { 2, 0 };
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	assert_int_equal(connect(fd, (struct sockaddr *)&sin, sizeof sin), 0);
	assert_int_equal(send(fd, req, strlen(req), MSG_NOSIGNAL), (ssize_t)strlen(req));
	size_t cap = 65536, len = 0;
	char *out = calloc(1, cap);
	for (;;) {
		ssize_t r = recv(fd, out + len, cap - 1 - len, 0);
		if (r <= 0)
			break;
		len += (size_t)r;
	}
	out[len] = '\0';
	close(fd);
	return out;
}

static void test_start_errors(void **state)
{
	(void)state;
	struct sf_http_server *srv = (struct sf_http_server *)1;
	char err[256];
	struct sf_http_options o = base_opt();
	o.https_port = 8443;
	assert_int_equal(sf_http_start(&o, routes, 3, NULL, NULL, &srv, err, sizeof err), SF_ERR_CONFIG);
	assert_null(srv);
	assert_non_null(strstr(err, "https_port"));
	o = base_opt();
	assert_int_equal(sf_http_start(&o, routes, 3, NULL, NULL, &srv, err, sizeof err), SF_ERR_CONFIG);
	assert_non_null(strstr(err, "no listener"));
	o.http_ephemeral = 1;
	o.bind_addr = "localhost";
	assert_int_equal(sf_http_start(&o, routes, 3, NULL, NULL, &srv, err, sizeof err), SF_ERR_CONFIG);
	assert_non_null(strstr(err, "localhost"));
	sf_http_stop(NULL);
}

static void test_proxy_mode(void **state)
{
	(void)state;
	struct sf_http_server *srv = NULL;
	char err[256];
	struct sf_http_options o = base_opt();
	o.http_ephemeral = 1;
	struct sf_http_hooks hooks = { .on_accept = on_accept, .on_headers = on_headers, .on_body = on_body,
				       .on_response = on_response, .on_done = on_done };
	assert_int_equal(sf_http_start(&o, routes, 3, &hooks, (void *)"app", &srv, err, sizeof err), SF_OK);
	uint16_t port = sf_http_http_port(srv);
	assert_true(port > 0);
	assert_int_equal(sf_http_https_port(srv), 0);

	char *r = roundtrip(port, "GET /x HTTP/1.1\r\nHost: a\r\nCookie: a=1; sid=\"s1\"\r\nConnection: close\r\n\r\n");
	assert_non_null(strstr(r, "HTTP/1.1 200"));
	assert_non_null(strstr(r, "path=/x sid=s1 body=0"));
	assert_non_null(strstr(r, "Strict-Transport-Security: max-age=63072000; includeSubDomains"));
	assert_non_null(strstr(r, "X-Request-Id: "));
	free(r);
	assert_int_equal(n_headers, 1);
	assert_int_equal(n_body, 1);
	assert_int_equal(n_response, 1);

	/* Hook error answers with that error. */
	r = roundtrip(port, "GET /x HTTP/1.1\r\nHost: a\r\nX-Block: 1\r\nConnection: close\r\n\r\n");
	assert_non_null(strstr(r, "HTTP/1.1 403"));
	free(r);
	assert_int_equal(n_body, 1);

	/* Static routes skip the edge hooks. */
	r = roundtrip(port, "GET /s/a.css HTTP/1.1\r\nHost: a\r\nX-Block: 1\r\nConnection: close\r\n\r\n");
	assert_non_null(strstr(r, "HTTP/1.1 200"));
	free(r);
	assert_int_equal(n_headers, 2);

	/* Body: within the route cap, and over it. */
	r = roundtrip(port, "POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello");
	assert_non_null(strstr(r, "body=5"));
	free(r);
	r = roundtrip(port, "POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 9\r\nConnection: close\r\n\r\nhellohell");
	assert_non_null(strstr(r, "HTTP/1.1 413"));
	free(r);

	/* Keep-alive: two answers on one connection. */
	r = roundtrip(port, "GET /x HTTP/1.1\r\nHost: a\r\n\r\nGET /x?a=1 HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
	char *second = strstr(r, "HTTP/1.1 200");
	assert_non_null(second);
	assert_non_null(strstr(second + 1, "HTTP/1.1 200"));
	free(r);

	/* The accept hook drops the connection before anything is parsed. */
	deny_accept = 1;
	r = roundtrip(port, "GET /x HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
	assert_string_equal(r, "");
	free(r);
	deny_accept = 0;

	sf_http_stop(srv);
	assert_int_equal(n_done, 7);
	assert_int_equal(bad_accept, 0);
}

static void test_redirect_listener(void **state)
{
	(void)state;
	char dir[] = "/tmp/sf-test-srv.XXXXXX";
	assert_non_null(mkdtemp(dir));
	char cp[PATH_MAX], kp[PATH_MAX], err[256];
	snprintf(cp, sizeof cp, "%s/c.pem", dir);
	snprintf(kp, sizeof kp, "%s/k.pem", dir);
	assert_int_equal(sf_tls_make_self_signed(cp, kp, "localhost", err, sizeof err), SF_OK);
	char *cert = NULL, *key = NULL;
	assert_int_equal(sf_tls_load_pem(cp, &cert), SF_OK);
	assert_int_equal(sf_tls_load_pem(kp, &key), SF_OK);
	struct sf_http_options o = base_opt();
	o.tls_cert_pem = cert;
	o.tls_key_pem = key;
	o.http_ephemeral = 1;
	struct sf_http_server *srv = NULL;
	assert_int_equal(sf_http_start(&o, routes, 3, NULL, NULL, &srv, err, sizeof err), SF_OK);
	uint16_t hp = sf_http_http_port(srv), sp = sf_http_https_port(srv);
	assert_true(hp > 0 && sp > 0 && hp != sp);
	char want[128];
	snprintf(want, sizeof want, "Location: https://shop.example:%u/x?a=1&b=%%20\r\n", (unsigned)sp);
	char *r = roundtrip(hp, "GET /x?a=1&b=%20 HTTP/1.1\r\nHost: shop.example:8080\r\nConnection: close\r\n\r\n");
	assert_non_null(strstr(r, "HTTP/1.1 308"));
	assert_non_null(strstr(r, want));
	assert_null(strstr(r, "Strict-Transport-Security"));
	assert_non_null(strstr(r, "X-Request-Id: "));
	assert_non_null(strstr(r, "X-Frame-Options: DENY"));
	free(r);
	/* A hostile Host header is not reflected. */
	r = roundtrip(hp, "GET //evil.example/ HTTP/1.1\r\nHost: evil.example/x\r\nConnection: close\r\n\r\n");
	snprintf(want, sizeof want, "Location: https://localhost:%u/\r\n", (unsigned)sp);
	assert_non_null(strstr(r, want));
	free(r);
	sf_http_stop(srv);
	sf_tls_free_pem(cert);
	sf_tls_free_pem(key);
	unlink(cp);
	unlink(kp);
	rmdir(dir);
}

int main(void)
{
	if (sf_log_open(NULL, SF_LOG_ERROR) != SF_OK)
		return 1;
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_start_errors),
		cmocka_unit_test(test_proxy_mode),
		cmocka_unit_test(test_redirect_listener),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);
	sf_log_close();
	return rc;
}
