/*
 * payment.h — paying an order through a payment provider, without ever
 * seeing a card number.
 *
 * The flow is the same for every provider:
 *   1. sf_pay_start: the shopper asks to pay a pending order; the provider
 *      gets a session (sandbox: a row here; Stripe: POST
 *      /v1/checkout/sessions) and the shopper is redirected to its URL;
 *   2. the shopper approves or declines on the provider's page (the
 *      sandbox's page has no card fields at all; Stripe's holds them);
 *   3. the provider notifies this server by a signed webhook;
 *      sf_pay_webhook_sandbox / sf_pay_webhook_stripe verify it and apply
 *      it (order.h: payment_settled / payment_failed / refund) in ONE
 *      transaction with a payment_events row, so an event id is processed
 *      exactly once (a replay answers SF_OK with *replayed = 1).
 * Notifications that are forged, expired, or for an unknown or already
 * settled order change nothing, answer an error, and write an audit event
 * "payment.webhook_rejected" (outcome "denied") in their own transaction.
 *
 * Providers:
 *   sandbox  built in (development, demos, tests; refused in production by
 *            sf_config_guard).  Its hosted page is /sandbox-pay/{session};
 *            the decision is delivered by the outgoing-webhook sender
 *            (webhook.h, subscription NULL) to this server's
 *            /api/v1/payments/sandbox/webhook, signed with the sandbox
 *            secret: Storefort-Timestamp, Storefort-Event-Id,
 *            Storefort-Signature: v1=<HMAC-SHA256(secret, ts "." body)>.
 *   stripe   Checkout Session redirect flow; webhooks verified from the
 *            Stripe-Signature header (t=…,v1=…; HMAC-SHA256 over
 *            "t.payload" with the endpoint secret; 300 s tolerance; any
 *            of several v1 entries may match).  Handled events:
 *            checkout.session.completed (paid, or unpaid when the shopper
 *            chose a delayed method: the order is then held),
 *            checkout.session.async_payment_succeeded / _failed (that
 *            delayed payment's outcome), payment_intent.payment_failed,
 *            charge.refunded, charge.dispute.created / .closed (recorded
 *            on the order); others are acknowledged and ignored.
 * Secrets live in guarded memory and are never logged.
 */
#ifndef SF_SHOP_PAYMENT_H
#define SF_SHOP_PAYMENT_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "shop/order.h"

struct sf_db;
struct sf_keyring;

enum sf_pay_provider { SF_PAY_SANDBOX, SF_PAY_STRIPE };

#define SF_PAY_TOLERANCE_S 300
#define SF_PAY_SESSION_MAX 128   /* provider session ids */
#define SF_PAY_NONE "none"       /* the payment of an order with nothing to pay */
#define SF_PAY_BODY_MAX 65536    /* webhook bodies */

/* A Stripe Checkout Session may be set to expire (expires_at) from 30
 * minutes to 24 hours after its creation; storefort makes it expire when
 * the order's reservation ends, but no sooner than 30 minutes and no later
 * than 24 hours from now, each bound moved inwards by SF_PAY_STRIPE_SKEW_S
 * for the difference between our clock and Stripe's (and the request's
 * travel time), which Stripe would otherwise refuse. */
#define SF_PAY_STRIPE_SESSION_MIN_S 1800
#define SF_PAY_STRIPE_SESSION_MAX_S 86400
#define SF_PAY_STRIPE_SKEW_S 60
/* A session that lives past the order's reservation extends it (in the
 * transaction that records the session) to the session's end plus this
 * grace: a shopper may pay in the session's last second, and Stripe's
 * checkout.session.completed webhook then still has to reach us, possibly
 * after a retry or two (our endpoint restarting, a network blip), and find
 * the order payable (sf_order_payment_settled refuses once the reservation
 * ended, and the reaper would cancel the order and give its stock back). */
#define SF_PAY_SETTLE_GRACE_S 600
/* A Checkout Session completed with a delayed payment method (konbini,
 * bank debits: payment_status "unpaid" until the money arrives, which
 * Stripe reports with checkout.session.async_payment_succeeded or
 * _failed) holds its order this long from the completion by default
 * ([payments] delayed_hold_hours): four days, since a Stripe konbini
 * voucher stays payable until 23:59 JST on the third day after the
 * purchase unless the merchant changes it. */
