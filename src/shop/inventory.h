/*
 * inventory.h — stock adjustments made by staff (received goods, damage,
 * stock-take corrections), each with a reason.
 *
 * One adjustment is one transaction: a guarded stock update (never below
 * zero), a row in inventory_adjustments (who, delta, stock after, reason),
 * an "inventory.adjust" audit event and a catalog version bump (stock shows
 * in the catalog as in_stock), all committed together or not at all.
 */
#ifndef SF_SHOP_INVENTORY_H
#define SF_SHOP_INVENTORY_H

#include <jansson.h>
#include <stdint.h>

#include "core/err.h"
#include "shop/commerce.h"

struct sf_db;
struct sf_keyring;

#define SF_INVENTORY_REASON_MAX 200
#define SF_INVENTORY_DELTA_MAX 1000000000LL

/* Add delta (non-zero, |delta| <= SF_INVENTORY_DELTA_MAX) to the stock of
 * variant_id with reason (1..SF_INVENTORY_REASON_MAX bytes of printable
 * UTF-8, no card number).  *stock_after (may be NULL) gets the new stock.
 * Returns SF_OK, SF_ERR_BAD_PARAM (delta or reason; *why a static
 * sentence), SF_ERR_CARD_DATA, SF_ERR_NOT_FOUND (no such variant),
 * SF_ERR_OUT_OF_STOCK (the stock would go below zero; nothing written), or
 * a database/audit error. */
enum sf_err sf_inventory_adjust(struct sf_db *db, const struct sf_keyring *kr, int64_t variant_id, int64_t delta,
				const char *reason, const struct sf_shop_actor *actor, int64_t *stock_after,
				const char **why) SF_WARN_UNUSED;

/* The last limit (1..200) adjustments of product_id's variants, newest
 * first: {"items":[{"sku","delta","stock_after","reason","by","at"}]}.
 * SF_OK or a database error. */
enum sf_err sf_inventory_history(struct sf_db *db, int64_t product_id, int64_t limit, json_t **out) SF_WARN_UNUSED;

/* Is s acceptable one-line text from staff: 1..max bytes of valid UTF-8
 * without control characters (tab, CR and LF included)?  1 / 0. */
int sf_bo_text_ok(const char *s, size_t max);

#endif
