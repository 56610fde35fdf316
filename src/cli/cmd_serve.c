/*
 * cmd_serve.c — `storefort serve`: run the shop.
 *
 * Start-up order: configuration, logs, database (schema must be current),
 * keys, production guardrails, templates, TLS material, then the listeners.
 * Signals are blocked before any thread starts and taken synchronously here
 * with sigwait: SIGINT/SIGTERM stop gracefully (in-flight requests finish),
 * SIGHUP reopens the log files (for rotation) and reloads the WAF rules
 * (the edge swaps the rule set; connections stay open).
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/routes.h"
#include "auth/auth.h"
#include "auth/staff.h"
#include "cli/cmds.h"
#include "cli/common.h"
#include "cli/serve_housekeeping.h"
#include "cli/serve_payments.h"
#include "core/app.h"
#include "core/log.h"
#include "core/util.h"
#include "crypto/keyring.h"
#include "db/db.h"
#include "edge/edge.h"
#include "http/http.h"
#include "http/tls.h"
#include "ops/mail.h"
#include "shop/catalog_cache.h"
#include "shop/commerce.h"
#include "shop/order.h"
#include "web/pages.h"
#include "web/tmpl.h"

static const char usage[] =
	"usage: storefort serve\n"
	"\n"
	"Serve the storefront and the JSON API over HTTPS on [server] https_port, and\n"
	"redirect plain HTTP on [server] http_port to HTTPS.  In production, refuses to\n"
	"start with an unsafe configuration and names the setting to change.\n"
	"Signals: SIGTERM/SIGINT stop gracefully, SIGHUP reopens the log files and\n"
	"reloads the WAF rules (a rule set that does not load keeps the old one).\n";

struct demo_flag {
	int set;
};

static void read_flag(struct sf_db_cursor *cur, void *ctx)
{
	struct demo_flag *f = ctx;
	f->set = !strcmp(sf_db_col_text(cur, 0, NULL), "1");
}

static int demo_present(struct sf_db *db)
{
	struct demo_flag f = {0};
	struct sf_db_conn *c = sf_db_conn_get(db);
	struct sf_db_param k = SF_DB_TEXT("demo_data");
	if (!c || sf_db_query_one(c, SF_STMT_META_GET, &k, 1, read_flag, &f) < 0)
		return 1; /* unknown counts as present: fail safe */
	return f.set;
}

