/*
 * pages.c — the storefront's page handlers and HTML error page (pages.h).
 *
 * A handler is three steps: validate the query (sf_catalog_query_parse),
 * fetch JSON from the catalog, then decorate that JSON with what only a page
 * needs (title, navigation, breadcrumbs, pager, sort options, "has_*" flags
 * for sections that must render once rather than once per element) and render
 * a template.  The JSON the catalog returns is a fresh reference per call, so
 * decorating it in place is safe.
 */
#include "web/pages.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/catalog_api.h"
#include "core/app.h"
#include "core/config.h"
#include "core/buf.h"
#include "shop/catalog.h"
#include "shop/catalog_cache.h"
#include "web/tmpl.h"

#define PAGER_WINDOW 2 /* page links shown either side of the current page */
#define META_DESC_MAX 160

static const char *const sort_values[] = {"name", "price_asc", "price_desc", "newest"};
static const char *const sort_labels[] = {"Name (A–Z)", "Price: low to high", "Price: high to low", "Newest"};

/* ==== JSON building with one sticky out-of-memory flag ==== */

struct jb {
	int oom;
};

/* o[k] = v (reference stolen).  A NULL v or a failed set marks oom. */
static void put(struct jb *jb, json_t *o, const char *k, json_t *v)
{
	if (!v || !o || json_object_set_new(o, k, v))
		jb->oom = 1;
}

static void push(struct jb *jb, json_t *arr, json_t *v)
{
	if (!v || !arr || json_array_append_new(arr, v))
		jb->oom = 1;
}

static json_t *str_or_null(const char *s) { return s ? json_string(s) : json_null(); }

/* ==== Page-level fields ==== */

static json_t *sort_options(struct jb *jb, enum sf_catalog_sort cur)
{
	json_t *arr = json_array();
	for (size_t i = 0; i < sizeof sort_values / sizeof sort_values[0]; i++) {
		json_t *o = json_object();
		put(jb, o, "value", json_string(sort_values[i]));
		put(jb, o, "label", json_string(sort_labels[i]));
		put(jb, o, "selected", json_boolean((size_t)cur == i));
		push(jb, arr, o);
	}
	return arr;
}

static const char *sort_value(enum sf_catalog_sort s)
{
	return (size_t)s < sizeof sort_values / sizeof sort_values[0] ? sort_values[s] : "name";
}

/* "/c/" + slug percent-encoded as one path segment (heap; caller frees). */
static char *category_base(const char *slug)
{
	static const char hex[] = "0123456789ABCDEF";
	struct sf_buf b;
	sf_buf_init(&b, 4096);
	sf_buf_puts(&b, "/c/");
	for (const unsigned char *p = (const unsigned char *)slug; *p; p++) {
		unsigned char c = *p;
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
		    c == '.' || c == '_' || c == '~') {
			sf_buf_putc(&b, (char)c);
		} else {
			char enc[3] = {'%', hex[c >> 4], hex[c & 15]};
			sf_buf_append(&b, enc, 3);
		}
	}
	if (b.bf_err) {
		sf_buf_free(&b);
		return NULL;
	}
	return sf_buf_steal(&b, NULL);
}

static json_int_t int_member(const json_t *o, const char *k, json_int_t dflt)
{
	const json_t *v = json_object_get(o, k);
	return json_is_integer(v) ? json_integer_value(v) : dflt;
}

/* Mark a "list" object for the templates: has_items. */
static void mark_list(struct jb *jb, json_t *list)
{
	put(jb, list, "has_items", json_boolean(json_array_size(json_object_get(list, "items")) > 0));
}

/* The pager for a list: null when everything fits on one page.  Page links:
 * the first, the last and PAGER_WINDOW either side of the current page, with
 * gap markers between runs. */
