/*
 * cart.h — shopping carts: a guest cart identified by a random token held in
 * the `__Host-sf_cart` cookie (only its BLAKE2b hash is stored), or a
 * customer's cart by customer id; merged at login.
 *
 * Prices are never taken from a client: every view and every order reads
 * them from the variants table.  Quantities are checked against stock and
 * the per-line maximum on every change (and again, atomically, when the
 * order reserves the stock).
 */
#ifndef SF_SHOP_CART_H
#define SF_SHOP_CART_H

#include <jansson.h>
#include <stdint.h>

#include "core/err.h"
#include "shop/commerce.h"

struct sf_db;
struct sf_db_conn;

#define SF_CART_TOKEN_LEN 52 /* base32 characters: 260 random bits */
#define SF_CART_COOKIE "__Host-sf_cart"
#define SF_CART_COOKIE_MAX_AGE 2592000 /* seconds (30 days), from the cart's making */
#define SF_CART_HASH_LEN 32

/* Whose cart: a customer (customer_id > 0) or a guest (has_guest). */
struct sf_cart_owner {
	int64_t customer_id;
	int has_guest;
	unsigned char guest_hash[SF_CART_HASH_LEN];
};

/* A new random guest token (NUL-terminated, SF_CART_TOKEN_LEN chars). */
void sf_cart_token_new(char out[SF_CART_TOKEN_LEN + 1]);
/* The stored hash of a guest token: BLAKE2b-256 over a domain and token. */
void sf_cart_token_hash(const char *token, unsigned char out[SF_CART_HASH_LEN]);
/* Owner for a guest token.  SF_OK, or SF_ERR_INVALID when token is not a
 * well-formed token (the caller then issues a new one). */
enum sf_err sf_cart_owner_guest(const char *token, struct sf_cart_owner *o) SF_WARN_UNUSED;
/* Owner for a signed-in customer. */
void sf_cart_owner_customer(int64_t customer_id, struct sf_cart_owner *o);

/* Add qty units of a variant (by variant_id > 0, else by sku) to o's cart,
 * creating the cart on first use; an existing line grows.  SF_OK, or
 * SF_ERR_QUANTITY (qty < 1 or the line would exceed r->max_line_qty),
 * SF_ERR_NOT_FOUND (no such variant, or its product is not for sale),
 * SF_ERR_OUT_OF_STOCK (the line would exceed the stock),
 * SF_ERR_CART_FULL (r->max_lines reached), SF_ERR_CURRENCY_MIX,
 * SF_ERR_TOO_LARGE (the cart, priced as sf_cart_view prices it, would pass
 * SF_MONEY_MAX), or a database error.  Nothing changes on error. */
enum sf_err sf_cart_add(struct sf_db *db, const struct sf_cart_owner *o, const struct sf_shop_rules *r,
			int64_t variant_id, const char *sku, int64_t qty) SF_WARN_UNUSED;
/* sf_cart_add, and *view the cart as sf_cart_view gives it, read in the
 * same transaction (caller owns it; NULL on error). */
enum sf_err sf_cart_add_view(struct sf_db *db, const struct sf_cart_owner *o, const struct sf_shop_rules *r,
			     int64_t variant_id, const char *sku, int64_t qty, json_t **view) SF_WARN_UNUSED;
/* Set the quantity of line item_id of o's cart (0 removes it).  SF_OK,
 * SF_ERR_NOT_FOUND (no such line in this cart), SF_ERR_QUANTITY,
 * SF_ERR_OUT_OF_STOCK, SF_ERR_TOO_LARGE (a larger quantity would take the
 * cart above SF_MONEY_MAX; a smaller one is never refused for that), or a
 * database error.  Nothing changes on error. */
enum sf_err sf_cart_set_quantity(struct sf_db *db, const struct sf_cart_owner *o, const struct sf_shop_rules *r,
				 int64_t item_id, int64_t qty) SF_WARN_UNUSED;
