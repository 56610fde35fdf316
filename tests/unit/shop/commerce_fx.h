/*
 * commerce_fx.h — the cart/checkout/order test environment: a shop_fx with
 * a small catalog (below), raw SQL for arranging edge cases, and helpers to
 * fill a cart and place an order.
 *
 * Catalog (EUR, prices include tax unless a test says otherwise):
 *   TEE-S, TEE-L   "Tee" 1999, stock 50, standard (20 %), 200 g
 *   BOOK           "Book" 550, stock 100, reduced (5.5 %), 450 g
 *   LAST           "Last one" 1000, stock 10, standard, 0 g
 *   USD-1          "Import" 700 USD, stock 5
 */
#ifndef SF_TEST_COMMERCE_FX_H
#define SF_TEST_COMMERCE_FX_H

#include <stdint.h>

#include "shop/checkout.h"
#include "shop/order.h"
#include "shop_fixture.h"

int commerce_fx_setup(void **state);
int commerce_fx_teardown(void **state);

/* Run SQL on the test database (asserts success). */
void cfx_sql(struct shop_fx *f, const char *sql);
/* One integer from a query (asserts a row). */
int64_t cfx_int(struct shop_fx *f, const char *sql);
int64_t cfx_stock(struct shop_fx *f, const char *sku);
int64_t cfx_variant_id(struct shop_fx *f, const char *sku);

/* A fresh guest owner (random token). */
void cfx_guest(struct sf_cart_owner *o);
/* Default rules: prices include tax, 30 min, 20 per line, 50 lines. */
const struct sf_shop_rules *cfx_rules(void);
/* A checkout request for o with a fixed valid address, method "standard",
 * the cart's coupon, and idempotency key key. */
struct sf_checkout_req cfx_req(const struct sf_cart_owner *o, const char *key);
/* Add qty of sku to o's cart and place an order; returns the error. */
enum sf_err cfx_buy(struct shop_fx *f, const struct sf_cart_owner *o, const char *sku, int64_t qty, const char *key,
		    int64_t *order_id);

#endif
