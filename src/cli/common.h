/*
 * common.h — what every subcommand shares: failure reporting with the exit
 * code convention (0 ok, 1 runtime failure, 2 usage error), option parsing
 * help, and opening the pieces of a configured instance.
 */
#ifndef SF_CLI_COMMON_H
#define SF_CLI_COMMON_H

#include <stdio.h>

#include "core/config.h"
#include "core/err.h"

#define SF_EXIT_OK 0
#define SF_EXIT_FAIL 1
#define SF_EXIT_USAGE 2

struct sf_db;
struct sf_keyring;

struct sf_cli {
	const char *config_path; /* --config, $STOREFORT_CONFIG or ./storefort.ini */
	struct sf_config cfg;
	struct sf_db *db;
	struct sf_keyring *keys;
};

/* One line "storefort: <message>" on stderr; returns code for `return`. */
int sf_cli_fail(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Is argv[*i] the option name (or its short alias, may be NULL), as "NAME
 * VALUE" or "NAME=VALUE"?  0 when it is not.  1 when it is: *value is set
 * and *i moves past a separate value.  -1, after printing a usage error
 * naming cmd (NULL for a global option) and the option, when the value is
 * missing or empty (a separate value may not start with "--": "--dir
 * --no-demo" is a forgotten value, not a folder; NAME=VALUE gives such a
 * value) or when *value was set already (a repeated option would silently
 * drop the first). */
int sf_cli_opt(const char *cmd, int argc, char **argv, int *i, const char *name, const char *alias,
	       const char **value);

/* For a command that takes no options: SF_EXIT_USAGE, after naming it, when
 * one of argv[from..] looks like one ("--x"), else SF_EXIT_OK.  Says
 * "unknown option '--x'" where counting the arguments would have said
 * "expected one EMAIL". */
int sf_cli_no_options(const char *cmd, int argc, char **argv, int from);

/* Does argv hold --help / -h?  Then print usage to stdout. */
int sf_cli_wants_help(int argc, char **argv, const char *usage);

/* Load the configuration.  Returns SF_EXIT_OK or prints why and returns
 * SF_EXIT_FAIL. */
int sf_cli_load_config(struct sf_cli *cli);
/* Open the database (and, when keys is set, the keyring with its data keys).
 * With check_schema, refuses a database whose migrations are not current. */
int sf_cli_open(struct sf_cli *cli, int keys, int check_schema);
/* Open the keyring and load its data keys (database already open). */
int sf_cli_open_keys(struct sf_cli *cli);
void sf_cli_close(struct sf_cli *cli);

/* Is stderr a terminal (progress is shown only there)? */
int sf_cli_tty(void);

#endif
