/*
 * serve_housekeeping.c — the housekeeping thread (serve_housekeeping.h).
 * Each module owns its rule (what is old, what must stay); this file only
 * calls them in turn and logs what went.
 */
#include "cli/serve_housekeeping.h"

#include <inttypes.h>
#include <stdlib.h>
#include <time.h>

#include "auth/session.h"
#include "auth/staff.h"
#include "core/config.h"
#include "core/log.h"
#include "core/ticker.h"
#include "db/db.h"
#include "ops/mail.h"
#include "shop/cart.h"
#include "shop/customer.h"
#include "shop/webhook.h"

enum kind { K_SESSIONS, K_CUSTOMER_LINKS, K_STAFF_LINKS, K_CARTS, K_MAILS, K_DELIVERIES, K__COUNT };

static const char *const kind_name[K__COUNT] = {"sessions", "customer_links", "staff_links",
						 "carts",    "mails",          "deliveries"};

static enum sf_err prune(struct sf_db *db, const struct sf_config *cfg, enum kind k, int64_t now, int64_t *n)
{
	switch (k) {
	case K_SESSIONS:
		return sf_session_prune(db, now, SF_DB_PRUNE_MAX, n);
	case K_CUSTOMER_LINKS:
		return sf_customer_tokens_prune(db, now, SF_DB_PRUNE_MAX, n);
	case K_STAFF_LINKS:
		return sf_staff_tokens_prune(db, now, SF_DB_PRUNE_MAX, n);
	case K_CARTS:
		return sf_cart_prune(db, now, SF_DB_PRUNE_MAX, n);
	case K_MAILS:
		return sf_mail_prune(db, now, (int)cfg->mail_keep_days, SF_DB_PRUNE_MAX, n);
	case K_DELIVERIES:
		return sf_webhook_prune(db, now, (int)cfg->webhook_keep_days, SF_DB_PRUNE_MAX, n);
	default:
		return SF_ERR_INVALID;
	}
}

/* Batches per kind and run: 10 x SF_DB_PRUNE_MAX rows, each batch its own
 * short transaction; a run that leaves more runs again at once. */
#define RUN_BATCHES 10

/* One run at time now; > 0 when a kind filled every batch (there may be
 * more).  A failure is logged; the kinds after it still run, and the next
 * run tries again. */
static int run(struct sf_db *db, const struct sf_config *cfg, int64_t now)
{
	int64_t got[K__COUNT] = {0};
	int more = 0;
	for (int k = 0; k < K__COUNT; k++) {
		int b = 0;
		int64_t n = 0;
		do {
			enum sf_err err = prune(db, cfg, (enum kind)k, now, &n);
			if (err) {
				sf_log(SF_LOG_WARN, "housekeeping.failed", "deleting old %s failed: %s", kind_name[k],
				       sf_err_code(err));
				n = 0;
				break;
			}
			got[k] += n;
		} while (n == SF_DB_PRUNE_MAX && ++b < RUN_BATCHES);
		more |= n == SF_DB_PRUNE_MAX;
	}
	if (got[K_SESSIONS] | got[K_CUSTOMER_LINKS] | got[K_STAFF_LINKS] | got[K_CARTS] | got[K_MAILS] |
	    got[K_DELIVERIES])
		sf_log(SF_LOG_INFO, "housekeeping.deleted",
		       "deleted sessions=%" PRId64 " customer_links=%" PRId64 " staff_links=%" PRId64 " carts=%" PRId64
		       " mails=%" PRId64 " deliveries=%" PRId64,
		       got[K_SESSIONS], got[K_CUSTOMER_LINKS], got[K_STAFF_LINKS], got[K_CARTS], got[K_MAILS],
		       got[K_DELIVERIES]);
	return more;
}

/* ==== The thread ==== */

struct sf_housekeeper {
	struct sf_db *db;
	const struct sf_config *cfg;
	struct sf_ticker *ticker;
};

static int job(void *arg)
{
	struct sf_housekeeper *h = arg;
	return run(h->db, h->cfg, (int64_t)time(NULL));
}

enum sf_err sf_housekeeper_start(struct sf_db *db, const struct sf_config *cfg, int interval_s,
				 struct sf_housekeeper **out)
{
	*out = NULL;
	struct sf_housekeeper *h = calloc(1, sizeof *h);
	if (!h)
		return SF_ERR_NOMEM;
	h->db = db;
	h->cfg = cfg;
	enum sf_err err = sf_ticker_start(job, h, interval_s * 1000L, &h->ticker);
	if (err) {
		free(h);
		return err;
	}
	*out = h;
	return SF_OK;
}

void sf_housekeeper_stop(struct sf_housekeeper *h)
{
	if (!h)
		return;
	sf_ticker_stop(h->ticker);
	free(h);
}
