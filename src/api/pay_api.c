/*
 * pay_api.c — payments in the JSON API, provider webhooks and the OpenAPI
 * document (pay_api.h).  Verification and the order changes are in
 * src/shop/payment*.c; this file only moves bytes and headers.
 */
#include "api/pay_api.h"

#include <stdlib.h>
#include <string.h>

#include "api/shop_api.h"
#include "core/app.h"
#include "core/assets.h"
#include "core/log.h"
#include "shop/payment.h"
#include "shop/webhook.h"

enum sf_err sf_pay_req_start(struct sf_req *req, struct sf_resp *resp, const char **url)
{
	struct sf_app *app = req->app;
	struct sf_cart_owner o;
	int64_t id = sf_shop_req_id(req, "id");
	char *u = NULL;
	if (!app || !app->payments)
		return SF_ERR_UNAVAILABLE;
	if (!id || sf_shop_req_owner(req, resp, 0, &o) != SF_OK)
		return SF_ERR_NOT_FOUND;
	struct sf_order_viewer v = {.owner = &o};
	sf_shop_req_actor(req, &v.actor);
	enum sf_err err = sf_pay_start(app->payments, app->db, app->keys, id, &v, &u);
	if (err)
		return err;
	*url = sf_arena_strdup(req->arena, u);
	free(u);
	return *url ? SF_OK : SF_ERR_NOMEM;
}

enum sf_err sf_api_order_pay(struct sf_req *req, struct sf_resp *resp)
{
	const char *url = NULL;
	if (req->body_len && sf_log_has_card(req->body, req->body_len))
		return SF_ERR_CARD_DATA;
	enum sf_err err = sf_pay_req_start(req, resp, &url);
	if (err)
		return err;
	json_t *js = json_pack("{s:s}", "redirect_url", url);
	return js ? sf_resp_json(req, resp, 201, js) : SF_ERR_NOMEM;
}

static enum sf_err answer(struct sf_req *req, struct sf_resp *resp, enum sf_err err, int replayed)
{
	if (err)
		return err;
	json_t *js = replayed ? json_pack("{s:b,s:b}", "received", 1, "replayed", 1) : json_pack("{s:b}", "received", 1);
	return js ? sf_resp_json(req, resp, 200, js) : SF_ERR_NOMEM;
}

static void notice_of(struct sf_req *req, struct sf_pay_notice *n)
{
	n->body = req->body ? req->body : "";
	n->len = req->body ? req->body_len : 0;
	n->ip = req->client_ip[0] ? req->client_ip : NULL;
	n->request_id = req->request_id;
}

enum sf_err sf_api_pay_webhook_sandbox(struct sf_req *req, struct sf_resp *resp)
{
	struct sf_app *app = req->app;
	struct sf_pay_notice n;
	int replayed = 0;
	if (!app || !app->payments || sf_pay_provider(app->payments) != SF_PAY_SANDBOX)
		return SF_ERR_NOT_FOUND;
	notice_of(req, &n);
	n.signature = sf_req_header(req, "Storefort-Signature");
	n.timestamp = sf_req_header(req, "Storefort-Timestamp");
	n.event_id = sf_req_header(req, "Storefort-Event-Id");
	enum sf_err err = sf_pay_webhook_sandbox(app->payments, app->db, app->keys, &n, &replayed);
	if (!err && !replayed)
		sf_webhook_kick(app->webhooks); /* order.paid may be queued */
	return answer(req, resp, err, replayed);
}

enum sf_err sf_api_pay_webhook_stripe(struct sf_req *req, struct sf_resp *resp)
{
	struct sf_app *app = req->app;
	struct sf_pay_notice n;
	int replayed = 0;
	if (!app || !app->payments || sf_pay_provider(app->payments) != SF_PAY_STRIPE)
		return SF_ERR_NOT_FOUND;
	notice_of(req, &n);
	n.signature = sf_req_header(req, "Stripe-Signature");
	n.timestamp = n.event_id = NULL;
	enum sf_err err = sf_pay_webhook_stripe(app->payments, app->db, app->keys, &n, &replayed);
	if (!err && !replayed)
		sf_webhook_kick(app->webhooks);
	return answer(req, resp, err, replayed);
}

enum sf_err sf_api_openapi(struct sf_req *req, struct sf_resp *resp)
{
	const struct sf_asset *a = sf_asset_find("static/openapi.json");
	if (!a)
		return SF_ERR_NOT_FOUND;
	return sf_resp_tagged(req, resp, "application/json", a->data, a->len, NULL, a->etag);
}
