/*
 * admin_catalog.c — products, variants, categories, stock adjustments and
 * product image uploads in the back office (admin_pages.h).
 */
#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "auth/auth.h"
#include "auth/csrf.h"
#include "auth/form.h"
#include "core/app.h"
#include "core/config.h"
#include "shop/backoffice.h"
#include "shop/money.h"
#include "shop/catalog.h"
#include "shop/inventory.h"
#include "shop/media.h"
#include "web/admin_pages.h"
#include "web/admin_util.h"

/* ==== Categories (for the product form's select and the category page) ==== */

static int flatten(json_t *tree, json_t *out, int depth, int64_t selected)
{
	size_t i;
	json_t *c;
	json_array_foreach(tree, i, c) {
		char label[200] = "";
		int64_t id = json_integer_value(json_object_get(c, "id"));
		size_t at = 0;
		for (int d = 0; d < depth && d < 8; d++) /* "— " per level: whole UTF-8 characters */
			at += (size_t)snprintf(label + at, sizeof label - at, "\u2014 ");
		snprintf(label + at, sizeof label - at, "%s", json_string_value(json_object_get(c, "name")));
		if (json_array_append_new(out, json_pack("{s:I,s:s,s:s,s:b,s:i}", "id", (json_int_t)id, "label", label,
							 "name", json_string_value(json_object_get(c, "name")),
							 "selected", id == selected, "depth", depth)) ||
		    flatten(json_object_get(c, "children"), out, depth + 1, selected))
			return -1;
	}
	return 0;
}

static enum sf_err categories_json(struct sf_app *app, int64_t selected, json_t **out)
{
	json_t *tree = NULL;
	enum sf_err err = sf_catalog_categories(app->db, &tree);
	if (err)
		return err;
	*out = json_array();
	if (!*out || flatten(json_object_get(tree, "items"), *out, 0, selected)) {
		json_decref(*out);
		*out = NULL;
		err = SF_ERR_NOMEM;
	}
	json_decref(tree);
	return err;
}

/* ==== Product list ==== */

enum sf_err sf_web_admin_products(struct sf_req *req, struct sf_resp *resp)
{
	struct sf_app *app = req->app;
	const char *q = sf_req_query(req, "q");
	int64_t page_no;
	json_t *page = NULL;
	enum sf_err err = sf_admin_int(req, "page", 1, 1, SF_CATALOG_MAX_PAGE, 1, &page_no);
	if (!err)
		err = sf_bo_products(app->db, q, page_no, &page);
	if (err)
		return err;
	json_t *ctx = sf_admin_ctx(req, resp, "Products", "products");
	if (!ctx) {
		json_decref(page);
		return SF_ERR_NOMEM;
	}
	json_object_set_new(ctx, "page", page);
	json_object_set_new(ctx, "q", json_string(q ? q : ""));
	return sf_admin_render(req, resp, 200, "admin_products", ctx);
}

/* ==== Product form ==== */

/* The product edit page (id 0: the new-product form), showing err. */
static enum sf_err product_page(struct sf_req *req, struct sf_resp *resp, int64_t id, enum sf_err why,
				const char *why_text)
{
	struct sf_app *app = req->app;
	json_t *p = NULL, *cats = NULL, *hist = NULL;
	enum sf_err err = id ? sf_bo_product(app->db, id, &p) : SF_OK;
	if (!err && !id) {
		/* a failed create: show what was typed */
		const char *name = sf_form_get(req, "name"), *slug = sf_form_get(req, "slug");
		const char *desc = sf_form_get(req, "description");
		p = json_pack("{s:I,s:s,s:s,s:s,s:s}", "id", (json_int_t)0, "name", name ? name : "", "slug",
			      slug ? slug : "", "description", desc ? desc : "", "status", "draft");
		if (!p)
			err = SF_ERR_NOMEM;
	}
	if (!err)
		err = categories_json(app, json_integer_value(json_object_get(p, "category_id")), &cats);
	if (!err && id)
		err = sf_inventory_history(app->db, id, 20, &hist);
	if (!err && hist && sf_admin_times(json_object_get(hist, "items"), "at"))
		err = SF_ERR_NOMEM;
	json_t *ctx = err ? NULL : sf_admin_ctx(req, resp, id ? "Edit product" : "New product", "products");
	if (!err && !ctx)
		err = SF_ERR_NOMEM;
	if (err) {
		json_decref(p);
		json_decref(cats);
		json_decref(hist);
		return err;
	}
	const char *st = json_string_value(json_object_get(p, "status"));
	char k[24];
	snprintf(k, sizeof k, "is_%s", st ? st : "draft");
	json_object_set_new(p, k, json_true());
	json_object_set_new(ctx, "product", p);
	json_object_set_new(ctx, "categories", cats);
	json_object_set_new(ctx, "history", hist ? hist : json_null());
	json_object_set_new(ctx, "is_new", json_boolean(!id));
	json_object_set_new(ctx, "max_upload_kib", json_integer(SF_MEDIA_MAX / 1024));
	char cy[4];
	sf_admin_shop_currency(app->db, cy); /* a new variant's, unless changed */
	json_object_set_new(ctx, "shop_currency", json_string(cy));
	sf_admin_error(ctx, why, why_text);
	return sf_admin_render(req, resp, why ? sf_err_status(why) : 200, "admin_product", ctx);
}

