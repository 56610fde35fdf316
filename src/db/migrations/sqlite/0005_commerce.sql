-- 0005_commerce.sql — cart, checkout, orders, stock reservation, shipping,
-- tax and coupons (src/shop/cart.c, checkout.c, order.c, coupon.c,
-- shipping.c, tax.c; money rules in docs/COMMERCE.md).
--
-- Amounts are integer minor units.  Stock is reserved by decrementing
-- variants.stock inside the order's transaction (CHECK stock >= 0 backs the
-- guarded UPDATE); an expired or cancelled unpaid order gives it back once.
-- Protected personal data of an order (e-mail, shipping address) is stored
-- only sealed, bound to orders/<column>/<order id>.  Secrets (the guest cart
-- token, idempotency keys) are stored only as BLAKE2b hashes.

ALTER TABLE products ADD COLUMN tax_class TEXT NOT NULL DEFAULT 'standard';
ALTER TABLE variants ADD COLUMN tax_class TEXT;            -- NULL: the product's
ALTER TABLE variants ADD COLUMN weight_g INTEGER NOT NULL DEFAULT 0 CHECK (weight_g >= 0);

-- Tax rates per class, in basis points (2000 = 20 %).
CREATE TABLE tax_rates (
	class   TEXT PRIMARY KEY,
	rate_bp INTEGER NOT NULL CHECK (rate_bp BETWEEN 0 AND 10000),
	label   TEXT NOT NULL
);
INSERT INTO tax_rates(class, rate_bp, label) VALUES
	('standard', 2000, 'VAT 20%'),
	('reduced', 550, 'VAT 5.5%'),
	('zero', 0, 'VAT 0%');

-- Shipping methods: flat (base_minor) or by weight (base_minor + per_kg_minor
-- per started kilogram); free when the discounted goods total reaches
-- free_above_minor (NULL: never free).
CREATE TABLE shipping_methods (
	id               INTEGER PRIMARY KEY,
	code             TEXT NOT NULL UNIQUE,
	name             TEXT NOT NULL,
	kind             TEXT NOT NULL CHECK (kind IN ('flat', 'weight')),
	base_minor       INTEGER NOT NULL CHECK (base_minor >= 0),
	per_kg_minor     INTEGER NOT NULL DEFAULT 0 CHECK (per_kg_minor >= 0),
	free_above_minor INTEGER CHECK (free_above_minor IS NULL OR free_above_minor >= 0),
	tax_class        TEXT NOT NULL DEFAULT 'standard',
	position         INTEGER NOT NULL DEFAULT 0,
	active           INTEGER NOT NULL DEFAULT 1
);
INSERT INTO shipping_methods(code, name, kind, base_minor, per_kg_minor, free_above_minor, tax_class, position)
VALUES
	('standard', 'Standard delivery (3-5 days)', 'flat', 490, 0, 5000, 'standard', 1),
	('parcel', 'Parcel, priced by weight', 'weight', 390, 150, NULL, 'standard', 2),
	('express', 'Express (next working day)', 'flat', 1290, 0, NULL, 'standard', 3);

-- A cart belongs to a guest (hash of the cookie token) or to a customer.
CREATE TABLE carts (
	id          INTEGER PRIMARY KEY,
	token_hash  BLOB UNIQUE,
	customer_id INTEGER UNIQUE,
	coupon_code TEXT,
	updated_at  INTEGER NOT NULL,
	CHECK ((token_hash IS NULL) <> (customer_id IS NULL))
);
CREATE TABLE cart_items (
	id         INTEGER PRIMARY KEY,
	cart_id    INTEGER NOT NULL REFERENCES carts(id) ON DELETE CASCADE,
	variant_id INTEGER NOT NULL REFERENCES variants(id) ON DELETE CASCADE,
	quantity   INTEGER NOT NULL CHECK (quantity > 0),
	added_at   INTEGER NOT NULL,
	UNIQUE (cart_id, variant_id)
);

-- Coupons: percent (value in basis points) or fixed (value in minor units).
CREATE TABLE coupons (
	id                    INTEGER PRIMARY KEY,
	code                  TEXT NOT NULL UNIQUE,      -- upper case
	kind                  TEXT NOT NULL CHECK (kind IN ('percent', 'fixed')),
	value                 INTEGER NOT NULL CHECK (value > 0),
	currency              TEXT,                      -- fixed coupons: the currency of value
	min_order_minor       INTEGER NOT NULL DEFAULT 0 CHECK (min_order_minor >= 0),
	starts_at             INTEGER,                   -- unix seconds, NULL: always
	ends_at               INTEGER,
	max_uses              INTEGER CHECK (max_uses IS NULL OR max_uses > 0),
	max_uses_per_customer INTEGER CHECK (max_uses_per_customer IS NULL OR max_uses_per_customer > 0),
	uses                  INTEGER NOT NULL DEFAULT 0 CHECK (uses >= 0),
	active                INTEGER NOT NULL DEFAULT 1,
	created_at            INTEGER NOT NULL,
	CHECK (max_uses IS NULL OR uses <= max_uses),
	CHECK (kind <> 'percent' OR value <= 10000)
);
CREATE TABLE coupon_uses (
	id          INTEGER PRIMARY KEY,
	coupon_id   INTEGER NOT NULL REFERENCES coupons(id),
	order_id    INTEGER NOT NULL UNIQUE,
	customer_id INTEGER,
	created_at  INTEGER NOT NULL
);
CREATE INDEX coupon_uses_customer ON coupon_uses(coupon_id, customer_id);

