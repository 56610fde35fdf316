/*
 * order.h — orders and their life cycle.
 *
 * States and the only transitions accepted (sf_order_transition_allowed):
 *   pending_payment    -> paid, cancelled
 *   paid               -> fulfilled, refunded, partially_refunded
 *   fulfilled          -> shipped, refunded, partially_refunded
 *   shipped            -> delivered, refunded, partially_refunded
 *   delivered          -> refunded, partially_refunded
 *   partially_refunded -> partially_refunded, refunded, and on from the stage
 *                         it was refunded in: fulfilled, shipped, delivered
 *                         (sf_order_move_allowed)
 *   cancelled, refunded: final
 * An order is created pending_payment with its stock reserved (checkout.h).
 * Cancelling it (by hand, or when the reservation expires) gives the stock
 * and its coupon use back, exactly once.  Refunds do not restock (the goods
 * may have left); a paid order is refunded, never cancelled.
 *
 * Every change writes an order_events row (who, when, why) and an audit
 * event in the same transaction.  Functions taking a struct sf_db_conn run
 * inside the caller's transaction (sf_db_txn) and return SF_ERR_DB_CONFLICT
 * for "retry": map with sf_db_status_from_err.  Nothing is written when they
 * fail, provided the caller rolls back on error.
 *
 * Payments (for the provider code): sf_order_payment_settled,
 * sf_order_payment_failed and sf_order_refund are idempotent per
 * (provider, provider_ref): a notification delivered twice changes nothing
 * the second time and returns SF_OK.
 */
#ifndef SF_SHOP_ORDER_H
#define SF_SHOP_ORDER_H

#include <jansson.h>
#include <pthread.h>
#include <stdint.h>

#include "core/err.h"
#include "shop/cart.h"
#include "shop/commerce.h"

struct sf_db;
struct sf_db_conn;
struct sf_keyring;

enum sf_order_status {
	SF_ORDER_PENDING_PAYMENT,
	SF_ORDER_PAID,
	SF_ORDER_FULFILLED,
	SF_ORDER_SHIPPED,
	SF_ORDER_DELIVERED,
	SF_ORDER_CANCELLED,
	SF_ORDER_REFUNDED,
	SF_ORDER_PARTIALLY_REFUNDED,
	SF_ORDER__COUNT
};

#define SF_ORDER_REF_MAX 128    /* provider, provider_ref, carrier, tracking */
#define SF_ORDER_REASON_MAX 500

/* "pending_payment", ...; "unknown" for values out of range. */
const char *sf_order_status_name(enum sf_order_status s);
/* Parse a name.  0 and *out, or -1. */
int sf_order_status_parse(const char *name, enum sf_order_status *out);
/* 1 when from -> to is in the table above, else 0. */
int sf_order_transition_allowed(enum sf_order_status from, enum sf_order_status to);
/* 1 when an order in status may move to to; stage: for a partially refunded
 * order, the status it was partially refunded in (paid, fulfilled, shipped,
 * delivered: the order JSON's "stage"), since a partial refund does not end
 * the delivery of the rest; else unused. */
int sf_order_move_allowed(enum sf_order_status status, enum sf_order_status stage, enum sf_order_status to);
/* 1 when reason (may be NULL) is one the functions below accept: at most
 * SF_ORDER_REASON_MAX bytes of printable UTF-8 holding no card number. */
int sf_order_reason_ok(const char *reason);

/* Record that order_id went from (a status name, NULL at creation) to to:
 * an order_events row and an audit event (action, e.g. "order.create";
 * object order/<id>; detail {"from","to","reason"} plus the members of
 * extra when given).  For the modules of this layer; SF_OK or an error. */
enum sf_err sf_order_record(struct sf_db_conn *c, const struct sf_keyring *kr, int64_t order_id, const char *from,
			    enum sf_order_status to, const struct sf_shop_actor *actor, const char *reason,
			    const char *action, json_t *extra) SF_WARN_UNUSED;

/* Move order_id to cancelled, fulfilled or delivered when the table allows
 * it (paid, shipped and the refund states carry data: use the functions
 * below).  Cancelling returns the reserved stock and the coupon use.
 * reason: free text (<= SF_ORDER_REASON_MAX, may be NULL).  SF_OK,
 * SF_ERR_NOT_FOUND, SF_ERR_ORDER_STATE (not allowed from the current
 * state), SF_ERR_INVALID (a target that needs data, or a bad reason), or a
 * database error. */
enum sf_err sf_order_transition(struct sf_db_conn *c, const struct sf_keyring *kr, int64_t order_id,
				enum sf_order_status to, const struct sf_shop_actor *actor,
				const char *reason) SF_WARN_UNUSED;

/* A provider reports that order_id was paid: amount (minor units) in
 * currency must equal the order's total and currency.  pending_payment ->
 * paid, recording provider and provider_ref.  SF_OK (also when this
 * provider_ref was already applied to this order), SF_ERR_INVALID (empty or
 * over-long provider/ref), SF_ERR_NOT_FOUND, SF_ERR_AMOUNT_MISMATCH,
 * SF_ERR_ORDER_EXPIRED (its reservation ran out), SF_ERR_ORDER_STATE
 * (already paid by another reference, cancelled, or later), or a database
 * error. */
