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
	/* ---- catalog cache ---- */
	[SF_STMT_CATALOG_VERSION_GET] = "SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'catalog_version'",
	[SF_STMT_CATALOG_VERSION_BUMP] = "INSERT INTO meta(key, value) VALUES ('catalog_version', '1') "
					 "ON CONFLICT(key) DO UPDATE SET value = CAST(CAST(value AS INTEGER) + 1 AS TEXT)",
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

	/* ---- auth: sessions ---- */
	[SF_STMT_SESSION_INSERT] = "INSERT INTO sessions(token_hash, kind, principal_id, created_at, last_seen_at, "
				   "expires_at, ip) VALUES (?1, ?2, ?3, ?4, ?4, ?5, ?6)",
	[SF_STMT_SESSION_GET] = "SELECT id, kind, principal_id, created_at, last_seen_at, expires_at FROM sessions "
				"WHERE token_hash = ?1",
	[SF_STMT_SESSION_TOUCH] = "UPDATE sessions SET last_seen_at = ?2 WHERE id = ?1",
	[SF_STMT_SESSION_DELETE] = "DELETE FROM sessions WHERE id = ?1",
	[SF_STMT_SESSION_DELETE_PRINCIPAL] = "DELETE FROM sessions WHERE kind = ?1 AND principal_id = ?2 AND id != ?3",
	[SF_STMT_SESSION_OLD] = "SELECT id FROM sessions WHERE expires_at <= ?1 ORDER BY id LIMIT ?2",
	[SF_STMT_SESSION_DROP] = "DELETE FROM sessions WHERE id IN (SELECT value FROM json_each(?1)) AND expires_at <= ?2",
	[SF_STMT_SESSION_LIST] = "SELECT id, created_at, last_seen_at, expires_at, ip FROM sessions "
				 "WHERE kind = ?1 AND principal_id = ?2 ORDER BY id DESC",

	/* ---- customer accounts ---- */
	[SF_STMT_CUST_INSERT] = "INSERT INTO customers(email_idx, password_hash, created_at, updated_at) "
				"VALUES (?1, ?2, ?3, ?3)",
	[SF_STMT_CUST_SET_SEALED] = "UPDATE customers SET email = ?2, name = ?3, phone = ?4, birth_date = ?5, "
				    "updated_at = ?6 WHERE id = ?1",
	[SF_STMT_CUST_BY_EMAIL_IDX] = "SELECT id, password_hash, verified, failed_logins, locked_until FROM customers "
				      "WHERE email_idx = ?1",
	[SF_STMT_CUST_GET] = "SELECT id, email, name, phone, birth_date, verified, created_at, password_hash "
			     "FROM customers WHERE id = ?1",
	[SF_STMT_CUST_LOGIN_FAILED] = "UPDATE customers SET failed_logins = ?2, locked_until = ?3 WHERE id = ?1",
	[SF_STMT_CUST_LOGIN_OK] = "UPDATE customers SET failed_logins = 0, locked_until = 0, password_hash = ?2 "
				  "WHERE id = ?1",
	[SF_STMT_CUST_SET_PASSWORD] = "UPDATE customers SET password_hash = ?2, failed_logins = 0, locked_until = 0, "
				      "updated_at = ?3 WHERE id = ?1",
	[SF_STMT_CUST_SET_VERIFIED] = "UPDATE customers SET verified = 1, updated_at = ?2 WHERE id = ?1 AND verified = 0",
	[SF_STMT_CUST_TOKEN_INSERT] = "INSERT INTO customer_tokens(token_hash, customer_id, purpose, expires_at, "
				      "created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
	[SF_STMT_CUST_TOKEN_GET] = "SELECT id, customer_id, expires_at, used_at FROM customer_tokens "
				   "WHERE token_hash = ?1 AND purpose = ?2",
	[SF_STMT_CUST_TOKEN_USE] = "UPDATE customer_tokens SET used_at = ?2 WHERE id = ?1 AND used_at IS NULL",
	[SF_STMT_CUST_TOKEN_INVALIDATE] = "UPDATE customer_tokens SET used_at = ?3 "
					  "WHERE customer_id = ?1 AND purpose = ?2 AND used_at IS NULL",
	[SF_STMT_CUST_TOKEN_NEWEST] = "SELECT max(created_at) FROM customer_tokens WHERE customer_id = ?1 "
				      "AND purpose = ?2 AND used_at IS NULL AND expires_at > ?3",
	[SF_STMT_CUST_TOKEN_OLD] = "SELECT id FROM customer_tokens WHERE expires_at <= ?1 ORDER BY id LIMIT ?2",
	[SF_STMT_CUST_TOKEN_DROP] = "DELETE FROM customer_tokens WHERE id IN (SELECT value FROM json_each(?1)) AND expires_at <= ?2",
	[SF_STMT_CUST_ADDR_INSERT] = "INSERT INTO customer_addresses(customer_id, created_at, updated_at) "
				     "VALUES (?1, ?2, ?2)",
	[SF_STMT_CUST_ADDR_SET] = "UPDATE customer_addresses SET data = ?3, updated_at = ?4 "
				  "WHERE id = ?1 AND customer_id = ?2",
	[SF_STMT_CUST_ADDR_LIST] = "SELECT id, data FROM customer_addresses WHERE customer_id = ?1 ORDER BY id",
	[SF_STMT_CUST_ADDR_GET] = "SELECT id, data FROM customer_addresses WHERE id = ?1 AND customer_id = ?2",
	[SF_STMT_CUST_ADDR_DELETE] = "DELETE FROM customer_addresses WHERE id = ?1 AND customer_id = ?2",
	[SF_STMT_CUST_ADDR_COUNT] = "SELECT count(*) FROM customer_addresses WHERE customer_id = ?1",

	/* ---- ops: mail outbox ---- */
	[SF_STMT_MAIL_INSERT] = "INSERT INTO mail_outbox(recipient, subject, next_attempt_at, created_at) "
				"VALUES (x'', x'', ?1, ?1)",
	[SF_STMT_MAIL_SET_SEALED] = "UPDATE mail_outbox SET recipient = ?2, subject = ?3, body = ?4 WHERE id = ?1",
	[SF_STMT_MAIL_DUE] = "SELECT id, recipient, subject, body, attempts FROM mail_outbox "
			     "WHERE status = 'pending' AND next_attempt_at <= ?1 ORDER BY next_attempt_at, id LIMIT ?2",
	[SF_STMT_MAIL_SENT] = "UPDATE mail_outbox SET status = 'sent', body = NULL, sent_at = ?2, "
			      "attempts = attempts + 1, last_error = NULL WHERE id = ?1",
	[SF_STMT_MAIL_RETRY] = "UPDATE mail_outbox SET attempts = ?2, next_attempt_at = ?3, last_error = ?4 "
			       "WHERE id = ?1",
	[SF_STMT_MAIL_FAILED] = "UPDATE mail_outbox SET status = 'failed', attempts = ?2, last_error = ?3 "
				"WHERE id = ?1",
	[SF_STMT_MAIL_COUNT] = "SELECT count(*) FROM mail_outbox WHERE status = ?1",
	[SF_STMT_MAIL_OLD] = "SELECT id FROM mail_outbox WHERE status <> 'pending' AND created_at <= ?1 ORDER BY id LIMIT ?2",
	[SF_STMT_MAIL_DROP] = "DELETE FROM mail_outbox WHERE id IN (SELECT value FROM json_each(?1)) AND status <> 'pending' AND created_at <= ?2",

	/* ---- commerce: cart, checkout, orders, coupons ---- */
	[SF_STMT_CART_BY_TOKEN] = "SELECT id, coupon_code FROM carts WHERE token_hash = ?1",
	[SF_STMT_CART_BY_CUSTOMER] = "SELECT id, coupon_code FROM carts WHERE customer_id = ?1",
	[SF_STMT_CART_INSERT_TOKEN] = "INSERT INTO carts(token_hash, updated_at) VALUES (?1, ?2) "
				      "ON CONFLICT(token_hash) DO NOTHING",
	[SF_STMT_CART_INSERT_CUSTOMER] = "INSERT INTO carts(customer_id, updated_at) VALUES (?1, ?2) "
					 "ON CONFLICT(customer_id) DO NOTHING",
	[SF_STMT_CART_ITEMS] = "SELECT i.id, i.variant_id, i.quantity, v.sku, v.name, p.name, p.slug, v.price_minor, "
			       "v.currency, v.stock, coalesce(v.tax_class, p.tax_class), coalesce(t.rate_bp, -1), "
			       "v.weight_g, p.status = 'active' FROM cart_items i "
			       "JOIN variants v ON v.id = i.variant_id JOIN products p ON p.id = v.product_id "
			       "LEFT JOIN tax_rates t ON t.class = coalesce(v.tax_class, p.tax_class) "
			       "WHERE i.cart_id = ?1 ORDER BY i.id",
	[SF_STMT_CART_ITEM_BY_VARIANT] = "SELECT id, quantity FROM cart_items WHERE cart_id = ?1 AND variant_id = ?2",
	[SF_STMT_CART_ITEM_GET] = "SELECT variant_id, quantity FROM cart_items WHERE id = ?1 AND cart_id = ?2",
	[SF_STMT_CART_ITEM_UPSERT] = "INSERT INTO cart_items(cart_id, variant_id, quantity, added_at) "
				     "VALUES (?1, ?2, ?3, ?4) ON CONFLICT(cart_id, variant_id) "
				     "DO UPDATE SET quantity = excluded.quantity",
	[SF_STMT_CART_ITEM_SET_QTY] = "UPDATE cart_items SET quantity = ?3 WHERE id = ?1 AND cart_id = ?2",
	[SF_STMT_CART_ITEM_DELETE] = "DELETE FROM cart_items WHERE id = ?1 AND cart_id = ?2",
	[SF_STMT_CART_LINE_COUNT] = "SELECT count(*) FROM cart_items WHERE cart_id = ?1",
	[SF_STMT_CART_CLEAR] = "DELETE FROM cart_items WHERE cart_id = ?1",
	[SF_STMT_CART_SET_COUPON] = "UPDATE carts SET coupon_code = ?2, updated_at = ?3 WHERE id = ?1",
	[SF_STMT_CART_DELETE] = "DELETE FROM carts WHERE id = ?1",
	[SF_STMT_CART_OLD] = "SELECT id FROM carts WHERE customer_id IS NULL AND updated_at <= ?1 ORDER BY id LIMIT ?2",
	[SF_STMT_CART_DROP] = "DELETE FROM carts WHERE id IN (SELECT value FROM json_each(?1)) AND customer_id IS NULL AND updated_at <= ?2",
	[SF_STMT_SHOP_VARIANT_GET] = "SELECT v.id, v.stock, p.status = 'active', v.currency FROM variants v "
				     "JOIN products p ON p.id = v.product_id WHERE v.id = ?1",
	[SF_STMT_SHOP_VARIANT_BY_SKU] = "SELECT v.id, v.stock, p.status = 'active', v.currency FROM variants v "
					"JOIN products p ON p.id = v.product_id WHERE v.sku = ?1",
	[SF_STMT_SHOP_STOCK_TAKE] = "UPDATE variants SET stock = stock - ?1 WHERE id = ?2 AND stock >= ?1",
	[SF_STMT_SHOP_STOCK_RETURN] = "UPDATE variants SET stock = stock + ?1 WHERE id = ?2",
	[SF_STMT_SHIP_METHODS] = "SELECT m.code, m.name, m.kind, m.base_minor, m.per_kg_minor, m.free_above_minor, "
				 "coalesce(t.rate_bp, -1) FROM shipping_methods m "
				 "LEFT JOIN tax_rates t ON t.class = m.tax_class WHERE m.active = 1 "
				 "ORDER BY m.position, m.id",
	[SF_STMT_COUPON_BY_CODE] = "SELECT id, code, kind, value, currency, min_order_minor, starts_at, ends_at, "
				   "max_uses, max_uses_per_customer, uses, active FROM coupons WHERE code = ?1",
	[SF_STMT_COUPON_INSERT] = "INSERT INTO coupons(code, kind, value, currency, min_order_minor, starts_at, "
				  "ends_at, max_uses, max_uses_per_customer, created_at) "
				  "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
	[SF_STMT_COUPON_TAKE] = "UPDATE coupons SET uses = uses + 1 WHERE id = ?1 AND active = 1 "
				"AND (max_uses IS NULL OR uses < max_uses)",
	[SF_STMT_COUPON_GIVE_BACK] = "UPDATE coupons SET uses = uses - 1 WHERE id = ?1 AND uses > 0",
	[SF_STMT_COUPON_CUSTOMER_USES] = "SELECT count(*) FROM coupon_uses WHERE coupon_id = ?1 AND customer_id = ?2",
	[SF_STMT_COUPON_USE_INSERT] = "INSERT INTO coupon_uses(coupon_id, order_id, customer_id, created_at) "
				      "VALUES (?1, ?2, ?3, ?4)",
	[SF_STMT_COUPON_USE_BY_ORDER] = "SELECT coupon_id FROM coupon_uses WHERE order_id = ?1",
	[SF_STMT_COUPON_USE_DELETE] = "DELETE FROM coupon_uses WHERE order_id = ?1",
	[SF_STMT_ORDER_BY_IDEM] = "SELECT id, idem_body_hash, total_minor FROM orders WHERE idem_owner = ?1 AND idem_key_hash = ?2",
	[SF_STMT_ORDER_INSERT] = "INSERT INTO orders(customer_id, guest_hash, status, currency, prices_include_tax, "
				 "subtotal_minor, discount_minor, shipping_minor, tax_minor, total_minor, coupon_code, "
				 "shipping_method, shipping_name, idem_owner, idem_key_hash, idem_body_hash, "
				 "reserved_until, created_at, updated_at) VALUES (?1, ?2, 'pending_payment', ?3, ?4, "
				 "?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?17)",
	[SF_STMT_ORDER_SET_SEALED] = "UPDATE orders SET email = ?2, address = ?3 WHERE id = ?1",
	[SF_STMT_ORDER_LINE_INSERT] = "INSERT INTO order_lines(order_id, line_no, variant_id, sku, name, quantity, "
				      "unit_minor, tax_class, tax_rate_bp, gross_minor, discount_minor, tax_minor) "
				      "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
	[SF_STMT_ORDER_GET] = "SELECT id, customer_id, guest_hash, status, currency, prices_include_tax, "
			      "subtotal_minor, discount_minor, shipping_minor, tax_minor, total_minor, paid_minor, "
			      "refunded_minor, coupon_code, shipping_method, shipping_name, email, address, "
			      "payment_provider, payment_ref, reserved_until, created_at, updated_at "
			      "FROM orders WHERE id = ?1",
	[SF_STMT_ORDER_LINES] = "SELECT line_no, variant_id, sku, name, quantity, unit_minor, tax_class, tax_rate_bp, "
				"gross_minor, discount_minor, tax_minor FROM order_lines WHERE order_id = ?1 "
				"ORDER BY line_no",
	[SF_STMT_ORDER_SET_STATUS] = "UPDATE orders SET status = ?3, updated_at = ?4 WHERE id = ?1 AND status = ?2",
	[SF_STMT_ORDER_SET_PAID] = "UPDATE orders SET status = 'paid', payment_provider = ?2, payment_ref = ?3, "
				   "paid_minor = ?4, updated_at = ?5 WHERE id = ?1 AND status = 'pending_payment'",
	[SF_STMT_ORDER_HOLD_UNTIL] = "UPDATE orders SET reserved_until = max(reserved_until, ?2), updated_at = ?3 "
				     "WHERE id = ?1 AND status = 'pending_payment' AND reserved_until > ?3",
	[SF_STMT_ORDER_ADD_REFUND] = "UPDATE orders SET refunded_minor = refunded_minor + ?2, updated_at = ?3 "
				     "WHERE id = ?1 AND refunded_minor + ?2 <= paid_minor",
	[SF_STMT_ORDER_EVENT_INSERT] = "INSERT INTO order_events(order_id, from_status, to_status, actor_type, "
				       "actor_id, reason, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
	[SF_STMT_ORDER_EVENTS] = "SELECT from_status, to_status, actor_type, reason, created_at FROM order_events "
				 "WHERE order_id = ?1 ORDER BY id",
	[SF_STMT_ORDER_STAGE] = "SELECT to_status FROM order_events WHERE order_id = ?1 "
				"AND to_status NOT IN ('partially_refunded', 'refunded') ORDER BY id DESC LIMIT 1",
	[SF_STMT_ORDER_LIST_CUSTOMER] = "SELECT o.id, o.status, o.currency, o.total_minor, o.created_at, "
					"(SELECT coalesce(sum(quantity), 0) FROM order_lines l WHERE l.order_id = o.id) "
					"FROM orders o WHERE o.customer_id = ?1 ORDER BY o.id DESC LIMIT ?2 OFFSET ?3",
	[SF_STMT_ORDER_EXPIRED_DUE] = "SELECT id FROM orders WHERE status = 'pending_payment' AND reserved_until <= ?1 "
				      "ORDER BY reserved_until LIMIT ?2",
	[SF_STMT_ORDER_PAYMENT_GET] = "SELECT order_id, amount_minor FROM order_payments "
				      "WHERE provider = ?1 AND provider_ref = ?2 AND kind = ?3",
	[SF_STMT_ORDER_PAYMENT_INSERT] = "INSERT INTO order_payments(order_id, provider, provider_ref, kind, "
					 "amount_minor, currency, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
	[SF_STMT_SHIPMENT_INSERT] = "INSERT INTO shipments(order_id, carrier, tracking, created_at) "
				    "VALUES (?1, ?2, ?3, ?4)",
	[SF_STMT_SHIPMENTS_OF] = "SELECT carrier, tracking, created_at FROM shipments WHERE order_id = ?1 ORDER BY id",

	/* ---- edge: bans and WAF events ---- */
	[SF_STMT_EDGE_BAN_GET] = "SELECT strikes FROM edge_bans WHERE ip = ?1",
	[SF_STMT_EDGE_BAN_PUT] = "INSERT INTO edge_bans (ip, reason, banned_at, until_at, strikes, lifted_at) "
				 "VALUES (?1, ?2, ?3, ?4, ?5, NULL) ON CONFLICT(ip) DO UPDATE SET reason = ?2, "
				 "banned_at = ?3, until_at = ?4, strikes = ?5, lifted_at = NULL",
	[SF_STMT_EDGE_BAN_ACTIVE] = "SELECT ip, reason, banned_at, until_at, strikes FROM edge_bans "
				    "WHERE lifted_at IS NULL AND until_at > ?1 ORDER BY banned_at, ip",
	[SF_STMT_EDGE_BAN_LIFT] = "UPDATE edge_bans SET lifted_at = ?2, until_at = ?2 "
				  "WHERE ip = ?1 AND lifted_at IS NULL AND until_at > ?2",
	[SF_STMT_EDGE_WAF_EVENT_INSERT] = "INSERT INTO waf_events (ts, request_id, ip, method, path, rule_id, phase, "
					  "severity, message, data, action) "
					  "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
	[SF_STMT_EDGE_WAF_EVENT_COUNT] = "SELECT count(*) FROM waf_events WHERE ts >= ?1",
	/* ---- back office (audit search, reports, inventory, media, admin pages) ---- */
	[SF_STMT_AUDIT_SEARCH] = "SELECT id, ts, actor_type, actor_id, ip, action, object_type, object_id, outcome, request_id, detail FROM audit_events WHERE (?1 IS NULL OR actor_type = ?1) AND (?2 IS NULL OR actor_id = ?2) AND (?3 IS NULL OR action = ?3) AND (?4 IS NULL OR substr(action, 1, length(?4)) = ?4) AND (?5 IS NULL OR object_type = ?5) AND (?6 IS NULL OR object_id = ?6) AND (?7 IS NULL OR ts >= ?7) AND (?8 IS NULL OR ts < ?8) AND (?9 IS NULL OR outcome = ?9) AND (?10 = 0 OR id < ?10) ORDER BY id DESC LIMIT ?11",
	[SF_STMT_AUDIT_PROBLEMS] = "SELECT id, ts, actor_type, actor_id, ip, action, object_type, object_id, outcome, request_id, detail FROM audit_events WHERE ts >= ?1 AND outcome <> 'success' ORDER BY id DESC LIMIT ?2",
	[SF_STMT_AUDIT_PROBLEM_COUNT] = "SELECT count(*) FROM audit_events WHERE ts >= ?1 AND outcome <> 'success'",
	[SF_STMT_REPORT_SALES] = "SELECT CASE ?1 WHEN 'month' THEN strftime('%Y-%m', created_at, 'unixepoch') WHEN 'week' THEN date(created_at, 'unixepoch', 'weekday 0', '-6 days') ELSE date(created_at, 'unixepoch') END AS b, count(*), coalesce(sum(paid_minor - refunded_minor), 0) FROM orders WHERE created_at >= ?2 AND created_at < ?3 AND currency = ?4 AND status NOT IN ('pending_payment', 'cancelled') GROUP BY b ORDER BY b",
	[SF_STMT_REPORT_TOTALS] = "SELECT count(*), coalesce(sum(CASE WHEN status NOT IN ('pending_payment', 'cancelled') THEN 1 ELSE 0 END), 0), coalesce(sum(CASE WHEN status NOT IN ('pending_payment', 'cancelled') THEN paid_minor - refunded_minor ELSE 0 END), 0) FROM orders WHERE created_at >= ?1 AND created_at < ?2 AND currency = ?3",
	[SF_STMT_REPORT_TOP_PRODUCTS] = "SELECT l.sku, max(l.name), sum(l.quantity), sum(l.gross_minor - l.discount_minor) AS rev FROM order_lines l JOIN orders o ON o.id = l.order_id WHERE o.created_at >= ?1 AND o.created_at < ?2 AND o.currency = ?3 AND o.status NOT IN ('pending_payment', 'cancelled') GROUP BY l.sku ORDER BY rev DESC, l.sku LIMIT ?4",
	/* the last order's currency, else the catalog's first variant's */
	[SF_STMT_REPORT_LAST_CURRENCY] = "SELECT currency FROM (SELECT currency, 0 AS k FROM (SELECT currency FROM orders "
					 "ORDER BY id DESC LIMIT 1) UNION ALL SELECT currency, 1 FROM (SELECT currency "
					 "FROM variants ORDER BY id LIMIT 1)) ORDER BY k LIMIT 1",
	[SF_STMT_BO_ORDERS_TO_SHIP] = "SELECT (SELECT count(*) FROM orders WHERE status = 'paid') + (SELECT count(*) FROM orders WHERE status = 'fulfilled')",
	[SF_STMT_BO_REFUNDS_OPEN] = "SELECT 'staff refund', order_id, status, amount_minor, currency, last_error, updated_at "
				    "FROM order_refunds WHERE status IN ('refund_failed', 'refund_due') UNION ALL "
				    "SELECT 'payment not applied', order_id, status, amount_minor, currency, last_error, updated_at "
				    "FROM unapplied_payments WHERE status IN ('refund_failed', 'refund_due') "
				    "ORDER BY 3 DESC, 7 DESC LIMIT ?1",
	[SF_STMT_BO_REFUNDS_FAILED] = "SELECT (SELECT count(*) FROM order_refunds WHERE status = 'refund_failed') + "
				      "(SELECT count(*) FROM unapplied_payments WHERE status = 'refund_failed')",
	[SF_STMT_BO_LOW_STOCK] = "SELECT v.id, v.sku, v.name, p.id, p.name, v.stock FROM variants v JOIN products p ON p.id = v.product_id WHERE v.stock <= ?1 AND p.status = 'active' ORDER BY v.stock, v.id LIMIT ?2",
	[SF_STMT_BO_ORDER_LIST] = "SELECT o.id, o.status, o.currency, o.total_minor, o.created_at, o.customer_id, (SELECT coalesce(sum(quantity), 0) FROM order_lines l WHERE l.order_id = o.id) FROM orders o WHERE (?1 = 0 OR o.id < ?1) AND (?2 IS NULL OR o.created_at >= ?2) AND (?3 IS NULL OR o.created_at < ?3) ORDER BY o.id DESC LIMIT ?4",
	[SF_STMT_BO_ORDER_LIST_STATUS] = "SELECT o.id, o.status, o.currency, o.total_minor, o.created_at, o.customer_id, (SELECT coalesce(sum(quantity), 0) FROM order_lines l WHERE l.order_id = o.id) FROM orders o WHERE o.status = ?1 AND (?2 = 0 OR o.id < ?2) AND (?3 IS NULL OR o.created_at >= ?3) AND (?4 IS NULL OR o.created_at < ?4) ORDER BY o.status, o.id DESC LIMIT ?5",
	[SF_STMT_BO_ORDER_LIST_CUSTOMER] = "SELECT o.id, o.status, o.currency, o.total_minor, o.created_at, o.customer_id, (SELECT coalesce(sum(quantity), 0) FROM order_lines l WHERE l.order_id = o.id) FROM orders o WHERE o.customer_id = ?1 AND (?2 IS NULL OR o.status = ?2) AND (?3 = 0 OR o.id < ?3) AND (?4 IS NULL OR o.created_at >= ?4) AND (?5 IS NULL OR o.created_at < ?5) ORDER BY o.customer_id, o.id DESC LIMIT ?6",
	[SF_STMT_BO_CUSTOMER_BY_IDX] = "SELECT id, verified, created_at, locked_until FROM customers WHERE email_idx = ?1",
	[SF_STMT_BO_CUSTOMER_LIST] = "SELECT id, verified, created_at, locked_until FROM customers WHERE (?1 = 0 OR id < ?1) ORDER BY id DESC LIMIT ?2",
	[SF_STMT_BO_CUSTOMER_GET] = "SELECT id, verified, created_at, locked_until, failed_logins, email, name, phone, birth_date FROM customers WHERE id = ?1",
	[SF_STMT_BO_CUSTOMER_ORDER_COUNT] = "SELECT count(*) FROM orders WHERE customer_id = ?1",
	[SF_STMT_BO_PRODUCT_LIST] = "SELECT p.id, p.slug, p.name, p.status, p.price_min, p.currency, (SELECT coalesce(sum(stock), 0) FROM variants v WHERE v.product_id = p.id), p.image FROM products p WHERE (?1 IS NULL OR instr(lower(p.name), lower(?1)) > 0 OR instr(p.slug, lower(?1)) > 0) ORDER BY p.id DESC LIMIT ?2 OFFSET ?3",
	[SF_STMT_BO_PRODUCT_GET] = "SELECT id, slug, name, description, category_id, image, status FROM products WHERE id = ?1",
	[SF_STMT_BO_PRODUCT_INSERT] = "INSERT INTO products(slug, name, description, category_id, status, created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6)",
	[SF_STMT_BO_PRODUCT_UPDATE] = "UPDATE products SET name = ?2, description = ?3, category_id = ?4, status = ?5, updated_at = ?6 WHERE id = ?1",
	[SF_STMT_BO_PRODUCT_SET_IMAGE] = "UPDATE products SET image = ?2, updated_at = ?3 WHERE id = ?1",
	[SF_STMT_BO_VARIANTS] = "SELECT id, sku, name, price_minor, currency, stock FROM variants WHERE product_id = ?1 ORDER BY position, id",
	[SF_STMT_BO_VARIANT_GET] = "SELECT id, product_id, sku, stock FROM variants WHERE id = ?1",
	[SF_STMT_BO_VARIANT_INSERT] = "INSERT INTO variants(product_id, sku, name, price_minor, currency, stock, position) VALUES (?1, ?2, ?3, ?4, ?5, 0, (SELECT coalesce(max(position), 0) + 1 FROM variants WHERE product_id = ?1))",
	[SF_STMT_BO_VARIANT_UPDATE] = "UPDATE variants SET name = ?3, price_minor = ?4, currency = ?5 WHERE id = ?1 AND product_id = ?2",
	[SF_STMT_BO_STOCK_ADJUST] = "UPDATE variants SET stock = stock + ?2 WHERE id = ?1 AND stock + ?2 >= 0",
	[SF_STMT_BO_INVENTORY_INSERT] = "INSERT INTO inventory_adjustments(variant_id, delta, stock_after, reason, actor_id, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
	[SF_STMT_BO_INVENTORY_LIST] = "SELECT v.sku, a.delta, a.stock_after, a.reason, a.actor_id, a.created_at FROM inventory_adjustments a JOIN variants v ON v.id = a.variant_id WHERE v.product_id = ?1 ORDER BY a.id DESC LIMIT ?2",
	[SF_STMT_BO_CATEGORY_ID] = "SELECT id FROM categories WHERE id = ?1",
	[SF_STMT_BO_CATEGORY_RENAME] = "UPDATE categories SET name = ?2 WHERE id = ?1",
	[SF_STMT_BO_COUPON_LIST] = "SELECT id, code, kind, value, coalesce(currency, ''), min_order_minor, coalesce(starts_at, 0), coalesce(ends_at, 0), coalesce(max_uses, 0), coalesce(max_uses_per_customer, 0), uses, active FROM coupons ORDER BY id DESC LIMIT 500",
	[SF_STMT_BO_COUPON_SET_ACTIVE] = "UPDATE coupons SET active = ?2 WHERE id = ?1",
	[SF_STMT_BO_SHIP_LIST] = "SELECT id, code, name, kind, base_minor, per_kg_minor, free_above_minor, tax_class, position, active FROM shipping_methods ORDER BY position, id",
	[SF_STMT_BO_SHIP_UPDATE] = "UPDATE shipping_methods SET name = ?2, base_minor = ?3, per_kg_minor = ?4, free_above_minor = ?5, tax_class = ?6, active = ?7 WHERE id = ?1",
	[SF_STMT_BO_TAX_LIST] = "SELECT class, rate_bp, label FROM tax_rates ORDER BY class",
	[SF_STMT_BO_TAX_PUT] = "INSERT INTO tax_rates(class, rate_bp, label) VALUES (?1, ?2, ?3) ON CONFLICT(class) DO UPDATE SET rate_bp = ?2, label = ?3",
	[SF_STMT_BO_TAX_EXISTS] = "SELECT 1 FROM tax_rates WHERE class = ?1",

	/* ---- staff: accounts, roles, 2FA, staff sessions, API tokens ---- */
	[SF_STMT_STAFF_INSERT] = "INSERT INTO staff(email, name, created_at, updated_at) VALUES (?1, ?2, ?3, ?3)",
	[SF_STMT_STAFF_BY_EMAIL] = "SELECT id FROM staff WHERE email = ?1",
	[SF_STMT_STAFF_GET] = "SELECT id, email, name, password_hash, password_changed_at, active, failed_logins, "
			      "locked_until, allow_ips, deny_ips, access_windows, pw_min_length, pw_max_age_days, "
			      "totp_seed IS NOT NULL, created_at FROM staff WHERE id = ?1",
	[SF_STMT_STAFF_LIST] = "SELECT s.id, s.email, s.name, s.active, s.locked_until, s.totp_seed IS NOT NULL, "
			       "s.created_at, coalesce((SELECT group_concat(r.name, ',') FROM staff_roles sr "
			       "JOIN roles r ON r.id = sr.role_id WHERE sr.staff_id = s.id), '') FROM staff s ORDER BY s.id",
	[SF_STMT_STAFF_LOGIN_FAILED] = "UPDATE staff SET failed_logins = ?2, locked_until = ?3, updated_at = ?4 "
				       "WHERE id = ?1",
	[SF_STMT_STAFF_LOGIN_OK] = "UPDATE staff SET failed_logins = 0, password_hash = ?2 WHERE id = ?1",
	[SF_STMT_STAFF_SET_LOCK] = "UPDATE staff SET locked_until = ?2, failed_logins = 0, updated_at = ?3 WHERE id = ?1",
	[SF_STMT_STAFF_SET_PASSWORD] = "UPDATE staff SET password_hash = ?2, password_changed_at = ?3, updated_at = ?3 "
				       "WHERE id = ?1",
	[SF_STMT_STAFF_SET_ACTIVE] = "UPDATE staff SET active = ?2, updated_at = ?3 WHERE id = ?1",
	[SF_STMT_STAFF_SET_ACCESS] = "UPDATE staff SET allow_ips = ?2, deny_ips = ?3, access_windows = ?4, "
				     "updated_at = ?5 WHERE id = ?1",
	[SF_STMT_STAFF_SET_PW_POLICY] = "UPDATE staff SET pw_min_length = ?2, pw_max_age_days = ?3, updated_at = ?4 "
					"WHERE id = ?1",
	[SF_STMT_STAFF_TOTP_GET] = "SELECT totp_seed, totp_pending, totp_last_step FROM staff WHERE id = ?1",
	[SF_STMT_STAFF_TOTP_PENDING] = "UPDATE staff SET totp_pending = ?2, updated_at = ?3 WHERE id = ?1",
	[SF_STMT_STAFF_TOTP_CONFIRM] = "UPDATE staff SET totp_seed = ?2, totp_pending = NULL, totp_last_step = ?3, "
				       "updated_at = ?4 WHERE id = ?1",
	[SF_STMT_STAFF_TOTP_STEP] = "UPDATE staff SET totp_last_step = ?2 WHERE id = ?1 AND totp_last_step < ?2",
	[SF_STMT_STAFF_TOTP_RESET] = "UPDATE staff SET totp_seed = NULL, totp_pending = NULL, totp_last_step = 0, "
				     "updated_at = ?2 WHERE id = ?1",
	[SF_STMT_STAFF_PERMS] = "SELECT r.name, r.builtin, rp.permission FROM staff_roles sr "
				"JOIN roles r ON r.id = sr.role_id "
				"LEFT JOIN role_permissions rp ON rp.role_id = r.id AND r.builtin = 0 "
				"WHERE sr.staff_id = ?1",
	[SF_STMT_STAFF_PW_POLICY_ROLES] = "SELECT max(r.pw_min_length), min(r.pw_max_age_days) FROM staff_roles sr "
					  "JOIN roles r ON r.id = sr.role_id WHERE sr.staff_id = ?1",
	[SF_STMT_STAFF_ROLES_CLEAR] = "DELETE FROM staff_roles WHERE staff_id = ?1",
	[SF_STMT_STAFF_ROLE_ADD] = "INSERT OR IGNORE INTO staff_roles(staff_id, role_id) "
				   "SELECT ?1, id FROM roles WHERE name = ?2",
	[SF_STMT_STAFF_OWNER_COUNT] = "SELECT count(*) FROM staff s JOIN staff_roles sr ON sr.staff_id = s.id "
				      "JOIN roles r ON r.id = sr.role_id WHERE r.name = 'owner' AND s.active = 1 "
				      "AND s.id != ?1",
	[SF_STMT_ROLE_BY_NAME] = "SELECT id, builtin FROM roles WHERE name = ?1",
	[SF_STMT_ROLE_INSERT] = "INSERT INTO roles(name, builtin, description, created_at) VALUES (?1, 0, ?2, ?3)",
	[SF_STMT_ROLE_PERM_ADD] = "INSERT OR IGNORE INTO role_permissions(role_id, permission) VALUES (?1, ?2)",
	[SF_STMT_ROLE_PERMS_CLEAR] = "DELETE FROM role_permissions WHERE role_id = ?1",
	[SF_STMT_ROLE_DELETE] = "DELETE FROM roles WHERE id = ?1 AND builtin = 0",
	[SF_STMT_ROLE_SET_PW_POLICY] = "UPDATE roles SET pw_min_length = ?2, pw_max_age_days = ?3 WHERE id = ?1",
	[SF_STMT_ROLE_LIST] = "SELECT r.id, r.name, r.builtin, r.description, r.pw_min_length, r.pw_max_age_days, "
			      "coalesce((SELECT group_concat(permission, ' ') FROM role_permissions rp "
			      "WHERE rp.role_id = r.id), ''), "
			      "(SELECT count(*) FROM staff_roles sr WHERE sr.role_id = r.id) FROM roles r ORDER BY r.id",
	[SF_STMT_STAFF_PW_HISTORY_ADD] = "INSERT INTO staff_password_history(staff_id, password_hash, created_at) "
					 "VALUES (?1, ?2, ?3)",
	[SF_STMT_STAFF_PW_HISTORY] = "SELECT password_hash FROM staff_password_history WHERE staff_id = ?1 "
				     "ORDER BY id DESC LIMIT ?2",
	[SF_STMT_STAFF_RECOVERY_CLEAR] = "DELETE FROM staff_recovery_codes WHERE staff_id = ?1",
	[SF_STMT_STAFF_RECOVERY_ADD] = "INSERT INTO staff_recovery_codes(staff_id, code_hash) VALUES (?1, ?2)",
	[SF_STMT_STAFF_RECOVERY_USE] = "UPDATE staff_recovery_codes SET used_at = ?3 WHERE staff_id = ?1 "
				       "AND code_hash = ?2 AND used_at IS NULL",
	[SF_STMT_STAFF_RECOVERY_LEFT] = "SELECT count(*) FROM staff_recovery_codes WHERE staff_id = ?1 "
					"AND used_at IS NULL",
	[SF_STMT_STAFF_TOKEN_INSERT] = "INSERT INTO staff_tokens(token_hash, staff_id, purpose, expires_at) "
				       "VALUES (?1, ?2, ?3, ?4)",
	[SF_STMT_STAFF_TOKEN_GET] = "SELECT id, staff_id, expires_at, used_at FROM staff_tokens WHERE token_hash = ?1",
	[SF_STMT_STAFF_TOKEN_USE] = "UPDATE staff_tokens SET used_at = ?2 WHERE id = ?1 AND used_at IS NULL",
	[SF_STMT_STAFF_TOKEN_KILL] = "UPDATE staff_tokens SET used_at = ?2 WHERE staff_id = ?1 AND used_at IS NULL",
	[SF_STMT_STAFF_TOKEN_OLD] = "SELECT id FROM staff_tokens WHERE expires_at <= ?1 ORDER BY id LIMIT ?2",
	[SF_STMT_STAFF_TOKEN_DROP] = "DELETE FROM staff_tokens WHERE id IN (SELECT value FROM json_each(?1)) AND expires_at <= ?2",
	[SF_STMT_STAFF_SESS_INSERT] = "INSERT INTO staff_sessions(session_id, staff_id, stage, user_agent) "
				      "VALUES (?1, ?2, ?3, ?4)",
	[SF_STMT_STAFF_SESS_GET] = "SELECT stage, fresh_until FROM staff_sessions WHERE session_id = ?1",
	[SF_STMT_STAFF_SESS_FRESH] = "UPDATE staff_sessions SET fresh_until = ?2 WHERE session_id = ?1",
	[SF_STMT_STAFF_SESS_LIST] = "SELECT s.id, s.created_at, s.last_seen_at, s.expires_at, coalesce(s.ip, ''), "
				    "ss.stage, ss.user_agent FROM sessions s JOIN staff_sessions ss "
				    "ON ss.session_id = s.id WHERE s.kind = 'staff' AND s.principal_id = ?1 "
				    "ORDER BY s.id DESC",
	[SF_STMT_STAFF_SESS_DELETE] = "DELETE FROM sessions WHERE id = ?1 AND kind = 'staff' AND principal_id = ?2",
	[SF_STMT_STAFF_IP_GET] = "SELECT failures, window_start FROM staff_login_ip WHERE ip = ?1",
	[SF_STMT_STAFF_IP_PUT] = "INSERT OR REPLACE INTO staff_login_ip(ip, failures, window_start) VALUES (?1, ?2, ?3)",
	[SF_STMT_APITOKEN_INSERT] = "INSERT INTO api_tokens(token_hash, name, staff_id, scopes, created_at, expires_at) "
				    "VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
	[SF_STMT_APITOKEN_GET] = "SELECT id, staff_id, scopes, expires_at, revoked_at, name FROM api_tokens "
				 "WHERE token_hash = ?1",
	[SF_STMT_APITOKEN_TOUCH] = "UPDATE api_tokens SET last_used_at = ?2 WHERE id = ?1",
	[SF_STMT_APITOKEN_LIST] = "SELECT id, name, staff_id, scopes, created_at, expires_at, revoked_at, last_used_at "
				  "FROM api_tokens ORDER BY id DESC",
	[SF_STMT_APITOKEN_REVOKE] = "UPDATE api_tokens SET revoked_at = ?2 WHERE id = ?1 AND revoked_at IS NULL",
	/* ---- payments, outgoing webhooks, stock availability ---- */
	[SF_STMT_PAY_SESSION_INSERT] = "INSERT INTO payment_sessions(provider, provider_ref, order_id, amount_minor, "
				       "currency, status, created_at) VALUES (?1, ?2, ?3, ?4, ?5, 'open', ?6)",
	[SF_STMT_PAY_SESSION_GET] = "SELECT order_id, amount_minor, currency, status, intent_ref FROM payment_sessions "
				    "WHERE provider = ?1 AND provider_ref = ?2",
	[SF_STMT_PAY_SESSION_DECIDE] = "UPDATE payment_sessions SET status = ?4, decided_at = ?5, "
				       "intent_ref = COALESCE(?6, intent_ref) "
				       "WHERE provider = ?1 AND provider_ref = ?2 AND status = ?3",
	[SF_STMT_PAY_SESSION_BY_INTENT] = "SELECT order_id, provider_ref FROM payment_sessions "
					  "WHERE provider = ?1 AND intent_ref = ?2",
	[SF_STMT_PAY_EVENT_INSERT] = "INSERT INTO payment_events(provider, event_id, type, order_id, created_at) "
				     "VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT DO NOTHING",
	[SF_STMT_WEBHOOK_SUB_INSERT] = "INSERT INTO webhook_subscriptions(url, events, created_at) VALUES (?1, ?2, ?3)",
	[SF_STMT_WEBHOOK_SUB_SET_SECRET] = "UPDATE webhook_subscriptions SET secret = ?2 WHERE id = ?1",
	[SF_STMT_WEBHOOK_SUB_LIST] =
		"SELECT s.id, s.url, s.events, s.active, s.created_at, "
		"(SELECT count(*) FROM webhook_deliveries d WHERE d.subscription_id = s.id AND d.status = 'pending'), "
		"(SELECT count(*) FROM webhook_deliveries d WHERE d.subscription_id = s.id AND d.status = 'failed') "
		"FROM webhook_subscriptions s ORDER BY s.id",
	[SF_STMT_WEBHOOK_SUB_ACTIVE] = "SELECT id, url, events FROM webhook_subscriptions WHERE active = 1 ORDER BY id",
	[SF_STMT_WEBHOOK_SUB_SECRET] = "SELECT secret FROM webhook_subscriptions WHERE id = ?1 AND active = 1",
	[SF_STMT_WEBHOOK_SUB_DELETE] = "DELETE FROM webhook_subscriptions WHERE id = ?1",
	[SF_STMT_WEBHOOK_DELIVERY_DROP] = "DELETE FROM webhook_deliveries WHERE subscription_id = ?1 AND status = 'pending'",
	[SF_STMT_WEBHOOK_DELIVERY_INSERT] = "INSERT INTO webhook_deliveries(subscription_id, url, event_id, event_type, "
					    "body, next_at, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6)",
	[SF_STMT_WEBHOOK_DELIVERY_DUE] = "SELECT id, subscription_id, url, event_id, event_type, body, attempts "
					 "FROM webhook_deliveries WHERE status = 'pending' AND next_at <= ?1 "
					 "AND (subscription_id IS NULL) = ?3 "
					 "AND id NOT IN (SELECT value FROM json_each(?4)) "
					 "AND ifnull(subscription_id, 0) NOT IN (SELECT value FROM json_each(?5)) "
					 "ORDER BY next_at, id LIMIT ?2",
	[SF_STMT_WEBHOOK_DELIVERY_DONE] = "UPDATE webhook_deliveries SET status = 'delivered', delivered_at = ?2, "
					  "attempts = attempts + 1, last_error = NULL WHERE id = ?1 AND event_id = ?3",
	[SF_STMT_WEBHOOK_DELIVERY_RETRY] = "UPDATE webhook_deliveries SET attempts = ?2, next_at = ?3, last_error = ?4, "
					   "status = ?5 WHERE id = ?1 AND event_id = ?6",
	[SF_STMT_WEBHOOK_DELIVERY_OLD] = "SELECT id FROM webhook_deliveries WHERE status <> 'pending' AND created_at <= ?1 "
					 "ORDER BY id LIMIT ?2",
	[SF_STMT_WEBHOOK_DELIVERY_PRUNE] = "DELETE FROM webhook_deliveries WHERE id IN (SELECT value FROM json_each(?1)) AND status <> 'pending' "
					   "AND created_at <= ?2",
	[SF_STMT_STOCK_TAKE_LEFT] = "UPDATE variants SET stock = stock - ?1 WHERE id = ?2 AND stock >= ?1 RETURNING stock",
	[SF_STMT_STOCK_RETURN_LEFT] = "UPDATE variants SET stock = stock + ?1 WHERE id = ?2 RETURNING stock",
	[SF_STMT_UNAPPLIED_INSERT] = "INSERT INTO unapplied_payments(order_id, provider, provider_ref, intent_ref, "
				     "amount_minor, currency, reason, next_at, created_at, updated_at) "
				     "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8, ?8) ON CONFLICT DO NOTHING",
	[SF_STMT_UNAPPLIED_DUE] = "SELECT id, order_id, provider, intent_ref, amount_minor, attempts "
				  "FROM unapplied_payments WHERE status = 'refund_due' AND next_at <= ?1 "
				  "ORDER BY next_at, id LIMIT ?2",
	[SF_STMT_UNAPPLIED_SET] = "UPDATE unapplied_payments SET status = ?2, attempts = COALESCE(?3, attempts), "
				  "next_at = ?4, refund_ref = COALESCE(?5, refund_ref), last_error = ?6, updated_at = ?7 "
				  "WHERE id = ?1 AND status <> 'refunded'",
	[SF_STMT_UNAPPLIED_BY_INTENT] = "SELECT id, order_id, status FROM unapplied_payments "
					"WHERE provider = ?1 AND intent_ref = ?2",
	[SF_STMT_UNAPPLIED_OF_ORDER] = "SELECT provider, amount_minor, currency, reason, status, created_at, "
				       "refund_ref, last_error FROM unapplied_payments WHERE order_id = ?1 ORDER BY id",
	[SF_STMT_ORDER_REFUND_FACTS] = "SELECT o.status, o.currency, o.paid_minor, o.refunded_minor, "
				       "(SELECT coalesce(sum(amount_minor), 0) FROM order_refunds r "
				       "WHERE r.order_id = o.id AND r.status = 'refund_due'), o.payment_provider, "
				       "(SELECT s.intent_ref FROM payment_sessions s WHERE s.provider = o.payment_provider "
				       "AND s.provider_ref = o.payment_ref) FROM orders o WHERE o.id = ?1",
	[SF_STMT_ORDER_REFUND_INSERT] = "INSERT INTO order_refunds(order_id, request_key, provider, intent_ref, "
					"amount_minor, currency, reason, actor_type, actor_id, next_at, created_at, "
					"updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?11) "
					"ON CONFLICT DO NOTHING",
	[SF_STMT_ORDER_REFUND_BY_KEY] = "SELECT id, order_id FROM order_refunds WHERE request_key = ?1",
	[SF_STMT_ORDER_REFUND_DUE] = "SELECT id, order_id, provider, intent_ref, amount_minor, attempts, reason, actor_type, actor_id "
				     "FROM order_refunds WHERE status = 'refund_due' AND next_at <= ?1 "
				     "ORDER BY next_at, id LIMIT ?2",
	[SF_STMT_ORDER_REFUND_GET] = "SELECT id, order_id, provider, intent_ref, amount_minor, attempts, reason, actor_type, actor_id "
				     "FROM order_refunds WHERE id = ?1 AND status = 'refund_due'",
	[SF_STMT_ORDER_REFUND_SET] = "UPDATE order_refunds SET status = ?2, attempts = COALESCE(?3, attempts), "
				     "next_at = ?4, refund_ref = COALESCE(?5, refund_ref), last_error = ?6, "
				     "updated_at = ?7 WHERE id = ?1 AND status <> 'refunded'",
	[SF_STMT_ORDER_REFUND_OF_ORDER] = "SELECT provider, amount_minor, currency, reason, status, created_at, "
					  "refund_ref, last_error, actor_id FROM order_refunds WHERE order_id = ?1 "
					  "ORDER BY id",

};

int sf_sqlite_sql_missing(void)
{
	for (int i = 0; i < SF_STMT__COUNT; i++) {
		if (!sf_sqlite_sql[i])
			return i;
	}
	return -1;
}
