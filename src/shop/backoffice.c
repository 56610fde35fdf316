/*
 * backoffice.c — back-office reads and audited writes (backoffice.h).
 */
#include "shop/backoffice.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit/audit.h"
#include "core/log.h"
#include "core/util.h"
#include "crypto/keyring.h"
#include "db/db.h"
#include "shop/catalog.h"
#include "shop/catalog_cache.h"
#include "shop/catalog_internal.h"
#include "shop/customer.h"
#include "shop/inventory.h"
#include "shop/money.h"
#include "shop/order.h"
#include "shop/shipping.h"

#define EMAIL_DOMAIN "customer-email" /* customer.c's blind index domain */
#define MASK "••••••"

/* ==== Helpers ==== */

static struct sf_db_conn *conn(struct sf_db *db)
{
	return db ? sf_db_conn_get(db) : NULL;
}

/* Optional free text: NULL/"" allowed when min is 0; else checked like
 * sf_bo_text_ok, plus no card number. */
static enum sf_err text_in(const char *s, size_t min, size_t max)
{
	size_t n = s ? strlen(s) : 0;
	/* tab, CR and LF only in long texts */
	if (n < min || n > max || (n && !sf_utf8_valid(s, n, max > 200 ? 1 : SF_UTF8_LINE)))
		return SF_ERR_BAD_PARAM;
	return n && sf_log_has_card(s, n) ? SF_ERR_CARD_DATA : SF_OK;
}

static char *dump(json_t *detail)
{
	char *s = detail ? json_dumps(detail, JSON_COMPACT) : NULL;
	json_decref(detail);
	return s;
}

/* One audited write: an optional existence check, one statement, the audit
 * event, and (touch) the catalog version. */
struct bo_w {
	const struct sf_keyring *kr;
	const struct sf_shop_actor *actor;
	enum sf_stmt check;         /* SF_STMT__COUNT: none */
	const struct sf_db_param *cp;
	size_t ncp;
	enum sf_stmt stmt;
	const struct sf_db_param *p;
	size_t np;
	const char *action, *otype;
	char oid[40];
	int oid_from_insert;
	const char *detail;
	int touch;
	int64_t new_id;
	enum sf_err err;
};

static void exists_fn(struct sf_db_cursor *cur, void *ctx)
{
	(void)cur;
	*(int *)ctx = 1;
}

static enum sf_db_status bo_fail(struct bo_w *w, enum sf_err err)
{
	w->err = err;
	return SF_DB_HARD;
}

static enum sf_db_status bo_txn(struct sf_db_conn *c, void *ctx)
{
	struct bo_w *w = ctx;
	enum sf_db_status st;
	if (w->check != SF_STMT__COUNT) {
		int found = 0;
		st = sf_db_query_one(c, w->check, w->cp, w->ncp, exists_fn, &found);
		if (st == SF_DB_NO_ROWS)
			return bo_fail(w, SF_ERR_NOT_FOUND);
		if (st != SF_DB_OK)
			return st;
	}
	st = sf_db_exec(c, w->stmt, w->p, w->np, NULL);
	if (st == SF_DB_NO_ROWS)
		return bo_fail(w, SF_ERR_NOT_FOUND);
	if (st == SF_DB_CONSTRAINT)
		return bo_fail(w, SF_ERR_DB_CONSTRAINT);
	if (st != SF_DB_OK)
		return st;
	if (w->oid_from_insert) {
		w->new_id = sf_db_last_id(c);
		snprintf(w->oid, sizeof w->oid, "%" PRId64, w->new_id);
	}
	struct sf_audit_event ev = {
		.actor_type = w->actor->type, .actor_id = w->actor->id, .ip = w->actor->ip,
		.action = w->action, .object_type = w->otype, .object_id = w->oid[0] ? w->oid : NULL,
		.outcome = "success", .request_id = w->actor->request_id, .detail = w->detail,
	};
	enum sf_err err = sf_audit_append(c, w->kr, &ev);
	if (err)
		return err == SF_ERR_DB_CONFLICT ? SF_DB_RETRY : bo_fail(w, err);
	return w->touch ? sf_catalog_touch(c) : SF_DB_OK;
}

static enum sf_err bo_run(struct sf_db *db, struct bo_w *w)
{
	if (!w->detail)
		return SF_ERR_NOMEM;
	enum sf_db_status st = sf_db_txn(db, bo_txn, w, 5);
	return w->err ? w->err : st < 0 ? sf_db_err(st) : SF_OK;
}

/* Set the statement of w and run it: for an insert (new_object) the audit
 * object id is the new row's id, else id. */
static enum sf_err bo_exec(struct sf_db *db, struct bo_w *w, enum sf_stmt stmt, const struct sf_db_param *p,
			   size_t np, const char *action, int64_t id)
{
	w->stmt = stmt;
	w->p = p;
	w->np = np;
	w->action = action;
	w->oid_from_insert = id == 0;
	if (id)
		snprintf(w->oid, sizeof w->oid, "%" PRId64, id);
	return bo_run(db, w);
}

