/* test_order.c — the transition table (exhaustively), transitions with
 * their side effects, payments bookkeeping, refunds, shipments, who may
 * see an order, mails, and reservation expiry returning stock once. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "commerce_fx.h"
#include "db/db.h"

/* ==== The table ==== */

static void t_table_exhaustive(void **state)
{
	(void)state;
	/* written out independently of order.c: from -> allowed targets */
	static const char *const expect[SF_ORDER__COUNT] = {
		[SF_ORDER_PENDING_PAYMENT] = "paid cancelled",
		[SF_ORDER_PAID] = "fulfilled refunded partially_refunded",
		[SF_ORDER_FULFILLED] = "shipped refunded partially_refunded",
		[SF_ORDER_SHIPPED] = "delivered refunded partially_refunded",
		[SF_ORDER_DELIVERED] = "refunded partially_refunded",
		[SF_ORDER_CANCELLED] = "",
		[SF_ORDER_REFUNDED] = "",
		[SF_ORDER_PARTIALLY_REFUNDED] = "partially_refunded refunded",
	};
	int allowed = 0;
	for (int from = 0; from < SF_ORDER__COUNT; from++) {
		for (int to = 0; to < SF_ORDER__COUNT; to++) {
			char word[40];
			snprintf(word, sizeof word, " %s ", sf_order_status_name((enum sf_order_status)to));
			char list[128];
			snprintf(list, sizeof list, " %s ", expect[from]);
			int want = strstr(list, word) != NULL;
			if (sf_order_transition_allowed((enum sf_order_status)from, (enum sf_order_status)to) != want)
				fail_msg("%s -> %s: expected %d", sf_order_status_name((enum sf_order_status)from),
					 sf_order_status_name((enum sf_order_status)to), want);
			allowed += want;
		}
	}
	assert_int_equal(allowed, 15);
	/* out of range */
	assert_int_equal(sf_order_transition_allowed(SF_ORDER__COUNT, SF_ORDER_PAID), 0);
	assert_int_equal(sf_order_transition_allowed(SF_ORDER_PAID, (enum sf_order_status)-1), 0);
	/* names round-trip */
	for (int s = 0; s < SF_ORDER__COUNT; s++) {
		enum sf_order_status back;
		assert_int_equal(sf_order_status_parse(sf_order_status_name((enum sf_order_status)s), &back), 0);
		assert_int_equal(back, s);
	}
	enum sf_order_status x;
	assert_int_equal(sf_order_status_parse("lost", &x), -1);
	assert_int_equal(sf_order_status_parse(NULL, &x), -1);
}

/* ==== Helpers running domain calls in a transaction ==== */

enum op { OP_SETTLE, OP_FAIL, OP_PENDING, OP_REFUND, OP_SHIP, OP_MOVE };

struct op_ctx {
	struct shop_fx *f;
	enum op op;
	int64_t id, amount;
	const char *ref, *currency, *a, *b;
	enum sf_order_status to;
	enum sf_err err;
};

static enum sf_db_status op_txn(struct sf_db_conn *c, void *vctx)
{
	struct op_ctx *x = vctx;
	struct sf_shop_actor staff = {.type = "staff", .id = "7"};
	switch (x->op) {
	case OP_SETTLE:
		x->err = sf_order_payment_settled(c, x->f->kr, x->id, "sandbox", x->ref, x->amount, x->currency, NULL);
		break;
	case OP_FAIL:
		x->err = sf_order_payment_failed(c, x->f->kr, x->id, x->a ? x->a : "sandbox", x->ref, "declined", NULL);
		break;
	case OP_PENDING:
		x->err = sf_order_payment_pending(c, x->f->kr, x->id, "stripe", x->ref, x->amount, NULL);
		break;
	case OP_REFUND:
		x->err = sf_order_refund(c, x->f->kr, x->id, "sandbox", x->ref, x->amount, "customer asked", &staff);
		break;
	case OP_SHIP:
		x->err = sf_order_ship(c, x->f->kr, x->id, x->a, x->b, &staff);
		break;
	case OP_MOVE:
		x->err = sf_order_transition(c, x->f->kr, x->id, x->to, &staff, x->a);
		break;
	}
	return x->err ? sf_db_status_from_err(x->err) : SF_DB_OK;
}

static enum sf_err run(struct shop_fx *f, struct op_ctx x)
{
	x.f = f;
	enum sf_db_status st = sf_db_txn(f->db, op_txn, &x, 8);
	return x.err ? x.err : sf_db_err(st);
}

static enum sf_err settle(struct shop_fx *f, int64_t id, const char *ref, int64_t amount, const char *cur)
{
	return run(f, (struct op_ctx){.op = OP_SETTLE, .id = id, .ref = ref, .amount = amount, .currency = cur});
}

