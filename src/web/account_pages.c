/*
 * account_pages.c — the customer account pages (account_pages.h).
 *
 * A page is a JSON context rendered through the escaping templates: the
 * common fields (shop, title, CSRF token), the form's values and an error
 * or notice.  Form bodies come from auth/form.h; the account logic from
 * shop/customer.h; nothing here holds SQL or markup.
 */
#include "api/shop_api.h"
#include "web/account_pages.h"

#include <stdlib.h>
#include <string.h>

#include "api/account_api.h"
#include "auth/auth.h"
#include "auth/form.h"
#include "core/app.h"
#include "core/buf.h"
#include "core/config.h"
#include "core/util.h"
#include "ops/mail.h"
#include "shop/customer.h"
#include "web/pages.h"
#include "web/shop_pages.h"
#include "web/tmpl.h"


static void set_str(json_t *ctx, const char *k, const char *v)
{
	if (v)
		json_object_set_new(ctx, k, json_string(v));
}

/* Render name with ctx (stolen) as the page, with status. */
static enum sf_err show(struct sf_req *req, struct sf_resp *resp, unsigned status, const char *name, json_t *ctx)
{
	const struct sf_app *app = req->app;
	if (!ctx)
		return SF_ERR_NOMEM;
	if (!app || !app->tmpl) {
		json_decref(ctx);
		return SF_ERR_UNAVAILABLE;
	}
	struct sf_buf b;
	sf_buf_init(&b, SF_WEB_PAGE_CAP);
	enum sf_err err = sf_tmpl_render(app->tmpl, name, ctx, &b);
	json_decref(ctx);
	size_t len = 0;
	char *data = err ? NULL : sf_buf_steal(&b, &len);
	sf_buf_free(&b);
	if (err || !data)
		return err ? err : SF_ERR_NOMEM;
	sf_resp_body(resp, status, "text/html; charset=utf-8", data, len, free);
	return SF_OK;
}

/* A form page again with an error message (why, or the error's text). */
static enum sf_err show_error(struct sf_req *req, struct sf_resp *resp, const char *name, const char *title,
			      enum sf_err err, const char *why, json_t *values)
{
	if (sf_err_status(err) >= 500)
		return err;
	json_t *ctx = sf_web_shop_ctx(req, resp, title);
	if (!ctx) {
		json_decref(values);
		return SF_ERR_NOMEM;
	}
	if (values)
		json_object_update(ctx, values);
	json_decref(values);
	set_str(ctx, "error", why ? why : sf_err_desc(err));
	return show(req, resp, sf_err_status(err), name, ctx);
}

/* values (may be NULL: a new object) with field marked as the input a
 * refusal is about (sf_web_mark_invalid); for show_error's values. */
static json_t *invalid(json_t *values, const char *field)
{
	if (!values)
		values = json_object();
	sf_web_mark_invalid(values, field);
	return values;
}

static enum sf_err message_page(struct sf_req *req, struct sf_resp *resp, const char *heading, const char *message,
				const char *href, const char *link)
{
	json_t *ctx = sf_web_shop_ctx(req, resp, heading);
	if (!ctx)
		return SF_ERR_NOMEM;
	set_str(ctx, "heading", heading);
	set_str(ctx, "message", message);
	set_str(ctx, "link_href", href);
	set_str(ctx, "link_text", link);
	return show(req, resp, 200, "account_message", ctx);
}

/* The form parsed, or the error to answer (400/415). */
static enum sf_err form_ok(struct sf_req *req)
{
	return sf_form_parse(req);
}

static void kick_mail(struct sf_req *req)
{
	const struct sf_app *app = req->app;
	if (app)
		sf_mailer_kick(app->mailer);
}

/* The posted fields named in keys that the form has, as a JSON object of
 * strings, to save. */
static json_t *form_object(struct sf_req *req, const char *const *keys, size_t n)
{
	json_t *o = json_object();
	for (size_t i = 0; o && i < n; i++) {
		const char *v = sf_form_get(req, keys[i]);
		if (v)
			json_object_set_new(o, keys[i], json_string(v));
	}
	return o;
}

/* o (from form_object) made fit to show in the form again: a value holding
 * a card number becomes "" (sf_form_echo).  Returns o. */
