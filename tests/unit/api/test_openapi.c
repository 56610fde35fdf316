/* test_openapi.c — the OpenAPI document (web/static/openapi.json, served at
 * /api/v1/openapi.json) against the real route table: every /api/ route,
 * method by method, must be described, and the document must describe
 * nothing that does not exist.  A new API route without its description
 * fails here.  (The HTTP suite also validates the document with
 * @redocly/cli lint.) */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <ctype.h>
#include <jansson.h>
#include <string.h>

#include "api/routes.h"
#include "core/assets.h"

static json_t *load_doc(void)
{
	const struct sf_asset *a = sf_asset_find("static/openapi.json");
	assert_non_null(a);
	json_error_t e;
	json_t *doc = json_loadb((const char *)a->data, a->len, JSON_REJECT_DUPLICATES, &e);
	if (!doc)
		fail_msg("openapi.json: %s at line %d", e.text, e.line);
	return doc;
}

static void lower(const char *m, char *out, size_t n)
{
	size_t i = 0;
	for (; m[i] && i + 1 < n; i++)
		out[i] = (char)tolower((unsigned char)m[i]);
	out[i] = '\0';
}

static void test_every_api_route_is_documented(void **state)
{
	(void)state;
	json_t *doc = load_doc();
	json_t *paths = json_object_get(doc, "paths");
	assert_true(json_is_object(paths));
	assert_string_equal(json_string_value(json_object_get(doc, "openapi")), "3.1.0");
	size_t n = 0, api = 0, missing = 0;
	const struct sf_route *r = sf_routes(&n);
	for (size_t i = 0; i < n; i++) {
		if (strncmp(r[i].pattern, "/api/", 5) != 0)
			continue;
		api++;
		char m[16];
		lower(r[i].method, m, sizeof m);
		json_t *ops = json_object_get(paths, r[i].pattern);
		if (!ops || !json_object_get(json_object_get(ops, m), "responses")) {
			print_error("%s %s is in src/api/routes.c but not in web/static/openapi.json\n", r[i].method,
				    r[i].pattern);
			missing++;
		}
	}
	json_decref(doc);
	assert_int_equal(missing, 0);
	assert_true(api >= 20);
}

static void test_nothing_documented_that_does_not_exist(void **state)
{
	(void)state;
	json_t *doc = load_doc();
	json_t *paths = json_object_get(doc, "paths");
	size_t n = 0, missing = 0;
	const struct sf_route *r = sf_routes(&n);
	const char *path;
	json_t *ops;
	json_object_foreach(paths, path, ops)
	{
		const char *m;
		json_t *op;
		json_object_foreach(ops, m, op)
		{
			int found = 0;
			for (size_t i = 0; i < n && !found; i++) {
				char lm[16];
				lower(r[i].method, lm, sizeof lm);
				found = !strcmp(r[i].pattern, path) && !strcmp(lm, m);
			}
			if (!found) {
				print_error("openapi.json describes %s %s, which has no route\n", m, path);
				missing++;
			}
		}
	}
	json_decref(doc);
	assert_int_equal(missing, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_api_route_is_documented),
		cmocka_unit_test(test_nothing_documented_that_does_not_exist),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
