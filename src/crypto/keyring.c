/*
 * keyring.c — the master key file, the in-memory data keys, and what is done
 * with them: sealing fields (XChaCha20-Poly1305), blind indexes and MACs
 * (keyed BLAKE2b).  See keyring.h for formats and the threading model.
 *
 * Memory: the master key (32 bytes) and the data key table live in separate
 * sodium_malloc regions.  The master key region is PROT_NONE except inside
 * master_use()/master_done() (always under the write lock, so no two threads
 * toggle it at once).  The table is PROT_READ except while a writer (holding
 * the write lock) changes it; readers hold the read lock, so they never see a
 * half-written entry nor a writable page.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <pthread.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crypto/keyring.h"
#include "crypto/keyring_int.h"

#define NONCE_LEN crypto_aead_xchacha20poly1305_ietf_NPUBBYTES
#define TAG_LEN crypto_aead_xchacha20poly1305_ietf_ABYTES
#define SEAL_MAGIC "sf1"
#define SEAL_MAGIC_LEN 3
#define SEAL_HDR_LEN (SEAL_MAGIC_LEN + 4 + 4)
#define WRAP_AD_MAGIC "sf-dk-v1"
#define WRAP_AD_LEN (8 + 4 + 4 + 4)

#define FILE_HEADER "storefort-master-key v1\n"
#define FILE_KIND_PREFIX "kind: "
#define FILE_KEY_PREFIX "key: "
#define KIND_DEV "development"
#define KIND_PROD "production"

_Static_assert(SF_SEAL_OVERHEAD == SEAL_HDR_LEN + NONCE_LEN + TAG_LEN, "seal overhead");
_Static_assert(SF_WRAPPED_KEY_LEN == NONCE_LEN + SF_DATA_KEY_LEN + TAG_LEN, "wrapped length");
_Static_assert(SF_DATA_KEY_LEN == crypto_aead_xchacha20poly1305_ietf_KEYBYTES, "data key length");
_Static_assert(SF_MASTER_KEY_LEN == crypto_aead_xchacha20poly1305_ietf_KEYBYTES, "master key length");
_Static_assert(SF_DATA_KEY_LEN >= crypto_generichash_KEYBYTES_MIN &&
		       SF_DATA_KEY_LEN <= crypto_generichash_KEYBYTES_MAX,
	       "blake2b key length");

struct sf_dkey {
	uint32_t dk_purpose;
	uint32_t dk_id;
	uint32_t dk_version;
	uint32_t dk_active;
	unsigned char dk_key[SF_DATA_KEY_LEN];
};

struct sf_keyring {
	pthread_rwlock_t kr_lock;
	unsigned char *kr_master; /* guarded, SF_MASTER_KEY_LEN, PROT_NONE when idle */
	struct sf_dkey *kr_keys;  /* guarded, SF_KEYRING_MAX_KEYS entries, PROT_READ when idle */
	size_t kr_nkeys;
	int kr_dev;
};

/* ==== small helpers ==== */

void sf_crypto_reason(char *errbuf, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!errbuf || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(errbuf, errlen, fmt, ap);
	va_end(ap);
}

static void put_u32be(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)(v >> 24);
	p[1] = (unsigned char)(v >> 16);
	p[2] = (unsigned char)(v >> 8);
	p[3] = (unsigned char)v;
}

static uint32_t get_u32be(const unsigned char *p)
{
	return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | (uint32_t)p[3];
}

static void put_i64be(unsigned char *p, int64_t v)
{
	uint64_t u = (uint64_t)v;

	for (int i = 7; i >= 0; i--) {
		p[i] = (unsigned char)u;
		u >>= 8;
	}
}

/* pthread_rwlock_* need a mutable lock; the keyring object itself is always
 * heap-allocated and never const, so dropping const here is well-defined. */
static pthread_rwlock_t *lock_of(const struct sf_keyring *kr)
{
	return (pthread_rwlock_t *)&kr->kr_lock;
}

static void rdlock(const struct sf_keyring *kr)
{
	if (pthread_rwlock_rdlock(lock_of(kr)) != 0)
		abort(); /* only fails on deadlock or too many readers: our bug */
}

static void wrlock(struct sf_keyring *kr)
{
	if (pthread_rwlock_wrlock(&kr->kr_lock) != 0)
		abort();
}

static void unlock(const struct sf_keyring *kr)
{
	if (pthread_rwlock_unlock(lock_of(kr)) != 0)
		abort();
}

/* Page protection changes only fail on an invalid address (our bug). */
static void prot_ro(void *p)
{
	if (sodium_mprotect_readonly(p) != 0)
		abort();
}

static void prot_rw(void *p)
{
	if (sodium_mprotect_readwrite(p) != 0)
		abort();
}

static void prot_none(void *p)
{
	if (sodium_mprotect_noaccess(p) != 0)
		abort();
}

