/*
 * stock.c — reservations and give-backs that report whether the public
 * availability band changed (stock.h).
 */
#include "shop/stock.h"

#include "db/db.h"

int sf_stock_band(int64_t stock)
{
	return stock <= 0 ? 0 : stock < SF_STOCK_LOW ? 1 : 2;
}

static void read_left(struct sf_db_cursor *cur, void *ctx)
{
	*(int64_t *)ctx = sf_db_col_int(cur, 0);
}

/* Run stmt (qty, variant) RETURNING the stock now; before = now + delta. */
static enum sf_err change(struct sf_db_conn *c, enum sf_stmt stmt, int64_t variant_id, int64_t qty,
			  int64_t delta, int *flipped, int missing)
{
	int64_t left = 0;
	struct sf_db_param p[] = {SF_DB_INT(qty), SF_DB_INT(variant_id)};
	enum sf_db_status st = sf_db_query_one(c, stmt, p, 2, read_left, &left);
	if (st == SF_DB_NO_ROWS)
		return missing;
	if (st < 0)
		return sf_db_err(st);
	if (sf_stock_band(left) != sf_stock_band(left + delta))
		*flipped = 1;
	return SF_OK;
}

enum sf_err sf_stock_take(struct sf_db_conn *c, int64_t variant_id, int64_t qty, int *flipped)
{
	if (qty < 1)
		return SF_ERR_QUANTITY;
	return change(c, SF_STMT_STOCK_TAKE_LEFT, variant_id, qty, qty, flipped, SF_ERR_OUT_OF_STOCK);
}

enum sf_err sf_stock_return(struct sf_db_conn *c, int64_t variant_id, int64_t qty, int *flipped)
{
	return change(c, SF_STMT_STOCK_RETURN_LEFT, variant_id, qty, -qty, flipped, SF_OK);
}
