/*
 * coupon.c — coupon rules, redemption and creation (coupon.h).
 */
#include "shop/coupon.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "audit/audit.h"
#include "core/log.h"
#include "core/util.h"
#include "db/db.h"
#include "shop/money.h"

enum sf_err sf_coupon_normalize(const char *in, char *out)
{
	out[0] = '\0';
	if (!in)
		return SF_ERR_COUPON_INVALID;
	while (*in == ' ' || *in == '\t')
		in++;
	size_t n = strlen(in);
	while (n > 0 && (in[n - 1] == ' ' || in[n - 1] == '\t'))
		n--;
	if (n < SF_COUPON_CODE_MIN || n > SF_COUPON_CODE_MAX)
		return SF_ERR_COUPON_INVALID;
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)in[i];
		if (!isascii(ch) || !(isalnum(ch) || ch == '-' || ch == '_')) {
			out[0] = '\0';
			return SF_ERR_COUPON_INVALID;
		}
		out[i] = (char)toupper(ch);
	}
	out[n] = '\0';
	return SF_OK;
}

int64_t sf_coupon_discount(const struct sf_coupon *cp, int64_t subtotal)
{
	if (!cp || subtotal <= 0)
		return 0;
	int64_t d = cp->kind == SF_COUPON_PERCENT ? sf_money_div_round(subtotal * cp->value, 10000) : cp->value;
	return d < 0 ? 0 : d > subtotal ? subtotal : d;
}

enum sf_err sf_coupon_check(const struct sf_coupon *cp, int64_t subtotal, const char *currency, int64_t now,
			    int64_t customer_id)
{
	if (!cp->active)
		return SF_ERR_COUPON_INVALID;
	if (cp->kind == SF_COUPON_FIXED && cp->currency[0] && currency && strcmp(cp->currency, currency) != 0)
		return SF_ERR_COUPON_INVALID;
	if ((cp->starts_at && now < cp->starts_at) || (cp->ends_at && now >= cp->ends_at))
		return SF_ERR_COUPON_EXPIRED;
	if (cp->max_per_customer && customer_id <= 0)
		return SF_ERR_COUPON_LOGIN;
	if (cp->max_uses && cp->uses >= cp->max_uses)
		return SF_ERR_COUPON_USED_UP;
	if (subtotal < cp->min_order)
		return SF_ERR_COUPON_MIN_ORDER;
	return SF_OK;
}

static void read_coupon(struct sf_db_cursor *cur, void *ctx)
{
	struct sf_coupon *cp = ctx;
	memset(cp, 0, sizeof *cp);
	cp->id = sf_db_col_int(cur, 0);
	sf_strlcpy(cp->code, sf_db_col_text(cur, 1, NULL), sizeof cp->code);
	cp->kind = strcmp(sf_db_col_text(cur, 2, NULL), "fixed") == 0 ? SF_COUPON_FIXED : SF_COUPON_PERCENT;
	cp->value = sf_db_col_int(cur, 3);
	sf_strlcpy(cp->currency, sf_db_col_text(cur, 4, NULL), sizeof cp->currency);
	cp->min_order = sf_db_col_int(cur, 5);
	cp->starts_at = sf_db_col_int(cur, 6);
	cp->ends_at = sf_db_col_int(cur, 7);
	cp->max_uses = sf_db_col_int(cur, 8);
	cp->max_per_customer = sf_db_col_int(cur, 9);
	cp->uses = sf_db_col_int(cur, 10);
	cp->active = sf_db_col_int(cur, 11) != 0;
}

enum sf_err sf_coupon_load(struct sf_db_conn *c, const char *code, struct sf_coupon *out)
{
	struct sf_db_param p = SF_DB_TEXT(code);
	enum sf_db_status st = sf_db_query_one(c, SF_STMT_COUPON_BY_CODE, &p, 1, read_coupon, out);
	if (st == SF_DB_NO_ROWS)
		return SF_ERR_COUPON_INVALID;
	return sf_db_err(st);
}

static void read_i64(struct sf_db_cursor *cur, void *ctx)
{
	*(int64_t *)ctx = sf_db_col_int(cur, 0);
}

enum sf_err sf_coupon_redeem(struct sf_db_conn *c, const struct sf_coupon *cp, int64_t order_id, int64_t customer_id)
{
	enum sf_db_status st;
	if (cp->max_per_customer) {
		int64_t used = 0;
		struct sf_db_param q[] = {SF_DB_INT(cp->id), SF_DB_INT(customer_id)};
		if (customer_id <= 0)
			return SF_ERR_COUPON_LOGIN;
		st = sf_db_query_one(c, SF_STMT_COUPON_CUSTOMER_USES, q, 2, read_i64, &used);
		if (st < 0)
			return sf_db_err(st);
		if (used >= cp->max_per_customer)
			return SF_ERR_COUPON_USED_UP;
	}
	struct sf_db_param t = SF_DB_INT(cp->id);
	int64_t changed = 0;
	st = sf_db_exec(c, SF_STMT_COUPON_TAKE, &t, 1, &changed);
	if (st < 0)
		return sf_db_err(st);
	if (changed != 1)
		return SF_ERR_COUPON_USED_UP;
	struct sf_db_param u[] = {SF_DB_INT(cp->id), SF_DB_INT(order_id),
				  customer_id > 0 ? SF_DB_INT(customer_id) : SF_DB_NULL, SF_DB_INT(sf_shop_now())};
	st = sf_db_exec(c, SF_STMT_COUPON_USE_INSERT, u, 4, NULL);
	return st < 0 ? sf_db_err(st) : SF_OK;
}

