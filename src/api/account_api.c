/*
 * account_api.c — the customer account JSON API (account_api.h).
 *
 * Each handler: parse the JSON body (auth/form.h), pick string members
 * (a member of another type is a 400 naming it), call shop/customer.h,
 * answer.  Login failures are reported to the edge for bans.
 */
#include "api/shop_api.h"
#include "api/account_api.h"

#include <stdio.h>
#include <string.h>

#include "auth/auth.h"
#include "auth/form.h"
#include "core/app.h"
#include "core/config.h"
#include "core/util.h"
#include "ops/mail.h"

void sf_account_req(struct sf_req *req, struct sf_customer_req *r)
{
	const struct sf_app *app = req->app;
	const struct sf_config *cfg = app ? app->cfg : NULL;
	const char *base;
	if (cfg && cfg->mail_link_base[0])
		base = sf_arena_strdup(req->arena, cfg->mail_link_base);
	else if (cfg && cfg->public_host[0])
		base = sf_arena_printf(req->arena, "https://%s", cfg->public_host);
	else
		base = sf_arena_printf(req->arena, "https://localhost:%lld", (long long)(cfg ? cfg->https_port : 8443));
	r->ip = req->client_ip[0] ? req->client_ip : NULL;
	r->request_id = req->request_id;
	r->now = sf_auth_now();
	r->link_base = base ? base : "https://localhost";
}

/* Tell the sender thread that mail was queued. */
static void kick_mail(struct sf_req *req)
{
	const struct sf_app *app = req->app;
	if (app)
		sf_mailer_kick(app->mailer);
}

/* body[name]: a string, or absent (NULL).  Any other type is an error. */
static int str_member(const json_t *body, const char *name, const char **out)
{
	const json_t *v = json_object_get(body, name);
	*out = NULL;
	if (!v || json_is_null(v))
		return 1;
	if (!json_is_string(v))
		return 0;
	*out = json_string_value(v);
	return 1;
}

/* Answer err with message (NULL: the registry's), as handled (SF_OK). */
static enum sf_err fail(struct sf_req *req, struct sf_resp *resp, enum sf_err err, const char *message)
{
	sf_resp_error(req, resp, err, message);
	return SF_OK;
}

/* Parse the JSON body and pick the named string members into vals.
 * Returns the body (caller decrefs; vals point into it), or NULL when the
 * error answer is already in resp (malformed body, a member of another
 * type). */
static json_t *parse_members(struct sf_req *req, struct sf_resp *resp, const char *const *names, const char **vals,
			     size_t n)
{
	json_t *body = NULL;
	enum sf_err err = sf_json_body(req, &body);
	if (err) {
		sf_resp_error(req, resp, err, err == SF_ERR_BAD_JSON ? "The body must be one JSON object." : NULL);
		return NULL;
	}
	for (size_t i = 0; i < n; i++)
		if (!str_member(body, names[i], &vals[i])) {
			const char *msg = sf_arena_printf(req->arena, "%s must be a string.", names[i]);
			sf_resp_error(req, resp, SF_ERR_BAD_PARAM, msg);
			json_decref(body);
			return NULL;
		}
	return body;
}

static enum sf_err status_json(struct sf_req *req, struct sf_resp *resp, unsigned status, const char *s)
{
	return sf_resp_json(req, resp, status, json_pack("{s:s}", "status", s));
}

enum sf_err sf_api_account_csrf(struct sf_req *req, struct sf_resp *resp)
{
	const char *tok = sf_auth_csrf_token(req, resp);
	if (!tok)
		return SF_ERR_NOMEM;
	return sf_resp_json(req, resp, 200, json_pack("{s:s}", "csrf_token", tok));
}

enum sf_err sf_api_account_register(struct sf_req *req, struct sf_resp *resp)
{
	static const char *const names[] = {"email", "password", "name"};
	const char *v[3];
	json_t *body = NULL;
	struct sf_customer_req r;
	const char *why = NULL;
	if (!(body = parse_members(req, resp, names, v, 3)))
		return SF_OK;
	sf_account_req(req, &r);
	enum sf_err err = sf_customer_register(req->app, &r, v[0], v[1], v[2], &why, NULL);
	json_decref(body);
	if (err)
		return fail(req, resp, err, why);
	kick_mail(req);
	return status_json(req, resp, 202, "check_email");
}

enum sf_err sf_api_account_verify(struct sf_req *req, struct sf_resp *resp)
{
	static const char *const names[] = {"token"};
	const char *v[1];
	json_t *body = NULL;
	struct sf_customer_req r;
	if (!(body = parse_members(req, resp, names, v, 1)))
		return SF_OK;
	sf_account_req(req, &r);
	enum sf_err err = sf_customer_verify(req->app, &r, v[0]);
	json_decref(body);
	if (err)
		return fail(req, resp, err, NULL);
	return status_json(req, resp, 200, "verified");
}

enum sf_err sf_api_account_login(struct sf_req *req, struct sf_resp *resp)
{
	static const char *const names[] = {"email", "password"};
	const char *v[2];
	json_t *body = NULL;
	struct sf_customer_req r;
	int64_t id = 0;
	if (!(body = parse_members(req, resp, names, v, 2)))
		return SF_OK;
	sf_account_req(req, &r);
	enum sf_err err = sf_customer_login(req->app, &r, v[0], v[1], &id);
	json_decref(body);
	if (err == SF_ERR_LOGIN_FAILED) {
		sf_auth_login_failed(req, "customer");
		kick_mail(req); /* a new verification link may be queued */
	}
	if (err)
		return fail(req, resp, err, err == SF_ERR_LOGIN_FAILED ? SF_CUSTOMER_LOGIN_FAILED_WHY : NULL);
	err = sf_auth_session_start(req, resp, SF_PRINCIPAL_CUSTOMER, id);
	if (err)
		return err;
	sf_shop_req_merge_cart(req, id);
	const char *tok = sf_auth_csrf_token(req, resp);
	if (!tok)
		return SF_ERR_NOMEM;
	return sf_resp_json(req, resp, 200, json_pack("{s:I, s:s}", "customer_id", (json_int_t)id, "csrf_token", tok));
}

