/*
 * shop_pages.c — cart, checkout and order pages (shop_pages.h).
 *
 * The checkout keeps no server-side state between its steps: each step
 * posts the previous steps' fields along (hidden inputs), and only the last
 * one writes.  Domain work goes through src/shop and the request helpers of
 * api/shop_api.h; markup comes only from web/templates/.
 */
#include "web/shop_pages.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "api/shop_api.h"
#include "auth/auth.h"
#include "auth/form.h"
#include "core/app.h"
#include "core/buf.h"
#include "core/config.h"
#include "core/log.h"
#include "core/util.h"
#include "shop/checkout.h"
#include "shop/order.h"
#include "web/pages.h"
#include "web/tmpl.h"

static const char *const addr_fields[] = {"email", "name", "street", "city", "postcode", "country", "phone"};
#define N_ADDR (sizeof addr_fields / sizeof addr_fields[0])



/* Render template name with ctx (stolen). */
static enum sf_err page(struct sf_req *req, struct sf_resp *resp, unsigned status, const char *name, json_t *ctx)
{
	const struct sf_app *app = req->app;
	struct sf_buf out;
	enum sf_err err = !ctx ? SF_ERR_NOMEM : !app || !app->tmpl ? SF_ERR_UNAVAILABLE : SF_OK;
	sf_buf_init(&out, SF_WEB_PAGE_CAP);
	if (!err)
		err = sf_tmpl_render(app->tmpl, name, ctx, &out);
	json_decref(ctx);
	size_t n = 0;
	char *html = err ? NULL : sf_buf_steal(&out, &n);
	sf_buf_free(&out);
	if (!err && !html)
		err = SF_ERR_NOMEM;
	if (err)
		return err;
	sf_resp_body(resp, status, "text/html; charset=utf-8", html, n, free);
	return SF_OK;
}

/* An error a shopper can fix (4xx) goes on the page; others to the layer. */
static int user_error(enum sf_err err)
{
	return err && sf_err_status(err) < 500;
}

/* ctx.error: err's code, and message (NULL: the registry's description). */
static void set_error_msg(json_t *ctx, enum sf_err err, const char *message)
{
	if (ctx && err)
		json_object_set_new(ctx, "error", json_pack("{s:s,s:s}", "code", sf_err_code(err), "message",
							    message ? message : sf_err_desc(err)));
}

static void set_error(json_t *ctx, enum sf_err err)
{
	set_error_msg(ctx, err, NULL);
}

/* ==== Cart ==== */

static enum sf_err cart_page(struct sf_req *req, struct sf_resp *resp, enum sf_err why, json_t *add)
{
	struct sf_app *app = req->app;
	struct sf_cart_owner o;
	struct sf_shop_rules r;
	static const struct sf_cart_owner nobody;
	json_t *cart = NULL;
	sf_shop_req_rules(req, &r);
	int has = sf_shop_req_owner(req, resp, 0, &o) == SF_OK;
	enum sf_err err = sf_cart_view(app->db, has ? &o : &nobody, &r, &cart);
	if (err) {
		json_decref(add);
		return err;
	}
	/* too_large: a cart above the money cap says so itself (and how to
	 * repair it); otherwise it is a change that was refused */
	int over = json_is_true(json_object_get(cart, "too_large"));
	json_t *ctx = sf_web_shop_ctx(req, resp, "Your cart");
	if (ctx) {
		json_object_set_new(ctx, "cart", cart);
		if (add)
			json_object_set_new(ctx, "add", add);
	} else {
		json_decref(cart);
		json_decref(add);
	}
	if (why != SF_ERR_TOO_LARGE || !over)
		set_error(ctx, why);
	if (ctx && why == SF_ERR_TOO_LARGE && !over)
		json_object_set_new(json_object_get(ctx, "error"), "message",
				    json_string("That would take the cart's total above the most one order may reach."));
	return page(req, resp, why ? sf_err_status(why) : 200, "cart", ctx);
}

enum sf_err sf_web_cart(struct sf_req *req, struct sf_resp *resp)
{
	return req->app ? cart_page(req, resp, SF_OK, NULL) : SF_ERR_UNAVAILABLE;
}

/* After a cart form: back to the cart (303), or the cart with the error. */
static enum sf_err cart_done(struct sf_req *req, struct sf_resp *resp, enum sf_err err)
{
	if (!err)
		return sf_resp_redirect(req, resp, 303, "/cart");
	return user_error(err) ? cart_page(req, resp, err, NULL) : err;
}

/* A form integer in [min, max]; SF_ERR_QUANTITY / SF_ERR_NOT_FOUND style
 * errors are chosen by the caller through bad. */
