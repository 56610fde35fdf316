/*
 * inventory.c — audited stock adjustments (inventory.h).
 */
#include "shop/inventory.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit/audit.h"
#include "core/log.h"
#include "core/util.h"
#include "db/db.h"
#include "shop/catalog_cache.h"

int sf_bo_text_ok(const char *s, size_t max)
{
	size_t n = s ? strlen(s) : 0;
	if (n < 1 || n > max || !sf_utf8_valid(s, n, 1))
		return 0;
	for (size_t i = 0; i < n; i++) { /* one line: no tab, CR or LF either */
		if ((unsigned char)s[i] < 0x20)
			return 0;
	}
	return 1;
}

struct adj {
	const struct sf_keyring *kr;
	int64_t variant_id, delta, after;
	const char *reason;
	const struct sf_shop_actor *actor;
	enum sf_err err;
};

static void stock_fn(struct sf_db_cursor *cur, void *ctx)
{
	*(int64_t *)ctx = sf_db_col_int(cur, 3);
}

static enum sf_db_status adj_txn(struct sf_db_conn *c, void *ctx)
{
	struct adj *a = ctx;
	struct sf_db_param id[] = {SF_DB_INT(a->variant_id)};
	int64_t before = -1;
	enum sf_db_status st = sf_db_query_one(c, SF_STMT_BO_VARIANT_GET, id, 1, stock_fn, &before);
	if (st == SF_DB_NO_ROWS) {
		a->err = SF_ERR_NOT_FOUND;
		return SF_DB_HARD;
	}
	if (st != SF_DB_OK)
		return st;
	struct sf_db_param up[] = {SF_DB_INT(a->variant_id), SF_DB_INT(a->delta)};
	st = sf_db_exec(c, SF_STMT_BO_STOCK_ADJUST, up, 2, NULL);
	if (st == SF_DB_NO_ROWS) {
		a->err = SF_ERR_OUT_OF_STOCK;
		return SF_DB_HARD;
	}
	if (st != SF_DB_OK)
		return st;
	a->after = before + a->delta;
	struct sf_db_param ins[] = {SF_DB_INT(a->variant_id), SF_DB_INT(a->delta), SF_DB_INT(a->after),
				    SF_DB_TEXT(a->reason), SF_DB_TEXT_OR_NULL(a->actor->id),
				    SF_DB_INT(sf_shop_now())};
	st = sf_db_exec(c, SF_STMT_BO_INVENTORY_INSERT, ins, 6, NULL);
	if (st != SF_DB_OK)
		return st;
	char oid[24];
	snprintf(oid, sizeof oid, "%" PRId64, a->variant_id);
	json_t *d = json_pack("{s:I,s:I,s:I,s:s}", "delta", (json_int_t)a->delta, "before", (json_int_t)before,
			      "after", (json_int_t)a->after, "reason", a->reason);
	char *detail = d ? json_dumps(d, JSON_COMPACT) : NULL;
	json_decref(d);
	if (!detail) {
		a->err = SF_ERR_NOMEM;
		return SF_DB_HARD;
	}
	struct sf_audit_event ev = {
		.actor_type = a->actor->type, .actor_id = a->actor->id, .ip = a->actor->ip,
		.action = "inventory.adjust", .object_type = "variant", .object_id = oid,
		.outcome = "success", .request_id = a->actor->request_id, .detail = detail,
	};
	enum sf_err err = sf_audit_append(c, a->kr, &ev);
	free(detail);
	if (err) {
		a->err = err == SF_ERR_DB_CONFLICT ? SF_OK : err;
		return sf_db_status_from_err(err);
	}
	return sf_catalog_touch(c);
}

enum sf_err sf_inventory_adjust(struct sf_db *db, const struct sf_keyring *kr, int64_t variant_id, int64_t delta,
				const char *reason, const struct sf_shop_actor *actor, int64_t *stock_after,
				const char **why)
{
	*why = NULL;
	if (delta == 0 || delta > SF_INVENTORY_DELTA_MAX || delta < -SF_INVENTORY_DELTA_MAX) {
		*why = "The change must be a non-zero whole number of units.";
		return SF_ERR_BAD_PARAM;
	}
	if (!sf_bo_text_ok(reason, SF_INVENTORY_REASON_MAX)) {
		*why = "Give a reason (at most 200 characters).";
		return SF_ERR_BAD_PARAM;
	}
	if (sf_log_has_card(reason, strlen(reason)))
		return SF_ERR_CARD_DATA;
	struct adj a = {.kr = kr, .variant_id = variant_id, .delta = delta, .reason = reason, .actor = actor};
	enum sf_db_status st = sf_db_txn(db, adj_txn, &a, 5);
	if (a.err)
		return a.err;
	if (st < 0)
		return sf_db_err(st);
	if (stock_after)
		*stock_after = a.after;
	return SF_OK;
}

enum sf_err sf_inventory_history(struct sf_db *db, int64_t product_id, int64_t limit, json_t **out)
{
	*out = NULL;
	if (limit < 1 || limit > 200)
		return SF_ERR_INVALID;
	struct sf_db_conn *c = sf_db_conn_get(db);
	if (!c)
		return SF_ERR_UNAVAILABLE;
	struct sf_db_param p[] = {SF_DB_INT(product_id), SF_DB_INT(limit)};
	struct sf_db_cursor *cur;
	enum sf_db_status st = sf_db_query(c, SF_STMT_BO_INVENTORY_LIST, p, 2, &cur);
	if (st != SF_DB_OK)
		return sf_db_err(st);
	json_t *items = json_array();
	int bad = !items;
	while (!bad && (st = sf_db_next(cur)) == SF_DB_OK) {
		bad = json_array_append_new(items, json_pack("{s:s,s:I,s:I,s:s,s:s,s:I}", "sku",
							     sf_db_col_text(cur, 0, NULL), "delta",
							     (json_int_t)sf_db_col_int(cur, 1), "stock_after",
							     (json_int_t)sf_db_col_int(cur, 2), "reason",
							     sf_db_col_text(cur, 3, NULL), "by", sf_db_col_text(cur, 4, NULL),
							     "at", (json_int_t)sf_db_col_int(cur, 5)));
	}
	sf_db_cursor_close(cur);
	if (bad || st < 0) {
		json_decref(items);
		return bad ? SF_ERR_NOMEM : sf_db_err(st);
	}
	*out = json_pack("{s:o,s:b}", "items", items, "has_items", json_array_size(items) > 0);
	return *out ? SF_OK : SF_ERR_NOMEM;
}
