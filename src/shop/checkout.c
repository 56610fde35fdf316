/*
 * checkout.c — the quote (money rules of checkout.h) and order placement.
 */
#include "shop/checkout.h"

#include <inttypes.h>
#include <sodium.h>
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
#include "shop/customer.h"
#include "shop/money.h"
#include "shop/order.h"
#include "shop/stock.h"
#include "shop/tax.h"
#include "shop/webhook.h"

#define TXN_TRIES 32
#define IDEM_KEY_MIN 8
#define IDEM_KEY_MAX 128
/* An order line's name, "product - variant": the catalog allows 200
 * characters for each (catalog.h), up to 4 bytes each in UTF-8. */
#define LINE_NAME_MAX (2 * 200 * 4 + 3 + 1)

/* ==== The quote ==== */

enum sf_err sf_quote_compute(struct sf_quote *q, const struct sf_coupon *cp, const struct sf_ship_method *m)
{
	int64_t *weights = NULL, *shares = NULL;
	enum sf_err err = SF_OK;
	q->subtotal = q->discount = q->goods = q->shipping = q->shipping_tax = q->tax = q->total = 0;
	q->weight_g = 0;
	weights = calloc(q->n + 1, sizeof *weights);
	shares = calloc(q->n + 1, sizeof *shares);
	if (!weights || !shares) {
		err = SF_ERR_NOMEM;
		goto out;
	}
	for (size_t i = 0; i < q->n; i++) {
		struct sf_quote_line *l = &q->lines[i];
		if (l->qty < 1) {
			err = SF_ERR_QUANTITY;
			goto out;
		}
		if (l->unit < 0 || l->rate_bp < 0 || l->rate_bp > SF_TAX_MAX_BP || l->weight_g < 0) {
			err = SF_ERR_INVALID;
			goto out;
		}
		if (l->unit > SF_MONEY_MAX || l->qty > SF_MONEY_MAX / (l->unit ? l->unit : 1) ||
		    l->weight_g > SF_MONEY_MAX / l->qty) {
			err = SF_ERR_TOO_LARGE;
			goto out;
		}
		l->gross = l->unit * l->qty;
		q->subtotal += l->gross;
		q->weight_g += l->weight_g * l->qty;
		if (q->subtotal > SF_MONEY_MAX || q->weight_g > SF_MONEY_MAX) {
			err = SF_ERR_TOO_LARGE;
			goto out;
		}
		weights[i] = l->gross;
	}
	q->discount = sf_coupon_discount(cp, q->subtotal);
	sf_money_allocate(q->discount, weights, q->n, shares);
	q->goods = q->subtotal - q->discount;
	for (size_t i = 0; i < q->n; i++) {
		struct sf_quote_line *l = &q->lines[i];
		l->discount = shares[i];
		l->tax = sf_tax_amount(l->gross - l->discount, l->rate_bp, q->include_tax);
		q->tax += l->tax;
	}
	if (m) {
		q->shipping = sf_shipping_rate(m, q->goods, q->weight_g);
		q->shipping_tax = sf_tax_amount(q->shipping, m->rate_bp, q->include_tax);
		q->tax += q->shipping_tax;
	}
	q->total = q->goods + q->shipping + (q->include_tax ? 0 : q->tax);
	if (q->total > SF_MONEY_MAX)
		err = SF_ERR_TOO_LARGE;
out:
	free(weights);
	free(shares);
	return err;
}

void sf_quote_free(struct sf_quote *q)
{
	for (size_t i = 0; i < q->n; i++) {
		struct sf_quote_line *l = &q->lines[i];
		free(l->sku);
		free(l->name);
		free(l->variant);
		free(l->slug);
		free(l->tax_class);
	}
	free(q->lines);
	q->lines = NULL;
	q->n = 0;
}

