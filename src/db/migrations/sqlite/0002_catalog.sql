-- 0002_catalog.sql — the catalog: a category tree, products, variants and
-- full-text search.
--
-- Read paths are designed to be one indexed scan each:
--   * category_closure holds every (ancestor, descendant) pair;
--   * product_listing holds one row per (active product, each category it
--     is in, its own and every ancestor), with the sort keys copied, so a
--     category page (descendants included) in any order is one ordered
--     index range; category_product_counts keeps per-category counts so the
--     page's total is a sum over a handful of rows, not a scan;
--   * products.price_min / price_max / currency are kept by triggers on
--     variants, so price sorting walks products_price and never aggregates;
--   * products_fts is an external-content FTS5 index kept in sync by
--     triggers (only when name or description change).

CREATE TABLE categories (
	id INTEGER PRIMARY KEY,
	parent_id INTEGER REFERENCES categories(id),
	slug TEXT NOT NULL UNIQUE,
	name TEXT NOT NULL,
	description TEXT NOT NULL DEFAULT '',
	position INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX categories_parent ON categories(parent_id, position);

CREATE TABLE category_closure (
	ancestor_id INTEGER NOT NULL REFERENCES categories(id) ON DELETE CASCADE,
	descendant_id INTEGER NOT NULL REFERENCES categories(id) ON DELETE CASCADE,
	depth INTEGER NOT NULL,
	PRIMARY KEY (ancestor_id, descendant_id)
) WITHOUT ROWID;
CREATE INDEX category_closure_descendant ON category_closure(descendant_id, depth);

CREATE TRIGGER categories_closure_ai AFTER INSERT ON categories BEGIN
	INSERT INTO category_closure(ancestor_id, descendant_id, depth)
		SELECT ancestor_id, NEW.id, depth + 1 FROM category_closure WHERE descendant_id = NEW.parent_id
		UNION ALL SELECT NEW.id, NEW.id, 0;
END;

-- Moving a subtree: unlink it from its old ancestors, link it under the new parent.
CREATE TRIGGER categories_closure_au AFTER UPDATE OF parent_id ON categories
WHEN NEW.parent_id IS NOT OLD.parent_id BEGIN
	DELETE FROM category_closure
	 WHERE descendant_id IN (SELECT descendant_id FROM category_closure WHERE ancestor_id = NEW.id)
	   AND ancestor_id NOT IN (SELECT descendant_id FROM category_closure WHERE ancestor_id = NEW.id);
	INSERT INTO category_closure(ancestor_id, descendant_id, depth)
		SELECT a.ancestor_id, d.descendant_id, a.depth + d.depth + 1
		  FROM category_closure a, category_closure d
		 WHERE a.descendant_id = NEW.parent_id AND d.ancestor_id = NEW.id;
	DELETE FROM product_listing WHERE product_id IN
		(SELECT p.id FROM products p JOIN category_closure d ON d.descendant_id = p.category_id
		  WHERE d.ancestor_id = NEW.id);
	INSERT INTO product_listing(ancestor_id, product_id, name, price_min, created_at)
		SELECT a.ancestor_id, p.id, p.name, p.price_min, p.created_at
		  FROM products p JOIN category_closure d ON d.descendant_id = p.category_id
		  JOIN category_closure a ON a.descendant_id = p.category_id
		 WHERE d.ancestor_id = NEW.id AND p.status = 'active';
END;

CREATE TABLE products (
	id INTEGER PRIMARY KEY,
	slug TEXT NOT NULL UNIQUE,
	name TEXT NOT NULL,
	description TEXT NOT NULL DEFAULT '',
	category_id INTEGER REFERENCES categories(id),
	image TEXT,
	status TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'draft', 'archived')),
	price_min INTEGER,
	price_max INTEGER,
	currency TEXT,
	created_at INTEGER NOT NULL,
	updated_at INTEGER NOT NULL
);
CREATE INDEX products_name ON products(status, name COLLATE NOCASE, id);
CREATE INDEX products_price ON products(status, price_min, id);
CREATE INDEX products_newest ON products(status, created_at, id);
CREATE INDEX products_category ON products(category_id, status);

