/*
 * test_pages.c — unit tests for the storefront page handlers (src/web/pages.c)
 * rendered through the real embedded templates.
 *
 * The file under test is #included so that the handlers run against a small
 * in-memory fake of the catalog and of the three request/response functions
 * they use; the JSON the fake returns follows the shapes in
 * src/shop/catalog.h.  Set SF_WEB_DUMP_DIR to a directory to also write every
 * rendered page there (for looking at them in a browser).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <regex.h>

#include "core/assets.h"
#include "web/pages.c"

/* ==== Fakes: http ==== */

const char *sf_req_query(const struct sf_req *req, const char *name)
{
	for (size_t i = 0; i < req->nqargs; i++)
		if (strcmp(req->qargs[i].k, name) == 0)
			return req->qargs[i].v;
	return NULL;
}

const char *sf_req_param(const struct sf_req *req, const char *name)
{
	for (size_t i = 0; i < req->nparams; i++)
		if (strcmp(req->params[i].k, name) == 0)
			return req->params[i].v;
	return NULL;
}

void sf_resp_body(struct sf_resp *resp, unsigned status, const char *content_type, const void *body, size_t len,
		  void (*body_free)(void *))
{
	if (resp->body_free)
		resp->body_free((void *)resp->body);
	resp->status = status;
	resp->content_type = content_type;
	resp->body = body;
	resp->body_len = len;
	resp->body_free = body_free;
}

/* The catalog response cache in front of the pages (api/catalog_api.c):
 * the fake builds every time, as the real one does without a cache, and
 * records the key so the tests can check the normalisation. */
static char last_cache_key[SF_CC_KEY_MAX + 1];
static int last_cache_kind = -1;

enum sf_err sf_api_send_cached(struct sf_req *req, struct sf_resp *resp, const char *content_type, int kind,
			       const char *key, size_t keylen, enum sf_err (*build)(void *ctx, char **body, size_t *len),
			       void *ctx)
{
	(void)req;
	char *body = NULL;
	size_t len = 0;
	last_cache_kind = kind;
	snprintf(last_cache_key, sizeof last_cache_key, "%.*s", (int)keylen, key);
	enum sf_err err = build(ctx, &body, &len);
	if (err)
		return err;
	sf_resp_body(resp, 200, content_type, body, len, free);
	return SF_OK;
}

size_t sf_catalog_query_key(const struct sf_catalog_query *q, char *out, size_t outlen)
{
	int n = snprintf(out, outlen, "s%dp%lldn%lld|%s|%s", (int)q->sort, (long long)q->page, (long long)q->per_page,
			 q->category ? q->category : "-", q->q ? q->q : "-");
	return n < 0 ? outlen : (size_t)n;
}

/* ==== Fakes: catalog ==== */

#define NPRODUCTS 60
static int fail_categories; /* make sf_catalog_categories fail */

static const char *const cat_slugs[] = {"kitchen", "garden", "office"};
static const char *const cat_names[] = {"Kitchen & Dining", "Garden", "Office"};

enum sf_err sf_catalog_query_parse(const char *page, const char *per_page, const char *sort, const char *category,
				   const char *qtext, struct sf_catalog_query *q, const char **bad)
{
	*q = (struct sf_catalog_query){.sort = SF_SORT_NAME, .page = 1, .per_page = 20};
	char *end;
	if (page) {
		errno = 0;
		long long v = strtoll(page, &end, 10);
		if (errno || *end || end == page || v < 1 || v > SF_CATALOG_MAX_PAGE) {
			*bad = "page";
			return SF_ERR_BAD_PARAM;
		}
		q->page = v;
	}
	if (per_page) {
		errno = 0;
		long long v = strtoll(per_page, &end, 10);
		if (errno || *end || v < 1 || v > SF_CATALOG_MAX_PER_PAGE) {
			*bad = "per_page";
			return SF_ERR_BAD_PARAM;
		}
		q->per_page = v;
	}
	if (sort) {
		size_t i;
		for (i = 0; i < 4 && strcmp(sort, sort_values[i]) != 0; i++)
			;
		if (i == 4) {
			*bad = "sort";
			return SF_ERR_BAD_PARAM;
		}
		q->sort = (enum sf_catalog_sort)i;
	}
	if (category && strpbrk(category, " /<>\"")) {
		*bad = "category";
		return SF_ERR_BAD_PARAM;
	}
	if (qtext && strlen(qtext) > SF_CATALOG_MAX_QUERY) {
		*bad = "q";
		return SF_ERR_BAD_PARAM;
	}
	q->category = category;
	q->q = qtext;
	return SF_OK;
}

