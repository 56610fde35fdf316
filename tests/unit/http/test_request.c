/* test_request.c — strict decoding of the raw target (every malformed case),
 * query parsing and its limits, UTF-8 validation and request ids. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "http/internal.h"

static struct sf_arena A;

static int setup(void **state)
{
	(void)state;
	sf_arena_init(&A, 1024 * 1024);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	sf_arena_release(&A);
	return 0;
}

static enum sf_err dec(const char *raw, char **out)
{
	return sf_http_decode_path(&A, raw, strlen(raw), out);
}

static void test_path_ok(void **state)
{
	(void)state;
	static const struct {
		const char *raw, *want;
	} ok[] = {
		{ "/", "/" },
		{ "/a/b/c", "/a/b/c" },
		{ "/a/", "/a/" },
		{ "/a%20b", "/a b" },
		{ "/caf%C3%A9", "/caf\xc3\xa9" },
		{ "/caf%c3%a9", "/caf\xc3\xa9" },
		{ "/%E2%82%AC", "/\xe2\x82\xac" },
		{ "/%F0%9F%98%80", "/\xf0\x9f\x98\x80" },
		{ "/a+b", "/a+b" }, /* '+' is literal in paths */
		{ "/.well-known/x", "/.well-known/x" },
		{ "/a..b/...", "/a..b/..." },
		{ "/~user/%7E", "/~user/~" },
	};
	for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
		char *out = NULL;
		assert_int_equal(dec(ok[i].raw, &out), SF_OK);
		assert_string_equal(out, ok[i].want);
	}
}

static void test_path_bad_encoding(void **state)
{
	(void)state;
	static const char *bad[] = {
		"/%",         "/%4",           "/%zz",          "/%4g",       "/%G1",     "/a%",
		"/%00",       "/a%00b",        "/%01",          "/%1f",       "/%7f",     "/%0a",
		"/%0d%0a",    "/%09",          "/%C3",          "/%C3%28",    "/%C0%AF",  "/%C1%81",
		"/%E0%80%AF", "/%ED%A0%80",    "/%F4%90%80%80", "/%F5%80%80%80", "/%FF",  "/%80",
		"/%F0%9F%98", "/\x80",         "/caf\xc3\xa9",  "/a b",       "/a\tb",    "/a\x7f",
		"/%E2%82",    "/%F8%88%80%80%80",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		char *out = (char *)"x";
		enum sf_err err = dec(bad[i], &out);
		if (err != SF_ERR_BAD_ENCODING)
			fail_msg("case %zu (%s): got %d", i, bad[i], (int)err);
		assert_null(out);
	}
}

static void test_path_bad_request(void **state)
{
	(void)state;
	static const char *bad[] = {
		"",          "a",          "*",             "http://x/", "/a#frag",       "/.",
		"/..",       "/./a",       "/a/../b",       "/a/..",     "/a/.",          "//",
		"//a",       "/a//b",      "/%2e%2e/etc",   "/%2E/a",    "/.%2e/x",       "/a%2fb",
		"/a%2F..%2Fb", "/a\\b",    "/a%5cb",        "/a%5C..%5Cb", "/static/%2e%2e%2fsecret",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		char *out = NULL;
		enum sf_err err = dec(bad[i], &out);
		if (err != SF_ERR_BAD_REQUEST)
			fail_msg("case %zu (%s): got %d", i, bad[i], (int)err);
	}
}

static void test_path_arena_exhausted(void **state)
{
	(void)state;
	struct sf_arena tiny;
	sf_arena_init(&tiny, 16);
	char *out = NULL;
	char raw[200];
	memset(raw, 'a', sizeof raw - 1);
	raw[0] = '/';
	raw[sizeof raw - 1] = '\0';
	assert_int_equal(sf_http_decode_path(&tiny, raw, strlen(raw), &out), SF_ERR_NOMEM);
	assert_true(sf_arena_failed(&tiny));
	sf_arena_release(&tiny);
}

static void test_query(void **state)
{
	(void)state;
	struct sf_kv *kv;
	size_t n;
	const char *q = "a=1&b=x+y&c=%2B%26%3D&d&&e=&f=caf%C3%A9&a=2&t=line%0Aend";
	assert_int_equal(sf_http_parse_query(&A, q, strlen(q), &kv, &n), SF_OK);
	assert_int_equal(n, 8);
	assert_string_equal(kv[0].k, "a");
	assert_string_equal(kv[0].v, "1");
	assert_string_equal(kv[1].v, "x y");
	assert_string_equal(kv[2].v, "+&=");
	assert_string_equal(kv[3].k, "d");
	assert_string_equal(kv[3].v, "");
	assert_string_equal(kv[4].k, "e");
	assert_string_equal(kv[4].v, "");
	assert_string_equal(kv[5].v, "caf\xc3\xa9");
	assert_string_equal(kv[6].v, "2");
	assert_string_equal(kv[7].v, "line\nend"); /* whitespace allowed in values */

	struct sf_req req;
	memset(&req, 0, sizeof req);
	req.qargs = kv;
	req.nqargs = n;
	assert_string_equal(sf_req_query(&req, "a"), "1"); /* first occurrence */
	assert_null(sf_req_query(&req, "zz"));

	assert_int_equal(sf_http_parse_query(&A, "", 0, &kv, &n), SF_OK);
	assert_int_equal(n, 0);
	assert_int_equal(sf_http_parse_query(&A, "&&&", 3, &kv, &n), SF_OK);
	assert_int_equal(n, 0);
}

