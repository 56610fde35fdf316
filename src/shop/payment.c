/*
 * payment.c — the provider-independent half of payments (payment.h):
 * secrets, the pay step, applying a verified notification exactly once,
 * and auditing rejected ones.  The providers' own halves are
 * payment_sandbox.c and payment_stripe.c.
 */
#include "shop/payment.h"

#include <ctype.h>
#include <inttypes.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "audit/audit.h"
#include "core/log.h"
#include "core/ticker.h"
#include "core/util.h"
#include "db/db.h"
#include "shop/commerce.h"
#include "shop/money.h"
#include "shop/webhook.h"

#define SECRET_FILE_MAX 4096

struct sf_payments {
	enum sf_pay_provider provider;
	int ready;
	unsigned char *sandbox;  /* guarded */
	size_t sandbox_len;
	char *stripe_key;        /* guarded, NUL-terminated */
	unsigned char *whsec;    /* guarded */
	size_t whsec_len;
	char *api_base, *ca_file, *public_base, *self_url;
	int64_t delayed_hold_s;
	struct sf_ticker *refunder; /* sf_pay_refunder_start, or NULL */
	struct sf_db *refund_db;
	const struct sf_keyring *refund_kr;
};

const char *sf_pay_provider_name(enum sf_pay_provider pr)
{
	return pr == SF_PAY_STRIPE ? "stripe" : "sandbox";
}

/* Read a secret file into guarded memory (NUL-terminated, trimmed). */
static enum sf_err secret_load(const char *path, const char *key, unsigned char **out, size_t *len, char *errbuf,
			       size_t errlen)
{
	char *buf = NULL;
	size_t n = 0;
	enum sf_err err = sf_file_read(path, SECRET_FILE_MAX, &buf, &n);
	if (err) {
		snprintf(errbuf, errlen, "[payments] %s %s: cannot read it", key, path);
		return SF_ERR_CONFIG;
	}
	size_t a = 0;
	while (a < n && isspace((unsigned char)buf[a]))
		a++;
	while (n > a && isspace((unsigned char)buf[n - 1]))
		n--;
	if (n == a) {
		sodium_memzero(buf, n);
		free(buf);
		snprintf(errbuf, errlen, "[payments] %s %s: the file is empty", key, path);
		return SF_ERR_CONFIG;
	}
	*out = sodium_malloc(n - a + 1);
	if (*out) {
		memcpy(*out, buf + a, n - a);
		(*out)[n - a] = '\0';
		*len = n - a;
	}
	sodium_memzero(buf, n);
	free(buf);
	return *out ? SF_OK : SF_ERR_NOMEM;
}

static char *dup_or_null(const char *s)
{
	return s && *s ? strdup(s) : NULL;
}

enum sf_err sf_payments_new(const struct sf_pay_options *o, struct sf_payments **out, char *errbuf, size_t errlen)
{
	struct sf_payments *p = calloc(1, sizeof *p);
	enum sf_err err = SF_OK;
	if (errlen)
		errbuf[0] = '\0';
	if (!p)
		return SF_ERR_NOMEM;
	p->provider = o->provider;
	p->api_base = strdup(o->stripe_api_base && *o->stripe_api_base ? o->stripe_api_base : "https://api.stripe.com");
	p->public_base = strdup(o->public_base && *o->public_base ? o->public_base : "https://localhost");
	p->ca_file = dup_or_null(o->stripe_ca_file);
	p->self_url = dup_or_null(o->self_url);
	p->delayed_hold_s = o->delayed_hold_s > 0 ? o->delayed_hold_s : SF_PAY_DELAYED_HOLD_S;
	if (!p->api_base || !p->public_base) {
		err = SF_ERR_NOMEM;
		goto out;
	}
	if (p->provider == SF_PAY_SANDBOX) {
		if (o->sandbox_secret_file && *o->sandbox_secret_file) {
			err = secret_load(o->sandbox_secret_file, "sandbox_secret_file", &p->sandbox, &p->sandbox_len,
					  errbuf, errlen);
		} else {
			p->sandbox = sodium_malloc(32);
			p->sandbox_len = 32;
			if (p->sandbox)
				randombytes_buf(p->sandbox, 32);
			else
				err = SF_ERR_NOMEM;
		}
		p->ready = !err;
		goto out;
	}
	size_t klen = 0;
	if (!o->stripe_key_file || !*o->stripe_key_file || !o->stripe_whsec_file || !*o->stripe_whsec_file) {
		snprintf(errbuf, errlen, "[payments] stripe_secret_key_file and stripe_webhook_secret_file are not set");
		goto out;
	}
	err = secret_load(o->stripe_key_file, "stripe_secret_key_file", (unsigned char **)&p->stripe_key, &klen, errbuf,
			  errlen);
	if (!err)
		err = secret_load(o->stripe_whsec_file, "stripe_webhook_secret_file", &p->whsec, &p->whsec_len, errbuf,
				  errlen);
	if (err == SF_ERR_CONFIG) {
		/* not ready: the pay step answers 503 until the files exist */
		err = SF_OK;
		goto out;
	}
	p->ready = !err;
out:
	if (err) {
		sf_payments_free(p);
		return err;
	}
	*out = p;
	return SF_OK;
}

void sf_payments_free(struct sf_payments *p)
{
	if (!p)
		return;
	sf_ticker_stop(p->refunder);
	if (p->sandbox)
		sodium_free(p->sandbox);
	if (p->stripe_key)
		sodium_free(p->stripe_key);
	if (p->whsec)
		sodium_free(p->whsec);
	free(p->api_base);
	free(p->ca_file);
	free(p->public_base);
	free(p->self_url);
	free(p);
}

enum sf_pay_provider sf_pay_provider(const struct sf_payments *p)
{
	return p->provider;
}

int sf_pay_ready(const struct sf_payments *p)
{
	return p && p->ready;
}

const unsigned char *sf_pay_sandbox_secret(const struct sf_payments *p, size_t *len)
{
	*len = p && p->provider == SF_PAY_SANDBOX ? p->sandbox_len : 0;
	return *len ? p->sandbox : NULL;
}

const char *sf_pay_self_url(const struct sf_payments *p)
{
	return p->self_url;
}

