/*
 * config.c — loading and validating the configuration (see config.h).
 *
 * One table declares every key; the INI handler, the environment override
 * walk and the validator all go through it, so a key cannot be known to one
 * and not the others.
 */
#include "core/config.h"

#include <errno.h>
#include <fcntl.h>
#include <ini.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/util.h"

extern char **environ;

/* K_PATH: a path, required; K_OPTPATH: a path or empty; both resolved against data_dir. */
enum key_type { K_STR, K_PATH, K_OPTPATH, K_INT, K_BOOL, K_ENV, K_CHOICE };

struct key {
	const char *section;
	const char *name;
	enum key_type type;
	size_t off;
	size_t size;           /* strings: buffer size */
	int64_t min, max;      /* ints */
	const char *choices;   /* K_CHOICE: "a|b|c" */
};

#define F(field) offsetof(struct sf_config, field), sizeof(((struct sf_config *)0)->field)

static const struct key keys[] = {
	{"app", "environment", K_ENV, F(environment), 0, 0, NULL},
	{"app", "data_dir", K_STR, F(data_dir), 0, 0, NULL},
	{"app", "shop_name", K_STR, F(shop_name), 0, 0, NULL},
	{"server", "bind", K_STR, F(bind), 0, 0, NULL},
	{"server", "https_port", K_INT, F(https_port), 0, 65535, NULL},
	{"server", "http_port", K_INT, F(http_port), 0, 65535, NULL},
	{"server", "tls", K_BOOL, F(tls), 0, 0, NULL},
	{"server", "tls_cert", K_PATH, F(tls_cert), 0, 0, NULL},
	{"server", "tls_key", K_PATH, F(tls_key), 0, 0, NULL},
	{"server", "public_host", K_STR, F(public_host), 0, 0, NULL},
	{"server", "threads", K_INT, F(threads), 0, 256, NULL},
	{"server", "write_nice", K_INT, F(write_nice), 0, 19, NULL},
	{"server", "max_connections", K_INT, F(max_connections), 1, 100000, NULL},
	{"server", "max_connections_per_ip", K_INT, F(max_connections_per_ip), 1, 100000, NULL},
	{"server", "timeout", K_INT, F(timeout_s), 1, 3600, NULL},
	{"server", "max_url", K_INT, F(max_url), 256, 65536, NULL},
	{"server", "max_header", K_INT, F(max_header), 1024, 1048576, NULL},
	{"server", "max_body", K_INT, F(max_body), 0, 1073741824, NULL},
	{"server", "arena_cap", K_INT, F(arena_cap), 65536, 1073741824, NULL},
	{"database", "backend", K_CHOICE, F(db_backend), 0, 0, "sqlite|postgres"},
	{"database", "path", K_PATH, F(db_path), 0, 0, NULL},
	{"database", "conninfo", K_STR, F(db_conninfo), 0, 0, NULL},
	{"keys", "master_key_file", K_PATH, F(master_key_file), 0, 0, NULL},
	{"log", "dir", K_PATH, F(log_dir), 0, 0, NULL},
	{"log", "level", K_CHOICE, F(log_level), 0, 0, "debug|info|warn|error"},
	{"log", "access_flush_ms", K_INT, F(log_access_flush_ms), 0, 10000, NULL},
	{"proxy", "trusted", K_STR, F(proxy_trusted), 0, 0, NULL},
	{"proxy", "tls_terminated", K_BOOL, F(proxy_tls_terminated), 0, 0, NULL},
	{"proxy", "protocol", K_BOOL, F(proxy_protocol), 0, 0, NULL},
	{"health", "min_free_disk_mb", K_INT, F(min_free_disk_mb), 0, 10000000, NULL},
	{"media", "dir", K_PATH, F(media_dir), 0, 0, NULL},
	{"catalog", "cache_entries", K_INT, F(catalog_cache_entries), 0, 10000000, NULL},
	{"catalog", "cache_mb", K_INT, F(catalog_cache_mb), 1, 65536, NULL},
	{"waf", "mode", K_CHOICE, F(waf_mode), 0, 0, "block|detect|off"},
	{"waf", "paranoia", K_INT, F(waf_paranoia), 1, 4, NULL},
	{"waf", "rules_extra", K_OPTPATH, F(waf_rules_extra), 0, 0, NULL},
	{"waf", "log", K_PATH, F(waf_log), 0, 0, NULL},
	{"waf", "body_limit", K_INT, F(waf_body_limit), 1024, 1073741824, NULL},
	{"ratelimit", "enabled", K_BOOL, F(rl_enabled), 0, 0, NULL},
	{"ratelimit", "auth", K_STR, F(rl_auth), 0, 0, NULL},
	{"ratelimit", "order", K_STR, F(rl_order), 0, 0, NULL},
	{"ratelimit", "read", K_STR, F(rl_read), 0, 0, NULL},
	{"ratelimit", "write", K_STR, F(rl_write), 0, 0, NULL},
	{"ratelimit", "admin", K_STR, F(rl_admin), 0, 0, NULL},
	{"ratelimit", "webhook", K_STR, F(rl_webhook), 0, 0, NULL},
	{"ratelimit", "health", K_STR, F(rl_health), 0, 0, NULL},
	{"bans", "waf_blocks", K_INT, F(ban_waf_blocks), 0, 1000000, NULL},
	{"bans", "rate_limit_hits", K_INT, F(ban_rate_limit_hits), 0, 1000000, NULL},
	{"bans", "failed_logins", K_INT, F(ban_failed_logins), 0, 1000000, NULL},
	{"bans", "window", K_INT, F(ban_window), 1, 604800, NULL},
	{"bans", "duration", K_INT, F(ban_duration), 1, 31536000, NULL},
	{"bans", "max_duration", K_INT, F(ban_max_duration), 1, 31536000, NULL},
	{"bans", "allow", K_STR, F(ban_allow), 0, 0, NULL},
	{"auth", "customer_idle_timeout", K_INT, F(auth_customer_idle_s), 60, 86400, NULL},
	{"auth", "customer_absolute_timeout", K_INT, F(auth_customer_absolute_s), 300, 31536000, NULL},
	{"auth", "argon2_memory_kib", K_INT, F(auth_argon2_memory_kib), 19456, 4194304, NULL},
	{"auth", "argon2_ops", K_INT, F(auth_argon2_ops), 2, 64, NULL},
	{"auth", "max_failures", K_INT, F(auth_max_failures), 1, 100, NULL},
	{"auth", "lock_minutes", K_INT, F(auth_lock_minutes), 1, 10080, NULL},
	{"auth", "verify_link_hours", K_INT, F(auth_verify_hours), 1, 720, NULL},
	{"auth", "reset_link_minutes", K_INT, F(auth_reset_minutes), 5, 1440, NULL},
	{"mail", "smtp_url", K_STR, F(mail_smtp_url), 0, 0, NULL},
	{"mail", "from", K_STR, F(mail_from), 0, 0, NULL},
	{"mail", "username", K_STR, F(mail_username), 0, 0, NULL},
	{"mail", "password_file", K_OPTPATH, F(mail_password_file), 0, 0, NULL},
	{"mail", "ca_file", K_OPTPATH, F(mail_ca_file), 0, 0, NULL},
	{"mail", "dir", K_PATH, F(mail_dir), 0, 0, NULL},
	{"mail", "link_base", K_STR, F(mail_link_base), 0, 0, NULL},
	{"mail", "keep_days", K_INT, F(mail_keep_days), 1, 3650, NULL},
	{"payments", "provider", K_CHOICE, F(pay_provider), 0, 0, "sandbox|stripe"},
	{"payments", "sandbox_secret_file", K_OPTPATH, F(pay_sandbox_secret_file), 0, 0, NULL},
	{"payments", "stripe_secret_key_file", K_OPTPATH, F(pay_stripe_secret_key_file), 0, 0, NULL},
	{"payments", "stripe_webhook_secret_file", K_OPTPATH, F(pay_stripe_webhook_secret_file), 0, 0, NULL},
	{"payments", "stripe_api_base", K_STR, F(pay_stripe_api_base), 0, 0, NULL},
	{"payments", "public_base", K_STR, F(pay_public_base), 0, 0, NULL},
	{"payments", "delayed_hold_hours", K_INT, F(pay_delayed_hold_hours), 1, 720, NULL},
	{"webhooks", "timeout", K_INT, F(webhook_timeout_s), 1, 30, NULL},
	{"webhooks", "max_attempts", K_INT, F(webhook_max_attempts), 1, 30, NULL},
	{"webhooks", "keep_days", K_INT, F(webhook_keep_days), 1, 3650, NULL},
	{"webhooks", "allow_private", K_BOOL, F(webhook_allow_private), 0, 0, NULL},
	{"shop", "prices_include_tax", K_BOOL, F(shop_prices_include_tax), 0, 0, NULL},
	{"shop", "reservation_minutes", K_INT, F(shop_reservation_minutes), 1, 10080, NULL},
	{"shop", "max_line_quantity", K_INT, F(shop_max_line_quantity), 1, 10000, NULL},
	{"shop", "max_cart_lines", K_INT, F(shop_max_cart_lines), 1, 500, NULL},
	{"admin", "path", K_STR, F(admin_path), 0, 0, NULL},
	{"admin", "allow", K_STR, F(admin_allow), 0, 0, NULL},
	{"admin", "require_2fa", K_BOOL, F(admin_require_2fa), 0, 0, NULL},
	{"admin", "idle_timeout", K_INT, F(admin_idle_s), 60, 86400, NULL},
	{"admin", "absolute_timeout", K_INT, F(admin_absolute_s), 300, 604800, NULL},
	{"admin", "reauth_minutes", K_INT, F(admin_reauth_minutes), 1, 60, NULL},
	{"admin", "password_min_length", K_INT, F(admin_pw_min_length), 12, 128, NULL},
	{"admin", "password_max_age_days", K_INT, F(admin_pw_max_age_days), 0, 3650, NULL},
	{"admin", "password_history", K_INT, F(admin_pw_history), 0, 24, NULL},
	{"admin", "enroll_link_hours", K_INT, F(admin_enroll_hours), 1, 720, NULL},
	{"admin", "ip_max_failures", K_INT, F(admin_ip_max_failures), 1, 100000, NULL},
	{"admin", "ip_window", K_INT, F(admin_ip_window_s), 60, 86400, NULL},
};

