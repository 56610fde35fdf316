-- 0003_edge.sql — edge protection: address bans and WAF events.
--
-- edge_bans holds one row per address ever banned: the current (or last)
-- ban's reason and end, and how many times the address was banned (a
-- repeat offender's next ban is longer).  A ban is active while
-- lifted_at IS NULL AND until_at > now.  Every ban and lift is also an
-- audit event (written in the same transaction).
--
-- waf_events keeps each matched WAF rule (redacted, as in the WAF log) for
-- the back office; times are unix seconds.

CREATE TABLE edge_bans (
	ip TEXT PRIMARY KEY,
	reason TEXT NOT NULL,
	banned_at INTEGER NOT NULL,
	until_at INTEGER NOT NULL,
	strikes INTEGER NOT NULL DEFAULT 1,
	lifted_at INTEGER
);
CREATE INDEX edge_bans_until ON edge_bans(until_at);

CREATE TABLE waf_events (
	id INTEGER PRIMARY KEY,
	ts INTEGER NOT NULL,
	request_id TEXT NOT NULL,
	ip TEXT NOT NULL,
	method TEXT NOT NULL,
	path TEXT NOT NULL,
	rule_id INTEGER NOT NULL,
	phase INTEGER NOT NULL,
	severity INTEGER NOT NULL,
	message TEXT NOT NULL,
	data TEXT NOT NULL,
	action TEXT NOT NULL CHECK (action IN ('blocked', 'detected'))
);
CREATE INDEX waf_events_ts ON waf_events(ts);
CREATE INDEX waf_events_ip ON waf_events(ip, ts);
CREATE INDEX waf_events_rule ON waf_events(rule_id, ts);
