/*
 * catalog_api.h — the public catalog JSON API (read only, no session):
 *   GET /api/v1/products?page&per_page&sort&category&q   product list / search
 *   GET /api/v1/products/{slug}                           one product
 *   GET /api/v1/categories                                the category tree
 *   GET /api/v1/categories/{slug}                         one category subtree
 * Bodies are exactly the shapes documented in shop/catalog.h.  Answers carry
 * "Cache-Control: public, max-age=60" and a strong ETag (304 on If-None-Match).
 */
#ifndef SF_API_CATALOG_API_H
#define SF_API_CATALOG_API_H

#include <stddef.h>

#include "http/http.h"

/* Each handler reads req->app (struct sf_app).  Returns SF_OK with resp
 * filled: 200 with the JSON body, or (products list) 400 bad_parameter with
 * a message naming the parameter and its rule.  Returns SF_ERR_NOT_FOUND for
 * an unknown product or category slug, and any other error code for the
 * http layer to answer (500/503). */
enum sf_err sf_api_products_list(struct sf_req *req, struct sf_resp *resp);
enum sf_err sf_api_product_get(struct sf_req *req, struct sf_resp *resp);
enum sf_err sf_api_categories(struct sf_req *req, struct sf_resp *resp);
enum sf_err sf_api_category_get(struct sf_req *req, struct sf_resp *resp);

/* Answer with the catalog response cache (shop/catalog_cache.h) in front:
 * the cached body for (kind, key) at the current catalog version, or the
 * one build(ctx) makes (then cached), as a 200 of content_type with its
 * strong ETag (304 when If-None-Match matches).  Used by the catalog API
 * and the storefront pages alike.  Returns SF_OK, build's error (e.g.
 * SF_ERR_NOT_FOUND), SF_ERR_UNAVAILABLE without a database, or a database
 * or memory error. */
enum sf_err sf_api_send_cached(struct sf_req *req, struct sf_resp *resp, const char *content_type, int kind,
			       const char *key, size_t keylen, enum sf_err (*build)(void *ctx, char **body, size_t *len),
			       void *ctx);


#endif
