/*
 * keyring.h — keys and field sealing.
 *
 * Key hierarchy:
 *   master key   32 random bytes in a file outside the database (0600, made
 *                by `storefort init`).  It never seals data directly: it wraps
 *                (XChaCha20-Poly1305) the data keys.  A master key file made
 *                for development carries a marker so production can refuse it.
 *   data keys    32 random bytes each, per purpose, versioned; stored in the
 *                database (table data_keys) only in wrapped form.  Several
 *                versions of a purpose may be loaded; exactly one is active
 *                (used for new seals); older ones still open old values.
 *
 * Purposes: SF_KEY_FIELD seals protected columns; SF_KEY_INDEX keys blind
 * indexes; SF_KEY_AUDIT keys the audit chain's BLAKE2b MAC.
 *
 * Sealed value format (binary, stored as a BLOB):
 *   "sf1" | key_id u32be | key_version u32be | nonce[24] | ciphertext+tag[16]
 * with associated data = header bytes | table NUL column NUL row_id i64be, so
 * a ciphertext copied to another row or column, or altered in any byte, does
 * not open.
 *
 * All key material lives in libsodium guarded memory (sodium_malloc, locked,
 * wiped on free).  The master key page is kept PROT_NONE except while a data
 * key is being wrapped or unwrapped.  The data key table is kept read-only
 * after each change (not PROT_NONE), because sf_seal/sf_unseal/
 * sf_blind_index/sf_keyring_mac run concurrently from many threads and
 * toggling page protection per call would race between them.
 *
 * Threads: every function taking a const keyring may run concurrently with
 * any other.  The functions that change a keyring (generate, add_wrapped and
 * the keystore functions) take its internal write lock, so a rotation may
 * run while other threads seal and unseal.
 *
 * Limits: at most SF_KEYRING_MAX_KEYS data keys per keyring; table and column
 * names of at most SF_SEAL_MAX_NAME bytes; plaintexts of at most
 * SF_SEAL_MAX_PLAINTEXT bytes.
 */
#ifndef SF_CRYPTO_KEYRING_H
#define SF_CRYPTO_KEYRING_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

enum sf_key_purpose { SF_KEY_FIELD = 1, SF_KEY_INDEX = 2, SF_KEY_AUDIT = 3 };

#define SF_BLIND_INDEX_LEN 32
#define SF_MAC_LEN 32
#define SF_SEAL_OVERHEAD (3 + 4 + 4 + 24 + 16)
#define SF_MASTER_KEY_LEN 32
#define SF_DATA_KEY_LEN 32
/* A wrapped data key: nonce[24] | ciphertext[32] + tag[16]. */
#define SF_WRAPPED_KEY_LEN (24 + SF_DATA_KEY_LEN + 16)
#define SF_KEYRING_MAX_KEYS 256
#define SF_SEAL_MAX_NAME 128
#define SF_SEAL_MAX_PLAINTEXT (16u * 1024u * 1024u)
/* A master key file is never larger than this. */
#define SF_MASTER_KEY_FILE_MAX 4096

struct sf_keyring;
struct sf_db;

/* Create a new master key file at path (O_EXCL, mode 0600).  dev marks it as
 * a development key.  SF_ERR_EXISTS if the file exists, SF_ERR_IO otherwise.
 * The file is text (so operators can back it up):
 *   storefort-master-key v1
 *   kind: development | kind: production
 *   key: <base64, original variant, of 32 bytes>
 * each line ending in LF.  It is fsync'ed (and its directory); a file left
 * half-written by a failure is removed. */
enum sf_err sf_master_key_create(const char *path, int dev) SF_WARN_UNUSED;

/* Load the master key file into a new keyring (no data keys yet); *out is
 * freed with sf_keyring_free().  The file is opened without following a
 * symbolic link, must be a regular file of at most SF_MASTER_KEY_FILE_MAX
 * bytes, not accessible by group or others, and match the format above
 * exactly.  SF_ERR_KEY (malformed, symlink, loose mode) / SF_ERR_IO (cannot
 * open or read) / SF_ERR_NOMEM, with a reason naming the file and the
 * problem (never key material) in errbuf (may be NULL). */
enum sf_err sf_keyring_open(const char *master_path, struct sf_keyring **out, char *errbuf,
			    size_t errlen) SF_WARN_UNUSED;
/* Wipe every key and free the ring.  NULL is accepted. */
void sf_keyring_free(struct sf_keyring *kr);
/* Was the master key created as a development key? */
int sf_keyring_is_dev(const struct sf_keyring *kr);
/* The id and version of purpose's active data key.  SF_OK, SF_ERR_KEY when
 * none is active, SF_ERR_INVALID for an unknown purpose. */
enum sf_err sf_keyring_active(const struct sf_keyring *kr, enum sf_key_purpose purpose, uint32_t *id,
			      uint32_t *version) SF_WARN_UNUSED;
/* Number of data keys loaded (all purposes, all versions). */
size_t sf_keyring_count(const struct sf_keyring *kr);

/* ---- data keys held in the database (crypto/keystore.c) ---- */

/* Load every data key from the database, unwrapping each with the master key;
 * create (and store) a first version (id = purpose number, version 1, active)
 * for any purpose that has none, in one transaction.  The ring's data keys
 * are replaced by the database's (left empty should that fail after the
 * transaction, e.g. SF_ERR_LIMIT).  SF_ERR_KEY when a wrapped key does not
 * open (wrong master key; nothing is written then) or a row is malformed;
 * SF_ERR_DB* on database errors; reason in errbuf (may be NULL). */