static void test_query_bad(void **state)
{
	(void)state;
	static const struct {
		const char *q;
		enum sf_err want;
	} bad[] = {
		{ "a=%", SF_ERR_BAD_ENCODING },      { "a=%zz", SF_ERR_BAD_ENCODING },
		{ "a=%00", SF_ERR_BAD_ENCODING },    { "a=%C3%28", SF_ERR_BAD_ENCODING },
		{ "a=%01", SF_ERR_BAD_ENCODING },    { "a%0A=1", SF_ERR_BAD_ENCODING }, /* no whitespace in names */
		{ "a=\x80", SF_ERR_BAD_ENCODING },   { "a=b c", SF_ERR_BAD_ENCODING },
		{ "=1", SF_ERR_BAD_PARAM },          { "a=1&=2", SF_ERR_BAD_PARAM },
		{ "a=%ED%A0%80", SF_ERR_BAD_ENCODING },
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct sf_kv *kv;
		size_t n;
		enum sf_err err = sf_http_parse_query(&A, bad[i].q, strlen(bad[i].q), &kv, &n);
		if (err != bad[i].want)
			fail_msg("case %zu (%s): got %d", i, bad[i].q, (int)err);
	}
}

static void test_query_limit(void **state)
{
	(void)state;
	char q[4096];
	size_t o = 0;
	for (int i = 0; i < SF_HTTP_MAX_QARGS; i++)
		o += (size_t)snprintf(q + o, sizeof q - o, "%sk%d=%d", i ? "&" : "", i, i);
	struct sf_kv *kv;
	size_t n;
	assert_int_equal(sf_http_parse_query(&A, q, o, &kv, &n), SF_OK);
	assert_int_equal(n, SF_HTTP_MAX_QARGS);
	assert_string_equal(kv[63].k, "k63");
	o += (size_t)snprintf(q + o, sizeof q - o, "&one=more");
	assert_int_equal(sf_http_parse_query(&A, q, o, &kv, &n), SF_ERR_BAD_PARAM);
	/* Thousands of empty pairs are refused before any work. */
	char amps[2000];
	memset(amps, '&', sizeof amps);
	assert_int_equal(sf_http_parse_query(&A, amps, sizeof amps, &kv, &n), SF_ERR_BAD_PARAM);
}

static void test_utf8(void **state)
{
	(void)state;
	assert_true(sf_http_utf8_valid((const unsigned char *)"", 0));
	assert_true(sf_http_utf8_valid((const unsigned char *)"abc", 3));
	assert_true(sf_http_utf8_valid((const unsigned char *)"\xc2\x80", 2));
	assert_true(sf_http_utf8_valid((const unsigned char *)"\xef\xbf\xbf", 3));
	assert_true(sf_http_utf8_valid((const unsigned char *)"\xf4\x8f\xbf\xbf", 4));
	assert_false(sf_http_utf8_valid((const unsigned char *)"\xc2", 1));
	assert_false(sf_http_utf8_valid((const unsigned char *)"\xe0\x9f\xbf", 3)); /* overlong */
	assert_false(sf_http_utf8_valid((const unsigned char *)"\xf0\x8f\xbf\xbf", 4));
	assert_false(sf_http_utf8_valid((const unsigned char *)"\xed\xbf\xbf", 3)); /* surrogate */
	assert_false(sf_http_utf8_valid((const unsigned char *)"\xbf", 1));
	assert_false(sf_http_utf8_valid((const unsigned char *)"\xfe", 1));
}

static void test_request_id(void **state)
{
	(void)state;
	char prev[SF_REQUEST_ID_LEN + 1] = "";
	for (int i = 0; i < 200; i++) {
		char id[SF_REQUEST_ID_LEN + 1];
		memset(id, 'X', sizeof id);
		sf_http_request_id(id);
		assert_int_equal(strlen(id), 26);
		assert_int_equal(strspn(id, "abcdefghijklmnopqrstuvwxyz234567"), 26);
		/* 128 bits: the 26th char carries 3 bits, padded with two zero bits. */
		assert_int_equal((strchr("abcdefghijklmnopqrstuvwxyz234567", id[25]) - "abcdefghijklmnopqrstuvwxyz234567") & 3, 0);
		assert_string_not_equal(id, prev);
		memcpy(prev, id, sizeof id);
	}
}

static void test_accessors_without_connection(void **state)
{
	(void)state;
	struct sf_req req;
	memset(&req, 0, sizeof req);
	req.arena = &A;
	assert_null(sf_req_header(&req, "Host"));
	assert_null(sf_req_cookie(&req, "sid"));
	req.path = "/api/v1/x";
	assert_true(sf_req_is_api(&req));
	req.path = "/apix";
	assert_false(sf_req_is_api(&req));
	req.path = "/api";
	assert_false(sf_req_is_api(&req));
	req.path = NULL;
	req.target = "/api/%zz";
	assert_true(sf_req_is_api(&req));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_path_ok),
		cmocka_unit_test(test_path_bad_encoding),
		cmocka_unit_test(test_path_bad_request),
		cmocka_unit_test(test_path_arena_exhausted),
		cmocka_unit_test(test_query),
		cmocka_unit_test(test_query_bad),
		cmocka_unit_test(test_query_limit),
		cmocka_unit_test(test_utf8),
		cmocka_unit_test(test_request_id),
		cmocka_unit_test(test_accessors_without_connection),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