#undef F

static const char *const env_names[] = {"development", "staging", "production"};

const char *sf_env_name(enum sf_env env)
{
	return (unsigned)env < SF_ARRAY_LEN(env_names) ? env_names[env] : "unknown";
}

void sf_config_defaults(struct sf_config *cfg)
{
	memset(cfg, 0, sizeof *cfg);
	cfg->environment = SF_ENV_DEVELOPMENT;
	sf_strlcpy(cfg->data_dir, ".", sizeof cfg->data_dir);
	sf_strlcpy(cfg->shop_name, "storefort demo shop", sizeof cfg->shop_name);
	sf_strlcpy(cfg->bind, "127.0.0.1", sizeof cfg->bind);
	cfg->https_port = 8443;
	cfg->http_port = 8080;
	cfg->tls = 1;
	sf_strlcpy(cfg->tls_cert, "tls/cert.pem", sizeof cfg->tls_cert);
	sf_strlcpy(cfg->tls_key, "tls/key.pem", sizeof cfg->tls_key);
	cfg->threads = 0;
	cfg->write_nice = 19;
	cfg->max_connections = 4096;
	cfg->max_connections_per_ip = 128;
	cfg->timeout_s = 15;
	cfg->max_url = 4096;
	cfg->max_header = 16384;
	cfg->max_body = 1048576;
	cfg->arena_cap = 8 * 1048576;
	sf_strlcpy(cfg->db_backend, "sqlite", sizeof cfg->db_backend);
	sf_strlcpy(cfg->db_path, "db/storefort.db", sizeof cfg->db_path);
	sf_strlcpy(cfg->master_key_file, "keys/master.key", sizeof cfg->master_key_file);
	sf_strlcpy(cfg->log_dir, "log", sizeof cfg->log_dir);
	sf_strlcpy(cfg->log_level, "info", sizeof cfg->log_level);
	cfg->log_access_flush_ms = 1000;
	cfg->min_free_disk_mb = 100;
	cfg->catalog_cache_entries = 8192;
	cfg->catalog_cache_mb = 64;
	sf_strlcpy(cfg->media_dir, "media", sizeof cfg->media_dir);
	sf_strlcpy(cfg->waf_mode, "block", sizeof cfg->waf_mode);
	cfg->waf_paranoia = 1;
	sf_strlcpy(cfg->waf_log, "log/waf.log", sizeof cfg->waf_log);
	cfg->waf_body_limit = 1048576;
	cfg->rl_enabled = 1;
	sf_strlcpy(cfg->rl_auth, "5/60", sizeof cfg->rl_auth);
	sf_strlcpy(cfg->rl_order, "20/1800", sizeof cfg->rl_order);
	sf_strlcpy(cfg->rl_read, "600/60", sizeof cfg->rl_read);
	sf_strlcpy(cfg->rl_write, "120/60", sizeof cfg->rl_write);
	sf_strlcpy(cfg->rl_admin, "600/60", sizeof cfg->rl_admin);
	sf_strlcpy(cfg->rl_webhook, "600/60", sizeof cfg->rl_webhook);
	sf_strlcpy(cfg->rl_health, "off", sizeof cfg->rl_health);
	cfg->ban_waf_blocks = 10;
	cfg->ban_rate_limit_hits = 50;
	cfg->ban_failed_logins = 20;
	cfg->ban_window = 600;
	cfg->ban_duration = 900;
	cfg->ban_max_duration = 86400;
	sf_strlcpy(cfg->ban_allow, "127.0.0.1, ::1", sizeof cfg->ban_allow);
	cfg->auth_customer_idle_s = 30 * 60;
	cfg->auth_customer_absolute_s = 7 * 86400;
	cfg->auth_argon2_memory_kib = 19456; /* 19 MiB */
	cfg->auth_argon2_ops = 2;
	cfg->auth_max_failures = 10;
	cfg->auth_lock_minutes = 30;
	cfg->auth_verify_hours = 48;
	cfg->auth_reset_minutes = 60;
	sf_strlcpy(cfg->mail_from, "storefort <noreply@localhost>", sizeof cfg->mail_from);
	sf_strlcpy(cfg->mail_dir, "mail", sizeof cfg->mail_dir);
	sf_strlcpy(cfg->pay_provider, "sandbox", sizeof cfg->pay_provider);
	sf_strlcpy(cfg->pay_stripe_api_base, "https://api.stripe.com", sizeof cfg->pay_stripe_api_base);
	cfg->pay_delayed_hold_hours = 96;
	cfg->webhook_timeout_s = 3;
	cfg->webhook_max_attempts = 10;
	cfg->webhook_keep_days = 30;
	cfg->mail_keep_days = 30;
	cfg->shop_prices_include_tax = 1;
	cfg->shop_reservation_minutes = 30;
	cfg->shop_max_line_quantity = 20;
	cfg->shop_max_cart_lines = 50;
	sf_strlcpy(cfg->admin_path, "/admin", sizeof cfg->admin_path);
	cfg->admin_require_2fa = 1;
	cfg->admin_idle_s = 15 * 60;
	cfg->admin_absolute_s = 8 * 3600;
	cfg->admin_reauth_minutes = 5;
	cfg->admin_pw_min_length = 12;
	cfg->admin_pw_max_age_days = 90;
	cfg->admin_pw_history = 4;
	cfg->admin_enroll_hours = 72;
	cfg->admin_ip_max_failures = 30;
	cfg->admin_ip_window_s = 15 * 60;
}

