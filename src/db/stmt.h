/*
 * stmt.h — the shared statement enum.  Every backend keeps the SQL for each
 * of these in one table indexed by this enum (db/sqlite_sql.c for SQLite);
 * a unit test checks that no backend leaves one out.
 *
 * Grouped by module; append within your group.
 */
#ifndef SF_DB_STMT_H
#define SF_DB_STMT_H

enum sf_stmt {
	/* ---- db: meta and migrations ---- */
	SF_STMT_META_GET,            /* (key) -> value */
	SF_STMT_META_SET,            /* (key, value) upsert */
	SF_STMT_META_DELETE,         /* (key) */
	SF_STMT_PING,                /* () -> 1 */
	SF_STMT_MIGRATION_TABLE,     /* () -> 1 if schema_migrations exists, else 0 */
	SF_STMT_MIGRATION_VERSION,   /* () -> highest applied version (0 when none) */
	SF_STMT_MIGRATION_RECORD,    /* (version, name, applied_at) */

	/* ---- conformance tests: a scratch table ---- */
	SF_STMT_TEST_INSERT,         /* (name, n, data) */
	SF_STMT_TEST_GET,            /* (name) -> name, n, data */
	SF_STMT_TEST_COUNT,          /* () -> count */
	SF_STMT_TEST_INCR,           /* (name) n = n + 1 */
	SF_STMT_TEST_DELETE_ALL,     /* () */
	SF_STMT_TEST_CREATE,         /* () creates the scratch table (tests only) */

	/* ---- crypto: data keys ---- */
	SF_STMT_KEY_LIST,            /* () -> id, version, purpose, wrapped, active */
	SF_STMT_KEY_INSERT,          /* (id, version, purpose, wrapped, active, created_at) */
	SF_STMT_KEY_DEACTIVATE,      /* (purpose) active = 0 for all versions of purpose */
	SF_STMT_KEY_UPDATE_WRAPPED,  /* (wrapped, id, version) */

	/* ---- audit ---- */
	SF_STMT_AUDIT_HEAD_GET,      /* () -> last_id, last_hash, count, mac */
	SF_STMT_AUDIT_HEAD_SET,      /* (last_id, last_hash, count, mac) */
	SF_STMT_AUDIT_INSERT,        /* (id, ts, actor_type, actor_id, ip, action, object_type, object_id,
	                                 outcome, request_id, detail, prev_hash, hash) */
	SF_STMT_AUDIT_SCAN,          /* (after_id, limit) -> id, ts, actor_type, actor_id, ip, action,
	                                 object_type, object_id, outcome, request_id, detail, prev_hash, hash */

	/* ---- catalog ---- */
	SF_STMT_CAT_CATEGORY_LIST,        /* () -> id, parent_id, slug, name, description, position
	                                     (ordered by position, name) */
	SF_STMT_CAT_CATEGORY_BY_SLUG,     /* (slug) -> id, parent_id, slug, name, description */
	SF_STMT_CAT_CATEGORY_INSERT,      /* (parent_id|NULL, slug, name); position = next among siblings */
	SF_STMT_CAT_CATEGORY_SET_DESC,    /* (slug, description) */
	SF_STMT_CAT_BREADCRUMBS,          /* (category_id) -> slug, name, root first */
	/* Product summaries: every list/search statement returns the columns
	 * id, slug, name, category_slug, category_name, price_min, price_max,
	 * currency, in_stock (0/1), image. */
	SF_STMT_CAT_PRODUCT_COUNT,        /* () -> count of active products */
	SF_STMT_CAT_PRODUCT_COUNT_IN_CAT, /* (category_id) -> count, descendants included */
	SF_STMT_CAT_PRODUCT_COUNT_SEARCH, /* (fts_match, category_id|NULL) -> count */
	SF_STMT_CAT_PRODUCT_LIST_NAME,    /* (limit, offset) -> summary */
	SF_STMT_CAT_PRODUCT_LIST_PRICE_ASC,
	SF_STMT_CAT_PRODUCT_LIST_PRICE_DESC,
	SF_STMT_CAT_PRODUCT_LIST_NEWEST,
	SF_STMT_CAT_PRODUCT_LIST_CAT_NAME, /* (category_id, limit, offset) -> summary */
	SF_STMT_CAT_PRODUCT_LIST_CAT_PRICE_ASC,
	SF_STMT_CAT_PRODUCT_LIST_CAT_PRICE_DESC,
	SF_STMT_CAT_PRODUCT_LIST_CAT_NEWEST,
	SF_STMT_CAT_PRODUCT_SEARCH_NAME,  /* (fts_match, category_id|NULL, limit, offset) -> summary */
	SF_STMT_CAT_PRODUCT_SEARCH_PRICE_ASC,
	SF_STMT_CAT_PRODUCT_SEARCH_PRICE_DESC,
	SF_STMT_CAT_PRODUCT_SEARCH_NEWEST,
	SF_STMT_CAT_PRODUCT_BY_SLUG,      /* (slug) -> summary, description, status, category_id */
	SF_STMT_CAT_PRODUCT_INSERT,       /* (slug, name, description, category_id, image|NULL, now) */
	SF_STMT_CAT_PRODUCT_UPDATE,       /* (id, name, description, category_id, image|NULL, now) */
	SF_STMT_CAT_VARIANTS_OF,          /* (product_id) -> sku, name, price_minor, currency, stock */
	SF_STMT_CAT_VARIANT_BY_SKU,       /* (sku) -> id, product_id, name, price_minor, currency, stock,
	                                     position */
	SF_STMT_CAT_VARIANT_INSERT,       /* (product_id, sku, name, price_minor, currency, stock, position) */
	SF_STMT_CAT_VARIANT_UPDATE,       /* (id, product_id, name, price_minor, currency, stock, position) */
	SF_STMT_CAT_EXPORT,               /* () -> product slug, name, category_id, description, sku,
	                                     variant name, price_minor, currency, stock, image */

	SF_STMT__COUNT
};

#endif
