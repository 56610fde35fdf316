/*
 * catalog.c — catalog reads: query validation, product lists and search,
 * product pages, the category tree, and money formatting.
 *
 * Every read uses this thread's connection without a transaction: a list
 * page is two indexed statements (a count and a page of summaries), a
 * product page three (product, variants, breadcrumbs).  User search text
 * never reaches FTS5 as syntax: sf_catalog_fts_query quotes every word.
 */
#include "shop/stock.h"
#include "shop/catalog.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"
#include "db/db.h"
#include "shop/catalog_internal.h"
#include "shop/money.h"

#define DEFAULT_PER_PAGE 20
#define FTS_MAX_WORDS 16
#define CAT_MAX_DEPTH 32

/* ==== Money ==== */

void sf_money_format(int64_t amount, const char *currency, char *out, size_t outlen)
{
	if (!out || outlen == 0)
		return;
	uint64_t mag = amount < 0 ? (uint64_t)0 - (uint64_t)amount : (uint64_t)amount;
	const char *sign = amount < 0 ? "-" : "";
	const char *sym = NULL;
	if (!currency)
		currency = "";
	int dec = 2; /* the currencies with a symbol need no lookup */
	if (strcmp(currency, "EUR") == 0) {
		sym = "\xE2\x82\xAC"; /* € */
	} else if (strcmp(currency, "USD") == 0) {
		sym = "$";
	} else if (strcmp(currency, "GBP") == 0) {
		sym = "\xC2\xA3"; /* £ */
	} else if (strcmp(currency, "JPY") == 0) {
		sym = "\xC2\xA5"; /* ¥ */
		dec = 0;
	} else {
		dec = sf_money_decimals(currency);
	}
	const uint64_t scale = dec == 0 ? 1 : dec == 3 ? 1000 : 100;
	/* one snprintf each: every amount of every cart and order is formatted */
	if (sym && dec == 0)
		snprintf(out, outlen, "%s%s%" PRIu64, sign, sym, mag);
	else if (sym)
		snprintf(out, outlen, "%s%s%" PRIu64 ".%0*" PRIu64, sign, sym, mag / scale, dec, mag % scale);
	else if (dec == 0)
		snprintf(out, outlen, "%s%" PRIu64 " %.3s", sign, mag, currency);
	else
		snprintf(out, outlen, "%s%" PRIu64 ".%0*" PRIu64 " %.3s", sign, mag / scale, dec, mag % scale, currency);
}

/* ==== Query parameters ==== */

static int slug_ok(const char *s, size_t max)
{
	size_t n = 0;
	for (; s[n]; n++) {
		char ch = s[n];
		if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '-'))
			return 0;
		if (n >= max)
			return 0;
	}
	return n > 0;
}

static int is_blank(const char *s)
{
	for (; *s; s++)
		if (*s != ' ' && *s != '\t' && *s != '\n' && *s != '\r')
			return 0;
	return 1;
}

enum sf_err sf_catalog_query_parse(const char *page, const char *per_page, const char *sort, const char *category,
				   const char *qtext, struct sf_catalog_query *q, const char **bad)
{
	static const char *const sorts[] = {"name", "price_asc", "price_desc", "newest"};
	*q = (struct sf_catalog_query){.sort = SF_SORT_NAME, .page = 1, .per_page = DEFAULT_PER_PAGE};
	*bad = NULL;

	if (page && sf_parse_i64(page, 1, SF_CATALOG_MAX_PAGE, &q->page) != SF_OK) {
		*bad = "page";
		return SF_ERR_BAD_PARAM;
	}
	if (per_page && sf_parse_i64(per_page, 1, SF_CATALOG_MAX_PER_PAGE, &q->per_page) != SF_OK) {
		*bad = "per_page";
		return SF_ERR_BAD_PARAM;
	}
	if (sort && *sort) {
		size_t i;
		for (i = 0; i < SF_ARRAY_LEN(sorts); i++)
			if (strcmp(sort, sorts[i]) == 0)
				break;
		if (i == SF_ARRAY_LEN(sorts)) {
			*bad = "sort";
			return SF_ERR_BAD_PARAM;
		}
		q->sort = (enum sf_catalog_sort)i;
	}
	if (category && *category) {
		if (!slug_ok(category, 64)) {
			*bad = "category";
			return SF_ERR_BAD_PARAM;
		}
		q->category = category;
	}
	if (qtext && *qtext) {
		size_t n = strlen(qtext);
		if (n > SF_CATALOG_MAX_QUERY || !sf_utf8_valid(qtext, n, 1)) {
			*bad = "q";
			return SF_ERR_BAD_PARAM;
		}
		if (!is_blank(qtext))
			q->q = qtext;
	}
	return SF_OK;
}

