/* test_cart.c — guest and customer carts: tokens, quantities against
 * stock and limits, prices from the server, merge at login. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "commerce_fx.h"
#include "db/db.h"
#include "shop/money.h"

static json_t *view(struct shop_fx *f, const struct sf_cart_owner *o)
{
	json_t *cart = NULL;
	assert_int_equal(sf_cart_view(f->db, o, cfx_rules(), &cart), SF_OK);
	return cart;
}

static int64_t amount(json_t *cart, const char *total)
{
	return json_integer_value(json_object_get(json_object_get(json_object_get(cart, "totals"), total), "amount"));
}

static json_t *item(json_t *cart, size_t i)
{
	return json_array_get(json_object_get(cart, "items"), i);
}

static void t_tokens(void **state)
{
	(void)state;
	char a[SF_CART_TOKEN_LEN + 1], b[SF_CART_TOKEN_LEN + 1];
	struct sf_cart_owner o;
	sf_cart_token_new(a);
	sf_cart_token_new(b);
	assert_int_equal(strlen(a), SF_CART_TOKEN_LEN);
	assert_string_not_equal(a, b);
	assert_int_equal(sf_cart_owner_guest(a, &o), SF_OK);
	assert_true(o.has_guest);
	unsigned char h[SF_CART_HASH_LEN];
	sf_cart_token_hash(a, h);
	assert_memory_equal(h, o.guest_hash, SF_CART_HASH_LEN);
	assert_int_equal(sf_cart_owner_guest("short", &o), SF_ERR_INVALID);
	assert_int_equal(sf_cart_owner_guest(NULL, &o), SF_ERR_INVALID);
	b[3] = ';';
	assert_int_equal(sf_cart_owner_guest(b, &o), SF_ERR_INVALID);
}

static void t_add_and_view(void **state)
{
	struct shop_fx *f = *state;
	struct sf_cart_owner o;
	cfx_guest(&o);
	json_t *cart = view(f, &o); /* no cart yet: empty */
	assert_false(json_is_true(json_object_get(cart, "has_items")));
	json_decref(cart);
	assert_int_equal(sf_cart_add(f->db, &o, cfx_rules(), 0, "TEE-S", 2), SF_OK);
	assert_int_equal(sf_cart_add(f->db, &o, cfx_rules(), cfx_variant_id(f, "TEE-S"), NULL, 1), SF_OK);
	assert_int_equal(sf_cart_add(f->db, &o, cfx_rules(), 0, "BOOK", 1), SF_OK);
	cart = view(f, &o);
	assert_int_equal(json_array_size(json_object_get(cart, "items")), 2);
	assert_int_equal(json_integer_value(json_object_get(item(cart, 0), "quantity")), 3);
	assert_int_equal(json_integer_value(json_object_get(cart, "count")), 4);
	assert_int_equal(amount(cart, "subtotal"), 3 * 1999 + 550);
	assert_int_equal(amount(cart, "tax"), 1029);
	assert_int_equal(json_array_size(json_object_get(cart, "shipping_methods")), 3);
	json_decref(cart);
	/* the price always comes from the variants table */
	cfx_sql(f, "UPDATE variants SET price_minor = 2500 WHERE sku = 'TEE-S'");
	cart = view(f, &o);
	assert_int_equal(amount(cart, "subtotal"), 3 * 2500 + 550);
	/* what a line may hold, never the exact stock above the line maximum */
	assert_int_equal(json_integer_value(json_object_get(item(cart, 0), "available")), cfx_rules()->max_line_qty);
	assert_int_equal(json_integer_value(json_object_get(item(cart, 1), "available")), cfx_rules()->max_line_qty);
	json_decref(cart);
	cfx_sql(f, "UPDATE variants SET stock = 4 WHERE sku = 'TEE-S'");
	cfx_sql(f, "UPDATE variants SET stock = 0 WHERE sku = 'BOOK'");
	cart = view(f, &o);
	assert_int_equal(json_integer_value(json_object_get(item(cart, 0), "available")), 4);
	assert_int_equal(json_integer_value(json_object_get(item(cart, 1), "available")), 0);
	json_decref(cart);
}

