/*
 * shop_api.h — the JSON API of cart, checkout and orders under /api/v1, and
 * the request helpers the shop's page handlers share with it.
 *
 *   GET    /api/v1/cart                 the cart (+ "csrf_token" for the writes)
 *   PATCH  /api/v1/cart                 {"coupon": "CODE" | null}
 *   DELETE /api/v1/cart                 empty the cart
 *   POST   /api/v1/cart/items           {"variant_id": n | "sku": s, "quantity": n} -> 201
 *   PATCH  /api/v1/cart/items/{id}      {"quantity": n} (0 removes)
 *   DELETE /api/v1/cart/items/{id}
 *   POST   /api/v1/checkout             Idempotency-Key header; {"email", "address":
 *                                       {name, street, city, postcode, country, phone?},
 *                                       "shipping_method", "coupon"?} -> 201 {"order"}
 *                                       (200 with the same order on a replay)
 *   GET    /api/v1/orders               the signed-in customer's orders (401 otherwise)
 *   GET    /api/v1/orders/{id}          one order of the caller (customer, or the guest
 *                                       cart cookie that placed it); others -> 404
 * The cart is the signed-in customer's, else the guest cart of the
 * `__Host-sf_cart` cookie (set on the first write).  Writes need the
 * X-CSRF-Token header (cookie sessions).  Prices in a request are never
 * read; any string holding a card number is refused (card_data_refused).
 */
#ifndef SF_API_SHOP_API_H
#define SF_API_SHOP_API_H

#include "core/err.h"
#include "http/http.h"
#include "shop/cart.h"
#include "shop/commerce.h"

enum sf_err sf_api_cart_get(struct sf_req *req, struct sf_resp *resp);
enum sf_err sf_api_cart_patch(struct sf_req *req, struct sf_resp *resp);
enum sf_err sf_api_cart_delete(struct sf_req *req, struct sf_resp *resp);
enum sf_err sf_api_cart_item_add(struct sf_req *req, struct sf_resp *resp);
enum sf_err sf_api_cart_item_patch(struct sf_req *req, struct sf_resp *resp);
enum sf_err sf_api_cart_item_delete(struct sf_req *req, struct sf_resp *resp);
enum sf_err sf_api_checkout(struct sf_req *req, struct sf_resp *resp);
enum sf_err sf_api_orders_list(struct sf_req *req, struct sf_resp *resp);
enum sf_err sf_api_order_get(struct sf_req *req, struct sf_resp *resp);

/* ==== Shared with src/web/shop_pages.c ==== */

/* The cart owner of this request: the signed-in customer, else the guest
 * cookie.  With create, a guest without a (well-formed) cookie gets a new
 * token and its Set-Cookie on resp.  SF_OK; SF_ERR_NOT_FOUND (no owner and
 * !create); SF_ERR_NOMEM. */
enum sf_err sf_shop_req_owner(struct sf_req *req, struct sf_resp *resp, int create,
			      struct sf_cart_owner *o) SF_WARN_UNUSED;
/* The actor of this request for order events and the audit trail (strings
 * in the request arena). */
void sf_shop_req_actor(struct sf_req *req, struct sf_shop_actor *a);
/* The [shop] rules of the running configuration. */
void sf_shop_req_rules(const struct sf_req *req, struct sf_shop_rules *r);
/* At login (after the session started): move the guest cart of the
 * request's cart cookie into customer_id's cart (sf_cart_merge, under the
 * configured [shop] rules).  A
 * failure is logged and does not fail the login. */
void sf_shop_req_merge_cart(struct sf_req *req, int64_t customer_id);
/* A positive id from a path parameter, or 0. */
int64_t sf_shop_req_id(const struct sf_req *req, const char *name);

#endif