static json_t *price(json_int_t amount)
{
	char f[32];
	snprintf(f, sizeof f, "€%lld.%02lld", (long long)(amount / 100), (long long)(amount % 100));
	return json_pack("{s:I,s:s,s:s}", "amount", amount, "currency", "EUR", "formatted", f);
}

/* Product i: every third has no image, every fifth is out of stock, every
 * fourth has a price range; product 0 has a name that needs escaping. */
static json_t *summary(int i)
{
	char slug[32], name[64], img[64];
	static const char *const nouns[] = {"Stoneware Mug", "Linen Apron", "Oak Board", "Copper Kettle",
					    "Glass Jar", "Wool Throw", "Desk Lamp", "Herb Planter"};
	snprintf(slug, sizeof slug, "product-%02d", i);
	if (i == 0)
		snprintf(name, sizeof name, "Tom & Jerry's <b>\"Mug\"</b>");
	else
		snprintf(name, sizeof name, "%s No. %d", nouns[i % 8], i);
	snprintf(img, sizeof img, "/media/products/%s.svg", slug);
	int c = i % 3;
	json_t *o = json_pack("{s:I,s:s,s:s,s:{s:s,s:s},s:o,s:b,s:o}", "id", (json_int_t)i + 1, "slug", slug, "name",
			      name, "category", "slug", cat_slugs[c], "name", cat_names[c], "price",
			      price(450 + i * 125), "in_stock", i % 5 != 4, "image",
			      i % 3 == 2 ? json_null() : json_string(img));
	if (i % 4 == 1)
		json_object_set_new(o, "price_max", price(450 + i * 125 + 1000));
	return o;
}

enum sf_err sf_catalog_list(struct sf_db *db, const struct sf_catalog_query *q, json_t **out)
{
	(void)db;
	int match[NPRODUCTS], n = 0;
	for (int i = 0; i < NPRODUCTS; i++) {
		if (q->q && strcmp(q->q, "zzz") == 0)
			continue;
		match[n++] = i;
	}
	if (q->category && strcmp(q->category, "empty") == 0)
		n = 0;
	json_t *items = json_array();
	for (int64_t k = (q->page - 1) * q->per_page; k < n && k < q->page * q->per_page; k++) {
		int idx = q->sort == SF_SORT_PRICE_DESC ? match[n - 1 - k] : match[k];
		json_array_append_new(items, summary(idx));
	}
	*out = json_pack("{s:o,s:I,s:I,s:I,s:I,s:s,s:s?,s:s?}", "items", items, "page", (json_int_t)q->page,
			 "per_page", (json_int_t)q->per_page, "total", (json_int_t)n, "pages",
			 (json_int_t)((n + q->per_page - 1) / q->per_page), "sort", sort_values[q->sort], "q", q->q,
			 "category", q->category);
	return *out ? SF_OK : SF_ERR_NOMEM;
}

enum sf_err sf_catalog_product(struct sf_db *db, const char *slug, json_t **out)
{
	(void)db;
	int i;
	if (sscanf(slug, "product-%d", &i) != 1 || i < 0 || i >= NPRODUCTS)
		return SF_ERR_NOT_FOUND;
	json_t *p = summary(i);
	json_object_set_new(p, "description",
			    json_string("Hand-made in small batches.\nDishwasher safe; a classic for slow mornings."));
	json_t *vars = json_array();
	if (i != 8) {
		json_array_append_new(vars, json_pack("{s:s,s:s,s:o,s:i,s:b}", "sku", "SKU-1-S", "name", "Small",
						      "price", price(450), "stock", 12, "in_stock", 1));
		json_array_append_new(vars, json_pack("{s:s,s:s,s:o,s:i,s:b}", "sku", "SKU-1-L", "name", "Large <XL>",
						      "price", price(1450), "stock", 0, "in_stock", 0));
	}
	json_object_set_new(p, "variants", vars);
	json_object_set_new(p, "breadcrumbs",
			    json_pack("[{s:s,s:s},{s:s,s:s}]", "slug", "kitchen", "name", "Kitchen & Dining", "slug",
				      "mugs", "name", "Mugs"));
	*out = p;
	return SF_OK;
}

