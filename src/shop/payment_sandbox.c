/*
 * payment_sandbox.c — the built-in sandbox provider (payment.h): its
 * hosted page's data, the shopper's decision (queued as a signed
 * notification for the webhook sender, never applied inline), and the
 * verification of that notification when it comes back to
 * /api/v1/payments/sandbox/webhook.
 *
 * The notification body:
 *   {"id":"evt_…","type":"payment.succeeded"|"payment.failed","created":t,
 *    "data":{"session":"sbx_…","order_id":n,"amount":n,"currency":"EUR"}}
 */
#include "shop/payment.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "db/db.h"
#include "shop/money.h"
#include "shop/webhook.h"

#define SANDBOX_PATH "/api/v1/payments/sandbox/webhook"

struct sess_row {
	int64_t order_id, amount;
	char currency[4];
	char status[16];
};

static void read_sess(struct sf_db_cursor *cur, void *ctx)
{
	struct sess_row *r = ctx;
	r->order_id = sf_db_col_int(cur, 0);
	r->amount = sf_db_col_int(cur, 1);
	snprintf(r->currency, sizeof r->currency, "%s", sf_db_col_text(cur, 2, NULL));
	snprintf(r->status, sizeof r->status, "%s", sf_db_col_text(cur, 3, NULL));
}

static enum sf_err sess_get(struct sf_db_conn *c, const char *session, struct sess_row *r)
{
	struct sf_db_param p[] = {SF_DB_TEXT("sandbox"), SF_DB_TEXT(session)};
	enum sf_db_status st = sf_db_query_one(c, SF_STMT_PAY_SESSION_GET, p, 2, read_sess, r);
	return st == SF_DB_NO_ROWS ? SF_ERR_NOT_FOUND : st < 0 ? sf_db_err(st) : SF_OK;
}

struct view_ctx {
	const char *session;
	struct sess_row r;
	enum sf_err err;
};

static enum sf_db_status view_txn(struct sf_db_conn *c, void *vctx)
{
	struct view_ctx *x = vctx;
	x->err = sess_get(c, x->session, &x->r);
	return x->err ? SF_DB_HARD : SF_DB_OK;
}

static int session_ok(const char *s)
{
	return s && !strncmp(s, "sbx_", 4) && sf_pay_ref_ok(s);
}

enum sf_err sf_pay_sandbox_view(struct sf_db *db, const char *session, json_t **out)
{
	if (!session_ok(session))
		return SF_ERR_NOT_FOUND;
	struct view_ctx x = {.session = session};
	enum sf_db_status st = sf_db_txn_read(db, view_txn, &x, 3);
	if (x.err)
		return x.err;
	if (st < 0)
		return sf_db_err(st);
	*out = json_pack("{s:s,s:I,s:o,s:s,s:b}", "session", session, "order_id", (json_int_t)x.r.order_id,
			 "amount", sf_money_json(x.r.amount, x.r.currency), "status", x.r.status, "is_open",
			 !strcmp(x.r.status, "open"));
	return *out ? SF_OK : SF_ERR_NOMEM;
}

struct decide_ctx {
	const char *session, *url;
	int approve;
	struct sess_row r;
	enum sf_err err;
};

static enum sf_db_status decide_txn(struct sf_db_conn *c, void *vctx)
{
	struct decide_ctx *x = vctx;
	x->err = sess_get(c, x->session, &x->r);
	if (x->err)
		return SF_DB_HARD;
	int64_t changed = 0;
	struct sf_db_param p[] = {SF_DB_TEXT("sandbox"), SF_DB_TEXT(x->session), SF_DB_TEXT("open"),
				  SF_DB_TEXT(x->approve ? "approved" : "declined"), SF_DB_INT(sf_shop_now()),
				  SF_DB_NULL};
	enum sf_db_status st = sf_db_exec(c, SF_STMT_PAY_SESSION_DECIDE, p, 6, &changed);
	if (st < 0)
		return st;
	if (changed != 1) {
		x->err = SF_ERR_PAYMENT_SESSION;
		return SF_DB_HARD;
	}
	char id[SF_WEBHOOK_EVENT_ID_LEN + 1];
	sf_webhook_event_id(id);
	const char *type = x->approve ? "payment.succeeded" : "payment.failed";
	json_t *ev = json_pack("{s:s,s:s,s:I,s:{s:s,s:I,s:I,s:s}}", "id", id, "type", type, "created",
			       (json_int_t)sf_shop_now(), "data", "session", x->session, "order_id",
			       (json_int_t)x->r.order_id, "amount", (json_int_t)x->r.amount, "currency", x->r.currency);
	char *body = ev ? json_dumps(ev, JSON_COMPACT) : NULL;
	json_decref(ev);
	if (!body) {
		x->err = SF_ERR_NOMEM;
		return SF_DB_HARD;
	}
	x->err = sf_webhook_enqueue_internal(c, x->url, id, type, body);
	free(body);
	return x->err ? sf_db_status_from_err(x->err) : SF_DB_OK;
}

