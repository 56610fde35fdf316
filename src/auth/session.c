/*
 * session.c — server-side sessions (session.h).
 */
#include "auth/session.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "core/util.h"
#include "db/db.h"

void sf_token_hash(const char *domain, const char *value, unsigned char out[SF_SESSION_HASH_LEN])
{
	crypto_generichash_state st;
	crypto_generichash_init(&st, NULL, 0, SF_SESSION_HASH_LEN);
	crypto_generichash_update(&st, (const unsigned char *)domain, strlen(domain) + 1);
	crypto_generichash_update(&st, (const unsigned char *)value, strlen(value));
	crypto_generichash_final(&st, out, SF_SESSION_HASH_LEN);
}

void sf_session_hash(const char *cookie_value, unsigned char out[SF_SESSION_HASH_LEN])
{
	sf_token_hash("sf-session-v1", cookie_value, out);
}

void sf_token_new(char out[SF_SESSION_COOKIE_LEN + 1])
{
	unsigned char raw[SF_SESSION_TOKEN_BYTES];
	sf_rand_bytes(raw, sizeof raw);
	sf_token_text(raw, sizeof raw, out);
	sodium_memzero(raw, sizeof raw);
}

int sf_token_shape_ok(const char *v)
{
	if (!v || strlen(v) != SF_SESSION_COOKIE_LEN)
		return 0;
	for (const char *p = v; *p; p++) {
		if (!strchr(SF_TOKEN_ALPHABET, *p))
			return 0;
	}
	return 1;
}

enum sf_err sf_session_create(struct sf_db_conn *c, const struct sf_session_policy *pol, int64_t principal_id,
			      const char *ip, int64_t now, char token_out[SF_SESSION_COOKIE_LEN + 1],
			      struct sf_session *out)
{
	sf_token_new(token_out);
	memset(out, 0, sizeof *out);
	sf_session_hash(token_out, out->hash);
	out->principal_id = principal_id;
	out->created_at = now;
	out->last_seen_at = now;
	out->expires_at = now + pol->absolute_s;
	struct sf_db_param p[] = {SF_DB_BLOB(out->hash, SF_SESSION_HASH_LEN), SF_DB_TEXT(pol->kind),
				  SF_DB_INT(principal_id), SF_DB_INT(now), SF_DB_INT(out->expires_at),
				  SF_DB_TEXT_OR_NULL(ip)};
	enum sf_db_status st = sf_db_exec(c, SF_STMT_SESSION_INSERT, p, 6, NULL);
	if (st != SF_DB_OK) {
		sodium_memzero(token_out, SF_SESSION_COOKIE_LEN + 1);
		return st == SF_DB_RETRY ? SF_ERR_DB_CONFLICT : SF_ERR_DB;
	}
	out->id = sf_db_last_id(c);
	return SF_OK;
}

struct row {
	int found;
	int kind_ok;
	const char *want_kind;
	struct sf_session *s;
};

static void read_row(struct sf_db_cursor *cur, void *ctx)
{
	struct row *r = ctx;
	r->found = 1;
	r->s->id = sf_db_col_int(cur, 0);
	r->kind_ok = strcmp(sf_db_col_text(cur, 1, NULL), r->want_kind) == 0;
	r->s->principal_id = sf_db_col_int(cur, 2);
	r->s->created_at = sf_db_col_int(cur, 3);
	r->s->last_seen_at = sf_db_col_int(cur, 4);
	r->s->expires_at = sf_db_col_int(cur, 5);
}

enum sf_err sf_session_lookup(struct sf_db_conn *c, const struct sf_session_policy *pol, const char *cookie_value,
			      int64_t now, struct sf_session *out)
{
	memset(out, 0, sizeof *out);
	if (!sf_token_shape_ok(cookie_value))
		return SF_ERR_NOT_FOUND;
	sf_session_hash(cookie_value, out->hash);
	struct row r = {.want_kind = pol->kind, .s = out};
	struct sf_db_param p[] = {SF_DB_BLOB(out->hash, SF_SESSION_HASH_LEN)};
	enum sf_db_status st = sf_db_query_one(c, SF_STMT_SESSION_GET, p, 1, read_row, &r);
	if (st < 0)
		return sf_db_err(st);
	if (!r.found || !r.kind_ok)
		return SF_ERR_NOT_FOUND;
	if (now >= out->expires_at || now - out->last_seen_at >= pol->idle_s) {
		enum sf_err err = sf_session_delete(c, out->id);
		if (err)
			return err;
		return SF_ERR_NOT_FOUND;
	}
	if (now - out->last_seen_at >= SF_SESSION_TOUCH_EVERY) {
		struct sf_db_param t[] = {SF_DB_INT(out->id), SF_DB_INT(now)};
		st = sf_db_exec(c, SF_STMT_SESSION_TOUCH, t, 2, NULL);
		if (st < 0)
			return sf_db_err(st);
		out->last_seen_at = now;
	}
	return SF_OK;
}

enum sf_err sf_session_delete(struct sf_db_conn *c, int64_t session_id)
{
	struct sf_db_param p[] = {SF_DB_INT(session_id)};
	enum sf_db_status st = sf_db_exec(c, SF_STMT_SESSION_DELETE, p, 1, NULL);
	return st < 0 ? sf_db_err(st) : SF_OK;
}

enum sf_err sf_session_delete_principal(struct sf_db_conn *c, const char *kind, int64_t principal_id,
					int64_t keep_id)
{
	struct sf_db_param p[] = {SF_DB_TEXT(kind), SF_DB_INT(principal_id), SF_DB_INT(keep_id)};
	enum sf_db_status st = sf_db_exec(c, SF_STMT_SESSION_DELETE_PRINCIPAL, p, 3, NULL);
	return st < 0 ? sf_db_err(st) : SF_OK;
}

enum sf_err sf_session_prune(struct sf_db *db, int64_t now, int limit, int64_t *n)
{
	return sf_db_prune(db, SF_STMT_SESSION_OLD, SF_STMT_SESSION_DROP, now, limit, n);
}

enum sf_err sf_session_cookie(const struct sf_session_policy *pol, const char *token, char *out, size_t n)
{
	int w;
	if (token)
		w = snprintf(out, n, "%s=%s; Path=/; Secure; HttpOnly; SameSite=%s", pol->cookie, token,
			     pol->same_site);
	else
		w = snprintf(out, n, "%s=; Path=/; Max-Age=0; Secure; HttpOnly; SameSite=%s", pol->cookie,
			     pol->same_site);
	return w < 0 || (size_t)w >= n ? SF_ERR_LIMIT : SF_OK;
}
