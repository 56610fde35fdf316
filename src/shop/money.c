/*
 * money.c — rounding and proportional allocation (money.h).
 */
#include "shop/money.h"

#include <assert.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "shop/catalog.h"

/* ==== Currencies ==== */

int sf_money_decimals(const char *currency)
{
	/* Stripe's zero- and three-decimal currencies ("Supported currencies"):
	 * amounts go to the provider as storefort keeps them. */
	static const char zero[] = "BIF CLP DJF GNF JPY KMF KRW MGA PYG RWF UGX VND VUV XAF XOF XPF";
	static const char three[] = "BHD JOD KWD OMR TND";
	if (!sf_money_currency_ok(currency)) /* then a match is one whole code */
		return 2;
	if (strstr(zero, currency))
		return 0;
	if (strstr(three, currency))
		return 3;
	return 2;
}

int sf_money_currency_ok(const char *c)
{
	return c && strlen(c) == 3 && c[0] >= 'A' && c[0] <= 'Z' && c[1] >= 'A' && c[1] <= 'Z' && c[2] >= 'A' &&
	       c[2] <= 'Z';
}

int sf_money_parse(const char *s, const char *currency, int64_t *out)
{
	const int dec = currency ? sf_money_decimals(currency) : 2;
	int64_t whole = 0, frac = 0;
	size_t i = 0, digits = 0, fd = 0;
	if (!s)
		return -1;
	for (; s[i] >= '0' && s[i] <= '9'; i++, digits++) {
		if (digits >= 12)
			return -1;
		whole = whole * 10 + (s[i] - '0');
	}
	if (s[i] == '.') {
		for (i++; s[i] >= '0' && s[i] <= '9'; i++, fd++) {
			if ((int)fd >= dec)
				return -1;
			frac = frac * 10 + (s[i] - '0');
		}
		if (fd == 0)
			return -1;
	}
	if (s[i] || digits == 0)
		return -1;
	for (int k = (int)fd; k < dec; k++)
		frac *= 10;
	int64_t scale = 1;
	for (int k = 0; k < dec; k++)
		scale *= 10;
	*out = whole * scale + frac;
	return 0;
}

void sf_money_plain(int64_t amount, const char *currency, char *out, size_t outlen)
{
	const int dec = sf_money_decimals(currency);
	const int64_t scale = dec == 0 ? 1 : dec == 3 ? 1000 : 100;
	if (dec == 0)
		snprintf(out, outlen, "%" PRId64, amount);
	else
		snprintf(out, outlen, "%" PRId64 ".%0*" PRId64, amount / scale, dec, amount % scale);
}

/* ==== Rounding and allocation ==== */

int64_t sf_money_div_round(int64_t num, int64_t den)
{
	assert(den > 0);
	if (num >= 0)
		return (2 * num + den) / (2 * den);
	return -((2 * -num + den) / (2 * den));
}

void sf_money_allocate(int64_t amount, const int64_t *weights, size_t n, int64_t *out)
{
	int64_t total = 0, given = 0;
	for (size_t i = 0; i < n; i++)
		total += weights[i];
	for (size_t i = 0; i < n; i++)
		out[i] = 0;
	if (total <= 0 || amount <= 0)
		return;
	assert(amount <= total && total <= SF_MONEY_MAX);
	for (size_t i = 0; i < n; i++) {
		out[i] = amount * weights[i] / total;
		given += out[i];
	}
	/* Hand out what is left one unit at a time, largest remainder first.
	 * At most n - 1 units remain, so this loop is O(n^2) on a cart of at most
	 * a few hundred lines. */
	while (given < amount) {
		size_t best = n;
		int64_t best_rem = -1;
		for (size_t i = 0; i < n; i++) {
			int64_t rem = amount * weights[i] % total;
			if (out[i] * total == amount * weights[i] - rem && rem > best_rem) {
				best = i;
				best_rem = rem;
			}
		}
		if (best == n || best_rem <= 0)
			break;
		out[best]++;
		given++;
	}
}

json_t *sf_money_json(int64_t amount, const char *currency)
{
	char text[64];
	sf_money_format(amount, currency, text, sizeof text);
	/* Built by hand, not with json_pack: every amount of every cart, order
	 * and report goes through here, and parsing the format string was 2 %
	 * of the server's CPU under the checkout benchmark. */
	json_t *o = json_object();
	if (!o)
		return NULL;
	if (json_object_set_new_nocheck(o, "amount", json_integer((json_int_t)amount)) != 0 ||
	    json_object_set_new_nocheck(o, "currency", json_string(currency ? currency : "")) != 0 ||
	    json_object_set_new_nocheck(o, "formatted", json_string(text)) != 0) {
		json_decref(o);
		return NULL;
	}
	return o;
}