static int form_int(struct sf_req *req, const char *name, int64_t min, int64_t max, int64_t *out)
{
	const char *s = sf_form_get(req, name);
	return s && sf_parse_i64(s, min, max, out) == SF_OK;
}

enum sf_err sf_web_cart_add_form(struct sf_req *req, struct sf_resp *resp)
{
	struct sf_shop_rules r;
	int64_t qty = 1;
	const char *sku = sf_req_query(req, "sku"), *q = sf_req_query(req, "quantity");
	if (!req->app)
		return SF_ERR_UNAVAILABLE;
	sf_shop_req_rules(req, &r);
	if (q && sf_parse_i64(q, 1, r.max_line_qty, &qty) != SF_OK)
		return cart_page(req, resp, SF_ERR_QUANTITY, NULL);
	if (!sku || !*sku || strlen(sku) > 128 || sf_log_has_card(sku, strlen(sku)))
		return cart_page(req, resp, SF_ERR_NOT_FOUND, NULL);
	return cart_page(req, resp, SF_OK,
			 json_pack("{s:s,s:I,s:I}", "sku", sku, "quantity", (json_int_t)qty, "max",
				   (json_int_t)r.max_line_qty));
}

enum sf_err sf_web_cart_add(struct sf_req *req, struct sf_resp *resp)
{
	struct sf_app *app = req->app;
	struct sf_cart_owner o;
	struct sf_shop_rules r;
	int64_t qty = 0;
	enum sf_err err = sf_form_parse(req);
	if (err)
		return err;
	sf_shop_req_rules(req, &r);
	const char *sku = sf_form_get(req, "sku");
	if (!form_int(req, "quantity", 1, r.max_line_qty, &qty))
		err = SF_ERR_QUANTITY;
	else if (!sku || !*sku)
		err = SF_ERR_NOT_FOUND;
	if (!err)
		err = sf_shop_req_owner(req, resp, 1, &o);
	if (!err)
		err = sf_cart_add(app->db, &o, &r, 0, sku, qty);
	return cart_done(req, resp, err);
}

enum sf_err sf_web_cart_update(struct sf_req *req, struct sf_resp *resp)
{
	struct sf_app *app = req->app;
	struct sf_cart_owner o;
	struct sf_shop_rules r;
	int64_t id = 0, qty = 0;
	enum sf_err err = sf_form_parse(req);
	if (err)
		return err;
	sf_shop_req_rules(req, &r);
	if (!form_int(req, "item_id", 1, INT64_MAX, &id))
		err = SF_ERR_NOT_FOUND;
	else if (!form_int(req, "quantity", 0, r.max_line_qty, &qty))
		err = SF_ERR_QUANTITY;
	else if (sf_shop_req_owner(req, resp, 0, &o) != SF_OK)
		err = SF_ERR_NOT_FOUND;
	else
		err = sf_cart_set_quantity(app->db, &o, &r, id, qty);
	return cart_done(req, resp, err);
}

enum sf_err sf_web_cart_remove(struct sf_req *req, struct sf_resp *resp)
{
	struct sf_app *app = req->app;
	struct sf_cart_owner o;
	int64_t id = 0;
	enum sf_err err = sf_form_parse(req);
	if (err)
		return err;
	if (!form_int(req, "item_id", 1, INT64_MAX, &id) || sf_shop_req_owner(req, resp, 0, &o) != SF_OK)
		err = SF_ERR_NOT_FOUND;
	else
		err = sf_cart_remove(app->db, &o, id);
	return cart_done(req, resp, err);
}

enum sf_err sf_web_cart_coupon(struct sf_req *req, struct sf_resp *resp)
{
	struct sf_app *app = req->app;
	struct sf_cart_owner o;
	struct sf_shop_rules r;
	enum sf_err err = sf_form_parse(req);
	if (err)
		return err;
	sf_shop_req_rules(req, &r);
	const char *code = sf_form_get(req, "coupon");
	if (code && sf_log_has_card(code, strlen(code)))
		err = SF_ERR_CARD_DATA;
	else if (sf_shop_req_owner(req, resp, 0, &o) != SF_OK)
		err = SF_ERR_CART_EMPTY;
	else
		err = sf_cart_set_coupon(app->db, &o, &r, code);
	return cart_done(req, resp, err);
}

/* ==== Checkout ==== */

/* The address fields of the form into ctx.form (for re-display and the
 * hidden inputs of later steps), never one holding a card number. */
