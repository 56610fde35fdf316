/*
 * keystore.c — data keys kept in the database (table data_keys), wrapped
 * under the master key: first-time creation, loading, rotation of a purpose's
 * data key and rewrapping under a new master key.
 *
 * Every change runs in one sf_db_txn whose callback may be run again on a
 * serialization conflict, so callbacks only read and write the database and
 * their private context (reset at the start of each run); the keyring itself
 * is changed only after the transaction has committed.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"
#include "crypto/keyring.h"
#include "crypto/keyring_int.h"
#include "db/db.h"

#define TXN_TRIES 5
#define NPURPOSES 3

static const enum sf_key_purpose all_purposes[NPURPOSES] = {SF_KEY_FIELD, SF_KEY_INDEX, SF_KEY_AUDIT};

/* One row of data_keys, copied out of the cursor. */
struct key_row {
	uint32_t kw_id;
	uint32_t kw_version;
	uint32_t kw_purpose;
	int kw_active;
	unsigned char *kw_wrapped; /* malloc'd; ciphertext, not secret */
	size_t kw_wlen;
};

struct key_rows {
	struct key_row *rows;
	size_t n;
	size_t cap;
};

/* Shared by the three transactions. */
struct ks_ctx {
	struct sf_keyring *kr;
	struct sf_keyring *newkr;         /* rewrap: ring holding the new master key */
	enum sf_key_purpose purpose;      /* rotate */
	uint32_t new_version;             /* rotate */
	unsigned char *new_wrapped;       /* rotate: malloc'd */
	size_t new_wlen;
	struct key_rows list;
	enum sf_err err;                  /* set with a reason when the callback fails for a non-db cause */
	char *errbuf;
	size_t errlen;
};


static void rows_reset(struct key_rows *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->rows[i].kw_wrapped);
	l->n = 0;
}

static void rows_free(struct key_rows *l)
{
	rows_reset(l);
	free(l->rows);
	l->rows = NULL;
	l->cap = 0;
}

/* Append a row; takes ownership of wrapped (freed on failure). */
static enum sf_err rows_push(struct key_rows *l, uint32_t id, uint32_t version, uint32_t purpose, int active,
			     unsigned char *wrapped, size_t wlen)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 8;
		struct key_row *r = realloc(l->rows, cap * sizeof *r);
		if (!r) {
			free(wrapped);
			return SF_ERR_NOMEM;
		}
		l->rows = r;
		l->cap = cap;
	}
	l->rows[l->n++] = (struct key_row){
		.kw_id = id,
		.kw_version = version,
		.kw_purpose = purpose,
		.kw_active = active,
		.kw_wrapped = wrapped,
		.kw_wlen = wlen,
	};
	return SF_OK;
}

/* Fail the callback for a non-database reason: remember err, roll back. */
static enum sf_db_status ctx_fail(struct ks_ctx *ctx, enum sf_err err)
{
	ctx->err = err;
	return SF_DB_HARD;
}

static int in_u32(int64_t v)
{
	return v >= 0 && v <= (int64_t)UINT32_MAX;
}

/* Read every data_keys row into ctx->list (reset first). */
static enum sf_db_status list_keys(struct sf_db_conn *c, struct ks_ctx *ctx)
{
	struct sf_db_cursor *cur = NULL;
	enum sf_db_status st;

