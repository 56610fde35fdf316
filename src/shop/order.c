/*
 * order.c — the order life cycle, payments bookkeeping, shipments, reads
 * and the reservation reaper (order.h).
 */
#include "shop/order.h"

#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "audit/audit.h"
#include "core/buf.h"
#include "core/log.h"
#include "core/ticker.h"
#include "core/util.h"
#include "crypto/keyring.h"
#include "db/db.h"
#include "shop/catalog.h"
#include "shop/catalog_cache.h"
#include "shop/coupon.h"
#include "shop/money.h"
#include "shop/shipping.h"
#include "shop/stock.h"
#include "shop/webhook.h"

#define ORDER_MAIL_TO_MAX 320 /* checkout and accounts take <= 254 bytes */

#define TXN_TRIES 16

static const char *const status_names[SF_ORDER__COUNT] = {
	"pending_payment", "paid", "fulfilled", "shipped", "delivered", "cancelled", "refunded", "partially_refunded",
};

/* allowed[from][to] */
static const unsigned char allowed[SF_ORDER__COUNT][SF_ORDER__COUNT] = {
	[SF_ORDER_PENDING_PAYMENT] = {[SF_ORDER_PAID] = 1, [SF_ORDER_CANCELLED] = 1},
	[SF_ORDER_PAID] = {[SF_ORDER_FULFILLED] = 1, [SF_ORDER_REFUNDED] = 1, [SF_ORDER_PARTIALLY_REFUNDED] = 1},
	[SF_ORDER_FULFILLED] = {[SF_ORDER_SHIPPED] = 1, [SF_ORDER_REFUNDED] = 1, [SF_ORDER_PARTIALLY_REFUNDED] = 1},
	[SF_ORDER_SHIPPED] = {[SF_ORDER_DELIVERED] = 1, [SF_ORDER_REFUNDED] = 1, [SF_ORDER_PARTIALLY_REFUNDED] = 1},
	[SF_ORDER_DELIVERED] = {[SF_ORDER_REFUNDED] = 1, [SF_ORDER_PARTIALLY_REFUNDED] = 1},
	[SF_ORDER_PARTIALLY_REFUNDED] = {[SF_ORDER_PARTIALLY_REFUNDED] = 1, [SF_ORDER_REFUNDED] = 1},
};

const char *sf_order_status_name(enum sf_order_status s)
{
	return (unsigned)s < SF_ORDER__COUNT ? status_names[s] : "unknown";
}

int sf_order_status_parse(const char *name, enum sf_order_status *out)
{
	for (int i = 0; name && i < SF_ORDER__COUNT; i++) {
		if (strcmp(name, status_names[i]) == 0) {
			*out = (enum sf_order_status)i;
			return 0;
		}
	}
	return -1;
}

int sf_order_transition_allowed(enum sf_order_status from, enum sf_order_status to)
{
	if ((unsigned)from >= SF_ORDER__COUNT || (unsigned)to >= SF_ORDER__COUNT)
		return 0;
	return allowed[from][to];
}

int sf_order_move_allowed(enum sf_order_status status, enum sf_order_status stage, enum sf_order_status to)
{
	if (sf_order_transition_allowed(status, to))
		return 1;
	return status == SF_ORDER_PARTIALLY_REFUNDED &&
	       (to == SF_ORDER_FULFILLED || to == SF_ORDER_SHIPPED || to == SF_ORDER_DELIVERED) &&
	       stage != SF_ORDER_PARTIALLY_REFUNDED && sf_order_transition_allowed(stage, to);
}

/* ==== Reading the order row ==== */

struct order_row {
	int64_t id, customer_id;
	unsigned char guest_hash[SF_CART_HASH_LEN];
	int has_guest;
	enum sf_order_status status;
	char currency[4];
	int include_tax;
	int64_t subtotal, discount, shipping, tax, total, paid, refunded;
	char coupon[SF_COUPON_CODE_MAX + 1];
	char ship_code[SF_SHIP_CODE_MAX + 1];
	char ship_name[SF_SHIP_NAME_MAX + 1];
	unsigned char *email, *address; /* heap copies of the sealed blobs */
	size_t email_len, address_len;
	int64_t reserved_until, created_at, updated_at;
	int bad;
};

static unsigned char *blob_dup(struct sf_db_cursor *cur, int col, size_t *len)
{
	size_t n = 0;
	const void *b = sf_db_col_blob(cur, col, &n);
	*len = 0;
	if (!b || n == 0)
		return NULL;
	unsigned char *d = malloc(n);
	if (d) {
		memcpy(d, b, n);
		*len = n;
	}
	return d;
}

static void read_order(struct sf_db_cursor *cur, void *ctx)
{
	struct order_row *o = ctx;
	size_t n = 0;
	o->id = sf_db_col_int(cur, 0);
	o->customer_id = sf_db_col_int(cur, 1);
	const void *g = sf_db_col_blob(cur, 2, &n);
	o->has_guest = g && n == SF_CART_HASH_LEN;
	if (o->has_guest)
		memcpy(o->guest_hash, g, SF_CART_HASH_LEN);
	o->bad = sf_order_status_parse(sf_db_col_text(cur, 3, NULL), &o->status) != 0;
	sf_strlcpy(o->currency, sf_db_col_text(cur, 4, NULL), sizeof o->currency);
	o->include_tax = sf_db_col_int(cur, 5) != 0;
	o->subtotal = sf_db_col_int(cur, 6);
	o->discount = sf_db_col_int(cur, 7);
	o->shipping = sf_db_col_int(cur, 8);
	o->tax = sf_db_col_int(cur, 9);
	o->total = sf_db_col_int(cur, 10);
	o->paid = sf_db_col_int(cur, 11);
	o->refunded = sf_db_col_int(cur, 12);
	sf_strlcpy(o->coupon, sf_db_col_text(cur, 13, NULL), sizeof o->coupon);
	sf_strlcpy(o->ship_code, sf_db_col_text(cur, 14, NULL), sizeof o->ship_code);
	if (sf_strlcpy(o->ship_name, sf_db_col_text(cur, 15, NULL), sizeof o->ship_name))
		sf_utf8_clip(o->ship_name); /* an order stored with a longer (or cut) name still reads */
	o->email = blob_dup(cur, 16, &o->email_len);
	o->address = blob_dup(cur, 17, &o->address_len);
	o->reserved_until = sf_db_col_int(cur, 20);
	o->created_at = sf_db_col_int(cur, 21);
	o->updated_at = sf_db_col_int(cur, 22);
}

static void order_row_free(struct order_row *o)
{
	free(o->email);
	free(o->address);
	o->email = o->address = NULL;
}

int sf_order_reservation_over(enum sf_order_status status, int64_t reserved_until)
{
	return status == SF_ORDER_PENDING_PAYMENT && sf_shop_now() >= reserved_until;
}