static void w_oid(struct bo_w *w, int64_t id)
{
	snprintf(w->oid, sizeof w->oid, "%" PRId64, id);
}

static json_t *money(int64_t v, const char *cy)
{
	char b[48];
	sf_money_format(v, cy, b, sizeof b);
	return json_string(b);
}

/* Run a query and turn each row into a JSON object with fn; the result is
 * {"items":[…],"has_items"}; *rows counts them. */
typedef json_t *(*row_fn)(struct sf_db_cursor *cur);
static enum sf_err list(struct sf_db *db, enum sf_stmt id, const struct sf_db_param *p, size_t np, row_fn fn,
			int64_t keep, int64_t *rows, int *more, json_t **out)
{
	*out = NULL;
	struct sf_db_conn *c = conn(db);
	if (!c)
		return SF_ERR_UNAVAILABLE;
	struct sf_db_cursor *cur;
	enum sf_db_status st = sf_db_query(c, id, p, np, &cur);
	if (st != SF_DB_OK)
		return sf_db_err(st);
	json_t *items = json_array();
	int bad = !items;
	int64_t n = 0;
	if (more)
		*more = 0;
	while (!bad && (st = sf_db_next(cur)) == SF_DB_OK) {
		if (keep && n == keep) {
			if (more)
				*more = 1;
			break;
		}
		bad = json_array_append_new(items, fn(cur));
		n++;
	}
	sf_db_cursor_close(cur);
	if (rows)
		*rows = n;
	if (bad || st < 0) {
		json_decref(items);
		return bad ? SF_ERR_NOMEM : sf_db_err(st);
	}
	*out = json_pack("{s:o,s:b}", "items", items, "has_items", n > 0);
	return *out ? SF_OK : SF_ERR_NOMEM;
}

static enum sf_err count_of(struct sf_db *db, enum sf_stmt id, const struct sf_db_param *p, size_t np, int64_t *n)
{
	struct sf_db_conn *c = conn(db);
	if (!c)
		return SF_ERR_UNAVAILABLE;
	struct sf_db_cursor *cur;
	enum sf_db_status st = sf_db_query(c, id, p, np, &cur);
	if (st != SF_DB_OK)
		return sf_db_err(st);
	st = sf_db_next(cur);
	*n = st == SF_DB_OK ? sf_db_col_int(cur, 0) : 0;
	sf_db_cursor_close(cur);
	return st < 0 ? sf_db_err(st) : SF_OK;
}

/* ==== Dashboard ==== */

static json_t *low_row(struct sf_db_cursor *cur)
{
	return json_pack("{s:I,s:s,s:s,s:I,s:s,s:I}", "variant_id", (json_int_t)sf_db_col_int(cur, 0), "sku",
			 sf_db_col_text(cur, 1, NULL), "variant", sf_db_col_text(cur, 2, NULL), "product_id",
			 (json_int_t)sf_db_col_int(cur, 3), "product", sf_db_col_text(cur, 4, NULL), "stock",
			 (json_int_t)sf_db_col_int(cur, 5));
}

enum sf_err sf_bo_low_stock(struct sf_db *db, int64_t threshold, int64_t limit, json_t **out)
{
	*out = NULL;
	if (limit < 1 || limit > 500 || threshold < 0)
		return SF_ERR_INVALID;
	struct sf_db_param p[] = {SF_DB_INT(threshold), SF_DB_INT(limit)};
	return list(db, SF_STMT_BO_LOW_STOCK, p, 2, low_row, 0, NULL, NULL, out);
}

/* A refund to send that is not done (payment.h): a staff refund or a
 * payment that came too late. */
static json_t *refund_row(struct sf_db_cursor *cur)
{
	const char *cy = sf_db_col_text(cur, 4, NULL);
	return json_pack("{s:s,s:I,s:s,s:o,s:s?,s:I}", "kind", sf_db_col_text(cur, 0, NULL), "order_id",
			 (json_int_t)sf_db_col_int(cur, 1), "status", sf_db_col_text(cur, 2, NULL), "amount_text",
			 money(sf_db_col_int(cur, 3), cy), "error",
			 sf_db_col_is_null(cur, 5) ? NULL : sf_db_col_text(cur, 5, NULL), "updated_at",
			 (json_int_t)sf_db_col_int(cur, 6));
}

enum sf_err sf_bo_dashboard(struct sf_db *db, int64_t threshold, json_t **out)
{
	int64_t to_ship = 0, failed = 0;
	*out = NULL;
	enum sf_err err = count_of(db, SF_STMT_BO_ORDERS_TO_SHIP, NULL, 0, &to_ship);
	if (!err)
		err = count_of(db, SF_STMT_BO_REFUNDS_FAILED, NULL, 0, &failed);
	if (err)
		return err;
	json_t *low, *refunds;
	struct sf_db_param lim = SF_DB_INT(10);
	err = list(db, SF_STMT_BO_REFUNDS_OPEN, &lim, 1, refund_row, 0, NULL, NULL, &refunds);
	if (err)
		return err;
	err = sf_bo_low_stock(db, threshold, 10, &low);
	if (err) {
		json_decref(refunds);
		return err;
	}
	*out = json_pack("{s:I,s:O,s:O,s:I,s:O,s:O}", "orders_to_ship", (json_int_t)to_ship, "low_stock",
			 json_object_get(low, "items"), "has_low_stock", json_object_get(low, "has_items"),
			 "refunds_failed", (json_int_t)failed, "refunds_open", json_object_get(refunds, "items"),
			 "has_refunds_open", json_object_get(refunds, "has_items"));
	json_decref(low);
	json_decref(refunds);
	return *out ? SF_OK : SF_ERR_NOMEM;
}