	rows_reset(&ctx->list);
	st = sf_db_query(c, SF_STMT_KEY_LIST, NULL, 0, &cur);
	if (st != SF_DB_OK)
		return st;
	while ((st = sf_db_next(cur)) == SF_DB_OK) {
		int64_t id = sf_db_col_int(cur, 0), version = sf_db_col_int(cur, 1);
		int64_t purpose = sf_db_col_int(cur, 2), active = sf_db_col_int(cur, 4);
		size_t wlen = 0;
		const void *w = sf_db_col_blob(cur, 3, &wlen);
		unsigned char *copy;

		if (!in_u32(id) || !in_u32(version) || !in_u32(purpose) ||
		    !sf_keyring_purpose_valid((uint32_t)purpose) || (active != 0 && active != 1) || !w ||
		    wlen != SF_WRAPPED_KEY_LEN) {
			sf_crypto_reason(ctx->errbuf, ctx->errlen,
			       "data_keys row (id %" PRId64 ", version %" PRId64 ", purpose %" PRId64 ") is malformed", id,
			       version, purpose);
			st = ctx_fail(ctx, SF_ERR_KEY);
			break;
		}
		if (ctx->list.n >= SF_KEYRING_MAX_KEYS) {
			sf_crypto_reason(ctx->errbuf, ctx->errlen, "data_keys holds more than %d keys", SF_KEYRING_MAX_KEYS);
			st = ctx_fail(ctx, SF_ERR_LIMIT);
			break;
		}
		copy = malloc(wlen);
		if (!copy) {
			st = ctx_fail(ctx, SF_ERR_NOMEM);
			break;
		}
		memcpy(copy, w, wlen);
		if (rows_push(&ctx->list, (uint32_t)id, (uint32_t)version, (uint32_t)purpose, (int)active, copy, wlen)) {
			st = ctx_fail(ctx, SF_ERR_NOMEM);
			break;
		}
	}
	sf_db_cursor_close(cur);
	return st == SF_DB_NO_ROWS ? SF_DB_OK : st;
}

/* Turn a failed transaction into an error and a reason. */
static enum sf_err txn_result(struct sf_db *db, enum sf_db_status st, struct ks_ctx *ctx, const char *what)
{
	enum sf_err err;

	if (st == SF_DB_OK || st == SF_DB_NO_ROWS)
		return SF_OK;
	if (ctx->err)
		return ctx->err; /* reason already set */
	err = sf_db_err(st);
	if (err == SF_OK)
		err = SF_ERR_DB;
	{
		struct sf_db_conn *c = sf_db_conn_get(db);
		sf_crypto_reason(ctx->errbuf, ctx->errlen, "%s: database error: %s", what, c ? sf_db_errmsg(c) : "no connection");
	}
	return err;
}

static enum sf_db_status insert_key(struct sf_db_conn *c, uint32_t id, uint32_t version, uint32_t purpose,
				    const unsigned char *wrapped, size_t wlen, int active)
{
	char now[32];

	sf_time_iso(now, sizeof now); /* data_keys.created_at is ISO 8601 text */
	struct sf_db_param p[6] = {
		SF_DB_INT(id),
		SF_DB_INT(version),
		SF_DB_INT(purpose),
		SF_DB_BLOB(wrapped, wlen),
		SF_DB_INT(active),
		SF_DB_TEXT(now),
	};

	return sf_db_exec(c, SF_STMT_KEY_INSERT, p, 6, NULL);
}

/* ==== load ==== */

static enum sf_db_status load_txn(struct sf_db_conn *c, void *arg)
{
	struct ks_ctx *ctx = arg;
	enum sf_db_status st;
	enum sf_err err;

	ctx->err = SF_OK;
	st = list_keys(c, ctx);
	if (st != SF_DB_OK)
		return st;
	/* Refuse a wrong master key before writing anything. */
	for (size_t i = 0; i < ctx->list.n; i++) {
		const struct key_row *r = &ctx->list.rows[i];
		err = sf_keyring_check_wrapped(ctx->kr, (enum sf_key_purpose)r->kw_purpose, r->kw_id, r->kw_version,
					       r->kw_wrapped, r->kw_wlen);
		if (err) {
			sf_crypto_reason(ctx->errbuf, ctx->errlen,
			       "data key (purpose %" PRIu32 ", id %" PRIu32 ", version %" PRIu32
			       ") does not open with this master key: wrong master key file, or the key was altered",
			       r->kw_purpose, r->kw_id, r->kw_version);
			return ctx_fail(ctx, err == SF_ERR_NOMEM ? err : SF_ERR_KEY);
		}
	}
	for (size_t p = 0; p < NPURPOSES; p++) {
		uint32_t purpose = (uint32_t)all_purposes[p];
		unsigned char *w = NULL;
		size_t wlen = 0, i;

		for (i = 0; i < ctx->list.n; i++)
			if (ctx->list.rows[i].kw_purpose == purpose)
				break;
		if (i < ctx->list.n)
			continue;
		err = sf_keyring_wrap_new(ctx->kr, (enum sf_key_purpose)purpose, purpose, 1, &w, &wlen);
		if (err)
			return ctx_fail(ctx, err);
		st = insert_key(c, purpose, 1, purpose, w, wlen, 1);
		if (st != SF_DB_OK) {
			free(w);
			return st == SF_DB_NO_ROWS ? SF_DB_HARD : st;
		}
		if (rows_push(&ctx->list, purpose, 1, purpose, 1, w, wlen))
			return ctx_fail(ctx, SF_ERR_NOMEM);
	}
	return SF_DB_OK;
}