/* sf_cart_add_view's cart, read inside the adding transaction, is the cart
 * sf_cart_view reads after it; on a refused add there is none and nothing
 * changed. */
static void t_add_view(void **state)
{
	struct shop_fx *f = *state;
	struct sf_cart_owner o;
	json_t *got = NULL, *want = NULL;
	cfx_guest(&o);
	assert_int_equal(sf_cart_add_view(f->db, &o, cfx_rules(), 0, "TEE-S", 2, &got), SF_OK);
	want = view(f, &o);
	assert_true(json_equal(got, want));
	assert_int_equal(json_integer_value(json_object_get(got, "count")), 2);
	json_decref(got);
	json_decref(want);
	assert_int_equal(sf_cart_add_view(f->db, &o, cfx_rules(), 0, "BOOK", 1, &got), SF_OK);
	want = view(f, &o);
	assert_true(json_equal(got, want));
	assert_int_equal(json_array_size(json_object_get(got, "items")), 2);
	assert_int_equal(amount(got, "subtotal"), 2 * 1999 + 550);
	json_decref(got);
	json_decref(want);
	got = json_object(); /* overwritten on error too */
	json_t *keep = got;
	assert_int_equal(sf_cart_add_view(f->db, &o, cfx_rules(), 0, "LAST", 11, &got), SF_ERR_OUT_OF_STOCK);
	assert_null(got);
	json_decref(keep);
	assert_int_equal(sf_cart_add_view(f->db, &o, cfx_rules(), 0, "NOPE", 1, &got), SF_ERR_NOT_FOUND);
	assert_null(got);
	want = view(f, &o);
	assert_int_equal(json_integer_value(json_object_get(want, "count")), 3);
	json_decref(want);
}

static void t_limits(void **state)
{
	struct shop_fx *f = *state;
	struct sf_cart_owner o;
	cfx_guest(&o);
	assert_int_equal(sf_cart_add(f->db, &o, cfx_rules(), 0, "TEE-S", 0), SF_ERR_QUANTITY);
	assert_int_equal(sf_cart_add(f->db, &o, cfx_rules(), 0, "TEE-S", -3), SF_ERR_QUANTITY);
	assert_int_equal(sf_cart_add(f->db, &o, cfx_rules(), 0, "TEE-S", 21), SF_ERR_QUANTITY);
	assert_int_equal(sf_cart_add(f->db, &o, cfx_rules(), 0, "TEE-S", INT64_MAX), SF_ERR_QUANTITY);
	assert_int_equal(sf_cart_add(f->db, &o, cfx_rules(), 0, "LAST", 11), SF_ERR_OUT_OF_STOCK);
	assert_int_equal(sf_cart_add(f->db, &o, cfx_rules(), 0, "NOPE", 1), SF_ERR_NOT_FOUND);
	assert_int_equal(sf_cart_add(f->db, &o, cfx_rules(), 999999, NULL, 1), SF_ERR_NOT_FOUND);
	assert_int_equal(sf_cart_add(f->db, &o, cfx_rules(), 0, "TEE-S", 20), SF_OK);
	assert_int_equal(sf_cart_add(f->db, &o, cfx_rules(), 0, "TEE-S", 1), SF_ERR_QUANTITY); /* 21 */
	assert_int_equal(sf_cart_add(f->db, &o, cfx_rules(), 0, "USD-1", 1), SF_ERR_CURRENCY_MIX);
	/* an archived product is not for sale */
	cfx_sql(f, "UPDATE products SET status = 'archived' WHERE slug = 'book'");
	assert_int_equal(sf_cart_add(f->db, &o, cfx_rules(), 0, "BOOK", 1), SF_ERR_NOT_FOUND);
	/* lines per cart */
	struct sf_shop_rules two = *cfx_rules();
	two.max_lines = 1;
	assert_int_equal(sf_cart_add(f->db, &o, &two, 0, "TEE-L", 1), SF_ERR_CART_FULL);
	assert_int_equal(cfx_int(f, "SELECT count(*) FROM cart_items"), 1);
}

