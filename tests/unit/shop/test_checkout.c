/* test_checkout.c — money rules against hand-computed examples, order
 * placement, idempotency, hostile input, and 64 concurrent buyers for the
 * last 10 units. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "commerce_fx.h"
#include "core/log.h"
#include "core/util.h"
#include "db/db.h"
#include "shop/backoffice.h"
#include "shop/catalog.h"
#include "shop/money.h"
#include "shop/tax.h"

#include <jansson.h>
#include <stdlib.h>

/* ==== Pure arithmetic ==== */

static void t_round(void **state)
{
	(void)state;
	assert_int_equal(sf_money_div_round(5, 2), 3);   /* 2.5 -> 3 */
	assert_int_equal(sf_money_div_round(-5, 2), -3); /* -2.5 -> -3 */
	assert_int_equal(sf_money_div_round(7, 3), 2);   /* 2.33 */
	assert_int_equal(sf_money_div_round(8, 3), 3);   /* 2.67 */
	assert_int_equal(sf_money_div_round(0, 7), 0);
	assert_int_equal(sf_money_div_round(11994000, 12000), 1000); /* 999.5 */
	assert_int_equal(sf_money_div_round(11993999, 12000), 999);  /* 999.49992 */
}

/* An amount as JSON: the integer, the currency and the formatted text, in
 * that order; a currency that is not UTF-8 gives no object at all. */
static void t_money_json(void **state)
{
	(void)state;
	const int64_t amounts[] = {0, 1, -1, 12345, -12345, SF_MONEY_MAX, -SF_MONEY_MAX};
	for (size_t i = 0; i < sizeof amounts / sizeof amounts[0]; i++) {
		char want[64], *got;
		json_t *m = sf_money_json(amounts[i], "EUR");
		assert_non_null(m);
		sf_money_format(amounts[i], "EUR", want, sizeof want);
		got = json_dumps(m, JSON_COMPACT);
		assert_non_null(got);
		char expect[160];
		snprintf(expect, sizeof expect, "{\"amount\":%lld,\"currency\":\"EUR\",\"formatted\":\"%s\"}",
			 (long long)amounts[i], want);
		assert_string_equal(got, expect);
		free(got);
		json_decref(m);
	}
	json_t *m = sf_money_json(5, NULL);
	assert_non_null(m);
	assert_string_equal(json_string_value(json_object_get(m, "currency")), "");
	json_decref(m);
	assert_null(sf_money_json(5, "\xff\xfe"));
}

/* Amounts typed by staff, in the currency's own decimals, and back. */
static void t_money_parse(void **state)
{
	(void)state;
	static const struct {
		const char *text, *cur;
		int64_t want; /* -1: refused */
	} cases[] = {
		{"12.50", "EUR", 1250}, {"12.5", "EUR", 1250},	{"12", "EUR", 1200},   {"0.05", "USD", 5},
		{"12.505", "EUR", -1},	{"1000", "JPY", 1000},	{"1000.", "JPY", -1},  {"1000.0", "JPY", -1},
		{"125000", "KRW", 125000}, {"1.5", "KWD", 1500}, {"1.005", "BHD", 1005}, {"1.0005", "OMR", -1},
		{"20", NULL, 2000},	{"5.5", NULL, 550},	{"-1", "EUR", -1},     {"+1", "EUR", -1},
		{" 1", "EUR", -1},	{"1 ", "EUR", -1},	{"1,000", "EUR", -1},  {"", "EUR", -1},
		{".5", "EUR", -1},	{"1e3", "EUR", -1},	{"999999999999", "EUR", 99999999999900},
		{"1000000000000", "JPY", -1}, {"12.50", "XYZ", 1250}, {"12.50", "jpy", 1250},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		int64_t got = -1;
		int rc = sf_money_parse(cases[i].text, cases[i].cur, &got);
		if ((cases[i].want < 0) != (rc != 0) || (rc == 0 && got != cases[i].want))
			fail_msg("\"%s\" %s: rc %d, %lld", cases[i].text, cases[i].cur ? cases[i].cur : "(none)", rc,
				 (long long)got);
		char back[32];
		if (rc == 0 && cases[i].cur) {
			int64_t again = -1;
			sf_money_plain(got, cases[i].cur, back, sizeof back);
			assert_int_equal(sf_money_parse(back, cases[i].cur, &again), 0);
			assert_int_equal(again, got);
		}
	}
	int64_t x;
	assert_int_equal(sf_money_parse(NULL, "EUR", &x), -1);
	/* a code: its decimals, and whether it is one (three capitals) */
	static const struct {
		const char *cur;
		int decimals, ok;
	} codes[] = {
		{"JPY", 0, 1}, {"VND", 0, 1}, {"TND", 3, 1}, {"EUR", 2, 1}, {"P Y", 2, 0},
		{"JP", 2, 0},  {"jpy", 2, 0}, {"E1R", 2, 0}, {"EU", 2, 0},  {"EURO", 2, 0}, {NULL, 2, 0},
	};
	for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++) {
		assert_int_equal(sf_money_decimals(codes[i].cur), codes[i].decimals);
		assert_int_equal(sf_money_currency_ok(codes[i].cur), codes[i].ok);
	}
	char t[32];
	sf_money_plain(1250, "EUR", t, sizeof t);
	assert_string_equal(t, "12.50");
	sf_money_plain(1000, "JPY", t, sizeof t);
	assert_string_equal(t, "1000");
	sf_money_plain(5, "KWD", t, sizeof t);
	assert_string_equal(t, "0.005");
}

static void t_allocate(void **state)
{
	(void)state;
	int64_t w[3] = {5997, 550, 0}, out[3];
	sf_money_allocate(655, w, 2, out); /* 599.97 / 55.02 -> remainder unit to line 1 */
	assert_int_equal(out[0], 600);
	assert_int_equal(out[1], 55);
	int64_t eq[3] = {1, 1, 1};
	sf_money_allocate(2, eq, 3, out); /* ties: earlier lines first */
	assert_int_equal(out[0], 1);
	assert_int_equal(out[1], 1);
	assert_int_equal(out[2], 0);
	int64_t hundreds[3] = {100, 100, 100};
	sf_money_allocate(100, hundreds, 3, out); /* 33.33 each + 1 */
	assert_int_equal(out[0] + out[1] + out[2], 100);
	assert_int_equal(out[0], 34);
	int64_t z[2] = {0, 0};
	sf_money_allocate(0, z, 2, out);
	assert_int_equal(out[0] + out[1], 0);
	/* never more than the weight */
	int64_t small[2] = {1, 999};
	sf_money_allocate(999, small, 2, out);
	assert_true(out[0] <= 1 && out[1] <= 999 && out[0] + out[1] == 999);
}

