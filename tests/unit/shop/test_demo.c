/*
 * test_demo.c — the demo catalog: size and shape (>= 200 products in 10
 * categories, variants, some out of stock), one safe SVG per product with
 * the right modes, the audit chain intact with one event per product, the
 * demo flag set, and a second run changing nothing.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/util.h"
#include "db/db.h"
#include "shop/catalog.h"
#include "shop_fixture.h"

static size_t count_tree(json_t *arr)
{
	size_t n = 0, i;
	json_t *c;
	json_array_foreach(arr, i, c)
	{
		n += 1 + count_tree(json_object_get(c, "children"));
	}
	return n;
}

struct meta_row {
	char value[32];
	int found;
};

static void meta_fn(struct sf_db_cursor *cur, void *ctx)
{
	struct meta_row *m = ctx;
	snprintf(m->value, sizeof m->value, "%s", sf_db_col_text(cur, 0, NULL));
	m->found = 1;
}

static json_t *list_all(struct shop_fx *f, const char *page)
{
	struct sf_catalog_query q;
	const char *bad;
	json_t *l = NULL;
	assert_int_equal(sf_catalog_query_parse(page, "100", NULL, NULL, NULL, &q, &bad), SF_OK);
	assert_int_equal(sf_catalog_list(f->db, &q, &l), SF_OK);
	return l;
}

static void test_demo_seed(void **state)
{
	struct shop_fx *f = *state;
	assert_int_equal(sf_catalog_seed_demo(f->db, f->kr, f->media), SF_OK);

	/* categories: 10 in a tree with parents */
	json_t *cats = NULL;
	assert_int_equal(sf_catalog_categories(f->db, &cats), SF_OK);
	json_t *roots = json_object_get(cats, "items");
	assert_int_equal(count_tree(roots), 10);
	assert_true(json_array_size(roots) < 10);
	json_t *clothing = json_array_get(roots, 0);
	assert_string_equal(json_string_value(json_object_get(clothing, "slug")), "clothing");
	assert_string_equal(json_string_value(json_object_get(clothing, "description")),
			    "Shirts, trousers and shoes for every day.");
	assert_int_equal(json_array_size(json_object_get(clothing, "children")), 3);
	json_decref(cats);

	/* products: >= 200, each with 1-4 variants, some out of stock */
	json_t *l = list_all(f, "1");
	int64_t total = json_integer_value(json_object_get(l, "total"));
	assert_true(total >= 200);
	json_decref(l);
	size_t out_of_stock = 0, multi = 0, checked = 0, apostrophes = 0;
	for (int page = 1; (int64_t)(page - 1) * 100 < total; page++) {
		char pg[8];
		snprintf(pg, sizeof pg, "%d", page);
		l = list_all(f, pg);
		size_t i;
		json_t *it;
		json_array_foreach(json_object_get(l, "items"), i, it)
		{
			const char *slug = json_string_value(json_object_get(it, "slug"));
			json_t *p = NULL;
			assert_int_equal(sf_catalog_product(f->db, slug, &p), SF_OK);
			size_t nv = json_array_size(json_object_get(p, "variants"));
			assert_true(nv >= 1 && nv <= 4);
			multi += nv > 1;
			out_of_stock += json_is_false(json_object_get(p, "in_stock"));
			json_t *price = json_object_get(p, "price");
			assert_string_equal(json_string_value(json_object_get(price, "currency")), "EUR");
			assert_true(json_integer_value(json_object_get(price, "amount")) > 0);
			assert_true(strlen(json_string_value(json_object_get(p, "description"))) > 20);
			assert_non_null(json_object_get(p, "category"));

			/* its image: a plain SVG, 0644 */
			char path[256];
			struct stat st;
			snprintf(path, sizeof path, "%s/products/%s.svg", f->media, slug);
			assert_int_equal(stat(path, &st), 0);
			assert_int_equal(st.st_mode & 0777, 0644);
			char *svg = NULL;
			size_t len = 0;
			assert_int_equal(sf_file_read(path, 1 << 16, &svg, &len), SF_OK);
			assert_memory_equal(svg, "<svg ", 5);
			assert_null(strstr(svg, "<script"));
			assert_null(strstr(svg, "on"  "load"));
			if (strchr(json_string_value(json_object_get(p, "name")), '\'')) {
				assert_non_null(strstr(svg, "&apos;"));
				assert_null(strstr(svg, "'"));
				apostrophes++;
			}
			free(svg);
			char want[256];
			snprintf(want, sizeof want, "/media/products/%s.svg", slug);
			assert_string_equal(json_string_value(json_object_get(p, "image")), want);
			json_decref(p);
			checked++;
		}
		json_decref(l);
	}
	assert_int_equal((int64_t)checked, total);
	assert_true(multi > 20);
	assert_true(out_of_stock > 0 && out_of_stock < checked / 2);

	struct stat dst;
	char dir[200];
	snprintf(dir, sizeof dir, "%s/products", f->media);
	assert_int_equal(stat(dir, &dst), 0);
	assert_int_equal(dst.st_mode & 0777, 0755);

	assert_true(apostrophes > 0); /* "Chef's ...": escaped in the SVG */

	/* the audit chain holds one event per product plus the import */
	assert_int_equal(shop_fx_audit_count(f), total + 1);

	/* the demo flag */
	struct meta_row m = {0};
	struct sf_db_param p[] = {SF_DB_TEXT("demo_data")};
	assert_int_equal(sf_db_query_one(sf_db_conn_get(f->db), SF_STMT_META_GET, p, 1, meta_fn, &m), SF_DB_OK);
	assert_true(m.found);
	assert_string_equal(m.value, "1");

	/* deterministic: a second run changes nothing but adds the import event */
	assert_int_equal(sf_catalog_seed_demo(f->db, f->kr, f->media), SF_OK);
	assert_int_equal(shop_fx_audit_count(f), total + 2);
	l = list_all(f, "1");
	assert_int_equal(json_integer_value(json_object_get(l, "total")), total);
	json_decref(l);

	/* the demo catalog is searchable */
	struct sf_catalog_query q;
	const char *bad;
	assert_int_equal(sf_catalog_query_parse(NULL, NULL, NULL, "clothing", "shirt", &q, &bad), SF_OK);
	assert_int_equal(sf_catalog_list(f->db, &q, &l), SF_OK);
	assert_true(json_integer_value(json_object_get(l, "total")) > 5);
	json_decref(l);
}

static void test_demo_bad_args(void **state)
{
	struct shop_fx *f = *state;
	assert_int_equal(sf_catalog_seed_demo(f->db, f->kr, NULL), SF_ERR_INVALID);
	assert_int_equal(sf_catalog_seed_demo(f->db, f->kr, ""), SF_ERR_INVALID);
	assert_int_equal(sf_catalog_seed_demo(f->db, NULL, f->media), SF_ERR_INVALID);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_demo_seed, shop_fx_setup, shop_fx_teardown),
		cmocka_unit_test_setup_teardown(test_demo_bad_args, shop_fx_setup, shop_fx_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
