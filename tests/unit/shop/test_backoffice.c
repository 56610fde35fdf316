/*
 * test_backoffice.c — the back office's domain writes and checks: stock
 * adjustments (audited, catalog version bumped, never below zero, reasons
 * required), image upload checks (type, magic bytes, structure, size,
 * polyglots) and random storage names, product/variant/category editing,
 * and the customer reveal (masked by default, reason required, audited).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "crypto/keyring.h"
#include "db/db.h"
#include "shop/backoffice.h"
#include "shop/catalog_cache.h"
#include "shop/inventory.h"
#include "shop/media.h"
#include "shop/money.h"
#include "shop_fixture.h"

static const struct sf_shop_actor staff = {"staff", "7", "192.0.2.1", "req1"};

static const char *csv = "product_slug,product_name,category_path,description,sku,variant_name,price_minor,"
			 "currency,stock,image\n"
			 "tee,Tee,Clothing/Shirts,A tee,TEE-S,Small,1999,EUR,3,\n"
			 "tee,Tee,Clothing/Shirts,A tee,TEE-L,Large,1999,EUR,4,\n";

static int setup(void **state)
{
	if (shop_fx_setup(state))
		return -1;
	struct sf_catalog_import_result res;
	assert_int_equal(shop_fx_import(*state, csv, &res), SF_OK);
	return 0;
}

static int64_t one_int(struct shop_fx *f, const char *sql)
{
	char path[160];
	sqlite3 *db;
	sqlite3_stmt *st;
	snprintf(path, sizeof path, "%s/shop.db", f->dir);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	int64_t v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return v;
}

static int64_t variant_id(struct shop_fx *f, const char *sku)
{
	char sql[128];
	snprintf(sql, sizeof sql, "SELECT id FROM variants WHERE sku = '%s'", sku);
	return one_int(f, sql);
}

static void test_inventory(void **state)
{
	struct shop_fx *f = *state;
	int64_t v = variant_id(f, "TEE-S"), after = -1, ver0, ver1;
	const char *why;
	int64_t events = shop_fx_audit_count(f);
	assert_int_equal(sf_catalog_version(f->db, &ver0), SF_OK);
	assert_int_equal(sf_inventory_adjust(f->db, f->kr, v, 10, "delivery from supplier", &staff, &after, &why),
			 SF_OK);
	assert_int_equal(after, 13);
	assert_int_equal(shop_fx_audit_count(f), events + 1);
	assert_int_equal(sf_catalog_version(f->db, &ver1), SF_OK);
	assert_true(ver1 > ver0);
	assert_int_equal(one_int(f, "SELECT count(*) FROM inventory_adjustments WHERE delta = 10 AND stock_after = 13 "
				    "AND actor_id = '7'"), 1);
	/* never below zero: nothing written */
	assert_int_equal(sf_inventory_adjust(f->db, f->kr, v, -14, "broken", &staff, &after, &why), SF_ERR_OUT_OF_STOCK);
	assert_int_equal(one_int(f, "SELECT stock FROM variants WHERE sku = 'TEE-S'"), 13);
	assert_int_equal(shop_fx_audit_count(f), events + 1);
	/* hostile input */
	assert_int_equal(sf_inventory_adjust(f->db, f->kr, v, 0, "x", &staff, NULL, &why), SF_ERR_BAD_PARAM);
	assert_int_equal(sf_inventory_adjust(f->db, f->kr, v, 5, "", &staff, NULL, &why), SF_ERR_BAD_PARAM);
	assert_int_equal(sf_inventory_adjust(f->db, f->kr, v, 5, NULL, &staff, NULL, &why), SF_ERR_BAD_PARAM);
	assert_int_equal(sf_inventory_adjust(f->db, f->kr, v, 5, "a\nb", &staff, NULL, &why), SF_ERR_BAD_PARAM);
	assert_int_equal(sf_inventory_adjust(f->db, f->kr, v, SF_INVENTORY_DELTA_MAX + 1, "x", &staff, NULL, &why),
			 SF_ERR_BAD_PARAM);
	assert_int_equal(sf_inventory_adjust(f->db, f->kr, v, 5, "card 4111 1111 1111 1111", &staff, NULL, &why),
			 SF_ERR_CARD_DATA);
	assert_int_equal(sf_inventory_adjust(f->db, f->kr, 999999, 5, "x", &staff, NULL, &why), SF_ERR_NOT_FOUND);
	json_t *h = NULL;
	assert_int_equal(sf_inventory_history(f->db, one_int(f, "SELECT id FROM products WHERE slug = 'tee'"), 10, &h),
			 SF_OK);
	assert_int_equal(json_array_size(json_object_get(h, "items")), 1);
	json_decref(h);
}

