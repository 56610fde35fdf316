/*
 * admin_customers.c — customer search (by e-mail through the blind index:
 * nothing is decrypted to search), the masked customer page, and the
 * audited reveal of protected fields for staff holding customers.reveal
 * who give a reason (admin_pages.h).
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "auth/form.h"
#include "auth/rbac.h"
#include "core/app.h"
#include "shop/backoffice.h"
#include "web/admin_pages.h"
#include "web/admin_util.h"

enum sf_err sf_web_admin_customers(struct sf_req *req, struct sf_resp *resp)
{
	struct sf_app *app = req->app;
	const char *email = sf_req_query(req, "email");
	int64_t before;
	json_t *page = NULL;
	enum sf_err err = sf_admin_int(req, "before", 1, 1, INT64_MAX, 0, &before);
	json_t *ctx = err ? NULL : sf_admin_ctx(req, resp, "Customers", "customers");
	if (!err && !ctx)
		err = SF_ERR_NOMEM;
	if (!err)
		err = sf_bo_customers(app->db, app->keys, email, before, &page);
	if (err == SF_ERR_BAD_PARAM && ctx) {
		sf_admin_error(ctx, err, "Type a whole e-mail address: customers are found by exact address.");
		page = json_pack("{s:[],s:b,s:n}", "items", "has_items", 0, "next_before");
		err = page ? SF_OK : SF_ERR_NOMEM;
		if (!err) {
			json_object_set_new(ctx, "page", page);
			json_object_set_new(ctx, "email", json_string(""));
			return sf_admin_render(req, resp, 400, "admin_customers", ctx);
		}
	}
	if (!err && sf_admin_times(json_object_get(page, "items"), "created_at"))
		err = SF_ERR_NOMEM;
	if (err) {
		json_decref(page);
		json_decref(ctx);
		return err;
	}
	json_object_set_new(ctx, "page", page);
	json_object_set_new(ctx, "email", json_string(email ? email : ""));
	json_object_set_new(ctx, "searched", json_boolean(email && *email));
	return sf_admin_render(req, resp, 200, "admin_customers", ctx);
}

/* The customer page: masked, or revealed (reason checked and audited).  A
 * refused reveal (no or bad reason) shows the masked page with the error. */
static enum sf_err customer_page(struct sf_req *req, struct sf_resp *resp, int64_t id, int reveal,
				 const char *reason)
{
	struct sf_app *app = req->app;
	struct sf_shop_actor a;
	char aid[24];
	const char *why = NULL;
	json_t *c = NULL, *orders = NULL;
	sf_admin_actor(req, &a, aid);
	enum sf_err refused = SF_OK;
	enum sf_err err = sf_bo_customer(app->db, app->keys, id, reveal, reason, &a, &c, &why);
	if (err && reveal && sf_admin_user_error(err) && err != SF_ERR_NOT_FOUND) {
		refused = err;
		err = sf_bo_customer(app->db, app->keys, id, 0, NULL, &a, &c, &why);
		if (!why)
			why = "Say why you need to see this customer's data.";
	}
	if (err)
		return err;
	struct sf_bo_order_filter f = {.customer_id = id};
	err = sf_bo_orders(app->db, &f, &orders);
	char title[48];
	snprintf(title, sizeof title, "Customer #%" PRId64, id);
	json_t *ctx = err ? NULL : sf_admin_ctx(req, resp, title, "customers");
	if (!err && !ctx)
		err = SF_ERR_NOMEM;
	if (!err && sf_admin_times(json_object_get(orders, "items"), "created_at"))
		err = SF_ERR_NOMEM;
	if (err) {
		json_decref(c);
		json_decref(orders);
		json_decref(ctx);
		return err;
	}
	char created[32];
	sf_admin_time(json_integer_value(json_object_get(c, "created_at")), created, sizeof created);
	json_object_set_new(c, "created_text", json_string(created));
	json_object_set_new(ctx, "customer", c);
	json_object_set_new(ctx, "orders", orders);
	json_object_set_new(ctx, "may_reveal", json_boolean(sf_rbac_can(req, "customers.reveal")));
	sf_admin_error(ctx, refused, why);
	return sf_admin_render(req, resp, refused ? sf_err_status(refused) : 200, "admin_customer", ctx);
}

enum sf_err sf_web_admin_customer(struct sf_req *req, struct sf_resp *resp)
{
	int64_t id;
	enum sf_err err = sf_admin_path_id(req, "id", &id);
	return err ? err : customer_page(req, resp, id, 0, NULL);
}

enum sf_err sf_web_admin_customer_reveal(struct sf_req *req, struct sf_resp *resp)
{
	int64_t id;
	enum sf_err err = sf_admin_path_id(req, "id", &id);
	if (err)
		return err;
	char back[64];
	snprintf(back, sizeof back, "/admin/customers/%" PRId64, id);
	int detour;
	err = sf_admin_fresh(req, resp, back, &detour);
	if (err || detour)
		return err;
	err = sf_form_parse(req);
	if (err)
		return err;
	return customer_page(req, resp, id, 1, sf_form_get(req, "reason"));
}