enum sf_err sf_keystore_load(struct sf_db *db, struct sf_keyring *kr, char *errbuf, size_t errlen)
{
	struct ks_ctx ctx = {.kr = kr, .errbuf = errbuf, .errlen = errlen};
	enum sf_err err;
	enum sf_db_status st;
	/* Per purpose: index into ctx.list of the active key (highest active
	 * version wins should several rows be flagged active). */
	size_t active[NPURPOSES + 1];

	st = sf_db_txn(db, load_txn, &ctx, TXN_TRIES);
	err = txn_result(db, st, &ctx, "loading data keys");
	if (err)
		goto out;

	for (size_t p = 0; p <= NPURPOSES; p++)
		active[p] = SIZE_MAX;
	for (size_t i = 0; i < ctx.list.n; i++) {
		const struct key_row *r = &ctx.list.rows[i];
		size_t *a = &active[r->kw_purpose];
		if (r->kw_active && (*a == SIZE_MAX || ctx.list.rows[*a].kw_version < r->kw_version))
			*a = i;
	}
	for (size_t p = 0; p < NPURPOSES; p++) {
		if (active[all_purposes[p]] == SIZE_MAX) {
			sf_crypto_reason(errbuf, errlen, "data keys of purpose %d are stored but none is active",
			       (int)all_purposes[p]);
			err = SF_ERR_KEY;
			goto out;
		}
	}

	sf_keyring_clear(kr);
	for (size_t i = 0; i < ctx.list.n; i++) {
		const struct key_row *r = &ctx.list.rows[i];
		err = sf_keyring_add_wrapped(kr, (enum sf_key_purpose)r->kw_purpose, r->kw_id, r->kw_version,
					     active[r->kw_purpose] == i, r->kw_wrapped, r->kw_wlen);
		if (err) {
			sf_crypto_reason(errbuf, errlen,
			       "data key (purpose %" PRIu32 ", id %" PRIu32 ", version %" PRIu32 ") cannot be loaded: %s",
			       r->kw_purpose, r->kw_id, r->kw_version, sf_err_desc(err));
			sf_keyring_clear(kr);
			goto out;
		}
	}
out:
	rows_free(&ctx.list);
	return err;
}

/* ==== rotate ==== */

static enum sf_db_status rotate_txn(struct sf_db_conn *c, void *arg)
{
	struct ks_ctx *ctx = arg;
	enum sf_db_status st;
	enum sf_err err;
	uint32_t purpose = (uint32_t)ctx->purpose, maxv = 0;
	struct sf_db_param p[1] = {SF_DB_INT(purpose)};

	ctx->err = SF_OK;
	free(ctx->new_wrapped);
	ctx->new_wrapped = NULL;
	ctx->new_wlen = 0;

	st = list_keys(c, ctx);
	if (st != SF_DB_OK)
		return st;
	for (size_t i = 0; i < ctx->list.n; i++)
		if (ctx->list.rows[i].kw_purpose == purpose && ctx->list.rows[i].kw_version > maxv)
			maxv = ctx->list.rows[i].kw_version;
	if (maxv == UINT32_MAX) {
		sf_crypto_reason(ctx->errbuf, ctx->errlen, "purpose %" PRIu32 " has no key version left", purpose);
		return ctx_fail(ctx, SF_ERR_LIMIT);
	}
	ctx->new_version = maxv + 1;
	err = sf_keyring_wrap_new(ctx->kr, ctx->purpose, purpose, ctx->new_version, &ctx->new_wrapped,
				  &ctx->new_wlen);
	if (err)
		return ctx_fail(ctx, err);
	st = sf_db_exec(c, SF_STMT_KEY_DEACTIVATE, p, 1, NULL);
	if (st != SF_DB_OK && st != SF_DB_NO_ROWS)
		return st;
	st = insert_key(c, purpose, ctx->new_version, purpose, ctx->new_wrapped, ctx->new_wlen, 1);
	return st == SF_DB_NO_ROWS ? SF_DB_HARD : st;
}

