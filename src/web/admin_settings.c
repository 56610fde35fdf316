/*
 * admin_settings.c — coupons, shipping methods and tax classes in the back
 * office (admin_pages.h).
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "audit/search.h"
#include "auth/form.h"
#include "core/app.h"
#include "shop/backoffice.h"
#include "shop/catalog.h"
#include "shop/coupon.h"
#include "shop/money.h"
#include "web/admin_pages.h"
#include "web/admin_util.h"

/* A list page: items from fn, the template, and an error to show. */
typedef enum sf_err (*list_fn)(struct sf_db *db, json_t **out);

static enum sf_err list_page(struct sf_req *req, struct sf_resp *resp, list_fn fn, const char *tmpl,
			     const char *title, const char *section, enum sf_err why, const char *why_text)
{
	struct sf_app *app = req->app;
	json_t *items = NULL;
	enum sf_err err = fn(app->db, &items);
	json_t *ctx = err ? NULL : sf_admin_ctx(req, resp, title, section);
	if (!ctx) {
		json_decref(items);
		return err ? err : SF_ERR_NOMEM;
	}
	json_object_set_new(ctx, "list", items);
	sf_admin_error(ctx, why, why_text);
	return sf_admin_render(req, resp, why ? sf_err_status(why) : 200, tmpl, ctx);
}

/* ==== Coupons ==== */

static enum sf_err coupons_with_text(struct sf_db *db, json_t **out)
{
	enum sf_err err = sf_bo_coupons(db, out);
	size_t i;
	json_t *c;
	json_array_foreach(json_object_get(*out, "items"), i, c) {
		char t[48];
		int64_t v = json_integer_value(json_object_get(c, "value"));
		if (!strcmp(json_string_value(json_object_get(c, "kind")), "percent"))
			snprintf(t, sizeof t, "%" PRId64 ".%02" PRId64 " %%", v / 100, v % 100);
		else
			sf_money_format(v, json_string_value(json_object_get(c, "currency")), t, sizeof t);
		json_object_set_new(c, "value_text", json_string(t));
	}
	if (!err && (sf_admin_times(json_object_get(*out, "items"), "starts_at") ||
		     sf_admin_times(json_object_get(*out, "items"), "ends_at")))
		err = SF_ERR_NOMEM;
	return err;
}

static enum sf_err coupons_page(struct sf_req *req, struct sf_resp *resp, enum sf_err why, const char *text)
{
	return list_page(req, resp, coupons_with_text, "admin_coupons", "Coupons", "coupons", why, text);
}

enum sf_err sf_web_admin_coupons(struct sf_req *req, struct sf_resp *resp)
{
	return coupons_page(req, resp, SF_OK, NULL);
}

/* An optional date field: "" -> 0; else the day's start (or the next
 * day's start for an end date). */
static int date_field(struct sf_req *req, const char *name, int end, int64_t *out)
{
	const char *s = sf_form_get(req, name);
	int64_t t, span;
	*out = 0;
	if (!s || !*s)
		return 0;
	if (sf_audit_parse_when(s, &t, &span))
		return -1;
	*out = end ? t + span : t;
	return 0;
}

