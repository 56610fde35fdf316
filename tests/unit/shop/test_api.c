/*
 * test_api.c — the catalog JSON handlers (src/api/catalog_api.c) called
 * directly with hand-built requests: status, body, Cache-Control, the 400
 * answers for bad parameters and SF_ERR_NOT_FOUND for unknown slugs.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/catalog_api.h"
#include "core/app.h"
#include "http/http.h"
#include "shop/catalog.h"
#include "shop_fixture.h"

static const char csv[] =
	"product_slug,product_name,category_path,description,sku,variant_name,price_minor,currency,stock,image\n"
	"blue-shirt,Blue Shirt,Clothing/Shirts,Crisp,BS-1,M,2999,EUR,5,\n"
	"red-tee,Red Tee,Clothing/Shirts,Soft,RT-1,,1500,EUR,0,\n"
	"teapot,Teapot,Home,Enamel,TP-1,,2500,EUR,1,\n";

struct call {
	struct sf_arena arena;
	struct sf_req req;
	struct sf_resp resp;
	struct sf_kv q[8];
	struct sf_app app;
	json_t *body;
};

static int setup(void **state)
{
	struct sf_catalog_import_result res;
	if (shop_fx_setup(state))
		return -1;
	return shop_fx_import(*state, csv, &res) == SF_OK ? 0 : -1;
}

/* Run handler h on path with query pairs "k", "v", ..., NULL; slug is the
 * path parameter (or NULL). */
static void run(struct shop_fx *f, struct call *c, sf_handler_fn h, const char *path, const char *slug, ...);

/* Expect h to return err (the http layer then answers) with no body. */
static void run_err(struct shop_fx *f, sf_handler_fn h, const char *path, const char *slug, const char *qk,
		    const char *qv, enum sf_err want)
{
	struct sf_arena arena;
	struct sf_req req;
	struct sf_resp resp;
	struct sf_app app;
	struct sf_kv q[1] = {{qk, qv}};
	memset(&req, 0, sizeof req);
	memset(&resp, 0, sizeof resp);
	memset(&app, 0, sizeof app);
	sf_arena_init(&arena, 1 << 20);
	app.db = f->db;
	req.arena = &arena;
	req.method = "GET";
	req.path = req.target = path;
	req.app = &app;
	req.qargs = q;
	req.nqargs = qk ? 1 : 0;
	if (slug) {
		req.params[0].k = "slug";
		req.params[0].v = slug;
		req.nparams = 1;
	}
	resp.status = 200;
	assert_int_equal(h(&req, &resp), want);
	assert_null(resp.body);
	sf_arena_release(&arena);
}

static void run(struct shop_fx *f, struct call *c, sf_handler_fn h, const char *path, const char *slug, ...)
{
	va_list ap;
	memset(c, 0, sizeof *c);
	sf_arena_init(&c->arena, 1 << 20);
	c->app.db = f->db;
	c->app.keys = f->kr;
	c->req.arena = &c->arena;
	c->req.method = "GET";
	c->req.path = path;
	c->req.target = path;
	c->req.app = &c->app;
	snprintf(c->req.request_id, sizeof c->req.request_id, "testrequest");
	c->req.qargs = c->q;
	va_start(ap, slug);
	for (const char *k; (k = va_arg(ap, const char *)) != NULL;) {
		c->q[c->req.nqargs].k = k;
		c->q[c->req.nqargs].v = va_arg(ap, const char *);
		c->req.nqargs++;
	}
	va_end(ap);
	if (slug) {
		c->req.params[0].k = "slug";
		c->req.params[0].v = slug;
		c->req.nparams = 1;
	}
	c->resp.status = 200;
	assert_int_equal(h(&c->req, &c->resp), SF_OK);
	assert_non_null(c->resp.body);
	json_error_t jerr;
	c->body = json_loadb(c->resp.body, c->resp.body_len, 0, &jerr);
	assert_non_null(c->body);
}

static void done(struct call *c)
{
	json_decref(c->body);
	if (c->resp.body_free)
		c->resp.body_free((void *)(uintptr_t)c->resp.body);
	sf_arena_release(&c->arena);
}

static const char *header(struct call *c, const char *name)
{
	for (size_t i = 0; i < c->resp.nheaders; i++)
		if (strcmp(c->resp.headers[i].k, name) == 0)
			return c->resp.headers[i].v;
	return NULL;
}

static const char *error_code(struct call *c)
{
	return json_string_value(json_object_get(json_object_get(c->body, "error"), "code"));
}

static const char *error_message(struct call *c)
{
	return json_string_value(json_object_get(json_object_get(c->body, "error"), "message"));
}