static json_t *make_pager(struct jb *jb, const char *base, const char *q, enum sf_catalog_sort sort,
			  const json_t *list)
{
	json_int_t page = int_member(list, "page", 1);
	json_int_t pages = int_member(list, "pages", 0);
	if (pages <= 1 && page <= 1)
		return json_null();
	json_t *pager = json_object();
	put(jb, pager, "base", json_string(base));
	put(jb, pager, "q", str_or_null(q));
	put(jb, pager, "sort", json_string(sort_value(sort)));
	put(jb, pager, "page", json_integer(page));
	put(jb, pager, "pages", json_integer(pages));
	put(jb, pager, "prev", page > 1 ? json_integer(page - 1 <= pages || pages == 0 ? page - 1 : pages)
					 : json_null());
	put(jb, pager, "next", page < pages ? json_integer(page + 1) : json_null());
	json_t *links = json_array();
	json_int_t last = 0;
	for (json_int_t n = 1; n <= pages; n++) {
		int show = n == 1 || n == pages || (n >= page - PAGER_WINDOW && n <= page + PAGER_WINDOW);
		if (!show)
			continue;
		if (last && n > last + 1) {
			json_t *gap = json_object();
			put(jb, gap, "n", json_null());
			put(jb, gap, "current", json_false());
			put(jb, gap, "gap", json_true());
			push(jb, links, gap);
		}
		json_t *l = json_object();
		put(jb, l, "n", json_integer(n));
		put(jb, l, "current", json_boolean(n == page));
		put(jb, l, "gap", json_false());
		push(jb, links, l);
		last = n;
	}
	put(jb, pager, "links", links);
	return pager;
}

/* Crumbs for the templates: the given trail (root first) without the entry
 * named self_slug, then the current page as {name, slug:null}. */
static json_t *make_crumbs(struct jb *jb, const json_t *trail, const char *self_slug, const char *self_name)
{
	json_t *arr = json_array();
	size_t i;
	const json_t *c;
	json_array_foreach(trail, i, c)
	{
		const char *slug = json_string_value(json_object_get(c, "slug"));
		const char *name = json_string_value(json_object_get(c, "name"));
		if (!slug || !name || (self_slug && strcmp(slug, self_slug) == 0))
			continue;
		push(jb, arr, json_pack("{s:s,s:s}", "slug", slug, "name", name));
	}
	push(jb, arr, json_pack("{s:s,s:n}", "name", self_name ? self_name : "", "slug"));
	return arr;
}

/* Set "meta_description" to at most META_DESC_MAX bytes of text, cut on a
 * UTF-8 character boundary. */
static void put_meta_description(struct jb *jb, json_t *ctx, const char *text)
{
	if (!text || !*text)
		return;
	size_t n = strlen(text);
	if (n > META_DESC_MAX) {
		n = META_DESC_MAX;
		while (n > 0 && ((unsigned char)text[n] & 0xC0) == 0x80)
			n--;
	}
	put(jb, ctx, "meta_description", json_stringn(text, n));
}

/* The fields every page has: shop, title, search box value and the category
 * navigation (root categories; current_slug's entry is marked).  When
 * with_nav is 0 or the catalog cannot be read, the navigation is left out. */
json_t *sf_web_page_base(const struct sf_app *app, const char *title)
{
	const struct sf_config *cfg = app ? app->cfg : NULL;
	const char *shop = cfg && cfg->shop_name[0] ? cfg->shop_name : SF_WEB_SHOP_NAME;
	return json_pack("{s:s,s:o,s:s,s:b,s:b}", "shop", shop, "title", title ? json_string(title) : json_null(),
			 "search_q", "", "has_nav", 0, "prices_incl", cfg ? cfg->shop_prices_include_tax != 0 : 1);
}

void sf_web_mark_invalid(json_t *ctx, const char *field)
{
	if (!ctx || !field)
		return;
	json_t *inv = json_object_get(ctx, "invalid");
	if (!json_is_object(inv)) {
		inv = json_object();
		if (!inv || json_object_set_new(ctx, "invalid", inv) != 0)
			return;
	}
	json_object_set_new(inv, field, json_true());
}

static enum sf_err base_ctx(struct sf_req *req, const char *title, int with_nav, json_t **out)
{
	struct sf_app *app = req->app;
	struct jb jb = {0};
	json_t *ctx = sf_web_page_base(app, title);
	if (!ctx)
		return SF_ERR_NOMEM;
	json_t *nav = NULL;
	if (with_nav && app && app->db) {
		json_t *cats = NULL;
		enum sf_err err = sf_catalog_categories(app->db, &cats);
		if (err) {
			json_decref(ctx);
			return err;
		}
		nav = json_incref(json_object_get(cats, "items"));
		json_decref(cats);
	}
	if (!json_is_array(nav)) {
		json_decref(nav);
		nav = json_array();
	}
	put(&jb, ctx, "has_nav", json_boolean(json_array_size(nav) > 0));
	put(&jb, ctx, "nav", nav);
	if (jb.oom) {
		json_decref(ctx);
		return SF_ERR_NOMEM;
	}
	*out = ctx;
	return SF_OK;
}

