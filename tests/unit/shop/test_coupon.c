/* test_coupon.c — coupon codes, discount arithmetic, validity rules, and
 * usage limits under concurrency (a limit of N gives exactly N uses). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "commerce_fx.h"
#include "db/db.h"

static void t_normalize(void **state)
{
	(void)state;
	char out[SF_COUPON_CODE_MAX + 1];
	assert_int_equal(sf_coupon_normalize("  spring-10 ", out), SF_OK);
	assert_string_equal(out, "SPRING-10");
	assert_int_equal(sf_coupon_normalize("ab", out), SF_ERR_COUPON_INVALID);
	assert_int_equal(sf_coupon_normalize("semi;colon", out), SF_ERR_COUPON_INVALID);
	assert_int_equal(sf_coupon_normalize("caf\xc3\xa9", out), SF_ERR_COUPON_INVALID);
	assert_int_equal(sf_coupon_normalize("A23456789012345678901234567890123", out), SF_ERR_COUPON_INVALID);
	assert_int_equal(sf_coupon_normalize(NULL, out), SF_ERR_COUPON_INVALID);
}

static void t_discount(void **state)
{
	(void)state;
	struct sf_coupon p = {.kind = SF_COUPON_PERCENT, .value = 1500, .active = 1};
	assert_int_equal(sf_coupon_discount(&p, 1000), 150);
	assert_int_equal(sf_coupon_discount(&p, 1010), 152); /* 151.5 -> 152 */
	assert_int_equal(sf_coupon_discount(&p, 1), 0);      /* 0.15 */
	assert_int_equal(sf_coupon_discount(&p, 4), 1);      /* 0.6 */
	p.value = 10000;
	assert_int_equal(sf_coupon_discount(&p, 777), 777);
	struct sf_coupon x = {.kind = SF_COUPON_FIXED, .value = 500, .active = 1};
	assert_int_equal(sf_coupon_discount(&x, 2000), 500);
	assert_int_equal(sf_coupon_discount(&x, 300), 300);
	assert_int_equal(sf_coupon_discount(NULL, 300), 0);
}

static void t_check(void **state)
{
	(void)state;
	struct sf_coupon c = {.kind = SF_COUPON_FIXED, .value = 500, .currency = "EUR", .min_order = 2000,
			      .starts_at = 1000, .ends_at = 2000, .max_uses = 3, .uses = 2, .active = 1};
	assert_int_equal(sf_coupon_check(&c, 2000, "EUR", 1500, 0), SF_OK);
	assert_int_equal(sf_coupon_check(&c, 1999, "EUR", 1500, 0), SF_ERR_COUPON_MIN_ORDER);
	assert_int_equal(sf_coupon_check(&c, 2000, "USD", 1500, 0), SF_ERR_COUPON_INVALID);
	assert_int_equal(sf_coupon_check(&c, 2000, "EUR", 999, 0), SF_ERR_COUPON_EXPIRED);
	assert_int_equal(sf_coupon_check(&c, 2000, "EUR", 2000, 0), SF_ERR_COUPON_EXPIRED); /* end exclusive */
	c.uses = 3;
	assert_int_equal(sf_coupon_check(&c, 2000, "EUR", 1500, 0), SF_ERR_COUPON_USED_UP);
	c.uses = 0;
	c.max_per_customer = 1;
	assert_int_equal(sf_coupon_check(&c, 2000, "EUR", 1500, 0), SF_ERR_COUPON_LOGIN);
	assert_int_equal(sf_coupon_check(&c, 2000, "EUR", 1500, 5), SF_OK);
	c.active = 0;
	assert_int_equal(sf_coupon_check(&c, 2000, "EUR", 1500, 5), SF_ERR_COUPON_INVALID);
}

static int64_t make(struct shop_fx *f, const char *code, enum sf_coupon_kind kind, int64_t value, int64_t max_uses,
		    int64_t per_customer)
{
	struct sf_coupon c;
	int64_t id = 0;
	memset(&c, 0, sizeof c);
	snprintf(c.code, sizeof c.code, "%s", code);
	c.kind = kind;
	c.value = value;
	c.max_uses = max_uses;
	c.max_per_customer = per_customer;
	struct sf_shop_actor staff = {.type = "staff", .id = "1"};
	assert_int_equal(sf_coupon_create(f->db, f->kr, &c, &staff, &id), SF_OK);
	return id;
}

