-- 0011_link_times.sql — when each verification or reset link was made, so
-- that another link mail of the same kind to the same account within three
-- minutes is not sent (src/shop/customer.c, mail_link).  NULL for links made
-- before this migration: they count as old.
ALTER TABLE customer_tokens ADD COLUMN created_at INTEGER;