void sf_pay_secrets(const struct sf_payments *p, struct sf_pay_secrets *s)
{
	s->stripe_key = p->stripe_key;
	s->whsec = p->whsec;
	s->whsec_len = p->whsec_len;
	s->api_base = p->api_base;
	s->ca_file = p->ca_file;
	s->public_base = p->public_base;
	s->delayed_hold_s = p->delayed_hold_s;
}

int sf_pay_ref_ok(const char *s)
{
	if (!s || !*s)
		return 0;
	size_t n = 0;
	for (; s[n]; n++)
		if (n >= SF_PAY_SESSION_MAX || !(isalnum((unsigned char)s[n]) || s[n] == '_' || s[n] == '-'))
			return 0;
	return 1;
}

/* ==== The pay step ==== */

static struct sf_shop_actor provider_actor(const char *name)
{
	return (struct sf_shop_actor){.type = "provider", .id = name};
}

/* What the provider needs of the order, or why it cannot be paid. */
static enum sf_err order_facts(const struct sf_order_brief *b, struct sf_pay_order *o)
{
	if (strlen(b->currency) != 3)
		return SF_ERR_INTERNAL;
	if (b->status != SF_ORDER_PENDING_PAYMENT)
		return SF_ERR_ORDER_STATE;
	if (sf_order_reservation_over(b->status, b->reserved_until))
		return SF_ERR_ORDER_EXPIRED;
	o->total = b->total;
	o->reserved_until = b->reserved_until;
	memcpy(o->currency, b->currency, 4);
	return SF_OK;
}

struct session_ctx {
	const char *provider, *ref;
	const struct sf_pay_order *o;
	int64_t hold_until; /* 0: the session does not expire; the reservation stays */
	enum sf_err err;
};

/* Record the session and, when it expires, hold the order for it: both or
 * neither (an order whose reservation ran out while the provider answered
 * is refused here, and its session is never shown to the shopper). */
static enum sf_db_status session_txn(struct sf_db_conn *c, void *vctx)
{
	struct session_ctx *x = vctx;
	x->err = x->hold_until ? sf_order_hold_until(c, x->o->id, x->hold_until) : SF_OK;
	if (x->err)
		return sf_db_status_from_err(x->err);
	struct sf_db_param p[] = {SF_DB_TEXT(x->provider), SF_DB_TEXT(x->ref),         SF_DB_INT(x->o->id),
				  SF_DB_INT(x->o->total),  SF_DB_TEXT(x->o->currency), SF_DB_INT(sf_shop_now())};
	return sf_db_exec(c, SF_STMT_PAY_SESSION_INSERT, p, 6, NULL);
}

enum sf_err sf_pay_start(struct sf_payments *p, struct sf_db *db, const struct sf_keyring *kr, int64_t order_id,
			 const struct sf_order_viewer *v, char **url)
{
	struct sf_order_brief b;
	*url = NULL;
	if (!sf_pay_ready(p))
		return SF_ERR_UNAVAILABLE;
	enum sf_err err = sf_order_brief(db, kr, order_id, v, &b);
	return err ? err : sf_pay_start_brief(p, db, kr, order_id, &b, url);
}

struct free_ctx {
	const struct sf_keyring *kr;
	const struct sf_pay_order *o;
	enum sf_err err;
};

static enum sf_db_status free_txn(struct sf_db_conn *c, void *vctx)
{
	struct free_ctx *x = vctx;
	char ref[32];
	snprintf(ref, sizeof ref, "free-%" PRId64, x->o->id);
	const struct sf_shop_actor actor = {.type = "system", .id = "nothing-to-pay"};
	x->err = sf_order_payment_settled(c, x->kr, x->o->id, SF_PAY_NONE, ref, 0, x->o->currency, &actor);
	return x->err ? sf_db_status_from_err(x->err) : SF_DB_OK;
}

/* An order with nothing to pay (a 100 % coupon and free shipping) needs no
 * provider, and Stripe refuses a zero amount: it is settled at once, and
 * the shopper goes on to the order's page. */
static enum sf_err settle_free(struct sf_db *db, const struct sf_keyring *kr, const struct sf_pay_order *o,
			       char **url)
{
	struct free_ctx x = {.kr = kr, .o = o};
	enum sf_db_status st = sf_db_txn(db, free_txn, &x, 5);
	enum sf_err err = x.err ? x.err : st < 0 ? sf_db_err(st) : SF_OK;
	if (err)
		return err;
	char path[48];
	snprintf(path, sizeof path, "/orders/%" PRId64, o->id);
	*url = strdup(path);
	return *url ? SF_OK : SF_ERR_NOMEM;
}

enum sf_err sf_pay_start_brief(struct sf_payments *p, struct sf_db *db, const struct sf_keyring *kr, int64_t order_id,
			       const struct sf_order_brief *b, char **url)
{
	char *ref = NULL;
	int64_t expires_at = 0;
	*url = NULL;
	if (!sf_pay_ready(p))
		return SF_ERR_UNAVAILABLE;
	struct sf_pay_order o = {.id = order_id};
	enum sf_err err = order_facts(b, &o);
	if (err)
		return err;
	if (o.total == 0)
		return settle_free(db, kr, &o, url);
	if (p->provider == SF_PAY_STRIPE) {
		err = sf_pay_stripe_session(p, &o, url, &ref, &expires_at);
	} else {
		/* time-ordered (sf_rand_base32_timed), 26 random characters */
		char id[4 + SF_RAND_TIME_CHARS + 26 + 1], path[sizeof "/sandbox-pay/" + sizeof id];
		memcpy(id, "sbx_", 4);
		sf_rand_base32_timed(id + 4, SF_RAND_TIME_CHARS + 26);
		snprintf(path, sizeof path, "/sandbox-pay/%s", id);
		ref = strdup(id);
		*url = strdup(path);
		if (!ref || !*url)
			err = SF_ERR_NOMEM;
	}
	if (!err) {
		struct session_ctx x = {.provider = sf_pay_provider_name(p->provider),
					.ref = ref,
					.o = &o,
					.hold_until = expires_at ? expires_at + SF_PAY_SETTLE_GRACE_S : 0};
		enum sf_db_status st = sf_db_txn(db, session_txn, &x, 5);
		if (x.err)
			err = x.err;
		else if (st < 0)
			err = sf_db_err(st);
	}
	free(ref);
	if (err) {
		free(*url);
		*url = NULL;
	}
	return err;
}

