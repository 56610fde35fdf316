/* cmd_migrate.c — `storefort migrate [--status]`: apply or show migrations. */
#include <stdio.h>
#include <string.h>

#include "cli/cmds.h"
#include "cli/common.h"
#include "db/db.h"

static const char usage[] =
	"usage: storefort migrate [--status]\n"
	"\n"
	"Apply every pending database migration, each in its own transaction.\n"
	"'serve' refuses to start until the schema is current.\n"
	"\n"
	"  --status   only print the current and the latest schema version\n"
	"             (exit 1 when migrations are pending)\n";

int sf_cmd_migrate(struct sf_cli *cli, int argc, char **argv)
{
	if (sf_cli_wants_help(argc, argv, usage))
		return SF_EXIT_OK;
	int status_only = 0;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--status"))
			status_only = 1;
		else
			return sf_cli_fail(SF_EXIT_USAGE, "migrate: unexpected argument '%s'", argv[i]);
	}
	int rc = sf_cli_load_config(cli);
	if (rc)
		return rc;
	rc = sf_cli_open(cli, 0, 0);
	if (rc)
		return rc;
	int cur = 0, latest = 0;
	if (sf_db_schema_status(cli->db, &cur, &latest) != SF_OK)
		return sf_cli_fail(SF_EXIT_FAIL, "migrate: cannot read the schema version of %s", cli->cfg.db_path);
	if (status_only) {
		printf("schema version %d of %d%s\n", cur, latest, cur == latest ? " (current)" : " (migrations pending)");
		return cur == latest ? SF_EXIT_OK : SF_EXIT_FAIL;
	}
	char err[1024] = "";
	int applied = 0;
	if (sf_db_migrate(cli->db, &applied, err, sizeof err) != SF_OK)
		return sf_cli_fail(SF_EXIT_FAIL, "migrate: %s", err[0] ? err : "migration failed");
	printf("applied %d migration%s; schema version %d\n", applied, applied == 1 ? "" : "s", latest);
	return SF_EXIT_OK;
}