enum sf_err sf_pay_sandbox_decide(struct sf_payments *p, struct sf_db *db, const char *session, int approve,
				  int64_t *order_id)
{
	if (!p || sf_pay_provider(p) != SF_PAY_SANDBOX || !sf_pay_self_url(p))
		return SF_ERR_UNAVAILABLE;
	if (!session_ok(session))
		return SF_ERR_NOT_FOUND;
	size_t n = strlen(sf_pay_self_url(p)) + sizeof SANDBOX_PATH;
	char *url = malloc(n);
	if (!url)
		return SF_ERR_NOMEM;
	snprintf(url, n, "%s%s", sf_pay_self_url(p), SANDBOX_PATH);
	struct decide_ctx x = {.session = session, .url = url, .approve = approve};
	enum sf_db_status st = sf_db_txn(db, decide_txn, &x, 5);
	free(url);
	if (x.err)
		return x.err;
	if (st < 0)
		return sf_db_err(st);
	*order_id = x.r.order_id;
	return SF_OK;
}

/* ==== The notification ==== */

/* The event's fields; SF_ERR_INVALID when anything is missing or odd. */
static enum sf_err parse_event(const json_t *ev, const char **id, const char **type, const char **session,
			       int64_t *order_id, int64_t *amount, const char **currency)
{
	const json_t *d = json_object_get(ev, "data");
	*id = json_string_value(json_object_get(ev, "id"));
	*type = json_string_value(json_object_get(ev, "type"));
	*session = json_string_value(json_object_get(d, "session"));
	*currency = json_string_value(json_object_get(d, "currency"));
	const json_t *o = json_object_get(d, "order_id"), *a = json_object_get(d, "amount");
	if (!sf_pay_ref_ok(*id) || !*type || !session_ok(*session) || !*currency || strlen(*currency) != 3 ||
	    !json_is_integer(o) || !json_is_integer(a) || json_integer_value(o) < 1 || json_integer_value(a) < 0 ||
	    !json_is_integer(json_object_get(ev, "created")))
		return SF_ERR_INVALID;
	if (strcmp(*type, "payment.succeeded") != 0 && strcmp(*type, "payment.failed") != 0)
		return SF_ERR_INVALID;
	*order_id = json_integer_value(o);
	*amount = json_integer_value(a);
	return SF_OK;
}

enum sf_err sf_pay_webhook_sandbox(struct sf_payments *p, struct sf_db *db, const struct sf_keyring *kr,
				   const struct sf_pay_notice *n, int *replayed)
{
	size_t klen = 0;
	const unsigned char *key = sf_pay_sandbox_secret(p, &klen);
	json_t *ev = NULL;
	int64_t order_id = 0, amount = 0;
	const char *id, *type, *session, *currency;
	*replayed = 0;
	if (!key)
		return SF_ERR_UNAVAILABLE;
	enum sf_err err = sf_webhook_verify(key, klen, n->timestamp, n->signature, n->body, n->len, sf_shop_now(),
					    SF_PAY_TOLERANCE_S);
	if (!err && sf_log_has_card(n->body, n->len))
		err = SF_ERR_CARD_DATA;
	if (!err) {
		ev = json_loadb(n->body, n->len, JSON_REJECT_DUPLICATES, NULL);
		err = json_is_object(ev) ? parse_event(ev, &id, &type, &session, &order_id, &amount, &currency)
					 : SF_ERR_BAD_JSON;
	}
	if (!err && (!n->event_id || strcmp(n->event_id, id) != 0))
		err = SF_ERR_SIGNATURE; /* the signed header must name the signed event */
	if (!err) {
		int ok = !strcmp(type, "payment.succeeded");
		struct sf_pay_event e = {.provider = "sandbox",
					 .event_id = id,
					 .type = type,
					 .kind = ok ? "settled" : "failed",
					 .order_id = order_id,
					 .ref = session,
					 .amount = amount,
					 .currency = currency,
					 .reason = ok ? NULL : "declined on the sandbox page",
					 .session = session};
		err = sf_pay_apply(db, kr, &e, n, replayed);
		if (!err && e.unapplied)
			sf_pay_refunder_kick(p);
	}
	if (err && err != SF_ERR_NOMEM)
		sf_pay_audit_reject(db, kr, "sandbox", n, err, order_id);
	json_decref(ev);
	return err;
}