/* A minimal valid PNG (1x1): signature, IHDR, IDAT, IEND. */
static const unsigned char png[] = {
	0x89, 'P', 'N', 'G', 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, 'I', 'H', 'D', 'R', 0, 0, 0, 1, 0, 0, 0, 1, 8, 6,
	0, 0, 0, 0x1f, 0x15, 0xc4, 0x89, 0, 0, 0, 10, 'I', 'D', 'A', 'T', 0x78, 0x9c, 0x63, 0, 1, 0, 0, 5, 0, 1,
	0x0d, 0x0a, 0x2d, 0xb4, 0, 0, 0, 0, 'I', 'E', 'N', 'D', 0xae, 0x42, 0x60, 0x82};

static void test_media_check(void **state)
{
	(void)state;
	enum sf_media_kind k;
	const char *why;
	assert_int_equal(sf_media_check(png, sizeof png, "image/png", &k, &why), SF_OK);
	assert_int_equal(k, SF_MEDIA_PNG);
	assert_int_equal(sf_media_check(png, sizeof png, "Image/PNG; charset=x", &k, &why), SF_OK);
	/* declared type and magic bytes must agree */
	assert_int_equal(sf_media_check(png, sizeof png, "image/jpeg", &k, &why), SF_ERR_UNSUPPORTED_MEDIA);
	assert_int_equal(sf_media_check(png, sizeof png, "image/svg+xml", &k, &why), SF_ERR_UNSUPPORTED_MEDIA);
	assert_int_equal(sf_media_check(png, sizeof png, NULL, &k, &why), SF_ERR_UNSUPPORTED_MEDIA);
	const char *html = "<html><script>alert(1)</script></html>";
	assert_int_equal(sf_media_check(html, strlen(html), "image/png", &k, &why), SF_ERR_UNSUPPORTED_MEDIA);
	/* empty and oversized */
	assert_int_equal(sf_media_check(png, 0, "image/png", &k, &why), SF_ERR_TOO_LARGE);
	static unsigned char big[SF_MEDIA_MAX + 1];
	memcpy(big, png, sizeof png);
	assert_int_equal(sf_media_check(big, SF_MEDIA_MAX + 1, "image/png", &k, &why), SF_ERR_TOO_LARGE);
	/* appended payload (polyglot), truncated file, markup inside a chunk */
	memcpy(big, png, sizeof png);
	memcpy(big + sizeof png, "<?php system($_GET[1]); ?>", 26);
	assert_int_equal(sf_media_check(big, sizeof png + 26, "image/png", &k, &why), SF_ERR_BAD_PARAM);
	assert_int_equal(sf_media_check(png, sizeof png - 5, "image/png", &k, &why), SF_ERR_BAD_PARAM);
	memcpy(big, png, sizeof png);
	memcpy(big + 41, "<svg", 4); /* inside IDAT */
	assert_int_equal(sf_media_check(big, sizeof png, "image/png", &k, &why), SF_ERR_BAD_PARAM);
	/* GIF with a ZIP (GIFAR) inside, JPEG without its end marker */
	const unsigned char gifar[] = {'G', 'I', 'F', '8', '9', 'a', 1, 0, 1, 0, 0, 0, 0, 'P', 'K', 3, 4, 0, 0x3b};
	assert_int_equal(sf_media_check(gifar, sizeof gifar, "image/gif", &k, &why), SF_ERR_BAD_PARAM);
	const unsigned char jpg[] = {0xff, 0xd8, 0xff, 0xe0, 0, 0x10, 'J', 'F', 'I', 'F', 0, 1};
	assert_int_equal(sf_media_check(jpg, sizeof jpg, "image/jpeg", &k, &why), SF_ERR_BAD_PARAM);
}

