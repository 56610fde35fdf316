/*
 * backoffice.h — the domain reads and writes behind the back-office pages
 * that the other shop modules do not already offer: order and customer
 * lists, protected-field reveal, product/variant/category editing,
 * coupon switching, shipping methods and tax classes.
 *
 * Every write runs in one transaction with its audit event (actor = the
 * staff member, action "<thing>.<verb>", the affected object, a JSON
 * detail) and, for catalog writes, sf_catalog_touch.  Every text input is
 * checked (valid UTF-8 without control characters, a length cap, no card
 * number).  Results are JSON in the shape the templates render; "why" is a
 * static client-safe sentence for errors a user can fix.
 */
#ifndef SF_SHOP_BACKOFFICE_H
#define SF_SHOP_BACKOFFICE_H

#include <jansson.h>
#include <stdint.h>

#include "core/err.h"
#include "shop/commerce.h"

struct sf_db;
struct sf_keyring;

#define SF_BO_PAGE 50          /* rows per list page */
#define SF_BO_REASON_MAX 200   /* reveal and refund reasons */

/* ==== Dashboard ==== */

/* {"orders_to_ship":n,"low_stock":[{"variant_id","sku","variant","product_id",
 * "product","stock"}],"has_low_stock","refunds_failed":n,"refunds_open":[{"kind"
 * ("staff refund", or "payment not applied": one that came too late),"order_id",
 * "status","amount_text","error"?,"updated_at"}],"has_refunds_open"} —
 * variants of active products with at most threshold units, and refunds to
 * send that are still due or failed for good (payment.h; failed first; at
 * most 10 rows each).  SF_OK or a database error. */
enum sf_err sf_bo_dashboard(struct sf_db *db, int64_t threshold, json_t **out) SF_WARN_UNUSED;

/* Variants of active products with at most threshold units, lowest first,
 * at most limit (1..500): {"items":[as low_stock],"has_items"}. */
enum sf_err sf_bo_low_stock(struct sf_db *db, int64_t threshold, int64_t limit, json_t **out) SF_WARN_UNUSED;

/* ==== Orders ==== */

struct sf_bo_order_filter {
	const char *status;   /* a status name or NULL */
	int64_t customer_id;  /* 0: any */
	int64_t from, to;     /* created_at range [from, to); 0: open */
	int64_t before_id;    /* keyset paging: orders older than this id; 0: newest */
};

/* One page (SF_BO_PAGE) of orders, newest first:
 * {"items":[{"id","status","currency","total" (minor),"total_text","created_at",
 * "customer_id","items"}],"has_items","next_before": id|null}.
 * SF_OK, SF_ERR_BAD_PARAM (unknown status), or a database error. */
enum sf_err sf_bo_orders(struct sf_db *db, const struct sf_bo_order_filter *f, json_t **out) SF_WARN_UNUSED;

/* ==== Customers ==== */

/* The customer whose e-mail is email, found through the blind index
 * (nothing is decrypted): {"items":[row]} with row {"id","verified",
 * "created_at","locked"} — an empty list when there is none.  Without an
 * e-mail (NULL or ""): a page of customers newest first, with
 * "next_before".  SF_OK, SF_ERR_BAD_PARAM (not an e-mail address), or a
 * storage error. */
enum sf_err sf_bo_customers(struct sf_db *db, const struct sf_keyring *kr, const char *email, int64_t before_id,
			    json_t **out) SF_WARN_UNUSED;

/* One customer with protected fields masked: {"id","verified","created_at",
 * "locked","failed_logins","orders", "email":"••••","name":"••••",
 * "phone":…,"birth_date":…} (masked fields are "" when not set).  With
 * reveal, the fields are unsealed instead and a "customer.reveal" audit event
 * carrying reason is appended in the same transaction as the read (reason:
 * 1..SF_BO_REASON_MAX bytes, no card number).  SF_OK, SF_ERR_NOT_FOUND,
 * SF_ERR_BAD_PARAM (reason missing or malformed; *why), SF_ERR_CARD_DATA,
 * or a storage/crypto error. */
enum sf_err sf_bo_customer(struct sf_db *db, const struct sf_keyring *kr, int64_t id, int reveal,
			   const char *reason, const struct sf_shop_actor *actor, json_t **out,
			   const char **why) SF_WARN_UNUSED;

/* ==== Catalog ==== */

/* A page (1-based, SF_BO_PAGE rows) of products newest first, optionally
 * those whose name or slug contains q (<= 200 bytes):
 * {"items":[{"id","slug","name","status","price_text","stock","image"}],
 * "has_items","page","next","prev"}.  SF_OK, SF_ERR_BAD_PARAM, db error. */
enum sf_err sf_bo_products(struct sf_db *db, const char *q, int64_t page, json_t **out) SF_WARN_UNUSED;