static enum sf_err order_load(struct sf_db_conn *c, int64_t id, struct order_row *o)
{
	memset(o, 0, sizeof *o);
	if (id <= 0)
		return SF_ERR_NOT_FOUND;
	struct sf_db_param p = SF_DB_INT(id);
	enum sf_db_status st = sf_db_query_one(c, SF_STMT_ORDER_GET, &p, 1, read_order, o);
	if (st == SF_DB_NO_ROWS)
		return SF_ERR_NOT_FOUND;
	if (st < 0)
		return sf_db_err(st);
	if (o->bad) {
		order_row_free(o);
		return SF_ERR_INTERNAL;
	}
	return SF_OK;
}

/* ==== Events ==== */

enum sf_err sf_order_record(struct sf_db_conn *c, const struct sf_keyring *kr, int64_t order_id, const char *from,
			    enum sf_order_status to, const struct sf_shop_actor *actor, const char *reason,
			    const char *action, json_t *extra)
{
	static const struct sf_shop_actor system_actor = {.type = "system"};
	if (!actor || !actor->type)
		actor = &system_actor;
	struct sf_db_param p[] = {SF_DB_INT(order_id),	  SF_DB_TEXT_OR_NULL(from),
				  SF_DB_TEXT(sf_order_status_name(to)), SF_DB_TEXT(actor->type),
				  SF_DB_TEXT_OR_NULL(actor->id), SF_DB_TEXT_OR_NULL(reason),
				  SF_DB_INT(sf_shop_now())};
	enum sf_db_status st = sf_db_exec(c, SF_STMT_ORDER_EVENT_INSERT, p, 7, NULL);
	if (st < 0)
		return sf_db_err(st);
	json_t *d = json_pack("{s:s?,s:s,s:s?}", "from", from, "to", sf_order_status_name(to), "reason", reason);
	if (!d || (extra && json_object_update(d, extra))) {
		json_decref(d);
		return SF_ERR_NOMEM;
	}
	char *detail = json_dumps(d, JSON_COMPACT);
	json_decref(d);
	if (!detail)
		return SF_ERR_NOMEM;
	char oid[24];
	snprintf(oid, sizeof oid, "%" PRId64, order_id);
	struct sf_audit_event ev = {
		.actor_type = actor->type,
		.actor_id = actor->id,
		.ip = actor->ip,
		.action = action,
		.object_type = "order",
		.object_id = oid,
		.outcome = "success",
		.request_id = actor->request_id,
		.detail = detail,
	};
	enum sf_err err = sf_audit_append(c, kr, &ev);
	free(detail);
	return err;
}

/* Text of at most max bytes, printable, valid UTF-8 (reasons, refs); tab,
 * CR and LF only in long texts (a reason), never in a carrier or a tracking
 * number, which the shipped mail shows as lines of their own. */
static int text_ok(const char *s, size_t max, int required)
{
	if (!s)
		return !required;
	size_t n = strlen(s);
	return (n > 0 || !required) && n <= max && sf_utf8_valid(s, n, max > 200 ? 1 : SF_UTF8_LINE) &&
	       !sf_log_has_card(s, n);
}

int sf_order_reason_ok(const char *reason)
{
	return text_ok(reason, SF_ORDER_REASON_MAX, 0);
}

/* Unseal the order's e-mail into a heap string (NULL when absent). */
static enum sf_err order_email(const struct sf_keyring *kr, const struct order_row *o, char **out)
{
	char *pt = NULL;
	size_t n = 0;
	*out = NULL;
	if (!o->email)
		return SF_OK;
	enum sf_err err = sf_unseal(kr, "orders", "email", o->id, o->email, o->email_len, &pt, &n);
	if (err)
		return err;
	*out = strdup(pt);
	sf_unsealed_free(pt, n);
	return *out ? SF_OK : SF_ERR_NOMEM;
}

/* Hand one mail of order id to the outbox.  A mail the outbox refuses (an
 * address or a text it cannot send: SF_ERR_INVALID) is logged and left out:
 * it must not stop the payment, shipment or refund it tells of. */
static enum sf_err queue_mail(struct sf_db_conn *c, int64_t id, const char *to, const char *subject,
			      const char *body)
{
	enum sf_err err = sf_shop_mail(c, to, subject, body);
	if (err == SF_ERR_INVALID) {
		sf_log(SF_LOG_WARN, "order.mail_refused", "the outbox refused a mail of order %" PRId64 " (%s)", id,
		       subject);
		err = SF_OK;
	}
	return err;
}

/* Queue a mail to the order's address.  The address is opened into a stack
 * buffer (wiped after use): a guarded allocation per mail was ~4% of the
 * server's CPU under the checkout benchmark. */
static enum sf_err order_mail(struct sf_db_conn *c, const struct sf_keyring *kr, const struct order_row *o,
			      const char *subject, const char *body)
{
	char to[ORDER_MAIL_TO_MAX];
	size_t n = 0;
	if (!o->email)
		return SF_OK;
	enum sf_err err = sf_unseal_to(kr, "orders", "email", o->id, o->email, o->email_len, to, sizeof to, &n);
	if (err == SF_ERR_TOO_LARGE) { /* not written by checkout: take the general path */
		char *big = NULL;
		err = order_email(kr, o, &big);
		if (!err && big)
			err = queue_mail(c, o->id, big, subject, body);
		free(big);
		return err;
	}
	if (!err)
		err = queue_mail(c, o->id, to, subject, body);
	sodium_memzero(to, sizeof to);
	return err;
}

/* Return the stock of every line and the coupon use (cancellation). */
static enum sf_err give_back(struct sf_db_conn *c, int64_t order_id)
{
	struct sf_db_cursor *cur = NULL;
	int64_t(*lines)[2] = NULL; /* quantity, variant id */
	size_t n = 0, cap = 0;
	enum sf_err err = SF_OK;
	struct sf_db_param p = SF_DB_INT(order_id);
	enum sf_db_status st = sf_db_query(c, SF_STMT_ORDER_LINES, &p, 1, &cur);
	if (st != SF_DB_OK)
		return sf_db_err(st);
	while ((st = sf_db_next(cur)) == SF_DB_OK) {
		if (n == cap) {
			size_t ncap = cap ? 2 * cap : 16;
			int64_t(*nl)[2] = realloc(lines, ncap * sizeof *nl);
			if (!nl) {
				err = SF_ERR_NOMEM;
				break;
			}
			lines = nl;
			cap = ncap;
		}
		lines[n][0] = sf_db_col_int(cur, 4);
		lines[n][1] = sf_db_col_int(cur, 1);
		n++;
	}
	sf_db_cursor_close(cur);
	if (!err && st < 0)
		err = sf_db_err(st);
	int flipped = 0;
	for (size_t i = 0; i < n && !err; i++)
		err = sf_stock_return(c, lines[i][1], lines[i][0], &flipped);
	free(lines);
	if (!err && flipped) {
		st = sf_catalog_touch(c); /* the storefront shows availability (stock.h) */
		if (st < 0)
			err = sf_db_err(st);
	}
	return err ? err : sf_coupon_release(c, order_id);
}