static json_t *echoed(json_t *o)
{
	const char *k;
	json_t *v;
	json_object_foreach(o, k, v)
	{
		if (!*sf_form_echo(json_string_value(v)))
			json_string_set(v, "");
	}
	return o;
}

/* The posted e-mail address for the form shown again.  The same for every
 * account, known or not. */
static json_t *echo_email(struct sf_req *req)
{
	static const char *const keys[] = {"email"};
	return echoed(form_object(req, keys, 1));
}

/* ==== Register / verify ==== */

enum sf_err sf_web_account_register_form(struct sf_req *req, struct sf_resp *resp)
{
	return show(req, resp, 200, "account_register", sf_web_shop_ctx(req, resp, "Create an account"));
}

enum sf_err sf_web_account_register(struct sf_req *req, struct sf_resp *resp)
{
	struct sf_customer_req r;
	const char *why = NULL;
	enum sf_err err = form_ok(req);
	if (err)
		return err;
	const char *email = sf_form_get(req, "email"), *name = sf_form_get(req, "name");
	sf_account_req(req, &r);
	const char *field = NULL;
	err = sf_customer_register(req->app, &r, email, sf_form_get(req, "password"), name, &why, &field);
	if (err) {
		json_t *v = json_pack("{s:s, s:s}", "email", sf_form_echo(email), "name", sf_form_echo(name));
		return show_error(req, resp, "account_register", "Create an account", err, why, invalid(v, field));
	}
	kick_mail(req);
	return message_page(req, resp, "Check your e-mail",
			    "We sent a message to the address you entered. Follow its link to confirm the "
			    "address, then log in.",
			    "/account/login", "Log in");
}

enum sf_err sf_web_account_verify_form(struct sf_req *req, struct sf_resp *resp)
{
	const char *tok = sf_req_query(req, "token");
	json_t *ctx = sf_web_shop_ctx(req, resp, "Confirm your e-mail address");
	if (ctx)
		set_str(ctx, "token", tok && strlen(tok) <= 64 ? tok : "");
	return show(req, resp, 200, "account_verify", ctx);
}

enum sf_err sf_web_account_verify(struct sf_req *req, struct sf_resp *resp)
{
	struct sf_customer_req r;
	enum sf_err err = form_ok(req);
	if (err)
		return err;
	sf_account_req(req, &r);
	err = sf_customer_verify(req->app, &r, sf_form_get(req, "token"));
	if (err)
		return show_error(req, resp, "account_message", "Confirm your e-mail address", err, NULL,
				  json_pack("{s:s, s:s, s:s}", "heading", "This link does not work", "link_href",
					    "/account/login", "link_text", "Log in"));
	return message_page(req, resp, "Address confirmed", "Thank you: your e-mail address is confirmed.",
			    "/account/login", "Log in");
}

/* ==== Login / logout ==== */

enum sf_err sf_web_account_login_form(struct sf_req *req, struct sf_resp *resp)
{
	return show(req, resp, 200, "account_login", sf_web_shop_ctx(req, resp, "Log in"));
}

enum sf_err sf_web_account_login(struct sf_req *req, struct sf_resp *resp)
{
	struct sf_customer_req r;
	int64_t id = 0;
	enum sf_err err = form_ok(req);
	if (err)
		return err;
	sf_account_req(req, &r);
	err = sf_customer_login(req->app, &r, sf_form_get(req, "email"), sf_form_get(req, "password"), &id);
	if (err == SF_ERR_LOGIN_FAILED) {
		sf_auth_login_failed(req, "customer");
		kick_mail(req); /* a new verification link may be queued */
	}
	if (err)
		/* which of the two was wrong is not said, so both are marked */
		return show_error(req, resp, "account_login", "Log in", err,
				  err == SF_ERR_LOGIN_FAILED ? SF_CUSTOMER_LOGIN_FAILED_WHY : NULL,
				  invalid(invalid(echo_email(req), "email"), "password"));
	err = sf_auth_session_start(req, resp, SF_PRINCIPAL_CUSTOMER, id);
	if (err)
		return err;
	sf_shop_req_merge_cart(req, id);
	return sf_resp_redirect(req, resp, 303, "/account");
}

enum sf_err sf_web_account_logout(struct sf_req *req, struct sf_resp *resp)
{
	enum sf_err err = sf_auth_session_end(req, resp);
	if (err)
		return err;
	return sf_resp_redirect(req, resp, 303, "/");
}

