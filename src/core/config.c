/*
 * config.c — loading and validating the configuration (see config.h).
 *
 * One table declares every key; the INI handler, the environment override
 * walk and the validator all go through it, so a key cannot be known to one
 * and not the others.
 */
#include "core/config.h"

#include <errno.h>
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

enum key_type { K_STR, K_PATH, K_INT, K_BOOL, K_ENV, K_CHOICE };

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
	{"proxy", "trusted", K_STR, F(proxy_trusted), 0, 0, NULL},
	{"proxy", "tls_terminated", K_BOOL, F(proxy_tls_terminated), 0, 0, NULL},
	{"health", "min_free_disk_mb", K_INT, F(min_free_disk_mb), 0, 10000000, NULL},
	{"media", "dir", K_PATH, F(media_dir), 0, 0, NULL},
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
	cfg->min_free_disk_mb = 100;
	sf_strlcpy(cfg->media_dir, "media", sizeof cfg->media_dir);
}

struct load_ctx {
	struct sf_config *cfg;
	const char *origin; /* file name or "environment" */
	char *err;
	size_t errlen;
	int failed;
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
	FILE *f = fopen(path, "re");
	if (!f) {
		snprintf(errbuf, errlen, "%s: cannot open configuration file: %s", path, strerror(errno));
		return SF_ERR_CONFIG;
	}
	int rc = ini_parse_file(f, on_ini_line, &ctx);
	fclose(f);
	if (ctx.failed)
		return SF_ERR_CONFIG;
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
		if (keys[i].type != K_PATH)
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
			 "level = info\n",
			 sf_env_name(env), master_key_file);
	if (n < 0 || (size_t)n >= sizeof text)
		return SF_ERR_INVALID;
	return sf_file_write_atomic(path, text, (size_t)n, 0640);
}