/* ==== Orders ==== */

static json_t *order_row(struct sf_db_cursor *cur)
{
	const char *cy = sf_db_col_text(cur, 2, NULL);
	return json_pack("{s:I,s:s,s:s,s:I,s:o,s:I,s:o,s:I}", "id", (json_int_t)sf_db_col_int(cur, 0), "status",
			 sf_db_col_text(cur, 1, NULL), "currency", cy, "total", (json_int_t)sf_db_col_int(cur, 3),
			 "total_text", money(sf_db_col_int(cur, 3), cy), "created_at", (json_int_t)sf_db_col_int(cur, 4),
			 "customer_id",
			 sf_db_col_is_null(cur, 5) ? json_null() : json_integer(sf_db_col_int(cur, 5)), "items",
			 (json_int_t)sf_db_col_int(cur, 6));
}

static enum sf_err paged(json_t *page, int more, const char *idkey)
{
	json_t *items = json_object_get(page, "items");
	json_t *last = json_array_get(items, json_array_size(items) - 1);
	json_t *nb = more && last ? json_incref(json_object_get(last, idkey)) : json_null();
	return json_object_set_new(page, "next_before", nb) ? SF_ERR_NOMEM : SF_OK;
}

enum sf_err sf_bo_orders(struct sf_db *db, const struct sf_bo_order_filter *f, json_t **out)
{
	enum sf_order_status s;
	*out = NULL;
	if (f->status && sf_order_status_parse(f->status, &s))
		return SF_ERR_BAD_PARAM;
	struct sf_db_param from = f->from ? SF_DB_INT(f->from) : SF_DB_NULL;
	struct sf_db_param to = f->to ? SF_DB_INT(f->to) : SF_DB_NULL;
	const int64_t lim = SF_BO_PAGE + 1;
	int more = 0;
	enum sf_err err;
	if (f->customer_id) {
		struct sf_db_param p[] = {SF_DB_INT(f->customer_id), SF_DB_TEXT_OR_NULL(f->status),
					  SF_DB_INT(f->before_id), from, to, SF_DB_INT(lim)};
		err = list(db, SF_STMT_BO_ORDER_LIST_CUSTOMER, p, 6, order_row, SF_BO_PAGE, NULL, &more, out);
	} else if (f->status) {
		struct sf_db_param p[] = {SF_DB_TEXT(f->status), SF_DB_INT(f->before_id), from, to, SF_DB_INT(lim)};
		err = list(db, SF_STMT_BO_ORDER_LIST_STATUS, p, 5, order_row, SF_BO_PAGE, NULL, &more, out);
	} else {
		struct sf_db_param p[] = {SF_DB_INT(f->before_id), from, to, SF_DB_INT(lim)};
		err = list(db, SF_STMT_BO_ORDER_LIST, p, 4, order_row, SF_BO_PAGE, NULL, &more, out);
	}
	return err ? err : paged(*out, more, "id");
}

/* ==== Customers ==== */

static json_t *cust_row(struct sf_db_cursor *cur)
{
	return json_pack("{s:I,s:b,s:I,s:b}", "id", (json_int_t)sf_db_col_int(cur, 0), "verified",
			 sf_db_col_int(cur, 1) != 0, "created_at", (json_int_t)sf_db_col_int(cur, 2), "locked",
			 sf_db_col_int(cur, 3) > sf_shop_now());
}

enum sf_err sf_bo_customers(struct sf_db *db, const struct sf_keyring *kr, const char *email, int64_t before_id,
			    json_t **out)
{
	*out = NULL;
	if (email && *email) {
		char norm[SF_CUSTOMER_EMAIL_MAX + 1];
		unsigned char idx[SF_BLIND_INDEX_LEN];
		if (!sf_customer_email_norm(email, norm, sizeof norm))
			return SF_ERR_BAD_PARAM;
		enum sf_err err = sf_blind_index(kr, EMAIL_DOMAIN, norm, strlen(norm), idx);
		if (err)
			return err;
		struct sf_db_param p[] = {SF_DB_BLOB(idx, sizeof idx)};
		err = list(db, SF_STMT_BO_CUSTOMER_BY_IDX, p, 1, cust_row, 0, NULL, NULL, out);
		return err ? err : paged(*out, 0, "id");
	}
	struct sf_db_param p[] = {SF_DB_INT(before_id), SF_DB_INT(SF_BO_PAGE + 1)};
	int more = 0;
	enum sf_err err = list(db, SF_STMT_BO_CUSTOMER_LIST, p, 2, cust_row, SF_BO_PAGE, NULL, &more, out);
	return err ? err : paged(*out, more, "id");
}

