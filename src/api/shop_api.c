/*
 * shop_api.c — JSON handlers for cart, checkout and orders (shop_api.h).
 *
 * Each handler: resolve the owner, validate the body with explicit type
 * checks (a wrong type is a 400 with a stable code, never a 500), call the
 * domain (src/shop), answer JSON.  Unknown members are ignored, so a price
 * sent by a client has no effect; a card number in any string is refused.
 */
#include "api/shop_api.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth/auth.h"
#include "auth/form.h"
#include "core/app.h"
#include "core/log.h"
#include "core/util.h"
#include "shop/checkout.h"
#include "shop/order.h"
#include "shop/payment.h"

/* ==== Request helpers ==== */

enum sf_err sf_shop_req_owner(struct sf_req *req, struct sf_resp *resp, int create, struct sf_cart_owner *o)
{
	const struct sf_principal *p = sf_auth_principal(req);
	if (p && p->kind == SF_PRINCIPAL_CUSTOMER && p->id > 0) {
		sf_cart_owner_customer(p->id, o);
		return SF_OK;
	}
	const char *tok = sf_req_cookie(req, SF_CART_COOKIE);
	if (tok && sf_cart_owner_guest(tok, o) == SF_OK)
		return SF_OK;
	if (!create)
		return SF_ERR_NOT_FOUND;
	char fresh[SF_CART_TOKEN_LEN + 1];
	sf_cart_token_new(fresh);
	enum sf_err err = sf_cart_owner_guest(fresh, o);
	const char *cookie = sf_arena_printf(req->arena,
					     SF_CART_COOKIE "=%s; Path=/; Max-Age=%d; Secure; HttpOnly; SameSite=Lax",
					     fresh, SF_CART_COOKIE_MAX_AGE);
	memset(fresh, 0, sizeof fresh);
	if (err)
		return err;
	return cookie ? sf_resp_header(req, resp, "Set-Cookie", cookie) : SF_ERR_NOMEM;
}

void sf_shop_req_actor(struct sf_req *req, struct sf_shop_actor *a)
{
	const struct sf_principal *p = sf_auth_principal(req);
	memset(a, 0, sizeof *a);
	if (p && p->kind == SF_PRINCIPAL_CUSTOMER) {
		a->type = "customer";
		a->id = sf_arena_printf(req->arena, "%" PRId64, p->id);
	} else {
		a->type = "anonymous";
	}
	a->ip = req->client_ip;
	a->request_id = req->request_id;
}

void sf_shop_req_rules(const struct sf_req *req, struct sf_shop_rules *r)
{
	const struct sf_app *app = req->app;
	sf_shop_rules_init(r, app ? app->cfg : NULL);
}

int64_t sf_shop_req_id(const struct sf_req *req, const char *name)
{
	int64_t id = 0;
	const char *s = sf_req_param(req, name);
	if (!s || sf_parse_i64(s, 1, INT64_MAX, &id) != SF_OK)
		return 0;
	return id;
}

void sf_shop_req_merge_cart(struct sf_req *req, int64_t customer_id)
{
	const struct sf_app *app = req->app;
	const char *tok = sf_req_cookie(req, SF_CART_COOKIE);
	struct sf_shop_rules r;
	if (!app || !tok)
		return;
	sf_shop_req_rules(req, &r);
	enum sf_err err = sf_cart_merge(app->db, &r, tok, customer_id);
	if (err)
		sf_log(SF_LOG_WARN, "cart.merge_failed", "guest cart not merged at login: %s request_id=%s",
		       sf_err_code(err), req->request_id);
}

/* ==== Body helpers ==== */

/* How many strings (member names included) anywhere in v hold a card
 * number: *n in all, *phones of them the value of a member named "phone"
 * (key: the member v is the value of, or NULL). */
static void json_cards(const json_t *v, int depth, const char *key, size_t *n, size_t *phones)
{
	if (depth > SF_JSON_MAX_DEPTH)
		return;
	if (json_is_string(v)) {
		if (sf_log_has_card(json_string_value(v), json_string_length(v))) {
			++*n;
			*phones += key && !strcmp(key, "phone");
		}
		return;
	}
	const char *k;
	const json_t *x;
	size_t i;
	if (json_is_object(v)) {
		json_object_foreach((json_t *)v, k, x)
		{
			*n += sf_log_has_card(k, strlen(k)) != 0;
			json_cards(x, depth + 1, k, n, phones);
		}
	} else if (json_is_array(v)) {
		json_array_foreach(v, i, x)
			json_cards(x, depth + 1, NULL, n, phones);
	}
}