enum sf_err sf_keystore_rotate(struct sf_db *db, struct sf_keyring *kr, enum sf_key_purpose purpose)
{
	struct ks_ctx ctx = {.kr = kr, .purpose = purpose};
	enum sf_err err;
	enum sf_db_status st;

	if (!sf_keyring_purpose_valid((uint32_t)purpose))
		return SF_ERR_INVALID;
	/* The new key must fit in the ring once stored. */
	if (sf_keyring_count(kr) >= SF_KEYRING_MAX_KEYS)
		return SF_ERR_LIMIT;
	st = sf_db_txn(db, rotate_txn, &ctx, TXN_TRIES);
	err = txn_result(db, st, &ctx, "rotating a data key");
	if (err)
		goto out;
	err = sf_keyring_add_wrapped(kr, purpose, (uint32_t)purpose, ctx.new_version, 1, ctx.new_wrapped,
				     ctx.new_wlen);
out:
	free(ctx.new_wrapped);
	rows_free(&ctx.list);
	return err;
}

/* ==== rewrap (master key rotation) ==== */

static enum sf_db_status rewrap_txn(struct sf_db_conn *c, void *arg)
{
	struct ks_ctx *ctx = arg;
	enum sf_db_status st;
	enum sf_err err;

	ctx->err = SF_OK;
	st = list_keys(c, ctx);
	if (st != SF_DB_OK)
		return st;
	for (size_t i = 0; i < ctx->list.n; i++) {
		const struct key_row *r = &ctx->list.rows[i];
		unsigned char *w = NULL;
		size_t wlen = 0;
		struct sf_db_param p[3];

		err = sf_keyring_rewrap_key(ctx->kr, ctx->newkr, (enum sf_key_purpose)r->kw_purpose, r->kw_id,
					    r->kw_version, r->kw_wrapped, r->kw_wlen, &w, &wlen);
		if (err) {
			sf_crypto_reason(ctx->errbuf, ctx->errlen,
			       "data key (purpose %" PRIu32 ", id %" PRIu32 ", version %" PRIu32
			       ") does not open with the current master key",
			       r->kw_purpose, r->kw_id, r->kw_version);
			return ctx_fail(ctx, err);
		}
		p[0] = SF_DB_BLOB(w, wlen);
		p[1] = SF_DB_INT(r->kw_id);
		p[2] = SF_DB_INT(r->kw_version);
		st = sf_db_exec(c, SF_STMT_KEY_UPDATE_WRAPPED, p, 3, NULL);
		free(w);
		if (st == SF_DB_NO_ROWS) {
			sf_crypto_reason(ctx->errbuf, ctx->errlen,
			       "data key (id %" PRIu32 ", version %" PRIu32 ") vanished during rewrap", r->kw_id,
			       r->kw_version);
			return ctx_fail(ctx, SF_ERR_DB);
		}
		if (st != SF_DB_OK)
			return st;
	}
	return SF_DB_OK;
}

enum sf_err sf_keystore_rewrap(struct sf_db *db, struct sf_keyring *kr, const char *new_master_path, char *errbuf,
			       size_t errlen)
{
	struct ks_ctx ctx = {.kr = kr, .errbuf = errbuf, .errlen = errlen};
	enum sf_err err;
	enum sf_db_status st;

	err = sf_keyring_open(new_master_path, &ctx.newkr, errbuf, errlen);
	if (err)
		return err;
	st = sf_db_txn(db, rewrap_txn, &ctx, TXN_TRIES);
	err = txn_result(db, st, &ctx, "rewrapping data keys");
	if (err)
		goto out;
	/* kr now uses the new master key; newkr holds the old one and wipes it. */
	sf_keyring_swap_master(kr, ctx.newkr);
out:
	sf_keyring_free(ctx.newkr);
	rows_free(&ctx.list);
	return err;
}