struct cust_read {
	const struct sf_keyring *kr;
	int64_t id;
	int reveal;
	const char *reason;
	const struct sf_shop_actor *actor;
	json_t *out;
	enum sf_err err;
};

static const char *const sealed_cols[] = {"email", "name", "phone", "birth_date"};

static void cust_fn(struct sf_db_cursor *cur, void *ctx)
{
	struct cust_read *r = ctx;
	int oom = 0;
	json_t *o = json_object();
	sf_json_put(&oom, o, "id", json_integer(sf_db_col_int(cur, 0)));
	sf_json_put(&oom, o, "verified", json_boolean(sf_db_col_int(cur, 1)));
	sf_json_put(&oom, o, "created_at", json_integer(sf_db_col_int(cur, 2)));
	sf_json_put(&oom, o, "locked", json_boolean(sf_db_col_int(cur, 3) > sf_shop_now()));
	sf_json_put(&oom, o, "failed_logins", json_integer(sf_db_col_int(cur, 4)));
	sf_json_put(&oom, o, "revealed", json_boolean(r->reveal));
	for (int i = 0; i < 4 && !r->err; i++) {
		size_t n = 0;
		const void *b = sf_db_col_blob(cur, 5 + i, &n);
		if (!b || !n) {
			sf_json_put(&oom, o, sealed_cols[i], json_string(""));
			continue;
		}
		if (!r->reveal) {
			sf_json_put(&oom, o, sealed_cols[i], json_string(MASK));
			continue;
		}
		char *pt = NULL;
		size_t ptn = 0;
		r->err = sf_unseal(r->kr, "customers", sealed_cols[i], r->id, b, n, &pt, &ptn);
		if (!r->err) {
			sf_json_put(&oom, o, sealed_cols[i], json_stringn(pt, ptn));
			sf_unsealed_free(pt, ptn);
		}
	}
	if (oom && !r->err)
		r->err = SF_ERR_NOMEM;
	json_decref(r->out);
	r->out = o;
}

static enum sf_db_status cust_txn(struct sf_db_conn *c, void *ctx)
{
	struct cust_read *r = ctx;
	struct sf_db_param p[] = {SF_DB_INT(r->id)};
	r->err = SF_OK;
	enum sf_db_status st = sf_db_query_one(c, SF_STMT_BO_CUSTOMER_GET, p, 1, cust_fn, r);
	if (st == SF_DB_NO_ROWS)
		r->err = SF_ERR_NOT_FOUND;
	if (st < 0 || r->err)
		return st < 0 ? st : SF_DB_HARD;
	if (!r->reveal)
		return SF_DB_OK;
	char oid[24];
	snprintf(oid, sizeof oid, "%" PRId64, r->id);
	char *detail = dump(json_pack("{s:s,s:[ssss]}", "reason", r->reason, "fields", "email", "name", "phone",
				      "birth_date"));
	if (!detail) {
		r->err = SF_ERR_NOMEM;
		return SF_DB_HARD;
	}
	struct sf_audit_event ev = {
		.actor_type = r->actor->type, .actor_id = r->actor->id, .ip = r->actor->ip,
		.action = "customer.reveal", .object_type = "customer", .object_id = oid,
		.outcome = "success", .request_id = r->actor->request_id, .detail = detail,
	};
	enum sf_err err = sf_audit_append(c, r->kr, &ev);
	free(detail);
	if (err == SF_ERR_DB_CONFLICT)
		return SF_DB_RETRY;
	r->err = err;
	return err ? SF_DB_HARD : SF_DB_OK;
}

enum sf_err sf_bo_customer(struct sf_db *db, const struct sf_keyring *kr, int64_t id, int reveal,
			   const char *reason, const struct sf_shop_actor *actor, json_t **out, const char **why)
{
	*out = NULL;
	*why = NULL;
	if (reveal) {
		enum sf_err err = text_in(reason, 3, SF_BO_REASON_MAX);
		if (err) {
			*why = "Say why you need to see this customer's data (3 to 200 characters).";
			return err;
		}
	}
	struct cust_read r = {.kr = kr, .id = id, .reveal = reveal, .reason = reason, .actor = actor};
	/* A reveal appends an audit event with the read: a write transaction. */
	enum sf_db_status st = reveal ? sf_db_txn(db, cust_txn, &r, 5) : sf_db_txn_read(db, cust_txn, &r, 5);
	enum sf_err err = r.err ? r.err : st < 0 ? sf_db_err(st) : SF_OK;
	int64_t n = 0;
	struct sf_db_param p[] = {SF_DB_INT(id)};
	if (!err)
		err = count_of(db, SF_STMT_BO_CUSTOMER_ORDER_COUNT, p, 1, &n);
	if (!err && json_object_set_new(r.out, "orders", json_integer(n)))
		err = SF_ERR_NOMEM;
	if (err) {
		json_decref(r.out);
		return err;
	}
	*out = r.out;
	return SF_OK;
}

