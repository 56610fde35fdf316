/*
 * shipping.h — shipping methods and their rates.
 *
 * Methods live in the shipping_methods table (seeded by migration 0005):
 * flat (base) or by weight (base + per_kg for every started kilogram of the
 * cart's weight: 0 g -> base, 1..1000 g -> base + per_kg, 1001 g -> base +
 * 2 * per_kg), each free when the goods total after discount reaches
 * free_above.  A rate is in the same convention as catalog prices (tax
 * included or not, [shop] prices_include_tax) and taxed at the method's
 * tax class.
 */
#ifndef SF_SHOP_SHIPPING_H
#define SF_SHOP_SHIPPING_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

struct sf_db_conn;

#define SF_SHIP_MAX_METHODS 16
#define SF_SHIP_CODE_MAX 32
/* A method's name: 1..SF_SHIP_NAME_MAX bytes of UTF-8 (the back office's
 * limit); every buffer that holds one has SF_SHIP_NAME_MAX + 1 bytes, so a
 * name is never cut inside a character. */
#define SF_SHIP_NAME_MAX 128

enum sf_ship_kind { SF_SHIP_FLAT, SF_SHIP_WEIGHT };

struct sf_ship_method {
	char code[SF_SHIP_CODE_MAX + 1];
	char name[SF_SHIP_NAME_MAX + 1];
	enum sf_ship_kind kind;
	int64_t base;       /* minor units */
	int64_t per_kg;     /* minor units per started kilogram (weight methods) */
	int64_t free_above; /* goods total that makes it free; -1: never */
	int32_t rate_bp;    /* tax rate of its class */
};

/* The rate of m for goods (minor units, after discount) weighing weight_g
 * grams.  Pure; never negative. */
int64_t sf_shipping_rate(const struct sf_ship_method *m, int64_t goods, int64_t weight_g);

/* Load the active methods (by position) into out[max]; *n is their count.
 * SF_OK, SF_ERR_INTERNAL (a method names an unknown tax class), or a
 * database error (SF_ERR_DB_CONFLICT inside a transaction: retry). */
enum sf_err sf_shipping_methods(struct sf_db_conn *c, struct sf_ship_method *out, size_t max,
				size_t *n) SF_WARN_UNUSED;

/* The method named code among m[n], or NULL. */
const struct sf_ship_method *sf_shipping_find(const struct sf_ship_method *m, size_t n, const char *code);

#endif