/* ==== Applying a verified notification ==== */

struct apply_ctx {
	const struct sf_keyring *kr;
	struct sf_pay_event *ev;
	const struct sf_pay_notice *n;
	int replayed;
	enum sf_err err;
};

/* Audit action on order_id (none when <= 0) by a, with detail (consumed). */
static enum sf_err audit_by(struct sf_db_conn *c, const struct sf_keyring *kr, const struct sf_shop_actor *a,
			    const char *action, const char *outcome, int64_t order_id, json_t *detail)
{
	char oid[24];
	snprintf(oid, sizeof oid, "%" PRId64, order_id);
	char *text = detail ? json_dumps(detail, JSON_COMPACT) : NULL;
	json_decref(detail);
	if (!text)
		return SF_ERR_NOMEM;
	struct sf_audit_event ev = {
		.actor_type = a->type,
		.actor_id = a->id,
		.ip = a->ip,
		.action = action,
		.object_type = order_id > 0 ? "order" : NULL,
		.object_id = order_id > 0 ? oid : NULL,
		.outcome = outcome,
		.request_id = a->request_id,
		.detail = text,
	};
	enum sf_err err = sf_audit_append(c, kr, &ev);
	free(text);
	return err;
}

static enum sf_err audit_as(struct sf_db_conn *c, const struct sf_keyring *kr, const char *actor_type,
			   const char *actor_id, const char *provider, const struct sf_pay_notice *n, const char *action,
			   const char *outcome, const char *why, int64_t order_id)
{
	const struct sf_shop_actor a = {.type = actor_type,
					.id = actor_id,
					.ip = n ? n->ip : NULL,
					.request_id = n ? n->request_id : NULL};
	return audit_by(c, kr, &a, action, outcome, order_id,
			json_pack("{s:s,s:s}", "provider", provider, "reason", why));
}

static enum sf_err audit_event(struct sf_db_conn *c, const struct sf_keyring *kr, const char *provider,
			       const struct sf_pay_notice *n, const char *action, const char *outcome,
			       const char *why, int64_t order_id)
{
	return audit_as(c, kr, "provider", provider, provider, n, action, outcome, why, order_id);
}

/* What an order's refunds are checked against (SF_STMT_ORDER_REFUND_FACTS). */
struct refund_facts {
	char status[24], currency[8], provider[16];
	char intent[SF_PAY_SESSION_MAX + 1]; /* "" when none */
	int64_t paid, refunded, due;
};

static void read_facts(struct sf_db_cursor *cur, void *ctx)
{
	struct refund_facts *f = ctx;
	snprintf(f->status, sizeof f->status, "%s", sf_db_col_text(cur, 0, NULL));
	snprintf(f->currency, sizeof f->currency, "%s", sf_db_col_text(cur, 1, NULL));
	f->paid = sf_db_col_int(cur, 2);
	f->refunded = sf_db_col_int(cur, 3);
	f->due = sf_db_col_int(cur, 4);
	snprintf(f->provider, sizeof f->provider, "%s", sf_db_col_is_null(cur, 5) ? "" : sf_db_col_text(cur, 5, NULL));
	snprintf(f->intent, sizeof f->intent, "%s", sf_db_col_is_null(cur, 6) ? "" : sf_db_col_text(cur, 6, NULL));
}

static enum sf_err refund_facts(struct sf_db_conn *c, int64_t order_id, struct refund_facts *f)
{
	struct sf_db_param p = SF_DB_INT(order_id);
	memset(f, 0, sizeof *f);
	enum sf_db_status st = sf_db_query_one(c, SF_STMT_ORDER_REFUND_FACTS, &p, 1, read_facts, f);
	return st == SF_DB_NO_ROWS ? SF_ERR_NOT_FOUND : st < 0 ? sf_db_err(st) : SF_OK;
}

/* The refund still to apply when the provider reports a cumulative total
 * in currency: staff's refunds still due count as recorded (payment.h).
 * A total in another currency than the order's: SF_ERR_AMOUNT_MISMATCH. */
static enum sf_err refund_delta(struct sf_db_conn *c, int64_t order_id, int64_t total, const char *currency,
				int64_t *delta)
{
	struct refund_facts f;
	enum sf_err err = refund_facts(c, order_id, &f);
	*delta = 0;
	if (err)
		return err;
	if (!currency || strcmp(currency, f.currency) != 0)
		return SF_ERR_AMOUNT_MISMATCH;
	*delta = total - f.refunded - f.due;
	return SF_OK;
}

static void read_session_order(struct sf_db_cursor *cur, void *ctx)
{
	*(int64_t *)ctx = sf_db_col_int(cur, 0);
}

/* The event's session checks (struct sf_pay_event), in the apply
 * transaction. */
static enum sf_err check_session(struct sf_db_conn *c, struct sf_pay_event *ev)
{
	int64_t order_id = 0;
	enum sf_db_status st = SF_DB_OK;
	if (ev->by_intent) {
		struct sf_db_param p[] = {SF_DB_TEXT(ev->provider), SF_DB_TEXT(ev->by_intent)};
		st = sf_db_query_one(c, SF_STMT_PAY_SESSION_BY_INTENT, p, 2, read_session_order, &order_id);
	} else if (ev->session) {
		struct sf_db_param p[] = {SF_DB_TEXT(ev->provider), SF_DB_TEXT(ev->session)};
		st = sf_db_query_one(c, SF_STMT_PAY_SESSION_GET, p, 2, read_session_order, &order_id);
	} else {
		return SF_OK;
	}
	if (st == SF_DB_NO_ROWS)
		return SF_ERR_NOT_FOUND;
	if (st < 0)
		return sf_db_err(st);
	if (ev->by_intent)
		ev->order_id = order_id;
	else if (order_id != ev->order_id)
		return SF_ERR_NOT_FOUND;
	if (ev->session && ev->intent) {
		struct sf_db_param p[] = {SF_DB_TEXT(ev->provider), SF_DB_TEXT(ev->session), SF_DB_TEXT("open"),
					  SF_DB_TEXT("completed"),  SF_DB_INT(sf_shop_now()),  SF_DB_TEXT(ev->intent)};
		st = sf_db_exec(c, SF_STMT_PAY_SESSION_DECIDE, p, 6, NULL);
		if (st < 0)
			return sf_db_err(st);
	}
	return SF_OK;
}

