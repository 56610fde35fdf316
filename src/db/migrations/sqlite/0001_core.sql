-- 0001_core.sql — the core schema: migration bookkeeping, settings, wrapped
-- data keys and the append-only, hash-chained audit trail.

CREATE TABLE IF NOT EXISTS schema_migrations (
	version    INTEGER PRIMARY KEY,
	name       TEXT,
	applied_at TEXT
);

CREATE TABLE meta (
	key   TEXT PRIMARY KEY,
	value TEXT NOT NULL
);

-- Data keys, only ever stored wrapped by the master key (src/crypto).
CREATE TABLE data_keys (
	id         INTEGER NOT NULL,
	version    INTEGER NOT NULL,
	purpose    INTEGER NOT NULL,
	wrapped    BLOB NOT NULL,
	active     INTEGER NOT NULL,
	created_at TEXT NOT NULL,
	PRIMARY KEY (id, version)
);

-- The audit trail (src/audit).  Ids run 1, 2, 3, ... with no gap; each
-- event's hash chains to the previous one.
CREATE TABLE audit_events (
	id          INTEGER PRIMARY KEY,
	ts          TEXT NOT NULL,
	actor_type  TEXT NOT NULL,
	actor_id    TEXT,
	ip          TEXT,
	action      TEXT NOT NULL,
	object_type TEXT,
	object_id   TEXT,
	outcome     TEXT NOT NULL,
	request_id  TEXT,
	detail      TEXT,
	prev_hash   BLOB NOT NULL,
	hash        BLOB NOT NULL
);

CREATE INDEX audit_events_action ON audit_events(action);
CREATE INDEX audit_events_actor ON audit_events(actor_type, actor_id);
CREATE INDEX audit_events_ts ON audit_events(ts);

-- Append-only: the database itself refuses edits and deletions.  (Someone
-- with write access to the file can drop these; the hash chain is what
-- proves tampering then.)
CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events
BEGIN
	SELECT RAISE(ABORT, 'audit events are append-only');
END;

CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events
BEGIN
	SELECT RAISE(ABORT, 'audit events are append-only');
END;

-- The single head row: last id, last hash, count and a MAC over them.
CREATE TABLE audit_head (
	one       INTEGER PRIMARY KEY CHECK (one = 1),
	last_id   INTEGER NOT NULL,
	last_hash BLOB NOT NULL,
	count     INTEGER NOT NULL,
	mac       BLOB NOT NULL
);