int sf_cmd_serve(struct sf_cli *cli, int argc, char **argv)
{
	if (sf_cli_wants_help(argc, argv, usage))
		return SF_EXIT_OK;
	if (argc > 1)
		return sf_cli_fail(SF_EXIT_USAGE, "serve: unexpected argument '%s'", argv[1]);
	int rc = sf_cli_load_config(cli);
	if (rc)
		return rc;
	const struct sf_config *cfg = &cli->cfg;
	if (sf_log_access_buffer((unsigned)cfg->log_access_flush_ms) != SF_OK)
		return sf_cli_fail(SF_EXIT_FAIL, "[log] access_flush_ms: cannot start the access log flusher");
	if (sf_log_open(cfg->log_dir, (enum sf_log_level)sf_config_log_level(cfg)) != SF_OK)
		return sf_cli_fail(SF_EXIT_FAIL, "[log] dir %s: cannot open log files: %s", cfg->log_dir,
				   strerror(errno));
	rc = sf_cli_open(cli, 1, 1);
	if (rc)
		return rc;

	char why[4096], warn[4096];
	struct sf_guard_facts facts = {.dev_key = sf_keyring_is_dev(cli->keys), .demo_data = demo_present(cli->db)};
	if (sf_config_guard(cfg, &facts, why, sizeof why, warn, sizeof warn) != SF_OK) {
		sf_log(SF_LOG_ERROR, "serve.refused", "%s", why);
		return sf_cli_fail(SF_EXIT_FAIL, "%s", why);
	}
	if (warn[0]) {
		fprintf(stderr, "storefort: warning: %s\n", warn);
		sf_log(SF_LOG_WARN, "serve.unsafe_config", "%s", warn);
	}

	char err[1024];
	struct sf_tmpl_set *tmpl = NULL;
	if (sf_tmpl_load(&tmpl, err, sizeof err) != SF_OK)
		return sf_cli_fail(SF_EXIT_FAIL, "templates: %s", err);

	char *cert = NULL, *key = NULL;
	if (cfg->tls) {
		if (sf_tls_load_pem(cfg->tls_cert, &cert) != SF_OK) {
			sf_tmpl_free(tmpl);
			return sf_cli_fail(SF_EXIT_FAIL, "[server] tls_cert %s: cannot read: %s", cfg->tls_cert,
					   strerror(errno));
		}
		if (sf_tls_load_pem(cfg->tls_key, &key) != SF_OK) {
			sf_tls_free_pem(cert);
			sf_tmpl_free(tmpl);
			return sf_cli_fail(SF_EXIT_FAIL, "[server] tls_key %s: cannot read: %s", cfg->tls_key,
					   strerror(errno));
		}
	}

	struct sf_app app = {
		.cfg = cfg,
		.db = cli->db,
		.keys = cli->keys,
		.tmpl = tmpl,
		.data_dir = cfg->data_dir,
	};
	/* The catalog response cache (off with cache_entries = 0). */
	if (cfg->catalog_cache_entries > 0) {
		app.catalog_cache = sf_catalog_cache_new((size_t)cfg->catalog_cache_entries,
							 (size_t)cfg->catalog_cache_mb * 1024 * 1024);
		if (!app.catalog_cache) {
			sf_tls_free_pem(cert);
			sf_tls_free_pem(key);
			sf_tmpl_free(tmpl);
			return sf_cli_fail(SF_EXIT_FAIL, "serve: out of memory creating the catalog cache");
		}
	}
	struct sf_http_options opt = {
		.bind_addr = cfg->bind,
		.https_port = cfg->tls ? (uint16_t)cfg->https_port : 0,
		.http_port = (uint16_t)cfg->http_port,
		.tls_cert_pem = cert,
		.tls_key_pem = key,
		.public_host = cfg->public_host[0] ? cfg->public_host : NULL,
		.threads = (unsigned)cfg->threads,
		.write_nice = (int)cfg->write_nice,
		.max_connections = (unsigned)cfg->max_connections,
		.max_connections_per_ip = (unsigned)cfg->max_connections_per_ip,
		.timeout_s = (unsigned)cfg->timeout_s,
		.max_url = (size_t)cfg->max_url,
		.max_header = (size_t)cfg->max_header,
		.max_body = (size_t)cfg->max_body,
		.arena_cap = (size_t)cfg->arena_cap,
		.hsts = cfg->tls || cfg->proxy_tls_terminated,
		.media_dir = cfg->media_dir,
		.admin_prefix = cfg->admin_path,
	};
	struct sf_http_hooks hooks = {.error_page = sf_web_error_page};
	/* The edge (bans, rate limits, WAF rules) is built before any server
	 * thread exists: the rule parser is not thread-safe. */
	struct sf_edge *edge = NULL;
	if (sf_edge_new(&app, cfg, &edge, err, sizeof err) != SF_OK) {
		if (cert)
			sf_tls_free_pem(cert);
		if (key)
			sf_tls_free_pem(key);
		sf_catalog_cache_free(app.catalog_cache);
		sf_tmpl_free(tmpl);
		return sf_cli_fail(SF_EXIT_FAIL, "%s", err);
	}
	app.edge = edge;
	sf_edge_hooks(&hooks);
	hooks.authorize = sf_auth_authorize;
	/* Staff sessions, the back-office policy and API tokens (src/auth/staff.c). */
	if (sf_staff_init(&app, err, sizeof err) != SF_OK) {
		if (cert)
			sf_tls_free_pem(cert);
		if (key)
			sf_tls_free_pem(key);
		sf_edge_free(edge);
		sf_catalog_cache_free(app.catalog_cache);
		sf_tmpl_free(tmpl);
		return sf_cli_fail(SF_EXIT_FAIL, "%s", err);
	}

	/* Block the signals before the server's threads exist, so only this
	 * thread ever receives them. */
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);

	size_t nroutes = 0;
	const struct sf_route *routes = sf_routes(&nroutes);
	struct sf_http_server *srv = NULL;
	/* The mail outbox: queued inside transactions, sent by a thread started
	 * after the signal mask (it inherits it). */
	struct sf_mailer *mailer = NULL;
	sf_mail_set_keyring(cli->keys);
	app.mail_enqueue = sf_mail_enqueue;
	enum sf_err e = sf_mailer_start(cli->db, cli->keys, cfg, &mailer, err, sizeof err);
	app.mailer = mailer;
	/* Order mails go through the outbox; unpaid reservations expire via
	 * the reaper (every 30 s; orders are also checked on access). */
	sf_shop_set_mailer(sf_mail_enqueue);
	struct sf_order_reaper *reaper = NULL;
	if (!e && sf_order_reaper_start(cli->db, cli->keys, 30, &reaper) != SF_OK) {
		e = SF_ERR_INTERNAL;
		snprintf(err, sizeof err, "cannot start the reservation reaper thread");
	}
	/* Expired sessions and links, dead guest carts, old mails and webhook
	 * deliveries: every 10 minutes (serve_housekeeping.h). */
	struct sf_housekeeper *housekeeper = NULL;
	if (!e && sf_housekeeper_start(cli->db, cfg, 600, &housekeeper) != SF_OK) {
		e = SF_ERR_INTERNAL;
		snprintf(err, sizeof err, "cannot start the housekeeping thread");
	}
	if (!e)
		e = sf_http_start(&opt, routes, nroutes, &hooks, &app, &srv, err, sizeof err);
	if (cert)
		sf_tls_free_pem(cert);
	if (key)
		sf_tls_free_pem(key);
	if (e) {
		sf_housekeeper_stop(housekeeper);
		sf_order_reaper_stop(reaper);
		sf_mailer_stop(mailer);
		sf_edge_free(edge);
		sf_catalog_cache_free(app.catalog_cache);
		sf_tmpl_free(tmpl);
		return sf_cli_fail(SF_EXIT_FAIL, "serve: %s", err);
	}
	/* Payments and outgoing webhooks: after the listener, whose real port
	 * the sandbox provider notifies. */
	struct sf_payments *payments = NULL;
	struct sf_webhook_sender *whsender = NULL;
	if (sf_serve_payments_start(cfg, cli->db, cli->keys, sf_http_https_port(srv), sf_http_http_port(srv),
				    &payments, &whsender, err, sizeof err) != SF_OK) {
		sf_http_stop(srv);
		sf_housekeeper_stop(housekeeper);
		sf_order_reaper_stop(reaper);
		sf_mailer_stop(mailer);
		sf_edge_free(edge);
		sf_catalog_cache_free(app.catalog_cache);
		sf_tmpl_free(tmpl);
		return sf_cli_fail(SF_EXIT_FAIL, "serve: %s", err);
	}
	app.payments = payments;
	app.webhooks = whsender;
	sf_log(SF_LOG_INFO, "serve.start", "storefort serving (%s) https_port=%u http_port=%u",
	       sf_env_name(cfg->environment), sf_http_https_port(srv), sf_http_http_port(srv));
	if (cfg->tls)
		printf("storefort is serving %s\n  storefront  https://localhost:%u/\n  JSON API    "
		       "https://localhost:%u/api/v1/products\n  HTTP        http://localhost:%u/ (redirects to HTTPS)\n",
		       sf_env_name(cfg->environment), sf_http_https_port(srv), sf_http_https_port(srv),
		       sf_http_http_port(srv));
	else
		printf("storefort is serving %s over plain HTTP behind a TLS proxy on port %u\n",
		       sf_env_name(cfg->environment), sf_http_http_port(srv));
	fflush(stdout);

	for (;;) {
		int sig = 0;
		if (sigwait(&set, &sig) != 0)
			continue;
		if (sig == SIGHUP) {
			if (sf_log_open(cfg->log_dir, (enum sf_log_level)sf_config_log_level(cfg)) != SF_OK)
				fprintf(stderr, "storefort: warning: cannot reopen log files in %s\n", cfg->log_dir);
			sf_log(SF_LOG_INFO, "serve.reload", "log files reopened");
			if (sf_edge_reload(edge, err, sizeof err) != SF_OK) {
				fprintf(stderr, "storefort: warning: WAF rules not reloaded: %s\n", err);
				sf_log(SF_LOG_ERROR, "serve.waf_reload_failed", "%s", err);
			} else {
				sf_log(SF_LOG_INFO, "serve.waf_reload", "WAF rules reloaded");
			}
			continue;
		}
		sf_log(SF_LOG_INFO, "serve.stop", "stopping on signal %d", sig);
		break;
	}
	sf_http_stop(srv);
	sf_serve_payments_stop(payments, whsender);
	sf_housekeeper_stop(housekeeper);
	sf_order_reaper_stop(reaper);
	sf_mailer_stop(mailer);
	sf_edge_free(edge);
	sf_catalog_cache_free(app.catalog_cache);
	sf_tmpl_free(tmpl);
	sf_log_close();
	return SF_EXIT_OK;
}
