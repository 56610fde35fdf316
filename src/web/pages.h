/*
 * pages.h — the storefront's HTML page handlers (home, category, product,
 * search) and the HTML error page.
 *
 * Each handler validates its query parameters, reads the catalog through
 * src/shop/catalog.h (JSON in the shapes documented there), adds page-level
 * fields (title, shop name, navigation, pagination, sort options) and renders
 * a template from req->app->tmpl into a body capped at SF_WEB_PAGE_CAP.
 * Handlers never hold SQL and never write HTML themselves: every byte of
 * markup comes from web/templates/ through the escaping template engine.
 *
 * Template context (what the templates may rely on; every page):
 *   shop, title, meta_description?, search_q (the search box value),
 *   nav [{slug,name,description,current}], has_nav
 * and per page: home {categories, has_categories, new_arrivals (list)};
 * category {category, crumbs, list, pager, sort_options, one};
 * product {product (+has_variants), crumbs, has_variants};
 * search {list, pager, sort_options, one}; error {status, heading, message,
 * request_id, code}.  A "list" carries has_items; "pager" is
 * {base, q, sort, page, pages, prev, next, links[{n,current,gap}]} or null.
 */
#ifndef SF_WEB_PAGES_H
#define SF_WEB_PAGES_H

#include <jansson.h>
#include <stddef.h>

#include "core/err.h"
#include "http/http.h"

#define SF_WEB_PAGE_CAP (2u * 1024u * 1024u) /* hard cap of one rendered page */
#define SF_WEB_SHOP_NAME "storefort demo shop"
#define SF_WEB_PER_PAGE "24"                 /* products per category/search page */
#define SF_WEB_NEW_ARRIVALS "8"              /* products on the home page */

struct sf_app;
/* The fields every storefront page starts from: "shop" ([app] shop_name),
 * "title" (may be NULL), an empty "search_q", "has_nav" false and
 * "prices_incl" ([shop] prices_include_tax, for the footer).  NULL when
 * out of memory. */
json_t *sf_web_page_base(const struct sf_app *app, const char *title);

/* Mark the form field named field (NULL: none) as the one a refusal is
 * about: ctx "invalid" {field: true}, which the form templates turn into
 * aria-invalid="true" and aria-describedby="form-error" (the id of the
 * page's error message) on that input.  Does nothing when ctx is NULL. */
void sf_web_mark_invalid(json_t *ctx, const char *field);

/* GET / — category tiles and the newest products.
 * Returns SF_OK (resp filled, 200), or the catalog's/renderer's error
 * (SF_ERR_DB…, SF_ERR_NOMEM, SF_ERR_LIMIT, SF_ERR_UNAVAILABLE when the app has
 * no template set) for the HTTP layer to answer with the error page. */
enum sf_err sf_web_home(struct sf_req *req, struct sf_resp *resp);

/* GET /c/{slug}?page=&sort= — one category with a sortable, paginated grid.
 * Returns SF_OK, SF_ERR_BAD_PARAM (page/sort invalid), SF_ERR_NOT_FOUND
 * (no such category), or a catalog/renderer error as for sf_web_home. */
enum sf_err sf_web_category(struct sf_req *req, struct sf_resp *resp);

/* GET /p/{slug} — one product with its variants.
 * Returns SF_OK, SF_ERR_NOT_FOUND, or a catalog/renderer error. */
enum sf_err sf_web_product(struct sf_req *req, struct sf_resp *resp);

/* GET /search?q=&page=&sort= — full-text search; an empty or missing q shows
 * the search prompt.  Returns SF_OK, SF_ERR_BAD_PARAM (q too long, page/sort
 * invalid), or a catalog/renderer error. */
enum sf_err sf_web_search(struct sf_req *req, struct sf_resp *resp);

/* Fill resp with the HTML error page for err (status from the error
 * registry), showing message (NULL: the registry's description) and the
 * request id.  Suitable as sf_http_hooks.error_page.  Never fails: when the
 * template cannot be rendered it falls back to a minimal escaped page, and to
 * a static text body when even that cannot be allocated. */
void sf_web_error_page(struct sf_req *req, struct sf_resp *resp, enum sf_err err, const char *message);

#endif
