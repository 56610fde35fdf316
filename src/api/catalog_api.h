/*
 * catalog_api.h — the public catalog JSON API (read only, no session):
 *   GET /api/v1/products?page&per_page&sort&category&q   product list / search
 *   GET /api/v1/products/{slug}                           one product
 *   GET /api/v1/categories                                the category tree
 *   GET /api/v1/categories/{slug}                         one category subtree
 * Bodies are exactly the shapes documented in shop/catalog.h.  Answers carry
 * "Cache-Control: public, max-age=60".
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


#endif
