/*
 * cmd_staff.c — `storefort staff ...`: bootstrap and rescue of back-office
 * accounts from the command line.  Every change is audited (actor "cli") in
 * the transaction of the change; the CLI counts as an owner.
 *
 *   staff add --role ROLE [--role ROLE...] [--name NAME] EMAIL
 *   staff link EMAIL         a new one-time enrollment link (older ones die)
 *   staff reset-2fa EMAIL    remove the second factor: the next sign-in sets one up
 *   staff lock EMAIL | staff unlock EMAIL
 *   staff list
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "auth/staff.h"
#include "cli/cmds.h"
#include "cli/common.h"
#include "core/app.h"

static const char usage[] =
	"usage: storefort staff add --role ROLE [--role ROLE...] [--name NAME] EMAIL\n"
	"       storefort staff link EMAIL\n"
	"       storefort staff reset-2fa EMAIL\n"
	"       storefort staff lock EMAIL\n"
	"       storefort staff unlock EMAIL\n"
	"       storefort staff list\n"
	"\n"
	"Back-office accounts.  Every change is written to the audit trail.\n"
	"\n"
	"add        create an account and print its one-time enrollment link (valid\n"
	"           [admin] enroll_link_hours): the first visit sets the password and\n"
	"           the authenticator app.  Roles: owner, administrator, catalog_manager,\n"
	"           order_operator, customer_support, analyst, privacy_officer, or a\n"
	"           custom role.\n"
	"link       print a new enrollment link for an account (e.g. a forgotten\n"
	"           password); earlier links stop working\n"
	"reset-2fa  remove the account's authenticator and recovery codes and end its\n"
	"           sessions; its next sign-in sets up a new authenticator\n"
	"lock       lock the account until unlocked and end its sessions\n"
	"unlock     unlock the account (also after too many failed sign-ins)\n"
	"list       print every account: id, e-mail, roles, state\n"
	"\n"
	"Exit status: 0 done, 1 failed (cause on stderr), 2 usage error.\n";

static void actor(struct sf_staff_actor *a)
{
	memset(a, 0, sizeof *a);
	a->type = "cli";
	a->now = (int64_t)time(NULL);
}

static int open_app(struct sf_cli *cli, struct sf_app *app)
{
	int rc = sf_cli_load_config(cli);
	if (rc)
		return rc;
	rc = sf_cli_open(cli, 1, 1);
	if (rc)
		return rc;
	*app = (struct sf_app){.cfg = &cli->cfg, .db = cli->db, .keys = cli->keys};
	return SF_EXIT_OK;
}

static int fail_err(const char *what, enum sf_err err, const char *why)
{
	return sf_cli_fail(SF_EXIT_FAIL, "staff %s: %s", what, why ? why : sf_err_desc(err));
}

static int staff_list(struct sf_app *app)
{
	json_t *list = NULL;
	enum sf_err err = sf_staff_list_json(app, &list);
	if (err)
		return fail_err("list", err, NULL);
	if (!json_array_size(list))
		printf("no staff accounts (create the first one with: storefort staff add --role owner EMAIL)\n");
	else
		printf("%-6s  %-40s  %-32s  %s\n", "id", "e-mail", "roles", "state");
	size_t i;
	json_t *s;
	json_array_foreach(list, i, s)
	{
		char roles[256] = "";
		size_t j, o = 0;
		json_t *r;
		json_array_foreach(json_object_get(s, "roles"), j, r)
		{
			int w = snprintf(roles + o, sizeof roles - o, "%s%s", j ? "," : "", json_string_value(r));
			if (w < 0 || (size_t)w >= sizeof roles - o)
				break;
			o += (size_t)w;
		}
		const char *state = !json_is_true(json_object_get(s, "active")) ? "inactive"
				    : json_is_true(json_object_get(s, "locked"))  ? "locked"
				    : !json_is_true(json_object_get(s, "enrolled")) ? "not enrolled"
										   : "active";
		printf("%-6lld  %-40s  %-32s  %s\n", (long long)json_integer_value(json_object_get(s, "id")),
		       json_string_value(json_object_get(s, "email")), roles, state);
	}
	json_decref(list);
	return SF_EXIT_OK;
}

static int staff_add(struct sf_cli *cli, int argc, char **argv)
{
	const char *roles[SF_STAFF_MAX_ROLES];
	size_t nroles = 0;
	const char *name = NULL, *email = NULL;
	for (int i = 2; i < argc; i++) {
		const char *role = NULL; /* --role may be repeated */
		int o = sf_cli_opt("staff add", argc, argv, &i, "--name", NULL, &name);
		if (!o && (o = sf_cli_opt("staff add", argc, argv, &i, "--role", NULL, &role)) > 0) {
			if (nroles == SF_STAFF_MAX_ROLES)
				return sf_cli_fail(SF_EXIT_USAGE, "staff add: at most %d roles", SF_STAFF_MAX_ROLES);
			roles[nroles++] = role;
		}
		if (o < 0)
			return SF_EXIT_USAGE;
		if (o)
			continue;
		if (argv[i][0] == '-') {
			return sf_cli_fail(SF_EXIT_USAGE, "staff add: unknown option '%s'", argv[i]);
		} else if (email) {
			return sf_cli_fail(SF_EXIT_USAGE, "staff add: expected one EMAIL");
		} else {
			email = argv[i];
		}
	}
	if (!email || !nroles)
		return sf_cli_fail(SF_EXIT_USAGE, "staff add: expected --role ROLE and an EMAIL (see --help)");
	if (!name)
		name = "";
	struct sf_app app;
	int rc = open_app(cli, &app);
	if (rc)
		return rc;
	struct sf_staff_actor a;
	actor(&a);
	int64_t id = 0;
	char link[SF_STAFF_LINK_MAX];
	const char *why = NULL;
	enum sf_err err = sf_staff_add(&app, &a, email, name, roles, nroles, &id, link, &why);
	if (err == SF_ERR_BAD_PARAM)
		return sf_cli_fail(SF_EXIT_USAGE, "staff add: %s", why ? why : sf_err_desc(err));
	if (err == SF_ERR_EXISTS)
		return sf_cli_fail(SF_EXIT_FAIL, "staff add: an account with this e-mail address exists "
						 "(use 'staff link EMAIL' for a new enrollment link)");
	if (err)
		return fail_err("add", err, why);
	printf("staff account %lld created\n", (long long)id);
	printf("one-time enrollment link (valid %lld hours, give it to the person only):\n%s\n",
	       (long long)cli->cfg.admin_enroll_hours, link);
	return SF_EXIT_OK;
}