enum sf_err sf_catalog_categories(struct sf_db *db, json_t **out)
{
	(void)db;
	if (fail_categories)
		return SF_ERR_DB;
	json_t *items = json_array();
	for (int i = 0; i < 3; i++)
		json_array_append_new(items, json_pack("{s:I,s:s,s:s,s:s,s:n,s:[]}", "id", (json_int_t)i + 1, "slug",
						       cat_slugs[i], "name", cat_names[i], "description",
						       "Useful things for every day.", "parent", "children"));
	*out = json_pack("{s:o}", "items", items);
	return SF_OK;
}

enum sf_err sf_catalog_category(struct sf_db *db, const char *slug, json_t **out)
{
	(void)db;
	if (strcmp(slug, "kitchen") == 0) {
		*out = json_pack("{s:i,s:s,s:s,s:s,s:n,s:[{s:i,s:s,s:s,s:s,s:s,s:[]}],s:[{s:s,s:s}]}", "id", 1, "slug",
				 "kitchen", "name", "Kitchen & Dining", "description", "Cook, serve & store.", "parent",
				 "children", "id", 4, "slug", "mugs", "name", "Mugs", "description", "", "parent",
				 "kitchen", "children", "breadcrumbs", "slug", "kitchen", "name", "Kitchen & Dining");
		return SF_OK;
	}
	if (strcmp(slug, "empty") == 0) {
		*out = json_pack("{s:i,s:s,s:s,s:n,s:n,s:[],s:[{s:s,s:s}]}", "id", 9, "slug", "empty", "name",
				 "Empty shelf", "description", "parent", "children", "breadcrumbs", "slug", "empty",
				 "name", "Empty shelf");
		return SF_OK;
	}
	return SF_ERR_NOT_FOUND;
}

/* ==== Harness ==== */

static struct sf_tmpl_set *set;
static struct sf_app app;
static int dummy_db;

static int setup(void **state)
{
	(void)state;
	char err[256];
	if (sf_tmpl_load(&set, err, sizeof err) != SF_OK) {
		fprintf(stderr, "template load: %s\n", err);
		return -1;
	}
	app.tmpl = set;
	app.db = (struct sf_db *)&dummy_db;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	sf_tmpl_free(set);
	return 0;
}

struct call {
	struct sf_req req;
	struct sf_resp resp;
	struct sf_kv q[4];
	const char *html;
};

static void call_init(struct call *c, const char *slug)
{
	memset(c, 0, sizeof *c);
	c->req.app = &app;
	c->req.method = "GET";
	memcpy(c->req.request_id, "01HTESTREQUESTID0000000000", SF_REQUEST_ID_LEN);
	c->req.qargs = c->q;
	if (slug) {
		c->req.params[0] = (struct sf_kv){"slug", slug};
		c->req.nparams = 1;
	}
}

static void call_arg(struct call *c, const char *k, const char *v) { c->q[c->req.nqargs++] = (struct sf_kv){k, v}; }

static void call_done(struct call *c)
{
	if (c->resp.body_free)
		c->resp.body_free((void *)c->resp.body);
	c->resp.body_free = NULL;
}

static void dump(const char *name, const struct call *c)
{
	const char *dir = getenv("SF_WEB_DUMP_DIR");
	if (!dir)
		return;
	char path[512];
	snprintf(path, sizeof path, "%s/%s.html", dir, name);
	FILE *f = fopen(path, "w");
	if (!f)
		return;
	fwrite(c->resp.body, 1, c->resp.body_len, f);
	fclose(f);
}

