-- 0010_order_refunds.sql — refunds that staff give from the back office,
-- sent to the provider that took the order's payment (src/shop/payment.c,
-- "Refunds given by staff").  A row is written when staff ask; the order is
-- refunded only once the provider has returned the money, in the
-- transaction that records its answer.  A form sent twice is one refund
-- (request_key).
CREATE TABLE order_refunds (
	id           INTEGER PRIMARY KEY,
	order_id     INTEGER NOT NULL REFERENCES orders(id),
	request_key  TEXT NOT NULL UNIQUE,        -- one per rendered refund form
	provider     TEXT NOT NULL,               -- the provider that took the payment
	intent_ref   TEXT,                        -- Stripe: the payment intent refunded
	amount_minor INTEGER NOT NULL CHECK (amount_minor > 0),
	currency     TEXT NOT NULL,
	reason       TEXT,
	actor_type   TEXT NOT NULL,               -- who asked
	actor_id     TEXT NOT NULL,
	status       TEXT NOT NULL DEFAULT 'refund_due'
	             CHECK (status IN ('refund_due', 'refunded', 'refund_failed')),
	attempts     INTEGER NOT NULL DEFAULT 0,
	next_at      INTEGER NOT NULL,
	refund_ref   TEXT,                        -- the provider's refund
	last_error   TEXT,
	created_at   INTEGER NOT NULL,
	updated_at   INTEGER NOT NULL
);
CREATE INDEX order_refunds_due ON order_refunds(status, next_at);
CREATE INDEX order_refunds_order ON order_refunds(order_id);