/* Guarded status change from o->status to to; SF_ERR_ORDER_STATE when the
 * row moved meanwhile (cannot happen under BEGIN IMMEDIATE, but cheap). */
static enum sf_err set_status(struct sf_db_conn *c, const struct order_row *o, enum sf_order_status to)
{
	int64_t changed = 0;
	struct sf_db_param p[] = {SF_DB_INT(o->id), SF_DB_TEXT(sf_order_status_name(o->status)),
				  SF_DB_TEXT(sf_order_status_name(to)), SF_DB_INT(sf_shop_now())};
	enum sf_db_status st = sf_db_exec(c, SF_STMT_ORDER_SET_STATUS, p, 4, &changed);
	if (st < 0)
		return sf_db_err(st);
	return changed == 1 ? SF_OK : SF_ERR_ORDER_STATE;
}

static void read_stage(struct sf_db_cursor *cur, void *vctx)
{
	(void)sf_order_status_parse(sf_db_col_text(cur, 0, NULL), vctx);
}

/* The stage a partially refunded order was refunded in (paid when its
 * history does not say: it was paid, or it could not be refunded); any
 * other order's status. */
static enum sf_order_status stage_of(struct sf_db_conn *c, const struct order_row *o)
{
	if (o->status != SF_ORDER_PARTIALLY_REFUNDED)
		return o->status;
	enum sf_order_status stage = SF_ORDER_PAID;
	struct sf_db_param p = SF_DB_INT(o->id);
	(void)sf_db_query_one(c, SF_STMT_ORDER_STAGE, &p, 1, read_stage, &stage);
	if (stage != SF_ORDER_FULFILLED && stage != SF_ORDER_SHIPPED && stage != SF_ORDER_DELIVERED)
		stage = SF_ORDER_PAID;
	return stage;
}

static int may_move(struct sf_db_conn *c, const struct order_row *o, enum sf_order_status to)
{
	return sf_order_move_allowed(o->status, stage_of(c, o), to);
}

static enum sf_err transition_row(struct sf_db_conn *c, const struct sf_keyring *kr, const struct order_row *o,
				  enum sf_order_status to, const struct sf_shop_actor *actor, const char *reason,
				  const char *action)
{
	if (!may_move(c, o, to))
		return SF_ERR_ORDER_STATE;
	enum sf_err err = set_status(c, o, to);
	if (!err && to == SF_ORDER_CANCELLED)
		err = give_back(c, o->id);
	if (!err)
		err = sf_order_record(c, kr, o->id, sf_order_status_name(o->status), to, actor, reason, action, NULL);
	if (!err && to == SF_ORDER_CANCELLED)
		err = sf_webhook_order_event(c, "order.cancelled", o->id, "cancelled", o->total, o->currency);
	return err;
}

enum sf_err sf_order_transition(struct sf_db_conn *c, const struct sf_keyring *kr, int64_t order_id,
				enum sf_order_status to, const struct sf_shop_actor *actor, const char *reason)
{
	struct order_row o;
	if (to != SF_ORDER_CANCELLED && to != SF_ORDER_FULFILLED && to != SF_ORDER_DELIVERED)
		return SF_ERR_INVALID;
	if (!text_ok(reason, SF_ORDER_REASON_MAX, 0))
		return SF_ERR_INVALID;
	enum sf_err err = order_load(c, order_id, &o);
	if (err)
		return err;
	char action[48];
	snprintf(action, sizeof action, "order.%s", sf_order_status_name(to));
	err = transition_row(c, kr, &o, to, actor, reason, action);
	order_row_free(&o);
	return err;
}

/* ==== Payments ==== */

struct pay_row {
	int64_t order_id, amount;
};

static void read_pay(struct sf_db_cursor *cur, void *ctx)
{
	struct pay_row *p = ctx;
	p->order_id = sf_db_col_int(cur, 0);
	p->amount = sf_db_col_int(cur, 1);
}

/* Was (provider, ref, kind) applied already?  1 yes (to order_id), 0 no,
 * -1 yes but to another order; errors as negative sf_err via *err. */
static int pay_seen(struct sf_db_conn *c, const char *provider, const char *ref, const char *kind,
		    int64_t order_id, enum sf_err *err)
{
	struct pay_row pr = {0};
	struct sf_db_param p[] = {SF_DB_TEXT(provider), SF_DB_TEXT(ref), SF_DB_TEXT(kind)};
	enum sf_db_status st = sf_db_query_one(c, SF_STMT_ORDER_PAYMENT_GET, p, 3, read_pay, &pr);
	*err = st < 0 ? sf_db_err(st) : SF_OK;
	if (st != SF_DB_OK)
		return 0;
	return pr.order_id == order_id ? 1 : -1;
}

static enum sf_err pay_insert(struct sf_db_conn *c, int64_t order_id, const char *provider, const char *ref,
			      const char *kind, int64_t amount, const char *currency)
{
	struct sf_db_param p[] = {SF_DB_INT(order_id), SF_DB_TEXT(provider), SF_DB_TEXT(ref), SF_DB_TEXT(kind),
				  SF_DB_INT(amount),   SF_DB_TEXT(currency), SF_DB_INT(sf_shop_now())};
	enum sf_db_status st = sf_db_exec(c, SF_STMT_ORDER_PAYMENT_INSERT, p, 7, NULL);
	return st < 0 ? sf_db_err(st) : SF_OK;
}

/* The common start of a provider notification: check the strings, see
 * whether (provider, ref, kind) was applied already, load the order.
 * SF_OK with *done = 1 (already applied to this order: nothing to do, o not
 * loaded) or *done = 0 (o loaded: the caller frees it); SF_ERR_INVALID,
 * SF_ERR_ORDER_STATE (the reference was used for another order),
 * SF_ERR_NOT_FOUND, or a database error. */
static enum sf_err pay_begin(struct sf_db_conn *c, int64_t order_id, const char *provider, const char *ref,
			     const char *reason, const char *kind, struct order_row *o, int *done)
{
	enum sf_err err;
	*done = 0;
	if (!text_ok(provider, SF_ORDER_REF_MAX, 1) || !text_ok(ref, SF_ORDER_REF_MAX, 1) ||
	    !text_ok(reason, SF_ORDER_REASON_MAX, 0))
		return SF_ERR_INVALID;
	int seen = pay_seen(c, provider, ref, kind, order_id, &err);
	if (err)
		return err;
	if (seen == 1) {
		*done = 1;
		return SF_OK;
	}
	if (seen == -1)
		return SF_ERR_ORDER_STATE;
	return order_load(c, order_id, o);
}

/*
 * The order confirmation, sent when the order is paid (not when it is
 * placed: an unpaid order may still expire, and a "confirmed" mail for it
 * would be wrong): the payment, the lines and the totals.  Heap text, or
 * NULL (out of memory, or the lines could not be read: *err says which).
 */
