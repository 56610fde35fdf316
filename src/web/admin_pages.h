/*
 * admin_pages.h — the back office's page handlers (server-rendered, usable
 * without JavaScript, CSP-clean).  Every route is an SF_AUTH_STAFF row of
 * src/api/routes.c under /admin with its permission; every POST carries the
 * CSRF token (the multipart image upload checks it itself, see
 * sf_web_admin_product_image).  Writes go through the shop domain, which
 * audits them in the same transaction; reads of protected personal data
 * and every export are audited too, and are sensitive operations (a fresh
 * re-authentication is required first).
 *
 * Each handler returns SF_OK with the page (or a 303 after a successful
 * form), a 4xx page with the form and its error, or an error code for the
 * layer's error page: SF_ERR_NOT_FOUND (unknown or malformed id),
 * SF_ERR_BAD_PARAM (malformed filter), database and template errors.
 */
#ifndef SF_WEB_ADMIN_PAGES_H
#define SF_WEB_ADMIN_PAGES_H

#include "core/err.h"
#include "http/http.h"

/* admin_home.c: dashboard and reports */
enum sf_err sf_web_admin_dashboard(struct sf_req *req, struct sf_resp *resp);
enum sf_err sf_web_admin_reports(struct sf_req *req, struct sf_resp *resp);
enum sf_err sf_web_admin_reports_export(struct sf_req *req, struct sf_resp *resp);

/* admin_audit.c: the audit viewer, its export, login history */
enum sf_err sf_web_admin_audit(struct sf_req *req, struct sf_resp *resp);
enum sf_err sf_web_admin_audit_export(struct sf_req *req, struct sf_resp *resp);
enum sf_err sf_web_admin_logins(struct sf_req *req, struct sf_resp *resp);

/* admin_orders.c */
enum sf_err sf_web_admin_orders(struct sf_req *req, struct sf_resp *resp);
enum sf_err sf_web_admin_order(struct sf_req *req, struct sf_resp *resp);
enum sf_err sf_web_admin_order_transition(struct sf_req *req, struct sf_resp *resp);
enum sf_err sf_web_admin_order_refund(struct sf_req *req, struct sf_resp *resp);
enum sf_err sf_web_admin_order_ship(struct sf_req *req, struct sf_resp *resp);

/* admin_customers.c */
enum sf_err sf_web_admin_customers(struct sf_req *req, struct sf_resp *resp);
enum sf_err sf_web_admin_customer(struct sf_req *req, struct sf_resp *resp);
enum sf_err sf_web_admin_customer_reveal(struct sf_req *req, struct sf_resp *resp);

/* admin_catalog.c: products, variants, categories, inventory, images */
enum sf_err sf_web_admin_products(struct sf_req *req, struct sf_resp *resp);
enum sf_err sf_web_admin_product_new(struct sf_req *req, struct sf_resp *resp);
enum sf_err sf_web_admin_product_create(struct sf_req *req, struct sf_resp *resp);
enum sf_err sf_web_admin_product(struct sf_req *req, struct sf_resp *resp);
enum sf_err sf_web_admin_product_update(struct sf_req *req, struct sf_resp *resp);
enum sf_err sf_web_admin_variant_create(struct sf_req *req, struct sf_resp *resp);
enum sf_err sf_web_admin_variant_update(struct sf_req *req, struct sf_resp *resp);
enum sf_err sf_web_admin_inventory_adjust(struct sf_req *req, struct sf_resp *resp);
/* POST multipart/form-data (fields csrf_token and image): the auth stage
 * reads CSRF tokens only from url-encoded bodies and headers, so this route
 * is SF_CSRF_EXEMPT and the handler checks the request origin and the
 * token of the multipart body itself (constant time) before anything else;
 * a missing or wrong token is 403 csrf_failed and nothing is written. */
enum sf_err sf_web_admin_product_image(struct sf_req *req, struct sf_resp *resp);
enum sf_err sf_web_admin_categories(struct sf_req *req, struct sf_resp *resp);
enum sf_err sf_web_admin_category_create(struct sf_req *req, struct sf_resp *resp);
enum sf_err sf_web_admin_category_update(struct sf_req *req, struct sf_resp *resp);

/* admin_settings.c: coupons, shipping methods, tax classes */
enum sf_err sf_web_admin_coupons(struct sf_req *req, struct sf_resp *resp);
enum sf_err sf_web_admin_coupon_create(struct sf_req *req, struct sf_resp *resp);
enum sf_err sf_web_admin_coupon_active(struct sf_req *req, struct sf_resp *resp);
enum sf_err sf_web_admin_shipping(struct sf_req *req, struct sf_resp *resp);
enum sf_err sf_web_admin_shipping_update(struct sf_req *req, struct sf_resp *resp);
enum sf_err sf_web_admin_tax(struct sf_req *req, struct sf_resp *resp);
enum sf_err sf_web_admin_tax_save(struct sf_req *req, struct sf_resp *resp);

/* admin_staff.c: staff, roles, security settings (the staff domain is
 * src/auth/staff.h), the inventory overview */
enum sf_err sf_web_admin_staff(struct sf_req *req, struct sf_resp *resp);
enum sf_err sf_web_admin_staff_create(struct sf_req *req, struct sf_resp *resp);
enum sf_err sf_web_admin_staff_member(struct sf_req *req, struct sf_resp *resp);
enum sf_err sf_web_admin_staff_roles(struct sf_req *req, struct sf_resp *resp);
enum sf_err sf_web_admin_staff_active(struct sf_req *req, struct sf_resp *resp);
enum sf_err sf_web_admin_staff_access(struct sf_req *req, struct sf_resp *resp);
enum sf_err sf_web_admin_role_save(struct sf_req *req, struct sf_resp *resp);
enum sf_err sf_web_admin_security(struct sf_req *req, struct sf_resp *resp);
enum sf_err sf_web_admin_inventory(struct sf_req *req, struct sf_resp *resp);

#endif
