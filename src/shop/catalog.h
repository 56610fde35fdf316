/*
 * catalog.h — the catalog domain: categories (a tree), products, variants,
 * search (FTS5), CSV import/export and the demo catalog.
 *
 * No HTTP and no SQL text here: reads return jansson objects in exactly the
 * shape the JSON API sends (and the templates render), so the API and the
 * pages share one source of truth.  Money is integer minor units.
 *
 * JSON shapes
 *   price     {"amount": 1999, "currency": "EUR", "formatted": "€19.99"}
 *   summary   {"id","slug","name","category":{"slug","name"},"price":price,
 *              "price_max":price (only when variants differ),"in_stock":bool,
 *              "image":"/media/products/<file>" or null}
 *   list      {"items":[summary…],"page":n,"per_page":n,"total":n,"pages":n (0 when empty),
 *              "sort":"name|price_asc|price_desc|newest","q":…|null,"category":…|null}
 *   product   summary + {"description","variants":[{"sku","name","price",
 *              "in_stock","low_stock"}],"breadcrumbs":[{"slug","name"}…]}
 *              (availability only, never counts: see stock.h)
 *   category  {"id","slug","name","description","parent":slug|null,
 *              "children":[category…]}
 *   categories {"items":[root category…]} (a tree)
 */
#ifndef SF_SHOP_CATALOG_H
#define SF_SHOP_CATALOG_H

#include <jansson.h>
#include <stdint.h>
#include <stdio.h>

#include "core/err.h"

struct sf_db;
struct sf_keyring;

#define SF_CATALOG_MAX_PER_PAGE 100
#define SF_CATALOG_MAX_PAGE 10000
#define SF_CATALOG_MAX_QUERY 200

enum sf_catalog_sort { SF_SORT_NAME, SF_SORT_PRICE_ASC, SF_SORT_PRICE_DESC, SF_SORT_NEWEST };

struct sf_catalog_query {
	const char *category; /* category slug (includes its descendants) or NULL */
	const char *q;        /* full-text query or NULL */
	enum sf_catalog_sort sort;
	int64_t page;         /* 1-based */
	int64_t per_page;     /* 1..SF_CATALOG_MAX_PER_PAGE */
};

/* Validate raw query parameters (any may be NULL = default) into q.
 * Returns SF_OK or SF_ERR_BAD_PARAM with the offending parameter's name in
 * *bad (a static string).  Strings are borrowed, not copied. */
enum sf_err sf_catalog_query_parse(const char *page, const char *per_page, const char *sort, const char *category,
				   const char *qtext, struct sf_catalog_query *q, const char **bad) SF_WARN_UNUSED;

/* The query-string name of a sort order ("name", "price_asc", ...). */
const char *sf_catalog_sort_name(enum sf_catalog_sort s);

/* A page of product summaries ("list" shape).  SF_ERR_NOT_FOUND when the
 * category does not exist.  *out is a new reference. */
enum sf_err sf_catalog_list(struct sf_db *db, const struct sf_catalog_query *q, json_t **out) SF_WARN_UNUSED;
/* One product ("product" shape) or SF_ERR_NOT_FOUND. */
enum sf_err sf_catalog_product(struct sf_db *db, const char *slug, json_t **out) SF_WARN_UNUSED;
/* The category tree ("categories" shape). */
enum sf_err sf_catalog_categories(struct sf_db *db, json_t **out) SF_WARN_UNUSED;
/* One category ("category" shape, its whole subtree) plus "breadcrumbs"
 * [{"slug","name"}…] from the root down to itself, or SF_ERR_NOT_FOUND. */
enum sf_err sf_catalog_category(struct sf_db *db, const char *slug, json_t **out) SF_WARN_UNUSED;

/* Format minor units as text ("€19.99", "¥1999", "$0.05", "1250 KRW",
 * "1.500 KWD": sf_money_decimals); out receives at most outlen bytes, always
 * NUL-terminated. */
void sf_money_format(int64_t amount, const char *currency, char *out, size_t outlen);

/* ---- CSV (catalog_csv.c) ----
 * Format (RFC 4180, UTF-8, header line required, one row per variant):
 *   product_slug,product_name,category_path,description,sku,variant_name,
 *   price_minor,currency,stock,image
 * category_path is "Parent/Child" (slugs derived from names).  Rows of one
 * product must agree on its fields.
 * Field rules: product_slug [a-z0-9-]{1,120}; product_name 1-200 characters;
 * category_path 1-4 names of 1-64 characters (slug "parent-child", at most
 * 64); description at most 10,000 characters; sku [A-Za-z0-9._-]{1,64};
 * variant_name 0-200 characters; price_minor 0..SF_MONEY_MAX
 * (10^9: one unit must fit in an order); currency [A-Z]{3},
 * one per product; stock 0..10^9; image empty or a file name ending in
 * .svg/.png/.jpg/.jpeg/.webp.  A cell holding a card number is refused.
 * Variants are upserted by sku (a variant missing from the file is kept);
 * unchanged products and variants are not rewritten or audited, so
 * importing an export changes nothing but the one "catalog.import" event.  Import is all or nothing: the first bad
 * row is reported as "line N: reason" and nothing is written.  Every created
 * or changed product and the import itself are audit events, appended in the
 * same transaction.  The export writes a cell a spreadsheet would run as a
 * formula (= + - @ tab CR, after any apostrophes) behind one more
 * apostrophe, which the import takes away (catalog_csv.c). */
struct sf_catalog_import_result {
	int64_t rows;
	int64_t products_created;
	int64_t products_updated;
	int64_t variants_written;
	int64_t bad_line;   /* 0 when the input was valid */
	char reason[200];   /* "line 7: price_minor must be a non-negative integer" */
};
enum sf_err sf_catalog_import_csv(struct sf_db *db, const struct sf_keyring *kr, FILE *in, const char *actor,
				  struct sf_catalog_import_result *res) SF_WARN_UNUSED;
enum sf_err sf_catalog_export_csv(struct sf_db *db, FILE *out) SF_WARN_UNUSED;

/* ---- demo catalog (demo.c) ----
 * Write a demo catalog of at least 200 products in 10 categories with
 * variants, and SVG images into media_dir/products/; marks the database as
 * holding demo data (meta demo_data=1) so production refuses to start. */
enum sf_err sf_catalog_seed_demo(struct sf_db *db, const struct sf_keyring *kr, const char *media_dir) SF_WARN_UNUSED;

#endif
