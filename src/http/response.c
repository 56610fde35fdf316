/*
 * response.c — building answers: extra headers, bodies, JSON, redirects,
 * error answers (JSON under /api/, HTML elsewhere) and the security header
 * set every response carries.
 *
 * Error bodies are built on the heap, not in the request arena, because the
 * most common reason for a late error is an exhausted arena.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "http/internal.h"

/* ==== Headers ==== */

static int token_char(unsigned char c)
{
	if (c >= 'a' && c <= 'z')
		return 1;
	if (c >= 'A' && c <= 'Z')
		return 1;
	if (c >= '0' && c <= '9')
		return 1;
	return strchr("!#$%&'*+-.^_`|~", c) != NULL && c != '\0';
}

static int header_name_ok(const char *s)
{
	if (!s || !*s)
		return 0;
	for (; *s; s++)
		if (!token_char((unsigned char)*s))
			return 0;
	return 1;
}

static int header_value_ok(const char *s)
{
	if (!s)
		return 0;
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if ((c < 0x20 && c != '\t') || c == 0x7f)
			return 0;
	}
	return 1;
}

enum sf_err sf_resp_header(struct sf_req *req, struct sf_resp *resp, const char *name, const char *value)
{
	if (!header_name_ok(name) || !header_value_ok(value))
		return SF_ERR_INVALID;
	if (resp->nheaders >= sizeof resp->headers / sizeof resp->headers[0])
		return SF_ERR_LIMIT;
	char *k = sf_arena_strdup(req->arena, name);
	char *v = sf_arena_strdup(req->arena, value);
	if (!k || !v)
		return SF_ERR_NOMEM;
	resp->headers[resp->nheaders].k = k;
	resp->headers[resp->nheaders].v = v;
	resp->nheaders++;
	return SF_OK;
}

const char *sf_http_resp_find(const struct sf_resp *resp, const char *name)
{
	for (size_t i = 0; i < resp->nheaders; i++)
		if (strcasecmp(resp->headers[i].k, name) == 0)
			return resp->headers[i].v;
	return NULL;
}

void sf_http_security_headers(const char *request_id, int hsts, int has_cache_control, int has_csp,
			      void (*fn)(void *ctx, const char *k, const char *v), void *ctx)
{
	fn(ctx, "X-Request-Id", request_id);
	if (hsts)
		fn(ctx, "Strict-Transport-Security", SF_HTTP_HSTS);
	if (!has_csp)
		fn(ctx, "Content-Security-Policy", SF_HTTP_CSP);
	fn(ctx, "X-Content-Type-Options", "nosniff");
	fn(ctx, "Referrer-Policy", "strict-origin-when-cross-origin");
	fn(ctx, "Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=(), usb=()");
	fn(ctx, "X-Frame-Options", "DENY");
	fn(ctx, "Cross-Origin-Opener-Policy", "same-origin");
	if (!has_cache_control)
		fn(ctx, "Cache-Control", "no-store");
}

/* ==== Bodies ==== */

void sf_http_resp_reset(struct sf_resp *resp)
{
	if (resp->body_free && resp->body)
		resp->body_free((void *)(uintptr_t)resp->body);
	resp->body = NULL;
	resp->body_len = 0;
	resp->body_free = NULL;
	resp->status = 200;
	resp->content_type = NULL;
}

void sf_resp_body(struct sf_resp *resp, unsigned status, const char *content_type, const void *body, size_t len,
		  void (*body_free)(void *))
{
	if (resp->body_free && resp->body && resp->body != body)
		resp->body_free((void *)(uintptr_t)resp->body);
	resp->status = status ? status : 200;
	resp->content_type = content_type;
	resp->body = body;
	resp->body_len = len;
	resp->body_free = body_free;
}

enum sf_err sf_resp_json(struct sf_req *req, struct sf_resp *resp, unsigned status, json_t *json)
{
	(void)req;
	if (!json)
		return SF_ERR_NOMEM;
	char *text = json_dumps(json, JSON_COMPACT | JSON_ENCODE_ANY);
	json_decref(json);
	if (!text)
		return SF_ERR_NOMEM;
	sf_resp_body(resp, status, "application/json", text, strlen(text), free);
	return SF_OK;
}

enum sf_err sf_resp_tagged(struct sf_req *req, struct sf_resp *resp, const char *content_type, const void *body,
			   size_t len, void (*body_free)(void *), const char *etag)
{
	int fresh = etag && sf_http_etag_match(sf_req_header(req, "If-None-Match"), etag);
	sf_resp_body(resp, fresh ? 304 : 200, content_type, body, len, body_free);
	return etag ? sf_resp_header(req, resp, "ETag", etag) : SF_OK;
}