int sf_keyring_purpose_valid(uint32_t purpose)
{
	return purpose == SF_KEY_FIELD || purpose == SF_KEY_INDEX || purpose == SF_KEY_AUDIT;
}

int sf_ct_compare(const void *a, const void *b, size_t n)
{
	return sodium_memcmp(a, b, n) == 0 ? 0 : -1;
}

/* ==== master key file ==== */

static enum sf_err write_all(int fd, const unsigned char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return SF_ERR_IO;
		}
		p += (size_t)w;
		n -= (size_t)w;
	}
	return SF_OK;
}

/* fsync the directory holding path so the new name is durable.  Filesystems
 * that cannot fsync a directory (EINVAL) are accepted. */
static enum sf_err fsync_parent(const char *path)
{
	char copy[PATH_MAX];
	int fd, rc;
	size_t n = strlen(path);

	if (n >= sizeof copy)
		return SF_ERR_IO;
	memcpy(copy, path, n + 1);
	fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return SF_ERR_IO;
	rc = fsync(fd);
	if (rc != 0 && errno == EINVAL)
		rc = 0;
	close(fd);
	return rc == 0 ? SF_OK : SF_ERR_IO;
}

enum sf_err sf_master_key_create(const char *path, int dev)
{
	enum sf_err err = SF_ERR_IO;
	unsigned char *key = NULL;
	char *text = NULL;
	const char *kind = dev ? KIND_DEV : KIND_PROD;
	const size_t b64len = sodium_base64_ENCODED_LEN(SF_MASTER_KEY_LEN, sodium_base64_VARIANT_ORIGINAL);
	const size_t textcap = sizeof FILE_HEADER + sizeof FILE_KIND_PREFIX + sizeof KIND_DEV + sizeof FILE_KEY_PREFIX +
			       b64len + 4;
	size_t len = 0;
	int fd = -1, created = 0;

	if (!path || !*path)
		return SF_ERR_INVALID;
	if (sodium_init() < 0)
		return SF_ERR_CRYPTO;

	key = sodium_malloc(SF_MASTER_KEY_LEN);
	text = sodium_malloc(textcap);
	if (!key || !text) {
		err = SF_ERR_NOMEM;
		goto out;
	}
	randombytes_buf(key, SF_MASTER_KEY_LEN);

	memcpy(text + len, FILE_HEADER, strlen(FILE_HEADER));
	len += strlen(FILE_HEADER);
	memcpy(text + len, FILE_KIND_PREFIX, strlen(FILE_KIND_PREFIX));
	len += strlen(FILE_KIND_PREFIX);
	memcpy(text + len, kind, strlen(kind));
	len += strlen(kind);
	text[len++] = '\n';
	memcpy(text + len, FILE_KEY_PREFIX, strlen(FILE_KEY_PREFIX));
	len += strlen(FILE_KEY_PREFIX);
	sodium_bin2base64(text + len, b64len, key, SF_MASTER_KEY_LEN, sodium_base64_VARIANT_ORIGINAL);
	len += strlen(text + len);
	text[len++] = '\n';

	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		err = errno == EEXIST ? SF_ERR_EXISTS : SF_ERR_IO;
		goto out;
	}
	created = 1;
	err = write_all(fd, (const unsigned char *)text, len);
	if (err)
		goto out;
	if (fsync(fd) != 0) {
		err = SF_ERR_IO;
		goto out;
	}
	if (close(fd) != 0) {
		fd = -1;
		err = SF_ERR_IO;
		goto out;
	}
	fd = -1;
	err = fsync_parent(path);
out:
	if (fd >= 0)
		close(fd);
	if (err && created)
		unlink(path);
	sodium_free(key);  /* sodium_free wipes before unmapping */
	sodium_free(text);
	return err;
}

/* Parse the file text (len bytes at text) into master (32 bytes, guarded).
 * Reasons never quote the file's content. */
