/*
 * routes.c — the route table.  One row per endpoint; the http layer matches
 * method + path and enforces what each row declares.  Static assets are the
 * only rows flagged SF_ROUTE_STATIC (never inspected by the WAF).
 */
#include "api/routes.h"

#include "api/catalog_api.h"
#include "api/account_api.h"
#include "api/health_api.h"
#include "api/shop_api.h"
#include "api/pay_api.h"
#include "web/account_pages.h"
#include "auth/rbac.h"
#include "web/admin_auth_pages.h"
#include "web/admin_pages.h"
#include "web/pages.h"
#include "web/shop_pages.h"
#include "web/pay_pages.h"

#define PUBLIC_READ(m, p, h) {m, p, h, SF_AUTH_NONE, NULL, SF_CSRF_NONE, SF_RC_READ, 0, 0}
/* Customer accounts: anonymous forms (register, login, reset) are CSRF-bound
 * to the pre-session cookie; signed-in routes need the customer session. */
#define ACCOUNT_BODY_MAX 65536
#define ACCOUNT_ANON_POST(p, h) {"POST", p, h, SF_AUTH_NONE, NULL, SF_CSRF_REQUIRED, SF_RC_AUTH, ACCOUNT_BODY_MAX, 0}
#define CUSTOMER_READ(p, h) {"GET", p, h, SF_AUTH_CUSTOMER, "account.self", SF_CSRF_NONE, SF_RC_READ, 0, 0}
#define CUSTOMER_WRITE(m, p, h)                                                                                \
	{m, p, h, SF_AUTH_CUSTOMER, "account.self", SF_CSRF_REQUIRED, SF_RC_WRITE, ACCOUNT_BODY_MAX, 0}

/* Cart and checkout: guests too (cart cookie), so public rows whose writes
 * are CSRF-bound (pre-session or session); placing an order is SF_RC_ORDER. */
#define SHOP_BODY_MAX 65536
#define SHOP_WRITE(m, p, h) {m, p, h, SF_AUTH_NONE, NULL, SF_CSRF_REQUIRED, SF_RC_WRITE, SHOP_BODY_MAX, 0}
/* Provider webhooks: no session, no CSRF token; the handler verifies the
 * provider's signature (SF_AUTH_SIGNED). */
#define PAY_WEBHOOK(p, h)                                                                                      \
	{"POST", p, h, SF_AUTH_SIGNED, "payment.notify", SF_CSRF_EXEMPT, SF_RC_WEBHOOK, SF_PAY_WEBHOOK_BODY_MAX, 0}
#define SHOP_ORDER(p, h) {"POST", p, h, SF_AUTH_NONE, NULL, SF_CSRF_REQUIRED, SF_RC_ORDER, SHOP_BODY_MAX, 0}

/* Back-office pages (web/admin_*.c): staff session, a permission each, CSRF
 * on every POST.  The image upload is multipart: its handler checks the
 * CSRF token of the multipart body itself (admin_pages.h). */
#define ADMIN_BODY_MAX 262144
#define ADMIN_UPLOAD_MAX (3u * 1024u * 1024u)
#define ADMIN_READ(p, h, perm) {"GET", p, h, SF_AUTH_STAFF, perm, SF_CSRF_NONE, SF_RC_ADMIN, 0, 0}
#define ADMIN_POST(p, h, perm) {"POST", p, h, SF_AUTH_STAFF, perm, SF_CSRF_REQUIRED, SF_RC_ADMIN, ADMIN_BODY_MAX, 0}

/* The way into the back office (web/admin_auth_pages.c): the sign-in and
 * enrollment forms are anonymous rows (permission SF_RBAC_LOGIN, CSRF bound
 * to the pre-session); the steps of a staff session part-way through
 * signing in are SF_RBAC_LOGIN_STEP; the staff member's own pages
 * SF_RBAC_SELF.  Bearer-token rows are SF_AUTH_TOKEN (CSRF exempt). */
