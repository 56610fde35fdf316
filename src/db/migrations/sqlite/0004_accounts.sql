-- 0004_accounts.sql — customer accounts, sessions and the e-mail outbox.
--
-- Protected personal data (e-mail, name, phone, birth date, addresses) is
-- stored only sealed (src/crypto: table/column/row id bound); the e-mail is
-- found through its blind index.  Secrets (session, verification and reset
-- tokens) are stored only as BLAKE2b hashes.  The outbox seals recipient and
-- body (a body may carry a single-use link).

CREATE TABLE customers (
	id            INTEGER PRIMARY KEY,
	email_idx     BLOB NOT NULL UNIQUE,   -- blind index of the normalised e-mail
	email         BLOB,                   -- sealed
	name          BLOB,                   -- sealed
	phone         BLOB,                   -- sealed
	birth_date    BLOB,                   -- sealed
	password_hash TEXT NOT NULL,          -- argon2id (libsodium string form)
	verified      INTEGER NOT NULL DEFAULT 0,
	failed_logins INTEGER NOT NULL DEFAULT 0,
	locked_until  INTEGER NOT NULL DEFAULT 0,
	created_at    INTEGER NOT NULL,
	updated_at    INTEGER NOT NULL
);

CREATE TABLE customer_addresses (
	id          INTEGER PRIMARY KEY,
	customer_id INTEGER NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
	data        BLOB,                     -- sealed JSON object
	created_at  INTEGER NOT NULL,
	updated_at  INTEGER NOT NULL
);
CREATE INDEX customer_addresses_customer ON customer_addresses(customer_id, id);

-- Single-use e-mail verification and password reset tokens (hash only).
CREATE TABLE customer_tokens (
	id          INTEGER PRIMARY KEY,
	token_hash  BLOB NOT NULL UNIQUE,
	customer_id INTEGER NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
	purpose     TEXT NOT NULL CHECK (purpose IN ('verify', 'reset')),
	expires_at  INTEGER NOT NULL,
	used_at     INTEGER
);
CREATE INDEX customer_tokens_customer ON customer_tokens(customer_id, purpose);

-- Sessions of every principal kind (customer now, staff with the back
-- office).  Only the token's hash is stored.
CREATE TABLE sessions (
	id           INTEGER PRIMARY KEY,
	token_hash   BLOB NOT NULL UNIQUE,
	kind         TEXT NOT NULL,
	principal_id INTEGER NOT NULL,
	created_at   INTEGER NOT NULL,
	last_seen_at INTEGER NOT NULL,
	expires_at   INTEGER NOT NULL,       -- absolute expiry
	ip           TEXT
);
CREATE INDEX sessions_principal ON sessions(kind, principal_id);

-- The e-mail outbox (src/ops/mail.c).
CREATE TABLE mail_outbox (
	id              INTEGER PRIMARY KEY,
	recipient       BLOB NOT NULL,        -- sealed
	subject         BLOB NOT NULL,        -- sealed
	body            BLOB,                 -- sealed; cleared once sent
	status          TEXT NOT NULL DEFAULT 'pending'
	                CHECK (status IN ('pending', 'sent', 'failed')),
	attempts        INTEGER NOT NULL DEFAULT 0,
	next_attempt_at INTEGER NOT NULL,
	last_error      TEXT,
	created_at      INTEGER NOT NULL,
	sent_at         INTEGER
);
CREATE INDEX mail_outbox_due ON mail_outbox(status, next_attempt_at);
