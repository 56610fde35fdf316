/*
 * keyring_int.h — keyring operations private to src/crypto/ (used by
 * keystore.c to create, check and rewrap stored data keys without exposing
 * raw key bytes).  Not part of the public API: other modules use keyring.h.
 */
#ifndef SF_CRYPTO_KEYRING_INT_H
#define SF_CRYPTO_KEYRING_INT_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "crypto/keyring.h"

/* Is purpose one of enum sf_key_purpose? */
int sf_keyring_purpose_valid(uint32_t purpose);

/* Generate a fresh random data key and return only its wrapped form under
 * kr's master key (malloc'd, caller frees); the raw key is wiped and NOT
 * added to the ring.  SF_ERR_INVALID (bad purpose), SF_ERR_NOMEM,
 * SF_ERR_CRYPTO. */
enum sf_err sf_keyring_wrap_new(struct sf_keyring *kr, enum sf_key_purpose purpose, uint32_t id,
				uint32_t version, unsigned char **wrapped, size_t *wlen) SF_WARN_UNUSED;

/* Does wrapped open under kr's master key for (purpose, id, version)?  SF_OK
 * or SF_ERR_KEY; nothing is added to the ring. */
enum sf_err sf_keyring_check_wrapped(struct sf_keyring *kr, enum sf_key_purpose purpose, uint32_t id,
				     uint32_t version, const void *wrapped, size_t wlen) SF_WARN_UNUSED;

/* Unwrap wrapped with kr's master key and wrap it again with to's master key
 * into *out (malloc'd, caller frees).  kr and to must be different rings.
 * SF_ERR_KEY when it does not open, SF_ERR_NOMEM, SF_ERR_CRYPTO. */
enum sf_err sf_keyring_rewrap_key(struct sf_keyring *kr, struct sf_keyring *to, enum sf_key_purpose purpose,
				  uint32_t id, uint32_t version, const void *wrapped, size_t wlen,
				  unsigned char **out, size_t *outlen) SF_WARN_UNUSED;

/* Wipe and forget every data key held by kr (the master key stays). */
void sf_keyring_clear(struct sf_keyring *kr);

/* Swap the master keys (and dev flags) of kr and from: kr then uses from's
 * master key, and from holds kr's former one (wiped when from is freed).
 * Data keys are untouched. */
void sf_keyring_swap_master(struct sf_keyring *kr, struct sf_keyring *from);

/* Write a formatted reason into errbuf when there is one (errbuf may be
 * NULL).  Reasons name files and problems, never key material. */
void sf_crypto_reason(char *errbuf, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