static void form_values(struct sf_req *req, json_t *ctx)
{
	json_t *f = json_object();
	for (size_t i = 0; i < N_ADDR; i++)
		json_object_set_new(f, addr_fields[i], json_string(sf_form_echo(sf_form_get(req, addr_fields[i]))));
	json_object_set_new(ctx, "form", f);
}

static void address_of(struct sf_req *req, struct sf_address *a)
{
	a->name = sf_form_get(req, "name");
	a->street = sf_form_get(req, "street");
	a->city = sf_form_get(req, "city");
	a->postcode = sf_form_get(req, "postcode");
	a->country = sf_form_get(req, "country");
	a->phone = sf_form_get(req, "phone");
}

/* A checkout step's page with the posted address, extra (stolen) and the
 * refusal why that brought the shopper there (message NULL: the registry's
 * description; field NULL, or the input the refusal is about). */
static enum sf_err checkout_step(struct sf_req *req, struct sf_resp *resp, const char *tmpl, enum sf_err why,
				 json_t *extra, const char *message, const char *field)
{
	json_t *ctx = sf_web_shop_ctx(req, resp, "Checkout");
	if (ctx) {
		form_values(req, ctx);
		if (extra)
			json_object_update(ctx, extra);
	}
	json_decref(extra);
	set_error_msg(ctx, why, message);
	sf_web_mark_invalid(ctx, why ? field : NULL);
	return page(req, resp, why ? sf_err_status(why) : 200, tmpl, ctx);
}

/* Step 1 again, refused with err; for SF_ERR_ADDRESS the message names the
 * field that failed (never its value), and so does a card number in the
 * phone field (SF_LOG_PHONE_CARD_WHY); that input is marked invalid. */
static enum sf_err address_step(struct sf_req *req, struct sf_resp *resp, enum sf_err err)
{
	struct sf_address a;
	char country[3], why[SF_CHECKOUT_WHY_MAX];
	const char *field = NULL;
	address_of(req, &a);
	if ((err != SF_ERR_ADDRESS && err != SF_ERR_CARD_DATA) ||
	    sf_checkout_validate(&a, sf_form_get(req, "email"), country, why, sizeof why, &field) != err) {
		why[0] = '\0';
		field = NULL;
	}
	return checkout_step(req, resp, "checkout", err, NULL, why[0] ? why : NULL, field);
}

/* The visitor's non-empty cart for a checkout step: SF_OK and *cart, or
 * the error to return (*shown: the cart page was rendered with it). */
static enum sf_err checkout_cart(struct sf_req *req, struct sf_resp *resp, json_t **cart, int *shown)
{
	struct sf_app *app = req->app;
	struct sf_cart_owner o;
	struct sf_shop_rules r;
	*cart = NULL;
	*shown = 0;
	if (!app)
		return SF_ERR_UNAVAILABLE;
	sf_shop_req_rules(req, &r);
	enum sf_err err = sf_shop_req_owner(req, resp, 0, &o) != SF_OK ? SF_ERR_CART_EMPTY
									 : sf_cart_view(app->db, &o, &r, cart);
	if (!err && !json_is_true(json_object_get(*cart, "has_items")))
		err = SF_ERR_CART_EMPTY;
	if (!err && json_is_true(json_object_get(*cart, "too_large")))
		err = SF_ERR_TOO_LARGE; /* the cart page says what to change */
	if (err) {
		json_decref(*cart);
		*cart = NULL;
	}
	if (err == SF_ERR_CART_EMPTY || err == SF_ERR_TOO_LARGE) {
		*shown = 1;
		return cart_page(req, resp, err, NULL);
	}
	return err;
}

enum sf_err sf_web_checkout(struct sf_req *req, struct sf_resp *resp)
{
	json_t *cart = NULL;
	int shown = 0;
	enum sf_err err = checkout_cart(req, resp, &cart, &shown);
	if (err || shown)
		return err;
	return checkout_step(req, resp, "checkout", SF_OK, json_pack("{s:o}", "cart", cart), NULL, NULL);
}

/* Step 2: the address checks out; offer the shipping methods. */
static enum sf_err shipping_step(struct sf_req *req, struct sf_resp *resp, enum sf_err why)
{
	json_t *cart = NULL;
	int shown = 0;
	enum sf_err err = checkout_cart(req, resp, &cart, &shown);
	if (err || shown)
		return err;
	const char *chosen = sf_form_get(req, "shipping_method");
	size_t i;
	json_t *m;
	json_array_foreach(json_object_get(cart, "shipping_methods"), i, m)
	{
		const char *code = json_string_value(json_object_get(m, "code"));
		json_object_set_new(m, "checked", json_boolean(chosen ? code && !strcmp(code, chosen) : i == 0));
	}
	/* a refusal the shopper repairs in the cart (a coupon, stock) */
	int fix_cart = why && why != SF_ERR_SHIPPING_METHOD;
	return checkout_step(req, resp, "checkout_shipping", why,
			     json_pack("{s:o,s:b}", "cart", cart, "fix_cart", fix_cart), NULL,
			     why == SF_ERR_SHIPPING_METHOD ? "shipping_method" : NULL);
}

