/*
 * test_catalog.c — catalog reads on a real (temporary) SQLite database:
 * query validation, list/product/category JSON, sorting, paging, category
 * descendants, full-text search including hostile search strings, and money
 * formatting.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shop/catalog.h"
#include "shop/catalog_internal.h"
#include "shop_fixture.h"

static const char small_csv[] =
	"product_slug,product_name,category_path,description,sku,variant_name,price_minor,currency,stock,image\n"
	"blue-shirt,Blue Oxford Shirt,Clothing/Shirts,\"A crisp, blue shirt.\",BS-S,S,2999,EUR,5,blue-shirt.svg\n"
	"blue-shirt,Blue Oxford Shirt,Clothing/Shirts,\"A crisp, blue shirt.\",BS-M,M,3499,EUR,0,blue-shirt.svg\n"
	"red-tee,Red Tee,Clothing/Shirts,Soft cotton tee,RT-1,One size,1500,EUR,0,\n"
	"wool-socks,Wool Socks,Clothing,Warm socks for winter,WS-1,,799,EUR,10,\n"
	"chef-knife,Chef Knife,Home/Kitchen,Sharp German steel,CK-1,,8900,EUR,3,knife.png\n"
	"teapot,Enamel Teapot,Home/Kitchen,Crème brûlée friendly,TP-1,Blue,2500,EUR,1,\n"
	"rice-bowl,Rice Bowl,Home,Handmade stoneware,RB-1,,1200,JPY,4,\n"
	"tent,Tent,Outdoor,Two person tent,TE-1,,19999,EUR,2,\n";

static int setup_loaded(void **state)
{
	struct sf_catalog_import_result res;
	if (shop_fx_setup(state))
		return -1;
	struct shop_fx *f = *state;
	if (shop_fx_import(f, small_csv, &res) != SF_OK) {
		fprintf(stderr, "import: %s\n", res.reason);
		return -1;
	}
	return 0;
}

/* ==== query parsing ==== */

struct qcase {
	const char *page, *per_page, *sort, *category, *q;
	const char *bad; /* NULL: accepted */
};