enum sf_err sf_resp_redirect(struct sf_req *req, struct sf_resp *resp, unsigned status, const char *location)
{
	if (!location || !*location || !header_value_ok(location) || strchr(location, '\t'))
		return SF_ERR_INVALID;
	if (status == 0)
		status = (req->method && strcmp(req->method, "POST") == 0) ? 303 : 302;
	if (status < 300 || status > 399)
		return SF_ERR_INVALID;
	const struct sf_http_server *srv = sf_http_req_server(req);
	if (srv) {
		int nomem = 0;
		location = sf_http_admin_outward(req->arena, srv->opt.admin_prefix, location, &nomem);
		if (nomem)
			return SF_ERR_NOMEM;
	}
	enum sf_err err = sf_resp_header(req, resp, "Location", location);
	if (err)
		return err;
	sf_resp_body(resp, status, "text/plain; charset=utf-8", NULL, 0, NULL);
	return SF_OK;
}

/* ==== Errors ==== */

static void builtin_error_page(struct sf_req *req, struct sf_resp *resp, unsigned status, const char *message)
{
	struct sf_buf b;
	sf_buf_init(&b, 16 * 1024);
	sf_buf_printf(&b,
		      "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
		      "<title>%u</title></head>\n<body><h1>%u</h1>\n<p>",
		      status, status);
	sf_buf_put_html(&b, message, strlen(message));
	sf_buf_puts(&b, "</p>\n<p>Request id: <code>");
	sf_buf_put_html(&b, req->request_id, strlen(req->request_id));
	sf_buf_puts(&b, "</code></p>\n</body></html>\n");
	if (b.bf_err) {
		sf_buf_free(&b);
		sf_resp_body(resp, status, "text/plain; charset=utf-8", "error\n", 6, NULL);
		return;
	}
	size_t len = 0;
	char *text = sf_buf_steal(&b, &len);
	sf_resp_body(resp, status, "text/html; charset=utf-8", text, len, free);
}

void sf_resp_error(struct sf_req *req, struct sf_resp *resp, enum sf_err err, const char *message)
{
	if (err == SF_OK)
		err = SF_ERR_INTERNAL;
	unsigned status = sf_err_status(err);
	/* Server-side failures never carry the caller's text: it may hold
	 * internal detail.  Client errors may explain what to fix. */
	if (!message || status >= 500)
		message = sf_err_desc(err);
	if (sf_req_is_api(req)) {
		json_t *j = json_pack("{s:{s:s, s:s, s:s}}", "error", "code", sf_err_code(err), "message", message,
				      "request_id", req->request_id);
		char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;
		json_decref(j);
		if (text) {
			sf_resp_body(resp, status, "application/json", text, strlen(text), free);
		} else {
			static const char fallback[] = "{\"error\":{\"code\":\"out_of_memory\"}}";
			sf_resp_body(resp, status, "application/json", fallback, sizeof fallback - 1, NULL);
		}
		return;
	}
	const struct sf_http_server *srv = sf_http_req_server(req);
	if (srv && srv->hooks.error_page) {
		sf_http_resp_reset(resp);
		resp->status = status;
		srv->hooks.error_page(req, resp, err, message);
		if (resp->status < 400)
			resp->status = status;
		return;
	}
	builtin_error_page(req, resp, status, message);
}

/* ==== Conditional requests ==== */

int sf_http_etag_match(const char *inm, const char *etag)
{
	if (!inm || !etag)
		return 0;
	size_t el = strlen(etag);
	/* Compare without the quotes' W/ prefix (weak comparison, RFC 9110 13.1.2). */
	const char *p = inm;
	while (*p) {
		while (*p == ' ' || *p == '\t' || *p == ',')
			p++;
		if (!*p)
			break;
		if (*p == '*')
			return 1;
		if (p[0] == 'W' && p[1] == '/')
			p += 2;
		const char *end = p;
		if (*end == '"') {
			end = strchr(p + 1, '"');
			if (!end)
				return 0;
			end++;
		} else {
			while (*end && *end != ',')
				end++;
		}
		if ((size_t)(end - p) == el && memcmp(p, etag, el) == 0)
			return 1;
		p = end;
		while (*p && *p != ',')
			p++;
	}
	return 0;
}