/* The configuration file, read whole and handed to inih line by line (see
 * ini_next_line). */
struct ini_src {
	const char *data;
	size_t len, pos;
	int line;     /* the line last handed out, counted from 1 */
	char why[96]; /* set when the reader refused a line */
};

struct load_ctx {
	struct sf_config *cfg;
	const char *origin; /* file name or "environment" */
	char *err;
	size_t errlen;
	int failed;
	const struct ini_src *src; /* while the file is parsed */
	int set_on[sizeof keys / sizeof keys[0]]; /* the line each key was set on, 0 if not yet */
};

static const struct key *find_key(const char *section, const char *name)
{
	for (size_t i = 0; i < SF_ARRAY_LEN(keys); i++)
		if (strcmp(keys[i].section, section) == 0 && strcmp(keys[i].name, name) == 0)
			return &keys[i];
	return NULL;
}

static int known_section(const char *section)
{
	for (size_t i = 0; i < SF_ARRAY_LEN(keys); i++)
		if (strcmp(keys[i].section, section) == 0)
			return 1;
	return 0;
}

static int choice_ok(const char *choices, const char *v)
{
	size_t n = strlen(v);
	const char *p = choices;
	while (*p) {
		const char *bar = strchr(p, '|');
		size_t l = bar ? (size_t)(bar - p) : strlen(p);
		if (l == n && strncmp(p, v, n) == 0)
			return 1;
		if (!bar)
			break;
		p = bar + 1;
	}
	return 0;
}