static enum sf_err move(struct shop_fx *f, int64_t id, enum sf_order_status to)
{
	return run(f, (struct op_ctx){.op = OP_MOVE, .id = id, .to = to, .a = "test"});
}

static const char *status_of(struct shop_fx *f, int64_t id)
{
	static char out[32];
	char sql[160];
	static const char *const names[] = {"pending_payment", "paid",      "fulfilled", "shipped",
					    "delivered",       "cancelled", "refunded",  "partially_refunded"};
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
		snprintf(sql, sizeof sql, "SELECT count(*) FROM orders WHERE id = %lld AND status = '%s'", (long long)id,
			 names[i]);
		if (cfx_int(f, sql) == 1) {
			snprintf(out, sizeof out, "%s", names[i]);
			return out;
		}
	}
	return "?";
}

static int64_t total_of(struct shop_fx *f, int64_t id)
{
	char sql[96];
	snprintf(sql, sizeof sql, "SELECT total_minor FROM orders WHERE id = %lld", (long long)id);
	return cfx_int(f, sql);
}

/* ==== Mail capture ==== */

static int mails;
static char last_to[128], last_subject[128], last_body[1024];
static enum sf_err mail_result; /* what the outbox answers */

static enum sf_err capture(struct sf_db_conn *c, const char *to, const char *subject, const char *body)
{
	(void)c;
	mails++;
	snprintf(last_to, sizeof last_to, "%s", to);
	snprintf(last_subject, sizeof last_subject, "%s", subject);
	snprintf(last_body, sizeof last_body, "%s", body);
	return mail_result;
}

/* A guest's order of qty x sku, its mails captured from now on. */
static int64_t buy_mailed(struct shop_fx *f, const char *sku, int64_t qty, const char *key)
{
	struct sf_cart_owner o;
	int64_t id = 0;
	mails = 0;
	sf_shop_set_mailer(capture);
	cfx_guest(&o);
	assert_int_equal(cfx_buy(f, &o, sku, qty, key, &id), SF_OK);
	return id;
}

/* ==== Life cycle ==== */

static void t_lifecycle(void **state)
{
	struct shop_fx *f = *state;
	int64_t id = buy_mailed(f, "TEE-S", 2, "life-key-001");
	assert_int_equal(mails, 0); /* no confirmation for an order that is not paid (it may expire) */
	assert_int_equal(total_of(f, id), 3998 + 490); /* 2 x 19.99 + standard shipping (below 50.00) */
	/* Paid: the confirmation, with the payment, the lines and the totals. */
	assert_int_equal(settle(f, id, "pay_life", 3998 + 490, "EUR"), SF_OK);
	assert_int_equal(mails, 1);
	assert_string_equal(last_to, "ada@example.org");
	char want[64];
	snprintf(want, sizeof want, "Your order %lld is confirmed", (long long)id);
	assert_string_equal(last_subject, want);
	assert_non_null(strstr(last_body, "received your payment of "));
	assert_non_null(strstr(last_body, "2 x "));
	assert_non_null(strstr(last_body, "Shipping ("));
	assert_non_null(strstr(last_body, "Total: "));
	/* The same notification again sends nothing more. */
	assert_int_equal(settle(f, id, "pay_life", 3998 + 490, "EUR"), SF_OK);
	assert_int_equal(mails, 1);
}

static void t_settle(void **state)
{
	struct shop_fx *f = *state;
	struct sf_cart_owner o;
	int64_t id = 0;
	cfx_guest(&o);
	assert_int_equal(cfx_buy(f, &o, "BOOK", 10, "settle-key-01", &id), SF_OK);
	int64_t total = total_of(f, id);
	assert_int_equal(total, 5500); /* 10 x 5.50, free shipping at 50.00 */
	assert_int_equal(settle(f, id, "pay_1", total - 1, "EUR"), SF_ERR_AMOUNT_MISMATCH);
	assert_int_equal(settle(f, id, "pay_1", total, "USD"), SF_ERR_AMOUNT_MISMATCH);
	assert_int_equal(settle(f, id + 999, "pay_1", total, "EUR"), SF_ERR_NOT_FOUND);
	assert_int_equal(settle(f, id, "", total, "EUR"), SF_ERR_INVALID);
	assert_string_equal(status_of(f, id), "pending_payment");
	int64_t audits = shop_fx_audit_count(f);
	assert_int_equal(settle(f, id, "pay_1", total, "EUR"), SF_OK);
	assert_string_equal(status_of(f, id), "paid");
	assert_int_equal(shop_fx_audit_count(f), audits + 1);
	/* the same notification again: nothing changes */
	assert_int_equal(settle(f, id, "pay_1", total, "EUR"), SF_OK);
	assert_int_equal(shop_fx_audit_count(f), audits + 1);
	/* another reference for a settled order */
	assert_int_equal(settle(f, id, "pay_2", total, "EUR"), SF_ERR_ORDER_STATE);
	/* that reference for another order */
	struct sf_cart_owner o2;
	int64_t id2 = 0;
	cfx_guest(&o2);
	assert_int_equal(cfx_buy(f, &o2, "BOOK", 1, "settle-key-02", &id2), SF_OK);
	assert_int_equal(settle(f, id2, "pay_1", total_of(f, id2), "EUR"), SF_ERR_ORDER_STATE);
	/* a failure is recorded, the order stays payable */
	assert_int_equal(run(f, (struct op_ctx){.op = OP_FAIL, .id = id2, .ref = "pay_x"}), SF_OK);
	assert_int_equal(run(f, (struct op_ctx){.op = OP_FAIL, .id = id2, .ref = "pay_x"}), SF_OK);
	assert_string_equal(status_of(f, id2), "pending_payment");
	assert_int_equal(run(f, (struct op_ctx){.op = OP_FAIL, .id = id, .ref = "pay_y"}), SF_ERR_ORDER_STATE);
	/* cancelled orders cannot be paid */
	assert_int_equal(move(f, id2, SF_ORDER_CANCELLED), SF_OK);
	assert_int_equal(settle(f, id2, "pay_3", total_of(f, id2), "EUR"), SF_ERR_ORDER_STATE);
}

