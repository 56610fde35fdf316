/*
 * payment_stripe.c — Stripe (payment.h): the Checkout Session redirect
 * flow and webhook verification.
 *
 * Outbound: POST {api_base}/v1/checkout/sessions, form-encoded, with the
 * secret key as a Bearer token (never logged) and an Idempotency-Key; one
 * line item carrying the order's total (tax and shipping included, as the
 * order computed them), success_url / cancel_url back to the order,
 * client_reference_id and metadata[order_id] (also on the payment intent,
 * so a failed payment names its order), and expires_at (see
 * sf_pay_stripe_expires_at: without it a session lives 24 h, long after
 * the order's reservation, and a shopper could pay an order that the
 * reaper had cancelled).  The answer's "id" and "url" are kept; the
 * shopper is redirected to "url".
 * Refunds of unapplied payments and of staff refunds (payment.h): POST {api_base}/v1/refunds
 * with payment_intent, amount and an Idempotency-Key per refund.
 *
 * Inbound: Stripe-Signature "t=<ts>,v1=<hex>[,v1=…]" = HMAC-SHA256 over
 * "<ts>.<payload>" with the endpoint secret (whsec_…), 300 s tolerance.
 * A session paid with a delayed method (konbini, bank debits; Stripe's
 * "Handle delayed notification payment methods") completes with
 * payment_status "unpaid": the order is held ([payments]
 * delayed_hold_hours) until checkout.session.async_payment_succeeded
 * settles it or _failed records the failure.
 */
#include "shop/payment.h"

#include <ctype.h>
#include <curl/curl.h>
#include <inttypes.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/log.h"
#include "core/util.h"
#include "db/db.h"
#include "shop/order.h"
#include "shop/webhook.h"

#define ANSWER_MAX (256u * 1024u)
#define API_TIMEOUT_S 10L

/* ==== Signature ==== */

enum sf_err sf_pay_stripe_verify(const char *header, const void *payload, size_t n, const void *secret,
				 size_t secret_len, int64_t now, int64_t tolerance_s)
{
	char ts[16] = "";
	char sigs[1024] = "";
	size_t used = 0;
	if (!header || strlen(header) > 4096)
		return SF_ERR_SIGNATURE;
	const char *p = header;
	while (*p) {
		const char *e = strchr(p, ',');
		size_t len = e ? (size_t)(e - p) : strlen(p);
		while (len && *p == ' ') {
			p++;
			len--;
		}
		if (len > 2 && !memcmp(p, "t=", 2) && len - 2 < sizeof ts && !ts[0]) {
			memcpy(ts, p + 2, len - 2);
			ts[len - 2] = '\0';
		} else if (len > 3 && !memcmp(p, "v1=", 3) && used + len + 2 < sizeof sigs) {
			used += (size_t)snprintf(sigs + used, sizeof sigs - used, "%s%.*s", used ? "," : "", (int)len, p);
		}
		p += len + (e ? 1 : 0);
	}
	if (!ts[0] || !sigs[0])
		return SF_ERR_SIGNATURE;
	return sf_webhook_verify(secret, secret_len, ts, sigs, payload, n, now, tolerance_s);
}

/* ==== Outbound: the Checkout Session ==== */

static size_t collect(char *ptr, size_t size, size_t nmemb, void *ctx)
{
	struct sf_buf *b = ctx;
	return sf_buf_append(b, ptr, size * nmemb) == SF_OK ? size * nmemb : 0;
}

/* Append "&name=value" (value percent-encoded) to b. */
static enum sf_err field(CURL *h, struct sf_buf *b, const char *name, const char *value)
{
	char *v = curl_easy_escape(h, value, 0);
	if (!v)
		return SF_ERR_NOMEM;
	enum sf_err err = sf_buf_printf(b, "%s%s=%s", b->bf_len ? "&" : "", name, v);
	curl_free(v);
	return err;
}

int64_t sf_pay_stripe_expires_at(int64_t now, int64_t reserved_until)
{
	int64_t lo = now + SF_PAY_STRIPE_SESSION_MIN_S + SF_PAY_STRIPE_SKEW_S;
	int64_t hi = now + SF_PAY_STRIPE_SESSION_MAX_S - SF_PAY_STRIPE_SKEW_S;
	/* a session ending the grace before the reservation needs no extension
	 * of it: this matters once the order is past the day in which a
	 * payment may extend it (a long reservation, a delayed payment's hold) */
	const int64_t want = reserved_until - SF_PAY_SETTLE_GRACE_S;
	return want < lo ? lo : want > hi ? hi : want;
}

