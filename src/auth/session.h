/*
 * session.h — server-side sessions for every principal kind.
 *
 * A session token is 32 random bytes (256 bits) sent to the client as a
 * cookie value (unpadded base64url, 43 characters); the database keeps only
 * its BLAKE2b-256 hash, so a copy of the database cannot be replayed as a
 * cookie.  Each kind has its own policy (cookie name, SameSite, idle and
 * absolute timeouts): customers "__Host-sf_session", SameSite=Lax (the
 * payment provider's return redirect must keep the session), 30 min idle /
 * 7 days absolute by default; staff (issue 4) will pass their own policy
 * (SameSite=Strict, 15 min / 8 h).  Times are seconds since the epoch and
 * always passed in, so tests control the clock.
 */
#ifndef SF_AUTH_SESSION_H
#define SF_AUTH_SESSION_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

struct sf_db;
struct sf_db_conn;

#define SF_SESSION_TOKEN_BYTES 32
/* 32 bytes as sf_token_text letters (core/util.h).  Not base64url: its '-'
 * and '_' made random tokens look like SQL comments ("--") to the WAF's CRS
 * rules now and then (942440 at paranoia 2, one token in a hundred); not
 * hex: its digit runs passed for card numbers (one token in thirty). */
#define SF_SESSION_COOKIE_LEN 64
#define SF_SESSION_HASH_LEN 32
/* last_seen_at is written at most this often (seconds): a session in use
 * does not cost a database write per request. */
#define SF_SESSION_TOUCH_EVERY 60

struct sf_session_policy {
	const char *kind;      /* "customer", "staff": stored with the session */
	const char *cookie;    /* "__Host-sf_session" */
	const char *same_site; /* "Lax" or "Strict" */
	int64_t idle_s;        /* idle timeout */
	int64_t absolute_s;    /* absolute lifetime from creation */
};

struct sf_session {
	int64_t id;
	int64_t principal_id;
	int64_t created_at;
	int64_t last_seen_at;
	int64_t expires_at;
	unsigned char hash[SF_SESSION_HASH_LEN];
};

/* The BLAKE2b-256 hash of a cookie value (any length). */
void sf_session_hash(const char *cookie_value, unsigned char out[SF_SESSION_HASH_LEN]);

/* A fresh single-use secret (32 random bytes as 43 base64url characters,
 * NUL-terminated): session cookies, e-mail verification and reset links. */
void sf_token_new(char out[SF_SESSION_COOKIE_LEN + 1]);
/* BLAKE2b-256 over domain NUL value: how such a secret is stored. */
void sf_token_hash(const char *domain, const char *value, unsigned char out[SF_SESSION_HASH_LEN]);
/* Is v shaped like a token of sf_token_new (43 base64url characters)? */
int sf_token_shape_ok(const char *v);

/* Create a session for (policy->kind, principal_id) inside the caller's
 * transaction on c.  Writes the cookie value (NUL-terminated) into
 * token_out and fills *out.  Returns SF_OK, SF_ERR_DB_CONFLICT (retry the
 * transaction) or SF_ERR_DB. */
enum sf_err sf_session_create(struct sf_db_conn *c, const struct sf_session_policy *pol, int64_t principal_id,
			      const char *ip, int64_t now, char token_out[SF_SESSION_COOKIE_LEN + 1],
			      struct sf_session *out) SF_WARN_UNUSED;

/* Resolve a cookie value.  Returns SF_OK with *out for a live session of
 * policy->kind (last_seen_at refreshed when older than
 * SF_SESSION_TOUCH_EVERY); SF_ERR_NOT_FOUND for a malformed or unknown
 * value, another kind's session, or one past its idle or absolute timeout
 * (an expired row is deleted); SF_ERR_DB* on database errors.  Not inside a
 * transaction: it runs its own short ones. */
enum sf_err sf_session_lookup(struct sf_db_conn *c, const struct sf_session_policy *pol, const char *cookie_value,
			      int64_t now, struct sf_session *out) SF_WARN_UNUSED;

/* Delete one session (logout).  SF_OK (also when already gone) or SF_ERR_DB*. */
enum sf_err sf_session_delete(struct sf_db_conn *c, int64_t session_id) SF_WARN_UNUSED;

/* Delete every session of (kind, principal_id) except keep_id (0: all), e.g.
 * after a password reset.  SF_OK or SF_ERR_DB*. */
enum sf_err sf_session_delete_principal(struct sf_db_conn *c, const char *kind, int64_t principal_id,
					int64_t keep_id) SF_WARN_UNUSED;

/* Housekeeping: delete at most limit sessions past their absolute expiry
 * (a staff session's stage goes with it); *n = how many.  SF_OK or
 * SF_ERR_DB*. */
enum sf_err sf_session_prune(struct sf_db *db, int64_t now, int limit, int64_t *n) SF_WARN_UNUSED;

/* A Set-Cookie value for token under pol (Secure; HttpOnly; SameSite;
 * Path=/), or one that clears the cookie when token is NULL, written into
 * out (at most n bytes).  Returns SF_OK or SF_ERR_LIMIT. */
enum sf_err sf_session_cookie(const struct sf_session_policy *pol, const char *token, char *out,
			      size_t n) SF_WARN_UNUSED;

#endif