/* A delayed payment method (sf_order_payment_pending): the reservation is
 * extended, never shortened, never past the hold after the longest a
 * payment can start; only a live pending order; recorded each time. */
static void t_payment_pending(void **state)
{
	struct shop_fx *f = *state;
	struct sf_cart_owner o;
	int64_t id = 0;
	char sql[200];
	cfx_guest(&o);
	assert_int_equal(cfx_buy(f, &o, "BOOK", 1, "pending-key-01", &id), SF_OK);
	snprintf(sql, sizeof sql, "SELECT reserved_until FROM orders WHERE id = %lld", (long long)id);
	const int64_t first = cfx_int(f, sql);
	struct op_ctx x = {.op = OP_PENDING, .id = id, .ref = "cs_1", .amount = 3 * 86400};
	assert_int_equal(run(f, (struct op_ctx){.op = OP_PENDING, .id = id, .ref = "", .amount = 60}), SF_ERR_INVALID);
	assert_int_equal(run(f, (struct op_ctx){.op = OP_PENDING, .id = id, .ref = "cs_1", .amount = 0}),
			 SF_ERR_INVALID);
	assert_int_equal(run(f, (struct op_ctx){.op = OP_PENDING, .id = id + 99, .ref = "cs_1", .amount = 60}),
			 SF_ERR_NOT_FOUND);
	assert_int_equal(cfx_int(f, sql), first);
	int64_t audits = shop_fx_audit_count(f), t0 = sf_shop_now();
	assert_int_equal(run(f, x), SF_OK);
	int64_t held = cfx_int(f, sql);
	assert_true(held >= t0 + 3 * 86400 && held <= sf_shop_now() + 3 * 86400);
	assert_string_equal(status_of(f, id), "pending_payment");
	assert_int_equal(shop_fx_audit_count(f), audits + 1);
	snprintf(sql, sizeof sql,
		 "SELECT count(*) FROM order_events WHERE order_id = %lld AND to_status = 'pending_payment' "
		 "AND reason LIKE 'payment pending%%'",
		 (long long)id);
	assert_int_equal(cfx_int(f, sql), 1);
	/* Stripe does not order its events: the failure of a delayed payment
	 * (checkout.session.async_payment_failed) may come before the
	 * session's completion, retried after a failed delivery.  That
	 * completion does not hold the order for a payment known to have
	 * failed, and records nothing. */
	int64_t other = 0;
	assert_int_equal(cfx_buy(f, &o, "BOOK", 1, "pending-key-03", &other), SF_OK);
	snprintf(sql, sizeof sql, "SELECT reserved_until FROM orders WHERE id = %lld", (long long)other);
	const int64_t other_first = cfx_int(f, sql);
	assert_int_equal(run(f, (struct op_ctx){.op = OP_FAIL, .id = other, .ref = "cs_f", .a = "stripe"}), SF_OK);
	audits = shop_fx_audit_count(f);
	assert_int_equal(run(f, (struct op_ctx){.op = OP_PENDING, .id = other, .ref = "cs_f", .amount = 3 * 86400}),
			 SF_ERR_ORDER_STATE);
	assert_int_equal(cfx_int(f, sql), other_first);
	assert_int_equal(shop_fx_audit_count(f), audits);
	/* another session's delayed payment still holds it */
	assert_int_equal(run(f, (struct op_ctx){.op = OP_PENDING, .id = other, .ref = "cs_g", .amount = 3 * 86400}),
			 SF_OK);
	assert_true(cfx_int(f, sql) > other_first);
	/* a shorter hold does not shorten it, and the trail says how long
	 * the order is really held */
	assert_int_equal(run(f, (struct op_ctx){.op = OP_PENDING, .id = id, .ref = "cs_2", .amount = 60}), SF_OK);
	snprintf(sql, sizeof sql, "SELECT reserved_until FROM orders WHERE id = %lld", (long long)id);
	assert_int_equal(cfx_int(f, sql), held);
	assert_int_equal(cfx_int(f, "SELECT json_extract(detail, '$.held_until') FROM audit_events "
				    "WHERE action = 'order.payment_pending' ORDER BY id DESC LIMIT 1"),
			 held);
	/* an order placed two days ago: held at most the hold past a day after it */
	snprintf(sql, sizeof sql, "UPDATE orders SET created_at = %lld WHERE id = %lld",
		 (long long)(sf_shop_now() - 2 * 86400), (long long)id);
	cfx_sql(f, sql);
	assert_int_equal(run(f, (struct op_ctx){.op = OP_PENDING, .id = id, .ref = "cs_3", .amount = 30 * 86400}),
			 SF_OK);
	snprintf(sql, sizeof sql, "SELECT reserved_until - created_at FROM orders WHERE id = %lld", (long long)id);
	assert_int_equal(cfx_int(f, sql), SF_ORDER_HOLD_MAX_S + 30 * 86400);
	/* past the reservation: nothing changes, for the reaper */
	snprintf(sql, sizeof sql, "UPDATE orders SET reserved_until = %lld WHERE id = %lld",
		 (long long)(sf_shop_now() - 1), (long long)id);
	cfx_sql(f, sql);
	audits = shop_fx_audit_count(f);
	assert_int_equal(run(f, x), SF_ERR_ORDER_EXPIRED);
	assert_int_equal(shop_fx_audit_count(f), audits);
	/* a paid order is not held */
	int64_t paid = 0;
	assert_int_equal(cfx_buy(f, &o, "BOOK", 1, "pending-key-02", &paid), SF_OK);
	assert_int_equal(settle(f, paid, "pay_p", total_of(f, paid), "EUR"), SF_OK);
	x.id = paid;
	assert_int_equal(run(f, x), SF_ERR_ORDER_STATE);
}