/*
 * One call to Stripe's API: POST {api_base}{path} with the form, the
 * secret key as a Bearer token (built in guarded memory, wiped) and the
 * idempotency key.  *status: the HTTP status (0: no answer); *js: the
 * answer's JSON (NULL if none or not JSON; the caller frees).  SF_OK when
 * an answer came, whatever its status; SF_ERR_PAYMENT_PROVIDER (logged,
 * with what) when none did.
 */
static enum sf_err stripe_post(const struct sf_pay_secrets *s, CURL *h, const char *path, const struct sf_buf *form,
			       const char *idem_key, const char *what, long *status, json_t **js)
{
	struct sf_buf ans;
	struct curl_slist *hdrs = NULL;
	char endpoint[600], idem[160];
	enum sf_err err = SF_OK;
	*status = 0;
	*js = NULL;
	size_t alen = strlen(s->stripe_key) + 32;
	char *auth = sodium_malloc(alen);
	if (!auth)
		return SF_ERR_NOMEM;
	snprintf(auth, alen, "Authorization: Bearer %s", s->stripe_key);
	hdrs = curl_slist_append(hdrs, auth);
	sodium_free(auth);
	snprintf(idem, sizeof idem, "Idempotency-Key: %s", idem_key);
	snprintf(endpoint, sizeof endpoint, "%s%s", s->api_base, path);
	hdrs = curl_slist_append(hdrs, idem);
	hdrs = curl_slist_append(hdrs, "Content-Type: application/x-www-form-urlencoded");
	hdrs = curl_slist_append(hdrs, "Stripe-Version: 2024-06-20");
	hdrs = curl_slist_append(hdrs, "Expect:");
	sf_buf_init(&ans, ANSWER_MAX);
	curl_easy_setopt(h, CURLOPT_URL, endpoint);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(h, CURLOPT_POSTFIELDS, form->bf_data ? form->bf_data : "");
	curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)form->bf_len);
	curl_easy_setopt(h, CURLOPT_TIMEOUT, API_TIMEOUT_S);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &ans);
	if (s->ca_file)
		curl_easy_setopt(h, CURLOPT_CAINFO, s->ca_file);
	CURLcode rc = curl_easy_perform(h);
	if (rc != CURLE_OK) {
		sf_log(SF_LOG_ERROR, "payment.stripe_error", "%s failed: %s", what, curl_easy_strerror(rc));
		err = SF_ERR_PAYMENT_PROVIDER;
	} else {
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, status);
		*js = json_loadb(ans.bf_data ? ans.bf_data : "", ans.bf_len, 0, NULL);
	}
	for (struct curl_slist *x = hdrs; x; x = x->next) /* a copy of the key: wipe it */
		sodium_memzero(x->data, strlen(x->data));
	curl_slist_free_all(hdrs);
	sf_buf_free(&ans);
	return err;
}

static int word_ok(const char *s)
{
	return s && *s && strlen(s) < 64 && strspn(s, "abcdefghijklmnopqrstuvwxyz_") == strlen(s);
}