enum sf_err sf_web_admin_coupon_create(struct sf_req *req, struct sf_resp *resp)
{
	struct sf_app *app = req->app;
	enum sf_err err = sf_form_parse(req);
	if (err)
		return err;
	struct sf_coupon cp = {.active = 1};
	const char *code = sf_form_get(req, "code"), *kind = sf_form_get(req, "kind");
	const char *cy = sf_form_get(req, "currency");
	const char *why = "Check the value, minimum order, dates (YYYY-MM-DD) and limits.";
	if (!code || strlen(code) > SF_COUPON_CODE_MAX)
		return coupons_page(req, resp, SF_ERR_BAD_PARAM, "The code must be 3 to 32 letters, digits, - or _.");
	snprintf(cp.code, sizeof cp.code, "%s", code);
	cp.kind = kind && !strcmp(kind, "fixed") ? SF_COUPON_FIXED : SF_COUPON_PERCENT;
	/* a fixed value and the minimum order in the coupon's currency (else
	 * the shop's); a percentage in hundredths */
	char shop_cy[4];
	sf_admin_shop_currency(app->db, shop_cy);
	const char *money_cy = cp.kind == SF_COUPON_FIXED && sf_money_currency_ok(cy) ? cy : shop_cy;
	if (!kind || (strcmp(kind, "fixed") && strcmp(kind, "percent")) ||
	    sf_money_parse(sf_form_get(req, "value"), cp.kind == SF_COUPON_FIXED ? money_cy : NULL, &cp.value) ||
	    (sf_form_get(req, "min_order") && *sf_form_get(req, "min_order") &&
	     sf_money_parse(sf_form_get(req, "min_order"), money_cy, &cp.min_order)) ||
	    date_field(req, "starts", 0, &cp.starts_at) || date_field(req, "ends", 1, &cp.ends_at) ||
	    sf_admin_int(req, "max_uses", 0, 0, 1000000000, 0, &cp.max_uses) ||
	    sf_admin_int(req, "max_per_customer", 0, 0, 1000000, 0, &cp.max_per_customer))
		return coupons_page(req, resp, SF_ERR_BAD_PARAM, why);
	if (cp.kind == SF_COUPON_FIXED) {
		if (!sf_money_currency_ok(cy))
			return coupons_page(req, resp, SF_ERR_BAD_PARAM,
					    "A fixed coupon needs a currency in capitals such as EUR.");
		memcpy(cp.currency, cy, 4);
	}
	struct sf_shop_actor a;
	char aid[24];
	int64_t id;
	sf_admin_actor(req, &a, aid);
	err = sf_coupon_create(app->db, app->keys, &cp, &a, &id);
	if (!err)
		return sf_resp_redirect(req, resp, 303, "/admin/coupons");
	if (err == SF_ERR_DB_CONSTRAINT)
		why = "A coupon with this code exists already.";
	else if (err == SF_ERR_COUPON_INVALID)
		why = "The code must be 3 to 32 letters, digits, - or _.";
	else if (err == SF_ERR_CARD_DATA)
		why = NULL; /* the registry's own words */
	if (err == SF_ERR_INVALID || err == SF_ERR_COUPON_INVALID)
		err = SF_ERR_BAD_PARAM;
	return sf_admin_user_error(err) ? coupons_page(req, resp, err, why) : err;
}

enum sf_err sf_web_admin_coupon_active(struct sf_req *req, struct sf_resp *resp)
{
	struct sf_app *app = req->app;
	int64_t id, active;
	enum sf_err err = sf_admin_path_id(req, "id", &id);
	if (!err)
		err = sf_form_parse(req);
	if (!err)
		err = sf_admin_int(req, "active", 0, 0, 1, -1, &active);
	if (!err && active < 0)
		err = SF_ERR_BAD_PARAM;
	struct sf_shop_actor a;
	char aid[24];
	sf_admin_actor(req, &a, aid);
	if (!err)
		err = sf_bo_coupon_active(app->db, app->keys, id, (int)active, &a);
	return err ? err : sf_resp_redirect(req, resp, 303, "/admin/coupons");
}

/* ==== Shipping ==== */

static enum sf_err shipping_with_text(struct sf_db *db, json_t **out)
{
	enum sf_err err = sf_bo_shipping(db, out);
	size_t i;
	json_t *m;
	char cy[4];
	sf_admin_shop_currency(db, cy);
	if (*out && json_object_set_new(*out, "currency", json_string(cy)) != 0)
		err = err ? err : SF_ERR_NOMEM;
	json_array_foreach(json_object_get(*out, "items"), i, m) {
		static const char *const keys[] = {"base", "per_kg", "free_above"};
		for (int k = 0; k < 3; k++) {
			int64_t v = json_integer_value(json_object_get(m, keys[k]));
			char t[40], key[24];
			if (v < 0)
				t[0] = '\0';
			else
				sf_money_plain(v, cy, t, sizeof t);
			snprintf(key, sizeof key, "%s_text", keys[k]);
			json_object_set_new(m, key, json_string(t));
		}
	}
	return err;
}