enum sf_err sf_coupon_release(struct sf_db_conn *c, int64_t order_id)
{
	int64_t coupon_id = 0;
	struct sf_db_param p = SF_DB_INT(order_id);
	enum sf_db_status st = sf_db_query_one(c, SF_STMT_COUPON_USE_BY_ORDER, &p, 1, read_i64, &coupon_id);
	if (st == SF_DB_NO_ROWS)
		return SF_OK;
	if (st < 0)
		return sf_db_err(st);
	st = sf_db_exec(c, SF_STMT_COUPON_USE_DELETE, &p, 1, NULL);
	if (st < 0)
		return sf_db_err(st);
	struct sf_db_param g = SF_DB_INT(coupon_id);
	st = sf_db_exec(c, SF_STMT_COUPON_GIVE_BACK, &g, 1, NULL);
	return st < 0 ? sf_db_err(st) : SF_OK;
}

struct create_ctx {
	const struct sf_coupon *spec;
	const char *code;
	const struct sf_keyring *kr;
	const struct sf_shop_actor *actor;
	int64_t id;
	enum sf_err err;
};

static enum sf_db_status create_txn(struct sf_db_conn *c, void *vctx)
{
	struct create_ctx *x = vctx;
	const struct sf_coupon *s = x->spec;
	x->err = SF_OK;
	struct sf_db_param p[] = {
		SF_DB_TEXT(x->code),
		SF_DB_TEXT(s->kind == SF_COUPON_FIXED ? "fixed" : "percent"),
		SF_DB_INT(s->value),
		s->currency[0] ? SF_DB_TEXT(s->currency) : SF_DB_NULL,
		SF_DB_INT(s->min_order),
		s->starts_at ? SF_DB_INT(s->starts_at) : SF_DB_NULL,
		s->ends_at ? SF_DB_INT(s->ends_at) : SF_DB_NULL,
		s->max_uses ? SF_DB_INT(s->max_uses) : SF_DB_NULL,
		s->max_per_customer ? SF_DB_INT(s->max_per_customer) : SF_DB_NULL,
		SF_DB_INT(sf_shop_now()),
	};
	enum sf_db_status st = sf_db_exec(c, SF_STMT_COUPON_INSERT, p, 10, NULL);
	if (st < 0)
		return st;
	x->id = sf_db_last_id(c);
	char oid[24], detail[160];
	snprintf(oid, sizeof oid, "%" PRId64, x->id);
	snprintf(detail, sizeof detail, "{\"code\":\"%s\",\"kind\":\"%s\",\"value\":%" PRId64 "}", x->code,
		 s->kind == SF_COUPON_FIXED ? "fixed" : "percent", s->value);
	struct sf_audit_event ev = {
		.actor_type = x->actor && x->actor->type ? x->actor->type : "system",
		.actor_id = x->actor ? x->actor->id : NULL,
		.ip = x->actor ? x->actor->ip : NULL,
		.action = "coupon.create",
		.object_type = "coupon",
		.object_id = oid,
		.outcome = "success",
		.request_id = x->actor ? x->actor->request_id : NULL,
		.detail = detail,
	};
	x->err = sf_audit_append(c, x->kr, &ev);
	return sf_db_status_from_err(x->err);
}

enum sf_err sf_coupon_create(struct sf_db *db, const struct sf_keyring *kr, const struct sf_coupon *spec,
			     const struct sf_shop_actor *actor, int64_t *id)
{
	char code[SF_COUPON_CODE_MAX + 1];
	enum sf_err err = sf_coupon_normalize(spec->code, code);
	if (err)
		return err;
	/* the code is stored and audited as it is: it may fit the code's
	 * pattern and still be a card number */
	if (sf_log_has_card(code, strlen(code)))
		return SF_ERR_CARD_DATA;
	if (spec->value <= 0 || (spec->kind == SF_COUPON_PERCENT && spec->value > 10000) ||
	    spec->value > SF_MONEY_MAX || spec->min_order < 0 || spec->min_order > SF_MONEY_MAX ||
	    spec->max_uses < 0 || spec->max_per_customer < 0 ||
	    (spec->starts_at && spec->ends_at && spec->ends_at <= spec->starts_at) ||
	    (spec->currency[0] && !sf_money_currency_ok(spec->currency)))
		return SF_ERR_INVALID;
	struct create_ctx x = {.spec = spec, .code = code, .kr = kr, .actor = actor};
	enum sf_db_status st = sf_db_txn(db, create_txn, &x, 8);
	if (st < 0)
		return x.err ? x.err : sf_db_err(st);
	if (id)
		*id = x.id;
	return SF_OK;
}