static char *confirmation_text(struct sf_db_conn *c, const struct order_row *o, int64_t amount, enum sf_err *err)
{
	struct sf_buf b;
	char money[64];
	struct sf_db_cursor *cur = NULL;
	struct sf_db_param p = SF_DB_INT(o->id);
	enum sf_db_status st = sf_db_query(c, SF_STMT_ORDER_LINES, &p, 1, &cur);
	if (st != SF_DB_OK) {
		*err = sf_db_err(st);
		return NULL;
	}
	sf_buf_init(&b, 256 * 1024);
	sf_money_format(amount, o->currency, money, sizeof money);
	sf_buf_printf(&b, "Thank you for your order %" PRId64 ": we have received your payment of %s.\n\n", o->id,
		      money);
	while ((st = sf_db_next(cur)) == SF_DB_OK) {
		sf_money_format(sf_db_col_int(cur, 8), o->currency, money, sizeof money);
		sf_buf_printf(&b, "%" PRId64 " x %s  %s\n", sf_db_col_int(cur, 4), sf_db_col_text(cur, 3, NULL), money);
	}
	sf_db_cursor_close(cur);
	if (o->discount) {
		sf_money_format(o->discount, o->currency, money, sizeof money);
		sf_buf_printf(&b, "Discount: -%s\n", money);
	}
	sf_money_format(o->shipping, o->currency, money, sizeof money);
	sf_buf_printf(&b, "Shipping (%s): %s\n", o->ship_name, money);
	sf_money_format(o->tax, o->currency, money, sizeof money);
	sf_buf_printf(&b, "Tax%s: %s\n", o->include_tax ? " included" : "", money);
	sf_money_format(o->total, o->currency, money, sizeof money);
	sf_buf_printf(&b, "Total: %s\n\nWe are preparing your order and will write again when it ships.\n", money);
	if (st < 0 || b.bf_err) {
		*err = st < 0 ? sf_db_err(st) : SF_ERR_NOMEM;
		sf_buf_free(&b);
		return NULL;
	}
	return sf_buf_steal(&b, NULL);
}

enum sf_err sf_order_payment_settled(struct sf_db_conn *c, const struct sf_keyring *kr, int64_t order_id,
				     const char *provider, const char *provider_ref, int64_t amount,
				     const char *currency, const struct sf_shop_actor *actor)
{
	struct order_row o;
	int done = 0;
	if (!currency)
		return SF_ERR_INVALID;
	enum sf_err err = pay_begin(c, order_id, provider, provider_ref, NULL, "settled", &o, &done);
	if (err || done)
		return err;
	if (o.status != SF_ORDER_PENDING_PAYMENT)
		err = SF_ERR_ORDER_STATE;
	else if (sf_shop_now() >= o.reserved_until)
		err = SF_ERR_ORDER_EXPIRED;
	else if (amount != o.total || strcmp(currency, o.currency) != 0)
		err = SF_ERR_AMOUNT_MISMATCH;
	if (err)
		goto out;
	int64_t changed = 0;
	struct sf_db_param p[] = {SF_DB_INT(order_id), SF_DB_TEXT(provider), SF_DB_TEXT(provider_ref),
				  SF_DB_INT(amount), SF_DB_INT(sf_shop_now())};
	enum sf_db_status st = sf_db_exec(c, SF_STMT_ORDER_SET_PAID, p, 5, &changed);
	if (st < 0 || changed != 1) {
		err = st < 0 ? sf_db_err(st) : SF_ERR_ORDER_STATE;
		goto out;
	}
	err = pay_insert(c, order_id, provider, provider_ref, "settled", amount, currency);
	if (err)
		goto out;
	json_t *extra = json_pack("{s:s,s:I}", "provider", provider, "amount", (json_int_t)amount);
	err = extra ? sf_order_record(c, kr, order_id, "pending_payment", SF_ORDER_PAID, actor, "payment settled",
				      "order.paid", extra)
		    : SF_ERR_NOMEM;
	json_decref(extra);
	if (!err)
		err = sf_webhook_order_event(c, "order.paid", order_id, "paid", amount, currency);
	if (!err) {
		char subject[96];
		char *body = confirmation_text(c, &o, amount, &err);
		snprintf(subject, sizeof subject, "Your order %" PRId64 " is confirmed", order_id);
		if (body)
			err = order_mail(c, kr, &o, subject, body);
		free(body);
	}
out:
	order_row_free(&o);
	return err;
}

/* Extend order_id's reservation (sf_order_hold_until, and with
 * delayed_s > 0 sf_order_payment_pending, whose end it computes); *until
 * is then where the reservation ends, never before it did. */
static enum sf_err hold(struct sf_db_conn *c, int64_t order_id, int64_t *until, int64_t delayed_s)
{
	struct order_row o;
	enum sf_err err = order_load(c, order_id, &o);
	if (err)
		return err;
	int64_t now = sf_shop_now();
	if (delayed_s > 0) {
		/* at most delayed_s past the longest a payment can start on it */
		int64_t cap = o.created_at + SF_ORDER_HOLD_MAX_S + delayed_s;
		*until = now + delayed_s < cap ? now + delayed_s : cap;
	}
	if (o.status != SF_ORDER_PENDING_PAYMENT)
		err = SF_ERR_ORDER_STATE;
	else if (now >= o.reserved_until ||
		 (!delayed_s && *until > o.reserved_until && *until > o.created_at + SF_ORDER_HOLD_MAX_S))
		err = SF_ERR_ORDER_EXPIRED;
	/* never shortened (the statement keeps the later end): *until says
	 * where the reservation really ends, for the record of a delayed hold */
	if (*until < o.reserved_until)
		*until = o.reserved_until;
	order_row_free(&o);
	if (err)
		return err;
	int64_t changed = 0;
	struct sf_db_param p[] = {SF_DB_INT(order_id), SF_DB_INT(*until), SF_DB_INT(now)};
	enum sf_db_status st = sf_db_exec(c, SF_STMT_ORDER_HOLD_UNTIL, p, 3, &changed);
	if (st < 0)
		return sf_db_err(st);
	return changed == 1 ? SF_OK : SF_ERR_ORDER_STATE; /* the row moved meanwhile: cannot under the write lock */
}

enum sf_err sf_order_hold_until(struct sf_db_conn *c, int64_t order_id, int64_t until)
{
	return hold(c, order_id, &until, 0);
}

