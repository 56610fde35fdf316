/*
 * webhook.h — outgoing webhooks: subscriptions, the delivery queue and its
 * sender, and the signature scheme (docs/WEBHOOKS.md has a receiver).
 *
 * Events are queued with sf_webhook_emit inside the transaction of the
 * change they report (an order created, paid, shipped, refunded, cancelled;
 * products updated by an import), one delivery row per active subscription
 * that wants the event, so an event exists exactly when its change
 * committed.  A sender thread posts due deliveries (several at once, short
 * timeouts) and retries failures with exponential back-off: nothing a
 * receiver does can slow a shopper's request.
 *
 * Every delivery carries
 *   Storefort-Timestamp: <unix seconds>
 *   Storefort-Event-Id:  <event id>
 *   Storefort-Signature: v1=<hex HMAC-SHA256(secret, timestamp "." body)>
 * Receivers recompute the HMAC, reject stale timestamps and drop event ids
 * they have seen.  The same scheme signs the sandbox payment provider's
 * notification to this server (payment.h), with the sandbox secret.
 */
#ifndef SF_SHOP_WEBHOOK_H
#define SF_SHOP_WEBHOOK_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "shop/commerce.h"

struct sf_db;
struct sf_db_conn;
struct sf_keyring;

#define SF_WEBHOOK_SECRET_LEN 58    /* "sfwh_" + 53 base32 characters */
#define SF_WEBHOOK_URL_MAX 2048
#define SF_WEBHOOK_EVENT_ID_LEN 30  /* "evt_" + 26 base32 characters: 10 of time, 16 random */
#define SF_WEBHOOK_TOLERANCE_S 300  /* what receivers should accept */

/* The event names storefort emits, comma-separated. */
#define SF_WEBHOOK_EVENTS "order.created,order.paid,order.shipped,order.refunded,order.cancelled,order.disputed,product.updated"

/* 1 when name is one of SF_WEBHOOK_EVENTS, else 0. */
int sf_webhook_event_known(const char *name);

/* A new event id "evt_…" (NUL-terminated, SF_WEBHOOK_EVENT_ID_LEN chars);
 * ids sort by the millisecond they were made in (sf_rand_base32_timed). */
void sf_webhook_event_id(char out[SF_WEBHOOK_EVENT_ID_LEN + 1]);

/* Queue event type (a known name) with data (borrowed; no personal data)
 * for every active subscription that wants it, inside the caller's
 * transaction on c.  The body is {"id","type","created","data"}.  SF_OK
 * (also when nobody subscribes), SF_ERR_INVALID (unknown type),
 * SF_ERR_NOMEM, or a database error (SF_ERR_DB_CONFLICT: retry). */
enum sf_err sf_webhook_emit(struct sf_db_conn *c, const char *type, json_t *data) SF_WARN_UNUSED;

/* sf_webhook_emit of an order event: data {"order_id","status","total"
 * (minor units),"currency"}. */
enum sf_err sf_webhook_order_event(struct sf_db_conn *c, const char *type, int64_t order_id, const char *status,
				   int64_t total, const char *currency) SF_WARN_UNUSED;

/* Queue one delivery that is not a subscription's (subscription_id NULL):
 * the sandbox provider's notification to url, signed by the sender with
 * its internal secret.  body is sent as is.  SF_OK or a database error. */
enum sf_err sf_webhook_enqueue_internal(struct sf_db_conn *c, const char *url, const char *event_id,
					const char *type, const char *body) SF_WARN_UNUSED;

/* ==== Subscriptions (the CLI: storefort webhooks) ==== */

/* Subscribe url (absolute http:// or https://, <= SF_WEBHOOK_URL_MAX,
 * printable ASCII without spaces, no credentials) to events (comma-separated known names, at
 * least one; "*" means all).  A new secret is made, sealed
 * (webhook_subscriptions/secret/<id>) and copied once to secret_out.  An
 * audit event "webhook.subscribe" (actor) is written in the same
 * transaction.  SF_OK and *id; SF_ERR_WEBHOOK_URL, SF_ERR_WEBHOOK_EVENT,
 * SF_ERR_CARD_DATA (a card number in the URL), a crypto or database
 * error. */