#define SF_PAY_DELAYED_HOLD_S (96 * 3600)

struct sf_pay_options {
	enum sf_pay_provider provider;
	const char *sandbox_secret_file; /* NULL or "": a random secret for this process */
	const char *stripe_key_file;     /* the secret API key (sk_…) */
	const char *stripe_whsec_file;   /* the webhook endpoint secret (whsec_…) */
	const char *stripe_api_base;     /* "https://api.stripe.com" */
	const char *stripe_ca_file;      /* extra trust for the API (tests), or NULL */
	const char *public_base;         /* "https://shop.example": return links */
	const char *self_url;            /* this server's base URL as the sandbox reaches it */
	int64_t delayed_hold_s;          /* how long an order paid by a delayed method is held
					  * (SF_PAY_DELAYED_HOLD_S when 0) */
};

struct sf_payments;

/* Load the provider's secrets (files: whitespace trimmed, at most 4 KiB).
 * For stripe, missing key files leave the provider "not ready"
 * (sf_pay_ready 0: the pay step answers SF_ERR_UNAVAILABLE) and say why in
 * errbuf with SF_OK.  SF_OK and *out; SF_ERR_CONFIG (a file unreadable, an
 * empty secret) with the setting in errbuf; SF_ERR_NOMEM. */
enum sf_err sf_payments_new(const struct sf_pay_options *o, struct sf_payments **out, char *errbuf,
			    size_t errlen) SF_WARN_UNUSED;
void sf_payments_free(struct sf_payments *p);
enum sf_pay_provider sf_pay_provider(const struct sf_payments *p);
/* "sandbox" / "stripe". */
const char *sf_pay_provider_name(enum sf_pay_provider pr);
/* 1 when the provider can take payments (its secrets are loaded). */
int sf_pay_ready(const struct sf_payments *p);
/* The sandbox secret (for the webhook sender that signs its
 * notifications); NULL for other providers. */
const unsigned char *sf_pay_sandbox_secret(const struct sf_payments *p, size_t *len);
/* The base URL the sandbox notifies (o->self_url), or NULL. */
const char *sf_pay_self_url(const struct sf_payments *p);

/* Step 1 for order_id as seen by v (its owner): the order must be
 * pending_payment and not expired.  Creates the provider session and sets
 * *url (heap, caller frees) to the page the shopper is redirected to.
 * The session is recorded in one transaction that, for a session with an
 * expiry (Stripe), also extends the order's reservation to that expiry
 * plus SF_PAY_SETTLE_GRACE_S (sf_order_hold_until); the sandbox's sessions
 * do not expire and leave the reservation as it is.  An order that
 * stopped being payable while the provider answered records nothing.
 * An order with nothing to pay (total 0: a 100 % coupon and free
 * shipping) is settled at once without a provider (as SF_PAY_NONE,
 * reference "free-{id}") and *url is its page, "/orders/{id}".
 * SF_OK; SF_ERR_NOT_FOUND (no such order for v), SF_ERR_ORDER_STATE (not
 * pending), SF_ERR_ORDER_EXPIRED, SF_ERR_UNAVAILABLE (provider not ready),
 * SF_ERR_AMOUNT_TOO_SMALL (below Stripe's minimum charge for the
 * currency: Stripe's amount_too_small), SF_ERR_PAYMENT_PROVIDER (Stripe
 * unreachable or refused; logged without secrets), SF_ERR_NOMEM, or a
 * database error. */
enum sf_err sf_pay_start(struct sf_payments *p, struct sf_db *db, const struct sf_keyring *kr, int64_t order_id,
			 const struct sf_order_viewer *v, char **url) SF_WARN_UNUSED;
/* sf_pay_start for an order its caller has just read, as b, with the
 * viewer's rights (sf_order_fetch, sf_order_brief): the checkout that
 * places an order and starts its payment in one request reads it once. */
enum sf_err sf_pay_start_brief(struct sf_payments *p, struct sf_db *db, const struct sf_keyring *kr, int64_t order_id,
			       const struct sf_order_brief *b, char **url) SF_WARN_UNUSED;