enum sf_err sf_order_payment_failed(struct sf_db_conn *c, const struct sf_keyring *kr, int64_t order_id,
				    const char *provider, const char *provider_ref, const char *reason,
				    const struct sf_shop_actor *actor)
{
	struct order_row o;
	int done = 0;
	enum sf_err err = pay_begin(c, order_id, provider, provider_ref, reason, "failed", &o, &done);
	if (err || done)
		return err;
	if (o.status != SF_ORDER_PENDING_PAYMENT)
		err = SF_ERR_ORDER_STATE;
	if (!err)
		err = pay_insert(c, order_id, provider, provider_ref, "failed", 0, o.currency);
	if (!err) {
		json_t *extra = json_pack("{s:s}", "provider", provider);
		err = extra ? sf_order_record(c, kr, order_id, "pending_payment", SF_ORDER_PENDING_PAYMENT, actor,
					      reason ? reason : "payment failed", "order.payment_failed", extra)
			    : SF_ERR_NOMEM;
		json_decref(extra);
	}
	order_row_free(&o);
	return err;
}

enum sf_err sf_order_payment_pending(struct sf_db_conn *c, const struct sf_keyring *kr, int64_t order_id,
				     const char *provider, const char *provider_ref, int64_t hold_s,
				     const struct sf_shop_actor *actor)
{
	int64_t until = 0;
	if (!text_ok(provider, SF_ORDER_REF_MAX, 1) || !text_ok(provider_ref, SF_ORDER_REF_MAX, 1) || hold_s < 1)
		return SF_ERR_INVALID;
	/* Providers do not order their events: this payment's failure may have
	 * come first (a completion retried after a failed delivery).  Holding
	 * the order then would keep its stock for days for money that will
	 * never come. */
	enum sf_err err = SF_OK;
	int failed = pay_seen(c, provider, provider_ref, "failed", order_id, &err);
	if (err)
		return err;
	if (failed)
		return SF_ERR_ORDER_STATE;
	err = hold(c, order_id, &until, hold_s);
	if (err)
		return err;
	json_t *extra = json_pack("{s:s,s:s,s:I}", "provider", provider, "ref", provider_ref, "held_until",
				  (json_int_t)until);
	err = extra ? sf_order_record(c, kr, order_id, "pending_payment", SF_ORDER_PENDING_PAYMENT, actor,
				      SF_ORDER_REASON_DELAYED, "order.payment_pending", extra)
		    : SF_ERR_NOMEM;
	json_decref(extra);
	return err;
}

enum sf_err sf_order_payment_note(struct sf_db_conn *c, const struct sf_keyring *kr, int64_t order_id,
				  const char *provider, const char *ref, int64_t amount, const char *reason,
				  const char *action, const char *webhook, const struct sf_shop_actor *actor)
{
	struct order_row o;
	if (!text_ok(provider, SF_ORDER_REF_MAX, 1) || !text_ok(ref, SF_ORDER_REF_MAX, 1) ||
	    !text_ok(reason, SF_ORDER_REASON_MAX, 1) || !action || !*action)
		return SF_ERR_INVALID;
	enum sf_err err = order_load(c, order_id, &o);
	if (err)
		return err;
	const char *status = sf_order_status_name(o.status);
	json_t *extra = json_pack("{s:s,s:s,s:I}", "provider", provider, "ref", ref, "amount", (json_int_t)amount);
	err = extra ? sf_order_record(c, kr, order_id, status, o.status, actor, reason, action, extra) : SF_ERR_NOMEM;
	json_decref(extra);
	if (!err && webhook)
		err = sf_webhook_order_event(c, webhook, order_id, status, amount, o.currency);
	order_row_free(&o);
	return err;
}

enum sf_err sf_order_refund(struct sf_db_conn *c, const struct sf_keyring *kr, int64_t order_id, const char *provider,
			    const char *provider_ref, int64_t amount, const char *reason,
			    const struct sf_shop_actor *actor)
{
	struct order_row o;
	int done = 0;
	enum sf_err err = pay_begin(c, order_id, provider, provider_ref, reason, "refund", &o, &done);
	if (err || done)
		return err;
	enum sf_order_status to =
		o.refunded + amount == o.paid ? SF_ORDER_REFUNDED : SF_ORDER_PARTIALLY_REFUNDED;
	if (!sf_order_transition_allowed(o.status, to))
		err = SF_ERR_ORDER_STATE;
	else if (amount < 1 || amount > o.paid - o.refunded)
		err = SF_ERR_AMOUNT_MISMATCH;
	if (err)
		goto out;
	int64_t changed = 0;
	struct sf_db_param p[] = {SF_DB_INT(order_id), SF_DB_INT(amount), SF_DB_INT(sf_shop_now())};
	enum sf_db_status st = sf_db_exec(c, SF_STMT_ORDER_ADD_REFUND, p, 3, &changed);
	if (st < 0 || changed != 1) {
		err = st < 0 ? sf_db_err(st) : SF_ERR_AMOUNT_MISMATCH;
		goto out;
	}
	err = pay_insert(c, order_id, provider, provider_ref, "refund", amount, o.currency);
	if (!err && o.status != to)
		err = set_status(c, &o, to);
	if (!err) {
		json_t *extra = json_pack("{s:s,s:I}", "provider", provider, "amount", (json_int_t)amount);
		err = extra ? sf_order_record(c, kr, order_id, sf_order_status_name(o.status), to, actor, reason,
					      "order.refund", extra)
			    : SF_ERR_NOMEM;
		json_decref(extra);
	}
	if (!err)
		err = sf_webhook_order_event(c, "order.refunded", order_id, sf_order_status_name(to), amount,
					     o.currency);
	if (!err) {
		char money[64], subject[96], body[512];
		sf_money_format(amount, o.currency, money, sizeof money);
		snprintf(subject, sizeof subject, "Refund for your order %" PRId64, order_id);
		snprintf(body, sizeof body,
			 "We have refunded %s for your order %" PRId64 ".\n"
			 "It will appear on your statement within a few days.\n",
			 money, order_id);
		err = order_mail(c, kr, &o, subject, body);
	}
out:
	order_row_free(&o);
	return err;
}

enum sf_err sf_order_ship(struct sf_db_conn *c, const struct sf_keyring *kr, int64_t order_id, const char *carrier,
			  const char *tracking, const struct sf_shop_actor *actor)
{
	struct order_row o;
	if (!text_ok(carrier, SF_ORDER_REF_MAX, 1) || !text_ok(tracking, SF_ORDER_REF_MAX, 1))
		return SF_ERR_INVALID;
	enum sf_err err = order_load(c, order_id, &o);
	if (err)
		return err;
	if (!may_move(c, &o, SF_ORDER_SHIPPED)) {
		err = SF_ERR_ORDER_STATE;
		goto out;
	}
	struct sf_db_param p[] = {SF_DB_INT(order_id), SF_DB_TEXT(carrier), SF_DB_TEXT(tracking),
				  SF_DB_INT(sf_shop_now())};
	enum sf_db_status st = sf_db_exec(c, SF_STMT_SHIPMENT_INSERT, p, 4, NULL);
	if (st < 0) {
		err = sf_db_err(st);
		goto out;
	}
	err = set_status(c, &o, SF_ORDER_SHIPPED);
	if (!err) {
		json_t *extra = json_pack("{s:s,s:s}", "carrier", carrier, "tracking", tracking);
		err = extra ? sf_order_record(c, kr, order_id, sf_order_status_name(o.status), SF_ORDER_SHIPPED, actor,
					      "shipped", "order.shipped", extra)
			    : SF_ERR_NOMEM;
		json_decref(extra);
	}
	if (!err)
		err = sf_webhook_order_event(c, "order.shipped", order_id, "shipped", o.total, o.currency);
	if (!err) {
		char subject[96], body[768];
		snprintf(subject, sizeof subject, "Your order %" PRId64 " has shipped", order_id);
		snprintf(body, sizeof body,
			 "Your order %" PRId64 " is on its way.\nCarrier: %s\nTracking number: %s\n", order_id,
			 carrier, tracking);
		err = order_mail(c, kr, &o, subject, body);
	}
out:
	order_row_free(&o);
	return err;
}