static int matches(const char *re, const char *s)
{
	regex_t rx;
	assert_int_equal(regcomp(&rx, re, REG_EXTENDED | REG_NOSUB | REG_ICASE), 0);
	int m = regexec(&rx, s, 0, NULL, 0) == 0;
	regfree(&rx);
	return m;
}

/* Every page: HTML, our stylesheet, and nothing a strict CSP would block. */
static void check_page(struct call *c, unsigned status)
{
	assert_int_equal(c->resp.status, status);
	assert_string_equal(c->resp.content_type, "text/html; charset=utf-8");
	assert_non_null(c->resp.body);
	assert_int_equal(strlen(c->resp.body), c->resp.body_len);
	c->html = c->resp.body;
	assert_non_null(strstr(c->html, "<!doctype html>"));
	assert_non_null(strstr(c->html, "</html>"));
	assert_true(matches("<link rel=\"stylesheet\" href=\"/static/app.css\\?v=[0-9a-f]{12}\">", c->html));
	assert_false(matches("style=", c->html));
	assert_false(matches("<script", c->html));
	assert_false(matches("<style", c->html));
	assert_false(matches("[[:space:]]on[a-z]+=", c->html));
	assert_false(matches("javascript:", c->html));
	assert_null(strstr(c->html, "{{"));
	/* Unescaped markup from the data would show up as a <b> tag. */
	assert_null(strstr(c->html, "<b>"));
}

static void expect_in(const struct call *c, const char *needle)
{
	if (!strstr(c->html, needle))
		fail_msg("page does not contain: %s", needle);
}

static void expect_not_in(const struct call *c, const char *needle)
{
	if (strstr(c->html, needle))
		fail_msg("page unexpectedly contains: %s", needle);
}

/* ==== Tests ==== */


static void test_home(void **state)
{
	(void)state;
	struct call c;
	call_init(&c, NULL);
	assert_int_equal(sf_web_home(&c.req, &c.resp), SF_OK);
	check_page(&c, 200);
	dump("home", &c);
	expect_in(&c, "<title>storefort demo shop</title>");
	expect_in(&c, "<h2 id=\"h-cats\">Shop by category</h2>");
	expect_in(&c, "<a class=\"tile\" href=\"/c/kitchen\"><span class=\"tile-name\">Kitchen &amp; Dining</span>");
	expect_in(&c, "New arrivals");
	expect_in(&c, "href=\"/p/product-01\"");
	expect_in(&c, "Tom &amp; Jerry&#39;s &lt;b&gt;&quot;Mug&quot;&lt;/b&gt;");
	expect_in(&c, "<span class=\"thumb placeholder\" aria-hidden=\"true\"></span>");
	expect_in(&c, "<img class=\"thumb\" src=\"/media/products/product-00.svg\"");
	expect_in(&c, "€5.75 – €15.75"); /* product 1 has a price range */
	expect_in(&c, "action=\"/search\"");
	expect_in(&c, "<nav class=\"catnav\" aria-label=\"Categories\">");
	expect_not_in(&c, "aria-current=\"page\">Kitchen");
	/* 8 new arrivals: 8 cards. */
	size_t cards = 0;
	for (const char *p = c.html; (p = strstr(p, "<li class=\"card\">")); p++)
		cards++;
	assert_int_equal(cards, 8);
	call_done(&c);
}

