/*
 * admin_orders.c — order search, details, transitions, refunds and
 * shipments in the back office (admin_pages.h).  State changes go through
 * src/shop/order.h, which records the order event and the audit event in
 * the same transaction.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "audit/search.h"
#include "auth/form.h"
#include "auth/rbac.h"
#include "core/app.h"
#include "core/log.h"
#include "core/util.h"
#include "db/db.h"
#include "shop/backoffice.h"
#include "shop/order.h"
#include "shop/payment.h"
#include "shop/money.h"
#include "web/admin_pages.h"
#include "web/admin_util.h"

static const char *const states[] = {"pending_payment", "paid", "fulfilled", "shipped", "delivered",
				     "cancelled", "refunded", "partially_refunded"};

enum sf_err sf_web_admin_orders(struct sf_req *req, struct sf_resp *resp)
{
	struct sf_app *app = req->app;
	struct sf_bo_order_filter f = {0};
	const char *status = sf_req_query(req, "status"), *email = sf_req_query(req, "email");
	const char *from = sf_req_query(req, "from"), *to = sf_req_query(req, "to");
	const char *q = sf_req_query(req, "q");
	int64_t t, span, id;
	enum sf_err err = SF_OK;
	if (q && *q) { /* an order number: straight to the order */
		if (sf_parse_i64(q[0] == '#' ? q + 1 : q, 1, INT64_MAX, &id))
			return SF_ERR_BAD_PARAM;
		char loc[64];
		snprintf(loc, sizeof loc, "/admin/orders/%" PRId64, id);
		return sf_resp_redirect(req, resp, 302, loc);
	}
	f.status = status && *status ? status : NULL;
	if (from && *from) {
		if (sf_audit_parse_when(from, &t, &span))
			return SF_ERR_BAD_PARAM;
		f.from = t;
	}
	if (to && *to) {
		if (sf_audit_parse_when(to, &t, &span))
			return SF_ERR_BAD_PARAM;
		f.to = t + span;
	}
	err = sf_admin_int(req, "before", 1, 1, INT64_MAX, 0, &f.before_id);
	json_t *ctx = err ? NULL : sf_admin_ctx(req, resp, "Orders", "orders");
	json_t *page = NULL;
	if (!err && !ctx)
		err = SF_ERR_NOMEM;
	int no_match = 0;
	if (!err && email && *email && !sf_rbac_can(req, "customers.read"))
		err = SF_ERR_FORBIDDEN; /* finding a customer by e-mail is the customers' screen's right */
	if (!err && email && *email) {
		json_t *cs = NULL;
		err = sf_bo_customers(app->db, app->keys, email, 0, &cs);
		json_t *first = json_array_get(json_object_get(cs, "items"), 0);
		if (!err && first)
			f.customer_id = json_integer_value(json_object_get(first, "id"));
		else if (!err)
			no_match = 1;
		json_decref(cs);
	}
	if (!err && !no_match)
		err = sf_bo_orders(app->db, &f, &page);
	if (!err && no_match)
		page = json_pack("{s:[],s:b,s:n}", "items", "has_items", 0, "next_before");
	if (!err && (!page || sf_admin_times(json_object_get(page, "items"), "created_at")))
		err = SF_ERR_NOMEM;
	if (err) {
		json_decref(page);
		json_decref(ctx);
		return err;
	}
	json_t *opts = json_array();
	for (size_t i = 0; opts && i < sizeof states / sizeof states[0]; i++)
		json_array_append_new(opts, json_pack("{s:s,s:b}", "name", states[i], "selected",
						      f.status && !strcmp(f.status, states[i])));
	json_object_set_new(ctx, "page", page);
	json_object_set_new(ctx, "states", opts);
	json_object_set_new(ctx, "f", json_pack("{s:s,s:s,s:s,s:s}", "status", f.status ? f.status : "", "email",
						email ? email : "", "from", from ? from : "", "to", to ? to : ""));
	return sf_admin_render(req, resp, 200, "admin_orders", ctx);
}

/* ==== One order ==== */

static void viewer_of(struct sf_req *req, struct sf_order_viewer *v, char id[24])
{
	memset(v, 0, sizeof *v);
	v->privileged = 1;
	sf_admin_actor(req, &v->actor, id);
}

