-- 0006_staff.sql — staff accounts, roles and permissions, password history,
-- TOTP second factor and recovery codes, enrollment links, the login stage
-- of staff sessions, per-address login throttling and API tokens.
--
-- Secrets are stored only hashed (enrollment links, recovery codes, API
-- tokens: BLAKE2b-256; passwords: argon2id) or sealed (TOTP seeds, bound to
-- staff/totp_seed/<id>).  Built-in roles are rows here, their permission
-- sets live in code (src/auth/rbac.c) so that they cannot be edited; custom
-- roles keep theirs in role_permissions.

CREATE TABLE staff (
	id                  INTEGER PRIMARY KEY,
	email               TEXT NOT NULL UNIQUE,       -- normalised (trimmed, lower-case)
	name                TEXT NOT NULL DEFAULT '',
	password_hash       TEXT,                       -- argon2id; NULL until enrolled
	password_changed_at INTEGER NOT NULL DEFAULT 0,
	totp_seed           BLOB,                       -- sealed; the enrolled seed
	totp_pending        BLOB,                       -- sealed; a seed shown but not yet confirmed
	totp_last_step      INTEGER NOT NULL DEFAULT 0, -- the last accepted time step (replay guard)
	active              INTEGER NOT NULL DEFAULT 1,
	failed_logins       INTEGER NOT NULL DEFAULT 0,
	locked_until        INTEGER NOT NULL DEFAULT 0,
	allow_ips           TEXT NOT NULL DEFAULT '',   -- CIDR list; empty: any (within [admin] allow)
	deny_ips            TEXT NOT NULL DEFAULT '',   -- CIDR list
	access_windows      TEXT NOT NULL DEFAULT '',   -- "Mon-Fri 08:00-19:00 Asia/Tokyo; Sat 09:00-12:00 UTC"
	pw_min_length       INTEGER,                    -- NULL: the roles' / [admin] default
	pw_max_age_days     INTEGER,                    -- NULL: the roles' / [admin] default
	created_at          INTEGER NOT NULL,
	updated_at          INTEGER NOT NULL
);

CREATE TABLE roles (
	id              INTEGER PRIMARY KEY,
	name            TEXT NOT NULL UNIQUE,
	builtin         INTEGER NOT NULL DEFAULT 0,
	description     TEXT NOT NULL DEFAULT '',
	pw_min_length   INTEGER,
	pw_max_age_days INTEGER,
	created_at      INTEGER NOT NULL
);

CREATE TABLE role_permissions (
	role_id    INTEGER NOT NULL REFERENCES roles(id) ON DELETE CASCADE,
	permission TEXT NOT NULL,
	PRIMARY KEY (role_id, permission)
);

CREATE TABLE staff_roles (
	staff_id INTEGER NOT NULL REFERENCES staff(id) ON DELETE CASCADE,
	role_id  INTEGER NOT NULL REFERENCES roles(id) ON DELETE CASCADE,
	PRIMARY KEY (staff_id, role_id)
);
CREATE INDEX staff_roles_role ON staff_roles(role_id);

INSERT INTO roles(name, builtin, description, created_at) VALUES
	('owner', 1, 'Everything, including staff, roles, security settings and keys', 0),
	('administrator', 1, 'Everything except keys and changing owners', 0),
	('catalog_manager', 1, 'Catalog and inventory; reports', 0),
	('order_operator', 1, 'Orders, customer look-up, stock levels', 0),
	('customer_support', 1, 'Customers and their orders', 0),
	('analyst', 1, 'Reports and exports; read-only orders and catalog', 0),
	('privacy_officer', 1, 'Customer data requests and the audit trail', 0);

-- Every password an account had (hash only), for the reuse check.
CREATE TABLE staff_password_history (
	id            INTEGER PRIMARY KEY,
	staff_id      INTEGER NOT NULL REFERENCES staff(id) ON DELETE CASCADE,
	password_hash TEXT NOT NULL,
	created_at    INTEGER NOT NULL
);
CREATE INDEX staff_password_history_staff ON staff_password_history(staff_id, id);

CREATE TABLE staff_recovery_codes (
	id        INTEGER PRIMARY KEY,
	staff_id  INTEGER NOT NULL REFERENCES staff(id) ON DELETE CASCADE,
	code_hash BLOB NOT NULL,
	used_at   INTEGER
);
CREATE INDEX staff_recovery_codes_staff ON staff_recovery_codes(staff_id);

-- Single-use enrollment links (hash only).
CREATE TABLE staff_tokens (
	id         INTEGER PRIMARY KEY,
	token_hash BLOB NOT NULL UNIQUE,
	staff_id   INTEGER NOT NULL REFERENCES staff(id) ON DELETE CASCADE,
	purpose    TEXT NOT NULL CHECK (purpose IN ('enroll')),
	expires_at INTEGER NOT NULL,
	used_at    INTEGER
);
CREATE INDEX staff_tokens_staff ON staff_tokens(staff_id);

-- The login stage of a staff session (sessions.kind = 'staff'): 'totp'
-- (password given, code due), 'enroll' (must set up TOTP), 'password'
-- (must change the password), 'full'; and until when it counts as freshly
-- re-authenticated.
CREATE TABLE staff_sessions (
	session_id  INTEGER PRIMARY KEY REFERENCES sessions(id) ON DELETE CASCADE,
	staff_id    INTEGER NOT NULL REFERENCES staff(id) ON DELETE CASCADE,
	stage       TEXT NOT NULL CHECK (stage IN ('totp', 'enroll', 'password', 'full')),
	fresh_until INTEGER NOT NULL DEFAULT 0,
	user_agent  TEXT NOT NULL DEFAULT ''
);
CREATE INDEX staff_sessions_staff ON staff_sessions(staff_id);

-- Failed staff logins per client address (throttling across accounts).
CREATE TABLE staff_login_ip (
	ip           TEXT PRIMARY KEY,
	failures     INTEGER NOT NULL,
	window_start INTEGER NOT NULL
);

-- API tokens for integrations: hash only, scoped, expiring, revocable.
CREATE TABLE api_tokens (
	id           INTEGER PRIMARY KEY,
	token_hash   BLOB NOT NULL UNIQUE,
	name         TEXT NOT NULL,
	staff_id     INTEGER NOT NULL REFERENCES staff(id) ON DELETE CASCADE, -- creator; the token acts within their rights
	scopes       TEXT NOT NULL,                     -- space-separated permissions
	created_at   INTEGER NOT NULL,
	expires_at   INTEGER NOT NULL,
	revoked_at   INTEGER,
	last_used_at INTEGER
);
CREATE INDEX api_tokens_staff ON api_tokens(staff_id);