/* The JSON body, or SF_ERR_CARD_DATA when any string in it holds a card
 * number; *phone_only (when not NULL) then tells whether every such
 * string was a phone number (SF_LOG_PHONE_CARD_WHY says how to write
 * one). */
static enum sf_err body_json_cards(struct sf_req *req, json_t **out, int *phone_only)
{
	size_t n = 0, phones = 0;
	enum sf_err err = sf_json_body(req, out);
	if (err)
		return err;
	json_cards(*out, 0, NULL, &n, &phones);
	if (n) {
		json_decref(*out);
		*out = NULL;
		if (phone_only)
			*phone_only = phones == n;
		return SF_ERR_CARD_DATA;
	}
	return SF_OK;
}

static enum sf_err body_json(struct sf_req *req, json_t **out)
{
	return body_json_cards(req, out, NULL);
}

/* A quantity member: an integer in [min, max]. */
static enum sf_err quantity_of(const json_t *body, int64_t min, int64_t max, int64_t dflt, int64_t *out)
{
	const json_t *q = json_object_get(body, "quantity");
	if (!q) {
		*out = dflt;
		return SF_OK;
	}
	if (!json_is_integer(q) || json_integer_value(q) < min || json_integer_value(q) > max)
		return SF_ERR_QUANTITY;
	*out = json_integer_value(q);
	return SF_OK;
}

/* Answer cart (consumed) with status and a CSRF token for the next write. */
static enum sf_err cart_answer(struct sf_req *req, struct sf_resp *resp, json_t *cart, unsigned status)
{
	const char *tok = sf_auth_csrf_token(req, resp);
	if (!tok || json_object_set_new(cart, "csrf_token", json_string(tok))) {
		json_decref(cart);
		return SF_ERR_NOMEM;
	}
	return sf_resp_json(req, resp, status, cart);
}

/* Answer the owner's cart with status (and a CSRF token for the next write). */
static enum sf_err send_cart(struct sf_req *req, struct sf_resp *resp, const struct sf_cart_owner *o,
			     unsigned status)
{
	struct sf_app *app = req->app;
	struct sf_shop_rules r;
	json_t *cart = NULL;
	sf_shop_req_rules(req, &r);
	enum sf_err err = sf_cart_view(app->db, o, &r, &cart);
	if (err)
		return err;
	return cart_answer(req, resp, cart, status);
}

static const struct sf_cart_owner nobody; /* an owner without a cart */

/* ==== Cart ==== */

enum sf_err sf_api_cart_get(struct sf_req *req, struct sf_resp *resp)
{
	struct sf_cart_owner o;
	if (!req->app)
		return SF_ERR_UNAVAILABLE;
	enum sf_err err = sf_shop_req_owner(req, resp, 0, &o);
	return send_cart(req, resp, err ? &nobody : &o, 200);
}

enum sf_err sf_api_cart_patch(struct sf_req *req, struct sf_resp *resp)
{
	struct sf_app *app = req->app;
	struct sf_cart_owner o;
	struct sf_shop_rules r;
	json_t *body = NULL;
	enum sf_err err = body_json(req, &body);
	if (err)
		return err;
	const json_t *c = json_object_get(body, "coupon");
	if (!c || !(json_is_string(c) || json_is_null(c))) {
		err = SF_ERR_BAD_PARAM;
		goto out;
	}
	err = sf_shop_req_owner(req, resp, 1, &o);
	if (err)
		goto out;
	sf_shop_req_rules(req, &r);
	err = sf_cart_set_coupon(app->db, &o, &r, json_is_string(c) ? json_string_value(c) : NULL);
	if (!err)
		err = send_cart(req, resp, &o, 200);
out:
	json_decref(body);
	return err;
}

enum sf_err sf_api_cart_delete(struct sf_req *req, struct sf_resp *resp)
{
	struct sf_app *app = req->app;
	struct sf_cart_owner o;
	enum sf_err err = sf_shop_req_owner(req, resp, 0, &o);
	if (err)
		return send_cart(req, resp, &nobody, 200);
	err = sf_cart_clear(app->db, &o);
	return err ? err : send_cart(req, resp, &o, 200);
}