#define STAFF_LOGIN_READ(p, h) {"GET", p, h, SF_AUTH_NONE, SF_RBAC_LOGIN, SF_CSRF_NONE, SF_RC_AUTH, 0, 0}
#define STAFF_LOGIN_POST(p, h) {"POST", p, h, SF_AUTH_NONE, SF_RBAC_LOGIN, SF_CSRF_REQUIRED, SF_RC_AUTH, 16384, 0}
#define STAFF_STEP_READ(p, h) {"GET", p, h, SF_AUTH_STAFF, SF_RBAC_LOGIN_STEP, SF_CSRF_NONE, SF_RC_AUTH, 0, 0}
#define STAFF_STEP_POST(p, h) {"POST", p, h, SF_AUTH_STAFF, SF_RBAC_LOGIN_STEP, SF_CSRF_REQUIRED, SF_RC_AUTH, 16384, 0}
#define STAFF_API(m, p, h, perm) {m, p, h, SF_AUTH_STAFF, perm, SF_CSRF_REQUIRED, SF_RC_ADMIN, 16384, 0}
#define TOKEN_READ(p, h, perm) {"GET", p, h, SF_AUTH_TOKEN, perm, SF_CSRF_NONE, SF_RC_ADMIN, 0, 0}

static const struct sf_route routes[] = {
	/* back-office sign-in, enrollment, second factor, sessions */
	STAFF_LOGIN_READ("/admin/login", sf_web_admin_login_form),
	STAFF_LOGIN_POST("/admin/login", sf_web_admin_login),
	STAFF_LOGIN_READ("/admin/enroll", sf_web_admin_enroll_form),
	STAFF_LOGIN_POST("/admin/enroll", sf_web_admin_enroll),
	STAFF_STEP_READ("/admin/login/code", sf_web_admin_code_form),
	STAFF_STEP_POST("/admin/login/code", sf_web_admin_code),
	STAFF_STEP_READ("/admin/2fa/setup", sf_web_admin_totp_form),
	STAFF_STEP_POST("/admin/2fa/setup", sf_web_admin_totp),
	STAFF_STEP_READ("/admin/password", sf_web_admin_password_form),
	STAFF_STEP_POST("/admin/password", sf_web_admin_password),
	STAFF_STEP_POST("/admin/logout", sf_web_admin_logout),
	ADMIN_READ("/admin/reauth", sf_web_admin_reauth_form, SF_RBAC_SELF),
	ADMIN_POST("/admin/reauth", sf_web_admin_reauth, SF_RBAC_SELF),
	ADMIN_READ("/admin/sessions", sf_web_admin_sessions, SF_RBAC_SELF),
	ADMIN_POST("/admin/sessions/revoke-others", sf_web_admin_sessions_revoke_others, SF_RBAC_SELF),
	ADMIN_POST("/admin/sessions/{id}/revoke", sf_web_admin_session_revoke, SF_RBAC_SELF),
	ADMIN_POST("/admin/staff/{id}/reset-2fa", sf_web_admin_staff_reset_2fa, "staff.update"),
	ADMIN_POST("/admin/staff/{id}/sessions/revoke", sf_web_admin_staff_revoke_sessions, "staff.update"),
	/* back-office JSON API: staff sessions and API tokens */
	{"GET", "/api/v1/admin/me", sf_api_admin_me, SF_AUTH_STAFF, SF_RBAC_SELF, SF_CSRF_NONE, SF_RC_ADMIN, 0, 0},
	{"GET", "/api/v1/admin/csrf", sf_api_admin_csrf, SF_AUTH_STAFF, SF_RBAC_SELF, SF_CSRF_NONE, SF_RC_ADMIN, 0, 0},
	{"GET", "/api/v1/admin/sessions", sf_api_admin_sessions, SF_AUTH_STAFF, SF_RBAC_SELF, SF_CSRF_NONE, SF_RC_ADMIN, 0,
	 0},
	STAFF_API("DELETE", "/api/v1/admin/sessions/{id}", sf_api_admin_session_delete, SF_RBAC_SELF),
	{"GET", "/api/v1/admin/tokens", sf_api_admin_tokens, SF_AUTH_STAFF, "security.read", SF_CSRF_NONE, SF_RC_ADMIN, 0,
	 0},
	STAFF_API("POST", "/api/v1/admin/tokens", sf_api_admin_token_create, "security.create"),
	STAFF_API("DELETE", "/api/v1/admin/tokens/{id}", sf_api_admin_token_delete, "security.delete"),
	STAFF_API("POST", "/api/v1/admin/staff/{id}/reset-2fa", sf_api_admin_staff_reset_2fa, "staff.update"),
	STAFF_API("POST", "/api/v1/admin/staff/{id}/sessions/revoke", sf_api_admin_staff_revoke_sessions,
		  "staff.update"),
	TOKEN_READ("/api/v1/admin/token", sf_api_admin_token_self, SF_RBAC_SELF),
	TOKEN_READ("/api/v1/admin/token/staff", sf_api_admin_token_staff, "staff.read"),
	/* back office: dashboard, reports, audit */
	ADMIN_READ("/admin", sf_web_admin_dashboard, SF_RBAC_SELF),
	ADMIN_READ("/admin/reports", sf_web_admin_reports, "reports.read"),
	ADMIN_POST("/admin/reports/export", sf_web_admin_reports_export, "reports.export"),
	ADMIN_READ("/admin/audit", sf_web_admin_audit, "audit.read"),
	ADMIN_POST("/admin/audit/export", sf_web_admin_audit_export, "audit.export"),
	ADMIN_READ("/admin/logins", sf_web_admin_logins, "audit.read"),
	/* back office: orders and customers */
	ADMIN_READ("/admin/orders", sf_web_admin_orders, "orders.read"),
	ADMIN_READ("/admin/orders/{id}", sf_web_admin_order, "orders.read"),
	ADMIN_POST("/admin/orders/{id}/transition", sf_web_admin_order_transition, "orders.update"),
	ADMIN_POST("/admin/orders/{id}/refund", sf_web_admin_order_refund, "orders.update"),
	ADMIN_POST("/admin/orders/{id}/ship", sf_web_admin_order_ship, "orders.update"),
	ADMIN_READ("/admin/customers", sf_web_admin_customers, "customers.read"),
	ADMIN_READ("/admin/customers/{id}", sf_web_admin_customer, "customers.read"),
	ADMIN_POST("/admin/customers/{id}/reveal", sf_web_admin_customer_reveal, "customers.reveal"),
	/* back office: catalog and inventory */
	ADMIN_READ("/admin/products", sf_web_admin_products, "catalog.read"),
	ADMIN_READ("/admin/products/new", sf_web_admin_product_new, "catalog.create"),
	ADMIN_POST("/admin/products", sf_web_admin_product_create, "catalog.create"),
	ADMIN_READ("/admin/products/{id}", sf_web_admin_product, "catalog.read"),
	ADMIN_POST("/admin/products/{id}", sf_web_admin_product_update, "catalog.update"),
	{"POST", "/admin/products/{id}/image", sf_web_admin_product_image, SF_AUTH_STAFF, "catalog.update",
	 SF_CSRF_REQUIRED, SF_RC_ADMIN, ADMIN_UPLOAD_MAX, 0},
	ADMIN_POST("/admin/products/{id}/variants", sf_web_admin_variant_create, "catalog.create"),
	ADMIN_POST("/admin/products/{id}/variants/{vid}", sf_web_admin_variant_update, "catalog.update"),
	ADMIN_POST("/admin/products/{id}/variants/{vid}/stock", sf_web_admin_inventory_adjust, "inventory.update"),
	ADMIN_READ("/admin/categories", sf_web_admin_categories, "catalog.read"),
	ADMIN_POST("/admin/categories", sf_web_admin_category_create, "catalog.create"),
	ADMIN_POST("/admin/categories/{id}", sf_web_admin_category_update, "catalog.update"),
	/* back office: coupons, shipping, tax */
	ADMIN_READ("/admin/coupons", sf_web_admin_coupons, "coupons.read"),
	ADMIN_POST("/admin/coupons", sf_web_admin_coupon_create, "coupons.create"),
	ADMIN_POST("/admin/coupons/{id}/active", sf_web_admin_coupon_active, "coupons.update"),
	ADMIN_READ("/admin/shipping", sf_web_admin_shipping, "shipping.read"),
	ADMIN_POST("/admin/shipping/{id}", sf_web_admin_shipping_update, "shipping.update"),
	ADMIN_READ("/admin/tax", sf_web_admin_tax, "tax.read"),
	ADMIN_POST("/admin/tax", sf_web_admin_tax_save, "tax.update"),
	/* back office: inventory, staff and roles, security settings */
	ADMIN_READ("/admin/inventory", sf_web_admin_inventory, "inventory.read"),
	ADMIN_READ("/admin/staff", sf_web_admin_staff, "staff.read"),
	ADMIN_POST("/admin/staff", sf_web_admin_staff_create, "staff.create"),
	ADMIN_READ("/admin/staff/{id}", sf_web_admin_staff_member, "staff.read"),
	ADMIN_POST("/admin/staff/{id}/roles", sf_web_admin_staff_roles, "roles.update"),
	ADMIN_POST("/admin/staff/{id}/active", sf_web_admin_staff_active, "staff.update"),
	ADMIN_POST("/admin/staff/{id}/access", sf_web_admin_staff_access, "security.update"),
	ADMIN_POST("/admin/roles", sf_web_admin_role_save, "roles.create"),
	ADMIN_READ("/admin/security", sf_web_admin_security, "security.read"),
	/* cart, checkout and order pages */
	PUBLIC_READ("GET", "/cart", sf_web_cart),
	PUBLIC_READ("GET", "/cart/add", sf_web_cart_add_form),
	SHOP_WRITE("POST", "/cart/add", sf_web_cart_add),
	SHOP_WRITE("POST", "/cart/update", sf_web_cart_update),
	SHOP_WRITE("POST", "/cart/remove", sf_web_cart_remove),
	SHOP_WRITE("POST", "/cart/coupon", sf_web_cart_coupon),
	PUBLIC_READ("GET", "/checkout", sf_web_checkout),
	SHOP_WRITE("POST", "/checkout/shipping", sf_web_checkout_shipping),
	SHOP_WRITE("POST", "/checkout/review", sf_web_checkout_review),
	SHOP_ORDER("/checkout/place", sf_web_checkout_place),
	PUBLIC_READ("GET", "/orders/{id}", sf_web_order),
	CUSTOMER_READ("/account/orders", sf_web_account_orders),
	/* payments: the pay step, the return page, the sandbox provider's page */
	SHOP_ORDER("/orders/{id}/pay", sf_web_order_pay),
	PUBLIC_READ("GET", "/orders/{id}/return", sf_web_order_return),
	PUBLIC_READ("GET", "/sandbox-pay/{session}", sf_web_sandbox_pay),
	SHOP_WRITE("POST", "/sandbox-pay/{session}", sf_web_sandbox_decide),
	/* cart, checkout and order API */
	PUBLIC_READ("GET", "/api/v1/cart", sf_api_cart_get),
	SHOP_WRITE("PATCH", "/api/v1/cart", sf_api_cart_patch),
	SHOP_WRITE("DELETE", "/api/v1/cart", sf_api_cart_delete),
	SHOP_WRITE("POST", "/api/v1/cart/items", sf_api_cart_item_add),
	SHOP_WRITE("PATCH", "/api/v1/cart/items/{id}", sf_api_cart_item_patch),
	SHOP_WRITE("DELETE", "/api/v1/cart/items/{id}", sf_api_cart_item_delete),
	SHOP_ORDER("/api/v1/checkout", sf_api_checkout),
	CUSTOMER_READ("/api/v1/orders", sf_api_orders_list),
	PUBLIC_READ("GET", "/api/v1/orders/{id}", sf_api_order_get),
	SHOP_ORDER("/api/v1/orders/{id}/pay", sf_api_order_pay),
	/* payment providers' webhooks: the signature is the credential */
	PAY_WEBHOOK("/api/v1/payments/sandbox/webhook", sf_api_pay_webhook_sandbox),
	PAY_WEBHOOK("/api/v1/payments/stripe/webhook", sf_api_pay_webhook_stripe),
	PUBLIC_READ("GET", "/api/v1/openapi.json", sf_api_openapi),
	/* storefront pages */
	PUBLIC_READ("GET", "/", sf_web_home),
	PUBLIC_READ("GET", "/c/{slug}", sf_web_category),
	PUBLIC_READ("GET", "/p/{slug}", sf_web_product),
	PUBLIC_READ("GET", "/search", sf_web_search),
	/* customer account pages */
	PUBLIC_READ("GET", "/account/register", sf_web_account_register_form),
	ACCOUNT_ANON_POST("/account/register", sf_web_account_register),
	PUBLIC_READ("GET", "/account/verify", sf_web_account_verify_form),
	ACCOUNT_ANON_POST("/account/verify", sf_web_account_verify),
	PUBLIC_READ("GET", "/account/login", sf_web_account_login_form),
	ACCOUNT_ANON_POST("/account/login", sf_web_account_login),
	PUBLIC_READ("GET", "/account/forgot", sf_web_account_forgot_form),
	ACCOUNT_ANON_POST("/account/forgot", sf_web_account_forgot),
	PUBLIC_READ("GET", "/account/reset", sf_web_account_reset_form),
	ACCOUNT_ANON_POST("/account/reset", sf_web_account_reset),
	CUSTOMER_WRITE("POST", "/account/logout", sf_web_account_logout),
	CUSTOMER_READ("/account", sf_web_account_home),
	CUSTOMER_WRITE("POST", "/account/profile", sf_web_account_profile),
	CUSTOMER_READ("/account/addresses/new", sf_web_account_address_new),
	CUSTOMER_WRITE("POST", "/account/addresses", sf_web_account_address_create),
	CUSTOMER_READ("/account/addresses/{id}/edit", sf_web_account_address_edit),
	CUSTOMER_WRITE("POST", "/account/addresses/{id}", sf_web_account_address_update),
	CUSTOMER_WRITE("POST", "/account/addresses/{id}/delete", sf_web_account_address_delete),
	/* JSON API */
	PUBLIC_READ("GET", "/api/v1/products", sf_api_products_list),
	PUBLIC_READ("GET", "/api/v1/products/{slug}", sf_api_product_get),
	PUBLIC_READ("GET", "/api/v1/categories", sf_api_categories),
	PUBLIC_READ("GET", "/api/v1/categories/{slug}", sf_api_category_get),
	/* customer account API */
	PUBLIC_READ("GET", "/api/v1/account/csrf", sf_api_account_csrf),
	ACCOUNT_ANON_POST("/api/v1/account/register", sf_api_account_register),
	ACCOUNT_ANON_POST("/api/v1/account/verify", sf_api_account_verify),
	ACCOUNT_ANON_POST("/api/v1/account/login", sf_api_account_login),
	ACCOUNT_ANON_POST("/api/v1/account/password/reset", sf_api_account_reset_request),
	ACCOUNT_ANON_POST("/api/v1/account/password/reset/confirm", sf_api_account_reset_confirm),
	CUSTOMER_WRITE("POST", "/api/v1/account/logout", sf_api_account_logout),
	CUSTOMER_READ("/api/v1/account/me", sf_api_account_me),
	CUSTOMER_WRITE("POST", "/api/v1/account/profile", sf_api_account_profile),
	CUSTOMER_READ("/api/v1/account/addresses", sf_api_account_addresses),
	CUSTOMER_WRITE("POST", "/api/v1/account/addresses", sf_api_account_address_create),
	CUSTOMER_WRITE("PUT", "/api/v1/account/addresses/{id}", sf_api_account_address_update),
	CUSTOMER_WRITE("DELETE", "/api/v1/account/addresses/{id}", sf_api_account_address_delete),
	/* health */
	{"GET", "/healthz", sf_api_healthz, SF_AUTH_NONE, NULL, SF_CSRF_NONE, SF_RC_HEALTH, 0, 0},
	{"GET", "/readyz", sf_api_readyz, SF_AUTH_NONE, NULL, SF_CSRF_NONE, SF_RC_HEALTH, 0, 0},
	/* files */
	{"GET", "/static/{*path}", sf_http_static_asset, SF_AUTH_NONE, NULL, SF_CSRF_NONE, SF_RC_STATIC, 0,
	 SF_ROUTE_STATIC},
	{"GET", "/media/{*path}", sf_http_static_media, SF_AUTH_NONE, NULL, SF_CSRF_NONE, SF_RC_STATIC, 0, 0},
};

const struct sf_route *sf_routes(size_t *n)
{
	*n = sizeof routes / sizeof routes[0];
	return routes;
}
