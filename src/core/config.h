/*
 * config.h — storefort's configuration: one INI file (inih) plus environment
 * overrides STOREFORT_<SECTION>_<KEY>, validated strictly.
 *
 * Every key is declared once in the table in config.c (section, name, type,
 * range, default).  Unknown sections, unknown keys, unknown STOREFORT_*
 * variables and invalid values are errors naming the setting.  Relative paths
 * are resolved against app.data_dir (itself relative to the file's folder).
 *
 * The environment profile (app.environment) selects guardrails: in
 * production, sf_config_guard refuses insecure settings and names the one to
 * change.
 */
#ifndef SF_CORE_CONFIG_H
#define SF_CORE_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

enum sf_env { SF_ENV_DEVELOPMENT, SF_ENV_STAGING, SF_ENV_PRODUCTION };

#define SF_CFG_PATH_MAX 1024

struct sf_config {
	/* [app] */
	enum sf_env environment;
	char data_dir[SF_CFG_PATH_MAX];
	char shop_name[128];
	/* [server] */
	char bind[64];
	int64_t https_port;
	int64_t http_port;
	int tls;
	char tls_cert[SF_CFG_PATH_MAX];
	char tls_key[SF_CFG_PATH_MAX];
	char public_host[256];
	int64_t threads;
	int64_t write_nice; /* nice value of the request pool (writes, hashing) */
	int64_t max_connections;
	int64_t max_connections_per_ip;
	int64_t timeout_s;
	int64_t max_url;
	int64_t max_header;
	int64_t max_body;
	int64_t arena_cap;
	/* [database] */
	char db_backend[16];
	char db_path[SF_CFG_PATH_MAX];
	char db_conninfo[512];
	/* [keys] */
	char master_key_file[SF_CFG_PATH_MAX];
	/* [log] */
	char log_dir[SF_CFG_PATH_MAX];
	char log_level[8];
	int64_t log_access_flush_ms; /* access lines buffered per thread at most this long (0: unbuffered) */
	/* [proxy] */
	char proxy_trusted[512];
	int proxy_tls_terminated;
	int proxy_protocol; /* trusted proxies send a PROXY protocol header first */
	/* [health] */
	int64_t min_free_disk_mb;
	int64_t catalog_cache_entries; /* 0: the catalog response cache is off */
	int64_t catalog_cache_mb;
	/* [media] */
	char media_dir[SF_CFG_PATH_MAX];
	/* [waf] (src/edge) */
	char waf_mode[8];
	int64_t waf_paranoia;
	char waf_rules_extra[SF_CFG_PATH_MAX];
	char waf_log[SF_CFG_PATH_MAX];
	int64_t waf_body_limit;
	/* [ratelimit]: "N/S" (N requests per S seconds per address) or "off" */
	int rl_enabled;
	char rl_auth[24], rl_order[24], rl_read[24], rl_write[24], rl_admin[24], rl_webhook[24], rl_health[24];
	/* [bans] */
	int64_t ban_waf_blocks;
	int64_t ban_rate_limit_hits;
	int64_t ban_failed_logins;
	int64_t ban_window;
	int64_t ban_duration;
	int64_t ban_max_duration;
	char ban_allow[512];

	/* [auth] customer sessions, passwords, login throttling */
	int64_t auth_customer_idle_s;
	int64_t auth_customer_absolute_s;
	int64_t auth_argon2_memory_kib;
	int64_t auth_argon2_ops;
	int64_t auth_max_failures;
	int64_t auth_lock_minutes;
	int64_t auth_verify_hours;
	int64_t auth_reset_minutes;
	/* [shop] cart, checkout and stock reservation */
	int shop_prices_include_tax;
	int64_t shop_reservation_minutes;
	int64_t shop_max_line_quantity;
	int64_t shop_max_cart_lines;
	/* [mail] */
	char mail_smtp_url[512];
	char mail_from[256];
	char mail_username[256];
	char mail_password_file[SF_CFG_PATH_MAX];
	char mail_ca_file[SF_CFG_PATH_MAX]; /* trust for the relay instead of the system store, or "" */
	char mail_dir[SF_CFG_PATH_MAX];
	char mail_link_base[256];
	int64_t mail_keep_days; /* sent/failed outbox rows older than this are deleted */
	/* [payments] (src/shop/payment.h) */
	char pay_provider[16];                          /* "sandbox" | "stripe" */
	char pay_sandbox_secret_file[SF_CFG_PATH_MAX];  /* "": a random secret per process */
	char pay_stripe_secret_key_file[SF_CFG_PATH_MAX];
	char pay_stripe_webhook_secret_file[SF_CFG_PATH_MAX];
	char pay_stripe_api_base[256];
	char pay_public_base[256];                      /* "": [mail] link_base, else https://public_host */
	int64_t pay_delayed_hold_hours; /* an order paid by a delayed method (konbini, bank debit) is held */
	/* [webhooks] outgoing (src/shop/webhook.h) */
	int64_t webhook_timeout_s;
	int64_t webhook_max_attempts;
	int64_t webhook_keep_days;
	int webhook_allow_private; /* subscriptions may reach internal addresses */ /* delivered/failed deliveries older than this are deleted */

	/* [admin] the back office: path, address allow list, staff sessions,
	 * second factor and password policy (src/auth/staff.c) */
	char admin_path[64];
	char admin_allow[1024];
	int admin_require_2fa;
	int64_t admin_idle_s;
	int64_t admin_absolute_s;
	int64_t admin_reauth_minutes;
	int64_t admin_pw_min_length;
	int64_t admin_pw_max_age_days;
	int64_t admin_pw_history;
	int64_t admin_enroll_hours;
	int64_t admin_ip_max_failures;
	int64_t admin_ip_window_s;

	char source[SF_CFG_PATH_MAX]; /* the file it was read from */
};

/* Fill cfg with the defaults (development profile, data dir "."). */
void sf_config_defaults(struct sf_config *cfg);

/* Load path (must exist), apply environment overrides, resolve paths and
 * validate.  On error returns SF_ERR_CONFIG with one line in errbuf naming
 * the file, section/key or variable and the problem. */
enum sf_err sf_config_load(const char *path, struct sf_config *cfg, char *errbuf, size_t errlen) SF_WARN_UNUSED;

/* Facts the guardrails need that the configuration alone does not tell. */
struct sf_guard_facts {
	int dev_key;      /* the master key file is marked as a development key */
	int demo_data;    /* the database holds demo data */
};

/* Environment guardrails.  In production: TLS must be on (or a trusted proxy
 * terminates it), the master key file must be mode 0600-or-stricter, must not
 * lie inside the database's folder, must not be a development key, and the
 * database must not hold demo data.  Returns SF_OK or SF_ERR_CONFIG_UNSAFE
 * with the setting to change in why.  Other profiles always pass (their
 * warnings, if any, are written to warn). */
enum sf_err sf_config_guard(const struct sf_config *cfg, const struct sf_guard_facts *facts, char *why,
			    size_t whylen, char *warn, size_t warnlen) SF_WARN_UNUSED;

const char *sf_env_name(enum sf_env env);
/* Parse a level name ("info") into enum sf_log_level values (0..3), -1 if bad. */
int sf_config_log_level(const struct sf_config *cfg);

/* Write the text of a config file for init (a commented INI). */
enum sf_err sf_config_write_initial(const char *path, enum sf_env env, const char *master_key_file) SF_WARN_UNUSED;

#endif