const char *sf_catalog_sort_name(enum sf_catalog_sort s)
{
	switch (s) {
	case SF_SORT_PRICE_ASC: return "price_asc";
	case SF_SORT_PRICE_DESC: return "price_desc";
	case SF_SORT_NEWEST: return "newest";
	case SF_SORT_NAME: break;
	}
	return "name";
}

/* ==== Text helpers ==== */

size_t sf_catalog_fts_query(const char *text, char *out, size_t outlen)
{
	size_t words = 0, o = 0;
	if (!out || outlen == 0)
		return 0;
	out[0] = '\0';
	const unsigned char *p = (const unsigned char *)text;
	while (p && *p && words < FTS_MAX_WORDS) {
		/* Word characters: ASCII letters and digits and every byte of a
		 * multi-byte UTF-8 sequence; everything else separates words, so
		 * no quote, bracket, star, colon, caret or plus survives. */
		while (*p && !(*p >= 0x80 || (*p >= '0' && *p <= '9') || ((*p | 0x20) >= 'a' && (*p | 0x20) <= 'z')))
			p++;
		const unsigned char *start = p;
		while (*p && (*p >= 0x80 || (*p >= '0' && *p <= '9') || ((*p | 0x20) >= 'a' && (*p | 0x20) <= 'z')))
			p++;
		size_t n = (size_t)(p - start);
		if (n == 0)
			break;
		/* space? + quote + word + quote + star + NUL */
		size_t need = (o ? 1 : 0) + n + 3;
		if (o + need + 1 > outlen)
			break;
		if (o)
			out[o++] = ' ';
		out[o++] = '"';
		memcpy(out + o, start, n);
		o += n;
		out[o++] = '"';
		out[o++] = '*';
		out[o] = '\0';
		words++;
	}
	return words;
}

/* Latin-1 supplement letters U+00C0..U+00FF as ASCII (NULL: not a letter). */
static const char *const latin1_ascii[64] = {
	"a", "a", "a", "a", "ae", "a", "ae", "c", "e", "e", "e", "e", "i", "i", "i", "i",
	"d", "n", "o", "o", "o", "o", "oe", NULL, "o", "u", "u", "u", "ue", "y", "th", "ss",
	"a", "a", "a", "a", "ae", "a", "ae", "c", "e", "e", "e", "e", "i", "i", "i", "i",
	"d", "n", "o", "o", "o", "o", "oe", NULL, "o", "u", "u", "u", "ue", "y", "th", "y",
};

