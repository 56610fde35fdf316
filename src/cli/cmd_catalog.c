/* cmd_catalog.c — `storefort catalog import FILE.csv | export [--output FILE]`. */
#include <errno.h>
#include <inttypes.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cmds.h"
#include "cli/common.h"
#include "shop/catalog.h"

static const char usage[] =
	"usage: storefort catalog import FILE.csv\n"
	"       storefort catalog export [--output FILE]\n"
	"\n"
	"import  read products and variants from CSV (one row per variant; header\n"
	"        product_slug,product_name,category_path,description,sku,variant_name,\n"
	"        price_minor,currency,stock,image).  All or nothing: the first bad row is\n"
	"        reported with its line number and nothing is imported.  Every change is\n"
	"        written to the audit trail.\n"
	"export  write the whole catalog in the same format (to stdout by default).\n";

static void actor_name(char *out, size_t n)
{
	struct passwd *pw = getpwuid(getuid());
	snprintf(out, n, "%s", pw && pw->pw_name ? pw->pw_name : "unknown");
}

static int do_import(struct sf_cli *cli, const char *path)
{
	FILE *f = fopen(path, "re");
	if (!f)
		return sf_cli_fail(SF_EXIT_FAIL, "catalog import: cannot open %s: %s", path, strerror(errno));
	struct stat st;
	if (fstat(fileno(f), &st) == 0 && S_ISDIR(st.st_mode)) {
		fclose(f);
		return sf_cli_fail(SF_EXIT_FAIL, "catalog import: %s is a directory, not a CSV file", path);
	}
	int rc = sf_cli_load_config(cli);
	if (!rc)
		rc = sf_cli_open(cli, 1, 1);
	if (rc) {
		fclose(f);
		return rc;
	}
	char actor[64];
	actor_name(actor, sizeof actor);
	struct sf_catalog_import_result res;
	memset(&res, 0, sizeof res);
	enum sf_err err = sf_catalog_import_csv(cli->db, cli->keys, f, actor, &res);
	fclose(f);
	if (err == SF_ERR_CSV || res.bad_line)
		return sf_cli_fail(SF_EXIT_FAIL, "catalog import: %s: %s; nothing was imported", path, res.reason);
	if (err)
		return sf_cli_fail(SF_EXIT_FAIL, "catalog import: %s: %s; nothing was imported", path,
				   res.reason[0] ? res.reason : sf_err_desc(err));
	printf("imported %" PRId64 " rows: %" PRId64 " products created, %" PRId64 " updated, %" PRId64
	       " variants written\n",
	       res.rows, res.products_created, res.products_updated, res.variants_written);
	return SF_EXIT_OK;
}

static int do_export(struct sf_cli *cli, const char *path)
{
	int rc = sf_cli_load_config(cli);
	if (!rc)
		rc = sf_cli_open(cli, 0, 1);
	if (rc)
		return rc;
	FILE *f = stdout;
	if (path && !(f = fopen(path, "wxe")))
		return sf_cli_fail(SF_EXIT_FAIL, "catalog export: cannot create %s: %s", path, strerror(errno));
	enum sf_err err = sf_catalog_export_csv(cli->db, f);
	int close_failed = path ? fclose(f) != 0 : fflush(f) != 0;
	if (err || close_failed) {
		if (path)
			unlink(path);
		return sf_cli_fail(SF_EXIT_FAIL, "catalog export: %s", err ? sf_err_desc(err) : strerror(errno));
	}
	return SF_EXIT_OK;
}

int sf_cmd_catalog(struct sf_cli *cli, int argc, char **argv)
{
	if (sf_cli_wants_help(argc, argv, usage))
		return SF_EXIT_OK;
	if (argc < 2)
		return sf_cli_fail(SF_EXIT_USAGE, "catalog: expected a subcommand: import or export");
	if (!strcmp(argv[1], "import")) {
		if (sf_cli_no_options("catalog import", argc, argv, 2))
			return SF_EXIT_USAGE;
		if (argc != 3)
			return sf_cli_fail(SF_EXIT_USAGE, "catalog import: expected exactly one FILE.csv");
		return do_import(cli, argv[2]);
	}
	if (!strcmp(argv[1], "export")) {
		const char *out = NULL;
		for (int i = 2; i < argc; i++) {
			int o = sf_cli_opt("catalog export", argc, argv, &i, "--output", "-o", &out);
			if (o < 0)
				return SF_EXIT_USAGE;
			if (!o)
				return sf_cli_fail(SF_EXIT_USAGE, "catalog export: unexpected argument '%s'", argv[i]);
		}
		return do_export(cli, out);
	}
	return sf_cli_fail(SF_EXIT_USAGE, "catalog: unknown subcommand '%s' (expected import or export)", argv[1]);
}