static void t_create_and_apply(void **state)
{
	struct shop_fx *f = *state;
	struct sf_cart_owner o;
	int64_t id = 0;
	int64_t audits = shop_fx_audit_count(f);
	make(f, "save10", SF_COUPON_PERCENT, 1000, 0, 0);
	assert_int_equal(shop_fx_audit_count(f), audits + 1);
	/* bad specs */
	struct sf_coupon bad = {.code = "BAD-1", .kind = SF_COUPON_PERCENT, .value = 10001};
	assert_int_equal(sf_coupon_create(f->db, f->kr, &bad, NULL, NULL), SF_ERR_INVALID);
	bad.value = 0;
	assert_int_equal(sf_coupon_create(f->db, f->kr, &bad, NULL, NULL), SF_ERR_INVALID);
	struct sf_coupon card = {.code = "4111-1111-1111-1111", .kind = SF_COUPON_PERCENT, .value = 1000};
	assert_int_equal(sf_coupon_create(f->db, f->kr, &card, NULL, NULL), SF_ERR_CARD_DATA);
	struct sf_coupon dup = {.code = "Save10", .kind = SF_COUPON_FIXED, .value = 100};
	assert_int_equal(sf_coupon_create(f->db, f->kr, &dup, NULL, NULL), SF_ERR_DB_CONSTRAINT);
	/* through the cart: 3 x 19.99 + 5.50 = 65.47, 10 % = 6.55 */
	cfx_guest(&o);
	assert_int_equal(sf_cart_set_coupon(f->db, &o, cfx_rules(), "save10"), SF_ERR_CART_EMPTY);
	assert_int_equal(sf_cart_add(f->db, &o, cfx_rules(), 0, "TEE-S", 3), SF_OK);
	assert_int_equal(sf_cart_add(f->db, &o, cfx_rules(), 0, "BOOK", 1), SF_OK);
	assert_int_equal(sf_cart_set_coupon(f->db, &o, cfx_rules(), "nope-nope"), SF_ERR_COUPON_INVALID);
	assert_int_equal(sf_cart_set_coupon(f->db, &o, cfx_rules(), " save10 "), SF_OK);
	json_t *cart = NULL;
	assert_int_equal(sf_cart_view(f->db, &o, cfx_rules(), &cart), SF_OK);
	assert_string_equal(json_string_value(json_object_get(cart, "coupon")), "SAVE10");
	assert_int_equal(json_integer_value(json_object_get(
				 json_object_get(json_object_get(cart, "totals"), "discount"), "amount")),
			 655);
	json_decref(cart);
	struct sf_checkout_req rq = cfx_req(&o, "coupon-key-01");
	assert_int_equal(sf_checkout_place(f->db, f->kr, cfx_rules(), &rq, &id, NULL), SF_OK);
	/* inclusive prices: goods 58.92 >= 50 -> free shipping */
	assert_int_equal(cfx_int(f, "SELECT total_minor FROM orders"), 5892);
	assert_int_equal(cfx_int(f, "SELECT discount_minor FROM orders"), 655);
	assert_int_equal(cfx_int(f, "SELECT uses FROM coupons WHERE code = 'SAVE10'"), 1);
	assert_int_equal(cfx_int(f, "SELECT sum(discount_minor) FROM order_lines"), 655);
	/* cancelling gives the use back */
	assert_int_equal(cfx_int(f, "SELECT count(*) FROM coupon_uses"), 1);
	sf_shop_clock_offset(3600);
	int n = 0;
	assert_int_equal(sf_order_expire_due(f->db, f->kr, &n), SF_OK);
	assert_int_equal(n, 1);
	assert_int_equal(cfx_int(f, "SELECT uses FROM coupons WHERE code = 'SAVE10'"), 0);
	assert_int_equal(cfx_int(f, "SELECT count(*) FROM coupon_uses"), 0);
}

