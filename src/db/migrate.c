/*
 * migrate.c — schema migrations, backend-neutral.
 *
 * Migration files are compiled into the binary (tools/embed.py) as assets
 * "migrations/<backend>/NNNN_name.sql".  They must be numbered 0001, 0002, …
 * without gaps or duplicates; the numbering is checked before anything runs.
 * Each pending migration runs in its own write transaction together with its
 * row in schema_migrations, so a failed migration leaves nothing behind and
 * two processes migrating at once apply each file once.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/assets.h"
#include "core/util.h"
#include "db/db.h"
#include "db/db_int.h"

#define MIGRATION_MAX 9999

/* ==== Numbering ==== */

/* The number of "NNNN_name.sql", or -1 when the name has another shape. */
static int migration_number(const char *name)
{
	size_t len = strlen(name);
	int v = 0;

	if (len < 10 || strcmp(name + len - 4, ".sql") != 0 || name[4] != '_')
		return -1;
	for (int i = 0; i < 4; i++) {
		if (!isdigit((unsigned char)name[i]))
			return -1;
		v = v * 10 + (name[i] - '0');
	}
	for (size_t i = 5; i < len - 4; i++) {
		unsigned char ch = (unsigned char)name[i];
		if (!(isalnum(ch) || ch == '_' || ch == '-'))
			return -1;
	}
	return v;
}

enum sf_err sf_db_migrations_check(const char *const *names, size_t n, int *latest, char *errbuf, size_t errlen)
{
	*latest = 0;
	for (size_t i = 0; i < n; i++) {
		int v = migration_number(names[i]);
		int want = (int)i + 1;

		if (v < 0) {
			snprintf(errbuf, errlen, "migration %s: name is not NNNN_name.sql", names[i]);
			return SF_ERR_DB_SCHEMA;
		}
		if (v < want) {
			snprintf(errbuf, errlen, "migration %s: number %04d is used twice", names[i], v);
			return SF_ERR_DB_SCHEMA;
		}
		if (v > want) {
			snprintf(errbuf, errlen, "migration %s: expected number %04d (numbers must have no gap)",
				 names[i], want);
			return SF_ERR_DB_SCHEMA;
		}
		*latest = v;
	}
	return SF_OK;
}

/* ==== The embedded list ==== */

struct mlist {
	const char *prefix;
	size_t prefix_len;
	const struct sf_asset *items[MIGRATION_MAX];
	const char *names[MIGRATION_MAX];
	size_t n;
	int overflow;
};

static void collect(const struct sf_asset *a, void *ctx)
{
	struct mlist *l = ctx;
	const char *base = a->name + l->prefix_len;

	if (strchr(base, '/'))
		return; /* not a file directly in this backend's folder */
	if (l->n >= MIGRATION_MAX) {
		l->overflow = 1;
		return;
	}
	l->items[l->n] = a;
	l->names[l->n] = base;
	l->n++;
}

/* Gather and check this backend's migrations; *out is malloc'd. */
static enum sf_err mlist_load(const struct sf_db *db, struct mlist **out, int *latest, char *errbuf,
			      size_t errlen)
{
	struct mlist *l = calloc(1, sizeof(*l));
	enum sf_err err;

	*out = NULL;
	if (!l)
		return SF_ERR_NOMEM;
	l->prefix = db->drv->migrations_prefix;
	l->prefix_len = strlen(l->prefix);
	sf_asset_each(l->prefix, collect, l);
	if (l->overflow) {
		snprintf(errbuf, errlen, "too many migrations");
		free(l);
		return SF_ERR_DB_SCHEMA;
	}
	err = sf_db_migrations_check(l->names, l->n, latest, errbuf, errlen);
	if (err) {
		free(l);
		return err;
	}
	*out = l;
	return SF_OK;
}

/* ==== Applying ==== */

static void read_int(struct sf_db_cursor *cur, void *ctx)
{
	*(int64_t *)ctx = sf_db_col_int(cur, 0);
}

/* The applied version on c (0 for a database without schema_migrations). */
static enum sf_db_status current_version(struct sf_db_conn *c, int64_t *version)
{
	int64_t exists = 0;
	enum sf_db_status st;

	*version = 0;
	st = sf_db_query_one(c, SF_STMT_MIGRATION_TABLE, NULL, 0, read_int, &exists);
	if (st != SF_DB_OK || !exists)
		return st == SF_DB_NO_ROWS ? SF_DB_OK : st;
	st = sf_db_query_one(c, SF_STMT_MIGRATION_VERSION, NULL, 0, read_int, version);
	return st == SF_DB_NO_ROWS ? SF_DB_OK : st;
}