int sf_cmd_staff(struct sf_cli *cli, int argc, char **argv)
{
	if (sf_cli_wants_help(argc, argv, usage))
		return SF_EXIT_OK;
	if (argc < 2)
		return sf_cli_fail(SF_EXIT_USAGE, "staff: expected a subcommand: add, link, reset-2fa, lock, unlock or list");
	const char *sub = argv[1];
	if (!strcmp(sub, "add"))
		return staff_add(cli, argc, argv);
	if (!strcmp(sub, "list")) {
		if (argc > 2)
			return sf_cli_fail(SF_EXIT_USAGE, "staff list: unexpected argument '%s'", argv[2]);
		struct sf_app app;
		int rc = open_app(cli, &app);
		return rc ? rc : staff_list(&app);
	}
	int link = !strcmp(sub, "link"), reset = !strcmp(sub, "reset-2fa"), lock = !strcmp(sub, "lock"),
	    unlock = !strcmp(sub, "unlock");
	if (!link && !reset && !lock && !unlock)
		return sf_cli_fail(SF_EXIT_USAGE, "staff: unknown subcommand '%s' (see 'storefort staff --help')", sub);
	char what[32];
	snprintf(what, sizeof what, "staff %s", sub);
	if (sf_cli_no_options(what, argc, argv, 2))
		return SF_EXIT_USAGE;
	if (argc != 3 || argv[2][0] == '-')
		return sf_cli_fail(SF_EXIT_USAGE, "staff %s: expected one EMAIL", sub);
	struct sf_app app;
	int rc = open_app(cli, &app);
	if (rc)
		return rc;
	int64_t id = 0;
	enum sf_err err = sf_staff_find(&app, argv[2], &id);
	if (err == SF_ERR_NOT_FOUND)
		return sf_cli_fail(SF_EXIT_FAIL, "staff %s: no account with the e-mail address %s", sub, argv[2]);
	if (err)
		return fail_err(sub, err, NULL);
	struct sf_staff_actor a;
	actor(&a);
	if (link) {
		char url[SF_STAFF_LINK_MAX];
		err = sf_staff_enroll_link(&app, &a, id, url);
		if (err)
			return fail_err(sub, err, NULL);
		printf("one-time enrollment link for %s:\n%s\n", argv[2], url);
		return SF_EXIT_OK;
	}
	err = reset ? sf_staff_reset_2fa(&app, &a, id) : sf_staff_lock(&app, &a, id, lock);
	if (err)
		return fail_err(sub, err, NULL);
	printf(reset ? "second factor of %s removed; its sessions ended\n"
	       : lock ? "%s locked; its sessions ended\n"
		      : "%s unlocked\n",
	       argv[2]);
	return SF_EXIT_OK;
}