static void t_update_remove(void **state)
{
	struct shop_fx *f = *state;
	struct sf_cart_owner o, other;
	cfx_guest(&o);
	cfx_guest(&other);
	assert_int_equal(sf_cart_add(f->db, &o, cfx_rules(), 0, "LAST", 2), SF_OK);
	assert_int_equal(sf_cart_add(f->db, &other, cfx_rules(), 0, "BOOK", 1), SF_OK);
	json_t *cart = view(f, &o);
	int64_t id = json_integer_value(json_object_get(item(cart, 0), "id"));
	json_decref(cart);
	cart = view(f, &other);
	int64_t other_id = json_integer_value(json_object_get(item(cart, 0), "id"));
	json_decref(cart);
	assert_int_equal(sf_cart_set_quantity(f->db, &o, cfx_rules(), id, 10), SF_OK);
	assert_int_equal(sf_cart_set_quantity(f->db, &o, cfx_rules(), id, 11), SF_ERR_OUT_OF_STOCK);
	assert_int_equal(sf_cart_set_quantity(f->db, &o, cfx_rules(), id, -1), SF_ERR_QUANTITY);
	/* someone else's line is not found */
	assert_int_equal(sf_cart_set_quantity(f->db, &o, cfx_rules(), other_id, 1), SF_ERR_NOT_FOUND);
	assert_int_equal(sf_cart_remove(f->db, &o, other_id), SF_ERR_NOT_FOUND);
	assert_int_equal(sf_cart_remove(f->db, &o, 0), SF_ERR_NOT_FOUND);
	assert_int_equal(cfx_int(f, "SELECT count(*) FROM cart_items"), 2);
	assert_int_equal(sf_cart_set_quantity(f->db, &o, cfx_rules(), id, 0), SF_OK);
	assert_int_equal(cfx_int(f, "SELECT count(*) FROM cart_items"), 1);
	assert_int_equal(sf_cart_clear(f->db, &other), SF_OK);
	assert_int_equal(cfx_int(f, "SELECT count(*) FROM cart_items"), 0);
}

static void t_merge(void **state)
{
	struct shop_fx *f = *state;
	char tok[SF_CART_TOKEN_LEN + 1];
	struct sf_cart_owner g, c;
	sf_cart_token_new(tok);
	assert_int_equal(sf_cart_owner_guest(tok, &g), SF_OK);
	sf_cart_owner_customer(5, &c);
	assert_int_equal(sf_cart_add(f->db, &g, cfx_rules(), 0, "TEE-S", 15), SF_OK);
	assert_int_equal(sf_cart_add(f->db, &g, cfx_rules(), 0, "LAST", 4), SF_OK);
	assert_int_equal(sf_cart_add(f->db, &c, cfx_rules(), 0, "TEE-S", 10), SF_OK);
	struct sf_coupon cp = {.code = "WELCOME", .kind = SF_COUPON_FIXED, .value = 100};
	assert_int_equal(sf_coupon_create(f->db, f->kr, &cp, NULL, NULL), SF_OK);
	assert_int_equal(sf_cart_set_coupon(f->db, &g, cfx_rules(), "welcome"), SF_OK);
	assert_int_equal(sf_cart_merge(f->db, cfx_rules(), tok, 5), SF_OK);
	json_t *cart = view(f, &c);
	assert_int_equal(json_array_size(json_object_get(cart, "items")), 2);
	assert_int_equal(json_integer_value(json_object_get(item(cart, 0), "quantity")), 20); /* capped */
	assert_int_equal(json_integer_value(json_object_get(item(cart, 1), "quantity")), 4);
	assert_string_equal(json_string_value(json_object_get(cart, "coupon")), "WELCOME");
	json_decref(cart);
	assert_int_equal(cfx_int(f, "SELECT count(*) FROM carts"), 1); /* the guest cart is gone */
	/* again, or with junk: nothing to do */
	assert_int_equal(sf_cart_merge(f->db, cfx_rules(), tok, 5), SF_OK);
	assert_int_equal(sf_cart_merge(f->db, cfx_rules(), "junk", 5), SF_OK);
	assert_int_equal(sf_cart_merge(f->db, cfx_rules(), NULL, 5), SF_OK);
	assert_int_equal(sf_cart_merge(f->db, cfx_rules(), tok, 0), SF_ERR_INVALID);
	/* into a customer without a cart */
	sf_cart_token_new(tok);
	assert_int_equal(sf_cart_owner_guest(tok, &g), SF_OK);
	assert_int_equal(sf_cart_add(f->db, &g, cfx_rules(), 0, "BOOK", 2), SF_OK);
	assert_int_equal(sf_cart_merge(f->db, cfx_rules(), tok, 6), SF_OK);
	sf_cart_owner_customer(6, &c);
	cart = view(f, &c);
	assert_int_equal(json_integer_value(json_object_get(cart, "count")), 2);
	json_decref(cart);
}