enum sf_err sf_quote_load(struct sf_db_conn *c, int64_t cart_id, const struct sf_shop_rules *r, struct sf_quote *q)
{
	struct sf_db_cursor *cur = NULL;
	enum sf_err err = SF_OK;
	size_t cap = 0;
	memset(q, 0, sizeof *q);
	q->include_tax = r->prices_include_tax;
	struct sf_db_param p = SF_DB_INT(cart_id);
	enum sf_db_status st = sf_db_query(c, SF_STMT_CART_ITEMS, &p, 1, &cur);
	if (st != SF_DB_OK)
		return sf_db_err(st);
	while ((st = sf_db_next(cur)) == SF_DB_OK) {
		if (q->n == cap) {
			size_t ncap = cap ? cap * 2 : 8;
			struct sf_quote_line *nl = realloc(q->lines, ncap * sizeof *nl);
			if (!nl) {
				err = SF_ERR_NOMEM;
				break;
			}
			q->lines = nl;
			cap = ncap;
		}
		struct sf_quote_line *l = &q->lines[q->n];
		memset(l, 0, sizeof *l);
		q->n++;
		l->item_id = sf_db_col_int(cur, 0);
		l->variant_id = sf_db_col_int(cur, 1);
		l->qty = sf_db_col_int(cur, 2);
		l->sku = strdup(sf_db_col_text(cur, 3, NULL));
		l->variant = strdup(sf_db_col_text(cur, 4, NULL));
		l->name = strdup(sf_db_col_text(cur, 5, NULL));
		l->slug = strdup(sf_db_col_text(cur, 6, NULL));
		l->unit = sf_db_col_int(cur, 7);
		if (!q->currency[0])
			sf_strlcpy(q->currency, sf_db_col_text(cur, 8, NULL), sizeof q->currency);
		else if (strcmp(q->currency, sf_db_col_text(cur, 8, NULL)) != 0)
			err = SF_ERR_CURRENCY_MIX;
		l->stock = sf_db_col_int(cur, 9);
		l->tax_class = strdup(sf_db_col_text(cur, 10, NULL));
		int64_t bp = sf_db_col_int(cur, 11);
		l->weight_g = sf_db_col_int(cur, 12);
		l->active = sf_db_col_int(cur, 13) != 0;
		if (!l->sku || !l->variant || !l->name || !l->slug || !l->tax_class) {
			err = SF_ERR_NOMEM;
			break;
		}
		if (bp < 0 || bp > SF_TAX_MAX_BP) {
			err = SF_ERR_INTERNAL; /* a product names a tax class without a rate */
			break;
		}
		l->rate_bp = (int32_t)bp;
	}
	if (!err && st < 0)
		err = sf_db_err(st);
	sf_db_cursor_close(cur);
	if (err)
		sf_quote_free(q);
	return err;
}

/* ==== The priced cart: what review shows and place orders ==== */

void sf_quote_fingerprint(const struct sf_quote *q, const char *coupon, const char *ship_code,
			  char out[SF_QUOTE_FP_LEN + 1])
{
	crypto_generichash_state st;
	unsigned char h[SF_QUOTE_FP_LEN / 2]; /* two letters a byte */
	char rec[192];
	const char *texts[] = {coupon ? coupon : "", ship_code ? ship_code : ""};
	crypto_generichash_init(&st, NULL, 0, sizeof h);
	/* one record per line of text: numbers, and the two codes with their
	 * length, so that no two quotes write the same text */
	int n = snprintf(rec, sizeof rec, "storefort review v1\n%s %d %zu\n", q->currency, q->include_tax, q->n);
	crypto_generichash_update(&st, (const unsigned char *)rec, (size_t)n);
	for (size_t i = 0; i < q->n; i++) {
		const struct sf_quote_line *l = &q->lines[i];
		n = snprintf(rec, sizeof rec,
			     "line %" PRId64 " %" PRId64 " %" PRId64 " %" PRId64 " %" PRId64 " %" PRId64 "\n",
			     l->variant_id, l->qty, l->unit, l->gross, l->discount, l->tax);
		crypto_generichash_update(&st, (const unsigned char *)rec, (size_t)n);
	}
	for (size_t i = 0; i < SF_ARRAY_LEN(texts); i++) {
		n = snprintf(rec, sizeof rec, "%s %zu:", i ? "shipping" : "coupon", strlen(texts[i]));
		crypto_generichash_update(&st, (const unsigned char *)rec, (size_t)n);
		crypto_generichash_update(&st, (const unsigned char *)texts[i], strlen(texts[i]));
	}
	n = snprintf(rec, sizeof rec,
		     "\ntotals %" PRId64 " %" PRId64 " %" PRId64 " %" PRId64 " %" PRId64 " %" PRId64 " %" PRId64 "\n",
		     q->subtotal, q->discount, q->goods, q->shipping, q->shipping_tax, q->tax, q->total);
	crypto_generichash_update(&st, (const unsigned char *)rec, (size_t)n);
	crypto_generichash_final(&st, h, sizeof h);
	/* letters only: a hidden form field that can never look like a card
	 * number (util.h, sf_token_text) */
	sf_token_text(h, sizeof h, out);
}

