/*
 * cmd_serve.c — `storefort serve`: run the shop.
 *
 * Start-up order: configuration, logs, database (schema must be current),
 * keys, production guardrails, templates, TLS material, then the listeners.
 * Signals are blocked before any thread starts and taken synchronously here
 * with sigwait: SIGINT/SIGTERM stop gracefully (in-flight requests finish),
 * SIGHUP reopens the log files (for rotation).
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/routes.h"
#include "cli/cmds.h"
#include "cli/common.h"
#include "core/app.h"
#include "core/log.h"
#include "core/util.h"
#include "crypto/keyring.h"
#include "db/db.h"
#include "http/http.h"
#include "http/tls.h"
#include "web/pages.h"
#include "web/tmpl.h"

static const char usage[] =
	"usage: storefort serve\n"
	"\n"
	"Serve the storefront and the JSON API over HTTPS on [server] https_port, and\n"
	"redirect plain HTTP on [server] http_port to HTTPS.  In production, refuses to\n"
	"start with an unsafe configuration and names the setting to change.\n"
	"Signals: SIGTERM/SIGINT stop gracefully, SIGHUP reopens the log files.\n";

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
	struct sf_http_options opt = {
		.bind_addr = cfg->bind,
		.https_port = cfg->tls ? (uint16_t)cfg->https_port : 0,
		.http_port = (uint16_t)cfg->http_port,
		.tls_cert_pem = cert,
		.tls_key_pem = key,
		.public_host = cfg->public_host[0] ? cfg->public_host : NULL,
		.threads = (unsigned)cfg->threads,
		.max_connections = (unsigned)cfg->max_connections,
		.max_connections_per_ip = (unsigned)cfg->max_connections_per_ip,
		.timeout_s = (unsigned)cfg->timeout_s,
		.max_url = (size_t)cfg->max_url,
		.max_header = (size_t)cfg->max_header,
		.max_body = (size_t)cfg->max_body,
		.arena_cap = (size_t)cfg->arena_cap,
		.hsts = cfg->tls || cfg->proxy_tls_terminated,
		.media_dir = cfg->media_dir,
	};
	struct sf_http_hooks hooks = {.error_page = sf_web_error_page};

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
	enum sf_err e = sf_http_start(&opt, routes, nroutes, &hooks, &app, &srv, err, sizeof err);
	if (cert)
		sf_tls_free_pem(cert);
	if (key)
		sf_tls_free_pem(key);
	if (e) {
		sf_tmpl_free(tmpl);
		return sf_cli_fail(SF_EXIT_FAIL, "serve: %s", err);
	}
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
			continue;
		}
		sf_log(SF_LOG_INFO, "serve.stop", "stopping on signal %d", sig);
		break;
	}
	sf_http_stop(srv);
	sf_tmpl_free(tmpl);
	sf_log_close();
	return SF_EXIT_OK;
}