enum sf_err sf_pay_stripe_session(struct sf_payments *p, const struct sf_pay_order *o, char **url, char **ref,
				  int64_t *expires_at)
{
	struct sf_pay_secrets s;
	sf_pay_secrets(p, &s);
	struct sf_buf form;
	json_t *js = NULL;
	char oid[24], amount[24], expiry[24], cur[4], ok_url[600], cancel_url[600], name[64], idem[80], what[96];
	enum sf_err err = SF_OK;
	*url = *ref = NULL;
	*expires_at = sf_pay_stripe_expires_at(sf_shop_now(), o->reserved_until);
	CURL *h = curl_easy_init();
	if (!h || !s.stripe_key)
		return h ? (curl_easy_cleanup(h), SF_ERR_UNAVAILABLE) : SF_ERR_NOMEM;
	sf_buf_init(&form, 16384);
	for (int i = 0; i < 3; i++)
		cur[i] = (char)tolower((unsigned char)o->currency[i]);
	cur[3] = '\0';
	snprintf(oid, sizeof oid, "%" PRId64, o->id);
	snprintf(amount, sizeof amount, "%" PRId64, o->total);
	snprintf(expiry, sizeof expiry, "%" PRId64, *expires_at);
	/* No {CHECKOUT_SESSION_ID} in it: the return page does not need it (the
	 * signed webhook says whether the order is paid), and a parameter named
	 * session_id trips CRS 943110/943120 (session fixation) when the
	 * shopper's browser comes back without a Referer or with Stripe's. */
	snprintf(ok_url, sizeof ok_url, "%s/orders/%s/return", s.public_base, oid);
	snprintf(cancel_url, sizeof cancel_url, "%s/orders/%s", s.public_base, oid);
	snprintf(name, sizeof name, "Order %s", oid);
	char rnd[17];
	sf_rand_base32(rnd, 16);
	rnd[16] = '\0';
	snprintf(idem, sizeof idem, "storefort-order-%s-%s", oid, rnd);
	const char *const kv[][2] = {
		{"mode", "payment"},
		{"success_url", ok_url},
		{"cancel_url", cancel_url},
		{"client_reference_id", oid},
		{"metadata[order_id]", oid},
		{"payment_intent_data[metadata][order_id]", oid},
		{"line_items[0][quantity]", "1"},
		{"line_items[0][price_data][currency]", cur},
		{"line_items[0][price_data][unit_amount]", amount},
		{"line_items[0][price_data][product_data][name]", name},
		{"expires_at", expiry},
	};
	for (size_t i = 0; i < sizeof kv / sizeof kv[0] && !err; i++)
		err = field(h, &form, kv[i][0], kv[i][1]);
	if (err)
		goto out;
	long status = 0;
	snprintf(what, sizeof what, "creating the checkout session of order %s", oid);
	err = stripe_post(&s, h, "/v1/checkout/sessions", &form, idem, what, &status, &js);
	if (err)
		goto out;
	if (status != 200) {
		/* Stripe's codes are [a-z_]; anything else is not repeated */
		const char *code = json_string_value(json_object_get(json_object_get(js, "error"), "code"));
		code = word_ok(code) ? code : "";
		/* below Stripe's minimum charge for the currency: the shop's
		 * prices to fix, not an outage */
		err = status == 400 && !strcmp(code, "amount_too_small") ? SF_ERR_AMOUNT_TOO_SMALL
									   : SF_ERR_PAYMENT_PROVIDER;
		sf_log(err == SF_ERR_AMOUNT_TOO_SMALL ? SF_LOG_WARN : SF_LOG_ERROR, "payment.stripe_status",
		       "%s: status %ld%s%s", what, status, *code ? " " : "", code);
		goto out;
	}
	const char *id = json_string_value(json_object_get(js, "id"));
	const char *u = json_string_value(json_object_get(js, "url"));
	if (!sf_pay_ref_ok(id) || !u || strncmp(u, "https://", 8) != 0 || strlen(u) > 2048) {
		sf_log(SF_LOG_ERROR, "payment.stripe_answer", "checkout session answer of order %s is malformed", oid);
		err = SF_ERR_PAYMENT_PROVIDER;
		goto out;
	}
	*url = strdup(u);
	*ref = strdup(id);
	if (!*url || !*ref) {
		free(*url);
		free(*ref);
		*url = *ref = NULL;
		err = SF_ERR_NOMEM;
	}
out:
	json_decref(js);
	curl_easy_cleanup(h);
	sf_buf_free(&form);
	return err;
}

enum sf_err sf_pay_stripe_refund(struct sf_payments *p, const char *kind, int64_t id, int64_t order_id,
				 const char *intent, int64_t amount, char *refund, size_t refund_len, char *why,
				 size_t why_len)
{
	struct sf_pay_secrets s;
	sf_pay_secrets(p, &s);
	struct sf_buf form;
	json_t *js = NULL;
	char uid[24], oid[24], amt[24], idem[64], what[96], meta[40];
	const int staff = !strcmp(kind, "refund");
	enum sf_err err = SF_OK;
	refund[0] = why[0] = '\0';
	if (!s.stripe_key) {
		snprintf(why, why_len, "stripe is not configured");
		return SF_ERR_UNAVAILABLE;
	}
	CURL *h = curl_easy_init();
	if (!h)
		return SF_ERR_NOMEM;
	sf_buf_init(&form, 4096);
	snprintf(uid, sizeof uid, "%" PRId64, id);
	snprintf(oid, sizeof oid, "%" PRId64, order_id);
	snprintf(amt, sizeof amt, "%" PRId64, amount);
	/* The same key on every attempt: a retry after a lost answer is the
	 * same refund, never a second one (Stripe keeps keys 24 hours; after
	 * that a second refund is refused as charge_already_refunded). */
	snprintf(idem, sizeof idem, "storefort-%s-%s", staff ? "refund" : "unapplied", uid);
	snprintf(meta, sizeof meta, "metadata[%s]", staff ? "order_refund" : "unapplied_payment");
	const char *const kv[][2] = {
		{"payment_intent", intent},
		{"amount", amt},
		{"metadata[order_id]", oid},
		{meta, uid},
	};
	for (size_t i = 0; i < sizeof kv / sizeof kv[0] && !err; i++)
		err = field(h, &form, kv[i][0], kv[i][1]);
	long status = 0;
	snprintf(what, sizeof what, "refunding %s %s of order %s", staff ? "staff refund" : "the unapplied payment",
		 uid, oid);
	if (!err)
		err = stripe_post(&s, h, "/v1/refunds", &form, idem, what, &status, &js);
	if (err) {
		snprintf(why, why_len, "%s", err == SF_ERR_NOMEM ? "out of memory" : "no answer from stripe");
		goto out;
	}
	const char *rid = json_string_value(json_object_get(js, "id"));
	const char *rst = json_string_value(json_object_get(js, "status"));
	const char *code = json_string_value(json_object_get(json_object_get(js, "error"), "code"));
	if (status == 200 && sf_pay_ref_ok(rid) && rst &&
	    (!strcmp(rst, "succeeded") || !strcmp(rst, "pending") || !strcmp(rst, "requires_action"))) {
		snprintf(refund, refund_len, "%s", rid);
	} else if (status == 400 && code && !strcmp(code, "charge_already_refunded")) {
		snprintf(refund, refund_len, "already-refunded");
	} else {
		/* Stripe's codes and statuses are [a-z_]; anything else is not repeated */
		const char *c = word_ok(code) ? code : "", *r = status == 200 && word_ok(rst) ? rst : "";
		snprintf(why, why_len, "stripe answered %ld%s%s%s%s", status, *c ? " " : "", c, *r ? ", refund " : "", r);
		sf_log(SF_LOG_ERROR, "payment.stripe_refund", "%s: %s", what, why);
		err = SF_ERR_PAYMENT_PROVIDER;
	}
out:
	json_decref(js);
	curl_easy_cleanup(h);
	sf_buf_free(&form);
	return err;
}