/* Whether a session of ev->order_id recorded ev->failed_intent at its
 * completion (struct sf_pay_event): *yes 1 or 0. */
static enum sf_err failure_of_session(struct sf_db_conn *c, const struct sf_pay_event *ev, int *yes)
{
	int64_t order_id = 0;
	*yes = 0;
	if (!ev->failed_intent)
		return SF_OK;
	struct sf_db_param p[] = {SF_DB_TEXT(ev->provider), SF_DB_TEXT(ev->failed_intent)};
	enum sf_db_status st = sf_db_query_one(c, SF_STMT_PAY_SESSION_BY_INTENT, p, 2, read_session_order, &order_id);
	if (st < 0)
		return sf_db_err(st);
	*yes = st == SF_DB_OK && order_id == ev->order_id;
	return SF_OK;
}

/* A settlement the order cannot take (see payment.h): recorded to be
 * refunded, audited; the order is left as it is. */
static enum sf_err keep_unapplied(struct sf_db_conn *c, struct apply_ctx *x, enum sf_err why)
{
	struct sf_pay_event *ev = x->ev;
	int64_t changed = 0;
	struct sf_db_param p[] = {SF_DB_INT(ev->order_id),
				  SF_DB_TEXT(ev->provider),
				  SF_DB_TEXT(ev->ref),
				  ev->intent ? SF_DB_TEXT(ev->intent) : SF_DB_NULL,
				  SF_DB_INT(ev->amount),
				  SF_DB_TEXT(ev->currency),
				  SF_DB_TEXT(sf_err_code(why)),
				  SF_DB_INT(sf_shop_now())};
	enum sf_db_status st = sf_db_exec(c, SF_STMT_UNAPPLIED_INSERT, p, 8, &changed);
	if (st < 0)
		return sf_db_err(st);
	ev->unapplied = 1;
	if (changed == 0) /* the same settlement under another event id: kept once */
		return SF_OK;
	return audit_event(c, x->kr, ev->provider, x->n, "payment.unapplied", "denied", sf_err_code(why),
			   ev->order_id);
}

struct unapplied_row {
	int64_t id, order_id;
	int refunded;
};

static void read_unapplied(struct sf_db_cursor *cur, void *ctx)
{
	struct unapplied_row *u = ctx;
	u->id = sf_db_col_int(cur, 0);
	u->order_id = sf_db_col_int(cur, 1);
	u->refunded = !strcmp(sf_db_col_text(cur, 2, NULL), "refunded");
}

/* A provider's refund of a payment intent that an unapplied payment holds:
 * that payment is refunded (*found = 1); the order is not touched. */
static enum sf_err unapplied_refunded(struct sf_db_conn *c, struct apply_ctx *x, int *found)
{
	struct sf_pay_event *ev = x->ev;
	struct unapplied_row u = {0};
	struct sf_db_param p[] = {SF_DB_TEXT(ev->provider), SF_DB_TEXT(ev->by_intent)};
	enum sf_db_status st = sf_db_query_one(c, SF_STMT_UNAPPLIED_BY_INTENT, p, 2, read_unapplied, &u);
	*found = st == SF_DB_OK;
	if (st == SF_DB_NO_ROWS)
		return SF_OK;
	if (st < 0)
		return sf_db_err(st);
	ev->order_id = u.order_id;
	ev->unapplied = 1;
	if (u.refunded)
		return SF_OK;
	int64_t now = sf_shop_now();
	struct sf_db_param q[] = {SF_DB_INT(u.id), SF_DB_TEXT("refunded"), SF_DB_NULL,   SF_DB_INT(now),
				  SF_DB_TEXT(ev->ref), SF_DB_NULL,	      SF_DB_INT(now)};
	st = sf_db_exec(c, SF_STMT_UNAPPLIED_SET, q, 7, NULL);
	if (st < 0)
		return sf_db_err(st);
	return audit_event(c, x->kr, ev->provider, x->n, "payment.unapplied_refunded", "success",
			   ev->reason ? ev->reason : "refunded", u.order_id);
}

