/* test_routes.c — the route table's own rules, checked on the real table:
 * every row has a handler and a well-formed pattern; no (method, pattern)
 * appears twice; only public rows may omit a permission (a route without a
 * declared permission fails here, so it cannot ship); state-changing
 * methods declare a CSRF policy; only embedded assets skip the WAF. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "api/routes.h"

static void test_table_rules(void **state)
{
	(void)state;
	size_t n = 0;
	const struct sf_route *r = sf_routes(&n);
	assert_true(n >= 10);
	for (size_t i = 0; i < n; i++) {
		assert_non_null(r[i].handler);
		assert_non_null(r[i].method);
		assert_true(r[i].pattern[0] == '/');
		if (r[i].auth != SF_AUTH_NONE && !r[i].permission)
			fail_msg("%s %s needs a permission", r[i].method, r[i].pattern);
		int safe = !strcmp(r[i].method, "GET") || !strcmp(r[i].method, "HEAD");
		if (!safe && r[i].csrf == SF_CSRF_NONE)
			fail_msg("%s %s changes state without a CSRF policy", r[i].method, r[i].pattern);
		if (r[i].flags & SF_ROUTE_STATIC)
			assert_int_equal(strncmp(r[i].pattern, "/static/", 8), 0);
		for (size_t j = i + 1; j < n; j++)
			if (!strcmp(r[i].method, r[j].method) && !strcmp(r[i].pattern, r[j].pattern))
				fail_msg("duplicate route %s %s", r[i].method, r[i].pattern);
	}
	/* What creates an order or a payment session (a provider API call) is
	 * in the order class, against card testing (docs/SECURITY.md). */
	static const char *const creating[] = {"/checkout/place", "/api/v1/checkout", "/orders/{id}/pay",
					       "/api/v1/orders/{id}/pay"};
	for (size_t k = 0; k < sizeof creating / sizeof *creating; k++) {
		size_t i = 0;
		while (i < n && !(!strcmp(r[i].method, "POST") && !strcmp(r[i].pattern, creating[k])))
			i++;
		assert_true(i < n);
		if (r[i].rclass != SF_RC_ORDER)
			fail_msg("POST %s is not in the order rate class", creating[k]);
	}
}

static void test_matching_real_table(void **state)
{
	(void)state;
	size_t n = 0;
	const struct sf_route *r = sf_routes(&n);
	struct sf_arena a;
	sf_arena_init(&a, 1 << 16);
	struct sf_req req;
	memset(&req, 0, sizeof req);
	req.arena = &a;
	const char *allow = NULL;
	const struct sf_route *m = sf_http_route_match(r, n, "GET", "/api/v1/products/blue-shirt", &req, &allow);
	assert_non_null(m);
	assert_string_equal(m->pattern, "/api/v1/products/{slug}");
	assert_string_equal(sf_req_param(&req, "slug"), "blue-shirt");
	memset(&req, 0, sizeof req);
	req.arena = &a;
	assert_null(sf_http_route_match(r, n, "DELETE", "/api/v1/products", &req, &allow));
	assert_non_null(allow);
	assert_non_null(strstr(allow, "GET"));
	memset(&req, 0, sizeof req);
	req.arena = &a;
	allow = NULL;
	assert_null(sf_http_route_match(r, n, "GET", "/api/v2/products", &req, &allow));
	assert_null(allow);
	sf_arena_release(&a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table_rules),
		cmocka_unit_test(test_matching_real_table),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