/* Housekeeping: a guest cart untouched past its cookie's lifetime goes with
 * its lines; a younger one and a customer's cart of any age stay; the
 * delete re-checks the age under the write lock (a cart touched between
 * the listing and the delete stays). */
static void t_prune(void **state)
{
	struct shop_fx *f = *state;
	struct sf_cart_owner old, young, cust;
	cfx_guest(&old);
	cfx_guest(&young);
	sf_cart_owner_customer(7, &cust);
	assert_int_equal(sf_cart_add(f->db, &old, cfx_rules(), 0, "BOOK", 1), SF_OK);
	assert_int_equal(sf_cart_add(f->db, &young, cfx_rules(), 0, "BOOK", 1), SF_OK);
	assert_int_equal(sf_cart_add(f->db, &cust, cfx_rules(), 0, "BOOK", 1), SF_OK);
	int64_t now = sf_shop_now();
	char sql[160];
	snprintf(sql, sizeof sql, "UPDATE carts SET updated_at = %" PRId64 " WHERE customer_id IS NOT NULL",
		 now - 3 * (int64_t)SF_CART_COOKIE_MAX_AGE);
	cfx_sql(f, sql);
	snprintf(sql, sizeof sql, "UPDATE carts SET updated_at = %" PRId64 " WHERE id = (SELECT min(id) FROM carts)",
		 now - SF_CART_COOKIE_MAX_AGE - 1);
	cfx_sql(f, sql);
	int64_t young_id = cfx_int(f, "SELECT max(id) FROM carts WHERE customer_id IS NULL");
	int64_t n = -1;
	assert_int_equal(sf_cart_prune(f->db, now, SF_DB_PRUNE_MAX, &n), SF_OK);
	assert_int_equal(n, 1);
	assert_int_equal(cfx_int(f, "SELECT count(*) FROM carts"), 2);
	assert_int_equal(cfx_int(f, "SELECT count(*) FROM cart_items"), 2);
	json_t *cart = view(f, &young);
	assert_int_equal(json_integer_value(json_object_get(cart, "count")), 1);
	json_decref(cart);
	/* listed as old, touched since: the delete keeps it; a customer's cart never goes */
	char list[64];
	snprintf(list, sizeof list, "[%" PRId64 ",%" PRId64 "]", young_id,
		 cfx_int(f, "SELECT id FROM carts WHERE customer_id IS NOT NULL"));
	struct sf_db_param p[] = {SF_DB_TEXT(list), SF_DB_INT(now - SF_CART_COOKIE_MAX_AGE)};
	int64_t changes = -1;
	assert_true(sf_db_exec(sf_db_conn_get(f->db), SF_STMT_CART_DROP, p, 2, &changes) >= 0);
	assert_int_equal(changes, 0);
	assert_int_equal(sf_cart_prune(f->db, now, SF_DB_PRUNE_MAX, &n), SF_OK);
	assert_int_equal(n, 0);
}

/* A fresh guest cart holding qty of sku; its token in tok. */
static void guest_with(struct shop_fx *f, char tok[SF_CART_TOKEN_LEN + 1], const char *sku, int64_t qty)
{
	struct sf_cart_owner g;
	sf_cart_token_new(tok);
	assert_int_equal(sf_cart_owner_guest(tok, &g), SF_OK);
	assert_int_equal(sf_cart_add(f->db, &g, cfx_rules(), 0, sku, qty), SF_OK);
}

/* The merge obeys the configured [shop] limits, not the built-in ones: a
 * smaller line maximum caps the sum, a larger one is not cut to 20, and
 * the configured number of lines holds. */
