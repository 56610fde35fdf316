/*
 * cart.c — guest and customer carts (cart.h).
 *
 * Every change runs in one transaction that finds (or creates) the cart,
 * re-reads its lines with live prices and stock, checks the rules and then
 * writes; so a rule can never be checked against stale data.
 */
#include "shop/cart.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"
#include "db/db.h"
#include "shop/checkout.h"
#include "shop/money.h"

#define TXN_TRIES 16

/* ==== Owners and tokens ==== */

void sf_cart_token_new(char out[SF_CART_TOKEN_LEN + 1])
{
	sf_rand_base32(out, SF_CART_TOKEN_LEN);
	out[SF_CART_TOKEN_LEN] = '\0';
}

void sf_cart_token_hash(const char *token, unsigned char out[SF_CART_HASH_LEN])
{
	static const char domain[] = "storefort cart token v1";
	crypto_generichash_state st;
	crypto_generichash_init(&st, NULL, 0, SF_CART_HASH_LEN);
	crypto_generichash_update(&st, (const unsigned char *)domain, sizeof domain);
	crypto_generichash_update(&st, (const unsigned char *)token, strlen(token));
	crypto_generichash_final(&st, out, SF_CART_HASH_LEN);
}

enum sf_err sf_cart_owner_guest(const char *token, struct sf_cart_owner *o)
{
	memset(o, 0, sizeof *o);
	if (!token || strlen(token) != SF_CART_TOKEN_LEN)
		return SF_ERR_INVALID;
	for (const char *p = token; *p; p++)
		if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9')))
			return SF_ERR_INVALID;
	sf_cart_token_hash(token, o->guest_hash);
	o->has_guest = 1;
	return SF_OK;
}

void sf_cart_owner_customer(int64_t customer_id, struct sf_cart_owner *o)
{
	memset(o, 0, sizeof *o);
	o->customer_id = customer_id;
}

/* ==== Finding and creating carts ==== */

struct cart_row {
	int64_t id;
	char coupon[SF_COUPON_CODE_MAX + 1];
};

static void read_cart(struct sf_db_cursor *cur, void *ctx)
{
	struct cart_row *r = ctx;
	r->id = sf_db_col_int(cur, 0);
	sf_strlcpy(r->coupon, sf_db_col_text(cur, 1, NULL), sizeof r->coupon);
}

enum sf_err sf_cart_find(struct sf_db_conn *c, const struct sf_cart_owner *o, int64_t *cart_id, char *coupon)
{
	struct cart_row row = {0};
	struct sf_db_param p;
	enum sf_stmt id;
	if (o->customer_id > 0) {
		p = SF_DB_INT(o->customer_id);
		id = SF_STMT_CART_BY_CUSTOMER;
	} else if (o->has_guest) {
		p = SF_DB_BLOB(o->guest_hash, SF_CART_HASH_LEN);
		id = SF_STMT_CART_BY_TOKEN;
	} else {
		return SF_ERR_NOT_FOUND;
	}
	enum sf_db_status st = sf_db_query_one(c, id, &p, 1, read_cart, &row);
	if (st == SF_DB_NO_ROWS)
		return SF_ERR_NOT_FOUND;
	if (st < 0)
		return sf_db_err(st);
	*cart_id = row.id;
	if (coupon)
		sf_strlcpy(coupon, row.coupon, SF_COUPON_CODE_MAX + 1);
	return SF_OK;
}

/* The owner's cart, created when missing (inside a transaction). */
static enum sf_err cart_ensure(struct sf_db_conn *c, const struct sf_cart_owner *o, int64_t *cart_id)
{
	enum sf_err err = sf_cart_find(c, o, cart_id, NULL);
	if (err != SF_ERR_NOT_FOUND)
		return err;
	struct sf_db_param p[2] = {o->customer_id > 0 ? SF_DB_INT(o->customer_id)
						      : SF_DB_BLOB(o->guest_hash, SF_CART_HASH_LEN),
				   SF_DB_INT(sf_shop_now())};
	if (o->customer_id <= 0 && !o->has_guest)
		return SF_ERR_INVALID;
	enum sf_db_status st = sf_db_exec(c, o->customer_id > 0 ? SF_STMT_CART_INSERT_CUSTOMER : SF_STMT_CART_INSERT_TOKEN,
					  p, 2, NULL);
	if (st < 0)
		return sf_db_err(st);
	return sf_cart_find(c, o, cart_id, NULL);
}