static enum sf_err parse_key_file(const char *path, const char *text, size_t len, unsigned char *master, int *dev,
				  char *errbuf, size_t errlen)
{
	const char *p = text, *end = text + len, *nl, *b64end = NULL;
	unsigned char *tmp = NULL;
	size_t n, binlen = 0;
	enum sf_err err = SF_ERR_KEY;

	if (len == 0) {
		sf_crypto_reason(errbuf, errlen, "master key file %s: is empty", path);
		return SF_ERR_KEY;
	}
	n = strlen(FILE_HEADER);
	if (len < n || memcmp(p, FILE_HEADER, n) != 0) {
		sf_crypto_reason(errbuf, errlen, "master key file %s: first line is not 'storefort-master-key v1'", path);
		return SF_ERR_KEY;
	}
	p += n;

	nl = memchr(p, '\n', (size_t)(end - p));
	n = strlen(FILE_KIND_PREFIX);
	if (!nl || (size_t)(nl - p) < n || memcmp(p, FILE_KIND_PREFIX, n) != 0) {
		sf_crypto_reason(errbuf, errlen, "master key file %s: second line is not 'kind: development|production'", path);
		return SF_ERR_KEY;
	}
	p += n;
	if ((size_t)(nl - p) == strlen(KIND_DEV) && memcmp(p, KIND_DEV, strlen(KIND_DEV)) == 0) {
		*dev = 1;
	} else if ((size_t)(nl - p) == strlen(KIND_PROD) && memcmp(p, KIND_PROD, strlen(KIND_PROD)) == 0) {
		*dev = 0;
	} else {
		sf_crypto_reason(errbuf, errlen, "master key file %s: unknown kind (expected development or production)", path);
		return SF_ERR_KEY;
	}
	p = nl + 1;

	nl = memchr(p, '\n', (size_t)(end - p));
	n = strlen(FILE_KEY_PREFIX);
	if (!nl || (size_t)(nl - p) < n || memcmp(p, FILE_KEY_PREFIX, n) != 0) {
		sf_crypto_reason(errbuf, errlen, "master key file %s: third line is not 'key: <base64>'", path);
		return SF_ERR_KEY;
	}
	if (nl + 1 != end) {
		sf_crypto_reason(errbuf, errlen, "master key file %s: unexpected data after the key line", path);
		return SF_ERR_KEY;
	}
	p += n;
	n = (size_t)(nl - p);
	if (n == 0) {
		sf_crypto_reason(errbuf, errlen, "master key file %s: the key is empty", path);
		return SF_ERR_KEY;
	}
	/* Decoded bytes never exceed the text length, so any decode failure is
	 * malformed base64 rather than a too-small buffer. */
	tmp = sodium_malloc(n);
	if (!tmp) {
		sf_crypto_reason(errbuf, errlen, "master key file %s: out of memory", path);
		return SF_ERR_NOMEM;
	}
	if (sodium_base642bin(tmp, n, p, n, NULL, &binlen, &b64end, sodium_base64_VARIANT_ORIGINAL) != 0 ||
	    b64end != nl) {
		sf_crypto_reason(errbuf, errlen, "master key file %s: the key is not valid base64", path);
		goto out;
	}
	if (binlen != SF_MASTER_KEY_LEN) {
		sf_crypto_reason(errbuf, errlen, "master key file %s: the key is %zu bytes, expected %d", path, binlen,
		       SF_MASTER_KEY_LEN);
		goto out;
	}
	memcpy(master, tmp, SF_MASTER_KEY_LEN);
	err = SF_OK;
out:
	sodium_free(tmp);
	return err;
}

static struct sf_keyring *keyring_new(void)
{
	struct sf_keyring *kr = calloc(1, sizeof *kr);

	if (!kr)
		return NULL;
	{
		/* Prefer writers so that a rotation is not starved by a steady
		 * stream of seals; no function takes the read lock twice. */
		pthread_rwlockattr_t attr;
		int rc;

		if (pthread_rwlockattr_init(&attr) != 0) {
			free(kr);
			return NULL;
		}
		pthread_rwlockattr_setkind_np(&attr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
		rc = pthread_rwlock_init(&kr->kr_lock, &attr);
		pthread_rwlockattr_destroy(&attr);
		if (rc != 0) {
			free(kr);
			return NULL;
		}
	}
	kr->kr_master = sodium_malloc(SF_MASTER_KEY_LEN);
	kr->kr_keys = sodium_allocarray(SF_KEYRING_MAX_KEYS, sizeof *kr->kr_keys);
	if (!kr->kr_master || !kr->kr_keys) {
		sodium_free(kr->kr_master);
		sodium_free(kr->kr_keys);
		pthread_rwlock_destroy(&kr->kr_lock);
		free(kr);
		return NULL;
	}
	sodium_memzero(kr->kr_master, SF_MASTER_KEY_LEN);
	sodium_memzero(kr->kr_keys, SF_KEYRING_MAX_KEYS * sizeof *kr->kr_keys);
	prot_ro(kr->kr_keys);
	return kr;
}

enum sf_err sf_keyring_open(const char *master_path, struct sf_keyring **out, char *errbuf, size_t errlen)
{
	enum sf_err err = SF_ERR_IO;
	struct sf_keyring *kr = NULL;
	char *text = NULL;
	size_t len = 0;
	struct stat st;
	int fd = -1, dev = 0;