CREATE TABLE variants (
	id INTEGER PRIMARY KEY,
	product_id INTEGER NOT NULL REFERENCES products(id) ON DELETE CASCADE,
	sku TEXT NOT NULL UNIQUE,
	name TEXT NOT NULL DEFAULT '',
	price_minor INTEGER NOT NULL CHECK (price_minor >= 0),
	currency TEXT NOT NULL CHECK (length(currency) = 3),
	stock INTEGER NOT NULL CHECK (stock >= 0),
	position INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX variants_product ON variants(product_id, position);
CREATE INDEX variants_product_price ON variants(product_id, price_minor);
CREATE INDEX variants_product_stock ON variants(product_id, stock);

-- products.price_min / price_max / currency follow the variants.
CREATE TRIGGER variants_price_ai AFTER INSERT ON variants BEGIN
	UPDATE products SET
		price_min = (SELECT min(price_minor) FROM variants WHERE product_id = products.id),
		price_max = (SELECT max(price_minor) FROM variants WHERE product_id = products.id),
		currency = (SELECT currency FROM variants WHERE product_id = products.id
			    ORDER BY price_minor, id LIMIT 1)
	 WHERE id = NEW.product_id;
END;
CREATE TRIGGER variants_price_au AFTER UPDATE OF product_id, price_minor, currency ON variants BEGIN
	UPDATE products SET
		price_min = (SELECT min(price_minor) FROM variants WHERE product_id = products.id),
		price_max = (SELECT max(price_minor) FROM variants WHERE product_id = products.id),
		currency = (SELECT currency FROM variants WHERE product_id = products.id
			    ORDER BY price_minor, id LIMIT 1)
	 WHERE id IN (NEW.product_id, OLD.product_id);
END;
CREATE TRIGGER variants_price_ad AFTER DELETE ON variants BEGIN
	UPDATE products SET
		price_min = (SELECT min(price_minor) FROM variants WHERE product_id = products.id),
		price_max = (SELECT max(price_minor) FROM variants WHERE product_id = products.id),
		currency = (SELECT currency FROM variants WHERE product_id = products.id
			    ORDER BY price_minor, id LIMIT 1)
	 WHERE id = OLD.product_id;
END;

-- ---- listing and counts, maintained from products ----
CREATE TABLE product_listing (
	ancestor_id INTEGER NOT NULL,
	product_id INTEGER NOT NULL,
	name TEXT NOT NULL,
	price_min INTEGER,
	created_at INTEGER NOT NULL,
	PRIMARY KEY (ancestor_id, product_id)
) WITHOUT ROWID;
CREATE INDEX product_listing_name ON product_listing(ancestor_id, name COLLATE NOCASE, product_id);
CREATE INDEX product_listing_price ON product_listing(ancestor_id, price_min, product_id);
CREATE INDEX product_listing_newest ON product_listing(ancestor_id, created_at, product_id);
CREATE INDEX product_listing_product ON product_listing(product_id);

-- Active products per category (directly in it); category_id 0 = none.
CREATE TABLE category_product_counts (
	category_id INTEGER PRIMARY KEY,
	n INTEGER NOT NULL
);

CREATE TRIGGER products_listing_ai AFTER INSERT ON products WHEN NEW.status = 'active' BEGIN
	INSERT INTO product_listing(ancestor_id, product_id, name, price_min, created_at)
		SELECT ancestor_id, NEW.id, NEW.name, NEW.price_min, NEW.created_at
		  FROM category_closure WHERE descendant_id = NEW.category_id;
	INSERT INTO category_product_counts(category_id, n) VALUES (coalesce(NEW.category_id, 0), 1)
		ON CONFLICT(category_id) DO UPDATE SET n = n + 1;
END;
CREATE TRIGGER products_listing_ad AFTER DELETE ON products BEGIN
	DELETE FROM product_listing WHERE product_id = OLD.id;
	UPDATE category_product_counts SET n = n - 1
	 WHERE OLD.status = 'active' AND category_id = coalesce(OLD.category_id, 0);
END;
CREATE TRIGGER products_listing_au AFTER UPDATE OF status, category_id, name, price_min, created_at ON products
WHEN NEW.status IS NOT OLD.status OR NEW.category_id IS NOT OLD.category_id OR NEW.name IS NOT OLD.name
  OR NEW.price_min IS NOT OLD.price_min OR NEW.created_at IS NOT OLD.created_at
BEGIN
	DELETE FROM product_listing WHERE product_id = OLD.id;
	INSERT INTO product_listing(ancestor_id, product_id, name, price_min, created_at)
		SELECT ancestor_id, NEW.id, NEW.name, NEW.price_min, NEW.created_at
		  FROM category_closure WHERE descendant_id = NEW.category_id AND NEW.status = 'active';
	UPDATE category_product_counts SET n = n - 1
	 WHERE OLD.status = 'active' AND category_id = coalesce(OLD.category_id, 0);
	INSERT INTO category_product_counts(category_id, n)
		SELECT coalesce(NEW.category_id, 0), 1 WHERE NEW.status = 'active'
		ON CONFLICT(category_id) DO UPDATE SET n = n + 1;
END;

CREATE VIRTUAL TABLE products_fts USING fts5(
	name, description,
	content = 'products', content_rowid = 'id',
	tokenize = 'unicode61 remove_diacritics 2'
);
CREATE TRIGGER products_fts_ai AFTER INSERT ON products BEGIN
	INSERT INTO products_fts(rowid, name, description) VALUES (NEW.id, NEW.name, NEW.description);
END;
CREATE TRIGGER products_fts_ad AFTER DELETE ON products BEGIN
	INSERT INTO products_fts(products_fts, rowid, name, description)
		VALUES ('delete', OLD.id, OLD.name, OLD.description);
END;
CREATE TRIGGER products_fts_au AFTER UPDATE OF name, description ON products BEGIN
	INSERT INTO products_fts(products_fts, rowid, name, description)
		VALUES ('delete', OLD.id, OLD.name, OLD.description);
	INSERT INTO products_fts(rowid, name, description) VALUES (NEW.id, NEW.name, NEW.description);
END;