/* ==== Changes ==== */

/* What the cart view reads, in one transaction (a read transaction of its
 * own, or sf_cart_add_view's adding one): the cart, its lines with their
 * stock and prices, the shipping methods and the coupon all come from the
 * same snapshot (a view read while a checkout commits never shows the lines
 * of one moment with the stock of another), and the connection begins one
 * read instead of one per statement.  In the adding transaction, the view
 * reads on the writer's connection, whose page cache other connections'
 * commits do not empty: a third fewer page reads per checkout. */
struct view_ctx {
	const struct sf_cart_owner *o;
	const struct sf_shop_rules *r;
	struct sf_quote q;
	struct sf_ship_method methods[SF_SHIP_MAX_METHODS];
	size_t nmethods;
	char coupon[SF_COUPON_CODE_MAX + 1];
	struct sf_coupon cp;
	enum sf_err cerr; /* the coupon's own error: shown, not fatal */
	enum sf_err err;
};

static enum sf_db_status view_txn(struct sf_db_conn *c, void *vctx);

struct op_ctx {
	const struct sf_cart_owner *o;
	const struct sf_shop_rules *r;
	int64_t variant_id;
	const char *sku;
	int64_t item_id;
	int64_t qty;
	const char *coupon;
	struct view_ctx *view; /* sf_cart_add: the cart as it is after the change */
	enum sf_err err;
};

struct variant_row {
	int64_t id, stock;
	int active;
	char currency[4];
};

static void read_variant(struct sf_db_cursor *cur, void *ctx)
{
	struct variant_row *v = ctx;
	v->id = sf_db_col_int(cur, 0);
	v->stock = sf_db_col_int(cur, 1);
	v->active = sf_db_col_int(cur, 2) != 0;
	sf_strlcpy(v->currency, sf_db_col_text(cur, 3, NULL), sizeof v->currency);
}

/* Finish a transaction function: remember err, map it to a status. */
static enum sf_db_status done(struct op_ctx *x, enum sf_err err)
{
	x->err = err;
	return err ? sf_db_status_from_err(err) : SF_DB_OK;
}

/* ==== The money cap ====
 * A cart is priced like the view prices it (no coupon, no shipping) inside
 * every transaction that grows it, so a change that would take it above
 * SF_MONEY_MAX is refused (SF_ERR_TOO_LARGE) and nothing is written: such a
 * cart could never be ordered.  A change that makes a line smaller is never
 * refused, so a cart that got there anyway (a price raised since) can
 * always be brought back under the cap. */

/* Does q, as it stands, price above the cap? */
static int over_cap(struct sf_quote *q)
{
	return sf_quote_compute(q, NULL, NULL) == SF_ERR_TOO_LARGE;
}

/* Cart cart_id as written so far in this transaction: SF_OK, SF_ERR_TOO_LARGE,
 * or the error of reading it. */
static enum sf_err cart_fits(struct sf_db_conn *c, int64_t cart_id, const struct sf_shop_rules *r)
{
	struct sf_quote q;
	enum sf_err err = sf_quote_load(c, cart_id, r, &q);
	if (!err && over_cap(&q))
		err = SF_ERR_TOO_LARGE;
	sf_quote_free(&q);
	return err;
}

static enum sf_db_status add_txn(struct sf_db_conn *c, void *vctx)
{
	struct op_ctx *x = vctx;
	struct variant_row v = {0};
	struct sf_quote q = {0};
	int64_t cart_id = 0;
	enum sf_db_status st;
	enum sf_err err;