enum sf_err sf_web_admin_product_new(struct sf_req *req, struct sf_resp *resp)
{
	return product_page(req, resp, 0, SF_OK, NULL);
}

enum sf_err sf_web_admin_product(struct sf_req *req, struct sf_resp *resp)
{
	int64_t id;
	enum sf_err err = sf_admin_path_id(req, "id", &id);
	return err ? err : product_page(req, resp, id, SF_OK, NULL);
}

static enum sf_err back_to_product(struct sf_req *req, struct sf_resp *resp, int64_t id)
{
	char loc[64];
	snprintf(loc, sizeof loc, "/admin/products/%" PRId64, id);
	return sf_resp_redirect(req, resp, 303, loc);
}

/* After a domain call: 303 back to the product, or its page with the error. */
static enum sf_err product_done(struct sf_req *req, struct sf_resp *resp, int64_t id, enum sf_err err,
				const char *why)
{
	if (!err)
		return back_to_product(req, resp, id);
	if (!sf_admin_user_error(err) || (err == SF_ERR_NOT_FOUND && id))
		return err;
	return product_page(req, resp, id, err, why);
}

static enum sf_err product_save(struct sf_req *req, struct sf_resp *resp, int64_t id)
{
	struct sf_app *app = req->app;
	struct sf_shop_actor a;
	char aid[24];
	const char *why = NULL;
	int64_t saved = 0;
	struct sf_bo_product_in in = {
		.slug = sf_form_get(req, "slug"),
		.name = sf_form_get(req, "name"),
		.description = sf_form_get(req, "description"),
		.status = sf_form_get(req, "status"),
	};
	sf_admin_actor(req, &a, aid);
	enum sf_err err = sf_admin_int(req, "category_id", 0, 0, INT64_MAX, 0, &in.category_id);
	if (err)
		why = "Choose a category from the list.";
	if (!err)
		err = sf_bo_product_save(app->db, app->keys, id, &in, &a, &saved, &why);
	if (err == SF_ERR_NOT_FOUND && id == 0)
		why = "That category does not exist.";
	return product_done(req, resp, err ? id : saved, err == SF_ERR_NOT_FOUND && !id ? SF_ERR_BAD_PARAM : err,
			    why);
}

enum sf_err sf_web_admin_product_create(struct sf_req *req, struct sf_resp *resp)
{
	enum sf_err err = sf_form_parse(req);
	return err ? err : product_save(req, resp, 0);
}

enum sf_err sf_web_admin_product_update(struct sf_req *req, struct sf_resp *resp)
{
	int64_t id;
	enum sf_err err = sf_admin_path_id(req, "id", &id);
	if (!err)
		err = sf_form_parse(req);
	return err ? err : product_save(req, resp, id);
}

/* ==== Variants and stock ==== */

static enum sf_err variant_save(struct sf_req *req, struct sf_resp *resp, int update)
{
	struct sf_app *app = req->app;
	int64_t pid, vid = 0, price = 0;
	enum sf_err err = sf_admin_path_id(req, "id", &pid);
	if (!err && update)
		err = sf_admin_path_id(req, "vid", &vid);
	if (!err)
		err = sf_form_parse(req);
	if (err)
		return err;
	struct sf_shop_actor a;
	char aid[24];
	const char *why = "Give the price like 19.99 (1999 in a currency without cents such as JPY).";
	sf_admin_actor(req, &a, aid);
	if (sf_money_parse(sf_form_get(req, "price"), sf_form_get(req, "currency"), &price))
		err = SF_ERR_BAD_PARAM;
	else
		err = sf_bo_variant_save(app->db, app->keys, pid, vid, sf_form_get(req, "sku"), sf_form_get(req, "name"),
					 price, sf_form_get(req, "currency"), &a, &why);
	return product_done(req, resp, pid, err, why);
}

enum sf_err sf_web_admin_variant_create(struct sf_req *req, struct sf_resp *resp)
{
	return variant_save(req, resp, 0);
}

enum sf_err sf_web_admin_variant_update(struct sf_req *req, struct sf_resp *resp)
{
	return variant_save(req, resp, 1);
}

/* Is variant vid one of product pid's? */
static enum sf_err variant_of(struct sf_app *app, int64_t pid, int64_t vid)
{
	json_t *p = NULL;
	enum sf_err err = sf_bo_product(app->db, pid, &p);
	size_t i;
	json_t *v;
	int found = 0;
	json_array_foreach(json_object_get(p, "variants"), i, v) {
		found |= json_integer_value(json_object_get(v, "id")) == vid;
	}
	json_decref(p);
	return err ? err : found ? SF_OK : SF_ERR_NOT_FOUND;
}