/* ==== Catalog ==== */

static json_t *product_row(struct sf_db_cursor *cur)
{
	const char *cy = sf_db_col_text(cur, 5, NULL);
	return json_pack("{s:I,s:s,s:s,s:s,s:o,s:I,s:s}", "id", (json_int_t)sf_db_col_int(cur, 0), "slug",
			 sf_db_col_text(cur, 1, NULL), "name", sf_db_col_text(cur, 2, NULL), "status",
			 sf_db_col_text(cur, 3, NULL), "price_text",
			 sf_db_col_is_null(cur, 4) ? json_string("") : money(sf_db_col_int(cur, 4), cy), "stock",
			 (json_int_t)sf_db_col_int(cur, 6), "image", sf_db_col_text(cur, 7, NULL));
}

enum sf_err sf_bo_products(struct sf_db *db, const char *q, int64_t page, json_t **out)
{
	*out = NULL;
	if (page < 1 || page > SF_CATALOG_MAX_PAGE || (q && *q && text_in(q, 1, SF_CATALOG_MAX_QUERY)))
		return SF_ERR_BAD_PARAM;
	struct sf_db_param p[] = {q && *q ? SF_DB_TEXT(q) : SF_DB_NULL, SF_DB_INT(SF_BO_PAGE + 1),
				  SF_DB_INT((page - 1) * SF_BO_PAGE)};
	int more = 0;
	enum sf_err err = list(db, SF_STMT_BO_PRODUCT_LIST, p, 3, product_row, SF_BO_PAGE, NULL, &more, out);
	if (err)
		return err;
	if (json_object_set_new(*out, "page", json_integer(page)) ||
	    json_object_set_new(*out, "next", more ? json_integer(page + 1) : json_null()) ||
	    json_object_set_new(*out, "prev", page > 1 ? json_integer(page - 1) : json_null())) {
		json_decref(*out);
		*out = NULL;
		return SF_ERR_NOMEM;
	}
	return SF_OK;
}

static void product_fn(struct sf_db_cursor *cur, void *ctx)
{
	json_t **o = ctx;
	*o = json_pack("{s:I,s:s,s:s,s:s,s:I,s:s,s:s}", "id", (json_int_t)sf_db_col_int(cur, 0), "slug",
		       sf_db_col_text(cur, 1, NULL), "name", sf_db_col_text(cur, 2, NULL), "description",
		       sf_db_col_text(cur, 3, NULL), "category_id", (json_int_t)sf_db_col_int(cur, 4), "image",
		       sf_db_col_text(cur, 5, NULL), "status", sf_db_col_text(cur, 6, NULL));
}

static json_t *variant_row(struct sf_db_cursor *cur)
{
	const char *cy = sf_db_col_text(cur, 4, NULL);
	int64_t price = sf_db_col_int(cur, 3);
	char plain[32];
	sf_money_plain(price, cy, plain, sizeof plain);
	return json_pack("{s:I,s:s,s:s,s:I,s:s,s:o,s:s,s:I}", "id", (json_int_t)sf_db_col_int(cur, 0), "sku",
			 sf_db_col_text(cur, 1, NULL), "name", sf_db_col_text(cur, 2, NULL), "price", (json_int_t)price,
			 "currency", cy, "price_text", money(price, cy), "price_plain", plain, "stock",
			 (json_int_t)sf_db_col_int(cur, 5));
}

enum sf_err sf_bo_product(struct sf_db *db, int64_t id, json_t **out)
{
	*out = NULL;
	struct sf_db_conn *c = conn(db);
	if (!c)
		return SF_ERR_UNAVAILABLE;
	struct sf_db_param p[] = {SF_DB_INT(id)};
	json_t *o = NULL, *vs = NULL;
	enum sf_db_status st = sf_db_query_one(c, SF_STMT_BO_PRODUCT_GET, p, 1, product_fn, &o);
	if (st == SF_DB_NO_ROWS)
		return SF_ERR_NOT_FOUND;
	if (st != SF_DB_OK || !o) {
		json_decref(o);
		return st != SF_DB_OK ? sf_db_err(st) : SF_ERR_NOMEM;
	}
	enum sf_err err = list(db, SF_STMT_BO_VARIANTS, p, 1, variant_row, 0, NULL, NULL, &vs);
	if (!err && (json_object_set(o, "variants", json_object_get(vs, "items")) ||
		     json_object_set(o, "has_variants", json_object_get(vs, "has_items"))))
		err = SF_ERR_NOMEM;
	json_decref(vs);
	if (err) {
		json_decref(o);
		return err;
	}
	*out = o;
	return SF_OK;
}

static int slug_ok(const char *s, size_t max)
{
	size_t n = s ? strlen(s) : 0;
	if (n < 1 || n > max)
		return 0;
	for (size_t i = 0; i < n; i++) {
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '-'))
			return 0;
	}
	return 1;
}

/* A slug, SKU or tax class that fits its pattern can still spell a card
 * number (digits and '-'); these are stored and audited as they are, so
 * one is refused as card data, like any other field. */