static void test_category(void **state)
{
	(void)state;
	struct call c;
	call_init(&c, "kitchen");
	call_arg(&c, "sort", "price_asc");
	call_arg(&c, "page", "1");
	assert_int_equal(sf_web_category(&c.req, &c.resp), SF_OK);
	check_page(&c, 200);
	dump("category", &c);
	expect_in(&c, "<title>Kitchen &amp; Dining · storefort demo shop</title>");
	expect_in(&c, "<meta name=\"description\" content=\"Cook, serve &amp; store.\">");
	expect_in(&c, "<h1>Kitchen &amp; Dining</h1>");
	/* Breadcrumbs: Home, then the current page (not a link to itself). */
	expect_in(&c, "<li><a href=\"/\">Home</a></li>");
	expect_in(&c, "<li><span aria-current=\"page\">Kitchen &amp; Dining</span></li>");
	expect_not_in(&c, "<li><a href=\"/c/kitchen\">Kitchen &amp; Dining</a></li>");
	expect_in(&c, "<a class=\"chip\" href=\"/c/mugs\">Mugs</a>");
	expect_in(&c, "<a href=\"/c/kitchen\" aria-current=\"page\">Kitchen &amp; Dining</a>");
	expect_in(&c, "60 products");
	/* Sort form: GET to this category, the current choice selected, a button. */
	expect_in(&c, "<form class=\"sort\" method=\"get\" action=\"/c/kitchen\">");
	expect_in(&c, "<option value=\"price_asc\" selected>");
	expect_not_in(&c, "<option value=\"name\" selected>");
	expect_in(&c, "<button type=\"submit\">Apply</button>");
	/* Pagination keeps the sort order. */
	expect_in(&c, "<a rel=\"next\" href=\"/c/kitchen?sort=price_asc&amp;page=2\">");
	expect_in(&c, "<span class=\"current\" aria-current=\"page\">1</span>");
	expect_not_in(&c, "rel=\"prev\"");
	call_done(&c);

	call_init(&c, "kitchen");
	call_arg(&c, "page", "3");
	assert_int_equal(sf_web_category(&c.req, &c.resp), SF_OK);
	check_page(&c, 200);
	expect_in(&c, "<a rel=\"prev\" href=\"/c/kitchen?sort=name&amp;page=2\">");
	expect_in(&c, "<a href=\"/c/kitchen?sort=name&amp;page=1\">1</a>");
	expect_in(&c, "<span class=\"current\" aria-current=\"page\">3</span>");
	expect_not_in(&c, "rel=\"next\"");
	call_done(&c);
}

static void test_category_errors(void **state)
{
	(void)state;
	struct call c;
	call_init(&c, "kitchen");
	call_arg(&c, "page", "0");
	assert_int_equal(sf_web_category(&c.req, &c.resp), SF_ERR_BAD_PARAM);
	assert_null(c.resp.body);
	call_init(&c, "kitchen");
	call_arg(&c, "sort", "evil");
	assert_int_equal(sf_web_category(&c.req, &c.resp), SF_ERR_BAD_PARAM);
	call_init(&c, "nope");
	assert_int_equal(sf_web_category(&c.req, &c.resp), SF_ERR_NOT_FOUND);
	call_init(&c, "a b");
	assert_int_equal(sf_web_category(&c.req, &c.resp), SF_ERR_NOT_FOUND);
	call_init(&c, NULL);
	assert_int_equal(sf_web_category(&c.req, &c.resp), SF_ERR_NOT_FOUND);

	/* An empty category says so; page 3 of it links back. */
	call_init(&c, "empty");
	assert_int_equal(sf_web_category(&c.req, &c.resp), SF_OK);
	check_page(&c, 200);
	expect_in(&c, "There are no products here.");
	expect_in(&c, "0 products");
	expect_not_in(&c, "class=\"grid\"");
	expect_not_in(&c, "class=\"pager\"");
	call_done(&c);
	call_init(&c, "empty");
	call_arg(&c, "page", "3");
	assert_int_equal(sf_web_category(&c.req, &c.resp), SF_OK);
	check_page(&c, 200);
	expect_in(&c, "There are no products here on this page.");
	expect_in(&c, "<a rel=\"prev\" href=\"/c/empty?sort=name&amp;page=2\">");
	call_done(&c);
}