/* A mail the outbox refuses (an address it will not write to, e.g. of an
 * order placed before checkout checked addresses the outbox's way) is left
 * out: the payment, the shipment and the refund still happen.  Any other
 * failure of the mail still undoes the change. */
static void t_unmailable(void **state)
{
	struct shop_fx *f = *state;
	int64_t id = buy_mailed(f, "TEE-S", 1, "unmail-key-1");
	int64_t total = total_of(f, id);
	mail_result = SF_ERR_NOMEM;
	assert_int_equal(settle(f, id, "pay_u", total, "EUR"), SF_ERR_NOMEM);
	assert_string_equal(status_of(f, id), "pending_payment");
	mail_result = SF_ERR_INVALID;
	assert_int_equal(settle(f, id, "pay_u", total, "EUR"), SF_OK);
	assert_string_equal(status_of(f, id), "paid");
	assert_int_equal(move(f, id, SF_ORDER_FULFILLED), SF_OK);
	assert_int_equal(run(f, (struct op_ctx){.op = OP_SHIP, .id = id, .a = "DHL", .b = "TRK9"}), SF_OK);
	assert_string_equal(status_of(f, id), "shipped");
	assert_int_equal(run(f, (struct op_ctx){.op = OP_REFUND, .id = id, .ref = "ru", .amount = total}), SF_OK);
	assert_string_equal(status_of(f, id), "refunded");
	assert_int_equal(mails, 4); /* each change tried its mail */
	mail_result = SF_OK;
}