/* The owner's cart priced as of now: its lines from the variants table,
 * shipping method ship_code, and coupon (NULL: the cart's; "": none)
 * checked against the subtotal.  The one pricing of review and place, so
 * that what the shopper reviewed is what place compares. */
struct priced {
	struct sf_quote q; /* sf_quote_free */
	struct sf_ship_method methods[SF_SHIP_MAX_METHODS];
	const struct sf_ship_method *m; /* into methods */
	struct sf_coupon cp;
	const struct sf_coupon *use; /* &cp, or NULL: no coupon */
	char code[SF_COUPON_CODE_MAX + 1];
	int64_t cart_id;
};

/* SF_OK and *p (the caller frees p->q), or SF_ERR_CART_EMPTY,
 * SF_ERR_SHIPPING_METHOD, a coupon error, SF_ERR_TOO_LARGE, a quote or a
 * database error (p->q freed). */
static enum sf_err price_cart(struct sf_db_conn *c, const struct sf_shop_rules *r, const struct sf_cart_owner *o,
			      const char *ship_code, const char *coupon, int64_t now, struct priced *p)
{
	char cart_coupon[SF_COUPON_CODE_MAX + 1] = "";
	size_t nm = 0;
	memset(p, 0, sizeof *p);
	enum sf_err err = sf_cart_find(c, o, &p->cart_id, cart_coupon);
	if (err == SF_ERR_NOT_FOUND)
		return SF_ERR_CART_EMPTY;
	if (!err)
		err = sf_quote_load(c, p->cart_id, r, &p->q);
	if (err)
		return err;
	if (p->q.n == 0)
		err = SF_ERR_CART_EMPTY;
	if (!err)
		err = sf_shipping_methods(c, p->methods, SF_SHIP_MAX_METHODS, &nm);
	if (!err && !(p->m = sf_shipping_find(p->methods, nm, ship_code)))
		err = SF_ERR_SHIPPING_METHOD;
	if (!err)
		err = sf_quote_compute(&p->q, NULL, NULL);
	const char *want = coupon ? coupon : cart_coupon;
	if (!err && want && *want) {
		err = sf_coupon_normalize(want, p->code);
		if (!err)
			err = sf_coupon_load(c, p->code, &p->cp);
		if (!err)
			err = sf_coupon_check(&p->cp, p->q.subtotal, p->q.currency, now, o->customer_id);
		if (!err)
			p->use = &p->cp;
	}
	if (!err)
		err = sf_quote_compute(&p->q, p->use, p->m);
	if (err)
		sf_quote_free(&p->q);
	return err;
}

/* ==== Input validation ==== */

/* A one-line text of at most max characters, as the form's maxlength
 * counts them (code points, not bytes: "Ж" is one character in two bytes),
 * and so at most 4 x max bytes. */
static int text_ok(const char *s, size_t max, int required)
{
	if (!s)
		return !required;
	return (*s || !required) && sf_utf8_line_fits(s, max);
}

static int has_card(const char *s)
{
	return s && sf_log_has_card(s, strlen(s));
}

/* err, saying in why[n] (when given) what the field must be -- never its
 * value -- and in *field (when given) the field's name. */
static enum sf_err field_fault(enum sf_err err, char *why, size_t n, const char *text, const char **field,
			       const char *name)
{
	if (why && n && text)
		sf_strlcpy(why, text, n);
	if (field)
		*field = name;
	return err;
}