static enum sf_db_status apply_txn(struct sf_db_conn *c, void *vctx)
{
	struct apply_ctx *x = vctx;
	struct sf_pay_event *ev = x->ev;
	int64_t changed = 0;
	x->replayed = 0;
	ev->unapplied = 0;
	x->err = check_session(c, ev);
	if (x->err)
		return sf_db_status_from_err(x->err);
	struct sf_db_param p[] = {SF_DB_TEXT(ev->provider), SF_DB_TEXT(ev->event_id), SF_DB_TEXT(ev->type),
				  ev->order_id > 0 ? SF_DB_INT(ev->order_id) : SF_DB_NULL, SF_DB_INT(sf_shop_now())};
	enum sf_db_status st = sf_db_exec(c, SF_STMT_PAY_EVENT_INSERT, p, 5, &changed);
	if (st < 0)
		return st;
	if (changed == 0) {
		x->replayed = 1;
		x->err = audit_event(c, x->kr, ev->provider, x->n, "payment.webhook_replay", "denied", "replayed event",
				     ev->order_id);
		return x->err ? sf_db_status_from_err(x->err) : SF_DB_OK;
	}
	const struct sf_shop_actor actor = provider_actor(ev->provider);
	if (!strcmp(ev->kind, "settled")) {
		x->err = sf_order_payment_settled(c, x->kr, ev->order_id, ev->provider, ev->ref, ev->amount,
						  ev->currency, &actor);
		if (x->err == SF_ERR_ORDER_STATE || x->err == SF_ERR_ORDER_EXPIRED || x->err == SF_ERR_AMOUNT_MISMATCH)
			x->err = keep_unapplied(c, x, x->err);
	} else if (!strcmp(ev->kind, "failed")) {
		int by_session = 0;
		x->err = failure_of_session(c, ev, &by_session);
		/* A delayed payment that fails (a konbini voucher expired, a bank
		 * debit returned) fails its payment intent too: Stripe sends both
		 * events, in either order; the session's is the one recorded. */
		if (!x->err && by_session) {
			x->err = audit_event(c, x->kr, ev->provider, x->n, "payment.webhook_ignored", "denied",
					     "reported by its session", ev->order_id);
		} else if (!x->err) {
			x->err = sf_order_payment_failed(c, x->kr, ev->order_id, ev->provider, ev->ref, ev->reason,
							 &actor);
			/* An earlier attempt's failure arriving after another attempt
			 * paid (providers do not order their events), or after the
			 * order ended: it changes nothing, is audited, and is
			 * acknowledged, so that the provider does not send it again
			 * for days. */
			if (x->err == SF_ERR_ORDER_STATE)
				x->err = audit_event(c, x->kr, ev->provider, x->n, "payment.webhook_ignored", "denied",
						     sf_err_code(SF_ERR_ORDER_STATE), ev->order_id);
		}
	} else if (!strcmp(ev->kind, "pending")) {
		x->err = sf_order_payment_pending(c, x->kr, ev->order_id, ev->provider, ev->ref, ev->hold_s, &actor);
		/* The order was paid by another attempt, or ended, or this
		 * payment's failure came first: nothing to hold.  Should the
		 * money still come, the settlement is kept and refunded
		 * (keep_unapplied). */
		if (x->err == SF_ERR_ORDER_STATE || x->err == SF_ERR_ORDER_EXPIRED)
			x->err = audit_event(c, x->kr, ev->provider, x->n, "payment.webhook_ignored", "denied",
					     sf_err_code(x->err), ev->order_id);
	} else if (!strcmp(ev->kind, "note")) {
		x->err = sf_order_payment_note(c, x->kr, ev->order_id, ev->provider, ev->ref, ev->amount, ev->reason,
					       ev->action, ev->webhook, &actor);
	} else if (!strcmp(ev->kind, "refund_total")) {
		int64_t delta = 0;
		int found = 0;
		x->err = ev->by_intent ? unapplied_refunded(c, x, &found) : SF_OK;
		if (!x->err && !found)
			x->err = refund_delta(c, ev->order_id, ev->amount, ev->currency, &delta);
		/* nothing new: recorded already (staff's refund, or a refund
		 * recorded by hand); acknowledged so that it is not sent again */
		if (!x->err && !found)
			x->err = delta > 0 ? sf_order_refund(c, x->kr, ev->order_id, ev->provider, ev->ref, delta,
							     ev->reason, &actor)
					   : audit_event(c, x->kr, ev->provider, x->n, "payment.webhook_ignored", "denied",
							 "refund already recorded", ev->order_id);
	} else {
		x->err = SF_ERR_INVALID;
	}
	return x->err ? sf_db_status_from_err(x->err) : SF_DB_OK;
}

enum sf_err sf_pay_apply(struct sf_db *db, const struct sf_keyring *kr, struct sf_pay_event *ev,
			 const struct sf_pay_notice *n, int *replayed)
{
	struct apply_ctx x = {.kr = kr, .ev = ev, .n = n};
	enum sf_db_status st = sf_db_txn(db, apply_txn, &x, 8);
	*replayed = x.replayed;
	if (x.err)
		return x.err;
	if (st < 0)
		return sf_db_err(st);
	if (ev->unapplied && !x.replayed && !strcmp(ev->kind, "settled"))
		sf_log(SF_LOG_WARN, "payment.unapplied",
		       "a %s payment of %" PRId64 " %s for order %" PRId64
		       " came when the order could not take it: recorded, to be refunded",
		       ev->provider, ev->amount, ev->currency, ev->order_id);
	return SF_OK;
}

struct reject_ctx {
	const struct sf_keyring *kr;
	const char *provider;
	const struct sf_pay_notice *n;
	const char *why;
	int64_t order_id;
};

static enum sf_db_status reject_txn(struct sf_db_conn *c, void *vctx)
{
	struct reject_ctx *x = vctx;
	enum sf_err err = audit_event(c, x->kr, x->provider, x->n, "payment.webhook_rejected", "denied", x->why,
				      x->order_id);
	return err ? sf_db_status_from_err(err) : SF_DB_OK;
}

void sf_pay_audit_reject(struct sf_db *db, const struct sf_keyring *kr, const char *provider,
			 const struct sf_pay_notice *n, enum sf_err why, int64_t order_id)
{
	struct reject_ctx x = {.kr = kr, .provider = provider, .n = n, .why = sf_err_code(why), .order_id = order_id};
	if (sf_db_txn(db, reject_txn, &x, 5) < 0)
		sf_log(SF_LOG_ERROR, "payment.audit_failed", "cannot audit a rejected %s notification", provider);
	sf_log(SF_LOG_WARN, "payment.webhook_rejected", "%s notification refused: %s request_id=%s", provider,
	       sf_err_code(why), n && n->request_id ? n->request_id : "-");
}

/* ==== Refunds through the provider: unapplied payments, staff refunds ==== */

#define REFUND_BATCH 32
#define REFUND_BACKOFF_S 60
#define REFUND_BACKOFF_MAX_S 21600

struct due_payment {
	int staff; /* an order_refunds row (payment.h, "Refunds given by staff"), else unapplied_payments */
	int64_t id, order_id, amount, attempts;
	char provider[16];
	char intent[SF_PAY_SESSION_MAX + 1]; /* "" when none */
	char reason[SF_ORDER_REASON_MAX + 1]; /* staff: "" when none */
	char actor_type[16], actor_id[64];    /* staff: who asked */
};

/* The columns of SF_STMT_UNAPPLIED_DUE, or of SF_STMT_ORDER_REFUND_DUE/GET
 * (staff). */
static void read_due(struct sf_db_cursor *cur, struct due_payment *d, int staff)
{
	d->staff = staff;
	d->id = sf_db_col_int(cur, 0);
	d->order_id = sf_db_col_int(cur, 1);
	snprintf(d->provider, sizeof d->provider, "%s", sf_db_col_text(cur, 2, NULL));
	snprintf(d->intent, sizeof d->intent, "%s", sf_db_col_is_null(cur, 3) ? "" : sf_db_col_text(cur, 3, NULL));
	d->amount = sf_db_col_int(cur, 4);
	d->attempts = sf_db_col_int(cur, 5);
	if (!staff)
		return;
	snprintf(d->reason, sizeof d->reason, "%s", sf_db_col_is_null(cur, 6) ? "" : sf_db_col_text(cur, 6, NULL));
	snprintf(d->actor_type, sizeof d->actor_type, "%s", sf_db_col_text(cur, 7, NULL));
	snprintf(d->actor_id, sizeof d->actor_id, "%s", sf_db_col_text(cur, 8, NULL));
}