static void t_transitions(void **state)
{
	struct shop_fx *f = *state;
	int64_t id = buy_mailed(f, "TEE-L", 3, "trans-key-01");
	assert_int_equal(cfx_stock(f, "TEE-L"), 47);
	/* not allowed from pending_payment */
	assert_int_equal(move(f, id, SF_ORDER_FULFILLED), SF_ERR_ORDER_STATE);
	assert_int_equal(move(f, id, SF_ORDER_DELIVERED), SF_ERR_ORDER_STATE);
	assert_int_equal(run(f, (struct op_ctx){.op = OP_SHIP, .id = id, .a = "DHL", .b = "TRK1"}),
			 SF_ERR_ORDER_STATE);
	/* targets that carry data go through their own functions */
	assert_int_equal(move(f, id, SF_ORDER_PAID), SF_ERR_INVALID);
	assert_int_equal(move(f, id, SF_ORDER_SHIPPED), SF_ERR_INVALID);
	int64_t total = total_of(f, id);
	assert_int_equal(settle(f, id, "pay_t", total, "EUR"), SF_OK);
	assert_int_equal(move(f, id, SF_ORDER_CANCELLED), SF_ERR_ORDER_STATE); /* paid: refund instead */
	assert_int_equal(move(f, id, SF_ORDER_FULFILLED), SF_OK);
	assert_int_equal(run(f, (struct op_ctx){.op = OP_SHIP, .id = id, .a = "", .b = "TRK1"}), SF_ERR_INVALID);
	/* carrier and tracking are one line each: the shipped mail shows them as lines */
	assert_int_equal(run(f, (struct op_ctx){.op = OP_SHIP, .id = id, .a = "DHL\r\n\r\nPay customs at x", .b = "T1"}),
			 SF_ERR_INVALID);
	assert_int_equal(run(f, (struct op_ctx){.op = OP_SHIP, .id = id, .a = "DHL", .b = "T1\tX"}), SF_ERR_INVALID);
	assert_string_equal(status_of(f, id), "fulfilled");
	assert_int_equal(run(f, (struct op_ctx){.op = OP_SHIP, .id = id, .a = "DHL", .b = "JD0146 0001 2345"}), SF_OK);
	assert_string_equal(status_of(f, id), "shipped");
	assert_non_null(strstr(last_body, "JD0146 0001 2345"));
	assert_non_null(strstr(last_subject, "shipped"));
	assert_int_equal(move(f, id, SF_ORDER_DELIVERED), SF_OK);
	/* refunds: partial, then the rest; never more than paid */
	assert_int_equal(run(f, (struct op_ctx){.op = OP_REFUND, .id = id, .ref = "r1", .amount = 0}),
			 SF_ERR_AMOUNT_MISMATCH);
	assert_int_equal(run(f, (struct op_ctx){.op = OP_REFUND, .id = id, .ref = "r1", .amount = total + 1}),
			 SF_ERR_AMOUNT_MISMATCH);
	assert_int_equal(run(f, (struct op_ctx){.op = OP_REFUND, .id = id, .ref = "r1", .amount = 1000}), SF_OK);
	assert_string_equal(status_of(f, id), "partially_refunded");
	assert_non_null(strstr(last_subject, "Refund"));
	assert_int_equal(run(f, (struct op_ctx){.op = OP_REFUND, .id = id, .ref = "r1", .amount = 1000}), SF_OK);
	assert_int_equal(cfx_int(f, "SELECT refunded_minor FROM orders"), 1000); /* the repeat changed nothing */
	assert_int_equal(run(f, (struct op_ctx){.op = OP_REFUND, .id = id, .ref = "r2", .amount = total - 1000}),
			 SF_OK);
	assert_string_equal(status_of(f, id), "refunded");
	assert_int_equal(run(f, (struct op_ctx){.op = OP_REFUND, .id = id, .ref = "r3", .amount = 1}),
			 SF_ERR_ORDER_STATE);
	/* refunds do not restock */
	assert_int_equal(cfx_stock(f, "TEE-L"), 47);
	/* history: who, when, why */
	assert_int_equal(cfx_int(f, "SELECT count(*) FROM order_events WHERE order_id = 1"), 7);
	assert_int_equal(cfx_int(f, "SELECT count(*) FROM order_events WHERE actor_type = 'staff'"), 5);
	/* an unknown order */
	assert_int_equal(move(f, 9999, SF_ORDER_CANCELLED), SF_ERR_NOT_FOUND);
}

/* A partial refund (one item missing, say) does not end the delivery of the
 * rest: the order goes on from the stage it was refunded in, never back. */