static void test_products_list(void **state)
{
	struct shop_fx *f = *state;
	struct call c;
	run(f, &c, sf_api_products_list, "/api/v1/products", NULL, "sort", "price_asc", "per_page", "2", NULL);
	assert_int_equal(c.resp.status, 200);
	assert_string_equal(c.resp.content_type, "application/json");
	assert_string_equal(header(&c, "Cache-Control"), "public, max-age=60");
	assert_int_equal(json_integer_value(json_object_get(c.body, "total")), 3);
	assert_int_equal(json_integer_value(json_object_get(c.body, "pages")), 2);
	json_t *items = json_object_get(c.body, "items");
	assert_int_equal(json_array_size(items), 2);
	assert_string_equal(json_string_value(json_object_get(json_array_get(items, 0), "slug")), "red-tee");
	done(&c);

	run(f, &c, sf_api_products_list, "/api/v1/products", NULL, "category", "clothing", "q", "shirt", NULL);
	assert_int_equal(c.resp.status, 200);
	assert_int_equal(json_integer_value(json_object_get(c.body, "total")), 1);
	assert_string_equal(json_string_value(json_object_get(c.body, "q")), "shirt");
	done(&c);

	run(f, &c, sf_api_products_list, "/api/v1/products", NULL, "q", "\" NEAR( AND *", NULL);
	assert_int_equal(c.resp.status, 200);
	assert_int_equal(json_integer_value(json_object_get(c.body, "total")), 0);
	done(&c);
}

static void test_products_bad_params(void **state)
{
	struct shop_fx *f = *state;
	struct call c;
	const struct {
		const char *k, *v, *msg_part;
	} bad[] = {
		{"per_page", "101", "per_page must be between 1 and 100"},
		{"per_page", "0", "per_page"},
		{"page", "-1", "page must be"},
		{"page", "+2", "page must be"},
		{"sort", "rating", "sort must be one of"},
		{"category", "Bad Slug", "category must be"},
		{"q", "\xff", "q must be"},
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		run(f, &c, sf_api_products_list, "/api/v1/products", NULL, bad[i].k, bad[i].v, NULL);
		assert_int_equal(c.resp.status, 400);
		assert_string_equal(error_code(&c), "bad_parameter");
		assert_non_null(strstr(error_message(&c), bad[i].msg_part));
		done(&c);
	}
	run_err(f, sf_api_products_list, "/api/v1/products", NULL, "category", "nope", SF_ERR_NOT_FOUND);
}

static void test_product_get(void **state)
{
	struct shop_fx *f = *state;
	struct call c;
	run(f, &c, sf_api_product_get, "/api/v1/products/blue-shirt", "blue-shirt", NULL);
	assert_int_equal(c.resp.status, 200);
	assert_string_equal(header(&c, "Cache-Control"), "public, max-age=60");
	assert_string_equal(json_string_value(json_object_get(c.body, "name")), "Blue Shirt");
	assert_int_equal(json_array_size(json_object_get(c.body, "variants")), 1);
	assert_int_equal(json_array_size(json_object_get(c.body, "breadcrumbs")), 2);
	done(&c);
	run_err(f, sf_api_product_get, "/api/v1/products/none", "none", NULL, NULL, SF_ERR_NOT_FOUND);
	run_err(f, sf_api_product_get, "/api/v1/products/x", "\"><script>", NULL, NULL, SF_ERR_NOT_FOUND);
	run_err(f, sf_api_product_get, "/api/v1/products/", NULL, NULL, NULL, SF_ERR_NOT_FOUND);
}

static void test_categories(void **state)
{
	struct shop_fx *f = *state;
	struct call c;
	run(f, &c, sf_api_categories, "/api/v1/categories", NULL, NULL);
	assert_int_equal(c.resp.status, 200);
	assert_string_equal(header(&c, "Cache-Control"), "public, max-age=60");
	json_t *items = json_object_get(c.body, "items");
	assert_int_equal(json_array_size(items), 2);
	assert_string_equal(json_string_value(json_object_get(json_array_get(items, 0), "slug")), "clothing");
	done(&c);
	run(f, &c, sf_api_category_get, "/api/v1/categories/clothing-shirts", "clothing-shirts", NULL);
	assert_int_equal(c.resp.status, 200);
	assert_string_equal(json_string_value(json_object_get(c.body, "parent")), "clothing");
	done(&c);
	run_err(f, sf_api_category_get, "/api/v1/categories/x", "x", NULL, NULL, SF_ERR_NOT_FOUND);
}


int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_products_list, setup, shop_fx_teardown),
		cmocka_unit_test_setup_teardown(test_products_bad_params, setup, shop_fx_teardown),
		cmocka_unit_test_setup_teardown(test_product_get, setup, shop_fx_teardown),
		cmocka_unit_test_setup_teardown(test_categories, setup, shop_fx_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