static void read_staff_due(struct sf_db_cursor *cur, void *ctx)
{
	read_due(cur, ctx, 1);
}

struct refund_due_ctx {
	int64_t now;
	int n;
	struct due_payment rows[REFUND_BATCH];
};

static enum sf_db_status due_of(struct sf_db_conn *c, struct refund_due_ctx *x, enum sf_stmt stmt, int staff)
{
	struct sf_db_cursor *cur = NULL;
	struct sf_db_param p[] = {SF_DB_INT(x->now), SF_DB_INT(REFUND_BATCH - x->n)};
	enum sf_db_status st = sf_db_query(c, stmt, p, 2, &cur);
	if (st != SF_DB_OK)
		return st;
	while (x->n < REFUND_BATCH && (st = sf_db_next(cur)) == SF_DB_OK)
		read_due(cur, &x->rows[x->n++], staff);
	sf_db_cursor_close(cur);
	return st < 0 ? st : SF_DB_OK;
}

static enum sf_db_status refund_due_txn(struct sf_db_conn *c, void *vctx)
{
	struct refund_due_ctx *x = vctx;
	x->n = 0;
	enum sf_db_status st = due_of(c, x, SF_STMT_UNAPPLIED_DUE, 0);
	if (st >= 0 && x->n < REFUND_BATCH)
		st = due_of(c, x, SF_STMT_ORDER_REFUND_DUE, 1);
	return st;
}

/* Ask d's provider for its refund: the provider's refund id in refund, or
 * why not and *final when trying again cannot help. */
static void provider_refund(struct sf_payments *p, const struct due_payment *d, char *refund, size_t refund_len,
			    char *why, size_t why_len, int *final)
{
	*final = 0;
	refund[0] = why[0] = '\0';
	if (!strcmp(d->provider, "sandbox")) {
		/* no money moved */
		snprintf(refund, refund_len, "sandbox-refund-%s%" PRId64, d->staff ? "staff-" : "", d->id);
	} else if (strcmp(d->provider, "stripe") != 0) {
		snprintf(why, why_len, "no refunds through provider %.32s", d->provider);
		*final = 1;
	} else if (!d->intent[0]) {
		snprintf(why, why_len, "no payment intent to refund: refund it in the Stripe dashboard");
		*final = 1;
	} else if (!p) {
		snprintf(why, why_len, "stripe is not configured");
	} else if (sf_pay_stripe_refund(p, d->staff ? "refund" : "unapplied", d->id, d->order_id, d->intent, d->amount,
					refund, refund_len, why, why_len) != SF_OK) {
		refund[0] = '\0';
	} else if (d->staff && !strcmp(refund, "already-refunded")) {
		/* Staff's refund did not move this money: the charge.refunded of
		 * whatever did records it on the order. */
		refund[0] = '\0';
		snprintf(why, why_len, "stripe answered 400 charge_already_refunded: the charge was refunded in full "
				       "some other way");
		*final = 1;
	}
	if (!refund[0] && !*final)
		*final = d->attempts + 1 >= SF_PAY_REFUND_TRIES;
}

struct refund_outcome {
	const struct sf_keyring *kr;
	const struct due_payment *d;
	const char *refund; /* the provider's refund, or NULL: failed */
	const char *why;    /* when failed */
	int64_t now;
	int final;          /* failed for good */
	int changed;
	char note[96];      /* staff: refunded, but not applied to the order */
};

/* Staff's refund, returned by the provider: the order is refunded, unless
 * it refuses (x->note says why: the money went back all the same). */
static enum sf_err apply_staff_refund(struct sf_db_conn *c, struct refund_outcome *x)
{
	const struct due_payment *d = x->d;
	struct due_payment still; /* only whether it is still due matters */
	struct sf_db_param p = SF_DB_INT(d->id);
	enum sf_db_status st = sf_db_query_one(c, SF_STMT_ORDER_REFUND_GET, &p, 1, read_staff_due, &still);
	if (st == SF_DB_NO_ROWS) /* recorded by another attempt */
		return SF_OK;
	if (st < 0)
		return sf_db_err(st);
	x->changed = 1;
	const struct sf_shop_actor a = {.type = d->actor_type, .id = d->actor_id};
	enum sf_err err = sf_order_refund(c, x->kr, d->order_id, d->provider, x->refund, d->amount,
					  d->reason[0] ? d->reason : NULL, &a);
	/* the order refused it (it changed meanwhile: refunded some other
	 * way); a database error is rolled back and tried again */
	unsigned status = err ? sf_err_status(err) : 0;
	if (!err || status < 400 || status > 499 || err == SF_ERR_DB_CONSTRAINT)
		return err;
	snprintf(x->note, sizeof x->note, "refunded at the provider, not applied to the order: %s", sf_err_code(err));
	return audit_as(c, x->kr, "system", "refunder", d->provider, NULL, "order.refund_not_applied", "failure",
			x->note, d->order_id);
}

