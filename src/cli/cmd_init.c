/*
 * cmd_init.c — `storefort init`: make a data directory ready to serve.
 *
 * Creates, in order: the folders (keys/ 0700), the master key (0600, marked
 * as a development key in the development profile), the configuration file,
 * a self-signed TLS certificate for localhost, the database with every
 * migration applied and its data keys, an audit event for the init, and —
 * unless --no-demo, and never in production — the demo catalog.
 * Refuses, before creating anything, a directory that already holds a
 * storefort.ini, a master key, a TLS key or certificate, or a database.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "audit/audit.h"
#include "cli/cmds.h"
#include "cli/common.h"
#include "core/util.h"
#include "crypto/keyring.h"
#include "db/db.h"
#include "http/tls.h"
#include "shop/catalog.h"

static const char usage[] =
	"usage: storefort init [--dir DIR] [--profile development|staging|production]\n"
	"                      [--demo | --no-demo] [--master-key PATH]\n"
	"\n"
	"Create a data directory: storefort.ini, a master key, a self-signed TLS\n"
	"certificate for localhost, the database (migrated) and its data keys.\n"
	"Nothing is created when any of them exists already.\n"
	"\n"
	"  --dir DIR          the data directory (default: the folder of --config, else .)\n"
	"  --profile NAME     environment profile (default development)\n"
	"  --demo, --no-demo  load the demo catalog (default: only in development;\n"
	"                     refused in production)\n"
	"  --master-key PATH  where to create the master key (default DIR/keys/master.key;\n"
	"                     in production keep it outside DIR's database folder)\n";

struct init_audit {
	const struct sf_keyring *kr;
	const char *profile;
};

static enum sf_db_status audit_init(struct sf_db_conn *c, void *ctx)
{
	struct init_audit *ia = ctx;
	char detail[128];
	snprintf(detail, sizeof detail, "{\"profile\":\"%s\"}", ia->profile);
	struct sf_audit_event ev = {
		.actor_type = "cli",
		.action = "system.init",
		.object_type = "instance",
		.outcome = "success",
		.detail = detail,
	};
	enum sf_err err = sf_audit_append(c, ia->kr, &ev);
	if (err == SF_ERR_DB_CONFLICT)
		return SF_DB_RETRY;
	return err ? SF_DB_HARD : SF_DB_OK;
}

static int join(char *out, size_t n, const char *a, const char *b)
{
	int l = snprintf(out, n, "%s/%s", a, b);
	return l < 0 || (size_t)l >= n ? -1 : 0;
}

int sf_cmd_init(struct sf_cli *cli, int argc, char **argv)
{
	if (sf_cli_wants_help(argc, argv, usage))
		return SF_EXIT_OK;
	const char *dir = NULL, *profile = NULL, *master = NULL;
	int demo = -1;
	for (int i = 1; i < argc; i++) {
		int o = sf_cli_opt("init", argc, argv, &i, "--dir", NULL, &dir);
		if (!o)
			o = sf_cli_opt("init", argc, argv, &i, "--profile", NULL, &profile);
		if (!o)
			o = sf_cli_opt("init", argc, argv, &i, "--master-key", NULL, &master);
		if (o < 0)
			return SF_EXIT_USAGE;
		if (o)
			continue;
		int want = !strcmp(argv[i], "--demo") ? 1 : !strcmp(argv[i], "--no-demo") ? 0 : -1;
		if (want < 0)
			return sf_cli_fail(SF_EXIT_USAGE, "init: unexpected argument '%s' (see 'storefort init --help')",
					   argv[i]);
		if (demo >= 0 && demo != want)
			return sf_cli_fail(SF_EXIT_USAGE, "init: --demo and --no-demo contradict each other");
		demo = want;
	}
	if (!profile)
		profile = "development";
	enum sf_env env;
	if (!strcmp(profile, "development"))
		env = SF_ENV_DEVELOPMENT;
	else if (!strcmp(profile, "staging"))
		env = SF_ENV_STAGING;
	else if (!strcmp(profile, "production"))
		env = SF_ENV_PRODUCTION;
	else
		return sf_cli_fail(SF_EXIT_USAGE, "init: --profile must be development, staging or production");
	if (demo < 0)
		demo = env == SF_ENV_DEVELOPMENT;
	if (demo && env == SF_ENV_PRODUCTION)
		return sf_cli_fail(SF_EXIT_USAGE, "init: demo data is refused in production (drop --demo)");

	char dirbuf[SF_CFG_PATH_MAX];
	if (!dir) {
		/* The folder of --config, when one was given. */
		sf_strlcpy(dirbuf, cli->config_path, sizeof dirbuf);
		char *slash = strrchr(dirbuf, '/');
		if (slash && slash != dirbuf)
			*slash = '\0';
		else
			sf_strlcpy(dirbuf, ".", sizeof dirbuf);
		dir = dirbuf;
	}
	char ini[SF_CFG_PATH_MAX], p[SF_CFG_PATH_MAX], keyrel[SF_CFG_PATH_MAX], cert[SF_CFG_PATH_MAX],
		key[SF_CFG_PATH_MAX];
	if (join(ini, sizeof ini, dir, "storefort.ini") || join(cert, sizeof cert, dir, "tls/cert.pem") ||
	    join(key, sizeof key, dir, "tls/key.pem"))
		return sf_cli_fail(SF_EXIT_USAGE, "init: --dir path is too long");
	struct stat st;
	if (stat(ini, &st) == 0)
		return sf_cli_fail(SF_EXIT_FAIL, "init: %s already exists; this directory is already initialised", ini);
	if (master && master[0] != '/')
		return sf_cli_fail(SF_EXIT_USAGE, "init: --master-key must be an absolute path");
	if (master) {
		if (sf_strlcpy(p, master, sizeof p))
			return sf_cli_fail(SF_EXIT_USAGE, "init: --master-key path is too long");
	} else if (join(p, sizeof p, dir, "keys/master.key")) {
		return sf_cli_fail(SF_EXIT_USAGE, "init: --dir path is too long");
	}
	/* Nothing is created unless everything can be: a key, certificate or
	 * database left from an earlier instance is never overwritten, and init
	 * stopping half-way would leave a storefort.ini that blocks the retry
	 * next to a new master key that opens nothing. */
	char db[SF_CFG_PATH_MAX], db_wal[SF_CFG_PATH_MAX];
	if (join(db, sizeof db, dir, "db/storefort.db") || join(db_wal, sizeof db_wal, dir, "db/storefort.db-wal"))
		return sf_cli_fail(SF_EXIT_USAGE, "init: --dir path is too long");
	if (lstat(p, &st) == 0)
		return sf_cli_fail(SF_EXIT_FAIL, "init: master key %s already exists; refusing to overwrite it", p);
	const char *const keep[] = {key, cert, db, db_wal};
	for (size_t i = 0; i < SF_ARRAY_LEN(keep); i++)
		if (lstat(keep[i], &st) == 0)
			return sf_cli_fail(SF_EXIT_FAIL,
					   "init: %s already exists; refusing to overwrite it (init makes a new data "
					   "directory: move it away or choose another --dir)",
					   keep[i]);

	static const struct {
		const char *sub;
		unsigned mode;
	} dirs[] = {{"", 0750}, {"db", 0750}, {"keys", 0700}, {"tls", 0750}, {"log", 0750}, {"media", 0755}};
	for (size_t i = 0; i < SF_ARRAY_LEN(dirs); i++) {
		if (join(p, sizeof p, dir, dirs[i].sub))
			return sf_cli_fail(SF_EXIT_USAGE, "init: --dir path is too long");
		if (sf_mkdirs(p, dirs[i].mode) != SF_OK)
			return sf_cli_fail(SF_EXIT_FAIL, "init: cannot create folder %s: %s", p, strerror(errno));
	}
	sf_strlcpy(keyrel, master ? master : "keys/master.key", sizeof keyrel);
	if (master) {
		if (sf_strlcpy(p, master, sizeof p))
			return sf_cli_fail(SF_EXIT_USAGE, "init: --master-key path is too long");
	} else if (join(p, sizeof p, dir, keyrel)) {
		return sf_cli_fail(SF_EXIT_USAGE, "init: --dir path is too long");
	}
	enum sf_err err = sf_master_key_create(p, env == SF_ENV_DEVELOPMENT);
	if (err == SF_ERR_EXISTS)
		return sf_cli_fail(SF_EXIT_FAIL, "init: master key %s already exists; refusing to overwrite it", p);
	if (err)
		return sf_cli_fail(SF_EXIT_FAIL, "init: cannot create master key %s: %s", p, strerror(errno));
	if (sf_config_write_initial(ini, env, keyrel) != SF_OK)
		return sf_cli_fail(SF_EXIT_FAIL, "init: cannot write %s: %s", ini, strerror(errno));

	char err_text[1024];
	if (sf_tls_make_self_signed(cert, key, "localhost", err_text, sizeof err_text) != SF_OK)
		return sf_cli_fail(SF_EXIT_FAIL, "init: TLS certificate: %s", err_text);

	cli->config_path = ini;
	int rc = sf_cli_load_config(cli);
	if (rc)
		return rc;
	struct sf_db_options opt = {
		.backend = SF_DB_SQLITE, .path = cli->cfg.db_path, .busy_timeout_ms = 5000, .create = 1};
	if (sf_db_open(&opt, &cli->db, err_text, sizeof err_text) != SF_OK)
		return sf_cli_fail(SF_EXIT_FAIL, "init: database %s: %s", cli->cfg.db_path, err_text);
	int applied = 0;
	if (sf_db_migrate(cli->db, &applied, err_text, sizeof err_text) != SF_OK)
		return sf_cli_fail(SF_EXIT_FAIL, "init: migrations: %s", err_text);
	rc = sf_cli_open_keys(cli);
	if (rc)
		return rc;
	struct init_audit ia = {cli->keys, profile};
	if (sf_db_txn(cli->db, audit_init, &ia, 10) != SF_DB_OK)
		return sf_cli_fail(SF_EXIT_FAIL, "init: cannot write the audit trail");
	if (demo) {
		if (sf_cli_tty())
			fputs("loading the demo catalog...\n", stderr);
		err = sf_catalog_seed_demo(cli->db, cli->keys, cli->cfg.media_dir);
		if (err)
			return sf_cli_fail(SF_EXIT_FAIL, "init: demo catalog: %s", sf_err_desc(err));
	}
	printf("initialised %s (profile %s%s)\n", dir, profile, demo ? ", demo catalog" : "");
	printf("  configuration  %s\n  database       %s\n  master key     %s\n  certificate    %s\n", ini,
	       cli->cfg.db_path, cli->cfg.master_key_file, cert);
	printf("start it with: storefort --config %s serve\n", ini);
	return SF_EXIT_OK;
}