static void t_tax(void **state)
{
	(void)state;
	assert_int_equal(sf_tax_amount(5997, 2000, 1), 1000); /* 999.5 */
	assert_int_equal(sf_tax_amount(5997, 2000, 0), 1199); /* 1199.4 */
	assert_int_equal(sf_tax_amount(550, 550, 1), 29);     /* 28.67 */
	assert_int_equal(sf_tax_amount(550, 550, 0), 30);     /* 30.25 */
	assert_int_equal(sf_tax_amount(490, 2000, 1), 82);    /* 81.67 */
	assert_int_equal(sf_tax_amount(1000, 0, 0), 0);
	assert_int_equal(sf_tax_amount(6, 2000, 1), 1); /* 1.0 */
	assert_int_equal(sf_tax_amount(3, 2000, 1), 1); /* 0.5 -> 1 */
	assert_int_equal(sf_tax_amount(2, 2000, 1), 0); /* 0.33 */
}

static void t_shipping(void **state)
{
	(void)state;
	struct sf_ship_method flat = {.code = "standard", .kind = SF_SHIP_FLAT, .base = 490, .free_above = 5000};
	struct sf_ship_method kg = {.code = "parcel", .kind = SF_SHIP_WEIGHT, .base = 390, .per_kg = 150,
				    .free_above = -1};
	assert_int_equal(sf_shipping_rate(&flat, 4999, 0), 490);
	assert_int_equal(sf_shipping_rate(&flat, 5000, 0), 0);
	assert_int_equal(sf_shipping_rate(&kg, 100000, 0), 390);
	assert_int_equal(sf_shipping_rate(&kg, 0, 1), 540);
	assert_int_equal(sf_shipping_rate(&kg, 0, 1000), 540);
	assert_int_equal(sf_shipping_rate(&kg, 0, 1001), 690);
	assert_int_equal(sf_shipping_rate(&kg, 0, 2500), 840);
}

static struct sf_quote_line line(int64_t unit, int64_t qty, int32_t bp, int64_t weight)
{
	struct sf_quote_line l;
	memset(&l, 0, sizeof l);
	l.unit = unit;
	l.qty = qty;
	l.rate_bp = bp;
	l.weight_g = weight;
	return l;
}

/* Example 1 of docs/COMMERCE.md: prices include tax, no coupon. */
static void t_quote_inclusive(void **state)
{
	(void)state;
	struct sf_quote_line l[2] = {line(1999, 3, 2000, 200), line(550, 1, 550, 450)};
	struct sf_quote q = {.include_tax = 1, .n = 2, .lines = l};
	struct sf_ship_method std = {.kind = SF_SHIP_FLAT, .base = 490, .free_above = 5000, .rate_bp = 2000};
	assert_int_equal(sf_quote_compute(&q, NULL, &std), SF_OK);
	assert_int_equal(q.subtotal, 6547);
	assert_int_equal(l[0].tax, 1000);
	assert_int_equal(l[1].tax, 29);
	assert_int_equal(q.shipping, 0); /* 6547 >= 5000 */
	assert_int_equal(q.tax, 1029);
	assert_int_equal(q.total, 6547);
	assert_int_equal(q.weight_g, 1050);
}

/* Example 2: prices exclude tax, 10 % coupon, free shipping. */
static void t_quote_exclusive_coupon(void **state)
{
	(void)state;
	struct sf_quote_line l[2] = {line(1999, 3, 2000, 0), line(550, 1, 550, 0)};
	struct sf_quote q = {.include_tax = 0, .n = 2, .lines = l};
	struct sf_coupon cp = {.kind = SF_COUPON_PERCENT, .value = 1000, .active = 1};
	struct sf_ship_method std = {.kind = SF_SHIP_FLAT, .base = 490, .free_above = 5000, .rate_bp = 2000};
	assert_int_equal(sf_quote_compute(&q, &cp, &std), SF_OK);
	assert_int_equal(q.discount, 655); /* 654.7 */
	assert_int_equal(l[0].discount, 600);
	assert_int_equal(l[1].discount, 55);
	assert_int_equal(l[0].tax, 1079); /* 5397 * 0.2 = 1079.4 */
	assert_int_equal(l[1].tax, 27);   /* 495 * 0.055 = 27.225 */
	assert_int_equal(q.goods, 5892);
	assert_int_equal(q.shipping, 0);
	assert_int_equal(q.tax, 1106);
	assert_int_equal(q.total, 6998);
}

/* Example 3: exclusive, paid shipping by weight, fixed coupon. */
static void t_quote_shipping_taxed(void **state)
{
	(void)state;
	struct sf_quote_line l[1] = {line(1250, 2, 2000, 600)};
	struct sf_quote q = {.include_tax = 0, .n = 1, .lines = l};
	struct sf_coupon cp = {.kind = SF_COUPON_FIXED, .value = 300, .active = 1};
	struct sf_ship_method kg = {.kind = SF_SHIP_WEIGHT, .base = 390, .per_kg = 150, .free_above = -1,
				    .rate_bp = 2000};
	assert_int_equal(sf_quote_compute(&q, &cp, &kg), SF_OK);
	assert_int_equal(q.subtotal, 2500);
	assert_int_equal(q.discount, 300);
	assert_int_equal(q.goods, 2200);
	assert_int_equal(q.weight_g, 1200);
	assert_int_equal(q.shipping, 690);     /* 390 + 2 started kg */
	assert_int_equal(q.shipping_tax, 138); /* 690 * 0.2 */
	assert_int_equal(q.tax, 440 + 138);
	assert_int_equal(q.total, 2200 + 690 + 578);
	/* inclusive: same lines, the tax is contained */
	q.include_tax = 1;
	assert_int_equal(sf_quote_compute(&q, &cp, &kg), SF_OK);
	assert_int_equal(l[0].tax, 367); /* 2200 / 6 = 366.67 */
	assert_int_equal(q.shipping_tax, 115); /* 690 / 6 = 115 */
	assert_int_equal(q.total, 2890);
	/* a fixed coupon never exceeds the subtotal */
	cp.value = 999999;
	assert_int_equal(sf_quote_compute(&q, &cp, NULL), SF_OK);
	assert_int_equal(q.discount, 2500);
	assert_int_equal(q.total, 0);
}

