-- 0009_unapplied_payments.sql — money that reached a provider for an order
-- that could no longer take it (src/shop/payment.c, "Payments that came too
-- late"): the order was cancelled or its reservation had ended, another
-- attempt had already paid it, or the amount or currency was not the
-- order's.  Each such settlement is kept here and refunded through its
-- provider; it never changes the order.
CREATE TABLE unapplied_payments (
	id           INTEGER PRIMARY KEY,
	order_id     INTEGER NOT NULL REFERENCES orders(id),
	provider     TEXT NOT NULL,
	provider_ref TEXT NOT NULL,               -- the settled session
	intent_ref   TEXT,                        -- Stripe: the payment intent refunded
	amount_minor INTEGER NOT NULL CHECK (amount_minor >= 0),
	currency     TEXT NOT NULL,
	reason       TEXT NOT NULL,               -- why it was not applied: an error code
	status       TEXT NOT NULL DEFAULT 'refund_due'
	             CHECK (status IN ('refund_due', 'refunded', 'refund_failed')),
	attempts     INTEGER NOT NULL DEFAULT 0,
	next_at      INTEGER NOT NULL,
	refund_ref   TEXT,                        -- the provider's refund
	last_error   TEXT,
	created_at   INTEGER NOT NULL,
	updated_at   INTEGER NOT NULL,
	UNIQUE (provider, provider_ref)
);
CREATE INDEX unapplied_payments_due ON unapplied_payments(status, next_at);
CREATE INDEX unapplied_payments_intent ON unapplied_payments(provider, intent_ref);
CREATE INDEX unapplied_payments_order ON unapplied_payments(order_id);
