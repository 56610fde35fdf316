/*
 * sqlite_sql.c — the SQL text of every statement for the SQLite backend,
 * indexed by enum sf_stmt (db/stmt.h).  Parameter and column orders are the
 * ones documented in stmt.h.  Each module adds its entries in its group.
 */
#include <stddef.h>

#include "db/sqlite_sql.h"

const char *const sf_sqlite_sql[SF_STMT__COUNT] = {
	/* ---- db: meta ---- */
	[SF_STMT_META_GET] = "SELECT value FROM meta WHERE key = ?1",
	[SF_STMT_META_SET] = "INSERT INTO meta(key, value) VALUES (?1, ?2) "
			     "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
	[SF_STMT_META_DELETE] = "DELETE FROM meta WHERE key = ?1",
	[SF_STMT_PING] = "SELECT 1",
	[SF_STMT_MIGRATION_TABLE] = "SELECT count(*) FROM sqlite_master "
				    "WHERE type = 'table' AND name = 'schema_migrations'",
	[SF_STMT_MIGRATION_VERSION] = "SELECT coalesce(max(version), 0) FROM schema_migrations",
	[SF_STMT_MIGRATION_RECORD] = "INSERT INTO schema_migrations(version, name, applied_at) "
				     "VALUES (?1, ?2, ?3)",

	/* ---- conformance tests ---- */
	[SF_STMT_TEST_INSERT] = "INSERT INTO conformance_scratch(name, n, data) VALUES (?1, ?2, ?3)",
	[SF_STMT_TEST_GET] = "SELECT name, n, data FROM conformance_scratch WHERE name = ?1",
	[SF_STMT_TEST_COUNT] = "SELECT count(*) FROM conformance_scratch",
	[SF_STMT_TEST_INCR] = "UPDATE conformance_scratch SET n = n + 1 WHERE name = ?1",
	[SF_STMT_TEST_DELETE_ALL] = "DELETE FROM conformance_scratch",
	[SF_STMT_TEST_CREATE] = "CREATE TABLE IF NOT EXISTS conformance_scratch("
				"name TEXT PRIMARY KEY, n INTEGER NOT NULL, data BLOB)",

	/* ---- crypto: data keys ---- */
	[SF_STMT_KEY_LIST] = "SELECT id, version, purpose, wrapped, active FROM data_keys "
			     "ORDER BY id, version",
	[SF_STMT_KEY_INSERT] = "INSERT INTO data_keys(id, version, purpose, wrapped, active, created_at) "
			       "VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
	[SF_STMT_KEY_DEACTIVATE] = "UPDATE data_keys SET active = 0 WHERE purpose = ?1",
	[SF_STMT_KEY_UPDATE_WRAPPED] = "UPDATE data_keys SET wrapped = ?1 WHERE id = ?2 AND version = ?3",

	/* ---- audit ---- */
	[SF_STMT_AUDIT_HEAD_GET] = "SELECT last_id, last_hash, count, mac FROM audit_head WHERE one = 1",
	[SF_STMT_AUDIT_HEAD_SET] = "INSERT INTO audit_head(one, last_id, last_hash, count, mac) "
				   "VALUES (1, ?1, ?2, ?3, ?4) ON CONFLICT(one) DO UPDATE SET "
				   "last_id = excluded.last_id, last_hash = excluded.last_hash, "
				   "count = excluded.count, mac = excluded.mac",
	[SF_STMT_AUDIT_INSERT] = "INSERT INTO audit_events(id, ts, actor_type, actor_id, ip, action, "
				 "object_type, object_id, outcome, request_id, detail, prev_hash, hash) "
				 "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
	[SF_STMT_AUDIT_SCAN] = "SELECT id, ts, actor_type, actor_id, ip, action, object_type, object_id, "
			       "outcome, request_id, detail, prev_hash, hash FROM audit_events "
			       "WHERE id > ?1 ORDER BY id LIMIT ?2",

	/* ---- catalog ---- */
#define SF_CAT_SUMMARY_COLS                                                                      \
	"SELECT p.id, p.slug, p.name, c.slug, c.name, p.price_min, p.price_max, p.currency, "      \
	"EXISTS (SELECT 1 FROM variants v WHERE v.product_id = p.id AND v.stock > 0), p.image "
#define SF_CAT_FROM " FROM products p LEFT JOIN categories c ON c.id = p.category_id "
#define SF_CAT_FROM_LISTING                                                                      \
	" FROM product_listing l JOIN products p ON p.id = l.product_id "                          \
	"LEFT JOIN categories c ON c.id = p.category_id WHERE l.ancestor_id = ?1 "
#define SF_CAT_FROM_FTS                                                                          \
	" FROM products_fts f JOIN products p ON p.id = f.rowid "                                  \
	"LEFT JOIN categories c ON c.id = p.category_id "
#define SF_CAT_IN_CAT(n) " p.category_id IN (SELECT descendant_id FROM category_closure WHERE ancestor_id = " n ") "
#define SF_CAT_SEARCH_WHERE                                                                      \
	" WHERE products_fts MATCH ?1 AND p.status = 'active' AND (?2 IS NULL OR" SF_CAT_IN_CAT("?2") ") "
#define SF_CAT_BY_NAME " ORDER BY p.name COLLATE NOCASE, p.id "
#define SF_CAT_BY_PRICE_ASC " ORDER BY p.price_min, p.id "
#define SF_CAT_BY_PRICE_DESC " ORDER BY p.price_min DESC, p.id DESC "
#define SF_CAT_BY_NEWEST " ORDER BY p.created_at DESC, p.id DESC "
	[SF_STMT_CAT_CATEGORY_LIST] = "SELECT id, parent_id, slug, name, description, position FROM categories "
				      "ORDER BY position, name, id",
	[SF_STMT_CAT_CATEGORY_BY_SLUG] = "SELECT id, parent_id, slug, name, description FROM categories "
					 "WHERE slug = ?1",
	[SF_STMT_CAT_CATEGORY_INSERT] = "INSERT INTO categories(parent_id, slug, name, position) VALUES (?1, ?2, ?3, "
					"(SELECT coalesce(max(position), 0) + 1 FROM categories "
					"WHERE parent_id IS ?1))",
	[SF_STMT_CAT_CATEGORY_SET_DESC] = "UPDATE categories SET description = ?2 WHERE slug = ?1",
	[SF_STMT_CAT_BREADCRUMBS] = "SELECT c.slug, c.name FROM category_closure cc "
				    "JOIN categories c ON c.id = cc.ancestor_id "
				    "WHERE cc.descendant_id = ?1 ORDER BY cc.depth DESC",
	[SF_STMT_CAT_PRODUCT_COUNT] = "SELECT coalesce(sum(n), 0) FROM category_product_counts",
	[SF_STMT_CAT_PRODUCT_COUNT_IN_CAT] = "SELECT coalesce(sum(n), 0) FROM category_product_counts WHERE category_id IN "
					     "(SELECT descendant_id FROM category_closure WHERE ancestor_id = ?1)",
	[SF_STMT_CAT_PRODUCT_COUNT_SEARCH] = "SELECT count(*)" SF_CAT_FROM_FTS SF_CAT_SEARCH_WHERE,
	[SF_STMT_CAT_PRODUCT_LIST_NAME] = SF_CAT_SUMMARY_COLS SF_CAT_FROM "WHERE p.status = 'active'"
					  SF_CAT_BY_NAME "LIMIT ?1 OFFSET ?2",
	[SF_STMT_CAT_PRODUCT_LIST_PRICE_ASC] = SF_CAT_SUMMARY_COLS SF_CAT_FROM "WHERE p.status = 'active'"
					       SF_CAT_BY_PRICE_ASC "LIMIT ?1 OFFSET ?2",
	[SF_STMT_CAT_PRODUCT_LIST_PRICE_DESC] = SF_CAT_SUMMARY_COLS SF_CAT_FROM "WHERE p.status = 'active'"
						SF_CAT_BY_PRICE_DESC "LIMIT ?1 OFFSET ?2",
	[SF_STMT_CAT_PRODUCT_LIST_NEWEST] = SF_CAT_SUMMARY_COLS SF_CAT_FROM "WHERE p.status = 'active'"
					    SF_CAT_BY_NEWEST "LIMIT ?1 OFFSET ?2",
	/* category pages walk product_listing (one row per product and ancestor) in index order */
	[SF_STMT_CAT_PRODUCT_LIST_CAT_NAME] = SF_CAT_SUMMARY_COLS SF_CAT_FROM_LISTING
					      "ORDER BY l.name COLLATE NOCASE, l.product_id LIMIT ?2 OFFSET ?3",
	[SF_STMT_CAT_PRODUCT_LIST_CAT_PRICE_ASC] = SF_CAT_SUMMARY_COLS SF_CAT_FROM_LISTING
						   "ORDER BY l.price_min, l.product_id LIMIT ?2 OFFSET ?3",
	[SF_STMT_CAT_PRODUCT_LIST_CAT_PRICE_DESC] = SF_CAT_SUMMARY_COLS SF_CAT_FROM_LISTING
						    "ORDER BY l.price_min DESC, l.product_id DESC LIMIT ?2 OFFSET ?3",
	[SF_STMT_CAT_PRODUCT_LIST_CAT_NEWEST] = SF_CAT_SUMMARY_COLS SF_CAT_FROM_LISTING
						"ORDER BY l.created_at DESC, l.product_id DESC LIMIT ?2 OFFSET ?3",
	[SF_STMT_CAT_PRODUCT_SEARCH_NAME] = SF_CAT_SUMMARY_COLS SF_CAT_FROM_FTS SF_CAT_SEARCH_WHERE
					    SF_CAT_BY_NAME "LIMIT ?3 OFFSET ?4",
	[SF_STMT_CAT_PRODUCT_SEARCH_PRICE_ASC] = SF_CAT_SUMMARY_COLS SF_CAT_FROM_FTS SF_CAT_SEARCH_WHERE
						 SF_CAT_BY_PRICE_ASC "LIMIT ?3 OFFSET ?4",
	[SF_STMT_CAT_PRODUCT_SEARCH_PRICE_DESC] = SF_CAT_SUMMARY_COLS SF_CAT_FROM_FTS SF_CAT_SEARCH_WHERE
						  SF_CAT_BY_PRICE_DESC "LIMIT ?3 OFFSET ?4",
	[SF_STMT_CAT_PRODUCT_SEARCH_NEWEST] = SF_CAT_SUMMARY_COLS SF_CAT_FROM_FTS SF_CAT_SEARCH_WHERE
					      SF_CAT_BY_NEWEST "LIMIT ?3 OFFSET ?4",
	[SF_STMT_CAT_PRODUCT_BY_SLUG] = SF_CAT_SUMMARY_COLS ", p.description, p.status, p.category_id"
					SF_CAT_FROM "WHERE p.slug = ?1",
	[SF_STMT_CAT_PRODUCT_INSERT] = "INSERT INTO products(slug, name, description, category_id, image, "
				       "created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6)",
	[SF_STMT_CAT_PRODUCT_UPDATE] = "UPDATE products SET name = ?2, description = ?3, category_id = ?4, "
				       "image = ?5, updated_at = ?6 WHERE id = ?1",
	[SF_STMT_CAT_VARIANTS_OF] = "SELECT sku, name, price_minor, currency, stock FROM variants "
				    "WHERE product_id = ?1 ORDER BY position, id",
	[SF_STMT_CAT_VARIANT_BY_SKU] = "SELECT id, product_id, name, price_minor, currency, stock, position "
				       "FROM variants WHERE sku = ?1",
	[SF_STMT_CAT_VARIANT_INSERT] = "INSERT INTO variants(product_id, sku, name, price_minor, currency, stock, "
				       "position) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
	[SF_STMT_CAT_VARIANT_UPDATE] = "UPDATE variants SET product_id = ?2, name = ?3, price_minor = ?4, "
				       "currency = ?5, stock = ?6, position = ?7 WHERE id = ?1",
	[SF_STMT_CAT_EXPORT] = "SELECT p.slug, p.name, p.category_id, p.description, v.sku, v.name, v.price_minor, "
			       "v.currency, v.stock, p.image FROM products p JOIN variants v ON v.product_id = p.id "
			       "ORDER BY p.id, v.position, v.id",
};

int sf_sqlite_sql_missing(void)
{
	for (int i = 0; i < SF_STMT__COUNT; i++) {
		if (!sf_sqlite_sql[i])
			return i;
	}
	return -1;
}