/* The order page, with err shown on it when a form failed. */
static enum sf_err order_page(struct sf_req *req, struct sf_resp *resp, int64_t id, enum sf_err why,
			      const char *why_text)
{
	struct sf_app *app = req->app;
	struct sf_order_viewer v;
	char aid[24];
	json_t *o = NULL;
	viewer_of(req, &v, aid);
	/* personal: the shipping address and e-mail, for those who ship orders
	 * or may reveal customers' data (not a reader such as the analyst); the
	 * read is audited ("order.read") by sf_order_get. */
	int personal = sf_rbac_can(req, "orders.update") || sf_rbac_can(req, "customers.reveal");
	enum sf_err err = sf_order_fetch(app->db, app->keys, id, &v, personal, &o);
	if (err)
		return err;
	char title[48];
	snprintf(title, sizeof title, "Order #%" PRId64, id);
	json_t *ctx = sf_admin_ctx(req, resp, title, "orders");
	if (!ctx) {
		json_decref(o);
		return SF_ERR_NOMEM;
	}
	enum sf_order_status s = SF_ORDER_PENDING_PAYMENT, stage;
	(void)sf_order_status_parse(json_string_value(json_object_get(o, "status")), &s);
	if (sf_order_status_parse(json_string_value(json_object_get(o, "stage")), &stage) != 0)
		stage = s;
	json_t *to = json_array();
	static const enum sf_order_status simple[] = {SF_ORDER_FULFILLED, SF_ORDER_DELIVERED, SF_ORDER_CANCELLED};
	for (size_t i = 0; to && i < 3; i++) {
		if (sf_order_move_allowed(s, stage, simple[i]))
			json_array_append_new(to, json_pack("{s:s}", "name", sf_order_status_name(simple[i])));
	}
	char key[27];
	sf_rand_base32(key, 26);
	key[26] = '\0';
	json_object_set_new(ctx, "order", o);
	json_object_set_new(ctx, "transitions", to);
	json_object_set_new(ctx, "has_transitions", json_boolean(json_array_size(to) > 0));
	json_object_set_new(ctx, "can_refund", json_boolean(sf_order_transition_allowed(s, SF_ORDER_REFUNDED)));
	json_object_set_new(ctx, "can_ship", json_boolean(sf_order_move_allowed(s, stage, SF_ORDER_SHIPPED)));
	json_object_set_new(ctx, "refund_key", json_string(key));
	/* the browser checks a refund's amount as sf_money_parse will: in the
	 * order's currency's decimals (none for yen, three for dinars) */
	char pattern[32] = "[0-9]+";
	const int dec = sf_money_decimals(json_string_value(json_object_get(o, "currency")));
	if (dec > 0)
		snprintf(pattern, sizeof pattern, "[0-9]+(\\.[0-9]{1,%d})?", dec);
	json_object_set_new(ctx, "refund_pattern", json_string(pattern));
	sf_admin_times(json_object_get(o, "history"), "at");
	/* staff's refunds through the provider, and payments that came when
	 * the order could not take them (payment.h) */
	json_t *unapplied = NULL, *refunds = NULL;
	err = sf_pay_order_refunds(app->db, id, &unapplied, &refunds);
	if (err) {
		json_decref(ctx);
		return err;
	}
	sf_admin_times(unapplied, "created_at");
	sf_admin_times(refunds, "created_at");
	json_object_set_new(ctx, "has_unapplied", json_boolean(json_array_size(unapplied) > 0));
	json_object_set_new(ctx, "unapplied", unapplied);
	json_object_set_new(ctx, "has_refunds", json_boolean(json_array_size(refunds) > 0));
	json_object_set_new(ctx, "refunds", refunds);
	sf_admin_error(ctx, why, why_text);
	return sf_admin_render(req, resp, why ? sf_err_status(why) : 200, "admin_order", ctx);
}

enum sf_err sf_web_admin_order(struct sf_req *req, struct sf_resp *resp)
{
	int64_t id;
	enum sf_err err = sf_admin_path_id(req, "id", &id);
	return err ? err : order_page(req, resp, id, SF_OK, NULL);
}

/* ==== Changes ==== */

enum op_kind { OP_TRANSITION, OP_REFUND, OP_SHIP };

struct order_op {
	enum op_kind kind;
	struct sf_app *app;
	int64_t id;
	enum sf_order_status to;
	const char *reason, *a, *b; /* refund: a = form key; ship: a = carrier, b = tracking */
	int64_t amount;
	int record_only;   /* refund: made outside storefort, recorded only */
	int64_t refund_id; /* refund: the order_refunds row to send */
	struct sf_shop_actor actor;
	enum sf_err err;
};

static enum sf_db_status op_txn(struct sf_db_conn *c, void *ctx)
{
	struct order_op *op = ctx;
	enum sf_err err;
	switch (op->kind) {
	case OP_TRANSITION:
		err = sf_order_transition(c, op->app->keys, op->id, op->to, &op->actor, op->reason);
		break;
	case OP_REFUND:
		err = op->record_only ? sf_order_refund(c, op->app->keys, op->id, "manual", op->a, op->amount,
							op->reason, &op->actor)
				      : sf_pay_refund_request(c, op->app->keys, op->id, op->a, op->amount, op->reason,
							      &op->actor, &op->refund_id);
		break;
	default:
		err = sf_order_ship(c, op->app->keys, op->id, op->a, op->b, &op->actor);
		break;
	}
	op->err = err == SF_ERR_DB_CONFLICT ? SF_OK : err;
	return sf_db_status_from_err(err);
}

/* Run op; on success back to the order (303), on a user error the order
 * page with the error. */