static void t_quote_limits(void **state)
{
	(void)state;
	struct sf_quote_line l[1] = {line(SF_MONEY_MAX, 2, 2000, 0)};
	struct sf_quote q = {.include_tax = 1, .n = 1, .lines = l};
	assert_int_equal(sf_quote_compute(&q, NULL, NULL), SF_ERR_TOO_LARGE);
	l[0] = line(INT64_MAX / 2, 3, 2000, 0);
	assert_int_equal(sf_quote_compute(&q, NULL, NULL), SF_ERR_TOO_LARGE);
	l[0] = line(100, 0, 2000, 0);
	assert_int_equal(sf_quote_compute(&q, NULL, NULL), SF_ERR_QUANTITY);
	l[0] = line(-1, 1, 2000, 0);
	assert_int_equal(sf_quote_compute(&q, NULL, NULL), SF_ERR_INVALID);
}

/* ==== Address limits ==== */

/* text made of n copies of the character ch (any UTF-8 length) */
static char *repeat(const char *ch, size_t n)
{
	size_t w = strlen(ch);
	char *s = malloc(w * n + 1);
	assert_non_null(s);
	for (size_t i = 0; i < n; i++)
		memcpy(s + i * w, ch, w);
	s[w * n] = '\0';
	return s;
}

/* The limits are characters, as the form's maxlength counts them: 60 x "Ж"
 * (120 bytes) is a name of 60 characters, a street of 68 kana is 204 bytes;
 * a refusal names the field and never holds its value. */
static void t_validate_chars(void **state)
{
	(void)state;
	char cc[3], why[SF_CHECKOUT_WHY_MAX];
	struct sf_address base = {.name = "Ada Lovelace", .street = "12 Rue de la Paix", .city = "Paris",
				  .postcode = "75002", .country = "fr", .phone = NULL};
	struct sf_address a = base;
	char *zhe60 = repeat("\xd0\x96", 60), *zhe100 = repeat("\xd0\x96", 100), *zhe101 = repeat("\xd0\x96", 101);
	char *kana68 = repeat("\xe3\x81\x82", 68), *kana200 = repeat("\xe3\x81\x82", 200);
	char *kana201 = repeat("\xe3\x81\x82", 201), *grin100 = repeat("\xf0\x9f\x98\x80", 100);
	a.name = zhe60;
	assert_int_equal(sf_checkout_validate(&a, "ada@example.org", cc, why, sizeof why, NULL), SF_OK);
	assert_string_equal(why, "");
	a.name = zhe100;
	assert_int_equal(sf_checkout_validate(&a, "ada@example.org", cc, why, sizeof why, NULL), SF_OK);
	a.name = grin100; /* 400 bytes: the 4 x cap */
	assert_int_equal(sf_checkout_validate(&a, "ada@example.org", cc, why, sizeof why, NULL), SF_OK);
	a.street = kana68;
	assert_int_equal(sf_checkout_validate(&a, "ada@example.org", cc, why, sizeof why, NULL), SF_OK);
	a.street = kana200;
	assert_int_equal(sf_checkout_validate(&a, "ada@example.org", cc, why, sizeof why, NULL), SF_OK);
	a.street = kana201;
	assert_int_equal(sf_checkout_validate(&a, "ada@example.org", cc, why, sizeof why, NULL), SF_ERR_ADDRESS);
	assert_string_equal(why, "The street and number must be one line of at most 200 characters.");
	a = base;
	a.name = zhe101;
	assert_int_equal(sf_checkout_validate(&a, "ada@example.org", cc, why, sizeof why, NULL), SF_ERR_ADDRESS);
	assert_string_equal(why, "The name must be one line of at most 100 characters.");
	assert_null(strstr(why, "\xd0\x96"));
	a = base;
	a.city = "";
	const char *field = NULL;
	assert_int_equal(sf_checkout_validate(&a, "ada@example.org", cc, why, sizeof why, &field), SF_ERR_ADDRESS);
	assert_string_equal(why, "Fill in the city.");
	assert_string_equal(field, "city"); /* the input the page marks invalid */
	a = base;
	a.postcode = "75\t002";
	assert_int_equal(sf_checkout_validate(&a, "ada@example.org", cc, why, sizeof why, NULL), SF_ERR_ADDRESS);
	assert_non_null(strstr(why, "postcode"));
	a = base;
	a.country = "F1";
	assert_int_equal(sf_checkout_validate(&a, "ada@example.org", cc, why, sizeof why, NULL), SF_ERR_ADDRESS);
	assert_non_null(strstr(why, "country"));
	a = base;
	a.phone = "+86 138 1234 5603"; /* 13 digits that pass Luhn */
	assert_int_equal(sf_checkout_validate(&a, "ada@example.org", cc, why, sizeof why, &field), SF_ERR_CARD_DATA);
	assert_string_equal(why, SF_LOG_PHONE_CARD_WHY);
	assert_string_equal(field, "phone");
	assert_int_equal(sf_checkout_validate(&a, "ada@example.org", cc, NULL, 0, NULL), SF_ERR_CARD_DATA);
	a.phone = "(+86) 138 1234 5603";
	assert_int_equal(sf_checkout_validate(&a, "ada@example.org", cc, why, sizeof why, NULL), SF_OK);
	a = base;
	a.name = "4111 1111 1111 1111";
	assert_int_equal(sf_checkout_validate(&a, "ada@example.org", cc, why, sizeof why, NULL), SF_ERR_CARD_DATA);
	assert_string_equal(why, ""); /* the card error's own sentence */
	a = base;
	a.phone = "call me";
	assert_int_equal(sf_checkout_validate(&a, "ada@example.org", cc, NULL, 0, NULL), SF_ERR_ADDRESS);
	assert_int_equal(sf_checkout_validate(&a, "x<y@example.org", cc, why, sizeof why, NULL), SF_ERR_ADDRESS);
	assert_non_null(strstr(why, "phone"));
	a = base;
	assert_int_equal(sf_checkout_validate(&a, "x<y@example.org", cc, why, sizeof why, NULL), SF_ERR_ADDRESS);
	assert_non_null(strstr(why, "e-mail"));
	/* a card number anywhere: its own error, no field text */
	a.street = "4111 1111 1111 1111";
	assert_int_equal(sf_checkout_validate(&a, "ada@example.org", cc, why, sizeof why, NULL), SF_ERR_CARD_DATA);
	assert_string_equal(why, "");
	free(zhe60);
	free(zhe100);
	free(zhe101);
	free(kana68);
	free(kana200);
	free(kana201);
	free(grin100);
}