static enum sf_err address_fault(char *why, size_t n, const char *text, const char **field, const char *name)
{
	return field_fault(SF_ERR_ADDRESS, why, n, text, field, name);
}

enum sf_err sf_checkout_validate(const struct sf_address *a, const char *email, char country_out[3], char *why,
				 size_t why_n, const char **field)
{
	const struct {
		const char *v, *label, *name;
		size_t max;
		int required;
	} f[] = {
		{a->name, "name", "name", SF_ADDR_NAME_MAX, 1},
		{a->street, "street and number", "street", SF_ADDR_STREET_MAX, 1},
		{a->city, "city", "city", SF_ADDR_CITY_MAX, 1},
		{a->postcode, "postcode", "postcode", SF_ADDR_POSTCODE_MAX, 1},
		{a->phone, "phone", "phone", SF_ADDR_PHONE_MAX, 0},
	};
	if (why && why_n)
		why[0] = '\0';
	if (field)
		*field = NULL;
	if (has_card(a->country))
		return field_fault(SF_ERR_CARD_DATA, why, why_n, NULL, field, "country");
	if (has_card(email))
		return field_fault(SF_ERR_CARD_DATA, why, why_n, NULL, field, "email");
	for (size_t i = 0; i < SF_ARRAY_LEN(f); i++)
		if (has_card(f[i].v))
			return field_fault(SF_ERR_CARD_DATA, why, why_n, f[i].v == a->phone ? SF_LOG_PHONE_CARD_WHY : NULL,
					   field, f[i].name);
	for (size_t i = 0; i < SF_ARRAY_LEN(f); i++) {
		char text[96];
		if (f[i].required && (!f[i].v || !*f[i].v))
			snprintf(text, sizeof text, "Fill in the %s.", f[i].label);
		else if (!text_ok(f[i].v, f[i].max, f[i].required))
			snprintf(text, sizeof text, "The %s must be one line of at most %zu characters.", f[i].label,
				 f[i].max);
		else
			continue;
		return address_fault(why, why_n, text, field, f[i].name);
	}
	if (!a->country || strlen(a->country) != 2)
		return address_fault(why, why_n, "The country must be two letters, e.g. FR.", field, "country");
	for (int i = 0; i < 2; i++) {
		char ch = a->country[i];
		if (ch >= 'a' && ch <= 'z')
			ch = (char)(ch - 'a' + 'A');
		if (ch < 'A' || ch > 'Z')
			return address_fault(why, why_n, "The country must be two letters, e.g. FR.", field, "country");
		country_out[i] = ch;
	}
	country_out[2] = '\0';
	for (const char *p = a->phone ? a->phone : ""; *p; p++)
		if (!strchr("0123456789 +-()", *p))
			return address_fault(why, why_n, "The phone may hold only digits, blanks and + - ( ).", field,
					     "phone");
	/* The rule an account's address follows, so that every order's mails can
	 * be queued: the outbox refuses what this refuses (<, >, quotes, commas). */
	char norm[SF_CUSTOMER_EMAIL_MAX + 1];
	if (!text_ok(email, SF_EMAIL_MAX, 1) || strchr(email, ' ') || !sf_customer_email_norm(email, norm, sizeof norm))
		return address_fault(why, why_n, "Enter an e-mail address an order's mails can be sent to.", field,
				     "email");
	return SF_OK;
}

static int idem_key_ok(const char *k)
{
	if (!k)
		return 0;
	size_t n = strlen(k);
	if (n < IDEM_KEY_MIN || n > IDEM_KEY_MAX)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (k[i] <= 0x20 || k[i] >= 0x7f)
			return 0;
	return 1;
}

/* ==== Placing an order ==== */

struct place_ctx {
	const struct sf_keyring *kr;
	const struct sf_shop_rules *r;
	const struct sf_checkout_req *req;
	char country[3];
	char owner[80];
	unsigned char key_hash[32], body_hash[32];
	int64_t order_id;
	int replayed;
	const struct sf_order_viewer *view_as; /* sf_checkout_place_view */
	json_t *order;
	enum sf_err err;
};