enum sf_err sf_web_admin_inventory_adjust(struct sf_req *req, struct sf_resp *resp)
{
	struct sf_app *app = req->app;
	int64_t pid, vid, delta = 0;
	enum sf_err err = sf_admin_path_id(req, "id", &pid);
	if (!err)
		err = sf_admin_path_id(req, "vid", &vid);
	if (!err)
		err = variant_of(app, pid, vid);
	if (!err)
		err = sf_form_parse(req);
	if (err)
		return err;
	struct sf_shop_actor a;
	char aid[24];
	const char *why = "The change must be a whole number of units, such as 12 or -3.";
	sf_admin_actor(req, &a, aid);
	err = sf_admin_int(req, "delta", 0, -SF_INVENTORY_DELTA_MAX, SF_INVENTORY_DELTA_MAX, 0, &delta);
	if (!err)
		err = sf_inventory_adjust(app->db, app->keys, vid, delta, sf_form_get(req, "reason"), &a, NULL, &why);
	if (err == SF_ERR_OUT_OF_STOCK)
		why = "The stock cannot go below zero.";
	return product_done(req, resp, pid, err, why);
}

/* ==== Image upload (multipart/form-data; the auth stage checked its CSRF token) ==== */

enum sf_err sf_web_admin_product_image(struct sf_req *req, struct sf_resp *resp)
{
	struct sf_app *app = req->app;
	int64_t pid;
	enum sf_err err = sf_admin_path_id(req, "id", &pid);
	if (err)
		return err;
	err = sf_form_parse(req);
	if (err)
		return err;
	const struct sf_part *img = sf_form_file(req, "image");
	const char *why = "Choose an image file.";
	char name[SF_MEDIA_NAME_MAX];
	struct sf_shop_actor a;
	char aid[24];
	sf_admin_actor(req, &a, aid);
	if (!img || img->len == 0)
		err = SF_ERR_BAD_PARAM;
	else
		err = sf_media_product_image(app->db, app->keys, app->cfg ? app->cfg->media_dir : NULL, pid, img->data,
					     img->len, img->content_type, &a, name, &why);
	if (err == SF_ERR_TOO_LARGE || err == SF_ERR_UNSUPPORTED_MEDIA)
		return product_page(req, resp, pid, err, why);
	return product_done(req, resp, pid, err, why);
}

/* ==== Categories page ==== */

static enum sf_err categories_page(struct sf_req *req, struct sf_resp *resp, enum sf_err why, const char *why_text)
{
	json_t *cats = NULL;
	enum sf_err err = categories_json(req->app, 0, &cats);
	json_t *ctx = err ? NULL : sf_admin_ctx(req, resp, "Categories", "categories");
	if (!ctx) {
		json_decref(cats);
		return err ? err : SF_ERR_NOMEM;
	}
	json_object_set_new(ctx, "categories", cats);
	sf_admin_error(ctx, why, why_text);
	return sf_admin_render(req, resp, why ? sf_err_status(why) : 200, "admin_categories", ctx);
}

enum sf_err sf_web_admin_categories(struct sf_req *req, struct sf_resp *resp)
{
	return categories_page(req, resp, SF_OK, NULL);
}

static enum sf_err category_save(struct sf_req *req, struct sf_resp *resp, int64_t id)
{
	struct sf_app *app = req->app;
	int64_t parent = 0;
	const char *why = "Choose a parent category from the list.";
	struct sf_shop_actor a;
	char aid[24];
	sf_admin_actor(req, &a, aid);
	enum sf_err err = sf_admin_int(req, "parent_id", 0, 0, INT64_MAX, 0, &parent);
	if (!err)
		err = sf_bo_category_save(app->db, app->keys, id, parent, sf_form_get(req, "name"), &a, &why);
	if (!err)
		return sf_resp_redirect(req, resp, 303, "/admin/categories");
	if (err == SF_ERR_NOT_FOUND && id)
		return err;
	if (err == SF_ERR_NOT_FOUND) {
		err = SF_ERR_BAD_PARAM;
		why = "That parent category does not exist.";
	}
	return sf_admin_user_error(err) ? categories_page(req, resp, err, why) : err;
}

enum sf_err sf_web_admin_category_create(struct sf_req *req, struct sf_resp *resp)
{
	enum sf_err err = sf_form_parse(req);
	return err ? err : category_save(req, resp, 0);
}

enum sf_err sf_web_admin_category_update(struct sf_req *req, struct sf_resp *resp)
{
	int64_t id;
	enum sf_err err = sf_admin_path_id(req, "id", &id);
	if (!err)
		err = sf_form_parse(req);
	return err ? err : category_save(req, resp, id);
}