enum sf_err sf_api_cart_item_add(struct sf_req *req, struct sf_resp *resp)
{
	struct sf_app *app = req->app;
	struct sf_cart_owner o;
	struct sf_shop_rules r;
	json_t *body = NULL;
	int64_t qty = 0, vid = 0;
	const char *sku = NULL;
	sf_shop_req_rules(req, &r);
	enum sf_err err = body_json(req, &body);
	if (err)
		return err;
	const json_t *v = json_object_get(body, "variant_id");
	const json_t *s = json_object_get(body, "sku");
	if (v && !json_is_integer(v)) {
		err = SF_ERR_BAD_PARAM;
		goto out;
	}
	if (s && !json_is_string(s)) {
		err = SF_ERR_BAD_PARAM;
		goto out;
	}
	if (!v && !s) {
		err = SF_ERR_BAD_PARAM;
		goto out;
	}
	vid = v ? json_integer_value(v) : 0;
	sku = s ? json_string_value(s) : NULL;
	if (v && vid <= 0) {
		err = SF_ERR_NOT_FOUND;
		goto out;
	}
	err = quantity_of(body, 1, r.max_line_qty, 1, &qty);
	if (!err)
		err = sf_shop_req_owner(req, resp, 1, &o);
	json_t *cart = NULL;
	if (!err)
		err = sf_cart_add_view(app->db, &o, &r, vid, sku, qty, &cart);
	if (!err)
		err = cart_answer(req, resp, cart, 201);
out:
	json_decref(body);
	return err;
}

enum sf_err sf_api_cart_item_patch(struct sf_req *req, struct sf_resp *resp)
{
	struct sf_app *app = req->app;
	struct sf_cart_owner o;
	struct sf_shop_rules r;
	json_t *body = NULL;
	int64_t qty = 0, id = sf_shop_req_id(req, "id");
	sf_shop_req_rules(req, &r);
	if (!id)
		return SF_ERR_NOT_FOUND;
	enum sf_err err = body_json(req, &body);
	if (err)
		return err;
	if (!json_object_get(body, "quantity"))
		err = SF_ERR_QUANTITY;
	if (!err)
		err = quantity_of(body, 0, r.max_line_qty, 0, &qty);
	if (!err)
		err = sf_shop_req_owner(req, resp, 0, &o);
	if (!err)
		err = sf_cart_set_quantity(app->db, &o, &r, id, qty);
	if (!err)
		err = send_cart(req, resp, &o, 200);
	json_decref(body);
	return err;
}

enum sf_err sf_api_cart_item_delete(struct sf_req *req, struct sf_resp *resp)
{
	struct sf_app *app = req->app;
	struct sf_cart_owner o;
	int64_t id = sf_shop_req_id(req, "id");
	if (!id)
		return SF_ERR_NOT_FOUND;
	enum sf_err err = sf_shop_req_owner(req, resp, 0, &o);
	if (!err)
		err = sf_cart_remove(app->db, &o, id);
	return err ? err : send_cart(req, resp, &o, 200);
}

/* ==== Checkout and orders ==== */

/* A string member or NULL; *bad set when present with another type. */
static const char *str_member(const json_t *o, const char *k, int *bad)
{
	const json_t *v = json_object_get(o, k);
	if (!v || json_is_null(v))
		return NULL;
	if (!json_is_string(v)) {
		*bad = 1;
		return NULL;
	}
	return json_string_value(v);
}

/* The checkout answer's "payment" member when the body asked for one
 * ("pay": true): the provider's redirect, or why the payment could not
 * start.  The order stands either way, and POST /api/v1/orders/{id}/pay
 * can start it later.  order is the order as the answer shows it, read
 * with the shopper's rights: the payment starts from it, not from a
 * second read. */
static json_t *checkout_payment(struct sf_app *app, int64_t id, const json_t *order)
{
	struct sf_order_brief b;
	char *url = NULL;
	enum sf_err err = sf_order_brief_of(order, &b);
	if (!err)
		err = sf_pay_start_brief(app->payments, app->db, app->keys, id, &b, &url);
	json_t *js = err ? json_pack("{s:{s:s,s:s}}", "error", "code", sf_err_code(err), "message", sf_err_desc(err))
			 : json_pack("{s:s}", "redirect_url", url);
	free(url);
	return js;
}