static void test_media_store(void **state)
{
	struct shop_fx *f = *state;
	int64_t pid = one_int(f, "SELECT id FROM products WHERE slug = 'tee'");
	char name[SF_MEDIA_NAME_MAX];
	const char *why;
	assert_int_equal(sf_media_product_image(f->db, f->kr, f->media, pid, png, sizeof png, "image/png", &staff, name,
						&why),
			 SF_OK);
	assert_int_equal(strlen(name), 36); /* 32 hex + ".png" */
	assert_non_null(strstr(name, ".png"));
	char path[512];
	snprintf(path, sizeof path, "%s/products/%s", f->media, name);
	FILE *fp = fopen(path, "rb");
	assert_non_null(fp);
	fclose(fp);
	/* a second upload gets another name */
	char name2[SF_MEDIA_NAME_MAX];
	assert_int_equal(sf_media_product_image(f->db, f->kr, f->media, pid, png, sizeof png, "image/png", &staff,
						name2, &why),
			 SF_OK);
	assert_string_not_equal(name, name2);
	/* an unknown product: refused, and no file is left behind */
	DIR *d;
	snprintf(path, sizeof path, "%s/products", f->media);
	int files = 0;
	d = opendir(path);
	for (struct dirent *e; (e = readdir(d));)
		files += e->d_name[0] != '.';
	closedir(d);
	assert_int_equal(sf_media_product_image(f->db, f->kr, f->media, 999999, png, sizeof png, "image/png", &staff,
						name, &why),
			 SF_ERR_NOT_FOUND);
	int files2 = 0;
	d = opendir(path);
	for (struct dirent *e; (e = readdir(d));)
		files2 += e->d_name[0] != '.';
	closedir(d);
	assert_int_equal(files2, files);
}

static void test_catalog_edit(void **state)
{
	struct shop_fx *f = *state;
	const char *why;
	int64_t id = 0;
	struct sf_bo_product_in in = {.slug = "mug", .name = "Mug", .description = "Holds tea", .status = "draft"};
	int64_t events = shop_fx_audit_count(f);
	assert_int_equal(sf_bo_product_save(f->db, f->kr, 0, &in, &staff, &id, &why), SF_OK);
	assert_true(id > 0);
	assert_int_equal(shop_fx_audit_count(f), events + 1);
	assert_int_equal(sf_bo_product_save(f->db, f->kr, 0, &in, &staff, &id, &why), SF_ERR_DB_CONSTRAINT);
	in.slug = "Bad Slug";
	assert_int_equal(sf_bo_product_save(f->db, f->kr, 0, &in, &staff, NULL, &why), SF_ERR_BAD_PARAM);
	/* a slug, SKU or tax class may fit its pattern and still be a card number */
	in.slug = "4111-1111-1111-1111";
	assert_int_equal(sf_bo_product_save(f->db, f->kr, 0, &in, &staff, NULL, &why), SF_ERR_CARD_DATA);
	in.slug = "mug2";
	in.status = "deleted";
	assert_int_equal(sf_bo_product_save(f->db, f->kr, 0, &in, &staff, NULL, &why), SF_ERR_BAD_PARAM);
	in.status = "active";
	in.category_id = 999999;
	assert_int_equal(sf_bo_product_save(f->db, f->kr, 0, &in, &staff, NULL, &why), SF_ERR_NOT_FOUND);
	in.category_id = 0;
	in.name = "";
	assert_int_equal(sf_bo_product_save(f->db, f->kr, id, &in, &staff, NULL, &why), SF_ERR_BAD_PARAM);
	in.name = "Mug, large";
	assert_int_equal(sf_bo_product_save(f->db, f->kr, id, &in, &staff, NULL, &why), SF_OK);
	assert_int_equal(sf_bo_product_save(f->db, f->kr, 999999, &in, &staff, NULL, &why), SF_ERR_NOT_FOUND);
	/* variants */
	assert_int_equal(sf_bo_variant_save(f->db, f->kr, id, 0, "MUG-1", "Blue", 1250, "EUR", &staff, &why), SF_OK);
	assert_int_equal(sf_bo_variant_save(f->db, f->kr, id, 0, "MUG-1", "Blue", 1250, "EUR", &staff, &why),
			 SF_ERR_DB_CONSTRAINT);
	assert_int_equal(sf_bo_variant_save(f->db, f->kr, id, 0, "MUG 2", "x", 1, "EUR", &staff, &why), SF_ERR_BAD_PARAM);
	assert_int_equal(sf_bo_variant_save(f->db, f->kr, id, 0, "4111111111111111", "x", 1, "EUR", &staff, &why),
			 SF_ERR_CARD_DATA);
	assert_int_equal(sf_bo_variant_save(f->db, f->kr, id, 0, "MUG-2", "x", -1, "EUR", &staff, &why), SF_ERR_BAD_PARAM);
	/* a price one unit of which no order could hold */
	assert_int_equal(sf_bo_variant_save(f->db, f->kr, id, 0, "MUG-2", "x", SF_MONEY_MAX + 1, "EUR", &staff, &why),
			 SF_ERR_BAD_PARAM);
	assert_int_equal(sf_bo_variant_save(f->db, f->kr, id, 0, "MUG-2", "x", 1, "eur", &staff, &why), SF_ERR_BAD_PARAM);
	assert_int_equal(sf_bo_variant_save(f->db, f->kr, 999999, 0, "MUG-3", "x", 1, "EUR", &staff, &why),
			 SF_ERR_NOT_FOUND);
	/* another product's variant cannot be edited through this product */
	int64_t other = variant_id(f, "TEE-S");
	assert_int_equal(sf_bo_variant_save(f->db, f->kr, id, other, NULL, "x", 1, "EUR", &staff, &why),
			 SF_ERR_NOT_FOUND);
	json_t *p = NULL;
	assert_int_equal(sf_bo_product(f->db, id, &p), SF_OK);
	assert_string_equal(json_string_value(json_object_get(p, "name")), "Mug, large");
	assert_int_equal(json_array_size(json_object_get(p, "variants")), 1);
	json_decref(p);
	/* categories */
	assert_int_equal(sf_bo_category_save(f->db, f->kr, 0, 0, "Kitchen", &staff, &why), SF_OK);
	assert_int_equal(sf_bo_category_save(f->db, f->kr, 0, 0, "Kitchen", &staff, &why), SF_ERR_DB_CONSTRAINT);
	assert_int_equal(sf_bo_category_save(f->db, f->kr, 0, 999999, "Sub", &staff, &why), SF_ERR_NOT_FOUND);
	assert_int_equal(sf_bo_category_save(f->db, f->kr, 0, 0, "!!!", &staff, &why), SF_ERR_BAD_PARAM);
	json_t *list = NULL;
	assert_int_equal(sf_bo_products(f->db, "MUG", 1, &list), SF_OK);
	assert_int_equal(json_array_size(json_object_get(list, "items")), 1);
	json_decref(list);
	assert_int_equal(sf_bo_products(f->db, NULL, 0, &list), SF_ERR_BAD_PARAM);
}

