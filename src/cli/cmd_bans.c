/*
 * cmd_bans.c — `storefort bans list | lift ADDRESS`: the addresses the edge
 * banned (WAF blocks, rate-limit hits, failed logins).  Lifting is audited
 * (action edge.ban_lift) in the same transaction; a running server picks
 * the change up within a few seconds.
 */
#include <arpa/inet.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "audit/audit.h"
#include "cli/cmds.h"
#include "cli/common.h"
#include "db/db.h"
#include "edge/edge_int.h"

static const char usage[] =
	"usage: storefort bans list\n"
	"       storefort bans lift ADDRESS\n"
	"\n"
	"list   print the active bans: address, reason, since, until (UTC), and how\n"
	"       many times the address was banned (a repeat ban lasts longer)\n"
	"lift   end the active ban of ADDRESS (an IPv4 or IPv6 address) now; the\n"
	"       lift is written to the audit trail.  A running server applies it\n"
	"       within a few seconds.\n";

static void utc(int64_t t, char out[24])
{
	time_t tt = (time_t)t;
	struct tm tm;
	gmtime_r(&tt, &tm);
	strftime(out, 24, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static int bans_list(struct sf_cli *cli)
{
	struct sf_db_conn *c = sf_db_conn_get(cli->db);
	if (!c)
		return sf_cli_fail(SF_EXIT_FAIL, "bans list: cannot open the database");
	struct sf_db_param p = SF_DB_INT((int64_t)time(NULL));
	struct sf_db_cursor *cur = NULL;
	enum sf_db_status st = sf_db_query(c, SF_STMT_EDGE_BAN_ACTIVE, &p, 1, &cur);
	if (st != SF_DB_OK)
		return sf_cli_fail(SF_EXIT_FAIL, "bans list: %s", sf_err_desc(sf_db_err(st)));
	int n = 0;
	while ((st = sf_db_next(cur)) == SF_DB_OK) {
		if (!n++)
			printf("%-39s  %-16s  %-20s  %-20s  %s\n", "address", "reason", "since", "until", "bans");
		char since[24], until[24];
		utc(sf_db_col_int(cur, 2), since);
		utc(sf_db_col_int(cur, 3), until);
		printf("%-39s  %-16s  %-20s  %-20s  %" PRId64 "\n", sf_db_col_text(cur, 0, NULL),
		       sf_db_col_text(cur, 1, NULL), since, until, sf_db_col_int(cur, 4));
	}
	sf_db_cursor_close(cur);
	if (st != SF_DB_NO_ROWS)
		return sf_cli_fail(SF_EXIT_FAIL, "bans list: %s", sf_err_desc(sf_db_err(st)));
	if (!n)
		printf("no active bans\n");
	return SF_EXIT_OK;
}

struct lift_ctx {
	struct sf_cli *cli;
	const char *ip;
	int lifted;
};

static enum sf_db_status lift_fn(struct sf_db_conn *c, void *ctx)
{
	struct lift_ctx *l = ctx;
	l->lifted = 0;
	struct sf_db_param p[] = {SF_DB_TEXT(l->ip), SF_DB_INT((int64_t)time(NULL))};
	int64_t changes = 0;
	enum sf_db_status st = sf_db_exec(c, SF_STMT_EDGE_BAN_LIFT, p, 2, &changes);
	if (st == SF_DB_NO_ROWS || (st == SF_DB_OK && changes == 0))
		return SF_DB_NO_ROWS;
	if (st != SF_DB_OK)
		return st;
	struct sf_audit_event ev = {
		.actor_type = "cli",
		.ip = l->ip,
		.action = "edge.ban_lift",
		.object_type = "ip",
		.object_id = l->ip,
		.outcome = "success",
	};
	st = sf_db_status_from_err(sf_audit_append(c, l->cli->keys, &ev));
	if (st == SF_DB_OK)
		l->lifted = 1;
	return st;
}

static int bans_lift(struct sf_cli *cli, const char *arg)
{
	int fam;
	uint8_t a[16];
	char ip[46];
	if (!sf_edge_addr_parse(arg, &fam, a) || !inet_ntop(fam, a, ip, sizeof ip))
		return sf_cli_fail(SF_EXIT_USAGE, "bans lift: '%s' is not an IPv4 or IPv6 address", arg);
	struct lift_ctx l = {.cli = cli, .ip = ip};
	enum sf_db_status st = sf_db_txn(cli->db, lift_fn, &l, 5);
	if (st != SF_DB_OK && st != SF_DB_NO_ROWS)
		return sf_cli_fail(SF_EXIT_FAIL, "bans lift: %s", sf_err_desc(sf_db_err(st)));
	if (!l.lifted)
		return sf_cli_fail(SF_EXIT_FAIL, "bans lift: %s is not banned", ip);
	printf("ban of %s lifted\n", ip);
	return SF_EXIT_OK;
}

int sf_cmd_bans(struct sf_cli *cli, int argc, char **argv)
{
	if (sf_cli_wants_help(argc, argv, usage))
		return SF_EXIT_OK;
	if (argc < 2)
		return sf_cli_fail(SF_EXIT_USAGE, "bans: expected a subcommand: list or lift ADDRESS");
	int list = !strcmp(argv[1], "list");
	if (!list && strcmp(argv[1], "lift"))
		return sf_cli_fail(SF_EXIT_USAGE, "bans: unknown subcommand '%s' (expected list or lift)", argv[1]);
	if (list && argc > 2)
		return sf_cli_fail(SF_EXIT_USAGE, "bans list: unexpected argument '%s'", argv[2]);
	if (!list && sf_cli_no_options("bans lift", argc, argv, 2))
		return SF_EXIT_USAGE;
	if (!list && argc != 3)
		return sf_cli_fail(SF_EXIT_USAGE, argc < 3 ? "bans lift: expected an ADDRESS"
							   : "bans lift: expected one ADDRESS");
	int rc = sf_cli_load_config(cli);
	if (rc)
		return rc;
	rc = sf_cli_open(cli, !list, 1);
	if (rc)
		return rc;
	return list ? bans_list(cli) : bans_lift(cli, argv[2]);
}
