/*
 * money.h — the money rules of the commerce code: integer minor units,
 * rounding half away from zero, and the proportional split of an amount
 * over lines (largest remainder).  Pure functions, no I/O; the rules are
 * written out with worked examples in docs/COMMERCE.md.
 */
#ifndef SF_SHOP_MONEY_H
#define SF_SHOP_MONEY_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

/* The largest amount (minor units) a cart, line or order may reach:
 * 10^9 (ten million in a two-decimal currency).  Keeping every amount below
 * it makes every product below (amount * basis points, amount * amount)
 * fit in 64 bits. */
#define SF_MONEY_MAX INT64_C(1000000000)

/* num / den rounded half away from zero (2.5 -> 3, -2.5 -> -3).  den must
 * be > 0 and |num| < INT64_MAX / 2. */
int64_t sf_money_div_round(int64_t num, int64_t den);

/* Split amount (0 <= amount <= sum of weights) over n lines in proportion
 * to weights (each >= 0, sum <= SF_MONEY_MAX): each line gets
 * floor(amount * w / W); the units left over go one each to the lines with
 * the largest remainders (earlier lines first on ties).  So the shares sum
 * to amount exactly and no share exceeds its weight.  out[n] is written;
 * all zero when the weights sum to 0. */
void sf_money_allocate(int64_t amount, const int64_t *weights, size_t n, int64_t *out);

/* {"amount":amount,"currency":currency,"formatted":"€12.50"} (new
 * reference), or NULL when out of memory. */
json_t *sf_money_json(int64_t amount, const char *currency);

#endif