/* Store value v for key k; on failure write a reason into ctx. */
static int set_value(struct load_ctx *ctx, const struct key *k, const char *v, const char *where)
{
	char *base = (char *)ctx->cfg;
	if (!sf_utf8_valid(v, strlen(v), 1)) {
		snprintf(ctx->err, ctx->errlen, "%s: %s: value is not valid UTF-8 text", ctx->origin, where);
		return 0;
	}
	switch (k->type) {
	case K_STR:
	case K_PATH:
	case K_OPTPATH:
	case K_CHOICE:
		if (strlen(v) >= k->size) {
			snprintf(ctx->err, ctx->errlen, "%s: %s: value is too long (at most %zu bytes)", ctx->origin,
				 where, k->size - 1);
			return 0;
		}
		if (k->type == K_CHOICE && !choice_ok(k->choices, v)) {
			snprintf(ctx->err, ctx->errlen, "%s: %s: '%s' is not one of %s", ctx->origin, where, v,
				 k->choices);
			return 0;
		}
		if (k->type == K_PATH && !*v) {
			snprintf(ctx->err, ctx->errlen, "%s: %s: a path is required", ctx->origin, where);
			return 0;
		}
		sf_strlcpy(base + k->off, v, k->size);
		return 1;
	case K_INT: {
		int64_t n;
		if (sf_parse_i64(v, k->min, k->max, &n) != SF_OK) {
			snprintf(ctx->err, ctx->errlen, "%s: %s: '%s' is not an integer between %lld and %lld",
				 ctx->origin, where, v, (long long)k->min, (long long)k->max);
			return 0;
		}
		*(int64_t *)(void *)(base + k->off) = n;
		return 1;
	}
	case K_BOOL: {
		int b;
		if (!strcmp(v, "on") || !strcmp(v, "true") || !strcmp(v, "yes") || !strcmp(v, "1"))
			b = 1;
		else if (!strcmp(v, "off") || !strcmp(v, "false") || !strcmp(v, "no") || !strcmp(v, "0"))
			b = 0;
		else {
			snprintf(ctx->err, ctx->errlen, "%s: %s: '%s' is not on/off", ctx->origin, where, v);
			return 0;
		}
		*(int *)(void *)(base + k->off) = b;
		return 1;
	}
	case K_ENV:
		for (size_t i = 0; i < SF_ARRAY_LEN(env_names); i++)
			if (!strcmp(v, env_names[i])) {
				*(enum sf_env *)(void *)(base + k->off) = (enum sf_env)i;
				return 1;
			}
		snprintf(ctx->err, ctx->errlen, "%s: %s: '%s' is not development, staging or production", ctx->origin,
			 where, v);
		return 0;
	}
	return 0;
}