/* BLAKE2b over a domain and NUL-separated fields (NULL fields as "\x01"). */
static void hash_fields(unsigned char out[32], const char *domain, const char *const *f, size_t n)
{
	crypto_generichash_state st;
	crypto_generichash_init(&st, NULL, 0, 32);
	crypto_generichash_update(&st, (const unsigned char *)domain, strlen(domain) + 1);
	for (size_t i = 0; i < n; i++) {
		const char *s = f[i] ? f[i] : "\x01";
		crypto_generichash_update(&st, (const unsigned char *)s, strlen(s) + 1);
	}
	crypto_generichash_final(&st, out, 32);
}

struct idem_row {
	int64_t id, total;
	unsigned char body[32];
	int ok;
};

static void read_idem(struct sf_db_cursor *cur, void *ctx)
{
	struct idem_row *r = ctx;
	size_t n = 0;
	const void *b = sf_db_col_blob(cur, 1, &n);
	r->id = sf_db_col_int(cur, 0);
	r->total = sf_db_col_int(cur, 2);
	r->ok = n == 32;
	if (r->ok)
		memcpy(r->body, b, 32);
}

static enum sf_err place_in_txn(struct sf_db_conn *c, struct place_ctx *x)
{
	const struct sf_checkout_req *rq = x->req;
	struct priced p;
	unsigned char *sealed_email = NULL, *sealed_addr = NULL;
	size_t email_len = 0, addr_len = 0;
	char *addr_json = NULL;
	int64_t now = sf_shop_now();
	enum sf_db_status st;
	enum sf_err err;

	/* 1. the same key again: the same order, or a conflict */
	struct idem_row idem = {0};
	struct sf_db_param ip[] = {SF_DB_TEXT(x->owner), SF_DB_BLOB(x->key_hash, 32)};
	st = sf_db_query_one(c, SF_STMT_ORDER_BY_IDEM, ip, 2, read_idem, &idem);
	if (st < 0)
		return sf_db_err(st);
	if (st == SF_DB_OK) {
		if (!idem.ok || sf_ct_compare(idem.body, x->body_hash, 32) != 0)
			return SF_ERR_IDEMPOTENCY;
		if (rq->check_total && idem.total != rq->expect_total)
			return SF_ERR_TOTAL_CHANGED;
		x->order_id = idem.id;
		x->replayed = 1;
		return SF_OK;
	}

	/* 2. the cart, priced from the variants table: what the shopper
	 * reviewed, or nothing is written */
	err = price_cart(c, x->r, &rq->owner, rq->shipping_method, rq->coupon, now, &p);
	if (err)
		return err;
	if (rq->review_fp) {
		char fp[SF_QUOTE_FP_LEN + 1];
		sf_quote_fingerprint(&p.q, p.code, p.m->code, fp);
		if (strnlen(rq->review_fp, SF_QUOTE_FP_LEN + 1) != SF_QUOTE_FP_LEN ||
		    sf_ct_compare(fp, rq->review_fp, SF_QUOTE_FP_LEN) != 0) {
			err = SF_ERR_CART_CHANGED;
			goto out;
		}
	}
	if (rq->check_total && p.q.total != rq->expect_total) {
		err = SF_ERR_TOTAL_CHANGED;
		goto out;
	}
	for (size_t i = 0; i < p.q.n; i++) {
		if (!p.q.lines[i].active) {
			err = SF_ERR_OUT_OF_STOCK;
			goto out;
		}
		if (p.q.lines[i].qty > x->r->max_line_qty) {
			err = SF_ERR_QUANTITY;
			goto out;
		}
	}

	/* 3. reserve the stock: a guarded UPDATE per line; any shortfall
	 * rolls the whole transaction back */
	int flipped = 0;
	for (size_t i = 0; i < p.q.n; i++) {
		err = sf_stock_take(c, p.q.lines[i].variant_id, p.q.lines[i].qty, &flipped);
		if (err)
			goto out;
	}
	/* the storefront shows availability (stock.h): cached catalog pages
	 * are stale only when a variant changed its band */
	if (flipped) {
		st = sf_catalog_touch(c);
		if (st < 0) {
			err = sf_db_err(st);
			goto out;
		}
	}

