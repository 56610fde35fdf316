/* test_static.c — path rules of the static handlers, the media type
 * allow-list and the embedded-asset handler (ETag, 304, nothing outside
 * "static/"). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "core/assets.h"
#include "http/internal.h"

static void test_path_rules(void **state)
{
	(void)state;
	static const char *ok[] = { "a.png", "dir/a.png", "a/b/c.svg", "a..b.png", "x-y_z.gif", "caf\xc3\xa9.png" };
	static const char *bad[] = { "",         "/a.png",      "../a.png",   "a/../b.png", "./a.png", "a/./b.png",
				     ".hidden",  "a/.git/x",    "a//b.png",   "a/",         "a\\b.png", "..",
				     "a/\x01.png", "a\x7f.png", "a/b/",       "." };
	for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++)
		if (!sf_http_static_path_ok(ok[i]))
			fail_msg("should accept '%s'", ok[i]);
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		if (sf_http_static_path_ok(bad[i]))
			fail_msg("should reject '%s'", bad[i]);
	assert_false(sf_http_static_path_ok(NULL));
}

static void test_media_types(void **state)
{
	(void)state;
	assert_string_equal(sf_http_media_type("a.svg"), "image/svg+xml");
	assert_string_equal(sf_http_media_type("a.PNG"), "image/png");
	assert_string_equal(sf_http_media_type("x/a.jpg"), "image/jpeg");
	assert_string_equal(sf_http_media_type("a.jpeg"), "image/jpeg");
	assert_string_equal(sf_http_media_type("a.webp"), "image/webp");
	assert_string_equal(sf_http_media_type("a.gif"), "image/gif");
	assert_null(sf_http_media_type("a.html"));
	assert_null(sf_http_media_type("a.svgz"));
	assert_null(sf_http_media_type("a.png.php"));
	assert_null(sf_http_media_type("png"));
	assert_null(sf_http_media_type("dir.png/file"));
	assert_null(sf_http_media_type("a."));
	assert_null(sf_http_media_type(NULL));
}

struct first_ctx {
	const struct sf_asset *a;
};

static void first_static(const struct sf_asset *a, void *ctx)
{
	struct first_ctx *f = ctx;
	if (!f->a)
		f->a = a;
}

static void run_asset(const char *path, enum sf_err want, unsigned want_status)
{
	struct sf_arena ar;
	sf_arena_init(&ar, 64 * 1024);
	struct sf_req req;
	struct sf_resp resp;
	memset(&req, 0, sizeof req);
	memset(&resp, 0, sizeof resp);
	req.arena = &ar;
	req.params[0].k = "path";
	req.params[0].v = path;
	req.nparams = 1;
	resp.status = 200;
	enum sf_err err = sf_http_static_asset(&req, &resp);
	if (err != want)
		fail_msg("'%s': got %d, want %d", path, (int)err, (int)want);
	if (!err)
		assert_int_equal(resp.status, want_status);
	sf_arena_release(&ar);
}

static void test_asset_handler(void **state)
{
	(void)state;
	struct first_ctx fc = { NULL };
	sf_asset_each("static/", first_static, &fc);
	/* Names outside static/ are never reachable, whatever the spelling. */
	run_asset("../templates/x.html", SF_ERR_BAD_REQUEST, 0);
	run_asset("/etc/passwd", SF_ERR_BAD_REQUEST, 0);
	run_asset("a\\b", SF_ERR_BAD_REQUEST, 0);
	run_asset("no-such-asset.css", SF_ERR_NOT_FOUND, 0);
	if (sf_assets_count > 0 && strncmp(sf_assets_table[0].name, "static/", 7) != 0) {
		/* e.g. "migrations/..." or "templates/...": exists, but not below static/ */
		const char *slash = strchr(sf_assets_table[0].name, '/');
		run_asset(slash + 1, SF_ERR_NOT_FOUND, 0);
	}
	if (!fc.a) {
		skip();
		return;
	}
	const char *name = fc.a->name + 7;
	run_asset(name, SF_OK, 200);

	struct sf_arena ar;
	sf_arena_init(&ar, 64 * 1024);
	struct sf_req req;
	struct sf_resp resp;
	memset(&req, 0, sizeof req);
	memset(&resp, 0, sizeof resp);
	req.arena = &ar;
	req.params[0].k = "path";
	req.params[0].v = name;
	req.nparams = 1;
	assert_int_equal(sf_http_static_asset(&req, &resp), SF_OK);
	assert_int_equal(resp.status, 200);
	assert_ptr_equal(resp.body, fc.a->data);
	assert_int_equal(resp.body_len, fc.a->len);
	assert_null(resp.body_free);
	assert_string_equal(resp.content_type, fc.a->content_type);
	assert_string_equal(sf_http_resp_find(&resp, "ETag"), fc.a->etag);
	assert_string_equal(sf_http_resp_find(&resp, "Cache-Control"), "public, max-age=31536000, immutable");
	sf_arena_release(&ar);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_path_rules),
		cmocka_unit_test(test_media_types),
		cmocka_unit_test(test_asset_handler),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