static int on_ini_line(void *user, const char *section, const char *name, const char *value)
{
	struct load_ctx *ctx = user;
	if (ctx->failed)
		return 0;
	char where[160];
	snprintf(where, sizeof where, "[%s] %s", section, name);
	if (!known_section(section)) {
		snprintf(ctx->err, ctx->errlen, "%s: unknown section [%s]", ctx->origin, section);
		ctx->failed = 1;
		return 0;
	}
	const struct key *k = find_key(section, name);
	if (!k) {
		snprintf(ctx->err, ctx->errlen, "%s: unknown key '%s' in [%s]", ctx->origin, name, section);
		ctx->failed = 1;
		return 0;
	}
	/* A key given twice (also a continuation line, which inih hands over as
	 * the same key again) would let the last one win unseen. */
	size_t ki = (size_t)(k - keys);
	int line = ctx->src ? ctx->src->line : 0;
	if (ctx->set_on[ki]) {
		snprintf(ctx->err, ctx->errlen, "%s: line %d: %s is already set on line %d (give each key once)",
			 ctx->origin, line, where, ctx->set_on[ki]);
		ctx->failed = 1;
		return 0;
	}
	ctx->set_on[ki] = line ? line : -1;
	if (!set_value(ctx, k, value, where)) {
		ctx->failed = 1;
		return 0;
	}
	return 1;
}

/* STOREFORT_SERVER_HTTPS_PORT -> the key whose upper-cased name matches. */
static const struct key *env_key(const char *var, size_t n)
{
	for (size_t i = 0; i < SF_ARRAY_LEN(keys); i++) {
		char want[96];
		int l = snprintf(want, sizeof want, "STOREFORT_%s_%s", keys[i].section, keys[i].name);
		if (l < 0 || (size_t)l != n)
			continue;
		for (int j = 0; j < l; j++)
			if (want[j] >= 'a' && want[j] <= 'z')
				want[j] = (char)(want[j] - 32);
		if (memcmp(want, var, n) == 0)
			return &keys[i];
	}
	return NULL;
}

static int apply_env(struct load_ctx *ctx)
{
	ctx->origin = "environment";
	for (char **e = environ; *e; e++) {
		if (strncmp(*e, "STOREFORT_", 10) != 0)
			continue;
		const char *eq = strchr(*e, '=');
		if (!eq)
			continue;
		size_t n = (size_t)(eq - *e);
		if (n == strlen("STOREFORT_CONFIG") && !strncmp(*e, "STOREFORT_CONFIG", n))
			continue;
		const struct key *k = env_key(*e, n);
		char where[96];
		snprintf(where, sizeof where, "%.*s", (int)(n < 90 ? n : 90), *e);
		if (!k) {
			snprintf(ctx->err, ctx->errlen, "environment: unknown variable %s", where);
			return 0;
		}
		if (!set_value(ctx, k, eq + 1, where))
			return 0;
	}
	return 1;
}

