/* cmds.h — the subcommands' entry points; main.c dispatches to them.
 * Each takes argv with argv[0] = the subcommand name and returns an exit
 * code (0 ok, 1 runtime failure, 2 usage error). */
#ifndef SF_CLI_CMDS_H
#define SF_CLI_CMDS_H

struct sf_cli;

int sf_cmd_init(struct sf_cli *cli, int argc, char **argv);
int sf_cmd_serve(struct sf_cli *cli, int argc, char **argv);
int sf_cmd_migrate(struct sf_cli *cli, int argc, char **argv);
int sf_cmd_catalog(struct sf_cli *cli, int argc, char **argv);
int sf_cmd_audit(struct sf_cli *cli, int argc, char **argv);
int sf_cmd_bans(struct sf_cli *cli, int argc, char **argv);
int sf_cmd_staff(struct sf_cli *cli, int argc, char **argv);
int sf_cmd_webhooks(struct sf_cli *cli, int argc, char **argv);

#endif