enum sf_err sf_keystore_load(struct sf_db *db, struct sf_keyring *kr, char *errbuf, size_t errlen) SF_WARN_UNUSED;
/* Make a new version (highest stored + 1) of purpose's data key the active
 * one, in one transaction that also deactivates the older versions; old
 * versions stay loaded to open old values.  SF_ERR_INVALID (bad purpose),
 * SF_ERR_LIMIT (ring full), SF_ERR_DB* on database errors. */
enum sf_err sf_keystore_rotate(struct sf_db *db, struct sf_keyring *kr, enum sf_key_purpose purpose) SF_WARN_UNUSED;
/* Rewrap every data key with the master key in new_master_path (master key
 * rotation), all in one transaction; the keyring then uses the new master
 * key (and its dev flag).  SF_ERR_KEY / SF_ERR_IO when the new file does not
 * load or a stored key does not open with the current master key (nothing is
 * written then); SF_ERR_DB* on database errors; reason in errbuf. */
enum sf_err sf_keystore_rewrap(struct sf_db *db, struct sf_keyring *kr, const char *new_master_path,
			       char *errbuf, size_t errlen) SF_WARN_UNUSED;

/* ---- in-memory data key handling (used by keystore and tests) ---- */

/* Generate a data key, add it to the ring, and return its wrapped form
 * (malloc'd, caller frees; *wlen = SF_WRAPPED_KEY_LEN).  When active, the
 * other keys of purpose become inactive (in memory).  SF_ERR_INVALID (bad
 * purpose), SF_ERR_EXISTS (id/version already loaded), SF_ERR_LIMIT (ring
 * full), SF_ERR_NOMEM, SF_ERR_CRYPTO.
 * Wrapping: XChaCha20-Poly1305 IETF under the master key, random nonce,
 * AD = "sf-dk-v1" | purpose u32be | id u32be | version u32be. */
enum sf_err sf_keyring_generate(struct sf_keyring *kr, enum sf_key_purpose purpose, uint32_t id, uint32_t version,
				int active, unsigned char **wrapped, size_t *wlen) SF_WARN_UNUSED;
/* Unwrap and add a stored data key (active as in generate).  SF_ERR_KEY when
 * it does not open (wrong master key, altered, or stored under another
 * purpose/id/version); other errors as in generate. */
enum sf_err sf_keyring_add_wrapped(struct sf_keyring *kr, enum sf_key_purpose purpose, uint32_t id,
				   uint32_t version, int active, const void *wrapped, size_t wlen) SF_WARN_UNUSED;

/* ---- using the keys ---- */

/* Seal pt for (table, column, row_id) with the active field key.
 * *out is malloc'd (caller frees), *outlen = ptlen + SF_SEAL_OVERHEAD.
 * pt may be NULL when ptlen is 0.  SF_ERR_KEY (no active field key),
 * SF_ERR_INVALID (names missing or too long), SF_ERR_TOO_LARGE, SF_ERR_NOMEM. */
enum sf_err sf_seal(const struct sf_keyring *kr, const char *table, const char *column, int64_t row_id,
		    const void *pt, size_t ptlen, unsigned char **out, size_t *outlen) SF_WARN_UNUSED;
/* Open a sealed value.  *pt is guarded memory from sodium_malloc, NUL-
 * terminated, to be released with sf_unsealed_free().  SF_ERR_TAMPERED for
 * any altered, truncated, moved (other table/column/row) value; SF_ERR_KEY
 * when its key id/version is not loaded. */
enum sf_err sf_unseal(const struct sf_keyring *kr, const char *table, const char *column, int64_t row_id,
		      const void *ct, size_t ctlen, char **pt, size_t *ptlen) SF_WARN_UNUSED;
/* sf_unseal into the caller's buffer buf of cap bytes (plaintext + NUL must
 * fit, else SF_ERR_TOO_LARGE), for short values used at once: no guarded
 * allocation (mmap + mprotect + munmap per call).  The caller wipes buf
 * after use; on failure it is wiped here.  Errors as sf_unseal. */
enum sf_err sf_unseal_to(const struct sf_keyring *kr, const char *table, const char *column, int64_t row_id,
			 const void *ct, size_t ctlen, char *buf, size_t cap, size_t *ptlen) SF_WARN_UNUSED;
/* Wipe and free an unsealed plaintext.  NULL is accepted. */
void sf_unsealed_free(char *pt, size_t ptlen);
/* Key id and version named by a sealed value (for rotation jobs); nothing is
 * authenticated.  SF_ERR_TAMPERED when ct is too short or not "sf1". */
enum sf_err sf_sealed_key(const void *ct, size_t ctlen, uint32_t *id, uint32_t *version) SF_WARN_UNUSED;

/* Keyed blind index for equality lookups on a sealed value: BLAKE2b keyed
 * with the active index key over domain NUL value.  The caller normalises the
 * value first (e.g. lower-cased, trimmed e-mail).  SF_ERR_KEY (no active
 * index key), SF_ERR_INVALID (domain NULL, or value NULL with n > 0). */
enum sf_err sf_blind_index(const struct sf_keyring *kr, const char *domain, const void *value, size_t n,
			   unsigned char out[SF_BLIND_INDEX_LEN]) SF_WARN_UNUSED;

/* Keyed MAC (BLAKE2b-256) with the active key of purpose (SF_KEY_AUDIT for
 * the audit chain).  The key itself never leaves the keyring.  SF_ERR_KEY
 * (no active key), SF_ERR_INVALID (bad purpose, msg NULL with n > 0). */
enum sf_err sf_keyring_mac(const struct sf_keyring *kr, enum sf_key_purpose purpose, const void *msg, size_t n,
			   unsigned char out[SF_MAC_LEN]) SF_WARN_UNUSED;

/* Constant-time comparison of n bytes (0 when equal, -1 otherwise). */
int sf_ct_compare(const void *a, const void *b, size_t n);

#endif