static void test_tax_shipping_coupons(void **state)
{
	struct shop_fx *f = *state;
	const char *why;
	assert_int_equal(sf_bo_tax_save(f->db, f->kr, "books", 700, "VAT 7%", &staff, &why), SF_OK);
	assert_int_equal(sf_bo_tax_save(f->db, f->kr, "books", 10001, "x", &staff, &why), SF_ERR_BAD_PARAM);
	assert_int_equal(sf_bo_tax_save(f->db, f->kr, "Bad Class", 1, "x", &staff, &why), SF_ERR_BAD_PARAM);
	assert_int_equal(sf_bo_tax_save(f->db, f->kr, "4111111111111111", 1, "x", &staff, &why), SF_ERR_CARD_DATA);
	json_t *m = NULL;
	assert_int_equal(sf_bo_shipping(f->db, &m), SF_OK);
	int64_t mid = json_integer_value(json_object_get(json_array_get(json_object_get(m, "items"), 0), "id"));
	json_decref(m);
	assert_int_equal(sf_bo_shipping_save(f->db, f->kr, mid, "Std", 500, 0, -1, "books", 1, &staff, &why), SF_OK);
	assert_int_equal(sf_bo_shipping_save(f->db, f->kr, mid, "Std", 500, 0, -1, "nope", 1, &staff, &why),
			 SF_ERR_NOT_FOUND);
	assert_int_equal(sf_bo_shipping_save(f->db, f->kr, mid, "Std", -5, 0, -1, "books", 1, &staff, &why),
			 SF_ERR_BAD_PARAM);
	assert_int_equal(sf_bo_shipping_save(f->db, f->kr, 99999, "Std", 5, 0, -1, "books", 1, &staff, &why),
			 SF_ERR_NOT_FOUND);
	assert_int_equal(sf_bo_coupon_active(f->db, f->kr, 99999, 0, &staff), SF_ERR_NOT_FOUND);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_inventory, setup, shop_fx_teardown),
		cmocka_unit_test(test_media_check),
		cmocka_unit_test_setup_teardown(test_media_store, setup, shop_fx_teardown),
		cmocka_unit_test_setup_teardown(test_catalog_edit, setup, shop_fx_teardown),
		cmocka_unit_test_setup_teardown(test_tax_shipping_coupons, setup, shop_fx_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
