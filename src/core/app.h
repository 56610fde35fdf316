/*
 * app.h — the application context handed to every handler (req->app).
 *
 * It only holds pointers to the long-lived objects each layer owns; core
 * knows their names, not their insides.  Built by `storefort serve`
 * (src/cli/serve.c) and torn down there.
 */
#ifndef SF_CORE_APP_H
#define SF_CORE_APP_H

#include "core/err.h"

struct sf_config;
struct sf_db_conn;
struct sf_mailer;
struct sf_db;
struct sf_keyring;
struct sf_tmpl_set;
struct sf_catalog_cache;
struct sf_edge;
struct sf_payments;
struct sf_webhook_sender;

struct sf_app {
	const struct sf_config *cfg;
	struct sf_db *db;
	struct sf_keyring *keys;
	const struct sf_tmpl_set *tmpl;
	struct sf_catalog_cache *catalog_cache;
	const char *data_dir;
	struct sf_edge *edge; /* WAF, rate limits, bans (src/edge); NULL when not serving */
	/* The e-mail outbox (ops/mail.c: sf_mail_enqueue), reachable this way
	 * from the shop layer, which sits below ops; NULL: mail is off. */
	enum sf_err (*mail_enqueue)(struct sf_db_conn *c, const char *to, const char *subject,
				    const char *text_body);
	struct sf_mailer *mailer; /* the sender thread (ops/mail.h), or NULL */
	struct sf_payments *payments;        /* the payment provider (shop/payment.h), or NULL */
	struct sf_webhook_sender *webhooks;  /* outgoing webhooks' sender (shop/webhook.h), or NULL */
};

#endif