	/* 4. the order, its lines and its sealed personal data */
	struct sf_db_param op[] = {
		rq->owner.customer_id > 0 ? SF_DB_INT(rq->owner.customer_id) : SF_DB_NULL,
		rq->owner.customer_id > 0 ? SF_DB_NULL : SF_DB_BLOB(rq->owner.guest_hash, SF_CART_HASH_LEN),
		SF_DB_TEXT(p.q.currency),
		SF_DB_INT(p.q.include_tax),
		SF_DB_INT(p.q.subtotal),
		SF_DB_INT(p.q.discount),
		SF_DB_INT(p.q.shipping),
		SF_DB_INT(p.q.tax),
		SF_DB_INT(p.q.total),
		p.use ? SF_DB_TEXT(p.use->code) : SF_DB_NULL,
		SF_DB_TEXT(p.m->code),
		SF_DB_TEXT(p.m->name),
		SF_DB_TEXT(x->owner),
		SF_DB_BLOB(x->key_hash, 32),
		SF_DB_BLOB(x->body_hash, 32),
		SF_DB_INT(now + x->r->reservation_s),
		SF_DB_INT(now),
	};
	st = sf_db_exec(c, SF_STMT_ORDER_INSERT, op, sizeof op / sizeof op[0], NULL);
	if (st < 0) {
		/* a concurrent twin with the same key won the race: run again and
		 * find it */
		err = st == SF_DB_CONSTRAINT ? SF_ERR_DB_CONFLICT : sf_db_err(st);
		goto out;
	}
	x->order_id = sf_db_last_id(c);
	json_t *aj = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s?}", "name", rq->address.name, "street", rq->address.street,
			       "city", rq->address.city, "postcode", rq->address.postcode, "country", x->country,
			       "phone", rq->address.phone && *rq->address.phone ? rq->address.phone : NULL);
	addr_json = aj ? json_dumps(aj, JSON_COMPACT) : NULL;
	json_decref(aj);
	if (!addr_json) {
		err = SF_ERR_NOMEM;
		goto out;
	}
	err = sf_seal(x->kr, "orders", "email", x->order_id, rq->email, strlen(rq->email), &sealed_email,
		      &email_len);
	if (!err)
		err = sf_seal(x->kr, "orders", "address", x->order_id, addr_json, strlen(addr_json), &sealed_addr,
			      &addr_len);
	if (err)
		goto out;
	struct sf_db_param sp[] = {SF_DB_INT(x->order_id), SF_DB_BLOB(sealed_email, email_len),
				   SF_DB_BLOB(sealed_addr, addr_len)};
	st = sf_db_exec(c, SF_STMT_ORDER_SET_SEALED, sp, 3, NULL);
	for (size_t i = 0; i < p.q.n && st >= 0; i++) {
		const struct sf_quote_line *l = &p.q.lines[i];
		char name[LINE_NAME_MAX];
		snprintf(name, sizeof name, "%s%s%s", l->name, l->variant[0] ? " - " : "", l->variant);
		sf_utf8_clip(name);
		struct sf_db_param lp[] = {SF_DB_INT(x->order_id), SF_DB_INT((int64_t)i + 1), SF_DB_INT(l->variant_id),
					   SF_DB_TEXT(l->sku), SF_DB_TEXT(name), SF_DB_INT(l->qty),
					   SF_DB_INT(l->unit), SF_DB_TEXT(l->tax_class), SF_DB_INT(l->rate_bp),
					   SF_DB_INT(l->gross), SF_DB_INT(l->discount), SF_DB_INT(l->tax)};
		st = sf_db_exec(c, SF_STMT_ORDER_LINE_INSERT, lp, 12, NULL);
	}
	if (st < 0) {
		err = sf_db_err(st);
		goto out;
	}

	/* 5. coupon use, order event + audit, cart emptied, webhook event */
	if (p.use) {
		err = sf_coupon_redeem(c, p.use, x->order_id, rq->owner.customer_id);
		if (err)
			goto out;
	}
	json_t *extra = json_pack("{s:I,s:s,s:I}", "total", (json_int_t)p.q.total, "currency", p.q.currency, "lines",
				  (json_int_t)p.q.n);
	err = extra ? sf_order_record(c, x->kr, x->order_id, NULL, SF_ORDER_PENDING_PAYMENT, &rq->actor,
				      "order placed", "order.create", extra)
		    : SF_ERR_NOMEM;
	json_decref(extra);
	if (err)
		goto out;
	struct sf_db_param cp_[] = {SF_DB_INT(p.cart_id), SF_DB_NULL, SF_DB_INT(now)};
	st = sf_db_exec(c, SF_STMT_CART_CLEAR, cp_, 1, NULL);
	if (st >= 0)
		st = sf_db_exec(c, SF_STMT_CART_SET_COUPON, cp_, 3, NULL);
	if (st < 0) {
		err = sf_db_err(st);
		goto out;
	}
	/* No mail yet: the order confirmation goes out when the order is paid
	 * (sf_order_payment_settled); an unpaid order may still expire. */
	err = sf_webhook_order_event(c, "order.created", x->order_id, "pending_payment", p.q.total, p.q.currency);