enum sf_err sf_api_account_logout(struct sf_req *req, struct sf_resp *resp)
{
	enum sf_err err = sf_auth_session_end(req, resp);
	if (err)
		return err;
	return status_json(req, resp, 200, "logged_out");
}

static int64_t me(const struct sf_req *req)
{
	return sf_auth_principal(req)->id;
}

enum sf_err sf_api_account_me(struct sf_req *req, struct sf_resp *resp)
{
	struct sf_customer_req r;
	json_t *out = NULL;
	sf_account_req(req, &r);
	enum sf_err err = sf_customer_get(req->app, &r, me(req), 1, &out);
	if (err)
		return err;
	return sf_resp_json(req, resp, 200, out);
}

enum sf_err sf_api_account_profile(struct sf_req *req, struct sf_resp *resp)
{
	static const char *const names[] = {"name", "phone", "birth_date"};
	const char *v[3];
	json_t *body = NULL, *out = NULL;
	struct sf_customer_req r;
	const char *why = NULL;
	if (!(body = parse_members(req, resp, names, v, 3)))
		return SF_OK;
	sf_account_req(req, &r);
	enum sf_err err = sf_customer_update(req->app, &r, me(req), v[0], v[1], v[2], &why, NULL);
	json_decref(body);
	if (err)
		return fail(req, resp, err, why);
	err = sf_customer_get(req->app, &r, me(req), 0, &out);
	if (err)
		return err;
	return sf_resp_json(req, resp, 200, out);
}

enum sf_err sf_api_account_addresses(struct sf_req *req, struct sf_resp *resp)
{
	struct sf_customer_req r;
	json_t *out = NULL;
	sf_account_req(req, &r);
	enum sf_err err = sf_customer_get(req->app, &r, me(req), 1, &out);
	if (err)
		return err;
	json_t *items = json_incref(json_object_get(out, "addresses"));
	json_decref(out);
	return sf_resp_json(req, resp, 200, json_pack("{s:o}", "items", items ? items : json_array()));
}

int64_t sf_account_path_id(const struct sf_req *req)
{
	int64_t id = 0;
	const char *s = sf_req_param(req, "id");
	if (!s || sf_parse_i64(s, 1, INT64_MAX, &id) != SF_OK)
		return 0;
	return id;
}

static enum sf_err address_write(struct sf_req *req, struct sf_resp *resp, int64_t aid)
{
	json_t *body = NULL, *out = NULL;
	struct sf_customer_req r;
	const char *why = NULL;
	int64_t saved = 0;
	if (aid == 0 && strcmp(req->method, "POST") != 0)
		return SF_ERR_NOT_FOUND;
	if (!(body = parse_members(req, resp, NULL, NULL, 0)))
		return SF_OK;
	sf_account_req(req, &r);
	enum sf_err err = sf_customer_address_save(req->app, &r, me(req), aid, body, &saved, &why, NULL);
	json_decref(body);
	if (err)
		return err == SF_ERR_NOT_FOUND ? err : fail(req, resp, err, why);
	err = sf_customer_address_get(req->app, &r, me(req), saved, &out);
	if (err)
		return err;
	return sf_resp_json(req, resp, aid ? 200 : 201, out);
}

enum sf_err sf_api_account_address_create(struct sf_req *req, struct sf_resp *resp)
{
	return address_write(req, resp, 0);
}

enum sf_err sf_api_account_address_update(struct sf_req *req, struct sf_resp *resp)
{
	int64_t aid = sf_account_path_id(req);
	return aid ? address_write(req, resp, aid) : SF_ERR_NOT_FOUND;
}

enum sf_err sf_api_account_address_delete(struct sf_req *req, struct sf_resp *resp)
{
	struct sf_customer_req r;
	sf_account_req(req, &r);
	enum sf_err err = sf_customer_address_delete(req->app, &r, me(req), sf_account_path_id(req));
	if (err)
		return err;
	sf_resp_body(resp, 204, "application/json", NULL, 0, NULL);
	return SF_OK;
}

enum sf_err sf_api_account_reset_request(struct sf_req *req, struct sf_resp *resp)
{
	static const char *const names[] = {"email"};
	const char *v[1];
	json_t *body = NULL;
	struct sf_customer_req r;
	if (!(body = parse_members(req, resp, names, v, 1)))
		return SF_OK;
	sf_account_req(req, &r);
	enum sf_err err = sf_customer_reset_request(req->app, &r, v[0]);
	json_decref(body);
	if (err)
		return fail(req, resp, err, err == SF_ERR_BAD_PARAM ? "Enter a valid e-mail address." : NULL);
	kick_mail(req);
	return status_json(req, resp, 202, "check_email");
}

enum sf_err sf_api_account_reset_confirm(struct sf_req *req, struct sf_resp *resp)
{
	static const char *const names[] = {"token", "password"};
	const char *v[2];
	json_t *body = NULL;
	struct sf_customer_req r;
	const char *why = NULL;
	int64_t id = 0;
	if (!(body = parse_members(req, resp, names, v, 2)))
		return SF_OK;
	sf_account_req(req, &r);
	enum sf_err err = sf_customer_reset_confirm(req->app, &r, v[0], v[1], &id, &why);
	json_decref(body);
	if (err)
		return fail(req, resp, err, why);
	return status_json(req, resp, 200, "password_changed");
}