/* ==== Placing orders ==== */

static void t_place(void **state)
{
	struct shop_fx *f = *state;
	struct sf_cart_owner o;
	int64_t id = 0;
	int replayed = -1;
	cfx_guest(&o);
	assert_int_equal(sf_cart_add(f->db, &o, cfx_rules(), 0, "TEE-S", 3), SF_OK);
	assert_int_equal(sf_cart_add(f->db, &o, cfx_rules(), 0, "BOOK", 1), SF_OK);
	int64_t audits = shop_fx_audit_count(f);
	struct sf_checkout_req rq = cfx_req(&o, "key-0000000001");
	assert_int_equal(sf_checkout_place(f->db, f->kr, cfx_rules(), &rq, &id, &replayed), SF_OK);
	assert_true(id > 0);
	assert_int_equal(replayed, 0);
	assert_int_equal(cfx_stock(f, "TEE-S"), 47);
	assert_int_equal(cfx_stock(f, "BOOK"), 99);
	/* example 1 through the real tables */
	char sql[160];
	snprintf(sql, sizeof sql, "SELECT total_minor * 10000 + tax_minor FROM orders WHERE id = %lld", (long long)id);
	assert_int_equal(cfx_int(f, sql), 6547LL * 10000 + 1029);
	snprintf(sql, sizeof sql, "SELECT count(*) FROM orders WHERE id = %lld AND status = 'pending_payment'",
		 (long long)id);
	assert_int_equal(cfx_int(f, sql), 1);
	assert_int_equal(cfx_int(f, "SELECT count(*) FROM cart_items"), 0); /* the cart was emptied */
	assert_int_equal(shop_fx_audit_count(f), audits + 1);
	/* personal data is sealed: no plaintext in the row */
	assert_int_equal(cfx_int(f, "SELECT count(*) FROM orders WHERE instr(address, 'Lovelace') > 0 "
				    "OR instr(email, 'ada@') > 0"),
			 0);
	/* the sealed address is bound to its order id */
	struct sf_order_viewer v = {.owner = &o, .actor = {.type = "anonymous"}};
	json_t *ord = NULL;
	assert_int_equal(sf_order_fetch(f->db, f->kr, id, &v, 1, &ord), SF_OK);
	assert_string_equal(json_string_value(json_object_get(json_object_get(ord, "address"), "city")), "Paris");
	assert_string_equal(json_string_value(json_object_get(json_object_get(ord, "address"), "country")), "FR");
	assert_string_equal(json_string_value(json_object_get(ord, "email")), "ada@example.org");
	json_decref(ord);
	assert_int_equal(shop_fx_audit_count(f), audits + 2); /* order.read */
}

/* The longest names the catalog takes (200 characters each, here of 4-byte
 * characters) make a whole order line name, and the order reads back: a
 * name cut inside a character was invalid UTF-8, so the order's JSON, its
 * mails and its refunds failed. */
static void t_long_names(void **state)
{
	struct shop_fx *f = *state;
	struct sf_catalog_import_result res = {0};
	static const char grin[] = "\xf0\x9f\x98\x80"; /* U+1F600 */
	char name[200 * 4 + 1] = "", csv[2400], want[2 * 200 * 4 + 4], sql[2 * 200 * 4 + 128];
	for (size_t i = 0; i < 200; i++)
		memcpy(name + 4 * i, grin, 4);
	name[200 * 4] = '\0';
	snprintf(csv, sizeof csv,
		 "product_slug,product_name,category_path,description,sku,variant_name,price_minor,currency,stock,image\n"
		 "wide,%s,Clothing,Wide,WIDE-1,%s,1000,EUR,5,\n",
		 name, name);
	assert_int_equal(shop_fx_import(f, csv, &res), SF_OK);
	struct sf_cart_owner o;
	int64_t id = 0;
	cfx_guest(&o);
	assert_int_equal(cfx_buy(f, &o, "WIDE-1", 1, "wide-key-001", &id), SF_OK);
	snprintf(want, sizeof want, "%s - %s", name, name);
	assert_int_equal(strlen(want), 2 * 800 + 3);
	snprintf(sql, sizeof sql, "SELECT count(*) FROM order_lines WHERE order_id = %lld AND name = '%s'", (long long)id,
		 want);
	assert_int_equal(cfx_int(f, sql), 1);
	struct sf_order_viewer v = {.owner = &o, .actor = {.type = "anonymous"}};
	json_t *ord = NULL;
	assert_int_equal(sf_order_fetch(f->db, f->kr, id, &v, 0, &ord), SF_OK);
	const char *got = json_string_value(json_object_get(json_array_get(json_object_get(ord, "lines"), 0), "name"));
	assert_non_null(got);
	assert_string_equal(got, want);
	json_decref(ord);
}

/* The longest shipping method name the back office takes (SF_SHIP_NAME_MAX
 * bytes), ending in a two-byte character, reaches the cart, the review and
 * the order whole: a buffer one byte short cut the character in half, and
 * the invalid UTF-8 failed every cart view and checkout. */
static void t_long_ship_name(void **state)
{
	struct shop_fx *f = *state;
	static const struct sf_shop_actor staff = {"staff", "7", "192.0.2.1", "req1"};
	char name[SF_SHIP_NAME_MAX + 2];
	const char *why = NULL;
	memset(name, 'a', SF_SHIP_NAME_MAX - 2);
	memcpy(name + SF_SHIP_NAME_MAX - 2, "\xc3\xa9", 3); /* é, and the NUL */
	assert_int_equal(strlen(name), SF_SHIP_NAME_MAX);
	int64_t mid = cfx_int(f, "SELECT id FROM shipping_methods WHERE code = 'standard'");
	assert_int_equal(sf_bo_shipping_save(f->db, f->kr, mid, name, 490, 0, 5000, "standard", 1, &staff, &why), SF_OK);
	memcpy(name + SF_SHIP_NAME_MAX, "x", 2); /* one byte more is refused */
	assert_int_equal(sf_bo_shipping_save(f->db, f->kr, mid, name, 490, 0, 5000, "standard", 1, &staff, &why),
			 SF_ERR_BAD_PARAM);
	name[SF_SHIP_NAME_MAX] = '\0';

	struct sf_cart_owner o;
	json_t *cart = NULL, *rev = NULL, *ord = NULL;
	cfx_guest(&o);
	assert_int_equal(sf_cart_add(f->db, &o, cfx_rules(), 0, "BOOK", 1), SF_OK);
	assert_int_equal(sf_cart_view(f->db, &o, cfx_rules(), &cart), SF_OK);
	json_t *m = json_array_get(json_object_get(cart, "shipping_methods"), 0);
	assert_string_equal(json_string_value(json_object_get(m, "name")), name);
	json_decref(cart);
	assert_int_equal(sf_checkout_preview(f->db, cfx_rules(), &o, "standard", NULL, &rev), SF_OK);
	assert_string_equal(json_string_value(json_object_get(json_object_get(rev, "shipping"), "name")), name);
	json_decref(rev);
	int64_t id = 0;
	int replayed = 0;
	struct sf_checkout_req rq = cfx_req(&o, "ship-name-key-1");
	assert_int_equal(sf_checkout_place(f->db, f->kr, cfx_rules(), &rq, &id, &replayed), SF_OK);
	struct sf_order_viewer v = {.owner = &o, .actor = {.type = "anonymous"}};
	assert_int_equal(sf_order_fetch(f->db, f->kr, id, &v, 0, &ord), SF_OK);
	assert_string_equal(json_string_value(json_object_get(json_object_get(ord, "shipping"), "name")), name);
	json_decref(ord);
}