static enum sf_db_status refund_outcome_txn(struct sf_db_conn *c, void *vctx)
{
	struct refund_outcome *x = vctx;
	const struct due_payment *d = x->d;
	int64_t attempts = d->attempts + 1, changed = 0;
	int64_t wait = REFUND_BACKOFF_S << (attempts - 1 < 10 ? attempts - 1 : 10);
	const char *status = x->refund ? "refunded" : x->final ? "refund_failed" : "refund_due";
	enum sf_err err = SF_OK;
	x->changed = 0;
	x->note[0] = '\0';
	if (d->staff && x->refund) {
		err = apply_staff_refund(c, x);
		if (err || !x->changed)
			return err ? sf_db_status_from_err(err) : SF_DB_OK;
	}
	const char *error = x->refund ? (x->note[0] ? x->note : NULL) : x->why;
	struct sf_db_param p[] = {SF_DB_INT(d->id),
				  SF_DB_TEXT(status),
				  SF_DB_INT(attempts),
				  SF_DB_INT(x->now + (wait < REFUND_BACKOFF_MAX_S ? wait : REFUND_BACKOFF_MAX_S)),
				  x->refund ? SF_DB_TEXT(x->refund) : SF_DB_NULL,
				  error ? SF_DB_TEXT(error) : SF_DB_NULL,
				  SF_DB_INT(x->now)};
	enum sf_db_status st =
		sf_db_exec(c, d->staff ? SF_STMT_ORDER_REFUND_SET : SF_STMT_UNAPPLIED_SET, p, 7, &changed);
	x->changed = changed == 1;
	if (st < 0 || !x->changed || (!x->refund && !x->final) || (d->staff && x->refund))
		return st < 0 ? st : SF_DB_OK; /* staff's refund: sf_order_refund audited it */
	const char *action = d->staff ? "order.refund_failed"
			     : x->refund ? "payment.unapplied_refunded"
					 : "payment.unapplied_refund_failed";
	err = audit_as(c, x->kr, "system", "refunder", d->provider, NULL, action, x->refund ? "success" : "failure",
		       x->refund ? "refunded" : x->why, d->order_id);
	return err ? sf_db_status_from_err(err) : SF_DB_OK;
}

/* d's refund asked of its provider and the answer recorded: 1 refunded,
 * 0 not (yet, or by this call), or a negative database status. */
static int refund_one(struct sf_payments *p, struct sf_db *db, const struct sf_keyring *kr,
		      const struct due_payment *d)
{
	char refund[SF_PAY_SESSION_MAX + 1], why[160];
	int final = 0;
	provider_refund(p, d, refund, sizeof refund, why, sizeof why, &final);
	struct refund_outcome o = {.kr = kr, .d = d, .refund = refund[0] ? refund : NULL, .why = why,
				   .now = sf_shop_now(), .final = final};
	enum sf_db_status st = sf_db_txn(db, refund_outcome_txn, &o, 8);
	if (st < 0)
		return st;
	if (!o.changed)
		return 0;
	char what[64];
	if (d->staff)
		snprintf(what, sizeof what, "staff refund %" PRId64, d->id);
	else
		snprintf(what, sizeof what, "unapplied %s payment %" PRId64, d->provider, d->id);
	if (o.refund)
		sf_log(o.note[0] ? SF_LOG_ERROR : SF_LOG_INFO, d->staff ? "order.refund_sent" : "payment.unapplied_refunded",
		       "%s of order %" PRId64 " refunded (%s)%s%s", what, d->order_id, refund, o.note[0] ? "; " : "",
		       o.note);
	else
		sf_log(final ? SF_LOG_ERROR : SF_LOG_WARN,
		       d->staff ? "order.refund_failed" : "payment.unapplied_refund_failed",
		       "refunding %s of order %" PRId64 " failed%s: %s", what, d->order_id,
		       final ? " for good: refund it by hand" : ", will retry", why);
	return o.refund != NULL;
}

enum sf_err sf_pay_refund_due(struct sf_payments *p, struct sf_db *db, const struct sf_keyring *kr, int *refunded)
{
	struct refund_due_ctx *x = calloc(1, sizeof *x);
	int done = 0;
	if (refunded)
		*refunded = 0;
	if (!x)
		return SF_ERR_NOMEM;
	x->now = sf_shop_now();
	int st = sf_db_txn_read(db, refund_due_txn, x, 5);
	for (int i = 0; st >= 0 && i < x->n; i++) {
		st = refund_one(p, db, kr, &x->rows[i]);
		done += st > 0;
	}
	free(x);
	if (refunded)
		*refunded = done;
	return st < 0 ? sf_db_err(st) : SF_OK;
}

static int refund_job(void *arg)
{
	struct sf_payments *p = arg;
	if (sf_pay_refund_due(p, p->refund_db, p->refund_kr, NULL) != SF_OK)
		sf_log(SF_LOG_WARN, "payment.refunder", "reading the refunds due failed");
	return 0; /* retries wait for their time (next_at) */
}

enum sf_err sf_pay_refunder_start(struct sf_payments *p, struct sf_db *db, const struct sf_keyring *kr, int interval_s)
{
	p->refund_db = db;
	p->refund_kr = kr;
	return sf_ticker_start(refund_job, p, interval_s * 1000L, &p->refunder);
}

void sf_pay_refunder_kick(struct sf_payments *p)
{
	if (p)
		sf_ticker_kick(p->refunder);
}

/* ==== Refunds given by staff (payment.h) ==== */

struct key_row {
	int64_t id, order_id;
};

static void read_key_row(struct sf_db_cursor *cur, void *ctx)
{
	struct key_row *k = ctx;
	k->id = sf_db_col_int(cur, 0);
	k->order_id = sf_db_col_int(cur, 1);
}

static enum sf_db_status by_key(struct sf_db_conn *c, const char *key, struct key_row *k)
{
	struct sf_db_param p = SF_DB_TEXT(key);
	return sf_db_query_one(c, SF_STMT_ORDER_REFUND_BY_KEY, &p, 1, read_key_row, k);
}