out:
	free(sealed_email);
	free(sealed_addr);
	if (addr_json) {
		sodium_memzero(addr_json, strlen(addr_json));
		free(addr_json);
	}
	sf_quote_free(&p.q);
	return err;
}

static enum sf_db_status place_txn(struct sf_db_conn *c, void *vctx)
{
	struct place_ctx *x = vctx;
	x->order_id = 0;
	x->replayed = 0;
	json_decref(x->order); /* a retry starts over */
	x->order = NULL;
	x->err = place_in_txn(c, x);
	if (!x->err && x->view_as)
		x->err = sf_order_get(c, x->kr, x->order_id, x->view_as, 0, &x->order);
	return x->err ? sf_db_status_from_err(x->err) : SF_DB_OK;
}

static enum sf_err place(struct sf_db *db, struct place_ctx *x, int64_t *order_id, int *replayed);

enum sf_err sf_checkout_place(struct sf_db *db, const struct sf_keyring *kr, const struct sf_shop_rules *r,
			      const struct sf_checkout_req *req, int64_t *order_id, int *replayed)
{
	struct place_ctx x = {.kr = kr, .r = r, .req = req};
	return place(db, &x, order_id, replayed);
}

enum sf_err sf_checkout_place_view(struct sf_db *db, const struct sf_keyring *kr, const struct sf_shop_rules *r,
				   const struct sf_checkout_req *req, const struct sf_order_viewer *v,
				   int64_t *order_id, int *replayed, json_t **order)
{
	struct place_ctx x = {.kr = kr, .r = r, .req = req, .view_as = v};
	struct sf_order_brief b;
	*order = NULL;
	enum sf_err err = place(db, &x, order_id, replayed);
	if (err) {
		json_decref(x.order);
		return err;
	}
	if (sf_order_brief_of(x.order, &b) == SF_OK && !sf_order_reservation_over(b.status, b.reserved_until)) {
		*order = x.order;
		return SF_OK;
	}
	/* A replayed key of an order whose reservation has run out: expire it
	 * first, as every read of an order does. */
	json_decref(x.order);
	return sf_order_fetch(db, kr, *order_id, v, 0, order);
}