	*out = NULL;
	if (!master_path || !*master_path) {
		sf_crypto_reason(errbuf, errlen, "no master key file given");
		return SF_ERR_INVALID;
	}
	if (sodium_init() < 0) {
		sf_crypto_reason(errbuf, errlen, "libsodium failed to initialise");
		return SF_ERR_CRYPTO;
	}
	/* O_NONBLOCK so that a FIFO planted at the path cannot hang us. */
	fd = open(master_path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0) {
		int e = errno;
		if (e == ELOOP) {
			sf_crypto_reason(errbuf, errlen, "master key file %s: is a symbolic link (refused)", master_path);
			return SF_ERR_KEY;
		}
		sf_crypto_reason(errbuf, errlen, "master key file %s: cannot open: %s", master_path, strerror(e));
		return SF_ERR_IO;
	}
	if (fstat(fd, &st) != 0) {
		sf_crypto_reason(errbuf, errlen, "master key file %s: cannot stat: %s", master_path, strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		sf_crypto_reason(errbuf, errlen, "master key file %s: is not a regular file", master_path);
		err = SF_ERR_KEY;
		goto out;
	}
	if (st.st_mode & (S_IRWXG | S_IRWXO)) {
		sf_crypto_reason(errbuf, errlen, "master key file %s: is accessible by group or others (mode %04o); chmod 600 it",
		       master_path, (unsigned)(st.st_mode & 07777));
		err = SF_ERR_KEY;
		goto out;
	}
	text = sodium_malloc(SF_MASTER_KEY_FILE_MAX + 1);
	if (!text) {
		sf_crypto_reason(errbuf, errlen, "master key file %s: out of memory", master_path);
		err = SF_ERR_NOMEM;
		goto out;
	}
	while (len < SF_MASTER_KEY_FILE_MAX + 1) {
		ssize_t r = read(fd, text + len, SF_MASTER_KEY_FILE_MAX + 1 - len);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			sf_crypto_reason(errbuf, errlen, "master key file %s: cannot read: %s", master_path, strerror(errno));
			goto out;
		}
		if (r == 0)
			break;
		len += (size_t)r;
	}
	if (len > SF_MASTER_KEY_FILE_MAX) {
		sf_crypto_reason(errbuf, errlen, "master key file %s: is larger than %d bytes", master_path,
		       SF_MASTER_KEY_FILE_MAX);
		err = SF_ERR_KEY;
		goto out;
	}
	kr = keyring_new();
	if (!kr) {
		sf_crypto_reason(errbuf, errlen, "master key file %s: out of memory", master_path);
		err = SF_ERR_NOMEM;
		goto out;
	}
	err = parse_key_file(master_path, text, len, kr->kr_master, &dev, errbuf, errlen);
	if (err)
		goto out;
	kr->kr_dev = dev;
	prot_none(kr->kr_master);
	*out = kr;
	kr = NULL;
out:
	if (fd >= 0)
		close(fd);
	if (text)
		sodium_free(text); /* wipes the key text */
	sf_keyring_free(kr);
	return err;
}

void sf_keyring_free(struct sf_keyring *kr)
{
	if (!kr)
		return;
	/* sodium_free makes the region writable, wipes it and unmaps it. */
	sodium_free(kr->kr_master);
	sodium_free(kr->kr_keys);
	pthread_rwlock_destroy(&kr->kr_lock);
	free(kr);
}

int sf_keyring_is_dev(const struct sf_keyring *kr)
{
	int dev;

	rdlock(kr);
	dev = kr->kr_dev;
	unlock(kr);
	return dev;
}

size_t sf_keyring_count(const struct sf_keyring *kr)
{
	size_t n;

	rdlock(kr);
	n = kr->kr_nkeys;
	unlock(kr);
	return n;
}

/* ==== data keys ==== */

/* Read lock (or write lock) held. */
static const struct sf_dkey *find_active(const struct sf_keyring *kr, uint32_t purpose)
{
	for (size_t i = 0; i < kr->kr_nkeys; i++)
		if (kr->kr_keys[i].dk_purpose == purpose && kr->kr_keys[i].dk_active)
			return &kr->kr_keys[i];
	return NULL;
}

static const struct sf_dkey *find_key(const struct sf_keyring *kr, uint32_t purpose, uint32_t id, uint32_t version)
{
	for (size_t i = 0; i < kr->kr_nkeys; i++) {
		const struct sf_dkey *k = &kr->kr_keys[i];
		if (k->dk_purpose == purpose && k->dk_id == id && k->dk_version == version)
			return k;
	}
	return NULL;
}

/* Is (id, version) already loaded under any purpose? Ids are unique per
 * purpose by convention, so a clash across purposes is refused too. */
static int have_id_version(const struct sf_keyring *kr, uint32_t id, uint32_t version)
{
	for (size_t i = 0; i < kr->kr_nkeys; i++)
		if (kr->kr_keys[i].dk_id == id && kr->kr_keys[i].dk_version == version)
			return 1;
	return 0;
}

enum sf_err sf_keyring_active(const struct sf_keyring *kr, enum sf_key_purpose purpose, uint32_t *id,
			      uint32_t *version)
{
	const struct sf_dkey *k;
	enum sf_err err = SF_ERR_KEY;

	if (!sf_keyring_purpose_valid((uint32_t)purpose))
		return SF_ERR_INVALID;
	rdlock(kr);
	k = find_active(kr, (uint32_t)purpose);
	if (k) {
		*id = k->dk_id;
		*version = k->dk_version;
		err = SF_OK;
	}
	unlock(kr);
	return err;
}

static void wrap_ad(unsigned char ad[WRAP_AD_LEN], uint32_t purpose, uint32_t id, uint32_t version)
{
	memcpy(ad, WRAP_AD_MAGIC, 8);
	put_u32be(ad + 8, purpose);
	put_u32be(ad + 12, id);
	put_u32be(ad + 16, version);
}

/* Wrap key under mk into wrapped[SF_WRAPPED_KEY_LEN]. The caller has made
 * mk readable. */
static enum sf_err wrap_with(const unsigned char *mk, const unsigned char *key, uint32_t purpose, uint32_t id,
			     uint32_t version, unsigned char *wrapped)
{
	unsigned char ad[WRAP_AD_LEN];
	unsigned long long clen = 0;

	wrap_ad(ad, purpose, id, version);
	randombytes_buf(wrapped, NONCE_LEN);
	if (crypto_aead_xchacha20poly1305_ietf_encrypt(wrapped + NONCE_LEN, &clen, key, SF_DATA_KEY_LEN, ad,
						       sizeof ad, NULL, wrapped, mk) != 0 ||
	    clen != SF_DATA_KEY_LEN + TAG_LEN)
		return SF_ERR_CRYPTO;
	return SF_OK;
}

/* Unwrap into key[SF_DATA_KEY_LEN]; SF_ERR_KEY when it does not open. */
static enum sf_err unwrap_with(const unsigned char *mk, const unsigned char *wrapped, size_t wlen, uint32_t purpose,
			       uint32_t id, uint32_t version, unsigned char *key)
{
	unsigned char ad[WRAP_AD_LEN];
	unsigned long long mlen = 0;

	if (!wrapped || wlen != SF_WRAPPED_KEY_LEN)
		return SF_ERR_KEY;
	wrap_ad(ad, purpose, id, version);
	if (crypto_aead_xchacha20poly1305_ietf_decrypt(key, &mlen, NULL, wrapped + NONCE_LEN, wlen - NONCE_LEN, ad,
						       sizeof ad, wrapped, mk) != 0 ||
	    mlen != SF_DATA_KEY_LEN) {
		sodium_memzero(key, SF_DATA_KEY_LEN);
		return SF_ERR_KEY;
	}
	return SF_OK;
}

/* wrap_with / unwrap_with with kr's master key, taking the lock and opening
 * the master key's guarded page only for the operation. */
static enum sf_err master_wrap(struct sf_keyring *kr, const unsigned char *key, uint32_t purpose, uint32_t id,
			       uint32_t version, unsigned char *wrapped)
{
	wrlock(kr);
	prot_ro(kr->kr_master);
	enum sf_err err = wrap_with(kr->kr_master, key, purpose, id, version, wrapped);
	prot_none(kr->kr_master);
	unlock(kr);
	return err;
}

static enum sf_err master_unwrap(struct sf_keyring *kr, const void *wrapped, size_t wlen, uint32_t purpose,
				 uint32_t id, uint32_t version, unsigned char *key)
{
	wrlock(kr);
	prot_ro(kr->kr_master);
	enum sf_err err = unwrap_with(kr->kr_master, wrapped, wlen, purpose, id, version, key);
	prot_none(kr->kr_master);
	unlock(kr);
	return err;
}

/* Add a key to the ring: either generate it (wrapped_in NULL; wrapped form
 * into *wrapped_out) or unwrap wrapped_in. */
static enum sf_err add_key(struct sf_keyring *kr, uint32_t purpose, uint32_t id, uint32_t version, int active,
			   const void *wrapped_in, size_t wlen, unsigned char **wrapped_out, size_t *wout_len)
{
	enum sf_err err = SF_OK;
	unsigned char *wrapped = NULL;
	struct sf_dkey *slot;

	if (!sf_keyring_purpose_valid(purpose))
		return SF_ERR_INVALID;
	if (!wrapped_in) {
		wrapped = malloc(SF_WRAPPED_KEY_LEN);
		if (!wrapped)
			return SF_ERR_NOMEM;
	}

	wrlock(kr);
	if (have_id_version(kr, id, version)) {
		err = SF_ERR_EXISTS;
		goto unlock;
	}
	if (kr->kr_nkeys >= SF_KEYRING_MAX_KEYS) {
		err = SF_ERR_LIMIT;
		goto unlock;
	}
	prot_rw(kr->kr_keys);
	prot_ro(kr->kr_master);
	slot = &kr->kr_keys[kr->kr_nkeys];
	if (wrapped_in) {
		err = unwrap_with(kr->kr_master, wrapped_in, wlen, purpose, id, version, slot->dk_key);
	} else {
		randombytes_buf(slot->dk_key, SF_DATA_KEY_LEN);
		err = wrap_with(kr->kr_master, slot->dk_key, purpose, id, version, wrapped);
	}
	prot_none(kr->kr_master);
	if (err) {
		sodium_memzero(slot, sizeof *slot);
	} else {
		slot->dk_purpose = purpose;
		slot->dk_id = id;
		slot->dk_version = version;
		slot->dk_active = active ? 1 : 0;
		if (active)
			for (size_t i = 0; i < kr->kr_nkeys; i++)
				if (kr->kr_keys[i].dk_purpose == purpose)
					kr->kr_keys[i].dk_active = 0;
		kr->kr_nkeys++;
	}
	prot_ro(kr->kr_keys);
unlock:
	unlock(kr);
	if (!err && wrapped_out) {
		*wrapped_out = wrapped;
		*wout_len = SF_WRAPPED_KEY_LEN;
		wrapped = NULL;
	}
	free(wrapped);
	return err;
}

enum sf_err sf_keyring_generate(struct sf_keyring *kr, enum sf_key_purpose purpose, uint32_t id, uint32_t version,
				int active, unsigned char **wrapped, size_t *wlen)
{
	*wrapped = NULL;
	*wlen = 0;
	return add_key(kr, (uint32_t)purpose, id, version, active, NULL, 0, wrapped, wlen);
}

enum sf_err sf_keyring_add_wrapped(struct sf_keyring *kr, enum sf_key_purpose purpose, uint32_t id,
				   uint32_t version, int active, const void *wrapped, size_t wlen)
{
	if (!wrapped)
		return SF_ERR_KEY;
	return add_key(kr, (uint32_t)purpose, id, version, active, wrapped, wlen, NULL, NULL);
}

enum sf_err sf_keyring_wrap_new(struct sf_keyring *kr, enum sf_key_purpose purpose, uint32_t id,
				uint32_t version, unsigned char **wrapped, size_t *wlen)
{
	enum sf_err err;
	unsigned char *key = NULL, *w = NULL;

	*wrapped = NULL;
	*wlen = 0;
	if (!sf_keyring_purpose_valid((uint32_t)purpose))
		return SF_ERR_INVALID;
	key = sodium_malloc(SF_DATA_KEY_LEN);
	w = malloc(SF_WRAPPED_KEY_LEN);
	if (!key || !w) {
		err = SF_ERR_NOMEM;
		goto out;
	}
	randombytes_buf(key, SF_DATA_KEY_LEN);
	err = master_wrap(kr, key, (uint32_t)purpose, id, version, w);
	if (err)
		goto out;
	*wrapped = w;
	*wlen = SF_WRAPPED_KEY_LEN;
	w = NULL;
out:
	sodium_free(key);
	free(w);
	return err;
}

enum sf_err sf_keyring_check_wrapped(struct sf_keyring *kr, enum sf_key_purpose purpose, uint32_t id,
				     uint32_t version, const void *wrapped, size_t wlen)
{
	enum sf_err err;
	unsigned char *key = sodium_malloc(SF_DATA_KEY_LEN);

	if (!key)
		return SF_ERR_NOMEM;
	err = master_unwrap(kr, wrapped, wlen, (uint32_t)purpose, id, version, key);
	sodium_free(key);
	return err;
}

enum sf_err sf_keyring_rewrap_key(struct sf_keyring *kr, struct sf_keyring *to, enum sf_key_purpose purpose,
				  uint32_t id, uint32_t version, const void *wrapped, size_t wlen,
				  unsigned char **out, size_t *outlen)
{
	enum sf_err err;
	unsigned char *key = NULL, *w = NULL;

	*out = NULL;
	*outlen = 0;
	if (kr == to)
		return SF_ERR_INVALID;
	key = sodium_malloc(SF_DATA_KEY_LEN);
	w = malloc(SF_WRAPPED_KEY_LEN);
	if (!key || !w) {
		err = SF_ERR_NOMEM;
		goto out;
	}
	err = master_unwrap(kr, wrapped, wlen, (uint32_t)purpose, id, version, key);
	if (err)
		goto out;
	err = master_wrap(to, key, (uint32_t)purpose, id, version, w);
	if (err)
		goto out;
	*out = w;
	*outlen = SF_WRAPPED_KEY_LEN;
	w = NULL;
out:
	sodium_free(key);
	free(w);
	return err;
}

void sf_keyring_clear(struct sf_keyring *kr)
{
	wrlock(kr);
	prot_rw(kr->kr_keys);
	sodium_memzero(kr->kr_keys, SF_KEYRING_MAX_KEYS * sizeof *kr->kr_keys);
	kr->kr_nkeys = 0;
	prot_ro(kr->kr_keys);
	unlock(kr);
}

void sf_keyring_swap_master(struct sf_keyring *kr, struct sf_keyring *from)
{
	unsigned char *mk;
	int dev;

	if (kr == from)
		return;
	/* Lock in address order so two concurrent swaps cannot deadlock. */
	if (kr < from) {
		wrlock(kr);
		wrlock(from);
	} else {
		wrlock(from);
		wrlock(kr);
	}
	mk = kr->kr_master;
	kr->kr_master = from->kr_master;
	from->kr_master = mk;
	dev = kr->kr_dev;
	kr->kr_dev = from->kr_dev;
	from->kr_dev = dev;
	unlock(from);
	unlock(kr);
}

/* ==== sealing ==== */

/* Build AD = hdr | table NUL column NUL row_id i64be into ad; returns its
 * length or 0 when a name is missing or too long. */
static size_t seal_ad(unsigned char *ad, const unsigned char *hdr, const char *table, const char *column,
		      int64_t row_id)
{
	size_t tl, cl, n = 0;

	if (!table || !column)
		return 0;
	tl = strnlen(table, SF_SEAL_MAX_NAME + 1);
	cl = strnlen(column, SF_SEAL_MAX_NAME + 1);
	if (tl == 0 || cl == 0 || tl > SF_SEAL_MAX_NAME || cl > SF_SEAL_MAX_NAME)
		return 0;
	memcpy(ad, hdr, SEAL_HDR_LEN);
	n += SEAL_HDR_LEN;
	memcpy(ad + n, table, tl);
	n += tl;
	ad[n++] = 0;
	memcpy(ad + n, column, cl);
	n += cl;
	ad[n++] = 0;
	put_i64be(ad + n, row_id);
	n += 8;
	return n;
}

#define SEAL_AD_MAX (SEAL_HDR_LEN + 2 * (SF_SEAL_MAX_NAME + 1) + 8)

enum sf_err sf_seal(const struct sf_keyring *kr, const char *table, const char *column, int64_t row_id,
		    const void *pt, size_t ptlen, unsigned char **out, size_t *outlen)
{
	enum sf_err err = SF_OK;
	unsigned char ad[SEAL_AD_MAX], hdr[SEAL_HDR_LEN];
	unsigned char *buf = NULL;
	const unsigned char empty = 0;
	const struct sf_dkey *k;
	unsigned long long clen = 0;
	size_t adlen;

	*out = NULL;
	*outlen = 0;
	if (ptlen > SF_SEAL_MAX_PLAINTEXT)
		return SF_ERR_TOO_LARGE;
	if (!pt && ptlen > 0)
		return SF_ERR_INVALID;
	if (!pt)
		pt = &empty;
	buf = malloc(ptlen + SF_SEAL_OVERHEAD);
	if (!buf)
		return SF_ERR_NOMEM;

	rdlock(kr);
	k = find_active(kr, SF_KEY_FIELD);
	if (!k) {
		err = SF_ERR_KEY;
		goto unlock;
	}
	memcpy(hdr, SEAL_MAGIC, SEAL_MAGIC_LEN);
	put_u32be(hdr + SEAL_MAGIC_LEN, k->dk_id);
	put_u32be(hdr + SEAL_MAGIC_LEN + 4, k->dk_version);
	adlen = seal_ad(ad, hdr, table, column, row_id);
	if (adlen == 0) {
		err = SF_ERR_INVALID;
		goto unlock;
	}
	memcpy(buf, hdr, SEAL_HDR_LEN);
	randombytes_buf(buf + SEAL_HDR_LEN, NONCE_LEN);
	if (crypto_aead_xchacha20poly1305_ietf_encrypt(buf + SEAL_HDR_LEN + NONCE_LEN, &clen, pt, ptlen, ad, adlen,
						       NULL, buf + SEAL_HDR_LEN, k->dk_key) != 0 ||
	    clen != ptlen + TAG_LEN)
		err = SF_ERR_CRYPTO;
unlock:
	unlock(kr);
	if (err) {
		free(buf);
		return err;
	}
	*out = buf;
	*outlen = ptlen + SF_SEAL_OVERHEAD;
	return SF_OK;
}

enum sf_err sf_sealed_key(const void *ct, size_t ctlen, uint32_t *id, uint32_t *version)
{
	const unsigned char *c = ct;