static void t_partial_refund_goes_on(void **state)
{
	struct shop_fx *f = *state;
	int64_t id = buy_mailed(f, "TEE-S", 2, "partial-key-01");
	int64_t total = total_of(f, id);
	assert_int_equal(settle(f, id, "pay_part", total, "EUR"), SF_OK);
	assert_int_equal(run(f, (struct op_ctx){.op = OP_REFUND, .id = id, .ref = "p1", .amount = 1999}), SF_OK);
	assert_string_equal(status_of(f, id), "partially_refunded");
	struct sf_order_viewer v = {.privileged = 1, .actor = {.type = "staff", .id = "7"}};
	json_t *o = NULL;
	assert_int_equal(sf_order_fetch(f->db, f->kr, id, &v, 0, &o), SF_OK);
	assert_string_equal(json_string_value(json_object_get(o, "stage")), "paid");
	json_decref(o);
	assert_int_equal(run(f, (struct op_ctx){.op = OP_SHIP, .id = id, .a = "DHL", .b = "JD0"}),
			 SF_ERR_ORDER_STATE); /* not fulfilled yet */
	assert_int_equal(move(f, id, SF_ORDER_FULFILLED), SF_OK);
	assert_int_equal(run(f, (struct op_ctx){.op = OP_REFUND, .id = id, .ref = "p2", .amount = 100}), SF_OK);
	assert_int_equal(move(f, id, SF_ORDER_FULFILLED), SF_ERR_ORDER_STATE); /* it is already */
	assert_int_equal(run(f, (struct op_ctx){.op = OP_SHIP, .id = id, .a = "DHL", .b = "JD1"}), SF_OK);
	assert_string_equal(status_of(f, id), "shipped");
	assert_non_null(strstr(last_body, "JD1"));
	assert_int_equal(move(f, id, SF_ORDER_DELIVERED), SF_OK);
	assert_int_equal(run(f, (struct op_ctx){.op = OP_REFUND, .id = id, .ref = "p3", .amount = 100}), SF_OK);
	assert_int_equal(move(f, id, SF_ORDER_FULFILLED), SF_ERR_ORDER_STATE); /* never back */
	assert_int_equal(run(f, (struct op_ctx){.op = OP_SHIP, .id = id, .a = "DHL", .b = "JD2"}), SF_ERR_ORDER_STATE);
	assert_int_equal(move(f, id, SF_ORDER_DELIVERED), SF_ERR_ORDER_STATE);
	assert_int_equal(cfx_int(f, "SELECT refunded_minor FROM orders"), 2199);
	/* the rest refunds it in full, and then it is final */
	assert_int_equal(run(f, (struct op_ctx){.op = OP_REFUND, .id = id, .ref = "p4", .amount = total - 2199}), SF_OK);
	assert_string_equal(status_of(f, id), "refunded");
	assert_int_equal(move(f, id, SF_ORDER_DELIVERED), SF_ERR_ORDER_STATE);
	/* the rule itself: only onwards, only from a partial refund */
	assert_true(sf_order_move_allowed(SF_ORDER_PARTIALLY_REFUNDED, SF_ORDER_SHIPPED, SF_ORDER_DELIVERED));
	assert_false(sf_order_move_allowed(SF_ORDER_PARTIALLY_REFUNDED, SF_ORDER_SHIPPED, SF_ORDER_CANCELLED));
	assert_false(sf_order_move_allowed(SF_ORDER_PARTIALLY_REFUNDED, SF_ORDER_PENDING_PAYMENT, SF_ORDER_PAID));
	assert_false(sf_order_move_allowed(SF_ORDER_REFUNDED, SF_ORDER_PAID, SF_ORDER_FULFILLED));
	assert_false(sf_order_move_allowed(SF_ORDER_PAID, SF_ORDER_FULFILLED, SF_ORDER_SHIPPED));
}

static void t_cancel_gives_back(void **state)
{
	struct shop_fx *f = *state;
	struct sf_cart_owner o;
	int64_t id = 0;
	cfx_guest(&o);
	assert_int_equal(cfx_buy(f, &o, "LAST", 4, "cancel-key-1", &id), SF_OK);
	assert_int_equal(cfx_stock(f, "LAST"), 6);
	assert_int_equal(move(f, id, SF_ORDER_CANCELLED), SF_OK);
	assert_int_equal(cfx_stock(f, "LAST"), 10);
	assert_int_equal(move(f, id, SF_ORDER_CANCELLED), SF_ERR_ORDER_STATE);
	assert_int_equal(cfx_stock(f, "LAST"), 10);
}

/* ==== Who sees what ==== */

static void t_visibility(void **state)
{
	struct shop_fx *f = *state;
	struct sf_cart_owner g, stranger, c1, c2;
	int64_t gid = 0, cid = 0;
	json_t *o = NULL;
	cfx_guest(&g);
	cfx_guest(&stranger);
	sf_cart_owner_customer(41, &c1);
	sf_cart_owner_customer(42, &c2);
	assert_int_equal(cfx_buy(f, &g, "BOOK", 1, "vis-key-0001", &gid), SF_OK);
	assert_int_equal(cfx_buy(f, &c1, "BOOK", 1, "vis-key-0002", &cid), SF_OK);
	struct sf_order_viewer v = {.owner = &g, .actor = {.type = "anonymous"}};
	assert_int_equal(sf_order_fetch(f->db, f->kr, gid, &v, 0, &o), SF_OK);
	assert_string_equal(json_string_value(json_object_get(o, "status")), "pending_payment");
	assert_null(json_object_get(o, "address")); /* not asked for */
	json_decref(o);
	v.owner = &stranger;
	assert_int_equal(sf_order_fetch(f->db, f->kr, gid, &v, 1, &o), SF_ERR_NOT_FOUND);
	assert_int_equal(sf_order_fetch(f->db, f->kr, cid, &v, 1, &o), SF_ERR_NOT_FOUND);
	v.owner = &c2;
	assert_int_equal(sf_order_fetch(f->db, f->kr, cid, &v, 1, &o), SF_ERR_NOT_FOUND);
	assert_int_equal(sf_order_fetch(f->db, f->kr, gid, &v, 1, &o), SF_ERR_NOT_FOUND);
	assert_int_equal(sf_order_fetch(f->db, f->kr, 123456, &v, 1, &o), SF_ERR_NOT_FOUND);
	v.owner = &c1;
	assert_int_equal(sf_order_fetch(f->db, f->kr, cid, &v, 1, &o), SF_OK);
	assert_int_equal(json_integer_value(json_object_get(o, "id")), cid);
	json_decref(o);
	/* lists: only one's own */
	assert_int_equal(sf_order_list(f->db, 41, 10, 0, &o), SF_OK);
	assert_int_equal(json_array_size(json_object_get(o, "items")), 1);
	json_decref(o);
	assert_int_equal(sf_order_list(f->db, 42, 10, 0, &o), SF_OK);
	assert_int_equal(json_array_size(json_object_get(o, "items")), 0);
	json_decref(o);
	assert_int_equal(sf_order_list(f->db, 42, 0, 0, &o), SF_ERR_INVALID);
	/* staff see any */
	struct sf_order_viewer staff = {.privileged = 1, .actor = {.type = "staff", .id = "1"}};
	assert_int_equal(sf_order_fetch(f->db, f->kr, gid, &staff, 1, &o), SF_OK);
	json_decref(o);
	/* a sealed address moved to another order does not open */
	char sql[200];
	snprintf(sql, sizeof sql, "UPDATE orders SET address = (SELECT address FROM orders WHERE id = %lld) WHERE id = %lld",
		 (long long)gid, (long long)cid);
	cfx_sql(f, sql);
	v.owner = &c1;
	assert_int_equal(sf_order_fetch(f->db, f->kr, cid, &v, 1, &o), SF_ERR_TAMPERED);
}

