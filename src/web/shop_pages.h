/*
 * shop_pages.h — storefront pages for the cart, the checkout steps and
 * orders (server-rendered, no JavaScript needed; every form carries the
 * CSRF token).
 *
 *   GET  /cart                 the cart: quantities, remove, coupon
 *   GET  /cart/add?sku=&quantity=  confirm adding (the product page's form:
 *                              product pages are cached, so they hold no
 *                              per-visitor CSRF token; this page does)
 *   POST /cart/add             variant (sku), quantity -> 303 /cart
 *   POST /cart/update          item_id, quantity (0 removes) -> 303 /cart
 *   POST /cart/remove          item_id -> 303 /cart
 *   POST /cart/coupon          coupon ("" removes) -> 303 /cart
 *   GET  /checkout             step 1: e-mail and shipping address
 *   POST /checkout/shipping    step 2: shipping method (address carried along)
 *   POST /checkout/review      step 3: review with totals + place order form
 *                              (a fresh Idempotency key per form)
 *   POST /checkout/place       places the order -> 303 /orders/{id}
 *   GET  /orders/{id}          order confirmation / detail (its owner only)
 *   GET  /account/orders       the signed-in customer's order history
 * A form error re-renders its page with the error's text and 4xx status.
 */
#ifndef SF_WEB_SHOP_PAGES_H
#define SF_WEB_SHOP_PAGES_H

#include <jansson.h>

#include "core/err.h"
#include "http/http.h"

enum sf_err sf_web_cart(struct sf_req *req, struct sf_resp *resp);
enum sf_err sf_web_cart_add_form(struct sf_req *req, struct sf_resp *resp);
enum sf_err sf_web_cart_add(struct sf_req *req, struct sf_resp *resp);
enum sf_err sf_web_cart_update(struct sf_req *req, struct sf_resp *resp);
enum sf_err sf_web_cart_remove(struct sf_req *req, struct sf_resp *resp);
enum sf_err sf_web_cart_coupon(struct sf_req *req, struct sf_resp *resp);
enum sf_err sf_web_checkout(struct sf_req *req, struct sf_resp *resp);
enum sf_err sf_web_checkout_shipping(struct sf_req *req, struct sf_resp *resp);
enum sf_err sf_web_checkout_review(struct sf_req *req, struct sf_resp *resp);
enum sf_err sf_web_checkout_place(struct sf_req *req, struct sf_resp *resp);
enum sf_err sf_web_order(struct sf_req *req, struct sf_resp *resp);
enum sf_err sf_web_account_orders(struct sf_req *req, struct sf_resp *resp);

/* For the other storefront page files: the base template context of this
 * file's pages (shop, title, csrf_token; NULL when out of memory), and
 * rendering template name with ctx (stolen) at status. */
json_t *sf_web_shop_ctx(struct sf_req *req, struct sf_resp *resp, const char *title);
/* Order {id} of this request's owner (others: SF_ERR_NOT_FOUND) rendered
 * with template tmpl under "order"; personal: unseal e-mail and address
 * (audited).  Errors as sf_order_fetch. */
enum sf_err sf_web_shop_order_page(struct sf_req *req, struct sf_resp *resp, int personal,
				   const char *tmpl) SF_WARN_UNUSED;
enum sf_err sf_web_shop_render(struct sf_req *req, struct sf_resp *resp, unsigned status, const char *name,
			       json_t *ctx) SF_WARN_UNUSED;

#endif
