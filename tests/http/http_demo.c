/*
 * http_demo.c — the HTTP layer alone on loopback, over real TLS, for the
 * data-driven cases in tests/http/layer/ (run by tests/http/run-layer.sh).
 *
 * It makes a self-signed certificate and a small media directory in a temp
 * dir, starts the layer with demo routes and tight limits, prints
 * "https_port=N http_port=M" on stdout and serves until SIGTERM or SIGINT,
 * then removes the temp dir.
 *
 * Usage: http_demo [--log-dir DIR]   (DIR receives access.log and app.log)
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/log.h"
#include "http/http.h"
#include "http/tls.h"

static enum sf_err h_hello(struct sf_req *req, struct sf_resp *resp)
{
	(void)req;
	static const char body[] = "<!DOCTYPE html><title>hello</title><p>hello, world</p>\n";
	sf_resp_body(resp, 200, "text/html; charset=utf-8", body, sizeof body - 1, NULL);
	return SF_OK;
}

static enum sf_err h_thing(struct sf_req *req, struct sf_resp *resp)
{
	const char *id = sf_req_param(req, "id");
	const char *q = sf_req_query(req, "q");
	json_t *j = json_pack("{s:s, s:s?, s:i}", "id", id ? id : "", "q", q, "nq", (json_int_t)req->nqargs);
	return sf_resp_json(req, resp, 200, j);
}

static enum sf_err h_echo(struct sf_req *req, struct sf_resp *resp)
{
	json_t *j = json_pack("{s:I, s:b}", "length", (json_int_t)req->body_len, "nul_terminated",
			      req->body ? req->body[req->body_len] == '\0' : 1);
	return sf_resp_json(req, resp, 200, j);
}

static enum sf_err h_boom(struct sf_req *req, struct sf_resp *resp)
{
	(void)resp;
	/* Whatever a handler knows about the failure must not reach the client. */
	sf_resp_error(req, resp, SF_ERR_INTERNAL, "sqlite3_step: database disk image is malformed at /var/lib/x");
	return SF_ERR_INTERNAL;
}

static enum sf_err h_cached(struct sf_req *req, struct sf_resp *resp)
{
	enum sf_err err = sf_resp_header(req, resp, "Cache-Control", "private, max-age=60");
	if (err)
		return err;
	sf_resp_body(resp, 200, "text/plain; charset=utf-8", "cached\n", 7, NULL);
	return SF_OK;
}

static enum sf_err h_hog(struct sf_req *req, struct sf_resp *resp)
{
	(void)resp;
	/* Exhaust the arena: the layer must answer 503 out_of_memory. */
	while (sf_arena_alloc(req->arena, 64 * 1024))
		;
	return SF_OK;
}

static enum sf_err h_slow(struct sf_req *req, struct sf_resp *resp)
{
	(void)req;
	/* Longer than the connection timeout (4 s): the slowloris watchdog
	 * times the client's sending, never the handler. */
	struct timespec ts = { 5, 0 };
	nanosleep(&ts, NULL);
	sf_resp_body(resp, 200, "text/plain; charset=utf-8", "slow but fine\n", 14, NULL);
	return SF_OK;
}

static enum sf_err h_redirect(struct sf_req *req, struct sf_resp *resp)
{
	return sf_resp_redirect(req, resp, 0, "/hello");
}

static const struct sf_route routes[] = {
	{ "GET", "/hello", h_hello, SF_AUTH_NONE, NULL, SF_CSRF_NONE, SF_RC_READ, 0, 0 },
	{ "GET", "/api/v1/things/{id}", h_thing, SF_AUTH_NONE, NULL, SF_CSRF_NONE, SF_RC_READ, 0, 0 },
	{ "DELETE", "/api/v1/things/{id}", h_thing, SF_AUTH_NONE, NULL, SF_CSRF_EXEMPT, SF_RC_WRITE, 0, 0 },
	{ "POST", "/api/v1/echo", h_echo, SF_AUTH_NONE, NULL, SF_CSRF_EXEMPT, SF_RC_WRITE, 0, 0 },
	{ "POST", "/api/v1/small", h_echo, SF_AUTH_NONE, NULL, SF_CSRF_EXEMPT, SF_RC_WRITE, 16, 0 },
	{ "GET", "/boom", h_boom, SF_AUTH_NONE, NULL, SF_CSRF_NONE, SF_RC_READ, 0, 0 },
	{ "GET", "/api/v1/boom", h_boom, SF_AUTH_NONE, NULL, SF_CSRF_NONE, SF_RC_READ, 0, 0 },
	{ "GET", "/cached", h_cached, SF_AUTH_NONE, NULL, SF_CSRF_NONE, SF_RC_READ, 0, 0 },
	{ "GET", "/hog", h_hog, SF_AUTH_NONE, NULL, SF_CSRF_NONE, SF_RC_READ, 0, 0 },
	{ "GET", "/slow", h_slow, SF_AUTH_NONE, NULL, SF_CSRF_NONE, SF_RC_READ, 0, 0 },
	{ "POST", "/form", h_redirect, SF_AUTH_NONE, NULL, SF_CSRF_EXEMPT, SF_RC_WRITE, 0, 0 },
	{ "GET", "/static/{*path}", sf_http_static_asset, SF_AUTH_NONE, NULL, SF_CSRF_NONE, SF_RC_STATIC, 0,
	  SF_ROUTE_STATIC },
	{ "GET", "/media/{*path}", sf_http_static_media, SF_AUTH_NONE, NULL, SF_CSRF_NONE, SF_RC_STATIC, 0, 0 },
};

