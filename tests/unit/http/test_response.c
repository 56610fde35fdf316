/* test_response.c — the security header set, error answers (JSON under
 * /api/, escaped HTML elsewhere, never internal detail), header validation,
 * redirects, JSON bodies and ETag matching. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "http/internal.h"

struct hdrs {
	const char *k[16];
	const char *v[16];
	size_t n;
};

static void collect(void *ctx, const char *k, const char *v)
{
	struct hdrs *h = ctx;
	assert_true(h->n < 16);
	h->k[h->n] = k;
	h->v[h->n] = v;
	h->n++;
}

static const char *find(const struct hdrs *h, const char *k)
{
	for (size_t i = 0; i < h->n; i++)
		if (strcmp(h->k[i], k) == 0)
			return h->v[i];
	return NULL;
}

static void test_security_headers(void **state)
{
	(void)state;
	struct hdrs h = { 0 };
	sf_http_security_headers("abc", 1, 0, 0, collect, &h);
	assert_int_equal(h.n, 9);
	assert_string_equal(find(&h, "X-Request-Id"), "abc");
	assert_string_equal(find(&h, "Strict-Transport-Security"), "max-age=63072000; includeSubDomains");
	assert_string_equal(find(&h, "Content-Security-Policy"),
			    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
			    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'");
	assert_string_equal(find(&h, "X-Content-Type-Options"), "nosniff");
	assert_string_equal(find(&h, "Referrer-Policy"), "strict-origin-when-cross-origin");
	assert_string_equal(find(&h, "Permissions-Policy"),
			    "camera=(), microphone=(), geolocation=(), payment=(), usb=()");
	assert_string_equal(find(&h, "X-Frame-Options"), "DENY");
	assert_string_equal(find(&h, "Cross-Origin-Opener-Policy"), "same-origin");
	assert_string_equal(find(&h, "Cache-Control"), "no-store");

	struct hdrs plain = { 0 };
	sf_http_security_headers("abc", 0, 1, 1, collect, &plain);
	assert_int_equal(plain.n, 6);
	assert_null(find(&plain, "Strict-Transport-Security"));
	assert_null(find(&plain, "Cache-Control"));
	assert_null(find(&plain, "Content-Security-Policy"));
	assert_string_equal(find(&plain, "X-Frame-Options"), "DENY");
}

struct fx {
	struct sf_arena a;
	struct sf_req req;
	struct sf_resp resp;
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof *f);
	sf_arena_init(&f->a, 64 * 1024);
	f->req.arena = &f->a;
	f->req.method = "GET";
	memcpy(f->req.request_id, "abcdefghijklmnopqrstuvwxyz", 27);
	f->resp.status = 200;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	sf_http_resp_reset(&f->resp);
	sf_arena_release(&f->a);
	free(f);
	return 0;
}

static void test_error_json(void **state)
{
	struct fx *f = *state;
	f->req.path = "/api/v1/products/x";
	sf_resp_error(&f->req, &f->resp, SF_ERR_NOT_FOUND, "No such product.");
	assert_int_equal(f->resp.status, 404);
	assert_string_equal(f->resp.content_type, "application/json");
	json_error_t je;
	json_t *j = json_loadb(f->resp.body, f->resp.body_len, 0, &je);
	assert_non_null(j);
	json_t *e = json_object_get(j, "error");
	assert_string_equal(json_string_value(json_object_get(e, "code")), "not_found");
	assert_string_equal(json_string_value(json_object_get(e, "message")), "No such product.");
	assert_string_equal(json_string_value(json_object_get(e, "request_id")), "abcdefghijklmnopqrstuvwxyz");
	assert_int_equal(json_object_size(j), 1);
	assert_int_equal(json_object_size(e), 3);
	json_decref(j);

	/* 5xx: the caller's message is replaced by the registry's. */
	sf_resp_error(&f->req, &f->resp, SF_ERR_DB, "SELECT * FROM customers failed: disk I/O");
	assert_int_equal(f->resp.status, 500);
	assert_null(strstr(f->resp.body, "SELECT"));
	assert_non_null(strstr(f->resp.body, "\"code\":\"db_error\""));
	assert_non_null(strstr(f->resp.body, sf_err_desc(SF_ERR_DB)));

	/* NULL message: the registry description. */
	sf_resp_error(&f->req, &f->resp, SF_ERR_RATE_LIMITED, NULL);
	assert_int_equal(f->resp.status, 429);
	assert_non_null(strstr(f->resp.body, "Too many requests."));
}