/* ==== Password reset ==== */

enum sf_err sf_web_account_forgot_form(struct sf_req *req, struct sf_resp *resp)
{
	return show(req, resp, 200, "account_forgot", sf_web_shop_ctx(req, resp, "Forgot your password?"));
}

enum sf_err sf_web_account_forgot(struct sf_req *req, struct sf_resp *resp)
{
	struct sf_customer_req r;
	enum sf_err err = form_ok(req);
	if (err)
		return err;
	sf_account_req(req, &r);
	err = sf_customer_reset_request(req->app, &r, sf_form_get(req, "email"));
	if (err)
		return show_error(req, resp, "account_forgot", "Forgot your password?", err,
				  err == SF_ERR_BAD_PARAM ? "Enter a valid e-mail address." : NULL,
				  invalid(echo_email(req), "email"));
	kick_mail(req);
	return message_page(req, resp, "Check your e-mail",
			    "If the address has an account, we sent it a link to choose a new password. The link "
			    "works once and expires soon.",
			    NULL, NULL);
}

enum sf_err sf_web_account_reset_form(struct sf_req *req, struct sf_resp *resp)
{
	const char *tok = sf_req_query(req, "token");
	json_t *ctx = sf_web_shop_ctx(req, resp, "Choose a new password");
	if (ctx)
		set_str(ctx, "token", tok && strlen(tok) <= 64 ? tok : "");
	return show(req, resp, 200, "account_reset", ctx);
}

enum sf_err sf_web_account_reset(struct sf_req *req, struct sf_resp *resp)
{
	struct sf_customer_req r;
	const char *why = NULL;
	int64_t id = 0;
	enum sf_err err = form_ok(req);
	if (err)
		return err;
	const char *tok = sf_form_get(req, "token");
	sf_account_req(req, &r);
	err = sf_customer_reset_confirm(req->app, &r, tok, sf_form_get(req, "password"), &id, &why);
	if (err)
		return show_error(req, resp, "account_reset", "Choose a new password", err, why,
				  invalid(json_pack("{s:s}", "token", tok && strlen(tok) <= 64 ? tok : ""),
					  err == SF_ERR_TOKEN_INVALID ? NULL : "password"));
	return message_page(req, resp, "Password changed",
			    "Your new password is set and every session of your account was ended.",
			    "/account/login", "Log in");
}

/* ==== The account ==== */

static int64_t me(const struct sf_req *req)
{
	return sf_auth_principal(req)->id;
}

/* The account page, with an optional error (about the profile input field,
 * or NULL) or notice; typed (stolen, may be NULL) holds profile values to
 * show instead of the stored ones. */
static enum sf_err account_page(struct sf_req *req, struct sf_resp *resp, unsigned status, const char *error,
				const char *field, const char *notice, json_t *typed)
{
	struct sf_customer_req r;
	json_t *acct = NULL;
	sf_account_req(req, &r);
	enum sf_err err = sf_customer_get(req->app, &r, me(req), 1, &acct);
	if (err) {
		json_decref(typed);
		return err;
	}
	if (typed)
		json_object_update(acct, typed);
	json_decref(typed);
	json_t *ctx = sf_web_shop_ctx(req, resp, "Your account");
	if (!ctx) {
		json_decref(acct);
		return SF_ERR_NOMEM;
	}
	json_object_set_new(ctx, "has_addresses", json_boolean(json_array_size(json_object_get(acct, "addresses"))));
	json_object_set_new(ctx, "account", acct);
	set_str(ctx, "error", error);
	set_str(ctx, "notice", notice);
	sf_web_mark_invalid(ctx, field);
	return show(req, resp, status, "account", ctx);
}

enum sf_err sf_web_account_home(struct sf_req *req, struct sf_resp *resp)
{
	const char *saved = sf_req_query(req, "saved");
	return account_page(req, resp, 200, NULL, NULL, saved ? "Your changes are saved." : NULL, NULL);
}