/* The sandbox page's data (caller owns *out): {"session","order_id",
 * "amount":{"amount","currency","formatted"},"status","is_open"}.
 * SF_OK, SF_ERR_NOT_FOUND (unknown or malformed session id), or a
 * database error. */
enum sf_err sf_pay_sandbox_view(struct sf_db *db, const char *session, json_t **out) SF_WARN_UNUSED;

/* The shopper's decision on the sandbox page: the session (open) becomes
 * approved or declined and the signed notification is queued for the
 * sender, to url_base + "/api/v1/payments/sandbox/webhook"; *order_id is
 * the session's order.  SF_OK; SF_ERR_NOT_FOUND; SF_ERR_PAYMENT_SESSION
 * (decided already); SF_ERR_UNAVAILABLE (not the sandbox provider); or a
 * database error. */
enum sf_err sf_pay_sandbox_decide(struct sf_payments *p, struct sf_db *db, const char *session, int approve,
				  int64_t *order_id) SF_WARN_UNUSED;

/* A provider's notification as received. */
struct sf_pay_notice {
	const char *body;        /* raw body (NUL-terminated) */
	size_t len;
	const char *signature;   /* Stripe-Signature / Storefort-Signature */
	const char *timestamp;   /* Storefort-Timestamp (sandbox) */
	const char *event_id;    /* Storefort-Event-Id (sandbox) */
	const char *ip, *request_id;
};

/* Verify and apply a sandbox / Stripe notification (see above).  SF_OK
 * (applied, ignored event type, or *replayed = 1); SF_ERR_SIGNATURE,
 * SF_ERR_SIGNATURE_EXPIRED, SF_ERR_BAD_JSON / SF_ERR_INVALID (malformed
 * event), SF_ERR_CARD_DATA, SF_ERR_NOT_FOUND (unknown order or session),
 * SF_ERR_ORDER_STATE / SF_ERR_ORDER_EXPIRED / SF_ERR_AMOUNT_MISMATCH,
 * SF_ERR_UNAVAILABLE (provider not configured), or a database error. */
enum sf_err sf_pay_webhook_sandbox(struct sf_payments *p, struct sf_db *db, const struct sf_keyring *kr,
				   const struct sf_pay_notice *n, int *replayed) SF_WARN_UNUSED;
enum sf_err sf_pay_webhook_stripe(struct sf_payments *p, struct sf_db *db, const struct sf_keyring *kr,
				  const struct sf_pay_notice *n, int *replayed) SF_WARN_UNUSED;

/* Pure: verify a Stripe-Signature header over payload with secret at now.
 * SF_OK, SF_ERR_SIGNATURE (missing/malformed header, no matching v1),
 * SF_ERR_SIGNATURE_EXPIRED (|now - t| > tolerance_s). */
enum sf_err sf_pay_stripe_verify(const char *header, const void *payload, size_t n, const void *secret,
				 size_t secret_len, int64_t now, int64_t tolerance_s) SF_WARN_UNUSED;

/* ==== Provider internals (payment.c, payment_sandbox.c, payment_stripe.c) ==== */

struct sf_pay_order {
	int64_t id, total;
	int64_t reserved_until; /* unix s: the end of the order's reservation */
	char currency[4];
};

/* One verified provider event for sf_pay_apply. */
struct sf_pay_event {
	const char *provider, *event_id, *type;
	const char *kind;     /* "settled", "failed", "pending" (a delayed method: the
			       * order is held hold_s longer), "refund_total" or "note"
			       * (recorded on the order with reason as action) */
	const char *action;   /* "note": the audit action */
	const char *webhook;  /* "note": the outgoing event, or NULL */
	int64_t order_id;     /* the order it is for (set by sf_pay_apply with by_intent) */
	const char *ref;      /* the payment's reference recorded with the order */
	int64_t amount;       /* minor units: paid, or refunded in all (refund_total) */
	const char *currency; /* the amount's */
	const char *reason;   /* failure or refund reason (recorded), or NULL */
	int64_t hold_s;       /* "pending": seconds from now */
	const char *failed_intent; /* "failed": the payment intent that failed, or NULL.  When
				    * a session of order_id recorded it at its completion (a
				    * delayed method), the session's own failure event reports
				    * it: this one is acknowledged and audited as ignored, so
				    * that the failure is recorded once */
	/* Checked in the same transaction, before anything is written: */
	const char *session;   /* the provider's session: must exist and be order_id's */
	const char *intent;    /* with session: recorded on it (Stripe's payment intent),
				* if the session is still open */
	const char *by_intent; /* instead of order_id: the order of the session holding it */
	int unapplied;         /* out: a settlement the order could not take, kept to be
				* refunded; or a refund of such a payment */
};