static void test_pager_window(void **state)
{
	(void)state;
	struct jb jb = {0};
	json_t *list = json_pack("{s:i,s:i}", "page", 10, "pages", 20);
	json_t *p = make_pager(&jb, "/c/x", "a&b", SF_SORT_NEWEST, list);
	assert_false(jb.oom);
	assert_int_equal(json_integer_value(json_object_get(p, "prev")), 9);
	assert_int_equal(json_integer_value(json_object_get(p, "next")), 11);
	assert_string_equal(json_string_value(json_object_get(p, "q")), "a&b");
	assert_string_equal(json_string_value(json_object_get(p, "sort")), "newest");
	/* 1 … 8 9 [10] 11 12 … 20 */
	json_t *links = json_object_get(p, "links");
	assert_int_equal(json_array_size(links), 9);
	static const int want[] = {1, 0, 8, 9, 10, 11, 12, 0, 20};
	for (size_t i = 0; i < 9; i++) {
		json_t *l = json_array_get(links, i);
		if (want[i] == 0) {
			assert_true(json_is_true(json_object_get(l, "gap")));
		} else {
			assert_int_equal(json_integer_value(json_object_get(l, "n")), want[i]);
			assert_int_equal(json_is_true(json_object_get(l, "current")), want[i] == 10);
		}
	}
	json_decref(p);
	json_decref(list);

	list = json_pack("{s:i,s:i}", "page", 1, "pages", 1);
	p = make_pager(&jb, "/c/x", NULL, SF_SORT_NAME, list);
	assert_true(json_is_null(p));
	json_decref(p);
	json_decref(list);

	char *base = category_base("a b/ü");
	assert_string_equal(base, "/c/a%20b%2F%C3%BC");
	free(base);
}

static void test_product(void **state)
{
	(void)state;
	struct call c;
	call_init(&c, "product-01");
	assert_int_equal(sf_web_product(&c.req, &c.resp), SF_OK);
	check_page(&c, 200);
	dump("product", &c);
	expect_in(&c, "<h1>Linen Apron No. 1</h1>");
	expect_in(&c, "<title>Linen Apron No. 1 · storefort demo shop</title>");
	expect_in(&c, "<img src=\"/media/products/product-01.svg\" alt=\"Linen Apron No. 1\"");
	expect_in(&c, "<p class=\"price price-lg\">€5.75 – €15.75</p>");
	expect_not_in(&c, "aria-current=\"page\">Garden");
	expect_in(&c, "<li><a href=\"/c/kitchen\">Kitchen &amp; Dining</a></li>");
	expect_in(&c, "<li><a href=\"/c/mugs\">Mugs</a></li>");
	expect_in(&c, "<li><span aria-current=\"page\">Linen Apron No. 1</span></li>");
	expect_in(&c, "<a href=\"/c/kitchen\" aria-current=\"page\">");
	expect_in(&c, "<code>SKU-1-S</code>");
	expect_in(&c, "<th scope=\"row\">Large &lt;XL&gt;</th>");
	expect_in(&c, "<span class=\"badge badge-in\">In stock</span>");
	expect_not_in(&c, "In stock (12)");
	expect_in(&c, "<span class=\"badge badge-out\">Out of stock</span>");
	expect_in(&c, "Hand-made in small batches.");
	expect_in(&c, "<meta name=\"description\" content=\"Hand-made");
	/* No add-to-cart form in this issue. */
	expect_not_in(&c, "<form method=\"post\"");
	size_t tables = 0;
	for (const char *p = c.html; (p = strstr(p, "<table")); p++)
		tables++;
	assert_int_equal(tables, 1);
	call_done(&c);

	/* No image: the placeholder; no variants: no table. */
	call_init(&c, "product-08");
	assert_int_equal(sf_web_product(&c.req, &c.resp), SF_OK);
	check_page(&c, 200);
	dump("product-noimage", &c);
	expect_not_in(&c, "<img");
	expect_in(&c, "class=\"placeholder large\"");
	expect_not_in(&c, "<table");
	call_done(&c);

	call_init(&c, "product-99");
	assert_int_equal(sf_web_product(&c.req, &c.resp), SF_ERR_NOT_FOUND);
	assert_null(c.resp.body);
}

