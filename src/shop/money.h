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

/* How many decimals a minor unit of currency (ISO 4217 code) has, as
 * payment providers count them (Stripe's list): 0 for JPY, KRW, VND and
 * the other zero-decimal currencies, 3 for BHD, JOD, KWD, OMR and TND, 2
 * for every other code (also NULL or an unknown one).  An amount of 1000
 * is ¥1000, €10.00 or 1.000 KWD. */
int sf_money_decimals(const char *currency);

/* 1 when currency is an ISO 4217 code as storefort stores it: three
 * capital letters A-Z; else 0 (also NULL).  A code in other letters
 * would be read with the wrong decimals (sf_money_decimals) and match no
 * cart. */
int sf_money_currency_ok(const char *currency);

/* Parse text a person typed ("12.50", "12.5", "1000") as minor units of
 * currency (sf_money_decimals; NULL: 2 decimals, as for percentages in
 * hundredths): digits, then optionally "." and 1 to that many decimals
 * (none at all for a zero-decimal currency), at most 12 digits before the
 * point.  0 and *out, or -1 (nothing else accepted: no sign, no spaces, no
 * thousands separators). */
int sf_money_parse(const char *s, const char *currency, int64_t *out);

/* amount (>= 0) as a form field's value, the inverse of sf_money_parse:
 * "12.50", "1000", "1.500" (at least 24 bytes of out). */
void sf_money_plain(int64_t amount, const char *currency, char *out, size_t outlen);

/* {"amount":amount,"currency":currency,"formatted":"€12.50"} (new
 * reference), or NULL when out of memory. */
json_t *sf_money_json(int64_t amount, const char *currency);

#endif
