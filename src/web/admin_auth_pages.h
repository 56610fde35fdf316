/*
 * admin_auth_pages.h — the back office's way in and the staff member's own
 * security pages, plus the JSON API of the same (server-rendered, usable
 * without JavaScript, CSP-clean).  Paths are given as route rows (under
 * /admin); the [admin] path prefix maps onto them.
 *
 *   GET/POST /admin/login            e-mail and password        (login)
 *   GET/POST /admin/login/code       the TOTP or recovery code  (login.step)
 *   GET/POST /admin/enroll?token=    first password from an enrollment link (login)
 *   GET/POST /admin/2fa/setup        TOTP set-up: QR code, key, confirm; recovery codes shown once (login.step)
 *   GET/POST /admin/password         change the password (forced when expired)  (login.step)
 *   GET/POST /admin/reauth?next=     password + code again: the session is fresh  (self)
 *   GET      /admin/sessions         my sessions                (self)
 *   POST     /admin/sessions/{id}/revoke, /admin/sessions/revoke-others   (self)
 *   POST     /admin/logout                                      (login.step)
 *   POST     /admin/staff/{id}/reset-2fa          an owner, fresh session (staff.update)
 *   POST     /admin/staff/{id}/sessions/revoke    an owner (staff.update)
 *
 *   GET    /api/v1/admin/me        the viewer and their permissions (self)
 *   GET    /api/v1/admin/csrf      {"csrf_token"} for cookie-session API calls (self)
 *   GET    /api/v1/admin/sessions, DELETE /api/v1/admin/sessions/{id}  (self)
 *   GET    /api/v1/admin/tokens (security.read); POST (security.create, fresh):
 *          {"name","scopes":[...],"days"} -> {"id","token",...} shown once;
 *          DELETE /api/v1/admin/tokens/{id} (security.delete)
 *   POST   /api/v1/admin/staff/{id}/reset-2fa, /api/v1/admin/staff/{id}/sessions/revoke
 *   GET    /api/v1/admin/token         (bearer) the calling token      (self)
 *   GET    /api/v1/admin/token/staff   (bearer) the staff list         (staff.read)
 *
 * Every form failure is shown again with one message; login failures all
 * read the same whatever went wrong.
 */
#ifndef SF_WEB_ADMIN_AUTH_PAGES_H
#define SF_WEB_ADMIN_AUTH_PAGES_H

#include <jansson.h>

#include "core/err.h"
#include "http/http.h"

/* The back-office navigation for this request's staff member:
 * {"items":[{"href","label","current"}]} with the sections (Dashboard,
 * Catalog, Inventory, Orders, Customers, Coupons, Shipping, Tax, Staff &
 * roles, Security, Login history, Reports, Audit) whose read permission the
 * viewer holds, hrefs under the configured back-office path, "current" for
 * the section the request is in; JSON null for anyone not fully signed in.
 * NULL when out of memory.  _admin_header.html renders it from the context
 * member "admin_nav" (put it there on every back-office page). */
json_t *sf_admin_nav_json(struct sf_req *req);

enum sf_err sf_web_admin_login_form(struct sf_req *req, struct sf_resp *resp);
enum sf_err sf_web_admin_login(struct sf_req *req, struct sf_resp *resp);
enum sf_err sf_web_admin_code_form(struct sf_req *req, struct sf_resp *resp);
enum sf_err sf_web_admin_code(struct sf_req *req, struct sf_resp *resp);
enum sf_err sf_web_admin_enroll_form(struct sf_req *req, struct sf_resp *resp);
enum sf_err sf_web_admin_enroll(struct sf_req *req, struct sf_resp *resp);
enum sf_err sf_web_admin_totp_form(struct sf_req *req, struct sf_resp *resp);
enum sf_err sf_web_admin_totp(struct sf_req *req, struct sf_resp *resp);
enum sf_err sf_web_admin_password_form(struct sf_req *req, struct sf_resp *resp);
enum sf_err sf_web_admin_password(struct sf_req *req, struct sf_resp *resp);
enum sf_err sf_web_admin_reauth_form(struct sf_req *req, struct sf_resp *resp);
enum sf_err sf_web_admin_reauth(struct sf_req *req, struct sf_resp *resp);
enum sf_err sf_web_admin_sessions(struct sf_req *req, struct sf_resp *resp);
enum sf_err sf_web_admin_session_revoke(struct sf_req *req, struct sf_resp *resp);
enum sf_err sf_web_admin_sessions_revoke_others(struct sf_req *req, struct sf_resp *resp);
enum sf_err sf_web_admin_logout(struct sf_req *req, struct sf_resp *resp);
enum sf_err sf_web_admin_staff_reset_2fa(struct sf_req *req, struct sf_resp *resp);
enum sf_err sf_web_admin_staff_revoke_sessions(struct sf_req *req, struct sf_resp *resp);

enum sf_err sf_api_admin_me(struct sf_req *req, struct sf_resp *resp);
enum sf_err sf_api_admin_csrf(struct sf_req *req, struct sf_resp *resp);
enum sf_err sf_api_admin_sessions(struct sf_req *req, struct sf_resp *resp);
enum sf_err sf_api_admin_session_delete(struct sf_req *req, struct sf_resp *resp);
enum sf_err sf_api_admin_tokens(struct sf_req *req, struct sf_resp *resp);
enum sf_err sf_api_admin_token_create(struct sf_req *req, struct sf_resp *resp);
enum sf_err sf_api_admin_token_delete(struct sf_req *req, struct sf_resp *resp);
enum sf_err sf_api_admin_staff_reset_2fa(struct sf_req *req, struct sf_resp *resp);
enum sf_err sf_api_admin_staff_revoke_sessions(struct sf_req *req, struct sf_resp *resp);
enum sf_err sf_api_admin_token_self(struct sf_req *req, struct sf_resp *resp);
enum sf_err sf_api_admin_token_staff(struct sf_req *req, struct sf_resp *resp);

#endif