/* ==== Inbound: events ==== */

static int64_t int_of(const json_t *j)
{
	if (json_is_integer(j))
		return json_integer_value(j);
	const char *s = json_string_value(j);
	int64_t v = 0;
	return s && sf_parse_i64(s, 1, INT64_MAX, &v) == SF_OK ? v : -1;
}

enum sf_err sf_pay_webhook_stripe(struct sf_payments *p, struct sf_db *db, const struct sf_keyring *kr,
				  const struct sf_pay_notice *n, int *replayed)
{
	struct sf_pay_secrets s;
	json_t *ev = NULL;
	int64_t order_id = 0;
	*replayed = 0;
	if (!p || sf_pay_provider(p) != SF_PAY_STRIPE || !sf_pay_ready(p))
		return SF_ERR_UNAVAILABLE;
	sf_pay_secrets(p, &s);
	enum sf_err err = sf_pay_stripe_verify(n->signature, n->body, n->len, s.whsec, s.whsec_len, sf_shop_now(),
					       SF_PAY_TOLERANCE_S);
	if (!err && sf_log_has_card(n->body, n->len))
		err = SF_ERR_CARD_DATA;
	if (!err) {
		ev = json_loadb(n->body, n->len, JSON_REJECT_DUPLICATES, NULL);
		if (!json_is_object(ev))
			err = SF_ERR_BAD_JSON;
	}
	const char *id = json_string_value(json_object_get(ev, "id"));
	const char *type = json_string_value(json_object_get(ev, "type"));
	const json_t *obj = json_object_get(json_object_get(ev, "data"), "object");
	if (!err && (!sf_pay_ref_ok(id) || !type || !json_is_object(obj)))
		err = SF_ERR_INVALID;
	if (err)
		goto out;
	struct sf_pay_event e = {.provider = "stripe", .event_id = id, .type = type};
	const char *oref = json_string_value(json_object_get(obj, "id"));
	const char *cur = json_string_value(json_object_get(obj, "currency"));
	char upper[4] = "";
	if (cur && strlen(cur) == 3)
		for (int i = 0; i < 4; i++)
			upper[i] = (char)toupper((unsigned char)cur[i]);
	const int completed = !strcmp(type, "checkout.session.completed"),
		  async_paid = !strcmp(type, "checkout.session.async_payment_succeeded"),
		  async_failed = !strcmp(type, "checkout.session.async_payment_failed");
	if (completed || async_paid || async_failed) {
		/* A delayed method (konbini, a bank debit) completes the session
		 * unpaid; Stripe reports the money, or its absence, later with
		 * the async events, each carrying the same session. */
		const char *status = json_string_value(json_object_get(obj, "payment_status"));
		int64_t claimed = int_of(json_object_get(obj, "client_reference_id"));
		int64_t amount = int_of(json_object_get(obj, "amount_total"));
		const char *intent = json_string_value(json_object_get(obj, "payment_intent"));
		if (!sf_pay_ref_ok(oref) || !upper[0] || amount < 0 || (intent && !sf_pay_ref_ok(intent))) {
			err = SF_ERR_INVALID;
			goto out;
		}
		e.order_id = claimed;
		e.ref = e.session = oref;
		e.intent = intent;
		e.currency = upper;
		order_id = claimed > 0 ? claimed : 0;
		if (async_failed) {
			e.kind = "failed";
			e.reason = SF_ORDER_REASON_DELAYED_FAILED;
		} else if (status && !strcmp(status, "paid")) {
			e.kind = "settled";
			e.amount = amount;
		} else if (completed && status && !strcmp(status, "unpaid")) {
			e.kind = "pending";
			e.hold_s = s.delayed_hold_s;
		} else {
			goto out; /* nothing paid and nothing to wait for */
		}
		err = sf_pay_apply(db, kr, &e, n, replayed);
	} else if (!strcmp(type, "payment_intent.payment_failed")) {
		order_id = int_of(json_object_get(json_object_get(obj, "metadata"), "order_id"));
		const char *msg = json_string_value(
			json_object_get(json_object_get(obj, "last_payment_error"), "message"));
		char reason[200];
		snprintf(reason, sizeof reason, "%s", msg && !sf_log_has_card(msg, strlen(msg)) ? msg : "payment failed");
		sf_utf8_clip(reason);
		if (!sf_pay_ref_ok(oref) || order_id < 1) {
			err = order_id < 1 ? SF_ERR_NOT_FOUND : SF_ERR_INVALID;
			goto out;
		}
		e.kind = "failed";
		e.order_id = order_id;
		e.ref = e.failed_intent = oref;
		e.currency = "";
		e.reason = reason;
		err = sf_pay_apply(db, kr, &e, n, replayed);
	} else if (!strcmp(type, "charge.refunded")) {
		const char *intent = json_string_value(json_object_get(obj, "payment_intent"));
		int64_t total = int_of(json_object_get(obj, "amount_refunded"));
		char ref[SF_PAY_SESSION_MAX + 32];
		if (!sf_pay_ref_ok(oref) || !sf_pay_ref_ok(intent) || total < 1) {
			err = SF_ERR_INVALID;
			goto out;
		}
		snprintf(ref, sizeof ref, "%.100s-%" PRId64, oref, total);
		e.kind = "refund_total";
		e.ref = ref;
		e.amount = total;
		e.currency = upper;
		e.reason = "refunded at Stripe";
		e.by_intent = intent;
		err = sf_pay_apply(db, kr, &e, n, replayed);
		order_id = e.order_id;
	} else if (!strcmp(type, "charge.dispute.created") || !strcmp(type, "charge.dispute.closed")) {
		/* A card holder disputes the payment (a chargeback): storefort
		 * changes nothing, the merchant answers at Stripe, but the order
		 * says so, before anyone ships it, and the audit trail and the
		 * log tell the staff. */
		const int opened = !strcmp(type, "charge.dispute.created");
		const char *intent = json_string_value(json_object_get(obj, "payment_intent"));
		const char *why = json_string_value(json_object_get(obj, opened ? "reason" : "status"));
		int64_t amount = int_of(json_object_get(obj, "amount"));
		char reason[120];
		if (!sf_pay_ref_ok(oref) || !sf_pay_ref_ok(intent) || !word_ok(why) || amount < 0) {
			err = SF_ERR_INVALID;
			goto out;
		}
		snprintf(reason, sizeof reason, "%s at stripe: %s", opened ? "payment disputed" : "payment dispute closed",
			 why);
		e.kind = "note";
		e.action = opened ? "order.payment_disputed" : "order.payment_dispute_closed";
		e.webhook = opened ? "order.disputed" : NULL;
		e.ref = oref;
		e.amount = amount;
		e.currency = upper;
		e.reason = reason;
		e.by_intent = intent;
		err = sf_pay_apply(db, kr, &e, n, replayed);
		order_id = e.order_id;
		if (!err && !*replayed)
			sf_log(opened ? SF_LOG_WARN : SF_LOG_INFO, e.action,
			       "order %" PRId64 ": %s (%" PRId64 " %s)%s", order_id, reason, amount, upper,
			       opened ? "; answer it in the Stripe dashboard" : "");
	}
	/* other event types: acknowledged, nothing to do */
	if (!err && e.unapplied)
		sf_pay_refunder_kick(p);
out:
	if (err && err != SF_ERR_NOMEM)
		sf_pay_audit_reject(db, kr, "stripe", n, err, order_id);
	json_decref(ev);
	return err;
}