	if (x->variant_id > 0) {
		struct sf_db_param p = SF_DB_INT(x->variant_id);
		st = sf_db_query_one(c, SF_STMT_SHOP_VARIANT_GET, &p, 1, read_variant, &v);
	} else {
		struct sf_db_param p = SF_DB_TEXT(x->sku ? x->sku : "");
		st = sf_db_query_one(c, SF_STMT_SHOP_VARIANT_BY_SKU, &p, 1, read_variant, &v);
	}
	if (st == SF_DB_NO_ROWS || (st == SF_DB_OK && !v.active))
		return done(x, SF_ERR_NOT_FOUND);
	if (st < 0)
		return st;
	err = cart_ensure(c, x->o, &cart_id);
	if (!err)
		err = sf_quote_load(c, cart_id, x->r, &q);
	if (err)
		goto out;
	int64_t have = 0;
	int found = 0;
	for (size_t i = 0; i < q.n; i++) {
		if (q.lines[i].variant_id == v.id) {
			have = q.lines[i].qty;
			found = 1;
		}
	}
	if (!found && (int64_t)q.n >= x->r->max_lines) {
		err = SF_ERR_CART_FULL;
		goto out;
	}
	if (q.n > 0 && strcmp(q.currency, v.currency) != 0) {
		err = SF_ERR_CURRENCY_MIX;
		goto out;
	}
	int64_t want = have + x->qty;
	if (want > x->r->max_line_qty) {
		err = SF_ERR_QUANTITY;
		goto out;
	}
	if (want > v.stock) {
		err = SF_ERR_OUT_OF_STOCK;
		goto out;
	}
	struct sf_db_param p[] = {SF_DB_INT(cart_id), SF_DB_INT(v.id), SF_DB_INT(want), SF_DB_INT(sf_shop_now())};
	st = sf_db_exec(c, SF_STMT_CART_ITEM_UPSERT, p, 4, NULL);
	if (st < 0)
		err = sf_db_err(st);
	if (!err && x->view) { /* the view reads the cart as written: price that */
		(void)view_txn(c, x->view);
		err = x->view->err;
		if (!err && over_cap(&x->view->q))
			err = SF_ERR_TOO_LARGE;
	} else if (!err) {
		err = cart_fits(c, cart_id, x->r);
	}
out:
	sf_quote_free(&q);
	return done(x, err);
}

static enum sf_err view_answer(struct view_ctx *x, json_t **out);

enum sf_err sf_cart_add(struct sf_db *db, const struct sf_cart_owner *o, const struct sf_shop_rules *r,
			int64_t variant_id, const char *sku, int64_t qty)
{
	return sf_cart_add_view(db, o, r, variant_id, sku, qty, NULL);
}

enum sf_err sf_cart_add_view(struct sf_db *db, const struct sf_cart_owner *o, const struct sf_shop_rules *r,
			     int64_t variant_id, const char *sku, int64_t qty, json_t **view)
{
	if (view)
		*view = NULL;
	if (qty < 1 || qty > r->max_line_qty)
		return SF_ERR_QUANTITY;
	if (variant_id <= 0 && (!sku || !*sku || strlen(sku) > 128))
		return SF_ERR_NOT_FOUND;
	struct view_ctx v = {.o = o, .r = r};
	struct op_ctx x = {.o = o, .r = r, .variant_id = variant_id, .sku = sku, .qty = qty, .view = view ? &v : NULL};
	enum sf_db_status st = sf_db_txn(db, add_txn, &x, TXN_TRIES);
	enum sf_err err = x.err ? x.err : sf_db_err(st);
	if (!err && view)
		return view_answer(&v, view);
	sf_quote_free(&v.q);
	return err;
}

static void read_item(struct sf_db_cursor *cur, void *ctx)
{
	int64_t *v = ctx;
	v[0] = sf_db_col_int(cur, 0);
	v[1] = sf_db_col_int(cur, 1);
}