/* Remove line item_id.  SF_OK, SF_ERR_NOT_FOUND, or a database error. */
enum sf_err sf_cart_remove(struct sf_db *db, const struct sf_cart_owner *o, int64_t item_id) SF_WARN_UNUSED;
/* Empty o's cart and drop its coupon.  SF_OK (also when there is no cart). */
enum sf_err sf_cart_clear(struct sf_db *db, const struct sf_cart_owner *o) SF_WARN_UNUSED;
/* Apply a coupon code (normalised and checked against the current cart:
 * the coupon errors of coupon.h), or remove it (code NULL or "").  SF_OK,
 * SF_ERR_CART_EMPTY, a coupon error, or a database error. */
enum sf_err sf_cart_set_coupon(struct sf_db *db, const struct sf_cart_owner *o, const struct sf_shop_rules *r,
			       const char *code) SF_WARN_UNUSED;

/* The cart as JSON (caller owns *out):
 *   {"items":[{"id","variant_id","sku","name","variant","product_slug",
 *     "quantity","available","unit_price":price,"line_total":price}],
 *    "has_items","count","currency","prices_include_tax","coupon":code|null,
 *    "coupon_error":code|null,"too_large":bool,"max_total":price,
 *    "totals":{"subtotal","discount","tax","total"}|null (prices; tax and
 *    total without shipping),
 *    "shipping_methods":[{"code","name","price":price|null}]}
 * where price = {"amount","currency","formatted"} and available is how
 * many units the line may hold: the stock, at most r->max_line_qty (the
 * exact stock is not published).  A cart above the money cap
 * (SF_MONEY_MAX, max_total; a price raised after its lines were added) is
 * still shown: "too_large" true, its lines with unit prices and line
 * totals (null when unit x quantity passes 64 bits), "totals" and the
 * shipping prices null, and the coupon not applied; it cannot be ordered
 * until lines are lowered or removed.  An owner without a cart gets an
 * empty one.  SF_OK, SF_ERR_NOMEM, SF_ERR_INTERNAL (a line's tax class has
 * no rate) or a database error. */
enum sf_err sf_cart_view(struct sf_db *db, const struct sf_cart_owner *o, const struct sf_shop_rules *r,
			 json_t **out) SF_WARN_UNUSED;

/* At login: move the guest cart of guest_token into customer_id's cart
 * (created when missing), under the shop's rules r (the configured [shop]
 * limits, as for every other change).  Lines for the same variant add up,
 * capped at the variant's stock and r->max_line_qty; guest lines the
 * customer's cart has no room for (r->max_lines) are dropped, and so is a
 * guest line that would take the cart above SF_MONEY_MAX (left out whole:
 * the customer's own line for that variant stays as it was); the guest's
 * coupon is kept when the customer's cart has none.  The guest cart is
 * deleted.  Call it from the login handlers after the session is
 * established, with the value of the SF_CART_COOKIE cookie (NULL or
 * malformed: nothing to do).  SF_OK, SF_ERR_INVALID (customer_id < 1) or a
 * database error; idempotent. */
enum sf_err sf_cart_merge(struct sf_db *db, const struct sf_shop_rules *r, const char *guest_token,
			  int64_t customer_id) SF_WARN_UNUSED;

/* ---- used by checkout (inside its transaction) ---- */

/* o's cart id and coupon code (code: SF_COUPON_CODE_MAX + 1 bytes, "" when
 * none).  SF_OK, SF_ERR_NOT_FOUND (no cart), or a database error. */
enum sf_err sf_cart_find(struct sf_db_conn *c, const struct sf_cart_owner *o, int64_t *cart_id,
			 char *coupon) SF_WARN_UNUSED;

/* Housekeeping: delete at most limit guest carts (and their lines) not
 * changed for SF_CART_COOKIE_MAX_AGE seconds: their cookie, set once when
 * the cart was made, has expired, so nobody can reach them.  Customers'
 * carts stay.  *n = how many. */
enum sf_err sf_cart_prune(struct sf_db *db, int64_t now, int limit, int64_t *n) SF_WARN_UNUSED;

#endif
