/*
 * shipping.c — shipping methods and rates (shipping.h).
 */
#include "shop/shipping.h"

#include <string.h>

#include "core/util.h"
#include "db/db.h"
#include "shop/money.h"

int64_t sf_shipping_rate(const struct sf_ship_method *m, int64_t goods, int64_t weight_g)
{
	if (m->free_above >= 0 && goods >= m->free_above)
		return 0;
	int64_t rate = m->base;
	if (m->kind == SF_SHIP_WEIGHT && weight_g > 0) {
		int64_t kg = (weight_g + 999) / 1000;
		rate += kg * m->per_kg;
	}
	return rate < 0 ? 0 : rate > SF_MONEY_MAX ? SF_MONEY_MAX : rate;
}

enum sf_err sf_shipping_methods(struct sf_db_conn *c, struct sf_ship_method *out, size_t max, size_t *n)
{
	struct sf_db_cursor *cur = NULL;
	enum sf_err err = SF_OK;
	*n = 0;
	enum sf_db_status st = sf_db_query(c, SF_STMT_SHIP_METHODS, NULL, 0, &cur);
	if (st != SF_DB_OK)
		return sf_db_err(st);
	while ((st = sf_db_next(cur)) == SF_DB_OK && *n < max) {
		struct sf_ship_method *m = &out[*n];
		memset(m, 0, sizeof *m);
		sf_strlcpy(m->code, sf_db_col_text(cur, 0, NULL), sizeof m->code);
		/* the back office keeps names to the buffer; one written otherwise
		 * is cut at a character boundary, never inside a character */
		if (sf_strlcpy(m->name, sf_db_col_text(cur, 1, NULL), sizeof m->name))
			sf_utf8_clip(m->name);
		m->kind = strcmp(sf_db_col_text(cur, 2, NULL), "weight") == 0 ? SF_SHIP_WEIGHT : SF_SHIP_FLAT;
		m->base = sf_db_col_int(cur, 3);
		m->per_kg = sf_db_col_int(cur, 4);
		m->free_above = sf_db_col_is_null(cur, 5) ? -1 : sf_db_col_int(cur, 5);
		int64_t bp = sf_db_col_int(cur, 6);
		if (bp < 0 || bp > 10000) {
			err = SF_ERR_INTERNAL;
			break;
		}
		m->rate_bp = (int32_t)bp;
		(*n)++;
	}
	if (!err && st < 0)
		err = sf_db_err(st);
	sf_db_cursor_close(cur);
	return err;
}

const struct sf_ship_method *sf_shipping_find(const struct sf_ship_method *m, size_t n, const char *code)
{
	if (!code)
		return NULL;
	for (size_t i = 0; i < n; i++)
		if (strcmp(m[i].code, code) == 0)
			return &m[i];
	return NULL;
}
