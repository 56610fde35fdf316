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
#include "shop/catalog_cache.h"

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

/* ==== Cached answers ====
 * Each handler names its answer by (kind, normalised key) and says how to
 * build the JSON; sf_catalog_cache_fetch serves the cached bytes of the
 * current catalog version or builds, stores and serves them.  The body is
 * the one json_dumps would give, so caching changes no byte on the wire. */

struct job {
	struct sf_db *db;
	const struct sf_catalog_query *q; /* list */
	const char *slug;                 /* product, category */
	enum sf_cc_kind kind;
};

static enum sf_err build_json(void *ctx, char **body, size_t *len)
{
	struct job *j = ctx;
	json_t *out = NULL;
	enum sf_err err;
	switch (j->kind) {
	case SF_CC_API_LIST:
		err = sf_catalog_list(j->db, j->q, &out); /* SF_ERR_NOT_FOUND: no such category */
		break;
	case SF_CC_API_PRODUCT:
		err = sf_catalog_product(j->db, j->slug, &out); /* SF_ERR_NOT_FOUND: no such (active) product */
		break;
	case SF_CC_API_CATEGORY:
		err = sf_catalog_category(j->db, j->slug, &out); /* SF_ERR_NOT_FOUND: no such category */
		break;
	default:
		err = sf_catalog_categories(j->db, &out);
		break;
	}
	if (err)
		return err;
	*body = json_dumps(out, JSON_COMPACT | JSON_ENCODE_ANY);
	json_decref(out);
	if (!*body)
		return SF_ERR_NOMEM;
	*len = strlen(*body);
	return SF_OK;
}

enum sf_err sf_api_send_cached(struct sf_req *req, struct sf_resp *resp, const char *content_type, int kind,
			       const char *key, size_t keylen, enum sf_err (*build)(void *ctx, char **body, size_t *len),
			       void *ctx)
{
	const struct sf_app *app = req->app;
	if (!app || !app->db)
		return SF_ERR_UNAVAILABLE;
	const char *body, *etag;
	size_t len;
	void (*body_free)(void *);
	enum sf_err err = sf_catalog_cache_fetch(app->catalog_cache, app->db, (enum sf_cc_kind)kind, key, keylen,
						 build, ctx, &body, &len, &body_free, &etag);
	if (err)
		return err;
	return sf_resp_tagged(req, resp, content_type, body, len, body_free, etag);
}

static enum sf_err send_cached(struct sf_req *req, struct sf_resp *resp, struct job *j, const char *key,
			       size_t keylen)
{
	const struct sf_app *app = req->app;
	j->db = app ? app->db : NULL;
	enum sf_err err = sf_api_send_cached(req, resp, "application/json", j->kind, key, keylen, build_json, j);
	if (err)
		return err;
	return sf_resp_header(req, resp, "Cache-Control", CACHE_CONTROL);
}

enum sf_err sf_api_products_list(struct sf_req *req, struct sf_resp *resp)
{
	struct sf_catalog_query q;
	const char *bad = NULL;
	enum sf_err err = sf_catalog_query_parse(sf_req_query(req, "page"), sf_req_query(req, "per_page"),
						 sf_req_query(req, "sort"), sf_req_query(req, "category"),
						 sf_req_query(req, "q"), &q, &bad);
	if (err) {
		sf_resp_error(req, resp, SF_ERR_BAD_PARAM, bad_param_message(bad));
		return SF_OK;
	}
	char key[SF_CC_KEY_MAX + 1];
	size_t keylen = sf_catalog_query_key(&q, key, sizeof key);
	struct job j = {.q = &q, .kind = SF_CC_API_LIST};
	return send_cached(req, resp, &j, key, keylen);
}

enum sf_err sf_api_product_get(struct sf_req *req, struct sf_resp *resp)
{
	const char *slug = sf_req_param(req, "slug");
	struct job j = {.slug = slug, .kind = SF_CC_API_PRODUCT};
	return send_cached(req, resp, &j, slug ? slug : "", slug ? strlen(slug) : 0);
}

enum sf_err sf_api_categories(struct sf_req *req, struct sf_resp *resp)
{
	struct job j = {.kind = SF_CC_API_CATEGORIES};
	return send_cached(req, resp, &j, "", 0);
}

enum sf_err sf_api_category_get(struct sf_req *req, struct sf_resp *resp)
{
	const char *slug = sf_req_param(req, "slug");
	struct job j = {.slug = slug, .kind = SF_CC_API_CATEGORY};
	return send_cached(req, resp, &j, slug ? slug : "", slug ? strlen(slug) : 0);
}