/* Apply one verified event in one transaction: the session checks above
 * (SF_ERR_NOT_FOUND: no such session, or another order's), then insert
 * (provider, event_id) into payment_events, then kind through order.h with
 * ref and amount.  *replayed = 1 (SF_OK) when the event id was processed
 * before.  Rejections are audited by the caller (ev->order_id names the
 * order once known). */
enum sf_err sf_pay_apply(struct sf_db *db, const struct sf_keyring *kr, struct sf_pay_event *ev,
			 const struct sf_pay_notice *n, int *replayed) SF_WARN_UNUSED;
/* Audit a rejected notification (own transaction; best effort). */
void sf_pay_audit_reject(struct sf_db *db, const struct sf_keyring *kr, const char *provider,
			 const struct sf_pay_notice *n, enum sf_err why, int64_t order_id);
/*
 * ==== Payments that came too late ====
 * A verified settlement that its order can no longer take — the order was
 * cancelled or its reservation had ended (a webhook delayed past the
 * grace, our endpoint down), another attempt had already paid it (the
 * shopper paid in two tabs), or the amount or currency is not the order's —
 * is not refused: the provider has the shopper's money, and refusing would
 * only make it send the event again for days.  sf_pay_apply keeps the
 * event, leaves the order as it is, records the payment in
 * unapplied_payments (status refund_due, reason: the error code), audits
 * "payment.unapplied" and sets ev->unapplied; the notification is
 * answered 200.  The refunder gives the money back through the provider:
 * Stripe: POST /v1/refunds for the payment intent, with one idempotency
 * key per payment; the sandbox moves no money, so its payments are
 * recorded refunded at once.  A failed attempt is retried with backoff
 * (1 minute doubling, at most 6 hours); after SF_PAY_REFUND_TRIES the
 * payment stays refund_failed for staff, logged as an error.  Stripe's
 * charge.refunded for such a payment intent marks it refunded and never
 * touches the order.  Each outcome is audited ("payment.unapplied_refunded",
 * "payment.unapplied_refund_failed").
 */
#define SF_PAY_REFUND_TRIES 10
/* Refund the payments due now (at most 32 per call); *refunded (may be
 * NULL) counts those refunded.  SF_OK or a database error. */
enum sf_err sf_pay_refund_due(struct sf_payments *p, struct sf_db *db, const struct sf_keyring *kr,
			      int *refunded) SF_WARN_UNUSED;
/* A thread running sf_pay_refund_due every interval_s seconds and when
 * kicked (sf_pay_webhook_* kick it after an event that set ev->unapplied); stopped
 * by sf_payments_free.  SF_OK, SF_ERR_NOMEM or SF_ERR_INTERNAL. */
enum sf_err sf_pay_refunder_start(struct sf_payments *p, struct sf_db *db, const struct sf_keyring *kr,
				  int interval_s) SF_WARN_UNUSED;
/* Run the refunder now (NULL, or no refunder: nothing). */
void sf_pay_refunder_kick(struct sf_payments *p);
/*
 * ==== Refunds given by staff ====
 * Staff's refund of an order goes to the provider that took its payment;
 * the order is refunded (sf_order_refund: state, history, audit, webhook,
 * the shopper's refund mail) only when the provider has returned the
 * money, in the transaction that records its answer.
 * sf_pay_refund_request, in the caller's write transaction, checks the
 * order (a state that can be refunded, amount <= paid - refunded - the
 * refunds still due) and its payment (sandbox, or Stripe with a payment
 * intent; any other: SF_ERR_REFUND_PROVIDER, for staff to refund at the
 * provider and record it), writes an order_refunds row (refund_due) and
 * audits "order.refund_requested".  request_key makes a form sent twice
 * one refund: the same key gives the same row (*id), changing nothing.
 * sf_pay_refund_send tries that row at once, outside any transaction;
 * what fails is retried by the refunder like an unapplied payment (Stripe
 * idempotency key storefort-refund-<id>).  A refund the provider refuses
 * for good (or Stripe's charge_already_refunded: the money went back some
 * other way, whose charge.refunded records it) stays refund_failed, order
 * unchanged, audited "order.refund_failed".  Stripe's charge.refunded
 * reports the charge's refunded total: the refunds still due count as
 * recorded, so the refund staff asked for is never counted twice.
 */