/* Mark one navigation entry as current: the root of the trail (the nav
 * lists root categories), or slug when there is no trail. */
static void mark_nav(struct jb *jb, json_t *ctx, const char *slug, const json_t *trail)
{
	const char *root = json_string_value(json_object_get(json_array_get(trail, 0), "slug"));
	const char *want = root ? root : slug;
	size_t i;
	json_t *item;
	json_array_foreach(json_object_get(ctx, "nav"), i, item)
	{
		const char *s = json_string_value(json_object_get(item, "slug"));
		put(jb, item, "current", json_boolean(s && want && strcmp(s, want) == 0));
	}
}

/* Render template name with ctx into a heap buffer (*body, *len). */
static enum sf_err render_bytes(struct sf_req *req, const char *name, json_t *ctx, char **body, size_t *len)
{
	struct sf_app *app = req->app;
	if (!app || !app->tmpl)
		return SF_ERR_UNAVAILABLE;
	struct sf_buf b;
	sf_buf_init(&b, SF_WEB_PAGE_CAP);
	enum sf_err err = sf_tmpl_render(app->tmpl, name, ctx, &b);
	if (err) {
		sf_buf_free(&b);
		return err;
	}
	*body = sf_buf_steal(&b, len);
	return *body ? SF_OK : SF_ERR_NOMEM;
}

static enum sf_err render(struct sf_req *req, struct sf_resp *resp, unsigned status, const char *name,
			  json_t *ctx)
{
	char *data = NULL;
	size_t len = 0;
	enum sf_err err = render_bytes(req, name, ctx, &data, &len);
	if (err)
		return err;
	sf_resp_body(resp, status, "text/html; charset=utf-8", data, len, free);
	return SF_OK;
}

/* ==== Cached pages ====
 * A catalog page depends only on the catalog and its normalised query, so
 * the rendered bytes go through the catalog response cache.  The rule that
 * keeps this safe (docs/ARCHITECTURE.md, "Caching"): a page that starts to
 * carry per-visitor data (CSRF token, cart count) must stop being cached
 * whole here. */

struct page_job {
	struct sf_req *req;
	struct sf_catalog_query q;
	const char *slug; /* category, product */
	const char *text; /* search text, NULL when blank */
};

static enum sf_err send_page(struct sf_req *req, struct sf_resp *resp, enum sf_cc_kind kind, const char *key,
			     size_t keylen, enum sf_err (*build)(void *ctx, char **body, size_t *len),
			     struct page_job *job)
{
	job->req = req;
	return sf_api_send_cached(req, resp, "text/html; charset=utf-8", kind, key, keylen, build, job);
}

/* ==== Handlers ==== */

static enum sf_err home_build(void *job_, char **body, size_t *len)
{
	struct page_job *job = job_;
	struct sf_req *req = job->req;
	struct sf_app *app = req->app;
	struct jb jb = {0};
	json_t *ctx = NULL, *list = NULL;
	enum sf_err err = base_ctx(req, NULL, 1, &ctx);
	if (err)
		goto out;
	err = sf_catalog_list(app->db, &job->q, &list);
	if (err)
		goto out;
	mark_list(&jb, list);
	json_t *nav = json_object_get(ctx, "nav");
	put(&jb, ctx, "categories", json_incref(nav));
	put(&jb, ctx, "has_categories", json_boolean(json_array_size(nav) > 0));
	put(&jb, ctx, "new_arrivals", list);
	list = NULL;
	char desc[200];
	snprintf(desc, sizeof desc, "Everyday things, thoughtfully chosen: browse %s.",
		 json_string_value(json_object_get(ctx, "shop")));
	put_meta_description(&jb, ctx, desc);
	if (jb.oom) {
		err = SF_ERR_NOMEM;
		goto out;
	}
	err = render_bytes(req, "home", ctx, body, len);
out:
	json_decref(list);
	json_decref(ctx);
	return err;
}