enum sf_err sf_api_checkout(struct sf_req *req, struct sf_resp *resp)
{
	struct sf_app *app = req->app;
	struct sf_checkout_req cr;
	struct sf_shop_rules r;
	json_t *body = NULL, *order = NULL;
	int64_t id = 0;
	int replayed = 0, bad = 0;
	json_t *payment = NULL;
	memset(&cr, 0, sizeof cr);
	cr.idem_key = sf_req_header(req, "Idempotency-Key");
	if (!cr.idem_key)
		return SF_ERR_IDEMPOTENCY_KEY;
	int phone_only = 0;
	enum sf_err err = body_json_cards(req, &body, &phone_only);
	if (err == SF_ERR_CARD_DATA && phone_only) {
		sf_resp_error(req, resp, err, SF_LOG_PHONE_CARD_WHY);
		return SF_OK;
	}
	if (err)
		return err;
	const json_t *addr = json_object_get(body, "address");
	if (!json_is_object(addr)) {
		err = SF_ERR_ADDRESS;
		goto out;
	}
	cr.email = str_member(body, "email", &bad);
	cr.shipping_method = str_member(body, "shipping_method", &bad);
	cr.coupon = str_member(body, "coupon", &bad);
	cr.address.name = str_member(addr, "name", &bad);
	cr.address.street = str_member(addr, "street", &bad);
	cr.address.city = str_member(addr, "city", &bad);
	cr.address.postcode = str_member(addr, "postcode", &bad);
	cr.address.country = str_member(addr, "country", &bad);
	cr.address.phone = str_member(addr, "phone", &bad);
	const json_t *pay = json_object_get(body, "pay");
	/* the total the client showed its shopper: no order at another one */
	const json_t *expect = json_object_get(body, "expected_total");
	if (expect && !json_is_null(expect)) {
		cr.check_total = 1;
		cr.expect_total = json_is_integer(expect) ? json_integer_value(expect) : -1;
		bad |= cr.expect_total < 0;
	}
	if (bad || (pay && !json_is_boolean(pay) && !json_is_null(pay))) {
		err = SF_ERR_BAD_PARAM;
		goto out;
	}
	if (!cr.coupon)
		cr.coupon = ""; /* the API names its coupon explicitly */
	err = sf_shop_req_owner(req, resp, 0, &cr.owner);
	if (err) {
		err = SF_ERR_CART_EMPTY;
		goto out;
	}
	sf_shop_req_actor(req, &cr.actor);
	sf_shop_req_rules(req, &r);
	struct sf_order_viewer v = {.owner = &cr.owner, .actor = cr.actor};
	err = sf_checkout_place_view(app->db, app->keys, &r, &cr, &v, &id, &replayed, &order);
	if (err == SF_ERR_ADDRESS) {
		/* name the field that failed (never its value) */
		char country[3], why[SF_CHECKOUT_WHY_MAX];
		if (sf_checkout_validate(&cr.address, cr.email, country, why, sizeof why, NULL) == SF_ERR_ADDRESS) {
			sf_resp_error(req, resp, err, why);
			err = SF_OK;
		}
		goto out;
	}
	if (err)
		goto out;
	if (json_is_true(pay) && !(payment = checkout_payment(app, id, order))) {
		json_decref(order);
		err = SF_ERR_NOMEM;
		goto out;
	}
	err = sf_resp_json(req, resp, replayed ? 200 : 201,
			   payment ? json_pack("{s:o,s:b,s:o}", "order", order, "replayed", replayed, "payment", payment)
				   : json_pack("{s:o,s:b}", "order", order, "replayed", replayed));
	order = NULL;
	if (!err) {
		const char *loc = sf_arena_printf(req->arena, "/api/v1/orders/%" PRId64, id);
		err = loc ? sf_resp_header(req, resp, "Location", loc) : SF_ERR_NOMEM;
	}
out:
	json_decref(body);
	return err;
}

enum sf_err sf_api_orders_list(struct sf_req *req, struct sf_resp *resp)
{
	struct sf_app *app = req->app;
	const struct sf_principal *p = sf_auth_principal(req);
	int64_t page = 1;
	json_t *list = NULL;
	if (!p || p->kind != SF_PRINCIPAL_CUSTOMER)
		return SF_ERR_UNAUTHORIZED;
	const char *ps = sf_req_query(req, "page");
	if (ps && sf_parse_i64(ps, 1, 10000, &page) != SF_OK)
		return SF_ERR_BAD_PARAM;
	enum sf_err err = sf_order_list(app->db, p->id, 50, (page - 1) * 50, &list);
	return err ? err : sf_resp_json(req, resp, 200, list);
}

enum sf_err sf_api_order_get(struct sf_req *req, struct sf_resp *resp)
{
	struct sf_app *app = req->app;
	struct sf_cart_owner o;
	json_t *order = NULL;
	int64_t id = sf_shop_req_id(req, "id");
	if (!id || sf_shop_req_owner(req, resp, 0, &o) != SF_OK)
		return SF_ERR_NOT_FOUND;
	struct sf_order_viewer v = {.owner = &o};
	sf_shop_req_actor(req, &v.actor);
	enum sf_err err = sf_order_fetch(app->db, app->keys, id, &v, 1, &order);
	return err ? err : sf_resp_json(req, resp, 200, order);
}