/* ==== Expiry ==== */

static void t_expiry_once(void **state)
{
	struct shop_fx *f = *state;
	struct sf_cart_owner a, b;
	int64_t ida = 0, idb = 0;
	int n = -1;
	cfx_guest(&a);
	cfx_guest(&b);
	assert_int_equal(cfx_buy(f, &a, "LAST", 3, "exp-key-0001", &ida), SF_OK);
	assert_int_equal(cfx_buy(f, &b, "LAST", 2, "exp-key-0002", &idb), SF_OK);
	assert_int_equal(settle(f, idb, "pay_b", total_of(f, idb), "EUR"), SF_OK);
	assert_int_equal(cfx_stock(f, "LAST"), 5);
	assert_int_equal(sf_order_expire_due(f->db, f->kr, &n), SF_OK);
	assert_int_equal(n, 0); /* not yet */
	sf_shop_clock_offset(30 * 60 + 1);
	int64_t audits = shop_fx_audit_count(f);
	/* a late payment for an expired reservation is refused */
	assert_int_equal(settle(f, ida, "pay_a", total_of(f, ida), "EUR"), SF_ERR_ORDER_EXPIRED);
	assert_int_equal(sf_order_expire_due(f->db, f->kr, &n), SF_OK);
	assert_int_equal(n, 1);
	assert_int_equal(cfx_stock(f, "LAST"), 8); /* a's 3 back; paid b keeps its 2 */
	assert_string_equal(status_of(f, ida), "cancelled");
	assert_string_equal(status_of(f, idb), "paid");
	assert_int_equal(shop_fx_audit_count(f), audits + 1);
	/* again, and on access: nothing more */
	assert_int_equal(sf_order_expire_due(f->db, f->kr, &n), SF_OK);
	assert_int_equal(n, 0);
	json_t *o = NULL;
	struct sf_order_viewer v = {.owner = &a, .actor = {.type = "anonymous"}};
	assert_int_equal(sf_order_fetch(f->db, f->kr, ida, &v, 0, &o), SF_OK);
	assert_string_equal(json_string_value(json_object_get(o, "status")), "cancelled");
	json_decref(o);
	assert_int_equal(cfx_stock(f, "LAST"), 8);
	assert_int_equal(cfx_int(f, "SELECT count(*) FROM audit_events WHERE action = 'order.expire'"), 1);
}

/* The expiry check on access (sf_order_fetch reads first and takes the
 * write lock only for an order past its reservation): a live order is read
 * without any write, an expired one is cancelled on that read, once. */
