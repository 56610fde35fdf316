/*
 * main.c — the storefort command: global options, then one subcommand.
 *
 *   storefort [--config FILE] COMMAND [ARGS...]
 *
 * Exit codes: 0 success, 1 runtime failure, 2 usage error; every failure is
 * one line on stderr naming its cause.
 */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cmds.h"
#include "cli/common.h"
#include "sf_version.h"

static int cmd_version(struct sf_cli *cli, int argc, char **argv);
static int cmd_help(struct sf_cli *cli, int argc, char **argv);

struct command {
	const char *name;
	int (*fn)(struct sf_cli *cli, int argc, char **argv);
	const char *summary;
};

static const struct command commands[] = {
	{"init", sf_cmd_init, "create a data directory: configuration, keys, TLS certificate, database"},
	{"serve", sf_cmd_serve, "run the storefront (HTTPS) and the HTTP redirect listener"},
	{"migrate", sf_cmd_migrate, "apply pending database migrations (--status to only show them)"},
	{"catalog", sf_cmd_catalog, "catalog import FILE.csv | catalog export [--output FILE]"},
	{"audit", sf_cmd_audit, "audit verify: check the audit trail's hash chain"},
	{"bans", sf_cmd_bans, "bans list | bans lift ADDRESS: the addresses banned by the edge"},
	{"staff", sf_cmd_staff, "staff add|link|reset-2fa|lock|unlock|list: back-office accounts"},
	{"webhooks", sf_cmd_webhooks, "webhooks add URL --events a,b | list | remove ID: outgoing webhooks"},
	{"version", cmd_version, "print the version"},
	{"help", cmd_help, "show this help, or a command's help"},
};

static const char usage[] =
	"usage: storefort [--config FILE] COMMAND [ARGS...]\n"
	"\n"
	"Options:\n"
	"  --config FILE   configuration file (default: $STOREFORT_CONFIG, else ./storefort.ini)\n"
	"  --help          show this help\n"
	"\n"
	"Commands:\n";

static void print_usage(FILE *f)
{
	fputs(usage, f);
	for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
		fprintf(f, "  %-9s %s\n", commands[i].name, commands[i].summary);
	fputs("\nRun 'storefort COMMAND --help' for a command's options.\n", f);
}

static int cmd_version(struct sf_cli *cli, int argc, char **argv)
{
	(void)cli;
	if (sf_cli_wants_help(argc, argv, "usage: storefort version\n\nPrint the version of storefort.\n"))
		return SF_EXIT_OK;
	if (argc > 1)
		return sf_cli_fail(SF_EXIT_USAGE, "version: unexpected argument '%s'", argv[1]);
	printf("storefort %s\n", SF_VERSION);
	return SF_EXIT_OK;
}

static const struct command *find(const char *name)
{
	for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
		if (!strcmp(commands[i].name, name))
			return &commands[i];
	return NULL;
}

static int cmd_help(struct sf_cli *cli, int argc, char **argv)
{
	if (argc > 2)
		return sf_cli_fail(SF_EXIT_USAGE, "help: expected at most one command name");
	if (argc == 2 && strcmp(argv[1], "--help") && strcmp(argv[1], "-h")) {
		const struct command *c = find(argv[1]);
		if (!c)
			return sf_cli_fail(SF_EXIT_USAGE, "help: unknown command '%s'", argv[1]);
		char *sub[] = {argv[1], "--help", NULL};
		return c->fn(cli, 2, sub);
	}
	print_usage(stdout);
	return SF_EXIT_OK;
}

int main(int argc, char **argv)
{
	struct sf_cli cli = {0};
	if (sodium_init() < 0)
		return sf_cli_fail(SF_EXIT_FAIL, "libsodium could not be initialised");
	const char *config = NULL;
	int i = 1;
	for (; i < argc; i++) {
		int o = sf_cli_opt(NULL, argc, argv, &i, "--config", "-c", &config);
		if (o < 0)
			return SF_EXIT_USAGE;
		if (o > 0)
			continue;
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			print_usage(stdout);
			return SF_EXIT_OK;
		} else if (argv[i][0] == '-') {
			return sf_cli_fail(SF_EXIT_USAGE, "unknown option '%s' (see 'storefort help')", argv[i]);
		} else {
			break;
		}
	}
	if (i >= argc) {
		print_usage(stderr);
		return SF_EXIT_USAGE;
	}
	/* An empty --config is refused above; an empty $STOREFORT_CONFIG is unset. */
	cli.config_path = config ? config : getenv("STOREFORT_CONFIG");
	if (!cli.config_path || !*cli.config_path)
		cli.config_path = "storefort.ini";
	const struct command *c = find(argv[i]);
	if (!c)
		return sf_cli_fail(SF_EXIT_USAGE, "unknown command '%s' (see 'storefort help')", argv[i]);
	int rc = c->fn(&cli, argc - i, argv + i);
	sf_cli_close(&cli);
	return rc;
}
