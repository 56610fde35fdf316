/* cmd_audit.c — `storefort audit verify`: walk the audit trail's chain. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "audit/audit.h"
#include "cli/cmds.h"
#include "cli/common.h"

static const char usage[] =
	"usage: storefort audit verify\n"
	"\n"
	"Walk the audit trail and check every event's keyed hash and its link to the\n"
	"previous event.  Exit 0 and the number of events verified when the chain is\n"
	"intact; exit 1 naming the first broken event otherwise.\n";

static void progress(int64_t checked, void *ctx)
{
	(void)ctx;
	fprintf(stderr, "\rverified %" PRId64 " events...", checked);
}

int sf_cmd_audit(struct sf_cli *cli, int argc, char **argv)
{
	if (sf_cli_wants_help(argc, argv, usage))
		return SF_EXIT_OK;
	if (argc < 2)
		return sf_cli_fail(SF_EXIT_USAGE, "audit: expected a subcommand: verify");
	if (strcmp(argv[1], "verify"))
		return sf_cli_fail(SF_EXIT_USAGE, "audit: unknown subcommand '%s' (expected verify)", argv[1]);
	if (argc > 2)
		return sf_cli_fail(SF_EXIT_USAGE, "audit verify: unexpected argument '%s'", argv[2]);
	int rc = sf_cli_load_config(cli);
	if (rc)
		return rc;
	rc = sf_cli_open(cli, 1, 1);
	if (rc)
		return rc;
	struct sf_audit_report rep;
	memset(&rep, 0, sizeof rep);
	int tty = sf_cli_tty();
	enum sf_err err = sf_audit_verify(cli->db, cli->keys, &rep, tty ? progress : NULL, NULL);
	if (tty)
		fputs("\r\033[K", stderr);
	if (err == SF_ERR_AUDIT_BROKEN)
		return sf_cli_fail(SF_EXIT_FAIL, "audit chain broken at event %" PRId64 ": %s", rep.first_broken,
				   rep.reason);
	if (err)
		return sf_cli_fail(SF_EXIT_FAIL, "audit verify: %s", sf_err_desc(err));
	printf("audit chain intact: %" PRId64 " events verified\n", rep.verified);
	return SF_EXIT_OK;
}