/* ==== Reading ==== */


static json_t *iso_time(int64_t t)
{
	char buf[32];
	time_t tt = (time_t)t;
	struct tm tm;
	if (!gmtime_r(&tt, &tm) || !strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm))
		return json_null();
	return json_string(buf);
}

static int may_view(const struct sf_order_viewer *v, const struct order_row *o)
{
	if (v->privileged)
		return 1;
	if (!v->owner)
		return 0;
	if (v->owner->customer_id > 0)
		return o->customer_id == v->owner->customer_id;
	return v->owner->has_guest && o->has_guest && o->customer_id == 0 &&
	       sf_ct_compare(v->owner->guest_hash, o->guest_hash, SF_CART_HASH_LEN) == 0;
}

/* lines, shipments and history into ord */
static enum sf_err order_children(struct sf_db_conn *c, int *oom, json_t *ord, const struct order_row *o)
{
	struct sf_db_cursor *cur = NULL;
	struct sf_db_param p = SF_DB_INT(o->id);
	enum sf_db_status st = sf_db_query(c, SF_STMT_ORDER_LINES, &p, 1, &cur);
	if (st != SF_DB_OK)
		return sf_db_err(st);
	json_t *lines = json_array();
	while ((st = sf_db_next(cur)) == SF_DB_OK) {
		json_t *l = json_object();
		sf_json_put(oom, l, "sku", json_string(sf_db_col_text(cur, 2, NULL)));
		sf_json_put(oom, l, "name", json_string(sf_db_col_text(cur, 3, NULL)));
		sf_json_put(oom, l, "quantity", json_integer(sf_db_col_int(cur, 4)));
		sf_json_put(oom, l, "unit_price", sf_money_json(sf_db_col_int(cur, 5), o->currency));
		sf_json_put(oom, l, "tax_class", json_string(sf_db_col_text(cur, 6, NULL)));
		sf_json_put(oom, l, "tax_rate_bp", json_integer(sf_db_col_int(cur, 7)));
		sf_json_put(oom, l, "line_total", sf_money_json(sf_db_col_int(cur, 8), o->currency));
		sf_json_push(oom, lines, l);
	}
	sf_db_cursor_close(cur);
	sf_json_put(oom, ord, "lines", lines);
	if (st < 0)
		return sf_db_err(st);
	st = sf_db_query(c, SF_STMT_SHIPMENTS_OF, &p, 1, &cur);
	if (st != SF_DB_OK)
		return sf_db_err(st);
	json_t *ships = json_array();
	while ((st = sf_db_next(cur)) == SF_DB_OK) {
		json_t *s = json_object();
		sf_json_put(oom, s, "carrier", json_string(sf_db_col_text(cur, 0, NULL)));
		sf_json_put(oom, s, "tracking", json_string(sf_db_col_text(cur, 1, NULL)));
		sf_json_put(oom, s, "created_at", iso_time(sf_db_col_int(cur, 2)));
		sf_json_push(oom, ships, s);
	}
	sf_db_cursor_close(cur);
	sf_json_put(oom, ord, "shipments", ships);
	sf_json_put(oom, ord, "has_shipments", json_boolean(json_array_size(ships) > 0));
	if (st < 0)
		return sf_db_err(st);
	st = sf_db_query(c, SF_STMT_ORDER_EVENTS, &p, 1, &cur);
	if (st != SF_DB_OK)
		return sf_db_err(st);
	json_t *hist = json_array();
	while ((st = sf_db_next(cur)) == SF_DB_OK) {
		json_t *e = json_object();
		sf_json_put(oom, e, "from", sf_db_col_is_null(cur, 0) ? json_null() : json_string(sf_db_col_text(cur, 0, NULL)));
		sf_json_put(oom, e, "to", json_string(sf_db_col_text(cur, 1, NULL)));
		sf_json_put(oom, e, "by", json_string(sf_db_col_text(cur, 2, NULL)));
		sf_json_put(oom, e, "reason", sf_db_col_is_null(cur, 3) ? json_null() : json_string(sf_db_col_text(cur, 3, NULL)));
		sf_json_put(oom, e, "at", iso_time(sf_db_col_int(cur, 4)));
		sf_json_push(oom, hist, e);
	}
	sf_db_cursor_close(cur);
	sf_json_put(oom, ord, "history", hist);
	return st < 0 ? sf_db_err(st) : SF_OK;
}

static enum sf_err order_personal(struct sf_db_conn *c, const struct sf_keyring *kr, int *oom, json_t *ord,
				  const struct order_row *o, const struct sf_order_viewer *v)
{
	char *email = NULL, *pt = NULL;
	size_t n = 0;
	enum sf_err err = order_email(kr, o, &email);
	if (err)
		return err;
	sf_json_put(oom, ord, "email", email ? json_string(email) : json_null());
	free(email);
	if (o->address) {
		err = sf_unseal(kr, "orders", "address", o->id, o->address, o->address_len, &pt, &n);
		if (err)
			return err;
		json_t *a = json_loadb(pt, n, 0, NULL);
		sf_unsealed_free(pt, n);
		sf_json_put(oom, ord, "address", a);
	}
	char oid[24];
	snprintf(oid, sizeof oid, "%" PRId64, o->id);
	struct sf_audit_event ev = {
		.actor_type = v->actor.type ? v->actor.type : "system",
		.actor_id = v->actor.id,
		.ip = v->actor.ip,
		.action = "order.read",
		.object_type = "order",
		.object_id = oid,
		.outcome = "success",
		.request_id = v->actor.request_id,
		.detail = "{\"fields\":[\"email\",\"address\"]}",
	};
	return sf_audit_append(c, kr, &ev);
}

