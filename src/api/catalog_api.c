/*
 * catalog_api.c — JSON handlers for the catalog (see catalog_api.h).
 *
 * Each handler is: validate parameters, ask shop/catalog for the JSON, send
 * it.  Bad parameters answer 400 with a message naming the parameter and
 * its rule; the message is fixed text, never an echo of the input.
 */
#include "api/catalog_api.h"

#include <string.h>

#include "core/app.h"
#include "shop/catalog.h"

#define CACHE_CONTROL "public, max-age=60"

static const char *bad_param_message(const char *bad)
{
	if (!bad)
		return NULL;
	if (strcmp(bad, "page") == 0)
		return "page must be an integer from 1 to 10000";
	if (strcmp(bad, "per_page") == 0)
		return "per_page must be between 1 and 100";
	if (strcmp(bad, "sort") == 0)
		return "sort must be one of name, price_asc, price_desc, newest";
	if (strcmp(bad, "category") == 0)
		return "category must be a slug of 1-64 characters a-z, 0-9 and -";
	if (strcmp(bad, "q") == 0)
		return "q must be valid UTF-8 text of at most 200 bytes";
	return NULL;
}

/* Send json (reference stolen) as a cacheable 200 answer. */
static enum sf_err send_json(struct sf_req *req, struct sf_resp *resp, json_t *json)
{
	enum sf_err err = sf_resp_json(req, resp, 200, json);
	if (err)
		return err;
	return sf_resp_header(req, resp, "Cache-Control", CACHE_CONTROL);
}

static struct sf_db *app_db(struct sf_req *req)
{
	const struct sf_app *app = req->app;
	return app ? app->db : NULL;
}

enum sf_err sf_api_products_list(struct sf_req *req, struct sf_resp *resp)
{
	struct sf_catalog_query q;
	const char *bad = NULL;
	json_t *out = NULL;
	struct sf_db *db = app_db(req);
	if (!db)
		return SF_ERR_UNAVAILABLE;
	enum sf_err err = sf_catalog_query_parse(sf_req_query(req, "page"), sf_req_query(req, "per_page"),
						 sf_req_query(req, "sort"), sf_req_query(req, "category"),
						 sf_req_query(req, "q"), &q, &bad);
	if (err) {
		sf_resp_error(req, resp, SF_ERR_BAD_PARAM, bad_param_message(bad));
		return SF_OK;
	}
	err = sf_catalog_list(db, &q, &out);
	if (err) /* SF_ERR_NOT_FOUND: no such category */
		return err;
	return send_json(req, resp, out);
}

enum sf_err sf_api_product_get(struct sf_req *req, struct sf_resp *resp)
{
	json_t *out = NULL;
	struct sf_db *db = app_db(req);
	if (!db)
		return SF_ERR_UNAVAILABLE;
	enum sf_err err = sf_catalog_product(db, sf_req_param(req, "slug"), &out);
	if (err) /* SF_ERR_NOT_FOUND: no such (active) product */
		return err;
	return send_json(req, resp, out);
}

enum sf_err sf_api_categories(struct sf_req *req, struct sf_resp *resp)
{
	json_t *out = NULL;
	struct sf_db *db = app_db(req);
	if (!db)
		return SF_ERR_UNAVAILABLE;
	enum sf_err err = sf_catalog_categories(db, &out);
	if (err)
		return err;
	return send_json(req, resp, out);
}

enum sf_err sf_api_category_get(struct sf_req *req, struct sf_resp *resp)
{
	json_t *out = NULL;
	struct sf_db *db = app_db(req);
	if (!db)
		return SF_ERR_UNAVAILABLE;
	enum sf_err err = sf_catalog_category(db, sf_req_param(req, "slug"), &out);
	if (err) /* SF_ERR_NOT_FOUND: no such category */
		return err;
	return send_json(req, resp, out);
}

