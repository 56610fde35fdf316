/*
 * routes.c — the route table.  One row per endpoint; the http layer matches
 * method + path and enforces what each row declares.  Static assets are the
 * only rows flagged SF_ROUTE_STATIC (never inspected by the WAF).
 */
#include "api/routes.h"

#include "api/catalog_api.h"
#include "api/health_api.h"
#include "web/pages.h"

#define PUBLIC_READ(m, p, h) {m, p, h, SF_AUTH_NONE, NULL, SF_CSRF_NONE, SF_RC_READ, 0, 0}

static const struct sf_route routes[] = {
	/* storefront pages */
	PUBLIC_READ("GET", "/", sf_web_home),
	PUBLIC_READ("GET", "/c/{slug}", sf_web_category),
	PUBLIC_READ("GET", "/p/{slug}", sf_web_product),
	PUBLIC_READ("GET", "/search", sf_web_search),
	/* JSON API */
	PUBLIC_READ("GET", "/api/v1/products", sf_api_products_list),
	PUBLIC_READ("GET", "/api/v1/products/{slug}", sf_api_product_get),
	PUBLIC_READ("GET", "/api/v1/categories", sf_api_categories),
	PUBLIC_READ("GET", "/api/v1/categories/{slug}", sf_api_category_get),
	/* health */
	{"GET", "/healthz", sf_api_healthz, SF_AUTH_NONE, NULL, SF_CSRF_NONE, SF_RC_HEALTH, 0, 0},
	{"GET", "/readyz", sf_api_readyz, SF_AUTH_NONE, NULL, SF_CSRF_NONE, SF_RC_HEALTH, 0, 0},
	/* files */
	{"GET", "/static/{*path}", sf_http_static_asset, SF_AUTH_NONE, NULL, SF_CSRF_NONE, SF_RC_STATIC, 0,
	 SF_ROUTE_STATIC},
	{"GET", "/media/{*path}", sf_http_static_media, SF_AUTH_NONE, NULL, SF_CSRF_NONE, SF_RC_STATIC, 0, 0},
};

const struct sf_route *sf_routes(size_t *n)
{
	*n = sizeof routes / sizeof routes[0];
	return routes;
}