static enum sf_db_status set_qty_txn(struct sf_db_conn *c, void *vctx)
{
	struct op_ctx *x = vctx;
	int64_t cart_id = 0, item[2] = {0, 0};
	enum sf_err err = sf_cart_find(c, x->o, &cart_id, NULL);
	if (err)
		return done(x, err);
	struct sf_db_param p[] = {SF_DB_INT(x->item_id), SF_DB_INT(cart_id), SF_DB_INT(x->qty)};
	enum sf_db_status st = sf_db_query_one(c, SF_STMT_CART_ITEM_GET, p, 2, read_item, item);
	if (st == SF_DB_NO_ROWS)
		return done(x, SF_ERR_NOT_FOUND);
	if (st < 0)
		return st;
	if (x->qty == 0) {
		st = sf_db_exec(c, SF_STMT_CART_ITEM_DELETE, p, 2, NULL);
		return st < 0 ? st : done(x, SF_OK);
	}
	struct variant_row v = {0};
	struct sf_db_param vp = SF_DB_INT(item[0]);
	st = sf_db_query_one(c, SF_STMT_SHOP_VARIANT_GET, &vp, 1, read_variant, &v);
	if (st < 0)
		return st;
	if (st == SF_DB_NO_ROWS || !v.active)
		return done(x, SF_ERR_NOT_FOUND);
	if (x->qty > v.stock)
		return done(x, SF_ERR_OUT_OF_STOCK);
	st = sf_db_exec(c, SF_STMT_CART_ITEM_SET_QTY, p, 3, NULL);
	if (st < 0)
		return st;
	return done(x, x->qty > item[1] ? cart_fits(c, cart_id, x->r) : SF_OK);
}

enum sf_err sf_cart_set_quantity(struct sf_db *db, const struct sf_cart_owner *o, const struct sf_shop_rules *r,
				 int64_t item_id, int64_t qty)
{
	if (qty < 0 || qty > r->max_line_qty)
		return SF_ERR_QUANTITY;
	if (item_id <= 0)
		return SF_ERR_NOT_FOUND;
	struct op_ctx x = {.o = o, .r = r, .item_id = item_id, .qty = qty};
	enum sf_db_status st = sf_db_txn(db, set_qty_txn, &x, TXN_TRIES);
	return x.err ? x.err : sf_db_err(st);
}

enum sf_err sf_cart_remove(struct sf_db *db, const struct sf_cart_owner *o, int64_t item_id)
{
	static const struct sf_shop_rules any = {.max_line_qty = 1, .max_lines = 1};
	return sf_cart_set_quantity(db, o, &any, item_id, 0);
}

static enum sf_db_status clear_txn(struct sf_db_conn *c, void *vctx)
{
	struct op_ctx *x = vctx;
	int64_t cart_id = 0;
	enum sf_err err = sf_cart_find(c, x->o, &cart_id, NULL);
	if (err == SF_ERR_NOT_FOUND)
		return done(x, SF_OK);
	if (err)
		return done(x, err);
	struct sf_db_param p[] = {SF_DB_INT(cart_id), SF_DB_NULL, SF_DB_INT(sf_shop_now())};
	enum sf_db_status st = sf_db_exec(c, SF_STMT_CART_CLEAR, p, 1, NULL);
	if (st >= 0)
		st = sf_db_exec(c, SF_STMT_CART_SET_COUPON, p, 3, NULL);
	return st < 0 ? st : done(x, SF_OK);
}

enum sf_err sf_cart_clear(struct sf_db *db, const struct sf_cart_owner *o)
{
	struct op_ctx x = {.o = o};
	enum sf_db_status st = sf_db_txn(db, clear_txn, &x, TXN_TRIES);
	return x.err ? x.err : sf_db_err(st);
}

static enum sf_db_status coupon_txn(struct sf_db_conn *c, void *vctx)
{
	struct op_ctx *x = vctx;
	int64_t cart_id = 0;
	struct sf_quote q = {0};
	struct sf_coupon cp;
	enum sf_err err = sf_cart_find(c, x->o, &cart_id, NULL);
	if (err == SF_ERR_NOT_FOUND)
		return done(x, x->coupon ? SF_ERR_CART_EMPTY : SF_OK);
	if (err)
		return done(x, err);
	if (x->coupon) {
		err = sf_quote_load(c, cart_id, x->r, &q);
		if (!err && q.n == 0)
			err = SF_ERR_CART_EMPTY;
		if (!err)
			err = sf_coupon_load(c, x->coupon, &cp);
		if (!err)
			err = sf_quote_compute(&q, NULL, NULL);
		if (!err)
			err = sf_coupon_check(&cp, q.subtotal, q.currency, sf_shop_now(), x->o->customer_id);
		sf_quote_free(&q);
		if (err)
			return done(x, err);
	}
	struct sf_db_param p[] = {SF_DB_INT(cart_id), SF_DB_TEXT_OR_NULL(x->coupon), SF_DB_INT(sf_shop_now())};
	enum sf_db_status st = sf_db_exec(c, SF_STMT_CART_SET_COUPON, p, 3, NULL);
	return st < 0 ? st : done(x, SF_OK);
}

