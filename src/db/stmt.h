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

	/* ---- auth: sessions ---- */
	SF_STMT_SESSION_INSERT,           /* (token_hash, kind, principal_id, now, expires_at, ip|NULL) */
	SF_STMT_SESSION_GET,              /* (token_hash) -> id, kind, principal_id, created_at,
	                                     last_seen_at, expires_at */
	SF_STMT_SESSION_TOUCH,            /* (id, now) last_seen_at = now */
	SF_STMT_SESSION_DELETE,           /* (id) */
	SF_STMT_SESSION_DELETE_PRINCIPAL, /* (kind, principal_id, keep_id|0) all but keep_id */
	SF_STMT_SESSION_OLD,              /* (now, limit) -> id of sessions past their absolute expiry */
	SF_STMT_SESSION_DROP,             /* (JSON ids, now) delete those still past it */
	SF_STMT_SESSION_LIST,             /* (kind, principal_id) -> id, created_at, last_seen_at,
	                                     expires_at, ip (newest first) */

	/* ---- customer accounts ---- */
	SF_STMT_CUST_INSERT,              /* (email_idx, password_hash, now) */
	SF_STMT_CUST_SET_SEALED,          /* (id, email, name, phone, birth_date, now) sealed blobs|NULL */
	SF_STMT_CUST_BY_EMAIL_IDX,        /* (email_idx) -> id, password_hash, verified, failed_logins,
	                                     locked_until */
	SF_STMT_CUST_GET,                 /* (id) -> id, email, name, phone, birth_date, verified,
	                                     created_at, password_hash */
	SF_STMT_CUST_LOGIN_FAILED,        /* (id, failed_logins, locked_until) */
	SF_STMT_CUST_LOGIN_OK,            /* (id, password_hash) failures and lock cleared */
	SF_STMT_CUST_SET_PASSWORD,        /* (id, password_hash, now) failures and lock cleared */
	SF_STMT_CUST_SET_VERIFIED,        /* (id, now) changes 1 only when it was not verified */
	SF_STMT_CUST_TOKEN_INSERT,        /* (token_hash, customer_id, purpose, expires_at, now) */
	SF_STMT_CUST_TOKEN_GET,           /* (token_hash, purpose) -> id, customer_id, expires_at,
	                                     used_at|NULL */
	SF_STMT_CUST_TOKEN_USE,           /* (id, now) only when unused */
	SF_STMT_CUST_TOKEN_INVALIDATE,    /* (customer_id, purpose, now) mark every unused one used */
	SF_STMT_CUST_TOKEN_NEWEST,        /* (customer_id, purpose, now) -> when the newest live one was made (NULL: none) */
	SF_STMT_CUST_TOKEN_OLD,           /* (cutoff, limit) -> id of links expired before cutoff */
	SF_STMT_CUST_TOKEN_DROP,          /* (JSON ids, cutoff) */
	SF_STMT_CUST_ADDR_INSERT,         /* (customer_id, now) -> new row, data set next */
	SF_STMT_CUST_ADDR_SET,            /* (id, customer_id, data, now) */
	SF_STMT_CUST_ADDR_LIST,           /* (customer_id) -> id, data */
	SF_STMT_CUST_ADDR_GET,            /* (id, customer_id) -> id, data */
	SF_STMT_CUST_ADDR_DELETE,         /* (id, customer_id) */
	SF_STMT_CUST_ADDR_COUNT,          /* (customer_id) -> count */

	/* ---- ops: mail outbox ---- */
	SF_STMT_MAIL_INSERT,              /* (now) -> a pending row; sealed fields set next */
	SF_STMT_MAIL_SET_SEALED,          /* (id, recipient, subject, body) */
	SF_STMT_MAIL_DUE,                 /* (now, limit) -> id, recipient, subject, body, attempts */
	SF_STMT_MAIL_SENT,                /* (id, now) status sent, body cleared */
	SF_STMT_MAIL_RETRY,               /* (id, attempts, next_attempt_at, last_error) */
	SF_STMT_MAIL_FAILED,              /* (id, attempts, last_error) status failed */
	SF_STMT_MAIL_COUNT,               /* (status) -> count */
	SF_STMT_MAIL_OLD,                 /* (cutoff, limit) -> id of sent/failed mails made before cutoff */
	SF_STMT_MAIL_DROP,                /* (JSON ids, cutoff) */

	/* ---- commerce: cart, checkout, orders, coupons ---- */
	SF_STMT_CART_BY_TOKEN,            /* (token_hash) -> id, coupon_code */
	SF_STMT_CART_BY_CUSTOMER,         /* (customer_id) -> id, coupon_code */
	SF_STMT_CART_INSERT_TOKEN,        /* (token_hash, now) no-op when it exists */
	SF_STMT_CART_INSERT_CUSTOMER,     /* (customer_id, now) no-op when it exists */
	SF_STMT_CART_ITEMS,               /* (cart_id) -> item id, variant_id, quantity, sku, variant name,
	                                     product name, product slug, price_minor, currency, stock,
	                                     tax_class, tax rate_bp (-1 unknown class), weight_g, active */
	SF_STMT_CART_ITEM_BY_VARIANT,     /* (cart_id, variant_id) -> id, quantity */
	SF_STMT_CART_ITEM_GET,            /* (item_id, cart_id) -> variant_id, quantity */
	SF_STMT_CART_ITEM_UPSERT,         /* (cart_id, variant_id, quantity, now) */
	SF_STMT_CART_ITEM_SET_QTY,        /* (item_id, cart_id, quantity) */
	SF_STMT_CART_ITEM_DELETE,         /* (item_id, cart_id) */
	SF_STMT_CART_LINE_COUNT,          /* (cart_id) -> count */
	SF_STMT_CART_CLEAR,               /* (cart_id) every item */
	SF_STMT_CART_SET_COUPON,          /* (cart_id, code|NULL, now) */
	SF_STMT_CART_DELETE,              /* (cart_id) */
	SF_STMT_CART_OLD,                 /* (cutoff, limit) -> id of guest carts untouched since cutoff */
	SF_STMT_CART_DROP,                /* (JSON ids, cutoff) their lines go with them */
	SF_STMT_SHOP_VARIANT_GET,         /* (variant_id) -> id, stock, active (product status), currency */
	SF_STMT_SHOP_VARIANT_BY_SKU,      /* (sku) -> id, stock, active, currency */
	SF_STMT_SHOP_STOCK_TAKE,          /* (qty, variant_id) only when stock >= qty */
	SF_STMT_SHOP_STOCK_RETURN,        /* (qty, variant_id) */
	SF_STMT_SHIP_METHODS,             /* () -> code, name, kind, base, per_kg, free_above|NULL,
	                                     rate_bp (-1 unknown class) of active methods by position */
	SF_STMT_COUPON_BY_CODE,           /* (code) -> id, code, kind, value, currency, min_order, starts_at,
	                                     ends_at, max_uses, max_uses_per_customer, uses, active */
	SF_STMT_COUPON_INSERT,            /* (code, kind, value, currency, min_order, starts_at, ends_at,
	                                     max_uses, max_uses_per_customer, now) */
	SF_STMT_COUPON_TAKE,              /* (id) uses + 1 only while under max_uses */
	SF_STMT_COUPON_GIVE_BACK,         /* (id) uses - 1 */
	SF_STMT_COUPON_CUSTOMER_USES,     /* (coupon_id, customer_id) -> count */
	SF_STMT_COUPON_USE_INSERT,        /* (coupon_id, order_id, customer_id|NULL, now) */
	SF_STMT_COUPON_USE_BY_ORDER,      /* (order_id) -> coupon_id */
	SF_STMT_COUPON_USE_DELETE,        /* (order_id) */
	SF_STMT_ORDER_BY_IDEM,            /* (idem_owner, idem_key_hash) -> id, idem_body_hash, total_minor */
	SF_STMT_ORDER_INSERT,             /* (customer_id|NULL, guest_hash|NULL, currency, incl_tax, subtotal,
	                                     discount, shipping, tax, total, coupon|NULL, ship_code, ship_name,
	                                     idem_owner, idem_key_hash, idem_body_hash, reserved_until, now) */
	SF_STMT_ORDER_SET_SEALED,         /* (id, email, address) */
	SF_STMT_ORDER_LINE_INSERT,        /* (order_id, line_no, variant_id, sku, name, qty, unit, tax_class,
	                                     rate_bp, gross, discount, tax) */
	SF_STMT_ORDER_GET,                /* (id) -> id, customer_id, guest_hash, status, currency, incl_tax,
	                                     subtotal, discount, shipping, tax, total, paid, refunded, coupon,
	                                     ship_code, ship_name, email, address, provider, payment_ref,
	                                     reserved_until, created_at, updated_at */
	SF_STMT_ORDER_LINES,              /* (order_id) -> line_no, variant_id, sku, name, qty, unit,
	                                     tax_class, rate_bp, gross, discount, tax */
	SF_STMT_ORDER_SET_STATUS,         /* (id, from, to, now) only while status = from */
	SF_STMT_ORDER_SET_PAID,           /* (id, provider, ref, amount, now) only while pending_payment */
	SF_STMT_ORDER_HOLD_UNTIL,         /* (id, until, now) reserved_until = max(reserved_until, until)
	                                     only while pending_payment and reserved_until > now */
	SF_STMT_ORDER_ADD_REFUND,         /* (id, amount, now) only while refunded + amount <= paid */
	SF_STMT_ORDER_EVENT_INSERT,       /* (order_id, from|NULL, to, actor_type, actor_id|NULL,
	                                     reason|NULL, now) */
	SF_STMT_ORDER_EVENTS,             /* (order_id) -> from, to, actor_type, reason, created_at */
	SF_STMT_ORDER_STAGE,              /* (order_id) -> the last status moved to that is not a refund */
	SF_STMT_ORDER_LIST_CUSTOMER,      /* (customer_id, limit, offset) -> id, status, currency, total,
	                                     created_at, items (sum of quantities), newest first */
	SF_STMT_ORDER_EXPIRED_DUE,        /* (now, limit) -> id of pending orders past reserved_until */
	SF_STMT_ORDER_PAYMENT_GET,        /* (provider, provider_ref, kind) -> order_id, amount */
	SF_STMT_ORDER_PAYMENT_INSERT,     /* (order_id, provider, provider_ref, kind, amount, currency, now) */
	SF_STMT_SHIPMENT_INSERT,          /* (order_id, carrier, tracking, now) */
	SF_STMT_SHIPMENTS_OF,             /* (order_id) -> carrier, tracking, created_at */

	/* ---- catalog cache ---- */
	SF_STMT_CATALOG_VERSION_GET,      /* () -> catalog_version (integer; no row before the first write) */
	SF_STMT_CATALOG_VERSION_BUMP,     /* () catalog_version + 1 (created as 1) */

	/* ---- edge: bans and WAF events ---- */
	SF_STMT_EDGE_BAN_GET,             /* (ip) -> strikes */
	SF_STMT_EDGE_BAN_PUT,             /* (ip, reason, now, until, strikes) insert or replace */
	SF_STMT_EDGE_BAN_ACTIVE,          /* (now) -> ip, reason, banned_at, until_at, strikes */
	SF_STMT_EDGE_BAN_LIFT,            /* (ip, now) only an active ban */
	SF_STMT_EDGE_WAF_EVENT_INSERT,    /* (ts, request_id, ip, method, path, rule_id, phase, severity,
	                                     message, data, action) */
	SF_STMT_EDGE_WAF_EVENT_COUNT,     /* (since) -> count */

	/* ---- back office (audit search, reports, inventory, media, admin pages) ---- */
	SF_STMT_AUDIT_SEARCH,             /* (actor_type|NULL, actor_id|NULL, action|NULL, action_prefix|NULL,
	                                     object_type|NULL, object_id|NULL, since|NULL, until|NULL,
	                                     outcome|NULL, before_id (0: none), limit) -> id, ts, actor_type,
	                                     actor_id, ip, action, object_type, object_id, outcome,
	                                     request_id, detail; newest first */
	SF_STMT_AUDIT_PROBLEMS,           /* (since_ts, limit) -> as AUDIT_SEARCH, outcome <> success */
	SF_STMT_AUDIT_PROBLEM_COUNT,      /* (since_ts) -> count of events with outcome <> success */
	SF_STMT_REPORT_SALES,             /* (period day|week|month, from, to, currency) -> bucket, orders,
	                                     net revenue; sold orders only, by bucket */
	SF_STMT_REPORT_TOTALS,            /* (from, to, currency) -> placed, sold, net revenue */
	SF_STMT_REPORT_TOP_PRODUCTS,      /* (from, to, currency, limit) -> sku, name, units, revenue */
	SF_STMT_REPORT_LAST_CURRENCY,     /* () -> currency of the newest order */
	SF_STMT_BO_ORDERS_TO_SHIP,        /* () -> count of paid + fulfilled orders */
	SF_STMT_BO_REFUNDS_OPEN,          /* (limit) -> kind ('staff refund' | 'payment not applied'), order_id, status, amount,
	                                     currency, last_error|NULL, updated_at: refunds to send that are
	                                     due or failed, failed first, newest first */
	SF_STMT_BO_REFUNDS_FAILED,        /* () -> count of refunds to send that failed for good */
	SF_STMT_BO_LOW_STOCK,             /* (threshold, limit) -> variant id, sku, variant name, product id,
	                                     product name, stock */
	SF_STMT_BO_ORDER_LIST,            /* (before_id 0: none, from|NULL, to|NULL, limit) -> id, status,
	                                     currency, total, created_at, customer_id, items */
	SF_STMT_BO_ORDER_LIST_STATUS,     /* (status, before_id, from|NULL, to|NULL, limit) -> same */
	SF_STMT_BO_ORDER_LIST_CUSTOMER,   /* (customer_id, status|NULL, before_id, from|NULL, to|NULL, limit) */
	SF_STMT_BO_CUSTOMER_BY_IDX,       /* (email_idx) -> id, verified, created_at, locked_until */
	SF_STMT_BO_CUSTOMER_LIST,         /* (before_id 0: none, limit) -> id, verified, created_at,
	                                     locked_until; newest first */
	SF_STMT_BO_CUSTOMER_GET,          /* (id) -> id, verified, created_at, locked_until, failed_logins,
	                                     email, name, phone, birth_date (sealed) */
	SF_STMT_BO_CUSTOMER_ORDER_COUNT,  /* (customer_id) -> count */
	SF_STMT_BO_PRODUCT_LIST,          /* (q|NULL, limit, offset) -> id, slug, name, status, price_min,
	                                     currency, stock (sum), image; newest first */
	SF_STMT_BO_PRODUCT_GET,           /* (id) -> id, slug, name, description, category_id, image, status */
	SF_STMT_BO_PRODUCT_INSERT,        /* (slug, name, description, category_id|NULL, status, now) */
	SF_STMT_BO_PRODUCT_UPDATE,        /* (id, name, description, category_id|NULL, status, now) */
	SF_STMT_BO_PRODUCT_SET_IMAGE,     /* (id, image, now) */
	SF_STMT_BO_VARIANTS,              /* (product_id) -> id, sku, name, price_minor, currency, stock */
	SF_STMT_BO_VARIANT_GET,           /* (id) -> id, product_id, sku, stock */
	SF_STMT_BO_VARIANT_INSERT,        /* (product_id, sku, name, price_minor, currency); stock 0 */
	SF_STMT_BO_VARIANT_UPDATE,        /* (id, product_id, name, price_minor, currency) */
	SF_STMT_BO_STOCK_ADJUST,          /* (id, delta) only while stock + delta >= 0 */
	SF_STMT_BO_INVENTORY_INSERT,      /* (variant_id, delta, stock_after, reason, actor_id, now) */
	SF_STMT_BO_INVENTORY_LIST,        /* (product_id, limit) -> sku, delta, stock_after, reason,
	                                     actor_id, created_at; newest first */
	SF_STMT_BO_CATEGORY_ID,           /* (id) -> id */
	SF_STMT_BO_CATEGORY_RENAME,       /* (id, name) */
	SF_STMT_BO_COUPON_LIST,           /* () -> id, code, kind, value, currency, min_order, starts_at,
	                                     ends_at, max_uses, max_uses_per_customer, uses, active */
	SF_STMT_BO_COUPON_SET_ACTIVE,     /* (id, active) */
	SF_STMT_BO_SHIP_LIST,             /* () -> id, code, name, kind, base, per_kg, free_above|NULL,
	                                     tax_class, position, active */
	SF_STMT_BO_SHIP_UPDATE,           /* (id, name, base, per_kg, free_above|NULL, tax_class, active) */
	SF_STMT_BO_TAX_LIST,              /* () -> class, rate_bp, label */
	SF_STMT_BO_TAX_PUT,               /* (class, rate_bp, label) insert or update */
	SF_STMT_BO_TAX_EXISTS,            /* (class) -> 1 */

	/* ---- staff: accounts, roles, 2FA, staff sessions, API tokens ---- */
	SF_STMT_STAFF_INSERT,             /* (email, name, now) */
	SF_STMT_STAFF_BY_EMAIL,           /* (email) -> id */
	SF_STMT_STAFF_GET,                /* (id) -> id, email, name, password_hash|NULL, password_changed_at,
	                                     active, failed_logins, locked_until, allow_ips, deny_ips,
	                                     access_windows, pw_min_length|NULL, pw_max_age_days|NULL,
	                                     enrolled (totp_seed not null), created_at */
	SF_STMT_STAFF_LIST,               /* () -> id, email, name, active, locked_until, enrolled, created_at,
	                                     roles (comma-separated names) */
	SF_STMT_STAFF_LOGIN_FAILED,       /* (id, failed_logins, locked_until, now) */
	SF_STMT_STAFF_LOGIN_OK,           /* (id, password_hash) failures cleared, hash maybe upgraded */
	SF_STMT_STAFF_SET_LOCK,           /* (id, locked_until, now) failures cleared */
	SF_STMT_STAFF_SET_PASSWORD,       /* (id, password_hash, now) */
	SF_STMT_STAFF_SET_ACTIVE,         /* (id, active, now) */
	SF_STMT_STAFF_SET_ACCESS,         /* (id, allow_ips, deny_ips, access_windows, now) */
	SF_STMT_STAFF_SET_PW_POLICY,      /* (id, pw_min_length|NULL, pw_max_age_days|NULL, now) */
	SF_STMT_STAFF_TOTP_GET,           /* (id) -> totp_seed|NULL, totp_pending|NULL, totp_last_step */
	SF_STMT_STAFF_TOTP_PENDING,       /* (id, sealed|NULL, now) */
	SF_STMT_STAFF_TOTP_CONFIRM,       /* (id, sealed seed, step, now) pending cleared */
	SF_STMT_STAFF_TOTP_STEP,          /* (id, step) only while totp_last_step < step */
	SF_STMT_STAFF_TOTP_RESET,         /* (id, now) seed, pending and step cleared */
	SF_STMT_STAFF_PERMS,              /* (staff_id) -> role name, builtin, permission|NULL (one row per
	                                     role and custom-role permission) */
	SF_STMT_STAFF_PW_POLICY_ROLES,    /* (staff_id) -> max(pw_min_length)|NULL, min(pw_max_age_days)|NULL */
	SF_STMT_STAFF_ROLES_CLEAR,        /* (staff_id) */
	SF_STMT_STAFF_ROLE_ADD,           /* (staff_id, role name) no row when the role does not exist */
	SF_STMT_STAFF_OWNER_COUNT,        /* (except_staff_id) -> active owners other than it */
	SF_STMT_ROLE_BY_NAME,             /* (name) -> id, builtin */
	SF_STMT_ROLE_INSERT,              /* (name, description, now) */
	SF_STMT_ROLE_PERM_ADD,            /* (role_id, permission) */
	SF_STMT_ROLE_PERMS_CLEAR,         /* (role_id) */
	SF_STMT_ROLE_DELETE,              /* (id) only a custom role */
	SF_STMT_ROLE_SET_PW_POLICY,       /* (id, pw_min_length|NULL, pw_max_age_days|NULL) */
	SF_STMT_ROLE_LIST,                /* () -> id, name, builtin, description, pw_min_length|NULL,
	                                     pw_max_age_days|NULL, permissions (space-separated, custom only),
	                                     members */
	SF_STMT_STAFF_PW_HISTORY_ADD,     /* (staff_id, password_hash, now) */
	SF_STMT_STAFF_PW_HISTORY,         /* (staff_id, limit) -> password_hash, newest first */
	SF_STMT_STAFF_RECOVERY_CLEAR,     /* (staff_id) */
	SF_STMT_STAFF_RECOVERY_ADD,       /* (staff_id, code_hash) */
	SF_STMT_STAFF_RECOVERY_USE,       /* (staff_id, code_hash, now) only an unused code */
	SF_STMT_STAFF_RECOVERY_LEFT,      /* (staff_id) -> unused codes */
	SF_STMT_STAFF_TOKEN_INSERT,       /* (token_hash, staff_id, purpose, expires_at) */
	SF_STMT_STAFF_TOKEN_GET,          /* (token_hash) -> id, staff_id, expires_at, used_at|NULL */
	SF_STMT_STAFF_TOKEN_USE,          /* (id, now) only while unused */
	SF_STMT_STAFF_TOKEN_KILL,         /* (staff_id, now) every unused link of the account */
	SF_STMT_STAFF_TOKEN_OLD,          /* (cutoff, limit) -> id of links expired before cutoff */
	SF_STMT_STAFF_TOKEN_DROP,         /* (JSON ids, cutoff) */
	SF_STMT_STAFF_SESS_INSERT,        /* (session_id, staff_id, stage, user_agent) */
	SF_STMT_STAFF_SESS_GET,           /* (session_id) -> stage, fresh_until */
	SF_STMT_STAFF_SESS_FRESH,         /* (session_id, fresh_until) */
	SF_STMT_STAFF_SESS_LIST,          /* (staff_id) -> id, created_at, last_seen_at, expires_at, ip, stage,
	                                     user_agent, newest first */
	SF_STMT_STAFF_SESS_DELETE,        /* (session_id, staff_id) one session of this staff member */
	SF_STMT_STAFF_IP_GET,             /* (ip) -> failures, window_start */
	SF_STMT_STAFF_IP_PUT,             /* (ip, failures, window_start) insert or replace */
	SF_STMT_APITOKEN_INSERT,          /* (token_hash, name, staff_id, scopes, now, expires_at) */
	SF_STMT_APITOKEN_GET,             /* (token_hash) -> id, staff_id, scopes, expires_at, revoked_at|NULL, name */
	SF_STMT_APITOKEN_TOUCH,           /* (id, now) last_used_at */
	SF_STMT_APITOKEN_LIST,            /* () -> id, name, staff_id, scopes, created_at, expires_at,
	                                     revoked_at|NULL, last_used_at|NULL, newest first */
	SF_STMT_APITOKEN_REVOKE,          /* (id, now) only while not revoked */

	/* ---- payments, outgoing webhooks, stock availability ---- */
	SF_STMT_PAY_SESSION_INSERT,       /* (provider, ref, order_id, amount, currency, now) */
	SF_STMT_PAY_SESSION_GET,          /* (provider, ref) -> order_id, amount, currency, status, intent_ref */
	SF_STMT_PAY_SESSION_DECIDE,       /* (provider, ref, from_status, to_status, now, intent_ref|NULL) */
	SF_STMT_PAY_SESSION_BY_INTENT,    /* (provider, intent_ref) -> order_id, provider_ref */
	SF_STMT_PAY_EVENT_INSERT,         /* (provider, event_id, type, order_id|NULL, now); 0 rows: seen */
	SF_STMT_WEBHOOK_SUB_INSERT,       /* (url, events, now) */
	SF_STMT_WEBHOOK_SUB_SET_SECRET,   /* (id, sealed secret) */
	SF_STMT_WEBHOOK_SUB_LIST,         /* () -> id, url, events, active, created_at, pending, failed */
	SF_STMT_WEBHOOK_SUB_ACTIVE,       /* () -> id, url, events of active subscriptions */
	SF_STMT_WEBHOOK_SUB_SECRET,       /* (id) -> sealed secret of an active subscription */
	SF_STMT_WEBHOOK_SUB_DELETE,       /* (id) */
	SF_STMT_WEBHOOK_DELIVERY_DROP,    /* (subscription_id) pending deliveries */
	SF_STMT_WEBHOOK_DELIVERY_INSERT,  /* (subscription_id|NULL, url, event_id, type, body, now) */
	SF_STMT_WEBHOOK_DELIVERY_DUE,     /* (now, limit, internal 1|0, JSON array of ids to skip, JSON array of
	                                     subscription ids to skip) -> id, subscription_id, url, event_id,
	                                     event_type, body, attempts; oldest first; internal: subscription_id
	                                     NULL (the sandbox provider's own) */
	SF_STMT_WEBHOOK_DELIVERY_DONE,    /* (id, now, event_id) */
	SF_STMT_WEBHOOK_DELIVERY_RETRY,   /* (id, attempts, next_at, error, status, event_id) */
	SF_STMT_WEBHOOK_DELIVERY_OLD,     /* (cutoff, limit) -> id of delivered/failed ones made before cutoff */
	SF_STMT_WEBHOOK_DELIVERY_PRUNE,   /* (JSON ids, cutoff) */
	SF_STMT_STOCK_TAKE_LEFT,          /* (qty, variant_id) when stock >= qty -> stock left */
	SF_STMT_STOCK_RETURN_LEFT,        /* (qty, variant_id) -> stock now */
	SF_STMT_UNAPPLIED_INSERT,         /* (order_id, provider, ref, intent|NULL, amount, currency, reason, now);
	                                     0 rows: recorded before */
	SF_STMT_UNAPPLIED_DUE,            /* (now, limit) -> id, order_id, provider, intent_ref|NULL, amount,
	                                     attempts; refund_due only, oldest first */
	SF_STMT_UNAPPLIED_SET,            /* (id, status, attempts|NULL, next_at, refund_ref|NULL, error|NULL,
	                                     now) unless refunded */
	SF_STMT_UNAPPLIED_BY_INTENT,      /* (provider, intent_ref) -> id, order_id, status */
	SF_STMT_UNAPPLIED_OF_ORDER,       /* (order_id) -> provider, amount, currency, reason, status,
	                                     created_at, refund_ref|NULL, last_error|NULL; oldest first */
	SF_STMT_ORDER_REFUND_FACTS,       /* (order_id) -> status, currency, paid, refunded, amount of its
	                                     refunds still due, payment_provider|NULL, intent_ref|NULL */
	SF_STMT_ORDER_REFUND_INSERT,      /* (order_id, request_key, provider, intent|NULL, amount, currency,
	                                     reason|NULL, actor_type, actor_id, next_at, now); 0 rows: that
	                                     key was used before */
	SF_STMT_ORDER_REFUND_BY_KEY,      /* (request_key) -> id, order_id */
	SF_STMT_ORDER_REFUND_DUE,         /* (now, limit) -> id, order_id, provider, intent_ref|NULL, amount,
	                                     attempts, reason|NULL, actor_type, actor_id; refund_due only,
	                                     oldest first */
	SF_STMT_ORDER_REFUND_GET,         /* (id) -> the same columns, refund_due only */
	SF_STMT_ORDER_REFUND_SET,         /* (id, status, attempts|NULL, next_at, refund_ref|NULL, error|NULL,
	                                     now) unless refunded */
	SF_STMT_ORDER_REFUND_OF_ORDER,    /* (order_id) -> provider, amount, currency, reason|NULL, status,
	                                     created_at, refund_ref|NULL, last_error|NULL, actor_id; oldest
	                                     first */

	SF_STMT__COUNT
};

#endif
