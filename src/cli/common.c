/* common.c — shared plumbing of the subcommands (see common.h). */
#include "cli/common.h"

#include <stdarg.h>
#include <string.h>
#include <unistd.h>

#include "crypto/keyring.h"
#include "db/db.h"

int sf_cli_fail(int code, const char *fmt, ...)
{
	char msg[2048];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	/* One line, whatever the message held. */
	for (char *p = msg; *p; p++)
		if (*p == '\n' || *p == '\r')
			*p = ' ';
	fprintf(stderr, "storefort: %s\n", msg);
	return code;
}

int sf_cli_wants_help(int argc, char **argv, const char *usage)
{
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--"))
			break;
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			fputs(usage, stdout);
			return 1;
		}
	}
	return 0;
}

int sf_cli_tty(void) { return isatty(2); }

int sf_cli_load_config(struct sf_cli *cli)
{
	char err[2048];
	if (sf_config_load(cli->config_path, &cli->cfg, err, sizeof err) != SF_OK)
		return sf_cli_fail(SF_EXIT_FAIL, "%s", err);
	return SF_EXIT_OK;
}

int sf_cli_open(struct sf_cli *cli, int keys, int check_schema)
{
	char err[1024];
	struct sf_db_options opt = {
		.backend = SF_DB_SQLITE,
		.path = cli->cfg.db_path,
		.busy_timeout_ms = 5000,
		.create = 0,
	};
	if (sf_db_open(&opt, &cli->db, err, sizeof err) != SF_OK)
		return sf_cli_fail(SF_EXIT_FAIL, "database %s: %s", cli->cfg.db_path, err);
	if (check_schema) {
		int cur = 0, latest = 0;
		if (sf_db_schema_status(cli->db, &cur, &latest) != SF_OK)
			return sf_cli_fail(SF_EXIT_FAIL, "database %s: cannot read the schema version",
					   cli->cfg.db_path);
		if (cur != latest)
			return sf_cli_fail(SF_EXIT_FAIL,
					   "database %s is at schema version %d but this storefort needs %d: run "
					   "'storefort migrate'",
					   cli->cfg.db_path, cur, latest);
	}
	return keys ? sf_cli_open_keys(cli) : SF_EXIT_OK;
}

int sf_cli_open_keys(struct sf_cli *cli)
{
	char err[1024];
	if (sf_keyring_open(cli->cfg.master_key_file, &cli->keys, err, sizeof err) != SF_OK)
		return sf_cli_fail(SF_EXIT_FAIL, "[keys] master_key_file: %s", err);
	if (sf_keystore_load(cli->db, cli->keys, err, sizeof err) != SF_OK)
		return sf_cli_fail(SF_EXIT_FAIL, "data keys: %s", err);
	return SF_EXIT_OK;
}

void sf_cli_close(struct sf_cli *cli)
{
	sf_keyring_free(cli->keys);
	cli->keys = NULL;
	sf_db_close(cli->db);
	cli->db = NULL;
}