	if (!c || ctlen < SF_SEAL_OVERHEAD || memcmp(c, SEAL_MAGIC, SEAL_MAGIC_LEN) != 0)
		return SF_ERR_TAMPERED;
	*id = get_u32be(c + SEAL_MAGIC_LEN);
	*version = get_u32be(c + SEAL_MAGIC_LEN + 4);
	return SF_OK;
}

enum sf_err sf_unseal_to(const struct sf_keyring *kr, const char *table, const char *column, int64_t row_id,
			 const void *ct, size_t ctlen, char *buf, size_t cap, size_t *ptlen)
{
	enum sf_err err;
	const unsigned char *c = ct;
	unsigned char ad[SEAL_AD_MAX];
	const struct sf_dkey *k;
	unsigned long long mlen = 0;
	uint32_t id, version;
	size_t adlen, n;

	*ptlen = 0;
	err = sf_sealed_key(ct, ctlen, &id, &version);
	if (err)
		return err;
	n = ctlen - SF_SEAL_OVERHEAD;
	if (n > SF_SEAL_MAX_PLAINTEXT || n >= cap)
		return SF_ERR_TOO_LARGE;
	adlen = seal_ad(ad, c, table, column, row_id);
	if (adlen == 0)
		return SF_ERR_INVALID;

	rdlock(kr);
	k = find_key(kr, SF_KEY_FIELD, id, version);
	if (!k)
		err = SF_ERR_KEY;
	else if (crypto_aead_xchacha20poly1305_ietf_decrypt((unsigned char *)buf, &mlen, NULL,
							    c + SEAL_HDR_LEN + NONCE_LEN,
							    ctlen - SEAL_HDR_LEN - NONCE_LEN, ad, adlen,
							    c + SEAL_HDR_LEN, k->dk_key) != 0 ||
		 mlen != n)
		err = SF_ERR_TAMPERED;
	unlock(kr);
	if (err) {
		sodium_memzero(buf, cap);
		return err;
	}
	buf[n] = '\0';
	*ptlen = n;
	return SF_OK;
}

enum sf_err sf_unseal(const struct sf_keyring *kr, const char *table, const char *column, int64_t row_id,
		      const void *ct, size_t ctlen, char **pt, size_t *ptlen)
{
	uint32_t id, version;
	char *buf;

	*pt = NULL;
	*ptlen = 0;
	enum sf_err err = sf_sealed_key(ct, ctlen, &id, &version);
	if (err)
		return err;
	size_t n = ctlen - SF_SEAL_OVERHEAD;
	if (n > SF_SEAL_MAX_PLAINTEXT)
		return SF_ERR_TOO_LARGE;
	buf = sodium_malloc(n + 1);
	if (!buf)
		return SF_ERR_NOMEM;
	err = sf_unseal_to(kr, table, column, row_id, ct, ctlen, buf, n + 1, ptlen);
	if (err) {
		sodium_free(buf);
		return err;
	}
	*pt = buf;
	return SF_OK;
}

void sf_unsealed_free(char *pt, size_t ptlen)
{
	if (!pt)
		return;
	sodium_memzero(pt, ptlen);
	sodium_free(pt); /* also wipes the whole region */
}

/* ==== keyed hashes ==== */

static enum sf_err keyed_hash(const struct sf_keyring *kr, uint32_t purpose, const void *prefix, size_t prefix_len,
			      const void *msg, size_t n, unsigned char out[32])
{
	crypto_generichash_state st;
	const struct sf_dkey *k;
	enum sf_err err = SF_OK;

	rdlock(kr);
	k = find_active(kr, purpose);
	if (!k) {
		err = SF_ERR_KEY;
		goto unlock;
	}
	if (crypto_generichash_init(&st, k->dk_key, SF_DATA_KEY_LEN, 32) != 0 ||
	    (prefix_len && crypto_generichash_update(&st, prefix, prefix_len) != 0) ||
	    (n && crypto_generichash_update(&st, msg, n) != 0) || crypto_generichash_final(&st, out, 32) != 0)
		err = SF_ERR_CRYPTO;
	sodium_memzero(&st, sizeof st); /* the state holds key-derived bytes */
unlock:
	unlock(kr);
	return err;
}

enum sf_err sf_blind_index(const struct sf_keyring *kr, const char *domain, const void *value, size_t n,
			   unsigned char out[SF_BLIND_INDEX_LEN])
{
	if (!domain || (!value && n > 0))
		return SF_ERR_INVALID;
	/* domain NUL value: include the domain's terminating NUL. */
	return keyed_hash(kr, SF_KEY_INDEX, domain, strlen(domain) + 1, value, n, out);
}

enum sf_err sf_keyring_mac(const struct sf_keyring *kr, enum sf_key_purpose purpose, const void *msg, size_t n,
			   unsigned char out[SF_MAC_LEN])
{
	if (!sf_keyring_purpose_valid((uint32_t)purpose) || (!msg && n > 0))
		return SF_ERR_INVALID;
	return keyed_hash(kr, (uint32_t)purpose, NULL, 0, msg, n, out);
}