/* sf_checkout_place_view's order, read in the placing transaction, is the
 * order sf_order_fetch reads after it, also on a replayed key; a refused
 * checkout gives none. */
static void t_place_view(void **state)
{
	struct shop_fx *f = *state;
	struct sf_cart_owner o;
	int64_t id = 0, id2 = 0;
	int replayed = 1;
	json_t *got = NULL, *want = NULL;
	cfx_guest(&o);
	assert_int_equal(sf_cart_add(f->db, &o, cfx_rules(), 0, "TEE-S", 2), SF_OK);
	struct sf_checkout_req rq = cfx_req(&o, "view-key-0001");
	struct sf_order_viewer v = {.owner = &o, .actor = {.type = "anonymous"}};
	assert_int_equal(sf_checkout_place_view(f->db, f->kr, cfx_rules(), &rq, &v, &id, &replayed, &got), SF_OK);
	assert_true(id > 0);
	assert_int_equal(replayed, 0);
	assert_int_equal(sf_order_fetch(f->db, f->kr, id, &v, 0, &want), SF_OK);
	assert_true(json_equal(got, want));
	assert_string_equal(json_string_value(json_object_get(got, "status")), "pending_payment");
	assert_null(json_object_get(got, "email")); /* no personal data */
	json_decref(got);
	assert_int_equal(sf_checkout_place_view(f->db, f->kr, cfx_rules(), &rq, &v, &id2, &replayed, &got), SF_OK);
	assert_int_equal(id2, id);
	assert_int_equal(replayed, 1);
	assert_true(json_equal(got, want));
	json_decref(got);
	json_decref(want);
	/* a replay after the reservation ran out: the order is expired first */
	cfx_sql(f, "UPDATE orders SET reserved_until = 1");
	assert_int_equal(sf_checkout_place_view(f->db, f->kr, cfx_rules(), &rq, &v, &id2, &replayed, &got), SF_OK);
	assert_string_equal(json_string_value(json_object_get(got, "status")), "cancelled");
	assert_int_equal(cfx_stock(f, "TEE-S"), 50);
	json_decref(got);
	/* refused: no order, no answer */
	got = json_object();
	json_t *keep = got;
	rq = cfx_req(&o, "view-key-0002");
	rq.email = "nope";
	assert_int_equal(sf_checkout_place_view(f->db, f->kr, cfx_rules(), &rq, &v, &id2, &replayed, &got),
			 SF_ERR_ADDRESS);
	assert_null(got);
	json_decref(keep);
}

/* ==== What the shopper reviewed is what place orders ==== */

/* The review's fingerprint of o's cart with method "standard". */
static void review_fp(struct shop_fx *f, const struct sf_cart_owner *o, char fp[SF_QUOTE_FP_LEN + 1])
{
	json_t *rev = NULL;
	assert_int_equal(sf_checkout_preview(f->db, cfx_rules(), o, "standard", NULL, &rev), SF_OK);
	const char *s = json_string_value(json_object_get(rev, "fingerprint"));
	assert_non_null(s);
	assert_int_equal(strlen(s), SF_QUOTE_FP_LEN);
	assert_int_equal(strspn(s, SF_TOKEN_ALPHABET), SF_QUOTE_FP_LEN);
	memcpy(fp, s, SF_QUOTE_FP_LEN + 1);
	json_decref(rev);
}

/* rq is refused with want, and nothing is written: no order, the stock
 * and the cart as they were. */
static void refused_untouched(struct shop_fx *f, struct sf_checkout_req *rq, enum sf_err want)
{
	int64_t id = 0, orders = cfx_int(f, "SELECT count(*) FROM orders");
	int64_t stock = cfx_int(f, "SELECT sum(stock) FROM variants"), audits = shop_fx_audit_count(f);
	int64_t items = cfx_int(f, "SELECT count(*) * 1000 + sum(quantity) FROM cart_items");
	assert_int_equal(sf_checkout_place(f->db, f->kr, cfx_rules(), rq, &id, NULL), want);
	assert_int_equal(id, 0);
	assert_int_equal(cfx_int(f, "SELECT count(*) FROM orders"), orders);
	assert_int_equal(cfx_int(f, "SELECT sum(stock) FROM variants"), stock);
	assert_int_equal(cfx_int(f, "SELECT count(*) * 1000 + sum(quantity) FROM cart_items"), items);
	assert_int_equal(shop_fx_audit_count(f), audits);
}

/* Place compares the cart it prices with the review's fingerprint: a line
 * added, a quantity or a price changed, another method, a shipping rate
 * changed, a coupon added since the review -> SF_ERR_CART_CHANGED and
 * nothing written; the fingerprint of the cart as it is places it. */