static int spells_card(const char *s)
{
	return s && sf_log_has_card(s, strlen(s));
}

static int status_ok(const char *s)
{
	return s && (!strcmp(s, "active") || !strcmp(s, "draft") || !strcmp(s, "archived"));
}

enum sf_err sf_bo_product_save(struct sf_db *db, const struct sf_keyring *kr, int64_t id,
			       const struct sf_bo_product_in *in, const struct sf_shop_actor *actor,
			       int64_t *saved_id, const char **why)
{
	enum sf_err err;
	*why = NULL;
	if (!id && !slug_ok(in->slug, 120)) {
		*why = "The slug must be 1 to 120 characters of a-z, 0-9 and '-'.";
		return SF_ERR_BAD_PARAM;
	}
	if (!id && spells_card(in->slug)) {
		*why = "The slug must not be a card number.";
		return SF_ERR_CARD_DATA;
	}
	if ((err = text_in(in->name, 1, 200))) {
		*why = "The name must be 1 to 200 characters.";
		return err;
	}
	if ((err = text_in(in->description, 0, 10000))) {
		*why = "The description must be at most 10,000 characters.";
		return err;
	}
	if (!status_ok(in->status)) {
		*why = "The status must be active, draft or archived.";
		return SF_ERR_BAD_PARAM;
	}
	if (in->category_id < 0) {
		*why = "Choose a category.";
		return SF_ERR_BAD_PARAM;
	}
	const char *desc = in->description ? in->description : "";
	struct sf_db_param cat = in->category_id ? SF_DB_INT(in->category_id) : SF_DB_NULL;
	struct sf_db_param cp[] = {SF_DB_INT(in->category_id)};
	struct bo_w w = {.kr = kr, .actor = actor, .check = in->category_id ? SF_STMT_BO_CATEGORY_ID : SF_STMT__COUNT,
			 .cp = cp, .ncp = 1, .otype = "product", .touch = 1};
	w.detail = dump(json_pack("{s:s,s:s,s:I}", "name", in->name, "status", in->status, "category_id",
				  (json_int_t)in->category_id));
	if (!id) {
		struct sf_db_param p[] = {SF_DB_TEXT(in->slug), SF_DB_TEXT(in->name), SF_DB_TEXT(desc), cat,
					  SF_DB_TEXT(in->status), SF_DB_INT(sf_shop_now())};
		err = bo_exec(db, &w, SF_STMT_BO_PRODUCT_INSERT, p, 6, "product.create", 0);
	} else {
		struct sf_db_param p[] = {SF_DB_INT(id), SF_DB_TEXT(in->name), SF_DB_TEXT(desc), cat,
					  SF_DB_TEXT(in->status), SF_DB_INT(sf_shop_now())};
		err = bo_exec(db, &w, SF_STMT_BO_PRODUCT_UPDATE, p, 6, "product.update", id);
		w.new_id = id;
	}
	free((char *)w.detail);
	if (err == SF_ERR_DB_CONSTRAINT)
		*why = "Another product already has this slug.";
	if (!err && saved_id)
		*saved_id = w.new_id;
	return err;
}

static int sku_ok(const char *s)
{
	size_t n = s ? strlen(s) : 0;
	if (n < 1 || n > 64)
		return 0;
	for (size_t i = 0; i < n; i++) {
		char ch = s[i];
		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '.' ||
		      ch == '_' || ch == '-'))
			return 0;
	}
	return 1;
}

enum sf_err sf_bo_variant_save(struct sf_db *db, const struct sf_keyring *kr, int64_t product_id,
			       int64_t variant_id, const char *sku, const char *name, int64_t price,
			       const char *currency, const struct sf_shop_actor *actor, const char **why)
{
	enum sf_err err;
	*why = NULL;
	if (!variant_id && !sku_ok(sku)) {
		*why = "The SKU must be 1 to 64 characters of A-Z, a-z, 0-9, '.', '_' and '-'.";
		return SF_ERR_BAD_PARAM;
	}
	if (!variant_id && spells_card(sku)) {
		*why = "The SKU must not be a card number.";
		return SF_ERR_CARD_DATA;
	}
	if ((err = text_in(name, 0, 200))) {
		*why = "The variant name must be at most 200 characters.";
		return err;
	}
	if (price < 0 || price > SF_MONEY_MAX || !sf_money_currency_ok(currency)) {
		*why = "Give a price of at most 10,000,000.00 (10^9 of the currency's smallest unit, the most one "
		       "order may total) and a currency such as EUR.";
		return SF_ERR_BAD_PARAM;
	}
	const char *nm = name ? name : "";
	struct sf_db_param cp[] = {SF_DB_INT(product_id)};
	struct bo_w w = {.kr = kr, .actor = actor, .check = SF_STMT_BO_PRODUCT_GET, .cp = cp, .ncp = 1,
			 .otype = "variant", .touch = 1};
	w.detail = dump(json_pack("{s:I,s:s,s:I,s:s}", "product_id", (json_int_t)product_id, "name", nm, "price",
				  (json_int_t)price, "currency", currency));
	if (!variant_id) {
		struct sf_db_param p[] = {SF_DB_INT(product_id), SF_DB_TEXT(sku), SF_DB_TEXT(nm), SF_DB_INT(price),
					  SF_DB_TEXT(currency)};
		err = bo_exec(db, &w, SF_STMT_BO_VARIANT_INSERT, p, 5, "variant.create", 0);
	} else {
		struct sf_db_param p[] = {SF_DB_INT(variant_id), SF_DB_INT(product_id), SF_DB_TEXT(nm),
					  SF_DB_INT(price), SF_DB_TEXT(currency)};
		err = bo_exec(db, &w, SF_STMT_BO_VARIANT_UPDATE, p, 5, "variant.update", variant_id);
	}
	free((char *)w.detail);
	if (err == SF_ERR_DB_CONSTRAINT)
		*why = "Another variant already has this SKU.";
	return err;
}

