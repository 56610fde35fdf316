-- 0007_backoffice.sql — what the back office adds (src/shop/backoffice.c,
-- inventory.c, media.c, report.c; src/audit/search.c): the stock
-- adjustment journal and the indexes its pages and reports read by.
--
-- Every stock change made by staff is one row here (who, how much, why,
-- the stock after it) and one audit event, in the same transaction.
CREATE TABLE inventory_adjustments (
	id          INTEGER PRIMARY KEY,
	variant_id  INTEGER NOT NULL REFERENCES variants(id) ON DELETE CASCADE,
	delta       INTEGER NOT NULL CHECK (delta <> 0),
	stock_after INTEGER NOT NULL CHECK (stock_after >= 0),
	reason      TEXT NOT NULL,
	actor_id    TEXT,
	created_at  INTEGER NOT NULL
);
CREATE INDEX inventory_adjustments_variant ON inventory_adjustments(variant_id, id);

-- Order list by status, newest first; reports by creation time.
CREATE INDEX orders_status_id ON orders(status, id);
CREATE INDEX orders_created ON orders(created_at);
-- Low-stock list on the dashboard.
CREATE INDEX variants_stock ON variants(stock, id);
-- Audit viewer: events of one object.
CREATE INDEX audit_events_object ON audit_events(object_type, object_id);