static void t_review_fingerprint(void **state)
{
	struct shop_fx *f = *state;
	static const struct sf_shop_actor staff = {"staff", "7", "192.0.2.1", "req1"};
	struct sf_cart_owner o;
	char fp[SF_QUOTE_FP_LEN + 1], fp2[SF_QUOTE_FP_LEN + 1];
	int64_t id = 0, id2 = 0;
	int replayed = 0;
	cfx_guest(&o);
	assert_int_equal(sf_cart_add(f->db, &o, cfx_rules(), 0, "BOOK", 1), SF_OK);
	review_fp(f, &o, fp);
	review_fp(f, &o, fp2);
	assert_string_equal(fp, fp2); /* the same cart, the same fingerprint */
	struct sf_checkout_req rq = cfx_req(&o, "review-key-0001");
	rq.review_fp = fp;
	/* another line added in a second tab */
	assert_int_equal(sf_cart_add(f->db, &o, cfx_rules(), 0, "TEE-S", 5), SF_OK);
	refused_untouched(f, &rq, SF_ERR_CART_CHANGED);
	review_fp(f, &o, fp);
	/* a quantity changed */
	assert_int_equal(sf_cart_add(f->db, &o, cfx_rules(), 0, "BOOK", 1), SF_OK);
	refused_untouched(f, &rq, SF_ERR_CART_CHANGED);
	review_fp(f, &o, fp);
	/* a price changed in the back office */
	cfx_sql(f, "UPDATE variants SET price_minor = 600 WHERE sku = 'BOOK'");
	refused_untouched(f, &rq, SF_ERR_CART_CHANGED);
	review_fp(f, &o, fp);
	/* another method than the one reviewed */
	rq.shipping_method = "express";
	refused_untouched(f, &rq, SF_ERR_CART_CHANGED);
	rq.shipping_method = "standard";
	/* the method's rate changed (the goods are below its free threshold) */
	cfx_sql(f, "DELETE FROM cart_items WHERE variant_id = (SELECT id FROM variants WHERE sku = 'TEE-S')");
	review_fp(f, &o, fp);
	int64_t mid = cfx_int(f, "SELECT id FROM shipping_methods WHERE code = 'standard'");
	const char *why = NULL;
	assert_int_equal(sf_bo_shipping_save(f->db, f->kr, mid, "Standard", 590, 0, 5000, "standard", 1, &staff, &why),
			 SF_OK);
	refused_untouched(f, &rq, SF_ERR_CART_CHANGED);
	review_fp(f, &o, fp);
	/* a coupon added since */
	cfx_sql(f, "INSERT INTO coupons (code, kind, value, active, created_at) "
		   "VALUES ('TENOFF', 'percent', 1000, 1, 0)");
	assert_int_equal(sf_cart_set_coupon(f->db, &o, cfx_rules(), "tenoff"), SF_OK);
	refused_untouched(f, &rq, SF_ERR_CART_CHANGED);
	/* no fingerprint, a short one, one letter changed */
	review_fp(f, &o, fp);
	memcpy(fp2, fp, sizeof fp2);
	fp2[10] = fp2[10] == 'b' ? 'c' : 'b';
	const char *bad[] = {"", "bcdf", fp2};
	for (size_t i = 0; i < SF_ARRAY_LEN(bad); i++) {
		rq.review_fp = bad[i];
		refused_untouched(f, &rq, SF_ERR_CART_CHANGED);
	}
	/* the cart as it is now: placed, at the price reviewed */
	rq.review_fp = fp;
	assert_int_equal(sf_checkout_place(f->db, f->kr, cfx_rules(), &rq, &id, &replayed), SF_OK);
	assert_int_equal(replayed, 0);
	char sql[160];
	snprintf(sql, sizeof sql, "SELECT total_minor FROM orders WHERE id = %lld", (long long)id);
	assert_int_equal(cfx_int(f, sql), 2 * 600 - 120 + 590); /* 10 % off, then shipping */
	/* the same form again: the same order, though the cart is now empty */
	assert_int_equal(sf_checkout_place(f->db, f->kr, cfx_rules(), &rq, &id2, &replayed), SF_OK);
	assert_int_equal(id2, id);
	assert_int_equal(replayed, 1);
}

/* The API's expected_total: another total -> SF_ERR_TOTAL_CHANGED and
 * nothing written; the right one places; a replay is compared with the
 * order's total. */
static void t_expected_total(void **state)
{
	struct shop_fx *f = *state;
	struct sf_cart_owner o;
	int64_t id = 0, id2 = 0;
	int replayed = 0;
	cfx_guest(&o);
	assert_int_equal(sf_cart_add(f->db, &o, cfx_rules(), 0, "BOOK", 1), SF_OK);
	struct sf_checkout_req rq = cfx_req(&o, "expect-key-0001");
	rq.check_total = 1;
	rq.expect_total = 550 + 490 - 1;
	refused_untouched(f, &rq, SF_ERR_TOTAL_CHANGED);
	rq.expect_total = 550 + 490;
	cfx_sql(f, "UPDATE variants SET price_minor = 560 WHERE sku = 'BOOK'");
	refused_untouched(f, &rq, SF_ERR_TOTAL_CHANGED);
	cfx_sql(f, "UPDATE variants SET price_minor = 550 WHERE sku = 'BOOK'");
	assert_int_equal(sf_checkout_place(f->db, f->kr, cfx_rules(), &rq, &id, &replayed), SF_OK);
	assert_int_equal(sf_checkout_place(f->db, f->kr, cfx_rules(), &rq, &id2, &replayed), SF_OK);
	assert_int_equal(id2, id);
	assert_int_equal(replayed, 1);
	rq.expect_total = 1;
	assert_int_equal(sf_checkout_place(f->db, f->kr, cfx_rules(), &rq, &id2, &replayed), SF_ERR_TOTAL_CHANGED);
	rq.check_total = 0; /* not given: the order as it is */
	assert_int_equal(sf_checkout_place(f->db, f->kr, cfx_rules(), &rq, &id2, &replayed), SF_OK);
	assert_int_equal(id2, id);
	assert_int_equal(cfx_int(f, "SELECT count(*) FROM orders"), 1);
}

