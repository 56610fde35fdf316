/*
 * coupon.h — coupons: a percentage (basis points) or a fixed amount off the
 * goods subtotal, with a minimum order, a validity window and usage limits.
 *
 * Usage limits are enforced inside the order's transaction: the total limit
 * by a guarded UPDATE (uses + 1 only while uses < max_uses; zero rows ->
 * used up), the per-customer limit by counting that customer's uses in the
 * same transaction (SQLite's BEGIN IMMEDIATE serialises writers).  A coupon
 * with a per-customer limit needs a signed-in customer.  A cancelled or
 * expired unpaid order gives its use back.
 */
#ifndef SF_SHOP_COUPON_H
#define SF_SHOP_COUPON_H

#include <stdint.h>

#include "core/err.h"
#include "shop/commerce.h"

struct sf_db;
struct sf_db_conn;
struct sf_keyring;

#define SF_COUPON_CODE_MIN 3
#define SF_COUPON_CODE_MAX 32

enum sf_coupon_kind { SF_COUPON_PERCENT, SF_COUPON_FIXED };

struct sf_coupon {
	int64_t id;
	char code[SF_COUPON_CODE_MAX + 1];
	enum sf_coupon_kind kind;
	int64_t value;            /* percent: basis points (1..10000); fixed: minor units */
	char currency[4];         /* fixed: currency of value ("" = any) */
	int64_t min_order;        /* goods subtotal needed, minor units (0 = none) */
	int64_t starts_at;        /* unix seconds; 0 = no start */
	int64_t ends_at;          /* unix seconds (exclusive); 0 = no end */
	int64_t max_uses;         /* 0 = unlimited */
	int64_t max_per_customer; /* 0 = unlimited */
	int64_t uses;
	int active;
};

/* Normalise a code typed by a shopper: surrounding blanks removed, letters
 * upper-cased; then SF_COUPON_CODE_MIN..MAX characters of A-Z 0-9 - _.
 * SF_OK or SF_ERR_COUPON_INVALID.  out has SF_COUPON_CODE_MAX + 1 bytes. */
enum sf_err sf_coupon_normalize(const char *in, char *out) SF_WARN_UNUSED;

/* The discount on subtotal: percent -> subtotal * value / 10000 rounded
 * half away from zero; fixed -> value, but never more than subtotal. */
int64_t sf_coupon_discount(const struct sf_coupon *cp, int64_t subtotal);

/* May cp apply to a cart of subtotal in currency at now, for customer_id
 * (0 = guest)?  SF_OK, SF_ERR_COUPON_INVALID (inactive, other currency),
 * SF_ERR_COUPON_EXPIRED (outside its window), SF_ERR_COUPON_MIN_ORDER,
 * SF_ERR_COUPON_LOGIN (per-customer limit and a guest),
 * SF_ERR_COUPON_USED_UP (uses reached max_uses, as last read). */
enum sf_err sf_coupon_check(const struct sf_coupon *cp, int64_t subtotal, const char *currency, int64_t now,
			    int64_t customer_id) SF_WARN_UNUSED;

/* Load a coupon by its normalised code.  SF_OK, SF_ERR_COUPON_INVALID (no
 * such code) or a database error. */
enum sf_err sf_coupon_load(struct sf_db_conn *c, const char *code, struct sf_coupon *out) SF_WARN_UNUSED;

/* Inside the order's transaction: take one use of cp for order_id
 * (customer_id 0 = guest).  SF_OK, SF_ERR_COUPON_USED_UP (total or
 * per-customer limit reached; roll back), or a database error. */
enum sf_err sf_coupon_redeem(struct sf_db_conn *c, const struct sf_coupon *cp, int64_t order_id,
			     int64_t customer_id) SF_WARN_UNUSED;

/* Inside a transaction: give back the use order_id took, if any (once).
 * SF_OK or a database error. */
enum sf_err sf_coupon_release(struct sf_db_conn *c, int64_t order_id) SF_WARN_UNUSED;

/* Create a coupon from spec (code normalised here; id, uses ignored) and
 * audit it ("coupon.create") in one transaction.  SF_OK and *id;
 * SF_ERR_COUPON_INVALID (bad code), SF_ERR_CARD_DATA (a code that is a card
 * number), SF_ERR_INVALID (bad value, window, limits, or a currency other
 * than "" or three capitals), SF_ERR_DB_CONSTRAINT (code exists), or a
 * database error. */
enum sf_err sf_coupon_create(struct sf_db *db, const struct sf_keyring *kr, const struct sf_coupon *spec,
			     const struct sf_shop_actor *actor, int64_t *id) SF_WARN_UNUSED;

#endif
