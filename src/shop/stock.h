/*
 * stock.h — stock changes seen from the public catalog.
 *
 * The storefront shows availability only — in stock or not, and a "low
 * stock" flag below SF_STOCK_LOW units — never exact counts.  So a
 * reservation or a give-back changes what the cached catalog shows only
 * when a variant crosses one of those bands; the callers bump the catalog
 * version (sf_catalog_touch) only then, and the catalog cache survives the
 * ordinary order.
 */
#ifndef SF_SHOP_STOCK_H
#define SF_SHOP_STOCK_H

#include <stdint.h>

#include "core/err.h"

struct sf_db_conn;

#define SF_STOCK_LOW 5 /* 1..SF_STOCK_LOW-1 units left: "low stock" */

/* The public band of a stock level: 0 out of stock, 1 low, 2 in stock. */
int sf_stock_band(int64_t stock);

/* Take qty (>= 1) units of variant_id inside the caller's transaction,
 * only when that many are left.  *flipped |= 1 when the variant's band
 * changed.  SF_OK; SF_ERR_OUT_OF_STOCK (nothing taken); or a database
 * error. */
enum sf_err sf_stock_take(struct sf_db_conn *c, int64_t variant_id, int64_t qty, int *flipped) SF_WARN_UNUSED;

/* Give qty units back (cancellation).  *flipped |= 1 when the band
 * changed.  SF_OK (also for a variant that no longer exists) or a database
 * error. */
enum sf_err sf_stock_return(struct sf_db_conn *c, int64_t variant_id, int64_t qty, int *flipped) SF_WARN_UNUSED;

#endif