static void t_window(void **state)
{
	struct shop_fx *f = *state;
	struct sf_cart_owner o;
	make(f, "LATER", SF_COUPON_FIXED, 100, 0, 0);
	cfx_sql(f, "UPDATE coupons SET starts_at = strftime('%s','now') + 86400 WHERE code = 'LATER'");
	make(f, "MIN100", SF_COUPON_FIXED, 100, 0, 0);
	cfx_sql(f, "UPDATE coupons SET min_order_minor = 10000 WHERE code = 'MIN100'");
	make(f, "ONCEEACH", SF_COUPON_FIXED, 100, 0, 1);
	cfx_guest(&o);
	assert_int_equal(sf_cart_add(f->db, &o, cfx_rules(), 0, "BOOK", 1), SF_OK);
	assert_int_equal(sf_cart_set_coupon(f->db, &o, cfx_rules(), "LATER"), SF_ERR_COUPON_EXPIRED);
	assert_int_equal(sf_cart_set_coupon(f->db, &o, cfx_rules(), "MIN100"), SF_ERR_COUPON_MIN_ORDER);
	assert_int_equal(sf_cart_set_coupon(f->db, &o, cfx_rules(), "ONCEEACH"), SF_ERR_COUPON_LOGIN);
	/* a customer uses it once, not twice */
	struct sf_cart_owner c;
	int64_t id = 0;
	sf_cart_owner_customer(77, &c);
	assert_int_equal(sf_cart_add(f->db, &c, cfx_rules(), 0, "BOOK", 1), SF_OK);
	assert_int_equal(sf_cart_set_coupon(f->db, &c, cfx_rules(), "ONCEEACH"), SF_OK);
	struct sf_checkout_req rq = cfx_req(&c, "once-each-01");
	assert_int_equal(sf_checkout_place(f->db, f->kr, cfx_rules(), &rq, &id, NULL), SF_OK);
	assert_int_equal(sf_cart_add(f->db, &c, cfx_rules(), 0, "BOOK", 1), SF_OK);
	rq = cfx_req(&c, "once-each-02");
	rq.coupon = "ONCEEACH";
	assert_int_equal(sf_checkout_place(f->db, f->kr, cfx_rules(), &rq, &id, NULL), SF_ERR_COUPON_USED_UP);
	assert_int_equal(cfx_int(f, "SELECT count(*) FROM orders"), 1);
	/* removing the coupon from the cart */
	assert_int_equal(sf_cart_set_coupon(f->db, &c, cfx_rules(), ""), SF_OK);
	assert_int_equal(cfx_int(f, "SELECT count(*) FROM carts WHERE coupon_code IS NOT NULL"), 0);
}

#define SHOPPERS 32
#define LIMIT 5

struct shopper {
	struct shop_fx *f;
	struct sf_cart_owner o;
	pthread_barrier_t *go;
	enum sf_err err;
};

static void *use_coupon(void *arg)
{
	struct shopper *s = arg;
	char key[32];
	int64_t id = 0;
	snprintf(key, sizeof key, "limit-%p", (void *)s);
	pthread_barrier_wait(s->go);
	struct sf_checkout_req rq = cfx_req(&s->o, key);
	rq.coupon = "limited";
	s->err = sf_checkout_place(s->f->db, s->f->kr, cfx_rules(), &rq, &id, NULL);
	return NULL;
}

static void t_limit_concurrent(void **state)
{
	struct shop_fx *f = *state;
	static struct shopper s[SHOPPERS];
	pthread_t th[SHOPPERS];
	pthread_barrier_t go;
	make(f, "LIMITED", SF_COUPON_PERCENT, 500, LIMIT, 0);
	pthread_barrier_init(&go, NULL, SHOPPERS);
	for (int i = 0; i < SHOPPERS; i++) {
		s[i] = (struct shopper){.f = f, .go = &go};
		cfx_guest(&s[i].o);
		assert_int_equal(sf_cart_add(f->db, &s[i].o, cfx_rules(), 0, "BOOK", 1), SF_OK);
	}
	for (int i = 0; i < SHOPPERS; i++)
		assert_int_equal(pthread_create(&th[i], NULL, use_coupon, &s[i]), 0);
	int ok = 0;
	for (int i = 0; i < SHOPPERS; i++) {
		pthread_join(th[i], NULL);
		if (s[i].err == SF_OK)
			ok++;
		else if (s[i].err != SF_ERR_COUPON_USED_UP)
			fail_msg("shopper %d: %s", i, sf_err_code(s[i].err));
	}
	pthread_barrier_destroy(&go);
	assert_int_equal(ok, LIMIT);
	assert_int_equal(cfx_int(f, "SELECT uses FROM coupons WHERE code = 'LIMITED'"), LIMIT);
	assert_int_equal(cfx_int(f, "SELECT count(*) FROM coupon_uses"), LIMIT);
	assert_int_equal(cfx_int(f, "SELECT count(*) FROM orders"), LIMIT);
	assert_int_equal(cfx_stock(f, "BOOK"), 100 - LIMIT); /* losers reserved nothing */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(t_normalize),
		cmocka_unit_test(t_discount),
		cmocka_unit_test(t_check),
		cmocka_unit_test_setup_teardown(t_create_and_apply, commerce_fx_setup, commerce_fx_teardown),
		cmocka_unit_test_setup_teardown(t_window, commerce_fx_setup, commerce_fx_teardown),
		cmocka_unit_test_setup_teardown(t_limit_concurrent, commerce_fx_setup, commerce_fx_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
