/* test_router.c — route matching: exact paths, {param}, {*rest}, 404 versus
 * 405 with the Allow list, HEAD answered by GET routes. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <string.h>

#include "http/internal.h"

static enum sf_err h(struct sf_req *req, struct sf_resp *resp)
{
	(void)req;
	(void)resp;
	return SF_OK;
}

static const struct sf_route routes[] = {
	{ "GET", "/", h, SF_AUTH_NONE, NULL, SF_CSRF_NONE, SF_RC_READ, 0, 0 },
	{ "GET", "/products", h, SF_AUTH_NONE, NULL, SF_CSRF_NONE, SF_RC_READ, 0, 0 },
	{ "POST", "/products", h, SF_AUTH_STAFF, "catalog.write", SF_CSRF_REQUIRED, SF_RC_WRITE, 0, 0 },
	{ "GET", "/products/{slug}", h, SF_AUTH_NONE, NULL, SF_CSRF_NONE, SF_RC_READ, 0, 0 },
	{ "PUT", "/products/{slug}", h, SF_AUTH_STAFF, "catalog.write", SF_CSRF_REQUIRED, SF_RC_WRITE, 0, 0 },
	{ "GET", "/orders/{id}/lines/{line}", h, SF_AUTH_STAFF, "orders.read", SF_CSRF_NONE, SF_RC_READ, 0, 0 },
	{ "GET", "/static/{*path}", h, SF_AUTH_NONE, NULL, SF_CSRF_NONE, SF_RC_STATIC, 0, SF_ROUTE_STATIC },
	{ "POST", "/webhook", h, SF_AUTH_SIGNED, "webhook", SF_CSRF_EXEMPT, SF_RC_WEBHOOK, 0, 0 },
};
#define NR (sizeof routes / sizeof routes[0])

struct fx {
	struct sf_arena a;
	struct sf_req req;
};

static int setup(void **state)
{
	static struct fx f;
	memset(&f, 0, sizeof f);
	sf_arena_init(&f.a, 64 * 1024);
	f.req.arena = &f.a;
	*state = &f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	sf_arena_release(&f->a);
	return 0;
}

static const struct sf_route *m(struct fx *f, const char *method, const char *path, const char **allow)
{
	f->req.nparams = 0;
	f->req.route = NULL;
	return sf_http_route_match(routes, NR, method, path, &f->req, allow);
}

static void test_exact(void **state)
{
	struct fx *f = *state;
	const char *allow = "x";
	assert_ptr_equal(m(f, "GET", "/", &allow), &routes[0]);
	assert_null(allow);
	assert_ptr_equal(m(f, "GET", "/products", &allow), &routes[1]);
	assert_ptr_equal(f->req.route, &routes[1]);
	assert_ptr_equal(m(f, "POST", "/products", &allow), &routes[2]);
	assert_int_equal(f->req.nparams, 0);
	/* No prefix or trailing-slash leniency. */
	assert_null(m(f, "GET", "/products/", &allow));
	assert_null(allow);
	assert_null(m(f, "GET", "/productsx", &allow));
	assert_null(m(f, "GET", "/Products", &allow));
}

static void test_params(void **state)
{
	struct fx *f = *state;
	const char *allow;
	assert_ptr_equal(m(f, "GET", "/products/red-shoe", &allow), &routes[3]);
	assert_int_equal(f->req.nparams, 1);
	assert_string_equal(sf_req_param(&f->req, "slug"), "red-shoe");
	assert_null(sf_req_param(&f->req, "id"));
	assert_ptr_equal(m(f, "GET", "/orders/42/lines/7", &allow), &routes[5]);
	assert_string_equal(sf_req_param(&f->req, "id"), "42");
	assert_string_equal(sf_req_param(&f->req, "line"), "7");
	/* A parameter is one non-empty segment. */
	assert_null(m(f, "GET", "/products/a/b", &allow));
	assert_null(allow);
	assert_null(m(f, "GET", "/orders//lines/7", &allow));
	assert_null(m(f, "GET", "/orders/1/lines/", &allow));
}

static void test_rest(void **state)
{
	struct fx *f = *state;
	const char *allow;
	assert_ptr_equal(m(f, "GET", "/static/css/app.css", &allow), &routes[6]);
	assert_string_equal(sf_req_param(&f->req, "path"), "css/app.css");
	assert_ptr_equal(m(f, "GET", "/static/x", &allow), &routes[6]);
	assert_string_equal(sf_req_param(&f->req, "path"), "x");
	assert_null(m(f, "GET", "/static/", &allow)); /* the rest is never empty */
	assert_null(m(f, "GET", "/static", &allow));
}