CREATE TABLE orders (
	id                 INTEGER PRIMARY KEY,
	customer_id        INTEGER,                      -- NULL: guest
	guest_hash         BLOB,                         -- the guest cart token's hash
	status             TEXT NOT NULL CHECK (status IN ('pending_payment', 'paid', 'fulfilled', 'shipped',
	                       'delivered', 'cancelled', 'refunded', 'partially_refunded')),
	currency           TEXT NOT NULL,
	prices_include_tax INTEGER NOT NULL,
	subtotal_minor     INTEGER NOT NULL,
	discount_minor     INTEGER NOT NULL,
	shipping_minor     INTEGER NOT NULL,
	tax_minor          INTEGER NOT NULL,
	total_minor        INTEGER NOT NULL CHECK (total_minor >= 0),
	paid_minor         INTEGER NOT NULL DEFAULT 0,
	refunded_minor     INTEGER NOT NULL DEFAULT 0 CHECK (refunded_minor >= 0),
	coupon_code        TEXT,
	shipping_method    TEXT NOT NULL,
	shipping_name      TEXT NOT NULL,
	email              BLOB,                         -- sealed
	address            BLOB,                         -- sealed JSON object
	idem_owner         TEXT NOT NULL,
	idem_key_hash      BLOB NOT NULL,
	idem_body_hash     BLOB NOT NULL,
	payment_provider   TEXT,
	payment_ref        TEXT,
	reserved_until     INTEGER NOT NULL,
	created_at         INTEGER NOT NULL,
	updated_at         INTEGER NOT NULL,
	UNIQUE (idem_owner, idem_key_hash)
);
CREATE INDEX orders_customer ON orders(customer_id, id);
CREATE INDEX orders_pending ON orders(status, reserved_until);

CREATE TABLE order_lines (
	order_id       INTEGER NOT NULL REFERENCES orders(id),
	line_no        INTEGER NOT NULL,
	variant_id     INTEGER NOT NULL,
	sku            TEXT NOT NULL,
	name           TEXT NOT NULL,
	quantity       INTEGER NOT NULL CHECK (quantity > 0),
	unit_minor     INTEGER NOT NULL,
	tax_class      TEXT NOT NULL,
	tax_rate_bp    INTEGER NOT NULL,
	gross_minor    INTEGER NOT NULL,
	discount_minor INTEGER NOT NULL,
	tax_minor      INTEGER NOT NULL,
	PRIMARY KEY (order_id, line_no)
) WITHOUT ROWID;

-- Every status change: who, when, why (the audit trail has the same, chained).
CREATE TABLE order_events (
	id          INTEGER PRIMARY KEY,
	order_id    INTEGER NOT NULL REFERENCES orders(id),
	from_status TEXT,
	to_status   TEXT NOT NULL,
	actor_type  TEXT NOT NULL,
	actor_id    TEXT,
	reason      TEXT,
	created_at  INTEGER NOT NULL
);
CREATE INDEX order_events_order ON order_events(order_id, id);

CREATE TABLE shipments (
	id         INTEGER PRIMARY KEY,
	order_id   INTEGER NOT NULL REFERENCES orders(id),
	carrier    TEXT NOT NULL,
	tracking   TEXT NOT NULL,
	created_at INTEGER NOT NULL
);
CREATE INDEX shipments_order ON shipments(order_id);

-- Provider notifications applied to an order (settlement, failure, refund),
-- once each: (provider, provider_ref, kind) is unique.
CREATE TABLE order_payments (
	id           INTEGER PRIMARY KEY,
	order_id     INTEGER NOT NULL REFERENCES orders(id),
	provider     TEXT NOT NULL,
	provider_ref TEXT NOT NULL,
	kind         TEXT NOT NULL CHECK (kind IN ('settled', 'failed', 'refund')),
	amount_minor INTEGER NOT NULL,
	currency     TEXT NOT NULL,
	created_at   INTEGER NOT NULL,
	UNIQUE (provider, provider_ref, kind)
);
CREATE INDEX order_payments_order ON order_payments(order_id);
