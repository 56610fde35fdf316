/*
 * cmd_webhooks.c — `storefort webhooks add URL --events a,b | list |
 * remove ID`: outgoing webhook subscriptions (src/shop/webhook.h).  Adding
 * and removing are audited in the same transaction; the signing secret is
 * printed once, when the subscription is added, and is stored only sealed.
 */
#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "cli/cmds.h"
#include "cli/common.h"
#include "core/util.h"
#include "shop/webhook.h"

static const char usage[] =
	"usage: storefort webhooks add URL --events EVENT[,EVENT...]\n"
	"       storefort webhooks list\n"
	"       storefort webhooks remove ID\n"
	"\n"
	"add     subscribe URL (http:// or https://, ASCII: percent-encode the rest;\n"
	"        no user:password@) to the events; prints the new\n"
	"        subscription's id and its signing secret ONCE (store it with the\n"
	"        receiver: it verifies the Storefort-Signature header with it).\n"
	"        --events '*' subscribes to every event.\n"
	"list    print every subscription: id, active, events, pending and failed\n"
	"        deliveries, URL (never the secret)\n"
	"remove  delete subscription ID and its pending deliveries\n"
	"\n"
	"Events: " SF_WEBHOOK_EVENTS "\n"
	"Deliveries are POSTed with Storefort-Timestamp, Storefort-Event-Id and\n"
	"Storefort-Signature: v1=<hex HMAC-SHA256(secret, timestamp.body)>; see\n"
	"docs/WEBHOOKS.md for a receiver.  Failed deliveries are retried with\n"
	"exponential back-off ([webhooks] timeout, max_attempts).\n";

static const struct sf_shop_actor cli_actor = {.type = "cli"};

static int wh_add(struct sf_cli *cli, const char *url, const char *events)
{
	int64_t id = 0;
	char secret[SF_WEBHOOK_SECRET_LEN + 1];
	enum sf_err err = sf_webhook_add(cli->db, cli->keys, url, events, &cli_actor, &id, secret);
	if (err)
		return sf_cli_fail(err == SF_ERR_WEBHOOK_URL || err == SF_ERR_WEBHOOK_EVENT || err == SF_ERR_CARD_DATA
					   ? SF_EXIT_USAGE
					   : SF_EXIT_FAIL,
				   "webhooks add: %s", sf_err_desc(err));
	printf("subscription %" PRId64 " added\nsecret: %s\n(shown once: store it with the receiver now)\n", id,
	       secret);
	sodium_memzero(secret, sizeof secret);
	return SF_EXIT_OK;
}

static int wh_list(struct sf_cli *cli)
{
	json_t *arr = NULL;
	enum sf_err err = sf_webhook_list(cli->db, &arr);
	if (err)
		return sf_cli_fail(SF_EXIT_FAIL, "webhooks list: %s", sf_err_desc(err));
	size_t i;
	json_t *s;
	if (!json_array_size(arr))
		printf("no webhook subscriptions\n");
	json_array_foreach(arr, i, s)
	{
		if (!i)
			printf("%-6s  %-6s  %-7s  %-6s  %-40s  %s\n", "id", "active", "pending", "failed", "events", "url");
		printf("%-6" PRId64 "  %-6s  %-7" PRId64 "  %-6" PRId64 "  %-40s  %s\n",
		       (int64_t)json_integer_value(json_object_get(s, "id")),
		       json_is_true(json_object_get(s, "active")) ? "yes" : "no",
		       (int64_t)json_integer_value(json_object_get(s, "pending")),
		       (int64_t)json_integer_value(json_object_get(s, "failed")),
		       json_string_value(json_object_get(s, "events")), json_string_value(json_object_get(s, "url")));
	}
	json_decref(arr);
	return SF_EXIT_OK;
}

static int wh_remove(struct sf_cli *cli, const char *arg)
{
	int64_t id = 0;
	if (sf_parse_i64(arg, 1, INT64_MAX, &id) != SF_OK)
		return sf_cli_fail(SF_EXIT_USAGE, "webhooks remove: '%s' is not a subscription id", arg);
	enum sf_err err = sf_webhook_remove(cli->db, cli->keys, id, &cli_actor);
	if (err == SF_ERR_NOT_FOUND)
		return sf_cli_fail(SF_EXIT_FAIL, "webhooks remove: no subscription %" PRId64, id);
	if (err)
		return sf_cli_fail(SF_EXIT_FAIL, "webhooks remove: %s", sf_err_desc(err));
	printf("subscription %" PRId64 " removed\n", id);
	return SF_EXIT_OK;
}

int sf_cmd_webhooks(struct sf_cli *cli, int argc, char **argv)
{
	if (sf_cli_wants_help(argc, argv, usage))
		return SF_EXIT_OK;
	if (argc < 2)
		return sf_cli_fail(SF_EXIT_USAGE, "webhooks: expected a subcommand: add, list or remove");
	const char *sub = argv[1];
	const char *url = NULL, *events = NULL;
	if (!strcmp(sub, "add")) {
		for (int i = 2; i < argc; i++) {
			int o = sf_cli_opt("webhooks add", argc, argv, &i, "--events", NULL, &events);
			if (o < 0)
				return SF_EXIT_USAGE;
			if (o)
				continue;
			if (argv[i][0] != '-' && !url)
				url = argv[i];
			else
				return sf_cli_fail(SF_EXIT_USAGE, "webhooks add: unexpected argument '%s'", argv[i]);
		}
		if (!url || !events)
			return sf_cli_fail(SF_EXIT_USAGE, "webhooks add: expected URL --events EVENT[,EVENT...]");
	} else if (!strcmp(sub, "list")) {
		if (argc > 2)
			return sf_cli_fail(SF_EXIT_USAGE, "webhooks list: unexpected argument '%s'", argv[2]);
	} else if (!strcmp(sub, "remove")) {
		if (sf_cli_no_options("webhooks remove", argc, argv, 2))
			return SF_EXIT_USAGE;
		if (argc != 3)
			return sf_cli_fail(SF_EXIT_USAGE, "webhooks remove: expected one ID");
	} else {
		return sf_cli_fail(SF_EXIT_USAGE, "webhooks: unknown subcommand '%s' (expected add, list or remove)", sub);
	}
	int rc = sf_cli_load_config(cli);
	if (!rc)
		rc = sf_cli_open(cli, 1, 1);
	if (rc)
		return rc;
	if (!strcmp(sub, "add"))
		return wh_add(cli, url, events);
	return !strcmp(sub, "list") ? wh_list(cli) : wh_remove(cli, argv[2]);
}