enum sf_err sf_web_home(struct sf_req *req, struct sf_resp *resp)
{
	struct sf_app *app = req->app;
	struct page_job job = {0};
	const char *bad = NULL;
	if (!app || !app->db)
		return SF_ERR_UNAVAILABLE;
	enum sf_err err = sf_catalog_query_parse("1", SF_WEB_NEW_ARRIVALS, "newest", NULL, NULL, &job.q, &bad);
	if (err)
		return err;
	return send_page(req, resp, SF_CC_PAGE_HOME, "", 0, home_build, &job);
}

static enum sf_err category_build(void *job_, char **body, size_t *len)
{
	struct page_job *job = job_;
	struct sf_req *req = job->req;
	struct sf_app *app = req->app;
	const char *slug = job->slug;
	struct jb jb = {0};
	json_t *ctx = NULL, *cat = NULL, *list = NULL;
	char *base = NULL;
	enum sf_err err = sf_catalog_category(app->db, slug, &cat);
	if (err)
		goto out;
	err = sf_catalog_list(app->db, &job->q, &list);
	if (err)
		goto out;
	const char *name = json_string_value(json_object_get(cat, "name"));
	err = base_ctx(req, name, 1, &ctx);
	if (err)
		goto out;
	base = category_base(slug);
	if (!base) {
		err = SF_ERR_NOMEM;
		goto out;
	}
	const json_t *trail = json_object_get(cat, "breadcrumbs");
	mark_nav(&jb, ctx, slug, trail);
	put(&jb, ctx, "crumbs", make_crumbs(&jb, trail, slug, name));
	put(&jb, cat, "has_children", json_boolean(json_array_size(json_object_get(cat, "children")) > 0));
	put_meta_description(&jb, ctx, json_string_value(json_object_get(cat, "description")));
	mark_list(&jb, list);
	put(&jb, ctx, "pager", make_pager(&jb, base, NULL, job->q.sort, list));
	put(&jb, ctx, "sort_options", sort_options(&jb, job->q.sort));
	put(&jb, ctx, "one", json_boolean(int_member(list, "total", 0) == 1));
	put(&jb, ctx, "category", cat);
	cat = NULL;
	put(&jb, ctx, "list", list);
	list = NULL;
	if (jb.oom) {
		err = SF_ERR_NOMEM;
		goto out;
	}
	err = render_bytes(req, "category", ctx, body, len);
out:
	free(base);
	json_decref(cat);
	json_decref(list);
	json_decref(ctx);
	return err;
}

enum sf_err sf_web_category(struct sf_req *req, struct sf_resp *resp)
{
	struct sf_app *app = req->app;
	struct page_job job = {0};
	const char *bad = NULL;
	const char *slug = sf_req_param(req, "slug");
	if (!slug || !*slug)
		return SF_ERR_NOT_FOUND;
	if (!app || !app->db)
		return SF_ERR_UNAVAILABLE;
	enum sf_err err = sf_catalog_query_parse(sf_req_query(req, "page"), SF_WEB_PER_PAGE, sf_req_query(req, "sort"),
						 slug, NULL, &job.q, &bad);
	if (err) {
		/* A slug that cannot exist names no page; bad page/sort is the
		 * visitor's mistake to fix. */
		return bad && strcmp(bad, "category") == 0 ? SF_ERR_NOT_FOUND : SF_ERR_BAD_PARAM;
	}
	job.slug = slug;
	char key[SF_CC_KEY_MAX + 1];
	size_t keylen = sf_catalog_query_key(&job.q, key, sizeof key);
	return send_page(req, resp, SF_CC_PAGE_CATEGORY, key, keylen, category_build, &job);
}