enum sf_err sf_order_payment_settled(struct sf_db_conn *c, const struct sf_keyring *kr, int64_t order_id,
				     const char *provider, const char *provider_ref, int64_t amount,
				     const char *currency, const struct sf_shop_actor *actor) SF_WARN_UNUSED;

/* The longest an order is held from its creation (sf_order_hold_until). */
#define SF_ORDER_HOLD_MAX_S (24 * 3600)

/* A payment session has been opened for order_id that the provider may
 * still report as paid until until (its expiry plus a grace for the
 * notification): the order's reservation (stock and coupon held) is
 * extended to until, never shortened.  Only a pending_payment order whose
 * reservation has not run out yet is extended; an order past it stays as
 * it is, for the reaper.  Nor is a reservation extended past
 * SF_ORDER_HOLD_MAX_S after the order's creation: payment after payment
 * started on it could otherwise keep its stock forever.  No order event is recorded: the status does not
 * change, and the payment_sessions row written in the same transaction
 * says why the reservation moved.  SF_OK, SF_ERR_NOT_FOUND,
 * SF_ERR_ORDER_STATE (not pending_payment), SF_ERR_ORDER_EXPIRED (the
 * reservation ran out, or until is past the longest hold: nothing
 * changed), or a database error. */
enum sf_err sf_order_hold_until(struct sf_db_conn *c, int64_t order_id, int64_t until) SF_WARN_UNUSED;

/* A provider reports a failed or declined payment: recorded (event +
 * audit); the order stays pending_payment so the shopper may try again
 * until the reservation expires.  SF_OK (also on a repeat), SF_ERR_INVALID,
 * SF_ERR_NOT_FOUND, SF_ERR_ORDER_STATE (not pending_payment), or a
 * database error. */
enum sf_err sf_order_payment_failed(struct sf_db_conn *c, const struct sf_keyring *kr, int64_t order_id,
				    const char *provider, const char *provider_ref, const char *reason,
				    const struct sf_shop_actor *actor) SF_WARN_UNUSED;

/* A provider reports that the shopper chose a delayed payment method
 * (konbini, a bank debit): the money comes later, or never.  The order's
 * reservation is extended to hold_s from now (never shortened), but not
 * past hold_s after the longest a payment can start on it
 * (SF_ORDER_HOLD_MAX_S from its creation), and recorded (event + audit,
 * "order.payment_pending"); the order stays pending_payment.  SF_OK,
 * SF_ERR_INVALID, SF_ERR_NOT_FOUND, SF_ERR_ORDER_STATE (not
 * pending_payment, or the failure of this provider_ref was recorded
 * already: its completion came late), SF_ERR_ORDER_EXPIRED (its
 * reservation ran out), both with nothing changed, or a database error. */
#define SF_ORDER_REASON_DELAYED "payment pending at the provider (delayed method)"
/* The reason a provider's failure of such a payment is recorded with
 * (sf_order_payment_failed): an order's payment is on its way
 * ("payment_on_its_way", sf_order_get) while it has more holds than
 * failures of them. */
#define SF_ORDER_REASON_DELAYED_FAILED "the delayed payment did not arrive"
enum sf_err sf_order_payment_pending(struct sf_db_conn *c, const struct sf_keyring *kr, int64_t order_id,
				     const char *provider, const char *provider_ref, int64_t hold_s,
				     const struct sf_shop_actor *actor) SF_WARN_UNUSED;

/* A provider reports something about order_id's payment that changes
 * nothing in the order by itself (a dispute opened or closed: the money
 * may go back to the card holder, and the merchant answers at the
 * provider): an order event with the status unchanged and reason, and an
 * audit event action with the provider, ref and amount; with webhook, that
 * outgoing event too (sf_webhook_order_event, total = amount).  SF_OK,
 * SF_ERR_INVALID (provider, ref, reason or action unfit), SF_ERR_NOT_FOUND,
 * or a database error. */
enum sf_err sf_order_payment_note(struct sf_db_conn *c, const struct sf_keyring *kr, int64_t order_id,
				  const char *provider, const char *ref, int64_t amount, const char *reason,
				  const char *action, const char *webhook,
				  const struct sf_shop_actor *actor) SF_WARN_UNUSED;

/* Refund amount (1 .. paid - already refunded) of order_id: the order
 * becomes refunded when everything paid has been refunded, else
 * partially_refunded; a refund e-mail is enqueued.  SF_OK (also when this
 * provider_ref was already applied), SF_ERR_INVALID, SF_ERR_NOT_FOUND,
 * SF_ERR_AMOUNT_MISMATCH (amount out of range), SF_ERR_ORDER_STATE (not
 * paid, or cancelled/refunded), or a database error. */