static void test_error_html(void **state)
{
	struct fx *f = *state;
	f->req.path = "/products/x";
	sf_resp_error(&f->req, &f->resp, SF_ERR_BAD_PARAM, "Bad <script>alert('x')</script> & \"q\"");
	assert_int_equal(f->resp.status, 400);
	assert_string_equal(f->resp.content_type, "text/html; charset=utf-8");
	const char *b = f->resp.body;
	assert_null(strstr(b, "<script>"));
	assert_non_null(strstr(b, "&lt;script&gt;"));
	assert_non_null(strstr(b, "&amp;"));
	assert_non_null(strstr(b, "400"));
	assert_non_null(strstr(b, "abcdefghijklmnopqrstuvwxyz"));
	assert_int_equal(strlen(b), f->resp.body_len);

	sf_resp_error(&f->req, &f->resp, SF_ERR_INTERNAL, "/var/lib/storefort/db: segfault at 0x0");
	assert_int_equal(f->resp.status, 500);
	assert_null(strstr(f->resp.body, "/var/lib"));
	assert_non_null(strstr(f->resp.body, "An internal error occurred."));

	/* SF_OK is not an error: it becomes an internal error, never a 200. */
	sf_resp_error(&f->req, &f->resp, SF_OK, NULL);
	assert_int_equal(f->resp.status, 500);
}

static void test_headers(void **state)
{
	struct fx *f = *state;
	assert_int_equal(sf_resp_header(&f->req, &f->resp, "X-Thing", "a b\tc"), SF_OK);
	assert_string_equal(sf_http_resp_find(&f->resp, "x-thing"), "a b\tc");
	assert_int_equal(sf_resp_header(&f->req, &f->resp, "X-Evil", "a\r\nSet-Cookie: x=1"), SF_ERR_INVALID);
	assert_int_equal(sf_resp_header(&f->req, &f->resp, "X-Evil", "a\nb"), SF_ERR_INVALID);
	assert_int_equal(sf_resp_header(&f->req, &f->resp, "Bad Name", "v"), SF_ERR_INVALID);
	assert_int_equal(sf_resp_header(&f->req, &f->resp, "Bad:Name", "v"), SF_ERR_INVALID);
	assert_int_equal(sf_resp_header(&f->req, &f->resp, "", "v"), SF_ERR_INVALID);
	assert_int_equal(f->resp.nheaders, 1);
	for (int i = 1; i < 24; i++)
		assert_int_equal(sf_resp_header(&f->req, &f->resp, "X-N", "v"), SF_OK);
	assert_int_equal(sf_resp_header(&f->req, &f->resp, "X-N", "v"), SF_ERR_LIMIT);
}

static void test_redirect(void **state)
{
	struct fx *f = *state;
	assert_int_equal(sf_resp_redirect(&f->req, &f->resp, 0, "/cart"), SF_OK);
	assert_int_equal(f->resp.status, 302);
	assert_string_equal(sf_http_resp_find(&f->resp, "Location"), "/cart");
	f->req.method = "POST";
	f->resp.nheaders = 0;
	assert_int_equal(sf_resp_redirect(&f->req, &f->resp, 0, "/orders/1"), SF_OK);
	assert_int_equal(f->resp.status, 303);
	assert_int_equal(sf_resp_redirect(&f->req, &f->resp, 0, "/x\r\nSet-Cookie: a=b"), SF_ERR_INVALID);
	assert_int_equal(sf_resp_redirect(&f->req, &f->resp, 200, "/x"), SF_ERR_INVALID);
	assert_int_equal(sf_resp_redirect(&f->req, &f->resp, 0, ""), SF_ERR_INVALID);
}

static void test_json_body(void **state)
{
	struct fx *f = *state;
	assert_int_equal(sf_resp_json(&f->req, &f->resp, 201, json_pack("{s:i}", "n", 5)), SF_OK);
	assert_int_equal(f->resp.status, 201);
	assert_string_equal(f->resp.content_type, "application/json");
	assert_int_equal(f->resp.body_len, 7);
	assert_memory_equal(f->resp.body, "{\"n\":5}", 7);
	assert_ptr_equal(f->resp.body_free, free);
	assert_int_equal(sf_resp_json(&f->req, &f->resp, 200, NULL), SF_ERR_NOMEM);
}

static void test_etag(void **state)
{
	(void)state;
	const char *e = "\"abc123\"";
	assert_true(sf_http_etag_match("\"abc123\"", e));
	assert_true(sf_http_etag_match("W/\"abc123\"", e));
	assert_true(sf_http_etag_match("\"x\", \"abc123\"", e));
	assert_true(sf_http_etag_match("\"x\",W/\"abc123\" ", e));
	assert_true(sf_http_etag_match("*", e));
	assert_false(sf_http_etag_match("\"abc12\"", e));
	assert_false(sf_http_etag_match("abc123", e));
	assert_false(sf_http_etag_match("\"abc123", e));
	assert_false(sf_http_etag_match("", e));
	assert_false(sf_http_etag_match(NULL, e));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_security_headers),
		cmocka_unit_test_setup_teardown(test_error_json, setup, teardown),
		cmocka_unit_test_setup_teardown(test_error_html, setup, teardown),
		cmocka_unit_test_setup_teardown(test_headers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_redirect, setup, teardown),
		cmocka_unit_test_setup_teardown(test_json_body, setup, teardown),
		cmocka_unit_test(test_etag),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
