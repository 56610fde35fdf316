/*
 * rbac.h — staff roles and permissions (issue 4).
 *
 * A permission is "<resource>.<action>", e.g. "orders.update".  Resources
 * and actions are closed sets (below); a route row names the permission it
 * needs and the auth stage checks it on every request, so a role change or a
 * deactivation takes effect on the very next request.  What a route does not
 * declare is denied.
 *
 * Built-in roles (not editable; custom roles are sets of permissions):
 *   owner              everything, including staff/roles/security/keys
 *   administrator      everything except keys.* and changing owners
 *   catalog_manager    catalog.*, inventory.*, reports.read
 *   order_operator     orders.read/update/export, customers.read, inventory.read
 *   customer_support   customers.read/update, orders.read, orders.update
 *   analyst            reports.read/export, orders.read, catalog.read
 *   privacy_officer    customers.read/reveal/export/delete, audit.read/export
 */
#ifndef SF_AUTH_RBAC_H
#define SF_AUTH_RBAC_H

#include <stddef.h>
#include <stdint.h>

#include "http/http.h"

#define SF_RBAC_RESOURCES(X)                                                                       \
	X(catalog) X(inventory) X(orders) X(customers) X(coupons) X(shipping) X(tax) X(staff)        \
	X(roles) X(security) X(audit) X(reports) X(webhooks) X(settings) X(keys) X(waf)
#define SF_RBAC_ACTIONS(X) X(read) X(create) X(update) X(delete) X(export) X(reveal)

/* Does the authenticated staff member of this request hold permission
 * (e.g. "customers.reveal")?  0 for anonymous, customers and unknown names.
 * Reads the role assignment as of this request. */
int sf_rbac_can(const struct sf_req *req, const char *permission);

/* Is "resource.action" a known permission name? */
int sf_rbac_valid(const char *permission);

/* ==== Route permissions beyond "resource.action" (staff.c) ====
 * A back-office route row names a real permission, or one of these:
 *   SF_RBAC_SELF        any signed-in staff member (their own sessions,
 *                       re-authentication, the dashboard)
 *   SF_RBAC_LOGIN       the login and enrollment pages themselves
 *                       (SF_AUTH_NONE rows under the back-office path)
 *   SF_RBAC_LOGIN_STEP  a staff session part-way through logging in (the
 *                       TOTP step, TOTP set-up, forced password change,
 *                       logout)
 * Anything else, NULL included, is denied. */
#define SF_RBAC_SELF "self"
#define SF_RBAC_LOGIN "login"
#define SF_RBAC_LOGIN_STEP "login.step"

#define SF_RBAC_NRES 16
#define SF_RBAC_NACT 6
#define SF_RBAC_NPERM (SF_RBAC_NRES * SF_RBAC_NACT)

/* A set of permissions (bit i = permission index i). */
struct sf_rbac_set {
	uint64_t w[2];
};

/* The index (0..SF_RBAC_NPERM-1) of a permission name, or -1 when it is not
 * a known "resource.action". */
int sf_rbac_index(const char *permission);
/* The name of permission index i ("catalog.read"), or NULL when out of range. */
const char *sf_rbac_name(int i);
/* Set operations; add/has ignore (answer 0 for) unknown names. */
void sf_rbac_set_add(struct sf_rbac_set *s, const char *permission);
int sf_rbac_set_has(const struct sf_rbac_set *s, const char *permission);
void sf_rbac_set_union(struct sf_rbac_set *s, const struct sf_rbac_set *other);

/* The built-in role names, in the order above (owner first); *n their count. */
const char *const *sf_rbac_builtin_roles(size_t *n);
/* The permission set of a built-in role into *out.  Returns 1 for a built-in
 * role name, 0 (and an empty set) otherwise. */
int sf_rbac_builtin_set(const char *role, struct sf_rbac_set *out);
/* Does built-in role grant permission?  (The expected answer of the
 * permission matrix.)  0 for unknown roles and names. */
int sf_rbac_role_can(const char *role, const char *permission);

/* Is permission acceptable on a route row of auth mode (a real permission,
 * or one of the SF_RBAC_* route names above with the mode it needs)?  The
 * route-table test runs this on every back-office row. */
int sf_rbac_route_permission_ok(enum sf_auth_mode mode, const char *permission);

/* For the staff resolver (staff.c): make set the permission set of this
 * request's staff member (copied into the request).  Returns 0, or -1 when
 * the request's arena is exhausted. */
int sf_rbac_set_request(struct sf_req *req, const struct sf_rbac_set *set);
/* This request's permission set, or NULL before/without a staff principal. */
const struct sf_rbac_set *sf_rbac_request_set(const struct sf_req *req);

#endif