static void test_search(void **state)
{
	(void)state;
	struct call c;
	call_init(&c, NULL);
	call_arg(&c, "q", "mug & <b>\"jar\"</b>");
	call_arg(&c, "sort", "price_desc");
	assert_int_equal(sf_web_search(&c.req, &c.resp), SF_OK);
	check_page(&c, 200);
	dump("search", &c);
	expect_in(&c, "<h1>Results for “mug &amp; &lt;b&gt;&quot;jar&quot;&lt;/b&gt;”</h1>");
	expect_in(&c, "value=\"mug &amp; &lt;b&gt;&quot;jar&quot;&lt;/b&gt;\"");
	expect_in(&c, "<input type=\"hidden\" name=\"q\" value=\"mug &amp;");
	expect_in(&c, "<form class=\"sort\" method=\"get\" action=\"/search\">");
	expect_in(&c, "60 results");
	expect_in(&c, "<a rel=\"next\" href=\"/search?q=mug%20%26%20%3Cb%3E%22jar%22%3C%2Fb%3E&amp;sort=price_desc&amp;page=2\">");
	expect_in(&c, "<a href=\"/search?q=mug%20%26%20%3Cb%3E%22jar%22%3C%2Fb%3E&amp;sort=price_desc&amp;page=3\">3</a>");
	expect_in(&c, "<option value=\"price_desc\" selected>");
	call_done(&c);

	call_init(&c, NULL);
	call_arg(&c, "q", "zzz");
	assert_int_equal(sf_web_search(&c.req, &c.resp), SF_OK);
	check_page(&c, 200);
	dump("search-empty", &c);
	expect_in(&c, "<h2>No results</h2>");
	expect_in(&c, "Nothing matched “zzz”");
	expect_not_in(&c, "class=\"sort\"");
	expect_not_in(&c, "class=\"pager\"");
	call_done(&c);

	call_init(&c, NULL);
	call_arg(&c, "q", "   ");
	assert_int_equal(sf_web_search(&c.req, &c.resp), SF_OK);
	check_page(&c, 200);
	expect_in(&c, "<h1>Search</h1>");
	expect_in(&c, "Type a product name");
	expect_not_in(&c, "No results");
	call_done(&c);

	char longq[SF_CATALOG_MAX_QUERY + 2];
	memset(longq, 'a', sizeof longq - 1);
	longq[sizeof longq - 1] = '\0';
	call_init(&c, NULL);
	call_arg(&c, "q", longq);
	assert_int_equal(sf_web_search(&c.req, &c.resp), SF_ERR_BAD_PARAM);
	call_init(&c, NULL);
	call_arg(&c, "q", "mug");
	call_arg(&c, "page", "x");
	assert_int_equal(sf_web_search(&c.req, &c.resp), SF_ERR_BAD_PARAM);
}

static void test_error_page(void **state)
{
	(void)state;
	struct call c;
	call_init(&c, NULL);
	sf_web_error_page(&c.req, &c.resp, SF_ERR_NOT_FOUND, sf_err_desc(SF_ERR_NOT_FOUND));
	check_page(&c, 404);
	dump("error-404", &c);
	expect_in(&c, "<p class=\"error-status\">404</p>");
	expect_in(&c, "<h1>Page not found</h1>");
	expect_in(&c, "does not exist or has moved");
	expect_in(&c, "<code>01HTESTREQUESTID0000000000</code>");
	expect_in(&c, "<nav class=\"catnav\""); /* navigation helps a lost visitor */
	call_done(&c);

	call_init(&c, NULL);
	sf_web_error_page(&c.req, &c.resp, SF_ERR_BAD_PARAM, "page must be <1..10000>");
	check_page(&c, 400);
	expect_in(&c, "page must be &lt;1..10000&gt;");
	call_done(&c);

	/* 5xx: the caller's text is never shown, and the catalog is not asked. */
	fail_categories = 1;
	call_init(&c, NULL);
	sf_web_error_page(&c.req, &c.resp, SF_ERR_DB, "SELECT secret FROM t");
	check_page(&c, 500);
	dump("error-500", &c);
	expect_not_in(&c, "SELECT");
	expect_in(&c, sf_err_desc(SF_ERR_DB));
	expect_not_in(&c, "<nav class=\"catnav\"");
	call_done(&c);
	/* A 404 whose navigation cannot be read still renders, without it. */
	call_init(&c, NULL);
	sf_web_error_page(&c.req, &c.resp, SF_ERR_NOT_FOUND, NULL);
	check_page(&c, 404);
	expect_not_in(&c, "<nav class=\"catnav\"");
	call_done(&c);
	fail_categories = 0;

	/* Without templates: the minimal escaped page. */
	app.tmpl = NULL;
	call_init(&c, NULL);
	sf_web_error_page(&c.req, &c.resp, SF_ERR_METHOD, "<i>no</i>");
	app.tmpl = set;
	assert_int_equal(c.resp.status, 405);
	assert_string_equal(c.resp.content_type, "text/html; charset=utf-8");
	assert_non_null(strstr(c.resp.body, "&lt;i&gt;no&lt;/i&gt;"));
	assert_null(strstr(c.resp.body, "<i>"));
	assert_non_null(strstr(c.resp.body, "01HTESTREQUESTID0000000000"));
	call_done(&c);

	/* Handlers without templates or database report unavailability. */
	app.tmpl = NULL;
	call_init(&c, "product-01");
	assert_int_equal(sf_web_product(&c.req, &c.resp), SF_ERR_UNAVAILABLE);
	app.tmpl = set;
	c.req.app = NULL;
	assert_int_equal(sf_web_home(&c.req, &c.resp), SF_ERR_UNAVAILABLE);
}