static void test_405_allow(void **state)
{
	struct fx *f = *state;
	const char *allow = NULL;
	assert_null(m(f, "DELETE", "/products", &allow));
	assert_non_null(allow);
	assert_string_equal(allow, "GET, HEAD, POST");
	assert_null(m(f, "POST", "/products/x", &allow));
	assert_string_equal(allow, "GET, HEAD, PUT");
	assert_null(m(f, "GET", "/webhook", &allow));
	assert_string_equal(allow, "POST");
	assert_null(m(f, "OPTIONS", "/webhook", &allow));
	assert_string_equal(allow, "POST");
	/* Unknown path: 404, no Allow. */
	assert_null(m(f, "GET", "/nothing", &allow));
	assert_null(allow);
	/* Without req or allow the caller just gets NULL. */
	assert_null(sf_http_route_match(routes, NR, "DELETE", "/products", NULL, NULL));
}

static void test_head(void **state)
{
	struct fx *f = *state;
	const char *allow;
	assert_ptr_equal(m(f, "HEAD", "/products", &allow), &routes[1]);
	assert_ptr_equal(m(f, "HEAD", "/products/p1", &allow), &routes[3]);
	assert_string_equal(sf_req_param(&f->req, "slug"), "p1");
	/* HEAD on a POST-only path is not allowed. */
	assert_null(m(f, "HEAD", "/webhook", &allow));
	assert_string_equal(allow, "POST");
	/* GET does not answer POST. */
	assert_null(m(f, "POST", "/", &allow));
	assert_string_equal(allow, "GET, HEAD");
}

static void test_bad_pattern_never_matches(void **state)
{
	(void)state;
	static const struct sf_route bad[] = {
		{ "GET", "/a/{oops", h, SF_AUTH_NONE, NULL, SF_CSRF_NONE, SF_RC_READ, 0, 0 },
		{ "GET", "/b/{*rest}/more", h, SF_AUTH_NONE, NULL, SF_CSRF_NONE, SF_RC_READ, 0, 0 },
	};
	assert_null(sf_http_route_match(bad, 2, "GET", "/a/{oops", NULL, NULL));
	assert_null(sf_http_route_match(bad, 2, "GET", "/a/x", NULL, NULL));
	assert_null(sf_http_route_match(bad, 2, "GET", "/b/x/more", NULL, NULL));
}

static void test_admin_prefix(void **state)
{
	(void)state;
	struct sf_arena a;
	sf_arena_init(&a, 1 << 16);
	int nomem = 0;
	/* inward: the configured prefix maps to /admin, /admin itself is hidden */
	assert_string_equal(sf_http_admin_rewrite(&a, "/bo-7x", "/bo-7x/orders/3", &nomem), "/admin/orders/3");
	assert_string_equal(sf_http_admin_rewrite(&a, "/bo-7x", "/bo-7x", &nomem), "/admin");
	assert_null(sf_http_admin_rewrite(&a, "/bo-7x", "/admin/orders", &nomem));
	assert_string_equal(sf_http_admin_rewrite(&a, "/bo-7x", "/bo-7xy", &nomem), "/bo-7xy");
	assert_string_equal(sf_http_admin_rewrite(&a, "/admin", "/admin/x", &nomem), "/admin/x");
	/* outward: redirects to internal /admin paths carry the prefix */
	assert_string_equal(sf_http_admin_outward(&a, "/bo-7x", "/admin/orders/3", &nomem), "/bo-7x/orders/3");
	assert_string_equal(sf_http_admin_outward(&a, "/bo-7x", "/admin?x=1", &nomem), "/bo-7x?x=1");
	assert_string_equal(sf_http_admin_outward(&a, "/bo-7x", "/admin", &nomem), "/bo-7x");
	assert_string_equal(sf_http_admin_outward(&a, "/bo-7x", "/administrator", &nomem), "/administrator");
	assert_string_equal(sf_http_admin_outward(&a, "/bo-7x", "https://x/admin", &nomem), "https://x/admin");
	assert_string_equal(sf_http_admin_outward(&a, NULL, "/admin/x", &nomem), "/admin/x");
	assert_int_equal(nomem, 0);
	sf_arena_release(&a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_exact, setup, teardown),
		cmocka_unit_test_setup_teardown(test_params, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rest, setup, teardown),
		cmocka_unit_test_setup_teardown(test_405_allow, setup, teardown),
		cmocka_unit_test_setup_teardown(test_head, setup, teardown),
		cmocka_unit_test(test_bad_pattern_never_matches),
		cmocka_unit_test(test_admin_prefix),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