static void t_expiry_on_read(void **state)
{
	struct shop_fx *f = *state;
	struct sf_cart_owner a;
	int64_t id = 0;
	json_t *o = NULL;
	cfx_guest(&a);
	assert_int_equal(cfx_buy(f, &a, "LAST", 3, "exp-read-0001", &id), SF_OK);
	struct sf_order_viewer v = {.owner = &a, .actor = {.type = "anonymous"}};
	int64_t audits = shop_fx_audit_count(f);
	assert_int_equal(sf_order_fetch(f->db, f->kr, id, &v, 0, &o), SF_OK);
	assert_string_equal(json_string_value(json_object_get(o, "status")), "pending_payment");
	json_decref(o);
	assert_int_equal(shop_fx_audit_count(f), audits);
	assert_int_equal(cfx_stock(f, "LAST"), 7);
	sf_shop_clock_offset(30 * 60 + 1);
	assert_int_equal(sf_order_fetch(f->db, f->kr, id, &v, 0, &o), SF_OK);
	assert_string_equal(json_string_value(json_object_get(o, "status")), "cancelled");
	json_decref(o);
	assert_int_equal(cfx_stock(f, "LAST"), 10);
	assert_int_equal(sf_order_fetch(f->db, f->kr, id, &v, 0, &o), SF_OK);
	assert_string_equal(json_string_value(json_object_get(o, "status")), "cancelled");
	json_decref(o);
	assert_int_equal(cfx_stock(f, "LAST"), 10);
	assert_int_equal(cfx_int(f, "SELECT count(*) FROM audit_events WHERE action = 'order.expire'"), 1);
	sf_shop_clock_offset(0);
}

struct exp_thread {
	struct shop_fx *f;
	int n;
};

static void *expire_thread(void *arg)
{
	struct exp_thread *t = arg;
	if (sf_order_expire_due(t->f->db, t->f->kr, &t->n) != SF_OK)
		t->n = -1000;
	return NULL;
}

/* Eight reapers at once still give each order's stock back once. */
static void t_expiry_concurrent(void **state)
{
	struct shop_fx *f = *state;
	enum { ORDERS = 6, REAPERS = 8 };
	for (int i = 0; i < ORDERS; i++) {
		struct sf_cart_owner o;
		int64_t id = 0;
		char key[32];
		cfx_guest(&o);
		snprintf(key, sizeof key, "conc-exp-%d", i);
		assert_int_equal(cfx_buy(f, &o, "TEE-S", 2, key, &id), SF_OK);
	}
	assert_int_equal(cfx_stock(f, "TEE-S"), 50 - 2 * ORDERS);
	sf_shop_clock_offset(3600);
	pthread_t th[REAPERS];
	struct exp_thread t[REAPERS];
	for (int i = 0; i < REAPERS; i++) {
		t[i] = (struct exp_thread){.f = f};
		assert_int_equal(pthread_create(&th[i], NULL, expire_thread, &t[i]), 0);
	}
	int total = 0;
	for (int i = 0; i < REAPERS; i++) {
		pthread_join(th[i], NULL);
		assert_true(t[i].n >= 0);
		total += t[i].n;
	}
	assert_int_equal(total, ORDERS);
	assert_int_equal(cfx_stock(f, "TEE-S"), 50);
}

static void t_reaper_thread(void **state)
{
	struct shop_fx *f = *state;
	struct sf_cart_owner o;
	int64_t id = 0;
	struct sf_order_reaper *r = NULL;
	cfx_guest(&o);
	assert_int_equal(cfx_buy(f, &o, "LAST", 10, "reaper-key-1", &id), SF_OK);
	sf_shop_clock_offset(3600);
	assert_int_equal(sf_order_reaper_start(f->db, f->kr, 1, &r), SF_OK);
	for (int i = 0; i < 100 && cfx_stock(f, "LAST") != 10; i++) {
		struct timespec ts = {0, 20 * 1000 * 1000};
		nanosleep(&ts, NULL);
	}
	sf_order_reaper_stop(r);
	assert_int_equal(cfx_stock(f, "LAST"), 10);
	sf_order_reaper_stop(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(t_table_exhaustive),
		cmocka_unit_test_setup_teardown(t_lifecycle, commerce_fx_setup, commerce_fx_teardown),
		cmocka_unit_test_setup_teardown(t_settle, commerce_fx_setup, commerce_fx_teardown),
		cmocka_unit_test_setup_teardown(t_transitions, commerce_fx_setup, commerce_fx_teardown),
		cmocka_unit_test_setup_teardown(t_unmailable, commerce_fx_setup, commerce_fx_teardown),
		cmocka_unit_test_setup_teardown(t_payment_pending, commerce_fx_setup, commerce_fx_teardown),
		cmocka_unit_test_setup_teardown(t_partial_refund_goes_on, commerce_fx_setup, commerce_fx_teardown),
		cmocka_unit_test_setup_teardown(t_cancel_gives_back, commerce_fx_setup, commerce_fx_teardown),
		cmocka_unit_test_setup_teardown(t_visibility, commerce_fx_setup, commerce_fx_teardown),
		cmocka_unit_test_setup_teardown(t_expiry_once, commerce_fx_setup, commerce_fx_teardown),
		cmocka_unit_test_setup_teardown(t_expiry_on_read, commerce_fx_setup, commerce_fx_teardown),
		cmocka_unit_test_setup_teardown(t_expiry_concurrent, commerce_fx_setup, commerce_fx_teardown),
		cmocka_unit_test_setup_teardown(t_reaper_thread, commerce_fx_setup, commerce_fx_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