/* The template sources themselves: no inline style or script, no handlers. */
static void check_source(const struct sf_asset *as, void *ctx)
{
	int *n = ctx;
	const char *s = (const char *)as->data;
	if (matches("style=|<style|<script|[[:space:]]on[a-z]+=|javascript:", s))
		fail_msg("%s is not CSP-clean", as->name);
	(*n)++;
}

/* Every catalog page goes through the response cache under its own kind
 * and a key that holds everything the page depends on. */
static void test_cache_keys(void **state)
{
	(void)state;
	struct call c;
	call_init(&c, "product-01");
	assert_int_equal(sf_web_product(&c.req, &c.resp), SF_OK);
	assert_int_equal(last_cache_kind, SF_CC_PAGE_PRODUCT);
	assert_string_equal(last_cache_key, "product-01");
	call_done(&c);

	call_init(&c, "kitchen");
	call_arg(&c, "page", "2");
	call_arg(&c, "sort", "price_desc");
	assert_int_equal(sf_web_category(&c.req, &c.resp), SF_OK);
	assert_int_equal(last_cache_kind, SF_CC_PAGE_CATEGORY);
	assert_string_equal(last_cache_key, "s2p2n24|kitchen|-");
	call_done(&c);

	call_init(&c, NULL);
	call_arg(&c, "q", "apron");
	assert_int_equal(sf_web_search(&c.req, &c.resp), SF_OK);
	assert_int_equal(last_cache_kind, SF_CC_PAGE_SEARCH);
	assert_non_null(strstr(last_cache_key, "|apron"));
	call_done(&c);

	call_init(&c, NULL);
	assert_int_equal(sf_web_home(&c.req, &c.resp), SF_OK);
	assert_int_equal(last_cache_kind, SF_CC_PAGE_HOME);
	call_done(&c);

	/* Errors are never cached: an unknown product is a 404 from build. */
	last_cache_kind = -1;
	call_init(&c, "no-such-product");
	assert_int_equal(sf_web_product(&c.req, &c.resp), SF_ERR_NOT_FOUND);
	assert_int_equal(last_cache_kind, SF_CC_PAGE_PRODUCT);
	assert_null(c.resp.body);
	call_done(&c);
}

static void test_templates_csp_clean(void **state)
{
	(void)state;
	int n = 0;
	sf_asset_each("templates/", check_source, &n);
	assert_true(n >= 6);
	static const char *const pages[] = {"home", "category", "product", "search", "error"};
	for (size_t i = 0; i < 5; i++)
		assert_true(sf_tmpl_has(set, pages[i]));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_home),
		cmocka_unit_test(test_category),
		cmocka_unit_test(test_category_errors),
		cmocka_unit_test(test_pager_window),
		cmocka_unit_test(test_product),
		cmocka_unit_test(test_search),
		cmocka_unit_test(test_error_page),
		cmocka_unit_test(test_cache_keys),
		cmocka_unit_test(test_templates_csp_clean),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