enum sf_err sf_order_get(struct sf_db_conn *c, const struct sf_keyring *kr, int64_t order_id,
			 const struct sf_order_viewer *v, int personal, json_t **out)
{
	struct order_row o;
	int oom = 0;
	*out = NULL;
	enum sf_err err = order_load(c, order_id, &o);
	if (err)
		return err;
	if (!may_view(v, &o)) {
		order_row_free(&o);
		return SF_ERR_NOT_FOUND;
	}
	json_t *ord = json_object();
	sf_json_put(&oom, ord, "id", json_integer(o.id));
	sf_json_put(&oom, ord, "status", json_string(sf_order_status_name(o.status)));
	if (o.status == SF_ORDER_PARTIALLY_REFUNDED)
		sf_json_put(&oom, ord, "stage", json_string(sf_order_status_name(stage_of(c, &o))));
	sf_json_put(&oom, ord, "is_pending", json_boolean(o.status == SF_ORDER_PENDING_PAYMENT));
	sf_json_put(&oom, ord, "currency", json_string(o.currency));
	sf_json_put(&oom, ord, "prices_include_tax", json_boolean(o.include_tax));
	sf_json_put(&oom, ord, "created_at", iso_time(o.created_at));
	sf_json_put(&oom, ord, "reserved_until", json_integer(o.reserved_until));
	json_t *t = json_object();
	sf_json_put(&oom, t, "subtotal", sf_money_json(o.subtotal, o.currency));
	sf_json_put(&oom, t, "discount", sf_money_json(o.discount, o.currency));
	sf_json_put(&oom, t, "shipping", sf_money_json(o.shipping, o.currency));
	sf_json_put(&oom, t, "tax", sf_money_json(o.tax, o.currency));
	sf_json_put(&oom, t, "total", sf_money_json(o.total, o.currency));
	sf_json_put(&oom, t, "paid", sf_money_json(o.paid, o.currency));
	sf_json_put(&oom, t, "refunded", sf_money_json(o.refunded, o.currency));
	sf_json_put(&oom, ord, "totals", t);
	sf_json_put(&oom, ord, "has_discount", json_boolean(o.discount > 0));
	sf_json_put(&oom, ord, "coupon", o.coupon[0] ? json_string(o.coupon) : json_null());
	sf_json_put(&oom, ord, "shipping", json_pack("{s:s,s:s}", "code", o.ship_code, "name", o.ship_name));
	err = order_children(c, &oom, ord, &o);
	/* A delayed payment on its way: a hold that no failure of a delayed
	 * payment answered.  Not "the last event is a hold": another attempt's
	 * declined card may come after it while that money is still coming,
	 * and staff told otherwise might cancel the order. */
	size_t i;
	json_t *e;
	int64_t awaited = 0;
	const json_t *hist = o.status == SF_ORDER_PENDING_PAYMENT ? json_object_get(ord, "history") : NULL;
	json_array_foreach(hist, i, e) {
		const char *why = json_string_value(json_object_get(e, "reason"));
		if (why && !strcmp(why, SF_ORDER_REASON_DELAYED))
			awaited++;
		else if (why && !strcmp(why, SF_ORDER_REASON_DELAYED_FAILED))
			awaited--;
	}
	sf_json_put(&oom, ord, "payment_on_its_way", json_boolean(awaited > 0));
	if (!err && personal)
		err = order_personal(c, kr, &oom, ord, &o, v);
	if (!err && oom)
		err = SF_ERR_NOMEM;
	order_row_free(&o);
	if (err) {
		json_decref(ord);
		return err;
	}
	*out = ord;
	return SF_OK;
}

/* ==== Expiry ==== */

struct expire_ctx {
	const struct sf_keyring *kr;
	int64_t order_id;
	int done;
	enum sf_err err;
};

static enum sf_db_status expire_txn(struct sf_db_conn *c, void *vctx)
{
	struct expire_ctx *x = vctx;
	struct order_row o;
	static const struct sf_shop_actor system_actor = {.type = "system"};
	x->done = 0;
	x->err = order_load(c, x->order_id, &o);
	if (x->err == SF_ERR_NOT_FOUND) {
		x->err = SF_OK;
		return SF_DB_OK;
	}
	if (x->err)
		return sf_db_status_from_err(x->err);
	if (sf_order_reservation_over(o.status, o.reserved_until)) {
		x->err = transition_row(c, x->kr, &o, SF_ORDER_CANCELLED, &system_actor, "reservation expired",
					"order.expire");
		x->done = !x->err;
	}
	order_row_free(&o);
	return x->err ? sf_db_status_from_err(x->err) : SF_DB_OK;
}

static enum sf_err expire_one(struct sf_db *db, const struct sf_keyring *kr, int64_t id, int *done)
{
	struct expire_ctx x = {.kr = kr, .order_id = id};
	enum sf_db_status st = sf_db_txn(db, expire_txn, &x, TXN_TRIES);
	*done = x.done;
	return x.err ? x.err : sf_db_err(st);
}

enum sf_err sf_order_expire_due(struct sf_db *db, const struct sf_keyring *kr, int *expired)
{
	enum { BATCH = 64 };
	int total = 0;
	enum sf_err err = SF_OK;
	if (expired)
		*expired = 0;
	struct sf_db_conn *c = sf_db_conn_get(db);
	if (!c)
		return SF_ERR_DB;
	for (;;) {
		int64_t ids[BATCH];
		size_t n = 0;
		struct sf_db_cursor *cur = NULL;
		struct sf_db_param p[] = {SF_DB_INT(sf_shop_now()), SF_DB_INT(BATCH)};
		enum sf_db_status st = sf_db_query(c, SF_STMT_ORDER_EXPIRED_DUE, p, 2, &cur);
		if (st != SF_DB_OK)
			return sf_db_err(st);
		while ((st = sf_db_next(cur)) == SF_DB_OK && n < BATCH)
			ids[n++] = sf_db_col_int(cur, 0);
		sf_db_cursor_close(cur);
		if (st < 0)
			return sf_db_err(st);
		int progress = 0;
		for (size_t i = 0; i < n && !err; i++) {
			int done = 0;
			err = expire_one(db, kr, ids[i], &done);
			total += done;
			progress += done;
		}
		if (err || n < BATCH || !progress)
			break;
	}
	if (expired)
		*expired = total;
	return err;
}

struct fetch_ctx {
	const struct sf_keyring *kr;
	int64_t id;
	const struct sf_order_viewer *v;
	int personal;
	json_t *out;
	enum sf_err err;
};

static enum sf_db_status fetch_txn(struct sf_db_conn *c, void *vctx)
{
	struct fetch_ctx *x = vctx;
	json_decref(x->out);
	x->out = NULL;
	x->err = sf_order_get(c, x->kr, x->id, x->v, x->personal, &x->out);
	return x->err ? sf_db_status_from_err(x->err) : SF_DB_OK;
}

enum sf_err sf_order_brief_of(const json_t *o, struct sf_order_brief *out)
{
	const json_t *until = json_object_get(o, "reserved_until");
	const json_t *total = json_object_get(json_object_get(json_object_get(o, "totals"), "total"), "amount");
	const char *cur = json_string_value(json_object_get(o, "currency"));
	memset(out, 0, sizeof *out);
	if (sf_order_status_parse(json_string_value(json_object_get(o, "status")), &out->status) != 0 ||
	    !json_is_integer(until) || !json_is_integer(total) || !cur || strlen(cur) != 3)
		return SF_ERR_INTERNAL;
	out->reserved_until = json_integer_value(until);
	out->total = json_integer_value(total);
	memcpy(out->currency, cur, 4);
	return SF_OK;
}