enum sf_err sf_order_refund(struct sf_db_conn *c, const struct sf_keyring *kr, int64_t order_id, const char *provider,
			    const char *provider_ref, int64_t amount, const char *reason,
			    const struct sf_shop_actor *actor) SF_WARN_UNUSED;

/* Ship a fulfilled order: fulfilled -> shipped with a shipment (carrier and
 * tracking number: 1..SF_ORDER_REF_MAX printable characters); the
 * "shipped" e-mail carries the tracking number.  SF_OK, SF_ERR_INVALID,
 * SF_ERR_NOT_FOUND, SF_ERR_ORDER_STATE, or a database error. */
enum sf_err sf_order_ship(struct sf_db_conn *c, const struct sf_keyring *kr, int64_t order_id, const char *carrier,
			  const char *tracking, const struct sf_shop_actor *actor) SF_WARN_UNUSED;

/* Who looks at an order: its owner (customer or guest cart token), or a
 * privileged reader (staff, the system, a payment provider) who sees any. */
struct sf_order_viewer {
	const struct sf_cart_owner *owner; /* NULL with privileged */
	int privileged;
	struct sf_shop_actor actor;        /* for the audit event */
};

/* The order as JSON (caller owns *out):
 *   {"id","status","currency","prices_include_tax","created_at",
 *    "reserved_until" (unix s), "is_pending","totals":{"subtotal",
 *    "discount","shipping","tax","total","paid","refunded"} (prices),
 *    "coupon","shipping":{"code","name"},"lines":[{"sku","name","quantity",
 *    "unit_price","line_total","tax_class","tax_rate_bp"}],
 *    "shipments":[{"carrier","tracking","created_at"}],
 *    "history":[{"from","to","by","reason","at"}]}
 * plus, with personal, "email" and "address":{name,street,city,postcode,
 * country,phone?} unsealed — which appends an "order.read" audit event, so
 * c must then be in a write transaction.  An order the viewer may not see
 * answers SF_ERR_NOT_FOUND, exactly like a missing one.  SF_OK,
 * SF_ERR_NOT_FOUND, SF_ERR_TAMPERED/SF_ERR_KEY (sealed data), SF_ERR_NOMEM,
 * or a database error. */
enum sf_err sf_order_get(struct sf_db_conn *c, const struct sf_keyring *kr, int64_t order_id,
			 const struct sf_order_viewer *v, int personal, json_t **out) SF_WARN_UNUSED;

/* A pending order whose reservation ran out (expired on access). */
int sf_order_reservation_over(enum sf_order_status status, int64_t reserved_until);

/* What the pay step needs of an order, without its lines, events and JSON. */
struct sf_order_brief {
	enum sf_order_status status;
	int64_t total, reserved_until;
	char currency[4];
};
/* The brief of an order the viewer may see, in its own read transaction,
 * after expiring the order if its reservation ran out (as sf_order_fetch).
 * SF_ERR_NOT_FOUND for an unknown order or one the viewer may not see. */
enum sf_err sf_order_brief(struct sf_db *db, const struct sf_keyring *kr, int64_t order_id,
			   const struct sf_order_viewer *v, struct sf_order_brief *out) SF_WARN_UNUSED;

/* The brief of an order as sf_order_get or sf_order_fetch gave it (no
 * database access): SF_ERR_INTERNAL when o lacks one of its members. */
enum sf_err sf_order_brief_of(const json_t *o, struct sf_order_brief *out) SF_WARN_UNUSED;

/* sf_order_get in its own transaction, after expiring the order if its
 * reservation ran out (the expiry check on access). */
enum sf_err sf_order_fetch(struct sf_db *db, const struct sf_keyring *kr, int64_t order_id,
			   const struct sf_order_viewer *v, int personal, json_t **out) SF_WARN_UNUSED;

/* A customer's orders, newest first: {"items":[{"id","status","total",
 * "created_at","items"}],"has_items"}.  limit 1..100, offset >= 0. */
enum sf_err sf_order_list(struct sf_db *db, int64_t customer_id, int64_t limit, int64_t offset,
			  json_t **out) SF_WARN_UNUSED;

/* Cancel every pending_payment order whose reservation ended (now >=
 * reserved_until), each in its own transaction: stock and coupon use given
 * back once (a guarded status change makes a second run a no-op), event
 * and audit ("order.expire", actor system).  *expired (may be NULL) counts
 * the orders this call expired.  SF_OK or a database error. */
enum sf_err sf_order_expire_due(struct sf_db *db, const struct sf_keyring *kr, int *expired) SF_WARN_UNUSED;

/* The reaper: a thread that runs sf_order_expire_due every interval_s
 * seconds until stopped.  SF_OK and *out, or SF_ERR_NOMEM / SF_ERR_INTERNAL
 * (thread creation).  stop: wakes it, joins it, frees; NULL accepted. */
struct sf_order_reaper;
enum sf_err sf_order_reaper_start(struct sf_db *db, const struct sf_keyring *kr, int interval_s,
				  struct sf_order_reaper **out) SF_WARN_UNUSED;
void sf_order_reaper_stop(struct sf_order_reaper *r);

#endif
