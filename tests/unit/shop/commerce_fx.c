/* commerce_fx.c — the commerce test environment of commerce_fx.h. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commerce_fx.h"
#include "shop/commerce.h"

static const char catalog[] =
	"product_slug,product_name,category_path,description,sku,variant_name,price_minor,currency,stock,image\n"
	"tee,Tee,Clothing,A tee,TEE-S,Small,1999,EUR,50,\n"
	"tee,Tee,Clothing,A tee,TEE-L,Large,1999,EUR,50,\n"
	"book,Book,Books,A book,BOOK,,550,EUR,100,\n"
	"last,Last one,Clothing,The last ones,LAST,,1000,EUR,10,\n"
	"import,Import,Clothing,Imported,USD-1,,700,USD,5,\n";

int commerce_fx_setup(void **state)
{
	struct sf_catalog_import_result res;
	if (shop_fx_setup(state) != 0)
		return -1;
	struct shop_fx *f = *state;
	memset(&res, 0, sizeof res);
	if (shop_fx_import(f, catalog, &res) != SF_OK)
		return -1;
	cfx_sql(f, "UPDATE products SET tax_class = 'reduced' WHERE slug = 'book'");
	cfx_sql(f, "UPDATE variants SET weight_g = 200 WHERE sku LIKE 'TEE-%'");
	cfx_sql(f, "UPDATE variants SET weight_g = 450 WHERE sku = 'BOOK'");
	sf_shop_clock_offset(0);
	sf_shop_set_mailer(NULL);
	return 0;
}

int commerce_fx_teardown(void **state)
{
	sf_shop_clock_offset(0);
	sf_shop_set_mailer(NULL);
	return shop_fx_teardown(state);
}

static sqlite3 *open_raw(struct shop_fx *f)
{
	char path[192];
	sqlite3 *h = NULL;
	snprintf(path, sizeof path, "%s/shop.db", f->dir);
	assert_int_equal(sqlite3_open(path, &h), SQLITE_OK);
	sqlite3_busy_timeout(h, 10000);
	return h;
}

void cfx_sql(struct shop_fx *f, const char *sql)
{
	sqlite3 *h = open_raw(f);
	char *msg = NULL;
	if (sqlite3_exec(h, sql, NULL, NULL, &msg) != SQLITE_OK)
		fail_msg("%s: %s", sql, msg ? msg : "?");
	sqlite3_close(h);
}

int64_t cfx_int(struct shop_fx *f, const char *sql)
{
	sqlite3 *h = open_raw(f);
	sqlite3_stmt *st = NULL;
	assert_int_equal(sqlite3_prepare_v2(h, sql, -1, &st, NULL), SQLITE_OK);
	if (sqlite3_step(st) != SQLITE_ROW)
		fail_msg("no row: %s", sql);
	int64_t v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(h);
	return v;
}

int64_t cfx_stock(struct shop_fx *f, const char *sku)
{
	char sql[128];
	snprintf(sql, sizeof sql, "SELECT stock FROM variants WHERE sku = '%s'", sku);
	return cfx_int(f, sql);
}

int64_t cfx_variant_id(struct shop_fx *f, const char *sku)
{
	char sql[128];
	snprintf(sql, sizeof sql, "SELECT id FROM variants WHERE sku = '%s'", sku);
	return cfx_int(f, sql);
}

void cfx_guest(struct sf_cart_owner *o)
{
	char tok[SF_CART_TOKEN_LEN + 1];
	sf_cart_token_new(tok);
	assert_int_equal(sf_cart_owner_guest(tok, o), SF_OK);
}

const struct sf_shop_rules *cfx_rules(void)
{
	static struct sf_shop_rules r;
	sf_shop_rules_init(&r, NULL);
	return &r;
}

struct sf_checkout_req cfx_req(const struct sf_cart_owner *o, const char *key)
{
	struct sf_checkout_req rq;
	memset(&rq, 0, sizeof rq);
	rq.owner = *o;
	rq.email = "ada@example.org";
	rq.address = (struct sf_address){.name = "Ada Lovelace", .street = "12 Rue de la Paix", .city = "Paris",
					 .postcode = "75002", .country = "fr", .phone = "+33 1 23 45 67 89"};
	rq.shipping_method = "standard";
	rq.idem_key = key;
	rq.actor = (struct sf_shop_actor){.type = "anonymous"};
	return rq;
}

enum sf_err cfx_buy(struct shop_fx *f, const struct sf_cart_owner *o, const char *sku, int64_t qty, const char *key,
		    int64_t *order_id)
{
	enum sf_err err = sf_cart_add(f->db, o, cfx_rules(), 0, sku, qty);
	if (err)
		return err;
	struct sf_checkout_req rq = cfx_req(o, key);
	return sf_checkout_place(f->db, f->kr, cfx_rules(), &rq, order_id, NULL);
}