enum sf_err sf_web_admin_shipping(struct sf_req *req, struct sf_resp *resp)
{
	return list_page(req, resp, shipping_with_text, "admin_shipping", "Shipping", "shipping", SF_OK, NULL);
}

enum sf_err sf_web_admin_shipping_update(struct sf_req *req, struct sf_resp *resp)
{
	struct sf_app *app = req->app;
	int64_t id, base, per_kg = 0, free_above = -1;
	enum sf_err err = sf_admin_path_id(req, "id", &id);
	if (!err)
		err = sf_form_parse(req);
	if (err)
		return err;
	const char *fa = sf_form_get(req, "free_above"), *pk = sf_form_get(req, "per_kg");
	const char *why = "Amounts are like 4.90 (490 in a currency without cents); leave 'free above' empty for never.";
	char cy[4];
	sf_admin_shop_currency(app->db, cy);
	if (sf_money_parse(sf_form_get(req, "base"), cy, &base) || (pk && *pk && sf_money_parse(pk, cy, &per_kg)) ||
	    (fa && *fa && sf_money_parse(fa, cy, &free_above)))
		err = SF_ERR_BAD_PARAM;
	struct sf_shop_actor a;
	char aid[24];
	sf_admin_actor(req, &a, aid);
	const char *active = sf_form_get(req, "active");
	if (!err)
		err = sf_bo_shipping_save(app->db, app->keys, id, sf_form_get(req, "name"), base, per_kg, free_above,
					  sf_form_get(req, "tax_class"), active && !strcmp(active, "1"), &a, &why);
	if (!err)
		return sf_resp_redirect(req, resp, 303, "/admin/shipping");
	if (err == SF_ERR_NOT_FOUND) {
		/* an unknown method id is 404; an unknown tax class is the form's error */
		json_t *all = NULL;
		int known = 0;
		size_t i;
		json_t *m;
		if (!sf_bo_shipping(app->db, &all)) {
			json_array_foreach(json_object_get(all, "items"), i, m) {
				known |= json_integer_value(json_object_get(m, "id")) == id;
			}
		}
		json_decref(all);
		if (!known)
			return err;
		err = SF_ERR_BAD_PARAM;
		why = "That tax class does not exist.";
	}
	return sf_admin_user_error(err) ? list_page(req, resp, shipping_with_text, "admin_shipping", "Shipping",
						     "shipping", err, why)
					: err;
}

/* ==== Tax ==== */

enum sf_err sf_web_admin_tax(struct sf_req *req, struct sf_resp *resp)
{
	return list_page(req, resp, sf_bo_taxes, "admin_tax", "Tax classes", "tax", SF_OK, NULL);
}

enum sf_err sf_web_admin_tax_save(struct sf_req *req, struct sf_resp *resp)
{
	struct sf_app *app = req->app;
	int64_t bp = 0;
	enum sf_err err = sf_form_parse(req);
	if (err)
		return err;
	const char *why = "The rate is a percentage like 20 or 5.5.";
	struct sf_shop_actor a;
	char aid[24];
	sf_admin_actor(req, &a, aid);
	if (sf_money_parse(sf_form_get(req, "rate"), NULL, &bp)) /* hundredths of a percent */
		err = SF_ERR_BAD_PARAM;
	else
		err = sf_bo_tax_save(app->db, app->keys, sf_form_get(req, "class"), bp, sf_form_get(req, "label"), &a,
				     &why);
	if (!err)
		return sf_resp_redirect(req, resp, 303, "/admin/tax");
	return sf_admin_user_error(err) ? list_page(req, resp, sf_bo_taxes, "admin_tax", "Tax classes", "tax", err, why)
					: err;
}
