/* common.c — shared plumbing of the subcommands (see common.h). */
#include "cli/common.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/log.h"
#include "core/util.h"
#include "crypto/keyring.h"
#include "db/db.h"

/* The length of the well-formed UTF-8 sequence at p (n bytes left), or 0. */
static size_t utf8_seq(const unsigned char *p, size_t n)
{
	size_t len = p[0] < 0x80 ? 1 : p[0] >= 0xC2 && p[0] <= 0xDF ? 2 : p[0] >= 0xE0 && p[0] <= 0xEF ? 3
					: p[0] >= 0xF0 && p[0] <= 0xF4 ? 4 : 0;
	return len && len <= n && sf_utf8_valid((const char *)p, len, 0) ? len : 0;
}

/* Append s[0..n) to out at *o, a control character, a C1 control or a byte
 * that is not UTF-8 as \xNN (out has room for 4 bytes per input byte). */
static void put_printable(char *out, size_t *o, const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	while (n) {
		size_t len = utf8_seq(p, n);
		int ctl = len == 1 ? p[0] < 0x20 || p[0] == 0x7f : len == 2 && p[0] == 0xC2 && p[1] < 0xA0;
		if (!len || ctl) {
			snprintf(out + *o, 5, "\\x%02X", p[0]);
			*o += 4;
			p++;
			n--;
			continue;
		}
		memcpy(out + *o, p, len);
		*o += len;
		p += len;
		n -= len;
	}
}

/* A word of a message longer than this is shown cut in the middle. */
#define WORD_MAX 200
#define WORD_KEEP 80

int sf_cli_fail(int code, const char *fmt, ...)
{
	va_list ap, ap2;
	char small[2048], *msg = small, *out = NULL;
	va_start(ap, fmt);
	va_copy(ap2, ap);
	int need = vsnprintf(small, sizeof small, fmt, ap);
	va_end(ap);
	size_t n = need > 0 ? (size_t)need : 0;
	if (n >= sizeof small && (msg = malloc(n + 1)) != NULL)
		vsnprintf(msg, n + 1, fmt, ap2);
	va_end(ap2);
	if (msg)
		n = strlen(msg);
	out = msg ? malloc(4 * n + 1) : NULL;
	if (!out) {
		if (msg != small)
			free(msg);
		fputs("storefort: out of memory\n", stderr);
		return code;
	}
	/* Messages echo what was typed or read: a card number in it is never
	 * printed (a terminal's scrollback and a cron mail are logs too); a
	 * 100 KB argument is shown by its ends, so that what the message says
	 * about it still fits on the line; and the line stays one line of
	 * printable text — control characters (an escape sequence would drive
	 * the terminal), C1 controls and bytes that are not UTF-8 are shown as
	 * \xNN. */
	sf_log_scrub_cards(msg);
	size_t o = 0;
	for (const char *w = msg; *w;) {
		size_t len = strcspn(w, " ");
		if (len > WORD_MAX) {
			size_t head = WORD_KEEP, tail = len - WORD_KEEP;
			while (head && ((unsigned char)w[head] & 0xC0) == 0x80)
				head--; /* cut before a continuation byte: at a character's start */
			while (tail < len && ((unsigned char)w[tail] & 0xC0) == 0x80)
				tail++;
			put_printable(out, &o, w, head);
			memcpy(out + o, "...", 3);
			o += 3;
			put_printable(out, &o, w + tail, len - tail);
		} else {
			put_printable(out, &o, w, len);
		}
		w += len;
		if (*w) {
			out[o++] = ' ';
			w++;
		}
	}
	out[o] = '\0';
	fprintf(stderr, "storefort: %s\n", out);
	if (msg != small)
		free(msg);
	free(out);
	return code;
}

int sf_cli_opt(const char *cmd, int argc, char **argv, int *i, const char *name, const char *alias,
	       const char **value)
{
	const char *a = argv[*i], *v = NULL;
	size_t n = strlen(name);
	if (!strcmp(a, name) || (alias && !strcmp(a, alias))) {
		if (*i + 1 < argc && strncmp(argv[*i + 1], "--", 2))
			v = argv[++*i];
	} else if (!strncmp(a, name, n) && a[n] == '=') {
		v = a + n + 1;
	} else {
		return 0;
	}
	if (!v || !*v || *value) {
		sf_cli_fail(SF_EXIT_USAGE, "%s%s%s %s", cmd ? cmd : "", cmd ? ": " : "", name,
			    *value ? "given twice" : "needs a value");
		return -1;
	}
	*value = v;
	return 1;
}

int sf_cli_no_options(const char *cmd, int argc, char **argv, int from)
{
	for (int i = from; i < argc; i++)
		if (!strncmp(argv[i], "--", 2))
			return sf_cli_fail(SF_EXIT_USAGE, "%s: unknown option '%s'", cmd, argv[i]);
	return SF_EXIT_OK;
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

/* What SQLite would open without a word, or refuse with "unable to open
 * database file": SF_EXIT_OK for a database file worth opening. */
static int db_file_check(const char *path)
{
	struct stat st, wal;
	char walpath[SF_CFG_PATH_MAX + 8];
	if (stat(path, &st) != 0)
		return sf_cli_fail(SF_EXIT_FAIL, "database %s: %s (create a data directory with 'storefort init', or "
						 "correct [database] path)",
				   path, strerror(errno));
	if (S_ISDIR(st.st_mode))
		return sf_cli_fail(SF_EXIT_FAIL, "database %s: is a directory, not a database file", path);
	/* An empty file opens as an empty database: 'migrate' would turn a
	 * truncated shop into a new, empty one. */
	snprintf(walpath, sizeof walpath, "%s-wal", path);
	if (S_ISREG(st.st_mode) && st.st_size == 0 && !(stat(walpath, &wal) == 0 && wal.st_size > 0))
		return sf_cli_fail(SF_EXIT_FAIL, "database %s: the file is empty (0 bytes), not a storefort database: "
						 "restore it from a backup",
				   path);
	return SF_EXIT_OK;
}

int sf_cli_open(struct sf_cli *cli, int keys, int check_schema)
{
	char err[1024];
	int rc = db_file_check(cli->cfg.db_path);
	if (rc)
		return rc;
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