static enum sf_err product_build(void *job_, char **body, size_t *len)
{
	struct page_job *job = job_;
	struct sf_req *req = job->req;
	struct sf_app *app = req->app;
	struct jb jb = {0};
	json_t *ctx = NULL, *prod = NULL;
	enum sf_err err = sf_catalog_product(app->db, job->slug, &prod);
	if (err)
		goto out;
	const char *name = json_string_value(json_object_get(prod, "name"));
	err = base_ctx(req, name, 1, &ctx);
	if (err)
		goto out;
	json_t *trail = json_object_get(prod, "breadcrumbs");
	json_t *fallback = NULL;
	if (!json_array_size(trail) && json_is_object(json_object_get(prod, "category"))) {
		fallback = json_pack("[O]", json_object_get(prod, "category"));
		trail = fallback;
	}
	const char *cat_slug = json_string_value(json_object_get(json_object_get(prod, "category"), "slug"));
	mark_nav(&jb, ctx, cat_slug, trail);
	put(&jb, ctx, "crumbs", make_crumbs(&jb, trail, NULL, name));
	json_decref(fallback);
	int has_variants = json_array_size(json_object_get(prod, "variants")) > 0;
	put(&jb, prod, "has_variants", json_boolean(has_variants));
	put(&jb, ctx, "has_variants", json_boolean(has_variants));
	put_meta_description(&jb, ctx, json_string_value(json_object_get(prod, "description")));
	put(&jb, ctx, "product", prod);
	prod = NULL;
	if (jb.oom) {
		err = SF_ERR_NOMEM;
		goto out;
	}
	err = render_bytes(req, "product", ctx, body, len);
out:
	json_decref(prod);
	json_decref(ctx);
	return err;
}

enum sf_err sf_web_product(struct sf_req *req, struct sf_resp *resp)
{
	struct sf_app *app = req->app;
	struct page_job job = {0};
	const char *slug = sf_req_param(req, "slug");
	if (!slug || !*slug)
		return SF_ERR_NOT_FOUND;
	if (!app || !app->db)
		return SF_ERR_UNAVAILABLE;
	job.slug = slug;
	return send_page(req, resp, SF_CC_PAGE_PRODUCT, slug, strlen(slug), product_build, &job);
}

/* Is s NULL, empty or only ASCII whitespace? */
static int blank(const char *s)
{
	for (; s && *s; s++)
		if (*s != ' ' && *s != '\t' && *s != '\r' && *s != '\n')
			return 0;
	return 1;
}

static enum sf_err search_build(void *job_, char **body, size_t *len)
{
	struct page_job *job = job_;
	struct sf_req *req = job->req;
	struct sf_app *app = req->app;
	const char *text = job->text;
	struct jb jb = {0};
	json_t *ctx = NULL, *list = NULL;
	enum sf_err err;
	if (text) {
		err = sf_catalog_list(app->db, &job->q, &list);
		if (err)
			goto out;
	}
	char title[SF_CATALOG_MAX_QUERY + 32];
	if (text)
		snprintf(title, sizeof title, "Search: %s", text);
	else
		snprintf(title, sizeof title, "Search");
	err = base_ctx(req, title, 1, &ctx);
	if (err)
		goto out;
	put(&jb, ctx, "search_q", json_string(text ? text : ""));
	if (list) {
		mark_list(&jb, list);
		put(&jb, ctx, "pager", make_pager(&jb, "/search", text, job->q.sort, list));
		put(&jb, ctx, "one", json_boolean(int_member(list, "total", 0) == 1));
		put(&jb, ctx, "list", list);
		list = NULL;
	} else {
		put(&jb, ctx, "pager", json_null());
		put(&jb, ctx, "list", json_null());
	}
	put(&jb, ctx, "sort_options", sort_options(&jb, job->q.sort));
	if (jb.oom) {
		err = SF_ERR_NOMEM;
		goto out;
	}
	err = render_bytes(req, "search", ctx, body, len);
out:
	json_decref(list);
	json_decref(ctx);
	return err;
}

enum sf_err sf_web_search(struct sf_req *req, struct sf_resp *resp)
{
	struct sf_app *app = req->app;
	struct page_job job = {0};
	const char *bad = NULL;
	const char *text = sf_req_query(req, "q");
	if (blank(text))
		text = NULL;
	if (!app || !app->db)
		return SF_ERR_UNAVAILABLE;
	if (sf_catalog_query_parse(sf_req_query(req, "page"), SF_WEB_PER_PAGE, sf_req_query(req, "sort"), NULL, text,
				   &job.q, &bad) != SF_OK)
		return SF_ERR_BAD_PARAM;
	job.text = text;
	char key[SF_CC_KEY_MAX + 1];
	size_t keylen = sf_catalog_query_key(&job.q, key, sizeof key);
	return send_page(req, resp, SF_CC_PAGE_SEARCH, key, keylen, search_build, &job);
}

/* ==== Error page ==== */