static enum sf_err op_run(struct sf_req *req, struct sf_resp *resp, struct order_op *op, const char *why)
{
	char aid[24];
	sf_admin_actor(req, &op->actor, aid);
	enum sf_db_status st = sf_db_txn(op->app->db, op_txn, op, 5);
	enum sf_err err = op->err ? op->err : st < 0 ? sf_db_err(st) : SF_OK;
	if (err == SF_ERR_INVALID)
		err = SF_ERR_BAD_PARAM;
	/* the provider asked at once; what fails is the refunder's to retry,
	 * and the order page shows where it stands */
	if (!err && op->refund_id &&
	    sf_pay_refund_send(op->app->payments, op->app->db, op->app->keys, op->refund_id) != SF_OK)
		sf_log(SF_LOG_WARN, "order.refund_send", "recording the provider's answer for refund %" PRId64
		       " failed: the refunder will retry", op->refund_id);
	if (!err) {
		char loc[64];
		snprintf(loc, sizeof loc, "/admin/orders/%" PRId64, op->id);
		return sf_resp_redirect(req, resp, 303, loc);
	}
	if (err == SF_ERR_NOT_FOUND || !sf_admin_user_error(err))
		return err;
	return order_page(req, resp, op->id, err, err == SF_ERR_BAD_PARAM ? why : NULL);
}

static enum sf_err op_begin(struct sf_req *req, struct order_op *op)
{
	memset(op, 0, sizeof *op);
	op->app = req->app;
	enum sf_err err = sf_admin_path_id(req, "id", &op->id);
	return err ? err : sf_form_parse(req);
}

/* The currency of order id into cy, which a refund's amount is typed in
 * (left "" when the order cannot be read: the refund then fails on it).
 * The order's brief: its lines, events and JSON are not needed. */
static void order_currency(struct sf_req *req, int64_t id, char cy[4])
{
	struct sf_app *app = req->app;
	struct sf_order_viewer v;
	struct sf_order_brief b;
	char aid[24];
	viewer_of(req, &v, aid);
	if (sf_order_brief(app->db, app->keys, id, &v, &b) == SF_OK && strlen(b.currency) == 3)
		memcpy(cy, b.currency, 4);
}

static const char *reason_of(struct sf_req *req)
{
	const char *r = sf_form_get(req, "reason");
	return r && *r ? r : NULL;
}

enum sf_err sf_web_admin_order_transition(struct sf_req *req, struct sf_resp *resp)
{
	struct order_op op;
	enum sf_err err = op_begin(req, &op);
	if (err)
		return err;
	const char *to = sf_form_get(req, "to");
	op.kind = OP_TRANSITION;
	op.reason = reason_of(req);
	if (!to || sf_order_status_parse(to, &op.to) ||
	    (op.to != SF_ORDER_CANCELLED && op.to != SF_ORDER_FULFILLED && op.to != SF_ORDER_DELIVERED))
		return order_page(req, resp, op.id, SF_ERR_BAD_PARAM, "Choose a new status.");
	return op_run(req, resp, &op, "The reason must be at most 500 characters of text.");
}

enum sf_err sf_web_admin_order_refund(struct sf_req *req, struct sf_resp *resp)
{
	struct order_op op;
	enum sf_err err = op_begin(req, &op);
	if (err)
		return err;
	const char *key = sf_form_get(req, "refund_key");
	char ref[40];
	op.kind = OP_REFUND;
	op.reason = reason_of(req);
	char cy[4] = "";
	order_currency(req, op.id, cy);
	if (sf_money_parse(sf_form_get(req, "amount"), cy[0] ? cy : NULL, &op.amount) || op.amount <= 0)
		return order_page(req, resp, op.id, SF_ERR_BAD_PARAM, "Give the amount to refund, e.g. 12.50.");
	if (!key || strlen(key) != 26 || strspn(key, "abcdefghijklmnopqrstuvwxyz234567") != 26)
		return order_page(req, resp, op.id, SF_ERR_BAD_PARAM, "The form has expired: try again.");
	/* one refund per rendered form: a resubmitted form is the same refund */
	snprintf(ref, sizeof ref, "bo-%s", key);
	op.a = ref;
	const char *only = sf_form_get(req, "record_only");
	if (only && *only && strcmp(only, "1") != 0)
		return order_page(req, resp, op.id, SF_ERR_BAD_PARAM, "Tick the box or leave it empty.");
	op.record_only = only && *only;
	return op_run(req, resp, &op, "The reason must be at most 500 characters of text.");
}

enum sf_err sf_web_admin_order_ship(struct sf_req *req, struct sf_resp *resp)
{
	struct order_op op;
	enum sf_err err = op_begin(req, &op);
	if (err)
		return err;
	op.kind = OP_SHIP;
	op.a = sf_form_get(req, "carrier");
	op.b = sf_form_get(req, "tracking");
	if (!op.a || !op.b)
		return order_page(req, resp, op.id, SF_ERR_BAD_PARAM, "Give the carrier and the tracking number.");
	return op_run(req, resp, &op, "Carrier and tracking number: 1 to 128 printable characters each.");
}