enum sf_err sf_pay_refund_request(struct sf_db_conn *c, const struct sf_keyring *kr, int64_t order_id,
				  const char *request_key, int64_t amount, const char *reason,
				  const struct sf_shop_actor *actor, int64_t *id)
{
	struct key_row k = {0};
	struct refund_facts f;
	int64_t changed = 0;
	*id = 0;
	if (!request_key || !sf_pay_ref_ok(request_key) || !sf_order_reason_ok(reason) || !actor || !actor->type ||
	    !actor->id)
		return SF_ERR_INVALID;
	enum sf_db_status st = by_key(c, request_key, &k);
	if (st == SF_DB_OK) { /* the same form again: the same refund */
		*id = k.id;
		return k.order_id == order_id ? SF_OK : SF_ERR_INVALID;
	}
	if (st != SF_DB_NO_ROWS)
		return sf_db_err(st);
	enum sf_err err = refund_facts(c, order_id, &f);
	if (err)
		return err;
	enum sf_order_status s;
	if (sf_order_status_parse(f.status, &s) || !sf_order_transition_allowed(s, SF_ORDER_PARTIALLY_REFUNDED))
		return SF_ERR_ORDER_STATE;
	if (amount < 1 || amount > f.paid - f.refunded - f.due)
		return SF_ERR_AMOUNT_MISMATCH;
	if (strcmp(f.provider, "sandbox") != 0 && (strcmp(f.provider, "stripe") != 0 || !f.intent[0]))
		return SF_ERR_REFUND_PROVIDER;
	int64_t now = sf_shop_now();
	/* the refunder takes it only if the attempt right after this
	 * transaction (sf_pay_refund_send) does not settle it */
	struct sf_db_param p[] = {SF_DB_INT(order_id),
				  SF_DB_TEXT(request_key),
				  SF_DB_TEXT(f.provider),
				  f.intent[0] ? SF_DB_TEXT(f.intent) : SF_DB_NULL,
				  SF_DB_INT(amount),
				  SF_DB_TEXT(f.currency),
				  reason ? SF_DB_TEXT(reason) : SF_DB_NULL,
				  SF_DB_TEXT(actor->type),
				  SF_DB_TEXT(actor->id),
				  SF_DB_INT(now + REFUND_BACKOFF_S),
				  SF_DB_INT(now)};
	st = sf_db_exec(c, SF_STMT_ORDER_REFUND_INSERT, p, 11, &changed);
	if (st >= 0)
		st = by_key(c, request_key, &k);
	if (st < 0 || st == SF_DB_NO_ROWS || changed != 1)
		return st < 0 ? sf_db_err(st) : SF_ERR_DB_CONFLICT;
	*id = k.id;
	return audit_by(c, kr, actor, "order.refund_requested", "success", order_id,
			json_pack("{s:s,s:I,s:s}", "provider", f.provider, "amount", (json_int_t)amount, "currency",
				  f.currency));
}

struct send_ctx {
	int64_t id;
	int found;
	struct due_payment d;
};

static enum sf_db_status send_get_txn(struct sf_db_conn *c, void *vctx)
{
	struct send_ctx *x = vctx;
	struct sf_db_param p = SF_DB_INT(x->id);
	enum sf_db_status st = sf_db_query_one(c, SF_STMT_ORDER_REFUND_GET, &p, 1, read_staff_due, &x->d);
	x->found = st == SF_DB_OK;
	return st == SF_DB_NO_ROWS ? SF_DB_OK : st;
}

enum sf_err sf_pay_refund_send(struct sf_payments *p, struct sf_db *db, const struct sf_keyring *kr, int64_t id)
{
	struct send_ctx *x = calloc(1, sizeof *x);
	if (!x)
		return SF_ERR_NOMEM;
	x->id = id;
	int st = sf_db_txn_read(db, send_get_txn, x, 5);
	if (st >= 0 && x->found)
		st = refund_one(p, db, kr, &x->d);
	free(x);
	return st < 0 ? sf_db_err(st) : SF_OK;
}

/* Column col of cur as a JSON string, or JSON null when it is NULL. */
static json_t *text_or_null(struct sf_db_cursor *cur, int col)
{
	return sf_db_col_is_null(cur, col) ? json_null() : json_string(sf_db_col_text(cur, col, NULL));
}

/* An order's rows of unapplied_payments (staff = 0) or order_refunds, as
 * payment.h lists them. */
static enum sf_err refunds_of(struct sf_db_conn *c, int64_t order_id, int staff, json_t **out)
{
	struct sf_db_cursor *cur = NULL;
	struct sf_db_param p = SF_DB_INT(order_id);
	int oom = 0;
	*out = NULL;
	enum sf_db_status st =
		sf_db_query(c, staff ? SF_STMT_ORDER_REFUND_OF_ORDER : SF_STMT_UNAPPLIED_OF_ORDER, &p, 1, &cur);
	if (st != SF_DB_OK)
		return sf_db_err(st);
	json_t *arr = json_array();
	while ((st = sf_db_next(cur)) == SF_DB_OK) {
		json_t *o = json_object();
		sf_json_put(&oom, o, "provider", json_string(sf_db_col_text(cur, 0, NULL)));
		sf_json_put(&oom, o, "amount", sf_money_json(sf_db_col_int(cur, 1), sf_db_col_text(cur, 2, NULL)));
		/* null rather than left out: a template section of a missing
		 * member falls back to the page's own (its "error" flash) */
		sf_json_put(&oom, o, "reason", text_or_null(cur, 3));
		sf_json_put(&oom, o, "status", json_string(sf_db_col_text(cur, 4, NULL)));
		sf_json_put(&oom, o, "created_at", json_integer(sf_db_col_int(cur, 5)));
		sf_json_put(&oom, o, "refund_ref", text_or_null(cur, 6));
		sf_json_put(&oom, o, "error", text_or_null(cur, 7));
		if (staff)
			sf_json_put(&oom, o, "by", json_string(sf_db_col_text(cur, 8, NULL)));
		sf_json_push(&oom, arr, o);
	}
	sf_db_cursor_close(cur);
	if (st < 0 || oom || !arr) {
		json_decref(arr);
		return st < 0 ? sf_db_err(st) : SF_ERR_NOMEM;
	}
	*out = arr;
	return SF_OK;
}

struct refunds_list {
	int64_t order_id;
	json_t *unapplied, *refunds;
	enum sf_err err;
};

static enum sf_db_status refunds_list_txn(struct sf_db_conn *c, void *vctx)
{
	struct refunds_list *x = vctx;
	json_decref(x->unapplied);
	json_decref(x->refunds);
	x->refunds = NULL;
	x->err = refunds_of(c, x->order_id, 0, &x->unapplied);
	if (!x->err)
		x->err = refunds_of(c, x->order_id, 1, &x->refunds);
	return x->err ? sf_db_status_from_err(x->err) : SF_DB_OK;
}

enum sf_err sf_pay_order_refunds(struct sf_db *db, int64_t order_id, json_t **unapplied, json_t **refunds)
{
	struct refunds_list x = {.order_id = order_id};
	enum sf_db_status st = sf_db_txn_read(db, refunds_list_txn, &x, 5);
	enum sf_err err = x.err ? x.err : st < 0 ? sf_db_err(st) : SF_OK;
	if (err) {
		json_decref(x.unapplied);
		json_decref(x.refunds);
		x.unapplied = x.refunds = NULL;
	}
	*unapplied = x.unapplied;
	*refunds = x.refunds;
	return err;
}