static const char *error_heading(unsigned status)
{
	switch (status) {
	case 400: return "That request did not look right";
	case 401: return "Please sign in";
	case 403: return "Access denied";
	case 404: return "Page not found";
	case 405: return "Method not allowed";
	case 409: return "That conflicts with something else";
	case 413: return "That was too large";
	case 414: return "That address is too long";
	case 415: return "Unsupported content";
	case 429: return "Too many requests";
	case 431: return "Request headers too large";
	case 503: return "We will be right back";
	default: return status >= 500 ? "Something went wrong" : "That did not work";
	}
}

/* A friendlier text than the registry's for the common page errors, used
 * when the caller gave no message of its own. */
static const char *error_text(unsigned status)
{
	switch (status) {
	case 404: return "The page you were looking for does not exist or has moved.";
	case 405: return "This page cannot be used that way.";
	case 429: return "You are going a little fast. Please wait a moment and try again.";
	case 503: return "The shop is briefly unavailable. Please try again in a minute.";
	default: return NULL;
	}
}

/* A minimal page without the template engine, every value escaped. */
static void fallback_error_page(struct sf_req *req, struct sf_resp *resp, unsigned status, const char *heading,
				const char *message)
{
	struct sf_buf b;
	sf_buf_init(&b, 16 * 1024);
	sf_buf_printf(&b,
		      "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
		      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
		      "<title>%u</title></head>\n<body>\n<h1>%u — ",
		      status, status);
	sf_buf_put_html(&b, heading, strlen(heading));
	sf_buf_puts(&b, "</h1>\n<p>");
	sf_buf_put_html(&b, message, strlen(message));
	sf_buf_puts(&b, "</p>\n<p><a href=\"/\">Back to the shop</a></p>\n<p>Request id: <code>");
	sf_buf_put_html(&b, req->request_id, strnlen(req->request_id, sizeof req->request_id));
	sf_buf_puts(&b, "</code></p>\n</body></html>\n");
	if (b.bf_err) {
		sf_buf_free(&b);
		static const char text[] = "error\n";
		sf_resp_body(resp, status, "text/plain; charset=utf-8", text, sizeof text - 1, NULL);
		return;
	}
	size_t len = 0;
	char *data = sf_buf_steal(&b, &len);
	sf_resp_body(resp, status, "text/html; charset=utf-8", data, len, free);
}

void sf_web_error_page(struct sf_req *req, struct sf_resp *resp, enum sf_err err, const char *message)
{
	if (err == SF_OK)
		err = SF_ERR_INTERNAL;
	unsigned status = sf_err_status(err);
	const char *heading = error_heading(status);
	/* Server-side failures never show the caller's text (it may hold
	 * internal detail); client errors may say what to fix. */
	if (!message || status >= 500)
		message = sf_err_desc(err);
	if (strcmp(message, sf_err_desc(err)) == 0 && error_text(status))
		message = error_text(status);

	struct jb jb = {0};
	json_t *ctx = NULL;
	/* Navigation helps a lost visitor; it is skipped when the server itself
	 * is failing, so an error page never depends on the broken part. */
	enum sf_err e = base_ctx(req, heading, status < 500, &ctx);
	if (e)
		e = base_ctx(req, heading, 0, &ctx);
	if (!e) {
		put(&jb, ctx, "status", json_integer(status));
		/* A shopper's session ended: offer to log in again.  Not on
		 * back-office paths, which the http layer has rewritten to /admin
		 * whatever [admin] path is (sf_http_admin_rewrite): staff have
		 * their own way in. */
		const char *p = req->path;
		int staff = p && !strncmp(p, "/admin", 6) && (p[6] == '\0' || p[6] == '/');
		put(&jb, ctx, "is_401", json_boolean(status == 401 && p && !staff));
		put(&jb, ctx, "heading", json_string(heading));
		put(&jb, ctx, "message", json_string(message));
		put(&jb, ctx, "code", json_string(sf_err_code(err)));
		put(&jb, ctx, "request_id", json_string(req->request_id));
		if (jb.oom)
			e = SF_ERR_NOMEM;
	}
	if (!e)
		e = render(req, resp, status, "error", ctx);
	json_decref(ctx);
	if (e)
		fallback_error_page(req, resp, status, heading, message);
}