/* The edge stand-in: a header that the "WAF" refuses. */
static enum sf_err on_headers(struct sf_req *req)
{
	return sf_req_header(req, "X-Demo-Block") ? SF_ERR_FORBIDDEN : SF_OK;
}

static int write_file(const char *dir, const char *name, const char *data, size_t len)
{
	char path[PATH_MAX];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0)
		return -1;
	ssize_t w = write(fd, data, len);
	close(fd);
	return w == (ssize_t)len ? 0 : -1;
}

static void rm_tree(const char *dir)
{
	static const char *files[] = { "media/logo.png", "media/icon.svg", "media/notes.txt", "media/sub/pic.gif",
				       "media/link.png", "media/.hidden.png", "secret.png", "cert.pem", "key.pem" };
	char path[PATH_MAX];
	for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
		snprintf(path, sizeof path, "%s/%s", dir, files[i]);
		unlink(path);
	}
	snprintf(path, sizeof path, "%s/media/sub", dir);
	rmdir(path);
	snprintf(path, sizeof path, "%s/media", dir);
	rmdir(path);
	rmdir(dir);
}

int main(int argc, char **argv)
{
	const char *log_dir = NULL;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--log-dir") == 0 && i + 1 < argc) {
			log_dir = argv[++i];
		} else {
			fprintf(stderr, "usage: http_demo [--log-dir DIR]\n");
			return 2;
		}
	}
	if (sf_log_open(log_dir, SF_LOG_INFO) != SF_OK) {
		fprintf(stderr, "http_demo: cannot open logs in %s\n", log_dir ? log_dir : "(stderr)");
		return 1;
	}
	char dir[] = "/tmp/sf-http-demo.XXXXXX";
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	int rc = 1;
	char *cert = NULL, *key = NULL;
	struct sf_http_server *srv = NULL;
	char cert_path[PATH_MAX], key_path[PATH_MAX], media[PATH_MAX], errbuf[256];
	snprintf(cert_path, sizeof cert_path, "%s/cert.pem", dir);
	snprintf(key_path, sizeof key_path, "%s/key.pem", dir);
	snprintf(media, sizeof media, "%s/media", dir);
	if (sf_tls_make_self_signed(cert_path, key_path, "localhost", errbuf, sizeof errbuf) != SF_OK) {
		fprintf(stderr, "http_demo: %s\n", errbuf);
		goto out;
	}
	if (sf_tls_load_pem(cert_path, &cert) != SF_OK || sf_tls_load_pem(key_path, &key) != SF_OK) {
		fprintf(stderr, "http_demo: cannot read the certificate\n");
		goto out;
	}
	char sub[PATH_MAX + 8], link_target[PATH_MAX + 16], link_path[PATH_MAX + 16];
	snprintf(sub, sizeof sub, "%s/sub", media);
	snprintf(link_target, sizeof link_target, "%s/secret.png", dir);
	snprintf(link_path, sizeof link_path, "%s/link.png", media);
	static const char png[] = "\x89PNG\r\n\x1a\n-demo-png-bytes";
	static const char svg[] = "<svg xmlns=\"http://www.w3.org/2000/svg\"><script>alert(1)</script></svg>\n";
	if (mkdir(media, 0755) != 0 || mkdir(sub, 0755) != 0 || write_file(media, "logo.png", png, sizeof png - 1) ||
	    write_file(media, "icon.svg", svg, sizeof svg - 1) || write_file(media, "notes.txt", "notes\n", 6) ||
	    write_file(sub, "pic.gif", "GIF89a-demo", 11) || write_file(media, ".hidden.png", "hidden", 6) ||
	    write_file(dir, "secret.png", "TOP-SECRET-OUTSIDE-MEDIA", 24) || symlink(link_target, link_path) != 0) {
		fprintf(stderr, "http_demo: cannot prepare %s: %s\n", media, strerror(errno));
		goto out;
	}

	struct sf_http_options opt = {
		.bind_addr = "127.0.0.1",
		.https_port = 0,
		.http_port = 0,
		.http_ephemeral = 1,
		.tls_cert_pem = cert,
		.tls_key_pem = key,
		.threads = 2,
		.max_connections = 128,
		.max_connections_per_ip = 24,
		.timeout_s = 4,
		.max_url = 2048,
		.max_header = 8192,
		.max_body = 64 * 1024,
		.arena_cap = 1024 * 1024,
		.hsts = 1,
		.media_dir = media,
	};
	struct sf_http_hooks hooks = { .on_headers = on_headers };
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &set, NULL); /* before the daemons' threads start */
	if (sf_http_start(&opt, routes, sizeof routes / sizeof routes[0], &hooks, NULL, &srv, errbuf, sizeof errbuf)) {
		fprintf(stderr, "http_demo: %s\n", errbuf);
		goto out;
	}
	/* The PEM text is only needed while the daemons start (as in serve). */
	sf_tls_free_pem(cert);
	sf_tls_free_pem(key);
	cert = key = NULL;
	printf("https_port=%u http_port=%u\n", (unsigned)sf_http_https_port(srv), (unsigned)sf_http_http_port(srv));
	fflush(stdout);
	sigdelset(&set, SIGPIPE);
	int sig = 0;
	sigwait(&set, &sig);
	rc = 0;
out:
	sf_http_stop(srv);
	sf_tls_free_pem(cert);
	sf_tls_free_pem(key);
	rm_tree(dir);
	sf_log_close();
	return rc;
}
