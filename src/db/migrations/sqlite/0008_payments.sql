-- 0008_payments.sql — payment provider sessions, processed provider events
-- and outgoing webhooks (src/shop/payment*.c, src/shop/webhook.c).
--
-- No card data is ever stored: providers tokenize it on their own pages.
-- Outgoing webhook secrets are stored only sealed (webhook_subscriptions /
-- secret / <id>); delivery bodies carry no personal data.

-- One checkout attempt at a provider: the sandbox's hosted page or a
-- Stripe Checkout Session.  provider_ref is the provider's session id.
CREATE TABLE payment_sessions (
	id            INTEGER PRIMARY KEY,
	provider      TEXT NOT NULL,
	provider_ref  TEXT NOT NULL,
	order_id      INTEGER NOT NULL REFERENCES orders(id),
	amount_minor  INTEGER NOT NULL CHECK (amount_minor >= 0),
	currency      TEXT NOT NULL,
	status        TEXT NOT NULL CHECK (status IN ('open', 'approved', 'declined', 'completed')),
	intent_ref    TEXT,                       -- Stripe: the payment intent of the session
	created_at    INTEGER NOT NULL,
	decided_at    INTEGER,
	UNIQUE (provider, provider_ref)
);
CREATE INDEX payment_sessions_order ON payment_sessions(order_id);
CREATE INDEX payment_sessions_intent ON payment_sessions(provider, intent_ref);

-- Provider notifications applied, once each: the row is written in the
-- same transaction as the order change it caused.
CREATE TABLE payment_events (
	provider   TEXT NOT NULL,
	event_id   TEXT NOT NULL,
	type       TEXT NOT NULL,
	order_id   INTEGER,
	created_at INTEGER NOT NULL,
	PRIMARY KEY (provider, event_id)
) WITHOUT ROWID;

-- Outgoing webhooks: who wants which events (comma-separated names).
CREATE TABLE webhook_subscriptions (
	id         INTEGER PRIMARY KEY,
	url        TEXT NOT NULL,
	secret     BLOB,                          -- sealed; set right after the insert
	events     TEXT NOT NULL,
	active     INTEGER NOT NULL DEFAULT 1,
	created_at INTEGER NOT NULL
);

-- The delivery queue.  subscription_id NULL: the sandbox provider's own
-- notification to this server (signed with the sandbox secret).
CREATE TABLE webhook_deliveries (
	id              INTEGER PRIMARY KEY,
	subscription_id INTEGER,
	url             TEXT NOT NULL,
	event_id        TEXT NOT NULL,
	event_type      TEXT NOT NULL,
	body            TEXT NOT NULL,
	status          TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'failed')),
	attempts        INTEGER NOT NULL DEFAULT 0,
	next_at         INTEGER NOT NULL,
	last_error      TEXT,
	created_at      INTEGER NOT NULL,
	delivered_at    INTEGER,
	UNIQUE (event_id, subscription_id)
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries(status, next_at);