static void t_merge_rules(void **state)
{
	struct shop_fx *f = *state;
	char tok[SF_CART_TOKEN_LEN + 1];
	struct sf_cart_owner c;
	struct sf_shop_rules three = *cfx_rules(), thirty = *cfx_rules(), one_line = *cfx_rules();
	three.max_line_qty = 3;
	thirty.max_line_qty = 30;
	one_line.max_lines = 1;

	sf_cart_owner_customer(7, &c);
	assert_int_equal(sf_cart_add(f->db, &c, &three, 0, "TEE-S", 3), SF_OK);
	guest_with(f, tok, "TEE-S", 3);
	assert_int_equal(sf_cart_merge(f->db, &three, tok, 7), SF_OK);
	json_t *cart = view(f, &c);
	assert_int_equal(json_integer_value(json_object_get(item(cart, 0), "quantity")), 3);
	json_decref(cart);

	sf_cart_owner_customer(8, &c);
	assert_int_equal(sf_cart_add(f->db, &c, &thirty, 0, "TEE-S", 15), SF_OK);
	guest_with(f, tok, "TEE-S", 10);
	assert_int_equal(sf_cart_merge(f->db, &thirty, tok, 8), SF_OK);
	cart = view(f, &c);
	assert_int_equal(json_integer_value(json_object_get(item(cart, 0), "quantity")), 25);
	json_decref(cart);

	sf_cart_owner_customer(9, &c);
	assert_int_equal(sf_cart_add(f->db, &c, cfx_rules(), 0, "TEE-S", 1), SF_OK);
	guest_with(f, tok, "BOOK", 1);
	assert_int_equal(sf_cart_merge(f->db, &one_line, tok, 9), SF_OK);
	cart = view(f, &c);
	assert_int_equal(json_array_size(json_object_get(cart, "items")), 1);
	json_decref(cart);
}

static int64_t qty_of(json_t *cart, size_t i)
{
	return json_integer_value(json_object_get(item(cart, i), "quantity"));
}

/* The money cap (SF_MONEY_MAX = 10^9): a change that would take the cart
 * above it is refused and writes nothing; a cart that got there anyway (a
 * price raised since) is still shown, flagged, with its lines, and may be
 * lowered line by line until it fits again. */