enum sf_err sf_bo_category_save(struct sf_db *db, const struct sf_keyring *kr, int64_t id, int64_t parent_id,
				const char *name, const struct sf_shop_actor *actor, const char **why)
{
	enum sf_err err = text_in(name, 1, 64);
	*why = NULL;
	if (err) {
		*why = "The category name must be 1 to 64 characters.";
		return err;
	}
	char slug[65];
	if (!id && !sf_catalog_slugify(name, slug, sizeof slug)) {
		*why = "The category name needs at least one letter or digit.";
		return SF_ERR_BAD_PARAM;
	}
	struct sf_db_param cp[] = {SF_DB_INT(id ? id : parent_id)};
	struct bo_w w = {.kr = kr, .actor = actor, .check = id || parent_id ? SF_STMT_BO_CATEGORY_ID : SF_STMT__COUNT,
			 .cp = cp, .ncp = 1, .otype = "category", .touch = 1};
	w.detail = dump(json_pack("{s:s,s:I}", "name", name, "parent_id", (json_int_t)parent_id));
	if (!id) {
		struct sf_db_param p[] = {parent_id ? SF_DB_INT(parent_id) : SF_DB_NULL, SF_DB_TEXT(slug),
					  SF_DB_TEXT(name)};
		err = bo_exec(db, &w, SF_STMT_CAT_CATEGORY_INSERT, p, 3, "category.create", 0);
	} else {
		struct sf_db_param p[] = {SF_DB_INT(id), SF_DB_TEXT(name)};
		err = bo_exec(db, &w, SF_STMT_BO_CATEGORY_RENAME, p, 2, "category.update", id);
	}
	free((char *)w.detail);
	if (err == SF_ERR_DB_CONSTRAINT)
		*why = "Another category already has this name.";
	return err;
}

/* ==== Coupons, shipping, tax ==== */

static json_t *coupon_row(struct sf_db_cursor *cur)
{
	return json_pack("{s:I,s:s,s:s,s:I,s:s,s:I,s:I,s:I,s:I,s:I,s:I,s:b}", "id", (json_int_t)sf_db_col_int(cur, 0),
			 "code", sf_db_col_text(cur, 1, NULL), "kind", sf_db_col_text(cur, 2, NULL), "value",
			 (json_int_t)sf_db_col_int(cur, 3), "currency", sf_db_col_text(cur, 4, NULL), "min_order",
			 (json_int_t)sf_db_col_int(cur, 5), "starts_at", (json_int_t)sf_db_col_int(cur, 6), "ends_at",
			 (json_int_t)sf_db_col_int(cur, 7), "max_uses", (json_int_t)sf_db_col_int(cur, 8),
			 "max_per_customer", (json_int_t)sf_db_col_int(cur, 9), "uses",
			 (json_int_t)sf_db_col_int(cur, 10), "active", sf_db_col_int(cur, 11) != 0);
}

enum sf_err sf_bo_coupons(struct sf_db *db, json_t **out)
{
	return list(db, SF_STMT_BO_COUPON_LIST, NULL, 0, coupon_row, 0, NULL, NULL, out);
}

enum sf_err sf_bo_coupon_active(struct sf_db *db, const struct sf_keyring *kr, int64_t id, int active,
				const struct sf_shop_actor *actor)
{
	struct sf_db_param p[] = {SF_DB_INT(id), SF_DB_INT(active ? 1 : 0)};
	struct bo_w w = {.kr = kr, .actor = actor, .check = SF_STMT__COUNT, .stmt = SF_STMT_BO_COUPON_SET_ACTIVE,
			 .p = p, .np = 2, .action = "coupon.update", .otype = "coupon"};
	w_oid(&w, id);
	w.detail = dump(json_pack("{s:b}", "active", active));
	enum sf_err err = bo_run(db, &w);
	free((char *)w.detail);
	return err;
}

