/*
 * password.h — password hashing (argon2id through libsodium) and the
 * password policy (length, libpwquality dictionary and similarity checks).
 *
 * Hashes are libsodium's self-describing strings ("$argon2id$v=19$m=...,t=...,p=1$..."),
 * so raising the parameters later is detected per hash (sf_password_needs_rehash)
 * and the hash is upgraded at the next successful login.  Customers and staff
 * share this code; each kind passes its own parameters and policy.
 */
#ifndef SF_AUTH_PASSWORD_H
#define SF_AUTH_PASSWORD_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

#define SF_PW_HASH_MAX 128   /* crypto_pwhash_STRBYTES */
#define SF_PW_MIN_CHARS 12
#define SF_PW_MAX_CHARS 128
#define SF_PW_MIN_MEMORY_KIB 19456 /* 19 MiB */
#define SF_PW_MIN_OPS 2

struct sf_pw_params {
	uint64_t ops;        /* argon2id passes (t), at least SF_PW_MIN_OPS */
	size_t memory_kib;   /* argon2id memory (m) in KiB, at least SF_PW_MIN_MEMORY_KIB */
};

/* The defaults: m = 19 MiB, t = 2. */
void sf_password_params_default(struct sf_pw_params *p);

/* Hash pw (NUL-terminated) into out.  Parameters below the minimums are
 * raised to them.  Returns SF_OK, SF_ERR_INVALID (pw NULL or longer than
 * 4 KiB) or SF_ERR_NOMEM (argon2 could not get its memory). */
enum sf_err sf_password_hash(const struct sf_pw_params *p, const char *pw, char out[SF_PW_HASH_MAX]) SF_WARN_UNUSED;

/* 1 when pw matches hash, 0 otherwise (also for a malformed hash).  Always
 * does the full argon2 work for a well-formed hash. */
int sf_password_verify(const char *hash, const char *pw) SF_WARN_UNUSED;

/* Run one verification against a dummy hash made with p (once per process
 * per parameter set), so that an unknown account costs what a known one
 * does.  Always "fails". */
void sf_password_verify_dummy(const struct sf_pw_params *p, const char *pw);

/* 1 when hash was made with other parameters than p (upgrade it), else 0. */
int sf_password_needs_rehash(const struct sf_pw_params *p, const char *hash);

/* How many argon2 verifications this process ran (real and dummy): lets
 * tests assert that the verify path was taken for an unknown account. */
uint64_t sf_password_verify_count(void);

/* The policy: SF_PW_MIN_CHARS..SF_PW_MAX_CHARS characters (code points) of
 * valid UTF-8 without control characters; not a dictionary word or a simple
 * variation of one (libpwquality + cracklib); not containing or resembling
 * the account's own data (hints: e-mail local part, name, ...; NULL-ended
 * list, entries may be NULL or empty).  Returns SF_OK, or
 * SF_ERR_WEAK_PASSWORD with *why set to a static, client-safe sentence. */
enum sf_err sf_password_policy(const char *pw, const char *const *hints, const char **why) SF_WARN_UNUSED;

#endif
