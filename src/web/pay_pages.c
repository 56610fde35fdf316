/*
 * pay_pages.c — payment pages (pay_pages.h).  The provider work is in
 * src/shop/payment*.c; markup only from web/templates/.
 */
#include "web/pay_pages.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "api/pay_api.h"
#include "auth/form.h"
#include "core/app.h"
#include "core/log.h"
#include "shop/payment.h"
#include "shop/webhook.h"
#include "web/shop_pages.h"

/* Refuse a form whose fields hold a card number (never stored or logged). */
static enum sf_err form_checked(struct sf_req *req)
{
	enum sf_err err = sf_form_parse(req);
	struct sf_kv *kv = NULL;
	size_t n = 0;
	if (!err && req->body_len)
		err = sf_form_decode(req->arena, req->body, req->body_len, &kv, &n);
	for (size_t i = 0; i < n && !err; i++)
		if (sf_log_has_card(kv[i].v, strlen(kv[i].v)))
			err = SF_ERR_CARD_DATA;
	return err;
}

enum sf_err sf_web_order_pay(struct sf_req *req, struct sf_resp *resp)
{
	const char *url = NULL;
	enum sf_err err = form_checked(req);
	if (!err)
		err = sf_pay_req_start(req, resp, &url);
	return err ? err : sf_resp_redirect(req, resp, 303, url);
}

enum sf_err sf_web_order_return(struct sf_req *req, struct sf_resp *resp)
{
	return sf_web_shop_order_page(req, resp, 0, "order_return");
}

/* The app when the sandbox provider serves, else NULL (its pages 404). */
static struct sf_app *sandbox_app(struct sf_req *req)
{
	struct sf_app *app = req->app;
	return app && app->payments && sf_pay_provider(app->payments) == SF_PAY_SANDBOX ? app : NULL;
}

enum sf_err sf_web_sandbox_pay(struct sf_req *req, struct sf_resp *resp)
{
	struct sf_app *app = sandbox_app(req);
	json_t *pay = NULL;
	if (!app)
		return SF_ERR_NOT_FOUND;
	enum sf_err err = sf_pay_sandbox_view(app->db, sf_req_param(req, "session"), &pay);
	if (err)
		return err;
	json_t *ctx = sf_web_shop_ctx(req, resp, "Sandbox payment");
	if (ctx)
		json_object_set_new(ctx, "pay", pay);
	else
		json_decref(pay);
	return sf_web_shop_render(req, resp, 200, "sandbox_pay", ctx);
}

enum sf_err sf_web_sandbox_decide(struct sf_req *req, struct sf_resp *resp)
{
	struct sf_app *app = sandbox_app(req);
	int64_t order_id = 0;
	if (!app)
		return SF_ERR_NOT_FOUND;
	enum sf_err err = form_checked(req);
	if (err)
		return err;
	const char *d = sf_form_get(req, "decision");
	int approve = d && !strcmp(d, "approve");
	if (!d || (!approve && strcmp(d, "decline") != 0))
		return SF_ERR_BAD_PARAM;
	err = sf_pay_sandbox_decide(app->payments, app->db, sf_req_param(req, "session"), approve, &order_id);
	if (err)
		return err;
	sf_webhook_kick(app->webhooks);
	char to[64];
	snprintf(to, sizeof to, approve ? "/orders/%" PRId64 "/return" : "/orders/%" PRId64, order_id);
	return sf_resp_redirect(req, resp, 303, to);
}
