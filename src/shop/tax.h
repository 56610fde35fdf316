/*
 * tax.h — tax by tax class.  Rates live in the tax_rates table (class ->
 * basis points, 2000 = 20 %); a product has a tax_class (default
 * "standard") that a variant may override.  [shop] prices_include_tax says
 * whether catalog prices and shipping rates already contain the tax.
 */
#ifndef SF_SHOP_TAX_H
#define SF_SHOP_TAX_H

#include <stdint.h>

#define SF_TAX_MAX_BP 10000 /* 100 % */

/* The tax on amount (minor units, 0..SF_MONEY_MAX) at rate_bp
 * (0..SF_TAX_MAX_BP), rounded half away from zero:
 *   inclusive: the tax contained in amount = amount * r / (10000 + r)
 *   exclusive: the tax to add to amount    = amount * r / 10000
 * e.g. 5997 at 20 % inclusive = 999.5 -> 1000; exclusive = 1199.4 -> 1199. */
int64_t sf_tax_amount(int64_t amount, int32_t rate_bp, int inclusive);

#endif