enum sf_err sf_pay_refund_request(struct sf_db_conn *c, const struct sf_keyring *kr, int64_t order_id,
				  const char *request_key, int64_t amount, const char *reason,
				  const struct sf_shop_actor *actor, int64_t *id) SF_WARN_UNUSED;
/* Send refund id now if it is still due (p may be NULL: Stripe refunds
 * then fail and are retried).  SF_OK (whatever the provider answered: the
 * row says) or a database error. */
enum sf_err sf_pay_refund_send(struct sf_payments *p, struct sf_db *db, const struct sf_keyring *kr,
			       int64_t id) SF_WARN_UNUSED;
/* An order's unapplied payments and staff refunds, oldest first, for
 * staff (one read transaction): *unapplied = [{provider, amount
 * (sf_money_json), reason, status, created_at, refund_ref, error}],
 * *refunds = [{provider, amount, reason, status, created_at, refund_ref,
 * error, by}], reason, refund_ref and error null when there is none (never
 * left out: a template would take the page's own).  SF_OK and both (the
 * caller frees), or an error. */
enum sf_err sf_pay_order_refunds(struct sf_db *db, int64_t order_id, json_t **unapplied,
				 json_t **refunds) SF_WARN_UNUSED;

/* Is s a well-formed provider reference (1..SF_PAY_SESSION_MAX of
 * [A-Za-z0-9_-])? */
int sf_pay_ref_ok(const char *s);

/* Stripe's half of sf_pay_start and of the webhook: create the session
 * (heap *url and *ref) for o, expiring at *expires_at (unix s,
 * sf_pay_stripe_expires_at; set before the call is made). */
enum sf_err sf_pay_stripe_session(struct sf_payments *p, const struct sf_pay_order *o, char **url, char **ref,
				  int64_t *expires_at) SF_WARN_UNUSED;
/* Stripe's refund of amount of order_id's payment intent, for row id of
 * kind "unapplied" (unapplied_payments) or "refund" (order_refunds), with
 * the idempotency key storefort-<kind>-<id> on every attempt: SF_OK and
 * the refund's id in refund ("already-refunded" when Stripe says the
 * charge was), or an error with a short reason in why (no secret, no
 * personal data). */
enum sf_err sf_pay_stripe_refund(struct sf_payments *p, const char *kind, int64_t id, int64_t order_id, const char *intent,
				 int64_t amount, char *refund, size_t refund_len, char *why, size_t why_len) SF_WARN_UNUSED;
/* Pure: the expires_at of a Checkout Session created at now for an order
 * reserved until reserved_until: reserved_until - SF_PAY_SETTLE_GRACE_S
 * (so that a long enough reservation already covers the completion
 * webhook's grace and need not move), but at least
 * now + SF_PAY_STRIPE_SESSION_MIN_S + SF_PAY_STRIPE_SKEW_S and at most
 * now + SF_PAY_STRIPE_SESSION_MAX_S - SF_PAY_STRIPE_SKEW_S. */
int64_t sf_pay_stripe_expires_at(int64_t now, int64_t reserved_until);
/* The secrets and settings (payment.c owns them). */
struct sf_pay_secrets {
	const char *stripe_key;   /* NUL-terminated, guarded */
	const unsigned char *whsec;
	size_t whsec_len;
	const char *api_base, *ca_file, *public_base;
	int64_t delayed_hold_s;
};
void sf_pay_secrets(const struct sf_payments *p, struct sf_pay_secrets *s);

#endif