/* The fingerprint moves with every figure the review shows. */
static void t_fingerprint_pure(void **state)
{
	(void)state;
	struct sf_quote_line l[2] = {line(1999, 3, 2000, 200), line(550, 1, 550, 450)};
	l[0].variant_id = 1;
	l[1].variant_id = 2;
	struct sf_quote q = {.include_tax = 1, .currency = "EUR", .n = 2, .lines = l};
	struct sf_ship_method m = {.code = "standard", .kind = SF_SHIP_FLAT, .base = 490, .free_above = 50000};
	char a[SF_QUOTE_FP_LEN + 1], b[SF_QUOTE_FP_LEN + 1];
	assert_int_equal(sf_quote_compute(&q, NULL, &m), SF_OK);
	sf_quote_fingerprint(&q, NULL, "standard", a);
	sf_quote_fingerprint(&q, "", "standard", b);
	assert_string_equal(a, b); /* no coupon either way */
	sf_quote_fingerprint(&q, "X", "standard", b);
	assert_string_not_equal(a, b);
	sf_quote_fingerprint(&q, NULL, "express", b);
	assert_string_not_equal(a, b);
	/* the codes are length-prefixed: coupon "AB" + method "C" is not "A" + "BC" */
	sf_quote_fingerprint(&q, "AB", "C", a);
	sf_quote_fingerprint(&q, "A", "BC", b);
	assert_string_not_equal(a, b);
	sf_quote_fingerprint(&q, NULL, "standard", a);
	l[1].variant_id = 3;
	sf_quote_fingerprint(&q, NULL, "standard", b);
	assert_string_not_equal(a, b);
	l[1].variant_id = 2;
	m.base = 590;
	assert_int_equal(sf_quote_compute(&q, NULL, &m), SF_OK);
	sf_quote_fingerprint(&q, NULL, "standard", b);
	assert_string_not_equal(a, b);
	m.base = 490;
	l[0].unit = 1998;
	assert_int_equal(sf_quote_compute(&q, NULL, &m), SF_OK);
	sf_quote_fingerprint(&q, NULL, "standard", b);
	assert_string_not_equal(a, b);
	l[0].unit = 1999;
	assert_int_equal(sf_quote_compute(&q, NULL, &m), SF_OK);
	sf_quote_fingerprint(&q, NULL, "standard", b);
	assert_string_equal(a, b);
}

static void t_idempotency(void **state)
{
	struct shop_fx *f = *state;
	struct sf_cart_owner o, other;
	int64_t id = 0, id2 = 0, id3 = 0;
	int replayed = 0;
	cfx_guest(&o);
	cfx_guest(&other);
	assert_int_equal(cfx_buy(f, &o, "TEE-L", 2, "same-key-123", &id), SF_OK);
	/* the same key again: the same order, nothing reserved twice */
	struct sf_checkout_req rq = cfx_req(&o, "same-key-123");
	assert_int_equal(sf_checkout_place(f->db, f->kr, cfx_rules(), &rq, &id2, &replayed), SF_OK);
	assert_int_equal(id2, id);
	assert_int_equal(replayed, 1);
	/* even with a new cart content: the key names that one order */
	assert_int_equal(sf_cart_add(f->db, &o, cfx_rules(), 0, "TEE-L", 1), SF_OK);
	assert_int_equal(sf_checkout_place(f->db, f->kr, cfx_rules(), &rq, &id2, &replayed), SF_OK);
	assert_int_equal(id2, id);
	assert_int_equal(cfx_stock(f, "TEE-L"), 48);
	/* a different body with the same key: 409 */
	rq.address.city = "Lyon";
	assert_int_equal(sf_checkout_place(f->db, f->kr, cfx_rules(), &rq, &id2, NULL), SF_ERR_IDEMPOTENCY);
	rq = cfx_req(&o, "same-key-123");
	rq.shipping_method = "express";
	assert_int_equal(sf_checkout_place(f->db, f->kr, cfx_rules(), &rq, &id2, NULL), SF_ERR_IDEMPOTENCY);
	/* the same key from another owner is another order */
	assert_int_equal(cfx_buy(f, &other, "TEE-L", 1, "same-key-123", &id3), SF_OK);
	assert_true(id3 != id);
	assert_int_equal(cfx_int(f, "SELECT count(*) FROM orders"), 2);
	/* keys: missing, short, with blanks */
	rq = cfx_req(&o, NULL);
	assert_int_equal(sf_checkout_place(f->db, f->kr, cfx_rules(), &rq, &id2, NULL), SF_ERR_IDEMPOTENCY_KEY);
	rq.idem_key = "short";
	assert_int_equal(sf_checkout_place(f->db, f->kr, cfx_rules(), &rq, &id2, NULL), SF_ERR_IDEMPOTENCY_KEY);
	rq.idem_key = "has a blank in it";
	assert_int_equal(sf_checkout_place(f->db, f->kr, cfx_rules(), &rq, &id2, NULL), SF_ERR_IDEMPOTENCY_KEY);
}

static void t_hostile(void **state)
{
	struct shop_fx *f = *state;
	struct sf_cart_owner o;
	int64_t id = 0;
	char long_name[300];
	cfx_guest(&o);
	assert_int_equal(sf_cart_add(f->db, &o, cfx_rules(), 0, "BOOK", 1), SF_OK);
	int64_t audits = shop_fx_audit_count(f);
	struct sf_checkout_req rq = cfx_req(&o, "hostile-key-1");
	rq.address.name = "4111 1111 1111 1111";
	assert_int_equal(sf_checkout_place(f->db, f->kr, cfx_rules(), &rq, &id, NULL), SF_ERR_CARD_DATA);
	rq = cfx_req(&o, "hostile-key-1");
	rq.email = "4242424242424242@example.org";
	assert_int_equal(sf_checkout_place(f->db, f->kr, cfx_rules(), &rq, &id, NULL), SF_ERR_CARD_DATA);
	rq = cfx_req(&o, "hostile-key-1");
	memset(long_name, 'a', sizeof long_name - 1);
	long_name[sizeof long_name - 1] = '\0';
	rq.address.name = long_name;
	assert_int_equal(sf_checkout_place(f->db, f->kr, cfx_rules(), &rq, &id, NULL), SF_ERR_ADDRESS);
	rq = cfx_req(&o, "hostile-key-1");
	rq.address.country = "F1";
	assert_int_equal(sf_checkout_place(f->db, f->kr, cfx_rules(), &rq, &id, NULL), SF_ERR_ADDRESS);
	rq = cfx_req(&o, "hostile-key-1");
	rq.address.street = "line\nbreak";
	assert_int_equal(sf_checkout_place(f->db, f->kr, cfx_rules(), &rq, &id, NULL), SF_ERR_ADDRESS);
	rq = cfx_req(&o, "hostile-key-1");
	rq.email = "not-an-email";
	assert_int_equal(sf_checkout_place(f->db, f->kr, cfx_rules(), &rq, &id, NULL), SF_ERR_ADDRESS);
	/* addresses the mail outbox would refuse: the order could not be paid */
	static const char *const unmailable[] = {"a,b@example.org", "x<y@example.org", "\"q\"@example.org",
						  "a@b@example.org", "a\\b@example.org", "a@example.org>"};
	for (size_t i = 0; i < SF_ARRAY_LEN(unmailable); i++) {
		rq = cfx_req(&o, "hostile-key-1");
		rq.email = unmailable[i];
		assert_int_equal(sf_checkout_place(f->db, f->kr, cfx_rules(), &rq, &id, NULL), SF_ERR_ADDRESS);
	}
	rq = cfx_req(&o, "hostile-key-1");
	rq.shipping_method = "teleport";
	assert_int_equal(sf_checkout_place(f->db, f->kr, cfx_rules(), &rq, &id, NULL), SF_ERR_SHIPPING_METHOD);
	rq = cfx_req(&o, "hostile-key-1");
	rq.coupon = "NOSUCHCODE";
	assert_int_equal(sf_checkout_place(f->db, f->kr, cfx_rules(), &rq, &id, NULL), SF_ERR_COUPON_INVALID);
	/* nothing half-written */
	assert_int_equal(cfx_int(f, "SELECT count(*) FROM orders"), 0);
	assert_int_equal(cfx_stock(f, "BOOK"), 100);
	assert_int_equal(shop_fx_audit_count(f), audits);
	/* an empty cart */
	struct sf_cart_owner empty;
	cfx_guest(&empty);
	rq = cfx_req(&empty, "hostile-key-2");
	assert_int_equal(sf_checkout_place(f->db, f->kr, cfx_rules(), &rq, &id, NULL), SF_ERR_CART_EMPTY);
}

