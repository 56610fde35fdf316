/*
 * account_api.h — the customer account JSON API under /api/v1/account, and
 * the request facts the account pages share with it.
 *
 * Every state-changing call is POST/PUT/DELETE with a cookie session (or
 * the anonymous pre-session cookie) and needs the X-CSRF-Token header
 * (GET /api/v1/account/csrf hands one out, with its cookie).  Bodies are
 * JSON objects (Content-Type application/json, at most 64 KiB, nesting at
 * most 16).  Errors are the standard {"error":{"code","message",
 * "request_id"}}; a message a user can act on names the field's rule.
 *
 *   GET    /api/v1/account/csrf                  {"csrf_token"}
 *   POST   /api/v1/account/register              {email,password,name?} -> 202 {"status":"check_email"}
 *   POST   /api/v1/account/verify                {token} -> {"status":"verified"}
 *   POST   /api/v1/account/login                 {email,password} -> {"customer_id","csrf_token"} + cookie
 *   POST   /api/v1/account/logout                -> {"status":"logged_out"}
 *   GET    /api/v1/account/me                    profile with addresses
 *   POST   /api/v1/account/profile               {name?,phone?,birth_date?} -> profile
 *   GET    /api/v1/account/addresses             {"items":[...]}
 *   POST   /api/v1/account/addresses             address fields -> 201 address
 *   PUT    /api/v1/account/addresses/{id}        address fields -> address
 *   DELETE /api/v1/account/addresses/{id}        -> 204
 *   POST   /api/v1/account/password/reset        {email} -> 202 {"status":"check_email"}
 *   POST   /api/v1/account/password/reset/confirm {token,password} -> {"status":"password_changed"}
 */
#ifndef SF_API_ACCOUNT_API_H
#define SF_API_ACCOUNT_API_H

#include "core/err.h"
#include "http/http.h"
#include "shop/customer.h"

/* Fill r from the request: client address, request id, the auth clock, and
 * the base URL for links in mails ([mail] link_base, else https:// +
 * [server] public_host, else https://localhost:<https_port> — never the
 * request's Host header, which a client chooses). */
void sf_account_req(struct sf_req *req, struct sf_customer_req *r);

/* The {id} path parameter when it is a positive integer, else 0 (the
 * caller answers 404). */
int64_t sf_account_path_id(const struct sf_req *req);

enum sf_err sf_api_account_csrf(struct sf_req *req, struct sf_resp *resp);
enum sf_err sf_api_account_register(struct sf_req *req, struct sf_resp *resp);
enum sf_err sf_api_account_verify(struct sf_req *req, struct sf_resp *resp);
enum sf_err sf_api_account_login(struct sf_req *req, struct sf_resp *resp);
enum sf_err sf_api_account_logout(struct sf_req *req, struct sf_resp *resp);
enum sf_err sf_api_account_me(struct sf_req *req, struct sf_resp *resp);
enum sf_err sf_api_account_profile(struct sf_req *req, struct sf_resp *resp);
enum sf_err sf_api_account_addresses(struct sf_req *req, struct sf_resp *resp);
enum sf_err sf_api_account_address_create(struct sf_req *req, struct sf_resp *resp);
enum sf_err sf_api_account_address_update(struct sf_req *req, struct sf_resp *resp);
enum sf_err sf_api_account_address_delete(struct sf_req *req, struct sf_resp *resp);
enum sf_err sf_api_account_reset_request(struct sf_req *req, struct sf_resp *resp);
enum sf_err sf_api_account_reset_confirm(struct sf_req *req, struct sf_resp *resp);

#endif