enum sf_err sf_web_account_profile(struct sf_req *req, struct sf_resp *resp)
{
	struct sf_customer_req r;
	const char *why = NULL;
	enum sf_err err = form_ok(req);
	if (err)
		return err;
	const char *name = sf_form_get(req, "name"), *phone = sf_form_get(req, "phone"),
		   *birth = sf_form_get(req, "birth_date");
	sf_account_req(req, &r);
	const char *field = NULL;
	err = sf_customer_update(req->app, &r, me(req), name, phone, birth, &why, &field);
	if (err) {
		if (sf_err_status(err) >= 500 || err == SF_ERR_NOT_FOUND)
			return err;
		/* What was typed goes back, not what is stored (a field left out
		 * of the form keeps its stored value, as the update does). */
		static const char *const keys[] = {"name", "phone", "birth_date"};
		return account_page(req, resp, sf_err_status(err), why ? why : sf_err_desc(err), field, NULL,
				    echoed(form_object(req, keys, SF_ARRAY_LEN(keys))));
	}
	return sf_resp_redirect(req, resp, 303, "/account?saved=1");
}

static const char *const addr_keys[] = {"name", "line1", "line2", "city", "postal_code", "country", "phone"};

/* The address form posting to action, with address (stolen, may be NULL)
 * and an error (NULL: none) about the input field (NULL: none named). */
static enum sf_err address_form(struct sf_req *req, struct sf_resp *resp, unsigned status, json_t *address,
				const char *action, const char *error, const char *field)
{
	json_t *ctx = sf_web_shop_ctx(req, resp, "Address");
	if (!ctx) {
		json_decref(address);
		return SF_ERR_NOMEM;
	}
	json_object_set_new(ctx, "address", address ? address : json_object());
	set_str(ctx, "action", action);
	set_str(ctx, "error", error);
	sf_web_mark_invalid(ctx, field);
	return show(req, resp, status, "account_address", ctx);
}

enum sf_err sf_web_account_address_new(struct sf_req *req, struct sf_resp *resp)
{
	return address_form(req, resp, 200, NULL, "/account/addresses", NULL, NULL);
}

enum sf_err sf_web_account_address_edit(struct sf_req *req, struct sf_resp *resp)
{
	struct sf_customer_req r;
	json_t *a = NULL;
	int64_t aid = sf_account_path_id(req);
	sf_account_req(req, &r);
	enum sf_err err = sf_customer_address_get(req->app, &r, me(req), aid, &a);
	if (err)
		return err;
	const char *action = sf_arena_printf(req->arena, "/account/addresses/%lld", (long long)aid);
	return address_form(req, resp, 200, a, action, NULL, NULL);
}

static enum sf_err address_save(struct sf_req *req, struct sf_resp *resp, int64_t aid)
{
	struct sf_customer_req r;
	const char *why = NULL;
	int64_t saved = 0;
	enum sf_err err = form_ok(req);
	if (err)
		return err;
	json_t *fields = form_object(req, addr_keys, SF_ARRAY_LEN(addr_keys));
	if (!fields)
		return SF_ERR_NOMEM;
	sf_account_req(req, &r);
	const char *field = NULL;
	err = sf_customer_address_save(req->app, &r, me(req), aid, fields, &saved, &why, &field);
	if (err) {
		if (sf_err_status(err) >= 500 || err == SF_ERR_NOT_FOUND) {
			json_decref(fields);
			return err;
		}
		echoed(fields);
		const char *action = aid ? sf_arena_printf(req->arena, "/account/addresses/%lld", (long long)aid)
					 : "/account/addresses";
		if (aid)
			json_object_set_new(fields, "id", json_integer(aid));
		return address_form(req, resp, sf_err_status(err), fields, action, why ? why : sf_err_desc(err), field);
	}
	json_decref(fields);
	return sf_resp_redirect(req, resp, 303, "/account?saved=1");
}

enum sf_err sf_web_account_address_create(struct sf_req *req, struct sf_resp *resp)
{
	return address_save(req, resp, 0);
}

enum sf_err sf_web_account_address_update(struct sf_req *req, struct sf_resp *resp)
{
	int64_t aid = sf_account_path_id(req);
	return aid ? address_save(req, resp, aid) : SF_ERR_NOT_FOUND;
}

enum sf_err sf_web_account_address_delete(struct sf_req *req, struct sf_resp *resp)
{
	struct sf_customer_req r;
	sf_account_req(req, &r);
	enum sf_err err = sf_customer_address_delete(req->app, &r, me(req), sf_account_path_id(req));
	if (err)
		return err;
	return sf_resp_redirect(req, resp, 303, "/account?saved=1");
}
