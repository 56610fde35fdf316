/*
 * account_pages.h — the customer account pages (server-rendered, no
 * JavaScript needed, CSP-clean).  Every form carries the CSRF token; the
 * route table requires it on every POST.
 *
 *   GET/POST /account/register       create an account ("check your e-mail" either way)
 *   GET/POST /account/verify         confirm the address (GET shows a button, POST uses the token)
 *   GET/POST /account/login          log in (303 to /account)
 *   POST     /account/logout         log out (303 to /)
 *   GET/POST /account/forgot         ask for a reset link
 *   GET/POST /account/reset          choose a new password with the link's token
 *   GET      /account                profile, addresses, orders link
 *   POST     /account/profile        save name, phone, birth date
 *   GET      /account/addresses/new, POST /account/addresses            add an address
 *   GET      /account/addresses/{id}/edit, POST /account/addresses/{id}  edit one
 *   POST     /account/addresses/{id}/delete                             delete one
 * A form with a mistake is shown again (status 400, 401 or 403) with a
 * message and the values typed (never the password).
 */
#ifndef SF_WEB_ACCOUNT_PAGES_H
#define SF_WEB_ACCOUNT_PAGES_H

#include "core/err.h"
#include "http/http.h"

enum sf_err sf_web_account_register_form(struct sf_req *req, struct sf_resp *resp);
enum sf_err sf_web_account_register(struct sf_req *req, struct sf_resp *resp);
enum sf_err sf_web_account_verify_form(struct sf_req *req, struct sf_resp *resp);
enum sf_err sf_web_account_verify(struct sf_req *req, struct sf_resp *resp);
enum sf_err sf_web_account_login_form(struct sf_req *req, struct sf_resp *resp);
enum sf_err sf_web_account_login(struct sf_req *req, struct sf_resp *resp);
enum sf_err sf_web_account_logout(struct sf_req *req, struct sf_resp *resp);
enum sf_err sf_web_account_forgot_form(struct sf_req *req, struct sf_resp *resp);
enum sf_err sf_web_account_forgot(struct sf_req *req, struct sf_resp *resp);
enum sf_err sf_web_account_reset_form(struct sf_req *req, struct sf_resp *resp);
enum sf_err sf_web_account_reset(struct sf_req *req, struct sf_resp *resp);
enum sf_err sf_web_account_home(struct sf_req *req, struct sf_resp *resp);
enum sf_err sf_web_account_profile(struct sf_req *req, struct sf_resp *resp);
enum sf_err sf_web_account_address_new(struct sf_req *req, struct sf_resp *resp);
enum sf_err sf_web_account_address_create(struct sf_req *req, struct sf_resp *resp);
enum sf_err sf_web_account_address_edit(struct sf_req *req, struct sf_resp *resp);
enum sf_err sf_web_account_address_update(struct sf_req *req, struct sf_resp *resp);
enum sf_err sf_web_account_address_delete(struct sf_req *req, struct sf_resp *resp);

#endif