/* inih's reader (fgets-like): the next line of the file into str (num
 * bytes).  inih splits a line longer than its buffer into two and a NUL byte
 * would end a value early, both silently; such a line stops the parse with
 * a reason in src->why instead. */
static char *ini_next_line(char *str, int num, void *stream)
{
	struct ini_src *src = stream;
	if (src->pos >= src->len || src->why[0])
		return NULL;
	const char *p = src->data + src->pos;
	const char *nl = memchr(p, '\n', src->len - src->pos);
	size_t n = nl ? (size_t)(nl - p) + 1 : src->len - src->pos;
	size_t text = nl ? n - 1 : n;
	if (text && p[text - 1] == '\r')
		text--;
	src->line++;
	if (memchr(p, '\0', n)) {
		snprintf(src->why, sizeof src->why, "line %d: NUL byte", src->line);
		return NULL;
	}
	/* inih needs room for the CR, the LF and the NUL. */
	if (num < 4 || text > (size_t)num - 3) {
		snprintf(src->why, sizeof src->why, "line %d is too long (at most %d characters)", src->line,
			 num < 4 ? 0 : num - 3);
		return NULL;
	}
	memcpy(str, p, n);
	str[n] = '\0';
	src->pos += n;
	return str;
}

/* Read the configuration file whole (at most CONFIG_MAX bytes) into a
 * malloc'd buffer.  SF_OK, or SF_ERR_CONFIG with the reason in errbuf. */
#define CONFIG_MAX (1024 * 1024)
static enum sf_err read_config(const char *path, char **out, size_t *len, char *errbuf, size_t errlen)
{
	enum sf_err err = SF_ERR_CONFIG;
	char *buf = NULL;
	size_t n = 0;
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		snprintf(errbuf, errlen, "%s: cannot open configuration file: %s", path, strerror(errno));
		return SF_ERR_CONFIG;
	}
	if (fstat(fd, &st) != 0) {
		snprintf(errbuf, errlen, "%s: cannot read configuration file: %s", path, strerror(errno));
		goto out;
	}
	if (S_ISDIR(st.st_mode)) {
		snprintf(errbuf, errlen, "%s: is a directory, not a configuration file", path);
		goto out;
	}
	buf = malloc(CONFIG_MAX + 1);
	if (!buf) {
		snprintf(errbuf, errlen, "%s: out of memory", path);
		goto out;
	}
	for (;;) {
		ssize_t r = read(fd, buf + n, CONFIG_MAX + 1 - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			snprintf(errbuf, errlen, "%s: cannot read configuration file: %s", path, strerror(errno));
			goto out;
		}
		if (r == 0)
			break;
		n += (size_t)r;
		if (n > CONFIG_MAX) {
			snprintf(errbuf, errlen, "%s: the configuration file is larger than 1 MiB", path);
			goto out;
		}
	}
	err = SF_OK;
out:
	close(fd);
	if (err) {
		free(buf);
		return err;
	}
	*out = buf;
	*len = n;
	return SF_OK;
}

static int resolve(char *path, size_t size, const char *base)
{
	if (path[0] == '/' || path[0] == '\0')
		return 1;
	char tmp[SF_CFG_PATH_MAX];
	int n = snprintf(tmp, sizeof tmp, "%s/%s", base, path);
	if (n < 0 || (size_t)n >= sizeof tmp || (size_t)n >= size)
		return 0;
	memcpy(path, tmp, (size_t)n + 1);
	return 1;
}

enum sf_err sf_config_load(const char *path, struct sf_config *cfg, char *errbuf, size_t errlen)
{
	sf_config_defaults(cfg);
	if (sf_strlcpy(cfg->source, path, sizeof cfg->source) != 0) {
		snprintf(errbuf, errlen, "configuration path is too long");
		return SF_ERR_CONFIG;
	}
	struct load_ctx ctx = {.cfg = cfg, .origin = path, .err = errbuf, .errlen = errlen};
	errbuf[0] = '\0';
	char *text = NULL;
	size_t text_len = 0;
	if (read_config(path, &text, &text_len, errbuf, errlen) != SF_OK)
		return SF_ERR_CONFIG;
	struct ini_src src = {.data = text, .len = text_len};
	ctx.src = &src;
	int rc = ini_parse_stream(ini_next_line, &src, on_ini_line, &ctx);
	ctx.src = NULL;
	free(text);
	if (ctx.failed)
		return SF_ERR_CONFIG;
	if (src.why[0]) {
		snprintf(errbuf, errlen, "%s: %s", path, src.why);
		return SF_ERR_CONFIG;
	}
	if (rc != 0) {
		snprintf(errbuf, errlen, "%s: line %d: not a valid INI line", path, rc);
		return SF_ERR_CONFIG;
	}
	if (!apply_env(&ctx))
		return SF_ERR_CONFIG;