static json_t *ship_row(struct sf_db_cursor *cur)
{
	return json_pack("{s:I,s:s,s:s,s:s,s:I,s:I,s:I,s:s,s:b,s:b}", "id", (json_int_t)sf_db_col_int(cur, 0), "code",
			 sf_db_col_text(cur, 1, NULL), "name", sf_db_col_text(cur, 2, NULL), "kind",
			 sf_db_col_text(cur, 3, NULL), "base", (json_int_t)sf_db_col_int(cur, 4), "per_kg",
			 (json_int_t)sf_db_col_int(cur, 5), "free_above",
			 (json_int_t)(sf_db_col_is_null(cur, 6) ? -1 : sf_db_col_int(cur, 6)), "tax_class",
			 sf_db_col_text(cur, 7, NULL), "active", sf_db_col_int(cur, 9) != 0, "weight",
			 !strcmp(sf_db_col_text(cur, 3, NULL), "weight"));
}

enum sf_err sf_bo_shipping(struct sf_db *db, json_t **out)
{
	return list(db, SF_STMT_BO_SHIP_LIST, NULL, 0, ship_row, 0, NULL, NULL, out);
}

enum sf_err sf_bo_shipping_save(struct sf_db *db, const struct sf_keyring *kr, int64_t id, const char *name,
				int64_t base, int64_t per_kg, int64_t free_above, const char *tax_class, int active,
				const struct sf_shop_actor *actor, const char **why)
{
	enum sf_err err = text_in(name, 1, SF_SHIP_NAME_MAX);
	*why = NULL;
	if (err) {
		*why = "The name must be 1 to 128 bytes (fewer characters outside ASCII).";
		return err;
	}
	const int64_t max = 1000000000LL;
	if (base < 0 || base > max || per_kg < 0 || per_kg > max || free_above < -1 || free_above > max ||
	    !slug_ok(tax_class, 32)) {
		*why = "Amounts are minor units from 0 to 1,000,000,000 (free above: empty for never).";
		return SF_ERR_BAD_PARAM;
	}
	struct sf_db_param cp[] = {SF_DB_TEXT(tax_class)};
	struct sf_db_param p[] = {SF_DB_INT(id), SF_DB_TEXT(name), SF_DB_INT(base), SF_DB_INT(per_kg),
				  free_above < 0 ? SF_DB_NULL : SF_DB_INT(free_above), SF_DB_TEXT(tax_class),
				  SF_DB_INT(active ? 1 : 0)};
	struct bo_w w = {.kr = kr, .actor = actor, .check = SF_STMT_BO_TAX_EXISTS, .cp = cp, .ncp = 1,
			 .stmt = SF_STMT_BO_SHIP_UPDATE, .p = p, .np = 7, .action = "shipping.update",
			 .otype = "shipping_method"};
	w_oid(&w, id);
	w.detail = dump(json_pack("{s:s,s:I,s:I,s:I,s:s,s:b}", "name", name, "base", (json_int_t)base, "per_kg",
				  (json_int_t)per_kg, "free_above", (json_int_t)free_above, "tax_class", tax_class,
				  "active", active));
	err = bo_run(db, &w);
	free((char *)w.detail);
	return err;
}

static json_t *tax_row(struct sf_db_cursor *cur)
{
	int64_t bp = sf_db_col_int(cur, 1);
	char txt[32];
	snprintf(txt, sizeof txt, "%" PRId64 ".%02" PRId64 " %%", bp / 100, bp % 100);
	return json_pack("{s:s,s:I,s:s,s:s}", "class", sf_db_col_text(cur, 0, NULL), "rate_bp", (json_int_t)bp,
			 "rate_text", txt, "label", sf_db_col_text(cur, 2, NULL));
}

enum sf_err sf_bo_taxes(struct sf_db *db, json_t **out)
{
	return list(db, SF_STMT_BO_TAX_LIST, NULL, 0, tax_row, 0, NULL, NULL, out);
}

enum sf_err sf_bo_tax_save(struct sf_db *db, const struct sf_keyring *kr, const char *cls, int64_t rate_bp,
			   const char *label, const struct sf_shop_actor *actor, const char **why)
{
	*why = NULL;
	enum sf_err err = text_in(label, 1, 64);
	if (!err && spells_card(cls))
		err = SF_ERR_CARD_DATA;
	if (!slug_ok(cls, 32) || rate_bp < 0 || rate_bp > 10000 || err) {
		*why = "Class: 1 to 32 of a-z, 0-9, '-'; rate 0 to 10000 basis points; label 1 to 64 characters.";
		return err == SF_ERR_CARD_DATA ? err : SF_ERR_BAD_PARAM;
	}
	struct sf_db_param p[] = {SF_DB_TEXT(cls), SF_DB_INT(rate_bp), SF_DB_TEXT(label)};
	struct bo_w w = {.kr = kr, .actor = actor, .check = SF_STMT__COUNT, .stmt = SF_STMT_BO_TAX_PUT, .p = p,
			 .np = 3, .action = "tax.update", .otype = "tax_class"};
	snprintf(w.oid, sizeof w.oid, "%s", cls);
	w.detail = dump(json_pack("{s:I,s:s}", "rate_bp", (json_int_t)rate_bp, "label", label));
	err = bo_run(db, &w);
	free((char *)w.detail);
	return err;
}
