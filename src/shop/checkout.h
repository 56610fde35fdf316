/*
 * checkout.h — pricing a cart (the quote) and turning it into an order.
 *
 * Money rules (docs/COMMERCE.md has worked examples):
 *   line gross   = unit price (from the variants table) x quantity
 *   subtotal     = sum of line gross
 *   discount     = coupon on the subtotal (coupon.h), split over the lines
 *                  in proportion to their gross (sf_money_allocate)
 *   goods        = subtotal - discount
 *   shipping     = the method's rate for goods and the cart's weight
 *   line tax     = sf_tax_amount(gross - line discount, line rate) — rounded
 *                  per line, half away from zero; shipping tax likewise
 *   tax          = sum of line taxes + shipping tax
 *   total        = goods + shipping            (prices include tax)
 *                = goods + shipping + tax      (prices exclude tax)
 * Every amount is integer minor units and at most SF_MONEY_MAX.
 *
 * Placing an order (sf_checkout_place) is one transaction: idempotency
 * lookup, cart read, quote, the comparison with what the shopper reviewed
 * (review_fp, expect_total), stock reservation (guarded UPDATE per line; any
 * shortfall rolls everything back), order + lines + sealed e-mail and
 * address, coupon use, order event, audit event, cart emptied, the
 * order.created webhook queued.  No mail: the order confirmation is sent
 * when the order is paid (sf_order_payment_settled).
 */
#ifndef SF_SHOP_CHECKOUT_H
#define SF_SHOP_CHECKOUT_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "shop/cart.h"
#include "shop/commerce.h"
#include "shop/coupon.h"
#include "shop/shipping.h"

struct sf_db;
struct sf_db_conn;
struct sf_keyring;

struct sf_quote_line {
	int64_t item_id, variant_id;
	char *sku, *name, *variant, *slug, *tax_class; /* heap, freed by sf_quote_free */
	int64_t unit, qty, stock, weight_g;
	int32_t rate_bp;
	int active;
	int64_t gross, discount, tax; /* computed */
};

struct sf_quote {
	int include_tax;
	char currency[4];
	size_t n;
	struct sf_quote_line *lines; /* heap */
	int64_t subtotal, discount, goods, shipping, shipping_tax, tax, total, weight_g;
};

/* Compute every derived amount of q (lines' unit, qty, rate_bp, weight_g
 * and q->include_tax set by the caller) with coupon cp and shipping method
 * m (either may be NULL: no discount / no shipping).  Pure.  SF_OK, or
 * SF_ERR_TOO_LARGE when an amount would pass SF_MONEY_MAX, SF_ERR_QUANTITY
 * for a quantity < 1, SF_ERR_INVALID for a negative price or bad rate. */
enum sf_err sf_quote_compute(struct sf_quote *q, const struct sf_coupon *cp,
			     const struct sf_ship_method *m) SF_WARN_UNUSED;
/* Load the lines of cart_id into q (q zeroed first; include_tax from r).
 * SF_OK, SF_ERR_NOMEM, SF_ERR_INTERNAL (unknown tax class) or a database
 * error. */
enum sf_err sf_quote_load(struct sf_db_conn *c, int64_t cart_id, const struct sf_shop_rules *r,
			  struct sf_quote *q) SF_WARN_UNUSED;
/* Free q's lines (q itself is the caller's). */
void sf_quote_free(struct sf_quote *q);

/* The fingerprint of a priced quote, as the review step shows it and place
 * compares it: BLAKE2b-256 over a canonical text of the currency, the tax
 * mode, every line (variant, quantity, unit price, gross, discount, tax),
 * the coupon code (normalised; NULL or "": none), the shipping method's
 * code and every total, written in SF_TOKEN_ALPHABET letters (util.h) into
 * out (SF_QUOTE_FP_LEN characters and a NUL).  Equal fingerprints: the same
 * lines, prices, coupon, shipping and totals.  Pure. */
#define SF_QUOTE_FP_LEN 64
void sf_quote_fingerprint(const struct sf_quote *q, const char *coupon, const char *ship_code,
			  char out[SF_QUOTE_FP_LEN + 1]);

#define SF_ADDR_NAME_MAX 100
#define SF_ADDR_STREET_MAX 200
#define SF_ADDR_CITY_MAX 100
#define SF_ADDR_POSTCODE_MAX 16
#define SF_ADDR_PHONE_MAX 32
#define SF_EMAIL_MAX 254

/* A shipping address (borrowed strings). */
struct sf_address {
	const char *name, *street, *city, *postcode, *country, *phone;
};