static void test_query_parse(void **state)
{
	(void)state;
	char long_q[202], ok_q[201];
	memset(long_q, 'a', 201);
	long_q[201] = '\0';
	memset(ok_q, 'b', 200);
	ok_q[200] = '\0';
	const struct qcase cases[] = {
		{NULL, NULL, NULL, NULL, NULL, NULL},
		{"1", "20", "name", "clothing", "shirt", NULL},
		{"10000", "100", "price_desc", "a-b-9", ok_q, NULL},
		{"2", "1", "newest", NULL, NULL, NULL},
		{NULL, NULL, "price_asc", "", "", NULL},
		{"0", NULL, NULL, NULL, NULL, "page"},
		{"-1", NULL, NULL, NULL, NULL, "page"},
		{"+1", NULL, NULL, NULL, NULL, "page"},
		{" 1", NULL, NULL, NULL, NULL, "page"},
		{"1.5", NULL, NULL, NULL, NULL, "page"},
		{"", NULL, NULL, NULL, NULL, "page"},
		{"abc", NULL, NULL, NULL, NULL, "page"},
		{"10001", NULL, NULL, NULL, NULL, "page"},
		{"99999999999999999999999", NULL, NULL, NULL, NULL, "page"},
		{"0x10", NULL, NULL, NULL, NULL, "page"},
		{NULL, "0", NULL, NULL, NULL, "per_page"},
		{NULL, "101", NULL, NULL, NULL, "per_page"},
		{NULL, "1e2", NULL, NULL, NULL, "per_page"},
		{NULL, "-5", NULL, NULL, NULL, "per_page"},
		{NULL, NULL, "NAME", NULL, NULL, "sort"},
		{NULL, NULL, "rating", NULL, NULL, "sort"},
		{NULL, NULL, "name ", NULL, NULL, "sort"},
		{NULL, NULL, NULL, "Clothing", NULL, "category"},
		{NULL, NULL, NULL, "a_b", NULL, "category"},
		{NULL, NULL, NULL, "../etc", NULL, "category"},
		{NULL, NULL, NULL, "x' OR 1=1--", NULL, "category"},
		{NULL, NULL, NULL, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", NULL,
		 "category"},
		{NULL, NULL, NULL, NULL, long_q, "q"},
		{NULL, NULL, NULL, NULL, "\xff\xfe", "q"},
		{NULL, NULL, NULL, NULL, "a\x01" "b", "q"},
		{NULL, NULL, NULL, NULL, "\xc0\xaf", "q"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const struct qcase *c = &cases[i];
		struct sf_catalog_query q;
		const char *bad = "unset";
		enum sf_err err = sf_catalog_query_parse(c->page, c->per_page, c->sort, c->category, c->q, &q, &bad);
		if (c->bad) {
			if (err != SF_ERR_BAD_PARAM || !bad || strcmp(bad, c->bad) != 0)
				fail_msg("case %zu: expected bad %s, got err %d bad %s", i, c->bad, err,
					 bad ? bad : "NULL");
		} else if (err != SF_OK) {
			fail_msg("case %zu: expected OK, got %d (%s)", i, err, bad ? bad : "NULL");
		}
	}
	/* defaults and values */
	struct sf_catalog_query q;
	const char *bad;
	assert_int_equal(sf_catalog_query_parse(NULL, NULL, NULL, NULL, NULL, &q, &bad), SF_OK);
	assert_int_equal(q.page, 1);
	assert_int_equal(q.per_page, 20);
	assert_int_equal(q.sort, SF_SORT_NAME);
	assert_null(q.category);
	assert_null(q.q);
	assert_int_equal(sf_catalog_query_parse("3", "7", "price_desc", "home", "  tea  ", &q, &bad), SF_OK);
	assert_int_equal(q.page, 3);
	assert_int_equal(q.per_page, 7);
	assert_int_equal(q.sort, SF_SORT_PRICE_DESC);
	assert_string_equal(q.category, "home");
	assert_string_equal(q.q, "  tea  ");
	/* blank search text counts as no search */
	assert_int_equal(sf_catalog_query_parse(NULL, NULL, NULL, NULL, " \t ", &q, &bad), SF_OK);
	assert_null(q.q);
}

/* ==== helpers ==== */

static json_t *list(struct shop_fx *f, const char *page, const char *per_page, const char *sort, const char *cat,
		    const char *text)
{
	struct sf_catalog_query q;
	const char *bad;
	json_t *out = NULL;
	assert_int_equal(sf_catalog_query_parse(page, per_page, sort, cat, text, &q, &bad), SF_OK);
	assert_int_equal(sf_catalog_list(f->db, &q, &out), SF_OK);
	assert_non_null(out);
	return out;
}

/* The slugs of the list's items joined by spaces (caller frees). */
static char *slugs(json_t *l)
{
	size_t cap = 4096, n = 0, i;
	char *s = calloc(1, cap);
	json_t *it;
	assert_non_null(s);
	json_array_foreach(json_object_get(l, "items"), i, it)
	{
		int w = snprintf(s + n, cap - n, "%s%s", i ? " " : "",
				 json_string_value(json_object_get(it, "slug")));
		assert_true(w > 0 && (size_t)w < cap - n);
		n += (size_t)w;
	}
	return s;
}

static void assert_slugs(json_t *l, const char *want)
{
	char *got = slugs(l);
	if (strcmp(got, want) != 0)
		fail_msg("slugs: got \"%s\", want \"%s\"", got, want);
	free(got);
}

static int64_t jint(json_t *o, const char *k)
{
	json_t *v = json_object_get(o, k);
	assert_true(json_is_integer(v));
	return (int64_t)json_integer_value(v);
}

static const char *jstr(json_t *o, const char *k)
{
	json_t *v = json_object_get(o, k);
	assert_true(json_is_string(v));
	return json_string_value(v);
}

/* ==== lists ==== */

static void test_list_default(void **state)
{
	struct shop_fx *f = *state;
	json_t *l = list(f, NULL, NULL, NULL, NULL, NULL);
	assert_int_equal(jint(l, "total"), 7);
	assert_int_equal(jint(l, "page"), 1);
	assert_int_equal(jint(l, "per_page"), 20);
	assert_int_equal(jint(l, "pages"), 1);
	assert_string_equal(jstr(l, "sort"), "name");
	assert_true(json_is_null(json_object_get(l, "q")));
	assert_true(json_is_null(json_object_get(l, "category")));
	assert_slugs(l, "blue-shirt chef-knife teapot red-tee rice-bowl tent wool-socks");

	json_t *first = json_array_get(json_object_get(l, "items"), 0);
	assert_string_equal(jstr(first, "name"), "Blue Oxford Shirt");
	json_t *cat = json_object_get(first, "category");
	assert_string_equal(jstr(cat, "slug"), "clothing-shirts");
	assert_string_equal(jstr(cat, "name"), "Shirts");
	json_t *price = json_object_get(first, "price");
	assert_int_equal(jint(price, "amount"), 2999);
	assert_string_equal(jstr(price, "currency"), "EUR");
	assert_string_equal(jstr(price, "formatted"), "\xE2\x82\xAC" "29.99");
	assert_int_equal(jint(json_object_get(first, "price_max"), "amount"), 3499);
	assert_true(json_is_true(json_object_get(first, "in_stock")));
	assert_string_equal(jstr(first, "image"), "/media/products/blue-shirt.svg");

	json_t *tee = json_array_get(json_object_get(l, "items"), 3);
	assert_string_equal(jstr(tee, "slug"), "red-tee");
	assert_true(json_is_false(json_object_get(tee, "in_stock")));
	assert_null(json_object_get(tee, "price_max"));
	assert_true(json_is_null(json_object_get(tee, "image")));

	json_t *bowl = json_array_get(json_object_get(l, "items"), 4);
	assert_string_equal(jstr(json_object_get(bowl, "price"), "formatted"), "\xC2\xA5" "1200");
	json_decref(l);
}

static void test_list_sorting(void **state)
{
	struct shop_fx *f = *state;
	json_t *l = list(f, NULL, NULL, "price_asc", NULL, NULL);
	assert_slugs(l, "wool-socks rice-bowl red-tee teapot blue-shirt chef-knife tent");
	assert_string_equal(jstr(l, "sort"), "price_asc");
	json_decref(l);
	l = list(f, NULL, NULL, "price_desc", NULL, NULL);
	assert_slugs(l, "tent chef-knife blue-shirt teapot red-tee rice-bowl wool-socks");
	json_decref(l);
	/* one import: same created_at, newest first by insertion order */
	l = list(f, NULL, NULL, "newest", NULL, NULL);
	assert_slugs(l, "tent rice-bowl teapot chef-knife wool-socks red-tee blue-shirt");
	json_decref(l);
}

static void test_list_paging(void **state)
{
	struct shop_fx *f = *state;
	json_t *l = list(f, "1", "3", NULL, NULL, NULL);
	assert_slugs(l, "blue-shirt chef-knife teapot");
	assert_int_equal(jint(l, "total"), 7);
	assert_int_equal(jint(l, "pages"), 3);
	json_decref(l);
	l = list(f, "2", "3", NULL, NULL, NULL);
	assert_slugs(l, "red-tee rice-bowl tent");
	json_decref(l);
	l = list(f, "3", "3", NULL, NULL, NULL);
	assert_slugs(l, "wool-socks");
	assert_int_equal(jint(l, "page"), 3);
	json_decref(l);
	l = list(f, "4", "3", NULL, NULL, NULL);
	assert_slugs(l, "");
	assert_int_equal(jint(l, "total"), 7);
	json_decref(l);
	l = list(f, "10000", "100", NULL, NULL, NULL);
	assert_slugs(l, "");
	json_decref(l);
}

static void test_list_category(void **state)
{
	struct shop_fx *f = *state;
	/* a parent includes its descendants */
	json_t *l = list(f, NULL, NULL, NULL, "clothing", NULL);
	assert_slugs(l, "blue-shirt red-tee wool-socks");
	assert_int_equal(jint(l, "total"), 3);
	assert_string_equal(jstr(l, "category"), "clothing");
	json_decref(l);
	l = list(f, NULL, NULL, "price_desc", "clothing-shirts", NULL);
	assert_slugs(l, "blue-shirt red-tee");
	json_decref(l);
	l = list(f, NULL, NULL, NULL, "home", NULL);
	assert_slugs(l, "chef-knife teapot rice-bowl");
	json_decref(l);
	l = list(f, "2", "2", NULL, "home", NULL);
	assert_slugs(l, "rice-bowl");
	assert_int_equal(jint(l, "pages"), 2);
	json_decref(l);

	struct sf_catalog_query q;
	const char *bad;
	json_t *out = NULL;
	assert_int_equal(sf_catalog_query_parse(NULL, NULL, NULL, "no-such-category", NULL, &q, &bad), SF_OK);
	assert_int_equal(sf_catalog_list(f->db, &q, &out), SF_ERR_NOT_FOUND);
	assert_null(out);
}

/* Category pages and counts follow products that move or change price. */
static void test_list_follows_changes(void **state)
{
	struct shop_fx *f = *state;
	struct sf_catalog_import_result res;
	assert_int_equal(shop_fx_import(f,
					"product_slug,product_name,category_path,description,sku,variant_name,"
					"price_minor,currency,stock,image\n"
					"tent,Tent,Clothing/Shirts,Two person tent,TE-1,,1,EUR,2,\n",
					&res),
			 SF_OK);
	assert_int_equal(res.products_updated, 1);
	json_t *l = list(f, NULL, NULL, "price_asc", "clothing", NULL);
	assert_slugs(l, "tent wool-socks red-tee blue-shirt");
	assert_int_equal(jint(l, "total"), 4);
	json_decref(l);
	l = list(f, NULL, NULL, NULL, "outdoor", NULL);
	assert_slugs(l, "");
	assert_int_equal(jint(l, "total"), 0);
	json_decref(l);
	l = list(f, NULL, NULL, "price_desc", NULL, NULL);
	assert_int_equal(jint(l, "total"), 7);
	json_t *items = json_object_get(l, "items");
	assert_string_equal(jstr(json_array_get(items, 6), "slug"), "tent");
	json_decref(l);
}

/* ==== one product, categories ==== */

static void test_product(void **state)
{
	struct shop_fx *f = *state;
	json_t *p = NULL;
	assert_int_equal(sf_catalog_product(f->db, "blue-shirt", &p), SF_OK);
	assert_string_equal(jstr(p, "name"), "Blue Oxford Shirt");
	assert_string_equal(jstr(p, "description"), "A crisp, blue shirt.");
	json_t *vars = json_object_get(p, "variants");
	assert_int_equal(json_array_size(vars), 2);
	json_t *s = json_array_get(vars, 0), *m = json_array_get(vars, 1);
	assert_string_equal(jstr(s, "sku"), "BS-S");
	assert_string_equal(jstr(s, "name"), "S");
	/* availability only: no exact count; 5 units is not "low" (stock.h) */
	assert_null(json_object_get(s, "stock"));
	assert_true(json_is_true(json_object_get(s, "in_stock")));
	assert_true(json_is_false(json_object_get(s, "low_stock")));
	assert_string_equal(jstr(m, "sku"), "BS-M");
	assert_int_equal(jint(json_object_get(m, "price"), "amount"), 3499);
	assert_true(json_is_false(json_object_get(m, "in_stock")));
	json_t *bc = json_object_get(p, "breadcrumbs");
	assert_int_equal(json_array_size(bc), 2);
	assert_string_equal(jstr(json_array_get(bc, 0), "slug"), "clothing");
	assert_string_equal(jstr(json_array_get(bc, 1), "slug"), "clothing-shirts");
	assert_string_equal(jstr(json_array_get(bc, 1), "name"), "Shirts");
	json_decref(p);

	p = NULL;
	assert_int_equal(sf_catalog_product(f->db, "no-such-thing", &p), SF_ERR_NOT_FOUND);
	assert_int_equal(sf_catalog_product(f->db, "../etc/passwd", &p), SF_ERR_NOT_FOUND);
	assert_int_equal(sf_catalog_product(f->db, "", &p), SF_ERR_NOT_FOUND);
	assert_int_equal(sf_catalog_product(f->db, NULL, &p), SF_ERR_NOT_FOUND);
	assert_null(p);
}

static void test_categories(void **state)
{
	struct shop_fx *f = *state;
	json_t *c = NULL;
	assert_int_equal(sf_catalog_categories(f->db, &c), SF_OK);
	json_t *items = json_object_get(c, "items");
	assert_int_equal(json_array_size(items), 3);
	json_t *clothing = json_array_get(items, 0);
	assert_string_equal(jstr(clothing, "slug"), "clothing");
	assert_string_equal(jstr(clothing, "name"), "Clothing");
	assert_string_equal(jstr(clothing, "description"), "");
	assert_true(json_is_null(json_object_get(clothing, "parent")));
	json_t *kids = json_object_get(clothing, "children");
	assert_int_equal(json_array_size(kids), 1);
	assert_string_equal(jstr(json_array_get(kids, 0), "slug"), "clothing-shirts");
	assert_string_equal(jstr(json_array_get(kids, 0), "parent"), "clothing");
	assert_string_equal(jstr(json_array_get(items, 1), "slug"), "home");
	assert_string_equal(jstr(json_array_get(items, 2), "slug"), "outdoor");
	assert_int_equal(json_array_size(json_object_get(json_array_get(items, 2), "children")), 0);
	json_decref(c);

	c = NULL;
	assert_int_equal(sf_catalog_category(f->db, "home-kitchen", &c), SF_OK);
	assert_string_equal(jstr(c, "name"), "Kitchen");
	assert_string_equal(jstr(c, "parent"), "home");
	json_t *bc = json_object_get(c, "breadcrumbs");
	assert_int_equal(json_array_size(bc), 2);
	assert_string_equal(jstr(json_array_get(bc, 0), "slug"), "home");
	assert_string_equal(jstr(json_array_get(bc, 1), "slug"), "home-kitchen");
	json_decref(c);
	c = NULL;
	assert_int_equal(sf_catalog_category(f->db, "nope", &c), SF_ERR_NOT_FOUND);
	assert_int_equal(sf_catalog_category(f->db, "Bad Slug", &c), SF_ERR_NOT_FOUND);
	assert_null(c);
}

/* ==== search ==== */

static void test_search(void **state)
{
	struct shop_fx *f = *state;
	json_t *l = list(f, NULL, NULL, NULL, NULL, "shirt");
	assert_slugs(l, "blue-shirt");
	assert_string_equal(jstr(l, "q"), "shirt");
	json_decref(l);
	l = list(f, NULL, NULL, NULL, NULL, "SHI"); /* prefix, any case */
	assert_slugs(l, "blue-shirt");
	json_decref(l);
	l = list(f, NULL, NULL, NULL, NULL, "creme brulee"); /* diacritics folded */
	assert_slugs(l, "teapot");
	json_decref(l);
	l = list(f, NULL, NULL, NULL, NULL, "Crème");
	assert_slugs(l, "teapot");
	json_decref(l);
	l = list(f, NULL, NULL, "price_desc", NULL, "so"); /* "Soft", "socks" */
	assert_slugs(l, "red-tee wool-socks");
	json_decref(l);
	l = list(f, NULL, NULL, NULL, "home", "s");
	assert_slugs(l, "chef-knife rice-bowl"); /* "Sharp ... steel", "stoneware" */
	json_decref(l);
	l = list(f, NULL, NULL, NULL, "clothing", "knife");
	assert_slugs(l, "");
	assert_int_equal(jint(l, "total"), 0);
	json_decref(l);
	l = list(f, NULL, "1", NULL, NULL, "tee");
	assert_int_equal(jint(l, "total"), 1);
	json_decref(l);
}

static void test_search_hostile(void **state)
{
	struct shop_fx *f = *state;
	char big[201], quotes[201];
	memset(big, 'x', 200);
	big[200] = '\0';
	for (size_t i = 0; i < 200; i++)
		quotes[i] = "\"*()"[i % 4];
	quotes[200] = '\0';
	const char *hostile[] = {
		"\"", "\"\"", "AND OR NOT", "NEAR(a b", "NEAR(shirt, tee)", "*", "**", "col:x", "name:shirt",
		"{name description}:tee", "^shirt", "shirt*", "sh\"irt", "shirt\" OR \"1", "'; DROP TABLE products; --",
		"1' OR '1'='1", "\\", "%", "_", "(((", ")", "a+b", "-shirt", "NOT shirt", "shirt AND", "+", ":",
		"\xe2\x80\x94", "\xe2\x80\x9cshirt\xe2\x80\x9d", big, quotes, "\t\"\t",
	};
	for (size_t i = 0; i < sizeof hostile / sizeof hostile[0]; i++) {
		struct sf_catalog_query q;
		const char *bad;
		json_t *out = NULL;
		assert_int_equal(sf_catalog_query_parse(NULL, NULL, NULL, NULL, hostile[i], &q, &bad), SF_OK);
		enum sf_err err = sf_catalog_list(f->db, &q, &out);
		if (err != SF_OK)
			fail_msg("hostile %zu (%s): err %d", i, hostile[i], err);
		int64_t total = jint(out, "total");
		assert_true(total >= 0 && total <= 7);
		assert_int_equal((int64_t)json_array_size(json_object_get(out, "items")), total);
		json_decref(out);
	}
	/* the quoted form still finds the word inside the noise */
	json_t *l = list(f, NULL, NULL, NULL, NULL, "name:shirt");
	assert_slugs(l, "");
	json_decref(l);
	l = list(f, NULL, NULL, NULL, NULL, "\"shirt\"");
	assert_slugs(l, "blue-shirt");
	json_decref(l);
	l = list(f, NULL, NULL, NULL, NULL, "NEAR(shirt");
	assert_slugs(l, ""); /* "near" matches nothing, and words are ANDed */
	json_decref(l);
	/* nothing was harmed */
	l = list(f, NULL, NULL, NULL, NULL, NULL);
	assert_int_equal(jint(l, "total"), 7);
	json_decref(l);
}

static void test_fts_query_builder(void **state)
{
	(void)state;
	char out[128];
	assert_int_equal(sf_catalog_fts_query("blue shirt", out, sizeof out), 2);
	assert_string_equal(out, "\"blue\"* \"shirt\"*");
	assert_int_equal(sf_catalog_fts_query("NEAR(a b", out, sizeof out), 3);
	assert_string_equal(out, "\"NEAR\"* \"a\"* \"b\"*");
	assert_int_equal(sf_catalog_fts_query("col:x \"y\" *", out, sizeof out), 3);
	assert_string_equal(out, "\"col\"* \"x\"* \"y\"*");
	assert_int_equal(sf_catalog_fts_query("\"*():^+-", out, sizeof out), 0);
	assert_string_equal(out, "");
	assert_int_equal(sf_catalog_fts_query("Crème", out, sizeof out), 1);
	assert_string_equal(out, "\"Crème\"*");
	/* small buffers truncate at a word boundary, never mid-token */
	assert_int_equal(sf_catalog_fts_query("alpha beta", out, 12), 1);
	assert_string_equal(out, "\"alpha\"*");
}

static void test_money_and_slugs(void **state)
{
	(void)state;
	char out[64];
	sf_money_format(1999, "EUR", out, sizeof out);
	assert_string_equal(out, "\xE2\x82\xAC" "19.99");
	sf_money_format(5, "USD", out, sizeof out);
	assert_string_equal(out, "$0.05");
	sf_money_format(100000, "GBP", out, sizeof out);
	assert_string_equal(out, "\xC2\xA3" "1000.00");
	sf_money_format(1999, "JPY", out, sizeof out);
	assert_string_equal(out, "\xC2\xA5" "1999");
	sf_money_format(1234, "CHF", out, sizeof out);
	assert_string_equal(out, "12.34 CHF");
	sf_money_format(-250, "EUR", out, sizeof out);
	assert_string_equal(out, "-\xE2\x82\xAC" "2.50");
	sf_money_format(INT64_MIN, "SEK", out, sizeof out);
	assert_string_equal(out, "-92233720368547758.08 SEK");
	/* the currency's own decimals (Stripe's minor units) */
	sf_money_format(125000, "KRW", out, sizeof out);
	assert_string_equal(out, "125000 KRW");
	sf_money_format(1500, "KWD", out, sizeof out);
	assert_string_equal(out, "1.500 KWD");
	sf_money_format(-5, "BHD", out, sizeof out);
	assert_string_equal(out, "-0.005 BHD");
	sf_money_format(-1000, "JPY", out, sizeof out);
	assert_string_equal(out, "-\xC2\xA5" "1000");
	sf_money_format(1999, "", out, sizeof out);
	assert_string_equal(out, "19.99 ");
	sf_money_format(0, "EUR", out, 4); /* truncated but terminated */
	assert_int_equal(strlen(out), 3);

	assert_int_equal(sf_catalog_slugify("Clothing", out, sizeof out), 8);
	assert_string_equal(out, "clothing");
	sf_catalog_slugify("  Schuhe & Stiefel!! ", out, sizeof out);
	assert_string_equal(out, "schuhe-stiefel");
	sf_catalog_slugify("Über Größe", out, sizeof out);
	assert_string_equal(out, "ueber-groesse");
	assert_int_equal(sf_catalog_slugify("—!?", out, sizeof out), 0);
	assert_int_equal(sf_catalog_slugify("abcdef", out, 4), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_query_parse),
		cmocka_unit_test(test_fts_query_builder),
		cmocka_unit_test(test_money_and_slugs),
		cmocka_unit_test_setup_teardown(test_list_default, setup_loaded, shop_fx_teardown),
		cmocka_unit_test_setup_teardown(test_list_sorting, setup_loaded, shop_fx_teardown),
		cmocka_unit_test_setup_teardown(test_list_paging, setup_loaded, shop_fx_teardown),
		cmocka_unit_test_setup_teardown(test_list_category, setup_loaded, shop_fx_teardown),
		cmocka_unit_test_setup_teardown(test_list_follows_changes, setup_loaded, shop_fx_teardown),
		cmocka_unit_test_setup_teardown(test_product, setup_loaded, shop_fx_teardown),
		cmocka_unit_test_setup_teardown(test_categories, setup_loaded, shop_fx_teardown),
		cmocka_unit_test_setup_teardown(test_search, setup_loaded, shop_fx_teardown),
		cmocka_unit_test_setup_teardown(test_search_hostile, setup_loaded, shop_fx_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