/* Is o (sf_order_get's JSON) a pending order whose reservation ran out? */
static int json_reservation_over(const json_t *o)
{
	struct sf_order_brief b;
	return sf_order_brief_of(o, &b) == SF_OK && sf_order_reservation_over(b.status, b.reserved_until);
}

enum sf_err sf_order_fetch(struct sf_db *db, const struct sf_keyring *kr, int64_t order_id,
			   const struct sf_order_viewer *v, int personal, json_t **out)
{
	int done = 0;
	*out = NULL;
	if (order_id <= 0)
		return SF_ERR_NOT_FOUND;
	struct fetch_ctx x = {.kr = kr, .id = order_id, .v = v, .personal = personal};
	enum sf_db_status st = SF_DB_OK;
	if (!personal) {
		/* Read first: the expiry check needs the write lock only when the
		 * reservation has run out (the pay step reads every order once). */
		st = sf_db_txn_read(db, fetch_txn, &x, TXN_TRIES);
		if (!x.err && st >= 0 && !json_reservation_over(x.out)) {
			*out = x.out;
			return SF_OK;
		}
		json_decref(x.out);
		x.out = NULL;
		x.err = SF_OK;
	}
	enum sf_err err = expire_one(db, kr, order_id, &done);
	if (err)
		return err;
	st = personal ? sf_db_txn(db, fetch_txn, &x, TXN_TRIES) : sf_db_txn_read(db, fetch_txn, &x, TXN_TRIES);
	if (x.err || st < 0) {
		json_decref(x.out);
		return x.err ? x.err : sf_db_err(st);
	}
	*out = x.out;
	return SF_OK;
}

struct brief_ctx {
	int64_t id;
	const struct sf_order_viewer *v;
	struct sf_order_brief *out;
	enum sf_err err;
};

static enum sf_db_status brief_txn(struct sf_db_conn *c, void *vctx)
{
	struct brief_ctx *x = vctx;
	struct order_row o;
	x->err = order_load(c, x->id, &o);
	if (x->err)
		return sf_db_status_from_err(x->err);
	if (may_view(x->v, &o)) {
		x->out->status = o.status;
		x->out->total = o.total;
		x->out->reserved_until = o.reserved_until;
		memcpy(x->out->currency, o.currency, sizeof x->out->currency);
	} else {
		x->err = SF_ERR_NOT_FOUND;
	}
	order_row_free(&o);
	return x->err ? sf_db_status_from_err(x->err) : SF_DB_OK;
}

enum sf_err sf_order_brief(struct sf_db *db, const struct sf_keyring *kr, int64_t order_id,
			   const struct sf_order_viewer *v, struct sf_order_brief *out)
{
	memset(out, 0, sizeof *out);
	if (order_id <= 0)
		return SF_ERR_NOT_FOUND;
	struct brief_ctx x = {.id = order_id, .v = v, .out = out};
	for (int pass = 0;; pass++) {
		enum sf_db_status st = sf_db_txn_read(db, brief_txn, &x, TXN_TRIES);
		if (x.err || st < 0)
			return x.err ? x.err : sf_db_err(st);
		/* Expire under the write lock only when the reservation ran out
		 * (expire_one re-checks), then read again. */
		if (pass || !sf_order_reservation_over(out->status, out->reserved_until))
			return SF_OK;
		int done = 0;
		enum sf_err err = expire_one(db, kr, order_id, &done);
		if (err)
			return err;
	}
}

enum sf_err sf_order_list(struct sf_db *db, int64_t customer_id, int64_t limit, int64_t offset, json_t **out)
{
	int oom = 0;
	struct sf_db_cursor *cur = NULL;
	*out = NULL;
	if (customer_id <= 0 || limit < 1 || limit > 100 || offset < 0)
		return SF_ERR_INVALID;
	struct sf_db_conn *c = sf_db_conn_get(db);
	if (!c)
		return SF_ERR_DB;
	struct sf_db_param p[] = {SF_DB_INT(customer_id), SF_DB_INT(limit), SF_DB_INT(offset)};
	enum sf_db_status st = sf_db_query(c, SF_STMT_ORDER_LIST_CUSTOMER, p, 3, &cur);
	if (st != SF_DB_OK)
		return sf_db_err(st);
	json_t *items = json_array();
	while ((st = sf_db_next(cur)) == SF_DB_OK) {
		json_t *o = json_object();
		sf_json_put(&oom, o, "id", json_integer(sf_db_col_int(cur, 0)));
		sf_json_put(&oom, o, "status", json_string(sf_db_col_text(cur, 1, NULL)));
		sf_json_put(&oom, o, "total", sf_money_json(sf_db_col_int(cur, 3), sf_db_col_text(cur, 2, NULL)));
		sf_json_put(&oom, o, "created_at", iso_time(sf_db_col_int(cur, 4)));
		sf_json_put(&oom, o, "items", json_integer(sf_db_col_int(cur, 5)));
		sf_json_push(&oom, items, o);
	}
	sf_db_cursor_close(cur);
	json_t *res = json_object();
	sf_json_put(&oom, res, "has_items", json_boolean(json_array_size(items) > 0));
	sf_json_put(&oom, res, "items", items);
	if (st < 0 || oom) {
		json_decref(res);
		return st < 0 ? sf_db_err(st) : SF_ERR_NOMEM;
	}
	*out = res;
	return SF_OK;
}

/* ==== The reaper thread ==== */

struct sf_order_reaper {
	struct sf_db *db;
	const struct sf_keyring *kr;
	struct sf_ticker *ticker;
};

static int reap(void *arg)
{
	struct sf_order_reaper *r = arg;
	int n = 0;
	enum sf_err err = sf_order_expire_due(r->db, r->kr, &n);
	if (err)
		sf_log(SF_LOG_WARN, "order.reaper", "expiring reservations failed: %s", sf_err_code(err));
	else if (n)
		sf_log(SF_LOG_INFO, "order.reaper", "%d unpaid order(s) expired, stock returned", n);
	return 0;
}

enum sf_err sf_order_reaper_start(struct sf_db *db, const struct sf_keyring *kr, int interval_s,
				  struct sf_order_reaper **out)
{
	*out = NULL;
	struct sf_order_reaper *r = calloc(1, sizeof *r);
	if (!r)
		return SF_ERR_NOMEM;
	r->db = db;
	r->kr = kr;
	enum sf_err err = sf_ticker_start(reap, r, interval_s * 1000L, &r->ticker);
	if (err) {
		free(r);
		return err;
	}
	*out = r;
	return SF_OK;
}

void sf_order_reaper_stop(struct sf_order_reaper *r)
{
	if (!r)
		return;
	sf_ticker_stop(r->ticker);
	free(r);
}