/* Validate a: name, street, city, postcode required; country two letters
 * A-Z (upper-cased copy written to country_out[3]); phone optional (digits,
 * blanks, + - ( ) only); one line of valid UTF-8 without control
 * characters, of at most the limits above in characters (code points, as a
 * form's maxlength counts them; so at most 4 x the limit in bytes).  Also
 * checks email (required, and an address an account could have:
 * sf_customer_email_norm, at most SF_EMAIL_MAX bytes).  SF_OK,
 * SF_ERR_CARD_DATA (a field holds a card number; why says how to write a
 * phone number taken for one, "" for the other fields), or SF_ERR_ADDRESS with
 * why[why_n] (when why is not NULL) saying which field failed and what it
 * must be, never its value; why holds "" otherwise.  On a failure *field
 * (when field is not NULL) names the field as a checkout form names it
 * (email, name, street, city, postcode, country, phone; a static string),
 * NULL otherwise, so that a page can mark that input.  Pure. */
#define SF_CHECKOUT_WHY_MAX 128
enum sf_err sf_checkout_validate(const struct sf_address *a, const char *email, char country_out[3], char *why,
				 size_t why_n, const char **field) SF_WARN_UNUSED;

struct sf_checkout_req {
	struct sf_cart_owner owner;
	const char *email;
	struct sf_address address;
	const char *shipping_method; /* a code from sf_shipping_methods */
	const char *coupon;          /* NULL: the cart's coupon; "": none */
	const char *idem_key;        /* 8..128 visible ASCII characters */
	struct sf_shop_actor actor;
	/* What the shopper agreed to; a new order is placed only when the
	 * cart, priced in the placing transaction, still matches it:
	 * review_fp (NULL: not checked) the review's fingerprint
	 * (sf_checkout_preview's "fingerprint"; "" or any other text never
	 * matches), check_total and expect_total the total in minor units. */
	const char *review_fp;
	int check_total;
	int64_t expect_total;
};

/* Place an order from the owner's cart.  Same idem_key from the same
 * owner: the same order again (*replayed = 1), whatever happened to the
 * cart since (review_fp is not compared then; expect_total is, with the
 * order's total); with a different request (address, e-mail, method,
 * coupon): SF_ERR_IDEMPOTENCY.  Returns SF_OK with *order_id, or
 * SF_ERR_IDEMPOTENCY_KEY, SF_ERR_ADDRESS, SF_ERR_CARD_DATA,
 * SF_ERR_SHIPPING_METHOD, SF_ERR_CART_EMPTY, SF_ERR_CART_CHANGED (not the
 * reviewed quote), SF_ERR_TOTAL_CHANGED (not expect_total),
 * SF_ERR_OUT_OF_STOCK (nothing reserved), SF_ERR_CURRENCY_MIX,
 * SF_ERR_QUANTITY, a coupon error, SF_ERR_TOO_LARGE, or a database/crypto
 * error.  Nothing is written on error. */
enum sf_err sf_checkout_place(struct sf_db *db, const struct sf_keyring *kr, const struct sf_shop_rules *r,
			      const struct sf_checkout_req *req, int64_t *order_id, int *replayed) SF_WARN_UNUSED;
/* sf_checkout_place, and *order the order as v sees it (sf_order_get's
 * JSON without personal data; caller owns it), read inside the placing
 * transaction on the writer's connection, whose page cache other
 * connections' commits do not empty.  A replayed order whose reservation
 * has run out is expired and read as sf_order_fetch does. */
struct sf_order_viewer;
enum sf_err sf_checkout_place_view(struct sf_db *db, const struct sf_keyring *kr, const struct sf_shop_rules *r,
				   const struct sf_checkout_req *req, const struct sf_order_viewer *v,
				   int64_t *order_id, int *replayed, json_t **order) SF_WARN_UNUSED;

/* The review step: o's cart priced with shipping method ship_code and its
 * coupon (coupon NULL: the cart's; "": none), as JSON (caller owns *out):
 *   {"lines":[{"sku","name","quantity","unit_price","line_total"}],
 *    "totals":{"subtotal","discount","shipping","tax","total"},
 *    "has_discount","shipping":{"code","name"},"coupon","prices_include_tax",
 *    "fingerprint"}  (sf_quote_fingerprint: what place compares)
 * SF_OK, SF_ERR_CART_EMPTY, SF_ERR_SHIPPING_METHOD, a coupon error,
 * SF_ERR_TOO_LARGE, or a database error.  Nothing is written. */
enum sf_err sf_checkout_preview(struct sf_db *db, const struct sf_shop_rules *r, const struct sf_cart_owner *o,
				const char *ship_code, const char *coupon, json_t **out) SF_WARN_UNUSED;

#endif