static void t_money_cap(void **state)
{
	struct shop_fx *f = *state;
	struct sf_cart_owner o;
	json_t *cart = NULL;
	cfx_guest(&o);
	cfx_sql(f, "UPDATE variants SET price_minor = 600000000 WHERE sku = 'TEE-S'");
	assert_int_equal(sf_cart_add(f->db, &o, cfx_rules(), 0, "TEE-S", 2), SF_ERR_TOO_LARGE);
	assert_int_equal(cfx_int(f, "SELECT count(*) FROM cart_items"), 0);
	assert_int_equal(cfx_int(f, "SELECT count(*) FROM carts"), 0); /* not even the cart */
	assert_int_equal(sf_cart_add(f->db, &o, cfx_rules(), 0, "TEE-S", 1), SF_OK);
	assert_int_equal(sf_cart_add_view(f->db, &o, cfx_rules(), 0, "TEE-S", 1, &cart), SF_ERR_TOO_LARGE);
	assert_null(cart);
	assert_int_equal(sf_cart_add(f->db, &o, cfx_rules(), 0, "BOOK", 2), SF_OK);
	cart = view(f, &o);
	assert_false(json_is_true(json_object_get(cart, "too_large")));
	assert_int_equal(json_integer_value(json_object_get(json_object_get(cart, "max_total"), "amount")), SF_MONEY_MAX);
	int64_t tee = json_integer_value(json_object_get(item(cart, 0), "id"));
	int64_t book = json_integer_value(json_object_get(item(cart, 1), "id"));
	json_decref(cart);
	assert_int_equal(sf_cart_set_quantity(f->db, &o, cfx_rules(), tee, 2), SF_ERR_TOO_LARGE);
	assert_int_equal(cfx_int(f, "SELECT sum(quantity) FROM cart_items"), 3);

	/* staff raise a price: the cart passes the cap without a change of its own */
	cfx_sql(f, "UPDATE variants SET price_minor = 500000000 WHERE sku = 'BOOK'");
	cart = view(f, &o);
	assert_true(json_is_true(json_object_get(cart, "too_large")));
	assert_true(json_is_null(json_object_get(cart, "totals")));
	assert_int_equal(json_array_size(json_object_get(cart, "items")), 2);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(item(cart, 1), "line_total"), "amount")),
			 1000000000);
	json_t *m = json_array_get(json_object_get(cart, "shipping_methods"), 0);
	assert_true(json_is_null(json_object_get(m, "price")));
	json_decref(cart);
	/* growing is refused; shrinking is allowed, even when still too large */
	assert_int_equal(sf_cart_set_quantity(f->db, &o, cfx_rules(), book, 3), SF_ERR_TOO_LARGE);
	assert_int_equal(sf_cart_add(f->db, &o, cfx_rules(), 0, "LAST", 1), SF_ERR_TOO_LARGE);
	assert_int_equal(sf_cart_set_quantity(f->db, &o, cfx_rules(), book, 2), SF_OK);
	assert_int_equal(sf_cart_set_quantity(f->db, &o, cfx_rules(), book, 1), SF_OK);
	cart = view(f, &o);
	assert_true(json_is_true(json_object_get(cart, "too_large"))); /* 600000000 + 500000000 */
	json_decref(cart);
	assert_int_equal(sf_cart_remove(f->db, &o, book), SF_OK);
	cart = view(f, &o);
	assert_false(json_is_true(json_object_get(cart, "too_large")));
	assert_int_equal(amount(cart, "total"), 600000000);
	json_decref(cart);

	/* merge: a guest line that would pass the cap is left out whole, the
	 * lines that fit come along */
	char tok[SF_CART_TOKEN_LEN + 1];
	struct sf_cart_owner c;
	sf_cart_owner_customer(5, &c);
	assert_int_equal(sf_cart_add(f->db, &c, cfx_rules(), 0, "TEE-S", 1), SF_OK);
	guest_with(f, tok, "TEE-S", 1);
	assert_int_equal(sf_cart_owner_guest(tok, &o), SF_OK);
	assert_int_equal(sf_cart_add(f->db, &o, cfx_rules(), 0, "LAST", 2), SF_OK);
	assert_int_equal(sf_cart_merge(f->db, cfx_rules(), tok, 5), SF_OK);
	cart = view(f, &c);
	assert_false(json_is_true(json_object_get(cart, "too_large")));
	assert_int_equal(json_array_size(json_object_get(cart, "items")), 2);
	assert_int_equal(qty_of(cart, 0), 1);
	assert_int_equal(qty_of(cart, 1), 2);
	json_decref(cart);
	guest_with(f, tok, "BOOK", 2); /* a new line above the cap */
	assert_int_equal(sf_cart_merge(f->db, cfx_rules(), tok, 5), SF_OK);
	cart = view(f, &c);
	assert_int_equal(json_array_size(json_object_get(cart, "items")), 2);
	json_decref(cart);
	assert_int_equal(cfx_int(f, "SELECT count(*) FROM carts"), 2); /* guests' carts gone */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(t_tokens),
		cmocka_unit_test_setup_teardown(t_add_and_view, commerce_fx_setup, commerce_fx_teardown),
		cmocka_unit_test_setup_teardown(t_add_view, commerce_fx_setup, commerce_fx_teardown),
		cmocka_unit_test_setup_teardown(t_limits, commerce_fx_setup, commerce_fx_teardown),
		cmocka_unit_test_setup_teardown(t_update_remove, commerce_fx_setup, commerce_fx_teardown),
		cmocka_unit_test_setup_teardown(t_merge, commerce_fx_setup, commerce_fx_teardown),
		cmocka_unit_test_setup_teardown(t_merge_rules, commerce_fx_setup, commerce_fx_teardown),
		cmocka_unit_test_setup_teardown(t_money_cap, commerce_fx_setup, commerce_fx_teardown),
		cmocka_unit_test_setup_teardown(t_prune, commerce_fx_setup, commerce_fx_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