enum sf_err sf_webhook_add(struct sf_db *db, const struct sf_keyring *kr, const char *url, const char *events,
			   const struct sf_shop_actor *actor, int64_t *id,
			   char secret_out[SF_WEBHOOK_SECRET_LEN + 1]) SF_WARN_UNUSED;

/* Every subscription as JSON (caller owns *out): [{"id","url","events",
 * "active","created_at","pending","failed"}].  Never the secret. */
enum sf_err sf_webhook_list(struct sf_db *db, json_t **out) SF_WARN_UNUSED;

/* Remove subscription id and its pending deliveries; audit
 * "webhook.unsubscribe".  SF_OK, SF_ERR_NOT_FOUND, or a database error. */
enum sf_err sf_webhook_remove(struct sf_db *db, const struct sf_keyring *kr, int64_t id,
			      const struct sf_shop_actor *actor) SF_WARN_UNUSED;

/* ==== Signatures ==== */

/* out = hex HMAC-SHA256(secret, ts "." body) (64 chars + NUL). */
void sf_webhook_sign(const void *secret, size_t secret_len, const char *ts, const void *body, size_t body_len,
		     char out[65]);

/* Check sig ("v1=<hex>", several comma-separated v1 entries allowed)
 * against ts and body: ts must be decimal unix seconds within tolerance_s
 * of now; the compare is constant-time.  SF_OK, SF_ERR_SIGNATURE (missing,
 * malformed or wrong), SF_ERR_SIGNATURE_EXPIRED. */
enum sf_err sf_webhook_verify(const void *secret, size_t secret_len, const char *ts, const char *sig,
			      const void *body, size_t body_len, int64_t now, int64_t tolerance_s) SF_WARN_UNUSED;

/* ==== The sender ==== */

struct sf_webhook_sender_opts {
	int timeout_s;                    /* per delivery, connect + answer (1..30) */
	int max_attempts;                 /* then the delivery is marked failed */
	const void *internal_secret;      /* signs subscription_id NULL deliveries (copied) */
	size_t internal_secret_len;
	const char *internal_ca_file;     /* trust for those (the server's own certificate), or NULL */
	const char *internal_resolve;     /* a CURLOPT_RESOLVE entry "host:port:addr", or NULL */
	int allow_private;                /* subscriptions may reach private, loopback and link-local
	                                     addresses (else refused at connect, after DNS) */
};

struct sf_webhook_sender;

/* Make the sender (no thread): for tests driving sf_webhook_sender_run_once.
 * db and kr must outlive it.  SF_OK and *out, SF_ERR_NOMEM. */
enum sf_err sf_webhook_sender_new(struct sf_db *db, const struct sf_keyring *kr,
				  const struct sf_webhook_sender_opts *o, struct sf_webhook_sender **out) SF_WARN_UNUSED;
/* Make it and start its thread (wakes every second, or on a kick). */
enum sf_err sf_webhook_sender_start(struct sf_db *db, const struct sf_keyring *kr,
				    const struct sf_webhook_sender_opts *o, struct sf_webhook_sender **out) SF_WARN_UNUSED;
/* Deliver what is due at now (at most 64, concurrently).  Returns how many
 * were delivered (2xx); failures are rescheduled or marked failed on their
 * rows, with a "webhook.retry" / "webhook.failed" log line. */
int sf_webhook_sender_run_once(struct sf_webhook_sender *s, int64_t now);
/* Wake the thread now.  NULL accepted. */
void sf_webhook_kick(struct sf_webhook_sender *s);
/* Stop the thread and free.  NULL accepted. */
void sf_webhook_sender_stop(struct sf_webhook_sender *s);
/* Seconds before attempt n+1 after n failures: 2^n, capped at 1 hour. */
int64_t sf_webhook_backoff(int attempts);

/* Housekeeping: delete at most limit deliveries, delivered or failed, made
 * more than keep_days days before now (pending ones stay); *n = how many. */
enum sf_err sf_webhook_prune(struct sf_db *db, int64_t now, int keep_days, int limit, int64_t *n) SF_WARN_UNUSED;

#endif
