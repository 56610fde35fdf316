/* test_router.c — route matching: exact paths, {param}, {*rest}, 404 versus
 * 405 with the Allow list, HEAD answered by GET routes. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
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

/* The index gives the same answers as the scan: route, parameters and
 * Allow list, for paths made from every pattern and for random ones, over
 * a table where order matters (an earlier {param} route shadows a later
 * literal one) and with routes that start with a parameter, a bare "/",
 * and a pattern without a leading slash. */
static const struct sf_route mixed[] = {
	{ "GET", "/", h, SF_AUTH_NONE, NULL, SF_CSRF_NONE, SF_RC_READ, 0, 0 },
	{ "GET", "/{lang}/about", h, SF_AUTH_NONE, NULL, SF_CSRF_NONE, SF_RC_READ, 0, 0 },
	{ "GET", "/products", h, SF_AUTH_NONE, NULL, SF_CSRF_NONE, SF_RC_READ, 0, 0 },
	{ "POST", "/products", h, SF_AUTH_STAFF, "catalog.write", SF_CSRF_REQUIRED, SF_RC_WRITE, 0, 0 },
	{ "GET", "/p/{slug}", h, SF_AUTH_NONE, NULL, SF_CSRF_NONE, SF_RC_READ, 0, 0 },
	{ "DELETE", "/p/{slug}", h, SF_AUTH_STAFF, "catalog.write", SF_CSRF_REQUIRED, SF_RC_WRITE, 0, 0 },
	{ "GET", "/p/special", h, SF_AUTH_NONE, NULL, SF_CSRF_NONE, SF_RC_READ, 0, 0 },
	{ "PUT", "/p/special", h, SF_AUTH_NONE, NULL, SF_CSRF_NONE, SF_RC_READ, 0, 0 },
	{ "GET", "/api/v1/products/{slug}", h, SF_AUTH_NONE, NULL, SF_CSRF_NONE, SF_RC_READ, 0, 0 },
	{ "GET", "/api/v1/{*rest}", h, SF_AUTH_NONE, NULL, SF_CSRF_NONE, SF_RC_READ, 0, 0 },
	{ "POST", "/{*any}", h, SF_AUTH_NONE, NULL, SF_CSRF_NONE, SF_RC_READ, 0, 0 },
	{ "GET", "nolead", h, SF_AUTH_NONE, NULL, SF_CSRF_NONE, SF_RC_READ, 0, 0 },
	{ "GET", "/\xc3\xa9t\xc3\xa9", h, SF_AUTH_NONE, NULL, SF_CSRF_NONE, SF_RC_READ, 0, 0 },
};
#define NMIXED (sizeof mixed / sizeof mixed[0])

static void same_answer(struct sf_route_index *ix, const struct sf_route *table, size_t n, const char *method,
			const char *path)
{
	struct sf_arena a1, a2;
	sf_arena_init(&a1, 16 * 1024);
	sf_arena_init(&a2, 16 * 1024);
	struct sf_req r1 = { .arena = &a1 }, r2 = { .arena = &a2 };
	const char *al1 = "x", *al2 = "y";
	const struct sf_route *m1 = sf_http_route_match(table, n, method, path, &r1, &al1);
	const struct sf_route *m2 = sf_http_route_match_ix(ix, method, path, &r2, &al2);
	if (m1 != m2)
		fail_msg("%s %s: scan %s, index %s", method, path, m1 ? m1->pattern : "-", m2 ? m2->pattern : "-");
	if ((al1 == NULL) != (al2 == NULL) || (al1 && strcmp(al1, al2) != 0))
		fail_msg("%s %s: Allow '%s' vs '%s'", method, path, al1 ? al1 : "-", al2 ? al2 : "-");
	assert_int_equal(r1.nparams, r2.nparams);
	for (size_t i = 0; i < r1.nparams; i++) {
		assert_string_equal(r1.params[i].k, r2.params[i].k);
		assert_string_equal(r1.params[i].v, r2.params[i].v);
	}
	sf_arena_release(&a1);
	sf_arena_release(&a2);
}

static void test_index_same_as_scan(void **state)
{
	(void)state;
	static const char *const methods[] = { "GET", "HEAD", "POST", "PUT", "DELETE", "PATCH" };
	const struct { const struct sf_route *t; size_t n; } tables[] = { { routes, NR }, { mixed, NMIXED } };
	unsigned seed = 42;
	size_t checked = 0, matched = 0;
	for (size_t t = 0; t < 2; t++) {
		struct sf_route_index *ix = sf_http_route_index_new(tables[t].t, tables[t].n);
		assert_non_null(ix);
		/* Paths made from each pattern, parameters filled in. */
		for (size_t i = 0; i < tables[t].n; i++) {
			static const char *const fill[] = { "x", "special", "a/b", "" };
			for (size_t f = 0; f < 4; f++) {
				char path[256];
				size_t o = 0;
				for (const char *p = tables[t].t[i].pattern; *p && o < 200;) {
					if (*p == '{') {
						o += (size_t)snprintf(path + o, sizeof path - o, "%s", fill[f]);
						p = strchr(p, '}');
						p = p ? p + 1 : "";
					} else {
						path[o++] = *p++;
					}
				}
				path[o] = '\0';
				for (size_t k = 0; k < 6; k++) {
					same_answer(ix, tables[t].t, tables[t].n, methods[k], path);
					checked++;
				}
			}
		}
		/* Random paths over the bytes the patterns use. */
		static const char alpha[] = "//apirodcus1v{}*xzn\xc3\xa9t";
		for (int r = 0; r < 20000; r++) {
			char path[32];
			size_t len = (size_t)(rand_r(&seed) % 24);
			for (size_t i = 0; i < len; i++)
				path[i] = alpha[rand_r(&seed) % (sizeof alpha - 1)];
			path[len] = '\0';
			if (len && rand_r(&seed) % 4)
				path[0] = '/';
			const char *method = methods[rand_r(&seed) % 6];
			struct sf_arena a;
			sf_arena_init(&a, 4096);
			struct sf_req rq = { .arena = &a };
			if (sf_http_route_match(tables[t].t, tables[t].n, method, path, &rq, NULL))
				matched++;
			sf_arena_release(&a);
			same_answer(ix, tables[t].t, tables[t].n, method, path);
			checked++;
		}
		sf_http_route_index_free(ix);
	}
	assert_true(checked > 40000);
	assert_true(matched > 100); /* the random paths did reach routes */
	/* Hostile and empty inputs. */
	struct sf_route_index *ix = sf_http_route_index_new(mixed, NMIXED);
	assert_null(sf_http_route_match_ix(ix, "GET", NULL, NULL, NULL));
	assert_null(sf_http_route_match_ix(NULL, "GET", "/", NULL, NULL));
	same_answer(ix, mixed, NMIXED, "GET", "");
	sf_http_route_index_free(ix);
	struct sf_route nullpat[] = { { "GET", NULL, h, SF_AUTH_NONE, NULL, SF_CSRF_NONE, SF_RC_READ, 0, 0 } };
	assert_null(sf_http_route_index_new(nullpat, 1));
	assert_null(sf_http_route_index_new(NULL, 0));
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
		cmocka_unit_test(test_index_same_as_scan),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
