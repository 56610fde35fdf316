/*
 * money.c — rounding and proportional allocation (money.h).
 */
#include "shop/money.h"

#include <assert.h>

#include "shop/catalog.h"

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