	/* data_dir is relative to the configuration file's folder. */
	if (cfg->data_dir[0] != '/') {
		char dir[SF_CFG_PATH_MAX];
		sf_strlcpy(dir, path, sizeof dir);
		char *slash = strrchr(dir, '/');
		if (slash)
			*slash = '\0';
		else
			sf_strlcpy(dir, ".", sizeof dir);
		char joined[SF_CFG_PATH_MAX];
		int n = strcmp(cfg->data_dir, ".") == 0 ? snprintf(joined, sizeof joined, "%s", dir)
							 : snprintf(joined, sizeof joined, "%s/%s", dir, cfg->data_dir);
		if (n < 0 || (size_t)n >= sizeof joined) {
			snprintf(errbuf, errlen, "[app] data_dir: path is too long");
			return SF_ERR_CONFIG;
		}
		memcpy(cfg->data_dir, joined, (size_t)n + 1);
	}
	for (size_t i = 0; i < SF_ARRAY_LEN(keys); i++) {
		if (keys[i].type != K_PATH && keys[i].type != K_OPTPATH)
			continue;
		char *p = (char *)cfg + keys[i].off;
		if (!resolve(p, keys[i].size, cfg->data_dir)) {
			snprintf(errbuf, errlen, "[%s] %s: path is too long", keys[i].section, keys[i].name);
			return SF_ERR_CONFIG;
		}
	}
	/* Cross-field checks. */
	if (!strcmp(cfg->db_backend, "postgres") && !cfg->db_conninfo[0]) {
		snprintf(errbuf, errlen, "[database] conninfo: required when backend = postgres");
		return SF_ERR_CONFIG;
	}
	if (!strcmp(cfg->db_backend, "postgres")) {
		snprintf(errbuf, errlen, "[database] backend: postgres is not available in this build; use sqlite");
		return SF_ERR_CONFIG;
	}
	if (cfg->https_port && cfg->https_port == cfg->http_port) {
		snprintf(errbuf, errlen, "[server] http_port: must differ from https_port");
		return SF_ERR_CONFIG;
	}
	if (cfg->tls && !cfg->https_port) {
		snprintf(errbuf, errlen, "[server] https_port: must be set when tls = on");
		return SF_ERR_CONFIG;
	}
	if (!cfg->tls && !cfg->http_port) {
		snprintf(errbuf, errlen, "[server] http_port: must be set when tls = off");
		return SF_ERR_CONFIG;
	}
	for (const char *p = cfg->public_host; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '.' ||
		      *p == '-' || *p == ':' || *p == '[' || *p == ']')) {
			snprintf(errbuf, errlen, "[server] public_host: only a host name and optional :port");
			return SF_ERR_CONFIG;
		}
	return SF_OK;
}

int sf_config_log_level(const struct sf_config *cfg)
{
	static const char *const names[] = {"debug", "info", "warn", "error"};
	for (int i = 0; i < 4; i++)
		if (!strcmp(cfg->log_level, names[i]))
			return i;
	return -1;
}

/* Is path (a file) inside dir?  Compares canonical paths. */
static int path_inside(const char *path, const char *dir)
{
	char rp[PATH_MAX], rd[PATH_MAX];
	if (!realpath(path, rp) || !realpath(dir, rd))
		return 0;
	size_t n = strlen(rd);
	return strncmp(rp, rd, n) == 0 && (rp[n] == '/' || rp[n] == '\0' || n == 1);
}