/* Parse the form and check the address carried in it.  SF_OK, or the
 * error to return: *shown says the address step was re-rendered with it. */
static enum sf_err posted_address(struct sf_req *req, struct sf_resp *resp, int *shown)
{
	struct sf_address a;
	char country[3];
	*shown = 0;
	enum sf_err err = sf_form_parse(req);
	if (err)
		return err;
	address_of(req, &a);
	err = sf_checkout_validate(&a, sf_form_get(req, "email"), country, NULL, 0, NULL);
	if (user_error(err)) {
		*shown = 1;
		return address_step(req, resp, err);
	}
	return err;
}

enum sf_err sf_web_checkout_shipping(struct sf_req *req, struct sf_resp *resp)
{
	int shown = 0;
	enum sf_err err = posted_address(req, resp, &shown);
	return err || shown ? err : shipping_step(req, resp, SF_OK);
}

/* Where a refused checkout form goes back to, keeping what the shopper
 * typed: the address step for the address, the cart page when the cart
 * has nothing to order or is above the money cap (the cart says what to
 * change), else the shipping step with the address and method kept and
 * the error (a coupon no longer valid, stock gone, no such method).
 * Errors of the server (5xx) go to the layer. */
static enum sf_err refused(struct sf_req *req, struct sf_resp *resp, enum sf_err err)
{
	if (!user_error(err))
		return err;
	if (err == SF_ERR_ADDRESS || err == SF_ERR_CARD_DATA)
		return address_step(req, resp, err);
	if (err == SF_ERR_CART_EMPTY || err == SF_ERR_TOO_LARGE)
		return cart_page(req, resp, err, NULL);
	return shipping_step(req, resp, err);
}

/* Step 3: the cart priced with the posted shipping method, and a fresh
 * idempotency key for the place form; why and message (NULL: the
 * registry's description): the refusal of a place that brought the
 * shopper back here. */
static enum sf_err review_step(struct sf_req *req, struct sf_resp *resp, enum sf_err why, const char *message)
{
	struct sf_app *app = req->app;
	struct sf_cart_owner o;
	struct sf_shop_rules r;
	char key[33];
	json_t *review = NULL;
	sf_shop_req_rules(req, &r);
	if (sf_shop_req_owner(req, resp, 0, &o) != SF_OK)
		return cart_page(req, resp, SF_ERR_CART_EMPTY, NULL);
	enum sf_err err = sf_checkout_preview(app->db, &r, &o, sf_form_get(req, "shipping_method"), NULL, &review);
	if (err)
		return refused(req, resp, err);
	sf_rand_base32(key, 32);
	key[32] = '\0';
	return checkout_step(req, resp, "checkout_review", why,
			     json_pack("{s:o,s:s,s:s}", "review", review, "idempotency_key", key, "shipping_method",
				       sf_form_get(req, "shipping_method")),
			     message, NULL);
}

enum sf_err sf_web_checkout_review(struct sf_req *req, struct sf_resp *resp)
{
	int shown = 0;
	enum sf_err err = posted_address(req, resp, &shown);
	return err || shown ? err : review_step(req, resp, SF_OK, NULL);
}

enum sf_err sf_web_checkout_place(struct sf_req *req, struct sf_resp *resp)
{
	struct sf_app *app = req->app;
	struct sf_checkout_req cr;
	struct sf_shop_rules r;
	int64_t id = 0;
	int replayed = 0;
	memset(&cr, 0, sizeof cr);
	enum sf_err err = sf_form_parse(req);
	if (err)
		return err;
	address_of(req, &cr.address);
	cr.email = sf_form_get(req, "email");
	cr.shipping_method = sf_form_get(req, "shipping_method");
	cr.idem_key = sf_form_get(req, "idempotency_key");
	/* the review's fingerprint: the form always sends it, and without it
	 * nothing says what the shopper agreed to ("" never matches) */
	cr.review_fp = sf_form_get(req, "review_fingerprint");
	if (!cr.review_fp)
		cr.review_fp = "";
	sf_shop_req_rules(req, &r);
	sf_shop_req_actor(req, &cr.actor);
	if (sf_shop_req_owner(req, resp, 0, &cr.owner) != SF_OK)
		return cart_page(req, resp, SF_ERR_CART_EMPTY, NULL);
	err = sf_checkout_place(app->db, app->keys, &r, &cr, &id, &replayed);
	/* the form's hidden key is missing, malformed, or was used for
	 * another order: a shopper knows nothing of headers */
	if (err == SF_ERR_IDEMPOTENCY_KEY || err == SF_ERR_IDEMPOTENCY)
		return review_step(req, resp, err,
				   "This order form has expired or was already used: please check the order and "
				   "place it again.");
	/* not what was reviewed: nothing placed; the new figures and a fresh
	 * fingerprint to agree to */
	if (err == SF_ERR_CART_CHANGED)
		return review_step(req, resp, err, NULL);
	if (err)
		return refused(req, resp, err);
	const char *loc = sf_arena_printf(req->arena, "/orders/%" PRId64, id);
	return loc ? sf_resp_redirect(req, resp, 303, loc) : SF_ERR_NOMEM;
}