/* One product with its variants: {"id","slug","name","description",
 * "category_id","image","status","variants":[{"id","sku","name","price",
 * "currency","stock"}]}.  SF_OK, SF_ERR_NOT_FOUND or a database error. */
enum sf_err sf_bo_product(struct sf_db *db, int64_t id, json_t **out) SF_WARN_UNUSED;

struct sf_bo_product_in {
	const char *slug;        /* creation only: [a-z0-9-]{1,120} */
	const char *name;        /* 1..200 */
	const char *description; /* 0..10000 */
	int64_t category_id;     /* 0: none */
	const char *status;      /* active | draft | archived */
};

/* Create (id 0; *saved_id gets the new id) or update a product, audited as
 * "product.create" / "product.update".  SF_OK, SF_ERR_BAD_PARAM (*why),
 * SF_ERR_CARD_DATA, SF_ERR_NOT_FOUND (product or category),
 * SF_ERR_DB_CONSTRAINT (slug taken), or a database error. */
enum sf_err sf_bo_product_save(struct sf_db *db, const struct sf_keyring *kr, int64_t id,
			       const struct sf_bo_product_in *in, const struct sf_shop_actor *actor,
			       int64_t *saved_id, const char **why) SF_WARN_UNUSED;

/* Create (variant_id 0: sku required, stock starts at 0 — stock changes go
 * through inventory adjustments) or update (name, price, currency) a
 * variant of product_id, audited "variant.create" / "variant.update".
 * sku [A-Za-z0-9._-]{1,64}; name 0..200; price 0..SF_MONEY_MAX (10^9) minor units;
 * currency [A-Z]{3}.  SF_OK, SF_ERR_BAD_PARAM (*why), SF_ERR_CARD_DATA (a
 * card number as the sku or in the name), SF_ERR_NOT_FOUND,
 * SF_ERR_DB_CONSTRAINT (sku taken), or a database error. */
enum sf_err sf_bo_variant_save(struct sf_db *db, const struct sf_keyring *kr, int64_t product_id,
			       int64_t variant_id, const char *sku, const char *name, int64_t price,
			       const char *currency, const struct sf_shop_actor *actor,
			       const char **why) SF_WARN_UNUSED;

/* Create a category (parent_id 0: a root; slug made from name) or rename
 * one (id != 0), audited "category.create" / "category.update".  SF_OK,
 * SF_ERR_BAD_PARAM (*why), SF_ERR_NOT_FOUND, SF_ERR_DB_CONSTRAINT, db error. */
enum sf_err sf_bo_category_save(struct sf_db *db, const struct sf_keyring *kr, int64_t id, int64_t parent_id,
				const char *name, const struct sf_shop_actor *actor, const char **why) SF_WARN_UNUSED;

/* ==== Coupons, shipping, tax ==== */

/* {"items":[{"id","code","kind","value","currency","min_order","starts_at",
 * "ends_at","max_uses","max_per_customer","uses","active"}],"has_items"}. */
enum sf_err sf_bo_coupons(struct sf_db *db, json_t **out) SF_WARN_UNUSED;
/* Switch a coupon on or off ("coupon.update").  SF_OK, SF_ERR_NOT_FOUND, db error. */
enum sf_err sf_bo_coupon_active(struct sf_db *db, const struct sf_keyring *kr, int64_t id, int active,
				const struct sf_shop_actor *actor) SF_WARN_UNUSED;

/* {"items":[{"id","code","name","kind","base","per_kg","free_above" (-1: never),
 * "tax_class","active"}]}. */
enum sf_err sf_bo_shipping(struct sf_db *db, json_t **out) SF_WARN_UNUSED;
/* Update a method ("shipping.update"): name 1..SF_SHIP_NAME_MAX bytes; amounts 0..10^9;
 * free_above -1 (never) or 0..10^9; tax_class an existing class.  SF_OK,
 * SF_ERR_BAD_PARAM (*why), SF_ERR_NOT_FOUND, db error. */
enum sf_err sf_bo_shipping_save(struct sf_db *db, const struct sf_keyring *kr, int64_t id, const char *name,
				int64_t base, int64_t per_kg, int64_t free_above, const char *tax_class, int active,
				const struct sf_shop_actor *actor, const char **why) SF_WARN_UNUSED;

/* {"items":[{"class","rate_bp","rate_text","label"}]}. */
enum sf_err sf_bo_taxes(struct sf_db *db, json_t **out) SF_WARN_UNUSED;
/* Create or update a tax class ("tax.update"): class [a-z0-9_-]{1,32},
 * rate 0..10000 bp, label 1..64.  SF_OK, SF_ERR_BAD_PARAM (*why),
 * SF_ERR_CARD_DATA (a card number as the class or in the label), db error. */
enum sf_err sf_bo_tax_save(struct sf_db *db, const struct sf_keyring *kr, const char *cls, int64_t rate_bp,
			   const char *label, const struct sf_shop_actor *actor, const char **why) SF_WARN_UNUSED;

#endif