enum sf_err sf_config_guard(const struct sf_config *cfg, const struct sf_guard_facts *facts, char *why,
			    size_t whylen, char *warn, size_t warnlen)
{
	why[0] = '\0';
	if (warn && warnlen)
		warn[0] = '\0';
	char problems[3 * SF_CFG_PATH_MAX] = "";
	if (!cfg->tls && !(cfg->proxy_tls_terminated && cfg->proxy_trusted[0]))
		snprintf(problems, sizeof problems,
			 "[server] tls is off: set tls = on, or configure [proxy] trusted and tls_terminated = on");
	struct stat st;
	char dbdir[SF_CFG_PATH_MAX];
	sf_strlcpy(dbdir, cfg->db_path, sizeof dbdir);
	char *slash = strrchr(dbdir, '/');
	if (slash)
		*slash = '\0';
	else
		sf_strlcpy(dbdir, ".", sizeof dbdir);
	if (!problems[0]) {
		if (lstat(cfg->master_key_file, &st) != 0)
			snprintf(problems, sizeof problems, "[keys] master_key_file %s: %s", cfg->master_key_file,
				 strerror(errno));
		else if (!S_ISREG(st.st_mode))
			snprintf(problems, sizeof problems, "[keys] master_key_file %s: not a regular file",
				 cfg->master_key_file);
		else if (st.st_mode & 077)
			snprintf(problems, sizeof problems,
				 "[keys] master_key_file %s is readable by group or others (mode %03o): chmod 600 it",
				 cfg->master_key_file, (unsigned)(st.st_mode & 0777));
		else if (path_inside(cfg->master_key_file, dbdir))
			snprintf(problems, sizeof problems,
				 "[keys] master_key_file %s lies inside the database folder %s: move it elsewhere",
				 cfg->master_key_file, dbdir);
		else if (facts->dev_key)
			snprintf(problems, sizeof problems,
				 "[keys] master_key_file %s is a development key: create a production key "
				 "(storefort init --profile production) and rewrap the data keys",
				 cfg->master_key_file);
		else if (facts->demo_data)
			snprintf(problems, sizeof problems,
				 "[database] path %s holds demo data: use a database initialised without --demo",
				 cfg->db_path);
		else if (!strcmp(cfg->pay_provider, "sandbox"))
			snprintf(problems, sizeof problems,
				 "[payments] provider = sandbox approves payments without any money: "
				 "set provider = stripe");
	}
	if (!problems[0]) {
		if (!cfg->admin_require_2fa)
			snprintf(problems, sizeof problems,
				 "[admin] require_2fa is off: staff must log in with a second factor (set it on)");
		else if (cfg->admin_idle_s > 15 * 60)
			snprintf(problems, sizeof problems,
				 "[admin] idle_timeout %lld is longer than 900 seconds: it may only be made shorter",
				 (long long)cfg->admin_idle_s);
		else if (cfg->admin_absolute_s > 8 * 3600)
			snprintf(problems, sizeof problems,
				 "[admin] absolute_timeout %lld is longer than 28800 seconds: it may only be made shorter",
				 (long long)cfg->admin_absolute_s);
	}
	if (!problems[0])
		return SF_OK;
	if (cfg->environment == SF_ENV_PRODUCTION) {
		snprintf(why, whylen, "refusing to start in production: %s", problems);
		return SF_ERR_CONFIG_UNSAFE;
	}
	if (warn && warnlen)
		snprintf(warn, warnlen, "%s (allowed in %s, refused in production)", problems,
			 sf_env_name(cfg->environment));
	return SF_OK;
}

enum sf_err sf_config_write_initial(const char *path, enum sf_env env, const char *master_key_file)
{
	char text[4096];
	int n = snprintf(text, sizeof text,
			 "; storefort configuration — see README.md for every key.\n"
			 "; Any key can be overridden by STOREFORT_<SECTION>_<KEY> in the environment.\n"
			 "; Relative paths are relative to app.data_dir, itself relative to this file.\n\n"
			 "[app]\n"
			 "environment = %s\n"
			 "data_dir = .\n"
			 "shop_name = storefort demo shop\n\n"
			 "[server]\n"
			 "bind = 127.0.0.1\n"
			 "https_port = 8443\n"
			 "http_port = 8080\n"
			 "tls = on\n"
			 "tls_cert = tls/cert.pem\n"
			 "tls_key = tls/key.pem\n\n"
			 "[database]\n"
			 "backend = sqlite\n"
			 "path = db/storefort.db\n\n"
			 "[keys]\n"
			 "; Keep this file out of backups of the database and out of the database folder.\n"
			 "master_key_file = %s\n\n"
			 "[log]\n"
			 "dir = log\n"
			 "level = info\n%s",
			 sf_env_name(env), master_key_file,
			 env == SF_ENV_PRODUCTION
				 ? "\n[payments]\n"
				   "; The sandbox provider is refused in production.  Put the Stripe keys in\n"
				   "; these files (mode 0600); until then the pay step answers 503.\n"
				   "provider = stripe\n"
				   "stripe_secret_key_file = secrets/stripe_secret_key\n"
				   "stripe_webhook_secret_file = secrets/stripe_webhook_secret\n"
				 : "");
	if (n < 0 || (size_t)n >= sizeof text)
		return SF_ERR_INVALID;
	return sf_file_write_atomic(path, text, (size_t)n, 0640);
}