/* Out of stock in the second line rolls the first line's reservation back. */
static void t_all_or_nothing(void **state)
{
	struct shop_fx *f = *state;
	struct sf_cart_owner a, b;
	int64_t id = 0;
	cfx_guest(&a);
	cfx_guest(&b);
	assert_int_equal(sf_cart_add(f->db, &a, cfx_rules(), 0, "TEE-S", 2), SF_OK);
	assert_int_equal(sf_cart_add(f->db, &a, cfx_rules(), 0, "LAST", 5), SF_OK);
	assert_int_equal(cfx_buy(f, &b, "LAST", 8, "first-buyer-1", &id), SF_OK);
	struct sf_checkout_req rq = cfx_req(&a, "second-buyer-1");
	assert_int_equal(sf_checkout_place(f->db, f->kr, cfx_rules(), &rq, &id, NULL), SF_ERR_OUT_OF_STOCK);
	assert_int_equal(cfx_stock(f, "TEE-S"), 50);
	assert_int_equal(cfx_stock(f, "LAST"), 2);
	assert_int_equal(cfx_int(f, "SELECT count(*) FROM orders"), 1);
	assert_int_equal(cfx_int(f, "SELECT count(*) FROM cart_items"), 2); /* a's cart is kept */
}

/* ==== 64 buyers, 10 units ==== */

#define BUYERS 64

struct buyer {
	struct shop_fx *f;
	struct sf_cart_owner o;
	pthread_barrier_t *go;
	enum sf_err err;
	int64_t id;
};

static void *buy_one(void *arg)
{
	struct buyer *b = arg;
	char key[32];
	snprintf(key, sizeof key, "race-%p", (void *)b);
	pthread_barrier_wait(b->go);
	struct sf_checkout_req rq = cfx_req(&b->o, key);
	b->err = sf_checkout_place(b->f->db, b->f->kr, cfx_rules(), &rq, &b->id, NULL);
	return NULL;
}

static void t_race_last_ten(void **state)
{
	struct shop_fx *f = *state;
	static struct buyer b[BUYERS];
	pthread_t th[BUYERS];
	pthread_barrier_t go;
	pthread_barrier_init(&go, NULL, BUYERS);
	/* every buyer holds one unit in the cart (stock was 10 when they added) */
	for (int i = 0; i < BUYERS; i++) {
		memset(&b[i], 0, sizeof b[i]);
		b[i].f = f;
		b[i].go = &go;
		cfx_guest(&b[i].o);
		assert_int_equal(sf_cart_add(f->db, &b[i].o, cfx_rules(), 0, "LAST", 1), SF_OK);
	}
	for (int i = 0; i < BUYERS; i++)
		assert_int_equal(pthread_create(&th[i], NULL, buy_one, &b[i]), 0);
	int ok = 0, out = 0;
	for (int i = 0; i < BUYERS; i++) {
		pthread_join(th[i], NULL);
		if (b[i].err == SF_OK)
			ok++;
		else if (b[i].err == SF_ERR_OUT_OF_STOCK)
			out++;
		else
			fail_msg("buyer %d: %s", i, sf_err_code(b[i].err));
	}
	pthread_barrier_destroy(&go);
	assert_int_equal(ok, 10);
	assert_int_equal(out, BUYERS - 10);
	assert_int_equal(cfx_stock(f, "LAST"), 0);
	assert_int_equal(cfx_int(f, "SELECT count(*) FROM orders"), 10);
	assert_int_equal(cfx_int(f, "SELECT coalesce(sum(quantity), 0) FROM order_lines"), 10);
	assert_int_equal(cfx_int(f, "SELECT min(stock) FROM variants"), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(t_round),
		cmocka_unit_test(t_money_json),
		cmocka_unit_test(t_money_parse),
		cmocka_unit_test(t_allocate),
		cmocka_unit_test(t_tax),
		cmocka_unit_test(t_shipping),
		cmocka_unit_test(t_quote_inclusive),
		cmocka_unit_test(t_quote_exclusive_coupon),
		cmocka_unit_test(t_quote_shipping_taxed),
		cmocka_unit_test(t_quote_limits),
		cmocka_unit_test(t_validate_chars),
		cmocka_unit_test(t_fingerprint_pure),
		cmocka_unit_test_setup_teardown(t_review_fingerprint, commerce_fx_setup, commerce_fx_teardown),
		cmocka_unit_test_setup_teardown(t_expected_total, commerce_fx_setup, commerce_fx_teardown),
		cmocka_unit_test_setup_teardown(t_place, commerce_fx_setup, commerce_fx_teardown),
		cmocka_unit_test_setup_teardown(t_idempotency, commerce_fx_setup, commerce_fx_teardown),
		cmocka_unit_test_setup_teardown(t_place_view, commerce_fx_setup, commerce_fx_teardown),
		cmocka_unit_test_setup_teardown(t_long_ship_name, commerce_fx_setup, commerce_fx_teardown),
		cmocka_unit_test_setup_teardown(t_long_names, commerce_fx_setup, commerce_fx_teardown),
		cmocka_unit_test_setup_teardown(t_hostile, commerce_fx_setup, commerce_fx_teardown),
		cmocka_unit_test_setup_teardown(t_all_or_nothing, commerce_fx_setup, commerce_fx_teardown),
		cmocka_unit_test_setup_teardown(t_race_last_ten, commerce_fx_setup, commerce_fx_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