enum sf_err sf_cart_set_coupon(struct sf_db *db, const struct sf_cart_owner *o, const struct sf_shop_rules *r,
			       const char *code)
{
	char norm[SF_COUPON_CODE_MAX + 1];
	struct op_ctx x = {.o = o, .r = r};
	if (code && *code) {
		enum sf_err err = sf_coupon_normalize(code, norm);
		if (err)
			return err;
		x.coupon = norm;
	}
	enum sf_db_status st = sf_db_txn(db, coupon_txn, &x, TXN_TRIES);
	return x.err ? x.err : sf_db_err(st);
}

/* ==== The cart as JSON ==== */

static enum sf_db_status view_txn(struct sf_db_conn *c, void *vctx)
{
	struct view_ctx *x = vctx;
	int64_t cart_id = 0;

	sf_quote_free(&x->q); /* a retry starts over */
	memset(&x->q, 0, sizeof x->q);
	x->nmethods = 0;
	x->coupon[0] = '\0';
	x->cerr = SF_OK;
	x->err = sf_cart_find(c, x->o, &cart_id, x->coupon);
	if (x->err == SF_ERR_NOT_FOUND) {
		x->err = SF_OK;
		x->q.include_tax = x->r->prices_include_tax;
	} else if (!x->err) {
		x->err = sf_quote_load(c, cart_id, x->r, &x->q);
	}
	if (!x->err)
		x->err = sf_shipping_methods(c, x->methods, SF_SHIP_MAX_METHODS, &x->nmethods);
	if (!x->err && x->coupon[0])
		x->cerr = sf_coupon_load(c, x->coupon, &x->cp);
	return x->err ? sf_db_status_from_err(x->err) : SF_DB_OK;
}

enum sf_err sf_cart_view(struct sf_db *db, const struct sf_cart_owner *o, const struct sf_shop_rules *r,
			 json_t **out)
{
	struct view_ctx x = {.o = o, .r = r};

	*out = NULL;
	enum sf_db_status st = sf_db_txn_read(db, view_txn, &x, TXN_TRIES);
	enum sf_err err = x.err ? x.err : st < 0 ? sf_db_err(st) : SF_OK;
	if (err) {
		sf_quote_free(&x.q);
		return err;
	}
	return view_answer(&x, out);
}

/* A line's unit price x quantity where sf_quote_compute gave up (the cart
 * is above the cap): the product when it fits in 64 bits, else null. */
static json_t *line_gross_json(const struct sf_quote_line *l, const char *currency)
{
	if (l->qty < 1 || l->unit < 0 || l->unit > INT64_MAX / l->qty)
		return json_null();
	return sf_money_json(l->unit * l->qty, currency);
}

/* The JSON of what view_txn read; frees x's quote. */
static enum sf_err view_answer(struct view_ctx *x, json_t **out)
{
	const struct sf_shop_rules *r = x->r;
	const struct sf_cart_owner *o = x->o;
	int oom = 0;
	const struct sf_coupon *use = NULL;
	enum sf_err err, cerr;
	json_t *cart = NULL;

	*out = NULL;
	struct sf_quote *q = &x->q;
	cerr = x->cerr;
	if (!q->currency[0])
		sf_strlcpy(q->currency, "EUR", sizeof q->currency);
	/* A cart above the money cap (a price raised after the lines were
	 * added) is still shown, line by line, without totals, so that the
	 * shopper can bring it back under the cap. */
	err = sf_quote_compute(q, NULL, NULL);
	int too_large = err == SF_ERR_TOO_LARGE;
	if (too_large)
		err = SF_OK;
	if (err)
		goto out;
	if (x->coupon[0] && !cerr && !too_large) {
		cerr = sf_coupon_check(&x->cp, q->subtotal, q->currency, sf_shop_now(), o->customer_id);
		if (!cerr) {
			use = &x->cp;
			err = sf_quote_compute(q, use, NULL);
			if (err)
				goto out;
		}
	}