size_t sf_catalog_slugify(const char *name, char *out, size_t outlen)
{
	size_t o = 0;
	int dash = 0;
	if (!out || outlen == 0)
		return 0;
	for (const unsigned char *p = (const unsigned char *)name; *p;) {
		const char *piece = NULL;
		char one[2] = {0, 0};
		if ((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9')) {
			one[0] = (char)*p;
			piece = one;
			p++;
		} else if (*p >= 'A' && *p <= 'Z') {
			one[0] = (char)(*p | 0x20);
			piece = one;
			p++;
		} else if (*p == 0xC3 && p[1] >= 0x80 && p[1] <= 0xBF) {
			piece = latin1_ascii[(p[1] - 0x80) + 0x00];
			p += 2;
		} else {
			p++;
			while (*p >= 0x80 && *p < 0xC0) /* skip the rest of a sequence */
				p++;
		}
		if (!piece) {
			dash = o > 0;
			continue;
		}
		size_t n = strlen(piece);
		if (o + (dash ? 1 : 0) + n + 1 > outlen) {
			out[0] = '\0';
			return 0;
		}
		if (dash)
			out[o++] = '-';
		dash = 0;
		memcpy(out + o, piece, n);
		o += n;
	}
	out[o] = '\0';
	return o;
}

/* ==== JSON pieces ==== */

/* Keys below are constant ASCII, so the _nocheck setters skip re-validating
 * them; values still go through json_string's UTF-8 check. */
#define SET(o, k, v) json_object_set_new_nocheck((o), (k), (v))

static json_t *price_json(int64_t amount, const char *currency)
{
	char text[64];
	json_t *o = json_object();
	if (!o)
		return NULL;
	sf_money_format(amount, currency, text, sizeof text);
	if (SET(o, "amount", json_integer(amount)) | SET(o, "currency", json_string(currency)) |
	    SET(o, "formatted", json_string(text))) {
		json_decref(o);
		return NULL;
	}
	return o;
}

/* {"slug","name"} */
static json_t *cat_ref_json(const char *slug, const char *name)
{
	json_t *o = json_object();
	if (o && (SET(o, "slug", json_string(slug)) | SET(o, "name", json_string(name)))) {
		json_decref(o);
		return NULL;
	}
	return o;
}

/* Build a summary from the shared summary columns 0..9 (see db/stmt.h). */
static json_t *summary_json(struct sf_db_cursor *cur)
{
	json_t *o = json_object();
	if (!o)
		return NULL;
	int bad = 0;
	bad |= SET(o, "id", json_integer(sf_db_col_int(cur, 0)));
	bad |= SET(o, "slug", json_string(sf_db_col_text(cur, 1, NULL)));
	bad |= SET(o, "name", json_string(sf_db_col_text(cur, 2, NULL)));
	if (sf_db_col_is_null(cur, 3))
		bad |= SET(o, "category", json_null());
	else
		bad |= SET(o, "category", cat_ref_json(sf_db_col_text(cur, 3, NULL),
									       sf_db_col_text(cur, 4, NULL)));
	const char *currency = sf_db_col_text(cur, 7, NULL);
	if (sf_db_col_is_null(cur, 5)) {
		bad |= SET(o, "price", json_null());
	} else {
		int64_t lo = sf_db_col_int(cur, 5), hi = sf_db_col_int(cur, 6);
		bad |= SET(o, "price", price_json(lo, currency));
		if (!sf_db_col_is_null(cur, 6) && hi != lo)
			bad |= SET(o, "price_max", price_json(hi, currency));
	}
	bad |= SET(o, "in_stock", json_boolean(sf_db_col_int(cur, 8) != 0));
	if (sf_db_col_is_null(cur, 9) || !*sf_db_col_text(cur, 9, NULL)) {
		bad |= SET(o, "image", json_null());
	} else {
		char path[200];
		snprintf(path, sizeof path, "/media/products/%s", sf_db_col_text(cur, 9, NULL));
		bad |= SET(o, "image", json_string(path));
	}
	if (bad) {
		json_decref(o);
		return NULL;
	}
	return o;
}

/* ==== Lists and search ==== */

struct id_row {
	int64_t id;
	int found;
};

static void id_row_fn(struct sf_db_cursor *cur, void *ctx)
{
	struct id_row *r = ctx;
	r->id = sf_db_col_int(cur, 0);
	r->found = 1;
}

static enum sf_err count_rows(struct sf_db_conn *c, enum sf_stmt id, const struct sf_db_param *p, size_t n,
			      int64_t *out)
{
	struct id_row r = {0, 0};
	enum sf_db_status st = sf_db_query_one(c, id, p, n, id_row_fn, &r);
	if (st < 0)
		return sf_db_err(st);
	*out = r.id;
	return SF_OK;
}

enum sf_err sf_catalog_list(struct sf_db *db, const struct sf_catalog_query *q, json_t **out)
{
	static const enum sf_stmt all[] = {SF_STMT_CAT_PRODUCT_LIST_NAME, SF_STMT_CAT_PRODUCT_LIST_PRICE_ASC,
					   SF_STMT_CAT_PRODUCT_LIST_PRICE_DESC, SF_STMT_CAT_PRODUCT_LIST_NEWEST};
	static const enum sf_stmt incat[] = {SF_STMT_CAT_PRODUCT_LIST_CAT_NAME, SF_STMT_CAT_PRODUCT_LIST_CAT_PRICE_ASC,
					     SF_STMT_CAT_PRODUCT_LIST_CAT_PRICE_DESC,
					     SF_STMT_CAT_PRODUCT_LIST_CAT_NEWEST};
	static const enum sf_stmt search[] = {SF_STMT_CAT_PRODUCT_SEARCH_NAME, SF_STMT_CAT_PRODUCT_SEARCH_PRICE_ASC,
					      SF_STMT_CAT_PRODUCT_SEARCH_PRICE_DESC,
					      SF_STMT_CAT_PRODUCT_SEARCH_NEWEST};
	enum sf_err err = SF_OK;
	json_t *items = NULL, *res = NULL;
	struct sf_db_cursor *cur = NULL;
	char fts[SF_CATALOG_MAX_QUERY * 2 + FTS_MAX_WORDS * 4 + 8];
	size_t words = 0;
	int64_t total = 0;
	struct id_row cat = {0, 0};

	*out = NULL;
	if (q->page < 1 || q->page > SF_CATALOG_MAX_PAGE || q->per_page < 1 || q->per_page > SF_CATALOG_MAX_PER_PAGE ||
	    (unsigned)q->sort > SF_SORT_NEWEST)
		return SF_ERR_BAD_PARAM;
	struct sf_db_conn *c = sf_db_conn_get(db);
	if (!c)
		return SF_ERR_DB;

	if (q->category) {
		struct sf_db_param p[] = {SF_DB_TEXT(q->category)};
		enum sf_db_status st = sf_db_query_one(c, SF_STMT_CAT_CATEGORY_BY_SLUG, p, 1, id_row_fn, &cat);
		if (st < 0)
			return sf_db_err(st);
		if (!cat.found)
			return SF_ERR_NOT_FOUND;
	}
	if (q->q)
		words = sf_catalog_fts_query(q->q, fts, sizeof fts);

	items = json_array();
	if (!items) {
		err = SF_ERR_NOMEM;
		goto out;
	}
	int64_t offset = (q->page - 1) * q->per_page;
	struct sf_db_param p[4];
	size_t np = 0;
	enum sf_stmt list_id;
	if (q->q) {
		if (words == 0)
			goto build; /* nothing searchable: no results */
		struct sf_db_param cp[] = {SF_DB_TEXT(fts), cat.found ? SF_DB_INT(cat.id) : SF_DB_NULL};
		err = count_rows(c, SF_STMT_CAT_PRODUCT_COUNT_SEARCH, cp, 2, &total);
		p[np++] = cp[0];
		p[np++] = cp[1];
		list_id = search[q->sort];
	} else if (cat.found) {
		struct sf_db_param cp[] = {SF_DB_INT(cat.id)};
		err = count_rows(c, SF_STMT_CAT_PRODUCT_COUNT_IN_CAT, cp, 1, &total);
		p[np++] = cp[0];
		list_id = incat[q->sort];
	} else {
		err = count_rows(c, SF_STMT_CAT_PRODUCT_COUNT, NULL, 0, &total);
		list_id = all[q->sort];
	}
	if (err)
		goto out;
	if (offset >= total)
		goto build;
	p[np++] = SF_DB_INT(q->per_page);
	p[np++] = SF_DB_INT(offset);
	enum sf_db_status st = sf_db_query(c, list_id, p, np, &cur);
	if (st < 0) {
		err = sf_db_err(st);
		goto out;
	}
	while ((st = sf_db_next(cur)) == SF_DB_OK) {
		json_t *s = summary_json(cur);
		if (!s || json_array_append_new(items, s)) {
			err = SF_ERR_NOMEM;
			goto out;
		}
	}
	if (st < 0) {
		err = sf_db_err(st);
		goto out;
	}

build:
	res = json_pack("{s:O,s:I,s:I,s:I,s:I,s:s,s:s?,s:s?}", "items", items, "page", (json_int_t)q->page,
			"per_page", (json_int_t)q->per_page, "total", (json_int_t)total, "pages",
			(json_int_t)((total + q->per_page - 1) / q->per_page), "sort", sf_catalog_sort_name(q->sort),
			"q", q->q, "category", q->category);
	if (!res)
		err = SF_ERR_NOMEM;
out:
	if (cur)
		sf_db_cursor_close(cur);
	json_decref(items);
	if (err) {
		json_decref(res);
		return err;
	}
	*out = res;
	return SF_OK;
}

/* ==== One product ==== */

struct product_row {
	json_t *obj;
	int64_t category_id;
	int active;
	int nomem;
};

static void product_row_fn(struct sf_db_cursor *cur, void *ctx)
{
	struct product_row *r = ctx;
	r->obj = summary_json(cur);
	if (!r->obj || json_object_set_new(r->obj, "description", json_string(sf_db_col_text(cur, 10, NULL)))) {
		r->nomem = 1;
		return;
	}
	r->active = strcmp(sf_db_col_text(cur, 11, NULL), "active") == 0;
	r->category_id = sf_db_col_is_null(cur, 12) ? 0 : sf_db_col_int(cur, 12);
}

static enum sf_err breadcrumbs_json(struct sf_db_conn *c, int64_t category_id, json_t **out)
{
	struct sf_db_cursor *cur = NULL;
	enum sf_err err = SF_OK;
	json_t *arr = json_array();
	if (!arr)
		return SF_ERR_NOMEM;
	if (category_id) {
		struct sf_db_param p[] = {SF_DB_INT(category_id)};
		enum sf_db_status st = sf_db_query(c, SF_STMT_CAT_BREADCRUMBS, p, 1, &cur);
		if (st < 0) {
			err = sf_db_err(st);
			goto out;
		}
		while ((st = sf_db_next(cur)) == SF_DB_OK) {
			json_t *b = json_pack("{s:s,s:s}", "slug", sf_db_col_text(cur, 0, NULL), "name",
					      sf_db_col_text(cur, 1, NULL));
			if (!b || json_array_append_new(arr, b)) {
				err = SF_ERR_NOMEM;
				goto out;
			}
		}
		if (st < 0)
			err = sf_db_err(st);
	}
out:
	if (cur)
		sf_db_cursor_close(cur);
	if (err) {
		json_decref(arr);
		return err;
	}
	*out = arr;
	return SF_OK;
}

enum sf_err sf_catalog_product(struct sf_db *db, const char *slug, json_t **out)
{
	struct product_row row = {0};
	struct sf_db_cursor *cur = NULL;
	json_t *variants = NULL, *crumbs = NULL;
	enum sf_err err = SF_OK;
	enum sf_db_status st;

	*out = NULL;
	if (!slug || !slug_ok(slug, 120))
		return SF_ERR_NOT_FOUND;
	struct sf_db_conn *c = sf_db_conn_get(db);
	if (!c)
		return SF_ERR_DB;
	struct sf_db_param p[] = {SF_DB_TEXT(slug)};
	st = sf_db_query_one(c, SF_STMT_CAT_PRODUCT_BY_SLUG, p, 1, product_row_fn, &row);
	if (st < 0) {
		err = sf_db_err(st);
		goto out;
	}
	if (row.nomem) {
		err = SF_ERR_NOMEM;
		goto out;
	}
	if (st == SF_DB_NO_ROWS || !row.obj || !row.active) {
		err = SF_ERR_NOT_FOUND;
		goto out;
	}

	variants = json_array();
	if (!variants) {
		err = SF_ERR_NOMEM;
		goto out;
	}
	struct sf_db_param vp[] = {SF_DB_INT(json_integer_value(json_object_get(row.obj, "id")))};
	st = sf_db_query(c, SF_STMT_CAT_VARIANTS_OF, vp, 1, &cur);
	if (st < 0) {
		err = sf_db_err(st);
		goto out;
	}
	while ((st = sf_db_next(cur)) == SF_DB_OK) {
		int64_t stock = sf_db_col_int(cur, 4);
		/* availability only (stock.h): exact counts would make every
		 * order a catalog change */
		json_t *v = json_pack("{s:s,s:s,s:o,s:b,s:b}", "sku", sf_db_col_text(cur, 0, NULL), "name",
				      sf_db_col_text(cur, 1, NULL), "price",
				      price_json(sf_db_col_int(cur, 2), sf_db_col_text(cur, 3, NULL)), "in_stock",
				      stock > 0, "low_stock", sf_stock_band(stock) == 1);
		if (!v || json_array_append_new(variants, v)) {
			err = SF_ERR_NOMEM;
			goto out;
		}
	}
	if (st < 0) {
		err = sf_db_err(st);
		goto out;
	}
	sf_db_cursor_close(cur);
	cur = NULL;

	err = breadcrumbs_json(c, row.category_id, &crumbs);
	if (err)
		goto out;
	if (json_object_set(row.obj, "variants", variants) || json_object_set(row.obj, "breadcrumbs", crumbs))
		err = SF_ERR_NOMEM;
out:
	if (cur)
		sf_db_cursor_close(cur);
	json_decref(variants);
	json_decref(crumbs);
	if (err) {
		json_decref(row.obj);
		return err;
	}
	*out = row.obj;
	return SF_OK;
}

/* ==== Categories ==== */

struct cat_node {
	int64_t id, parent_id;
	char *slug, *name, *description;
};

struct cat_set {
	struct cat_node *v;
	size_t n, cap;
};

static void cat_set_free(struct cat_set *s)
{
	for (size_t i = 0; i < s->n; i++) {
		free(s->v[i].slug);
		free(s->v[i].name);
		free(s->v[i].description);
	}
	free(s->v);
	*s = (struct cat_set){0};
}

static enum sf_err cat_set_load(struct sf_db_conn *c, struct cat_set *s)
{
	struct sf_db_cursor *cur = NULL;
	enum sf_err err = SF_OK;
	enum sf_db_status st = sf_db_query(c, SF_STMT_CAT_CATEGORY_LIST, NULL, 0, &cur);
	if (st < 0)
		return sf_db_err(st);
	while ((st = sf_db_next(cur)) == SF_DB_OK) {
		if (s->n == s->cap) {
			size_t cap = s->cap ? s->cap * 2 : 32;
			struct cat_node *nv = realloc(s->v, cap * sizeof *nv);
			if (!nv) {
				err = SF_ERR_NOMEM;
				goto out;
			}
			s->v = nv;
			s->cap = cap;
		}
		struct cat_node *n = &s->v[s->n];
		n->id = sf_db_col_int(cur, 0);
		n->parent_id = sf_db_col_is_null(cur, 1) ? 0 : sf_db_col_int(cur, 1);
		n->slug = strdup(sf_db_col_text(cur, 2, NULL));
		n->name = strdup(sf_db_col_text(cur, 3, NULL));
		n->description = strdup(sf_db_col_text(cur, 4, NULL));
		s->n++;
		if (!n->slug || !n->name || !n->description) {
			err = SF_ERR_NOMEM;
			goto out;
		}
	}
	if (st < 0)
		err = sf_db_err(st);
out:
	sf_db_cursor_close(cur);
	if (err)
		cat_set_free(s);
	return err;
}

static const struct cat_node *cat_by_id(const struct cat_set *s, int64_t id)
{
	for (size_t i = 0; i < s->n; i++)
		if (s->v[i].id == id)
			return &s->v[i];
	return NULL;
}

/* The category node as JSON with its whole subtree (depth-limited, so a
 * corrupt parent loop cannot recurse forever). */
static json_t *cat_json(const struct cat_set *s, const struct cat_node *n, int depth)
{
	const struct cat_node *parent = n->parent_id ? cat_by_id(s, n->parent_id) : NULL;
	json_t *children = json_array();
	json_t *o = json_pack("{s:I,s:s,s:s,s:s,s:s?,s:o}", "id", (json_int_t)n->id, "slug", n->slug, "name", n->name,
			      "description", n->description, "parent", parent ? parent->slug : NULL, "children",
			      children);
	if (!o)
		return NULL;
	if (depth >= CAT_MAX_DEPTH)
		return o;
	for (size_t i = 0; i < s->n; i++) {
		if (s->v[i].parent_id != n->id || s->v[i].id == n->id)
			continue;
		json_t *ch = cat_json(s, &s->v[i], depth + 1);
		if (!ch || json_array_append_new(children, ch)) {
			json_decref(o);
			return NULL;
		}
	}
	return o;
}

enum sf_err sf_catalog_categories(struct sf_db *db, json_t **out)
{
	struct cat_set s = {0};
	json_t *items = NULL;
	enum sf_err err;
	*out = NULL;
	struct sf_db_conn *c = sf_db_conn_get(db);
	if (!c)
		return SF_ERR_DB;
	err = cat_set_load(c, &s);
	if (err)
		return err;
	items = json_array();
	if (!items) {
		err = SF_ERR_NOMEM;
		goto out;
	}
	for (size_t i = 0; i < s.n; i++) {
		/* roots: no parent, or a parent that no longer exists */
		if (s.v[i].parent_id && cat_by_id(&s, s.v[i].parent_id))
			continue;
		json_t *o = cat_json(&s, &s.v[i], 0);
		if (!o || json_array_append_new(items, o)) {
			err = SF_ERR_NOMEM;
			goto out;
		}
	}
	*out = json_pack("{s:o}", "items", items);
	items = NULL;
	if (!*out)
		err = SF_ERR_NOMEM;
out:
	json_decref(items);
	cat_set_free(&s);
	return err;
}

enum sf_err sf_catalog_category(struct sf_db *db, const char *slug, json_t **out)
{
	struct cat_set s = {0};
	json_t *o = NULL, *crumbs = NULL;
	enum sf_err err;
	*out = NULL;
	if (!slug || !slug_ok(slug, 64))
		return SF_ERR_NOT_FOUND;
	struct sf_db_conn *c = sf_db_conn_get(db);
	if (!c)
		return SF_ERR_DB;
	err = cat_set_load(c, &s);
	if (err)
		return err;
	const struct cat_node *n = NULL;
	for (size_t i = 0; i < s.n && !n; i++)
		if (strcmp(s.v[i].slug, slug) == 0)
			n = &s.v[i];
	if (!n) {
		err = SF_ERR_NOT_FOUND;
		goto out;
	}
	o = cat_json(&s, n, 0);
	crumbs = json_array();
	if (!o || !crumbs) {
		err = SF_ERR_NOMEM;
		goto out;
	}
	/* root first: insert each ancestor at the front */
	const struct cat_node *a = n;
	for (int depth = 0; a && depth < CAT_MAX_DEPTH; depth++) {
		json_t *b = json_pack("{s:s,s:s}", "slug", a->slug, "name", a->name);
		if (!b || json_array_insert_new(crumbs, 0, b)) {
			err = SF_ERR_NOMEM;
			goto out;
		}
		a = a->parent_id ? cat_by_id(&s, a->parent_id) : NULL;
	}
	if (json_object_set_new(o, "breadcrumbs", crumbs)) {
		crumbs = NULL;
		err = SF_ERR_NOMEM;
		goto out;
	}
	crumbs = NULL;
out:
	json_decref(crumbs);
	cat_set_free(&s);
	if (err) {
		json_decref(o);
		return err;
	}
	*out = o;
	return SF_OK;
}