static enum sf_err place(struct sf_db *db, struct place_ctx *x, int64_t *order_id, int *replayed)
{
	const struct sf_keyring *kr = x->kr;
	const struct sf_checkout_req *req = x->req;
	enum sf_err err;
	*order_id = 0;
	if (replayed)
		*replayed = 0;
	if (!idem_key_ok(req->idem_key))
		return SF_ERR_IDEMPOTENCY_KEY;
	if (req->owner.customer_id <= 0 && !req->owner.has_guest)
		return SF_ERR_CART_EMPTY;
	err = sf_checkout_validate(&req->address, req->email, x->country, NULL, 0, NULL);
	if (err)
		return err;
	if (has_card(req->shipping_method) || has_card(req->coupon))
		return SF_ERR_CARD_DATA;
	if (!req->shipping_method || strlen(req->shipping_method) > SF_SHIP_CODE_MAX)
		return SF_ERR_SHIPPING_METHOD;
	if (req->coupon && strlen(req->coupon) > 64)
		return SF_ERR_COUPON_INVALID;
	if (req->owner.customer_id > 0) {
		snprintf(x->owner, sizeof x->owner, "c:%" PRId64, req->owner.customer_id);
	} else {
		char hex[2 * SF_CART_HASH_LEN + 1];
		sf_hex(req->owner.guest_hash, SF_CART_HASH_LEN, hex);
		snprintf(x->owner, sizeof x->owner, "g:%.64s", hex);
	}
	const char *key[] = {req->idem_key};
	hash_fields(x->key_hash, "storefort idempotency key v1", key, 1);
	const char *body[] = {req->email,	     req->address.name,    req->address.street, req->address.city,
			      req->address.postcode, x->country,	   req->address.phone,	req->shipping_method,
			      req->coupon};
	hash_fields(x->body_hash, "storefort checkout body v1", body, sizeof body / sizeof body[0]);
	enum sf_db_status st = sf_db_txn(db, place_txn, x, TXN_TRIES);
	if (x->err == SF_ERR_OUT_OF_STOCK) {
		/* Expired reservations may be holding the stock: give it back and
		 * try once more (the reaper would do so within its interval). */
		int expired = 0;
		if (sf_order_expire_due(db, kr, &expired) == SF_OK && expired > 0)
			st = sf_db_txn(db, place_txn, x, TXN_TRIES);
	}
	if (x->err)
		return x->err;
	if (st < 0)
		return sf_db_err(st);
	*order_id = x->order_id;
	if (replayed)
		*replayed = x->replayed;
	return SF_OK;
}

/* ==== The review step ==== */

enum sf_err sf_checkout_preview(struct sf_db *db, const struct sf_shop_rules *r, const struct sf_cart_owner *o,
				const char *ship_code, const char *coupon, json_t **out)
{
	struct priced p;
	char fp[SF_QUOTE_FP_LEN + 1];
	int oom = 0;
	*out = NULL;
	struct sf_db_conn *c = sf_db_conn_get(db);
	if (!c)
		return SF_ERR_DB;
	enum sf_err err = price_cart(c, r, o, ship_code, coupon, sf_shop_now(), &p);
	if (err)
		return err;
	const struct sf_quote *q = &p.q;
	json_t *lines = json_array();
	for (size_t i = 0; i < q->n; i++) {
		const struct sf_quote_line *l = &q->lines[i];
		json_t *j = json_pack("{s:s,s:s,s:s,s:I,s:o,s:o}", "sku", l->sku, "name", l->name, "variant", l->variant,
				      "quantity", (json_int_t)l->qty, "unit_price", sf_money_json(l->unit, q->currency),
				      "line_total", sf_money_json(l->gross, q->currency));
		oom |= !j || json_array_append_new(lines, j);
	}
	json_t *totals = json_pack("{s:o,s:o,s:o,s:o,s:o}", "subtotal", sf_money_json(q->subtotal, q->currency),
				   "discount", sf_money_json(q->discount, q->currency), "shipping",
				   sf_money_json(q->shipping, q->currency), "tax", sf_money_json(q->tax, q->currency),
				   "total", sf_money_json(q->total, q->currency));
	sf_quote_fingerprint(q, p.code, p.m->code, fp);
	*out = json_pack("{s:o,s:o,s:b,s:{s:s,s:s},s:s?,s:b,s:s}", "lines", lines, "totals", totals, "has_discount",
			 q->discount > 0, "shipping", "code", p.m->code, "name", p.m->name, "coupon",
			 p.code[0] ? p.code : NULL, "prices_include_tax", q->include_tax, "fingerprint", fp);
	if (!*out || oom) {
		json_decref(*out);
		*out = NULL;
		err = SF_ERR_NOMEM;
	}
	sf_quote_free(&p.q);
	return err;
}
