/*
 * serve_housekeeping.h — `serve`'s housekeeping thread: deletes what no one
 * can use any more and what storefort keeps only for a while, a bounded
 * batch at a time so that no transaction holds the write lock for long.
 *
 * What goes (docs/OPERATIONS.md, "What storefort deletes by itself"):
 * sessions past their absolute expiry; verification, reset and enrollment
 * links past theirs; guest carts whose cookie has expired; mails sent or
 * failed more than [mail] keep_days ago; webhook deliveries delivered or
 * failed more than [webhooks] keep_days ago.  Never: orders, payments,
 * customers, the audit trail.
 */
#ifndef SF_CLI_SERVE_HOUSEKEEPING_H
#define SF_CLI_SERVE_HOUSEKEEPING_H

#include <stdint.h>

#include "core/err.h"

struct sf_config;
struct sf_db;
struct sf_housekeeper;

/* Start the thread: a run at once, then every interval_s seconds, at once
 * again while a run leaves more.  SF_OK and *out, or SF_ERR_NOMEM /
 * SF_ERR_INTERNAL. */
enum sf_err sf_housekeeper_start(struct sf_db *db, const struct sf_config *cfg, int interval_s,
				 struct sf_housekeeper **out) SF_WARN_UNUSED;
/* Wait for a run in progress, stop, free.  NULL accepted. */
void sf_housekeeper_stop(struct sf_housekeeper *h);

#endif