	cart = json_object();
	json_t *items = json_array();
	int64_t count = 0;
	for (size_t i = 0; i < q->n; i++) {
		const struct sf_quote_line *l = &q->lines[i];
		json_t *it = json_object();
		sf_json_put(&oom, it, "id", json_integer(l->item_id));
		sf_json_put(&oom, it, "variant_id", json_integer(l->variant_id));
		sf_json_put(&oom, it, "sku", json_string(l->sku));
		sf_json_put(&oom, it, "name", json_string(l->name));
		sf_json_put(&oom, it, "variant", json_string(l->variant));
		sf_json_put(&oom, it, "product_slug", json_string(l->slug));
		sf_json_put(&oom, it, "quantity", json_integer(l->qty));
		/* how many the shopper may have on this line: the stock, but never
		 * above the line maximum, so that the cart does not publish exact
		 * stock levels (the catalog shows only bands, stock.h) */
		int64_t avail = l->active && l->stock > 0 ? l->stock : 0;
		sf_json_put(&oom, it, "available", json_integer(avail < r->max_line_qty ? avail : r->max_line_qty));
		sf_json_put(&oom, it, "unit_price", sf_money_json(l->unit, q->currency));
		sf_json_put(&oom, it, "line_total", too_large ? line_gross_json(l, q->currency)
								: sf_money_json(l->gross, q->currency));
		sf_json_push(&oom, items, it);
		count += l->qty;
	}
	sf_json_put(&oom, cart, "items", items);
	sf_json_put(&oom, cart, "has_items", json_boolean(q->n > 0));
	sf_json_put(&oom, cart, "count", json_integer(count));
	sf_json_put(&oom, cart, "currency", json_string(q->currency));
	sf_json_put(&oom, cart, "prices_include_tax", json_boolean(r->prices_include_tax));
	sf_json_put(&oom, cart, "coupon", x->coupon[0] ? json_string(x->coupon) : json_null());
	sf_json_put(&oom, cart, "coupon_error", cerr ? json_string(sf_err_code(cerr)) : json_null());
	sf_json_put(&oom, cart, "too_large", json_boolean(too_large));
	sf_json_put(&oom, cart, "max_total", sf_money_json(SF_MONEY_MAX, q->currency));
	json_t *totals = too_large ? json_null() : json_object();
	if (!too_large) {
		sf_json_put(&oom, totals, "subtotal", sf_money_json(q->subtotal, q->currency));
		sf_json_put(&oom, totals, "discount", sf_money_json(q->discount, q->currency));
		sf_json_put(&oom, totals, "tax", sf_money_json(q->tax, q->currency));
		sf_json_put(&oom, totals, "total", sf_money_json(q->total, q->currency));
	}
	sf_json_put(&oom, cart, "totals", totals);
	json_t *ships = json_array();
	for (size_t i = 0; i < x->nmethods; i++) {
		json_t *m = json_object();
		sf_json_put(&oom, m, "code", json_string(x->methods[i].code));
		sf_json_put(&oom, m, "name", json_string(x->methods[i].name));
		int64_t rate = sf_shipping_rate(&x->methods[i], q->goods, q->weight_g);
		sf_json_put(&oom, m, "price", too_large ? json_null() : sf_money_json(rate, q->currency));
		sf_json_push(&oom, ships, m);
	}
	sf_json_put(&oom, cart, "shipping_methods", ships);
	if (oom) {
		err = SF_ERR_NOMEM;
		goto out;
	}
	*out = cart;
	cart = NULL;
out:
	json_decref(cart);
	sf_quote_free(&x->q);
	return err;
}

/* ==== Merge at login ==== */

struct merge_ctx {
	struct sf_cart_owner guest, cust;
	const struct sf_shop_rules *r;
	enum sf_err err;
};

static enum sf_db_status merge_txn(struct sf_db_conn *c, void *vctx)
{
	struct merge_ctx *x = vctx;
	const struct sf_shop_rules *r = x->r;
	struct sf_quote gq = {0}, cq = {0};
	int64_t gcart = 0, ccart = 0;
	char gcoupon[SF_COUPON_CODE_MAX + 1] = "", ccoupon[SF_COUPON_CODE_MAX + 1] = "";
	enum sf_db_status st = SF_DB_OK;