/* ==== Orders ==== */

enum sf_err sf_web_shop_order_page(struct sf_req *req, struct sf_resp *resp, int personal, const char *tmpl)
{
	struct sf_app *app = req->app;
	struct sf_cart_owner o;
	json_t *order = NULL;
	int64_t id = sf_shop_req_id(req, "id");
	if (!app)
		return SF_ERR_UNAVAILABLE;
	if (!id || sf_shop_req_owner(req, resp, 0, &o) != SF_OK)
		return SF_ERR_NOT_FOUND;
	struct sf_order_viewer v = {.owner = &o};
	sf_shop_req_actor(req, &v.actor);
	enum sf_err err = sf_order_fetch(app->db, app->keys, id, &v, personal, &order);
	if (err)
		return err;
	char title[48];
	snprintf(title, sizeof title, "Order %" PRId64, id);
	json_t *ctx = sf_web_shop_ctx(req, resp, title);
	/* what was paid and given back, once something was */
	const json_t *refunded = json_object_get(json_object_get(json_object_get(order, "totals"), "refunded"), "amount");
	if (ctx)
		json_object_set_new(ctx, "has_refund", json_boolean(json_integer_value(refunded) > 0));
	/* The return page's outcome: paid and on its way, cancelled (a payment
	 * that came too late is refunded by itself), or refunded. */
	const char *status = json_string_value(json_object_get(order, "status"));
	if (ctx && status) {
		int cancelled = !strcmp(status, "cancelled");
		int gave_back = !strcmp(status, "refunded") || !strcmp(status, "partially_refunded");
		json_object_set_new(ctx, "ret_cancelled", json_boolean(cancelled));
		json_object_set_new(ctx, "ret_refunded", json_boolean(gave_back));
		json_object_set_new(ctx, "ret_paid", json_boolean(!cancelled && !gave_back &&
								   strcmp(status, "pending_payment")));
	}
	if (ctx)
		json_object_set_new(ctx, "order", order);
	else
		json_decref(order);
	return page(req, resp, 200, tmpl, ctx);
}

enum sf_err sf_web_order(struct sf_req *req, struct sf_resp *resp)
{
	return sf_web_shop_order_page(req, resp, 1, "order");
}

enum sf_err sf_web_account_orders(struct sf_req *req, struct sf_resp *resp)
{
	struct sf_app *app = req->app;
	const struct sf_principal *p = sf_auth_principal(req);
	json_t *list = NULL;
	if (!app)
		return SF_ERR_UNAVAILABLE;
	if (!p || p->kind != SF_PRINCIPAL_CUSTOMER)
		return SF_ERR_UNAUTHORIZED;
	enum sf_err err = sf_order_list(app->db, p->id, 100, 0, &list);
	if (err)
		return err;
	json_t *ctx = sf_web_shop_ctx(req, resp, "Your orders");
	if (ctx)
		json_object_set_new(ctx, "orders", list);
	else
		json_decref(list);
	return page(req, resp, 200, "orders", ctx);
}

/* ==== Shared with the pay and account pages ==== */

json_t *sf_web_shop_ctx(struct sf_req *req, struct sf_resp *resp, const char *title)
{
	const char *tok = sf_auth_csrf_token(req, resp);
	json_t *ctx = tok ? sf_web_page_base(req->app, title) : NULL;
	if (ctx && json_object_set_new(ctx, "csrf_token", json_string(tok)) != 0) {
		json_decref(ctx);
		return NULL;
	}
	return ctx;
}

enum sf_err sf_web_shop_render(struct sf_req *req, struct sf_resp *resp, unsigned status, const char *name,
			       json_t *ctx)
{
	return page(req, resp, status, name, ctx);
}