struct apply_ctx {
	const struct sf_asset *a;
	const char *name;
	int version;
	int applied; /* set when this run applied it */
	int failed_script;
	char msg[200]; /* the backend's message, saved before the rollback */
};

static enum sf_db_status apply_one(struct sf_db_conn *c, void *vctx)
{
	struct apply_ctx *ax = vctx;
	const struct sf_db_driver *drv = c->db->drv;
	char ts[32];
	int64_t cur = 0;
	enum sf_db_status st;

	ax->applied = 0;
	ax->failed_script = 0;
	/* Another process may have applied it since we looked. */
	st = current_version(c, &cur);
	if (st != SF_DB_OK) {
		snprintf(ax->msg, sizeof(ax->msg), "%s", sf_db_errmsg(c));
		return st;
	}
	if (cur >= ax->version)
		return SF_DB_OK;
	st = drv->exec_script(c, (const char *)ax->a->data);
	if (st != SF_DB_OK) {
		ax->failed_script = 1;
		snprintf(ax->msg, sizeof(ax->msg), "%s", sf_db_errmsg(c));
		return st == SF_DB_RETRY ? SF_DB_RETRY : SF_DB_HARD;
	}
	sf_time_iso(ts, sizeof(ts));
	{
		struct sf_db_param p[] = {SF_DB_INT(ax->version), SF_DB_TEXT(ax->name), SF_DB_TEXT(ts)};
		st = sf_db_exec(c, SF_STMT_MIGRATION_RECORD, p, 3, NULL);
	}
	if (st != SF_DB_OK) {
		snprintf(ax->msg, sizeof(ax->msg), "%s", sf_db_errmsg(c));
		return st;
	}
	ax->applied = 1;
	return SF_DB_OK;
}

enum sf_err sf_db_migrate(struct sf_db *db, int *applied, char *errbuf, size_t errlen)
{
	struct mlist *l = NULL;
	struct sf_db_conn *c = sf_db_conn_get(db);
	int latest = 0;
	int64_t cur = 0;
	enum sf_err err;
	enum sf_db_status st;

	*applied = 0;
	if (errlen)
		errbuf[0] = '\0';
	if (!c) {
		snprintf(errbuf, errlen, "cannot open a database connection");
		return SF_ERR_DB;
	}
	err = mlist_load(db, &l, &latest, errbuf, errlen);
	if (err)
		return err;
	st = current_version(c, &cur);
	if (st != SF_DB_OK) {
		snprintf(errbuf, errlen, "cannot read the schema version: %s", sf_db_errmsg(c));
		err = sf_db_err(st);
		goto out;
	}
	if (cur > latest) {
		snprintf(errbuf, errlen,
			 "the database schema (version %lld) is newer than this program knows (version %d)",
			 (long long)cur, latest);
		err = SF_ERR_DB_SCHEMA;
		goto out;
	}
	for (size_t i = (size_t)cur; i < l->n; i++) {
		struct apply_ctx ax = {.a = l->items[i], .name = l->names[i], .version = (int)i + 1};

		st = sf_db_txn(db, apply_one, &ax, 10);
		if (st != SF_DB_OK && st != SF_DB_NO_ROWS) {
			snprintf(errbuf, errlen, "migration %s failed%s: %s", ax.name,
				 ax.failed_script ? " and was rolled back" : "", ax.msg[0] ? ax.msg : sf_db_errmsg(c));
			err = st == SF_DB_RETRY ? SF_ERR_DB_CONFLICT : SF_ERR_DB_SCHEMA;
			goto out;
		}
		if (ax.applied)
			(*applied)++;
	}
out:
	free(l);
	return err;
}

enum sf_err sf_db_schema_status(struct sf_db *db, int *current, int *latest)
{
	struct mlist *l = NULL;
	struct sf_db_conn *c = sf_db_conn_get(db);
	char errbuf[160];
	int64_t cur = 0;
	enum sf_err err;
	enum sf_db_status st;

	*current = 0;
	*latest = 0;
	if (!c)
		return SF_ERR_DB;
	err = mlist_load(db, &l, latest, errbuf, sizeof(errbuf));
	if (err)
		return err;
	free(l);
	st = current_version(c, &cur);
	if (st != SF_DB_OK)
		return sf_db_err(st);
	*current = (int)cur;
	return SF_OK;
}