	x->err = sf_cart_find(c, &x->guest, &gcart, gcoupon);
	if (x->err == SF_ERR_NOT_FOUND) {
		x->err = SF_OK;
		return SF_DB_OK;
	}
	if (!x->err)
		x->err = cart_ensure(c, &x->cust, &ccart);
	if (!x->err)
		x->err = sf_cart_find(c, &x->cust, &ccart, ccoupon);
	if (!x->err)
		x->err = sf_quote_load(c, gcart, r, &gq);
	if (!x->err)
		x->err = sf_quote_load(c, ccart, r, &cq);
	if (x->err)
		goto out;
	/* m: the customer's cart as it grows, priced before each line is
	 * written (its lines are shallow copies: never sf_quote_free it) */
	struct sf_quote m = {.include_tax = cq.include_tax, .n = cq.n};
	m.lines = calloc(cq.n + gq.n + 1, sizeof *m.lines);
	if (!m.lines) {
		x->err = SF_ERR_NOMEM;
		goto out;
	}
	if (cq.n)
		memcpy(m.lines, cq.lines, cq.n * sizeof *m.lines);
	for (size_t i = 0; i < gq.n && st >= 0; i++) {
		const struct sf_quote_line *g = &gq.lines[i];
		struct sf_quote_line *l = NULL;
		for (size_t j = 0; j < cq.n; j++)
			if (m.lines[j].variant_id == g->variant_id)
				l = &m.lines[j];
		int64_t have = l ? l->qty : 0;
		if (!g->active || (!l && (int64_t)m.n >= r->max_lines) ||
		    (cq.n > 0 && strcmp(cq.currency, gq.currency) != 0))
			continue;
		int64_t want = have + g->qty;
		if (want > r->max_line_qty)
			want = r->max_line_qty;
		if (want > g->stock)
			want = g->stock;
		if (want <= have || want <= 0)
			continue;
		if (!l) {
			l = &m.lines[m.n++];
			*l = *g;
		}
		l->qty = want;
		if (over_cap(&m)) { /* the guest's line is left out whole */
			if (have)
				l->qty = have;
			else
				m.n--;
			continue;
		}
		struct sf_db_param p[] = {SF_DB_INT(ccart), SF_DB_INT(g->variant_id), SF_DB_INT(want),
					  SF_DB_INT(sf_shop_now())};
		st = sf_db_exec(c, SF_STMT_CART_ITEM_UPSERT, p, 4, NULL);
	}
	free(m.lines);
	if (st >= 0 && gcoupon[0] && !ccoupon[0]) {
		struct sf_db_param p[] = {SF_DB_INT(ccart), SF_DB_TEXT(gcoupon), SF_DB_INT(sf_shop_now())};
		st = sf_db_exec(c, SF_STMT_CART_SET_COUPON, p, 3, NULL);
	}
	if (st >= 0) {
		struct sf_db_param p = SF_DB_INT(gcart);
		st = sf_db_exec(c, SF_STMT_CART_CLEAR, &p, 1, NULL);
		if (st >= 0)
			st = sf_db_exec(c, SF_STMT_CART_DELETE, &p, 1, NULL);
	}
out:
	sf_quote_free(&gq);
	sf_quote_free(&cq);
	if (x->err)
		return sf_db_status_from_err(x->err);
	return st < 0 ? st : SF_DB_OK;
}

enum sf_err sf_cart_merge(struct sf_db *db, const struct sf_shop_rules *r, const char *guest_token,
			  int64_t customer_id)
{
	struct merge_ctx x = {.r = r};
	if (customer_id <= 0)
		return SF_ERR_INVALID;
	if (sf_cart_owner_guest(guest_token, &x.guest) != SF_OK)
		return SF_OK;
	sf_cart_owner_customer(customer_id, &x.cust);
	enum sf_db_status st = sf_db_txn(db, merge_txn, &x, TXN_TRIES);
	return x.err ? x.err : sf_db_err(st);
}

enum sf_err sf_cart_prune(struct sf_db *db, int64_t now, int limit, int64_t *n)
{
	return sf_db_prune(db, SF_STMT_CART_OLD, SF_STMT_CART_DROP, now - SF_CART_COOKIE_MAX_AGE, limit, n);
}
