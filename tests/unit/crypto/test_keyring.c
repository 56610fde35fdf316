/*
 * test_keyring.c — master key files, data key wrapping, field sealing, blind
 * indexes and MACs (src/crypto/keyring.c), without a database.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crypto/keyring.h"
#include "sf_test.h"

static char tmpdir[96];

static int setup(void **state)
{
	(void)state;
	if (sf_test_mkdtemp(tmpdir, sizeof tmpdir, "keyring") != 0)
		return -1;
	return sodium_init() < 0 ? -1 : 0;
}

static int teardown(void **state)
{
	(void)state;
	return sf_test_rmtree(tmpdir);
}

#define path_in(out, n, name) sf_test_path(out, n, tmpdir, name)

static void write_file(const char *path, const void *data, size_t n, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	assert_true(fd >= 0);
	assert_int_equal(fchmod(fd, mode), 0);
	assert_int_equal(write(fd, data, n), (ssize_t)n);
	close(fd);
}

static size_t read_file(const char *path, char *buf, size_t cap)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t r;
	assert_true(fd >= 0);
	r = read(fd, buf, cap - 1);
	close(fd);
	assert_true(r >= 0);
	buf[r] = 0;
	return (size_t)r;
}

/* A keyring from a fresh master key file with one active key per purpose. */
static struct sf_keyring *make_ring(const char *name)
{
	char path[256], err[256];
	struct sf_keyring *kr = NULL;
	unsigned char *w = NULL;
	size_t wlen = 0;

	path_in(path, sizeof path, name);
	unlink(path);
	assert_int_equal(sf_master_key_create(path, 1), SF_OK);
	assert_int_equal(sf_keyring_open(path, &kr, err, sizeof err), SF_OK);
	for (uint32_t p = SF_KEY_FIELD; p <= SF_KEY_AUDIT; p++) {
		assert_int_equal(sf_keyring_generate(kr, (enum sf_key_purpose)p, p, 1, 1, &w, &wlen), SF_OK);
		assert_int_equal(wlen, SF_WRAPPED_KEY_LEN);
		free(w);
	}
	return kr;
}

/* ==== master key file ==== */

static void test_master_create_and_open(void **state)
{
	char path[256], err[256] = "", text[512];
	struct sf_keyring *kr = NULL;
	struct stat st;
	size_t n;

	(void)state;
	for (int dev = 0; dev <= 1; dev++) {
		path_in(path, sizeof path, dev ? "mk-dev" : "mk-prod");
		assert_int_equal(sf_master_key_create(path, dev), SF_OK);
		assert_int_equal(lstat(path, &st), 0);
		assert_true(S_ISREG(st.st_mode));
		assert_int_equal(st.st_mode & 07777, 0600);

		n = read_file(path, text, sizeof text);
		assert_true(strncmp(text, "storefort-master-key v1\n", 24) == 0);
		assert_non_null(strstr(text, dev ? "\nkind: development\n" : "\nkind: production\n"));
		assert_non_null(strstr(text, "\nkey: "));
		/* header 24 + kind line + "key: " + 44 base64 + LF */
		assert_int_equal(n, 24 + (dev ? 18 : 17) + 5 + 44 + 1);
		assert_int_equal(text[n - 1], '\n');
		assert_int_equal(text[n - 2], '=');

		assert_int_equal(sf_keyring_open(path, &kr, err, sizeof err), SF_OK);
		assert_non_null(kr);
		assert_int_equal(sf_keyring_is_dev(kr), dev);
		assert_int_equal(sf_keyring_count(kr), 0);
		sf_keyring_free(kr);
		kr = NULL;

		/* O_EXCL: an existing file is never overwritten. */
		assert_int_equal(sf_master_key_create(path, dev), SF_ERR_EXISTS);
		assert_int_equal(read_file(path, err, sizeof err) > 0, 1);
		assert_string_equal(err, text);
	}
	/* Two files hold different keys. */
	{
		char a[512], b[512];
		path_in(path, sizeof path, "mk-dev");
		read_file(path, a, sizeof a);
		path_in(path, sizeof path, "mk-dev2");
		assert_int_equal(sf_master_key_create(path, 1), SF_OK);
		read_file(path, b, sizeof b);
		assert_string_not_equal(a, b);
	}
	/* A missing directory is an I/O error; a symlink at the path is refused. */
	path_in(path, sizeof path, "no-such-dir/mk");
	assert_int_equal(sf_master_key_create(path, 0), SF_ERR_IO);
	{
		char target[256];
		path_in(target, sizeof target, "mk-link-target");
		path_in(path, sizeof path, "mk-link");
		assert_int_equal(symlink(target, path), 0);
		assert_int_equal(sf_master_key_create(path, 0), SF_ERR_EXISTS);
		assert_int_equal(access(target, F_OK), -1);
		unlink(path);
	}
	assert_int_equal(sf_master_key_create(NULL, 0), SF_ERR_INVALID);
}

struct bad_file {
	const char *name;
	const char *content; /* NULL: built by the test */
	mode_t mode;
	enum sf_err want;
	const char *reason; /* substring expected in errbuf */
};

static void expect_open_fails(const char *path, enum sf_err want, const char *why, const char *secret)
{
	char err[512] = "";
	struct sf_keyring *kr = (struct sf_keyring *)(uintptr_t)1;

	assert_int_equal(sf_keyring_open(path, &kr, err, sizeof err), want);
	assert_null(kr);
	if (!strstr(err, why) || !strstr(err, path))
		fail_msg("reason '%s' should name '%s' and '%s'", err, path, why);
	if (secret && *secret && strstr(err, secret))
		fail_msg("reason '%s' leaks key material", err);
}

static void b64_of(size_t nbytes, char *out, size_t outlen)
{
	unsigned char raw[64];
	assert_true(nbytes <= sizeof raw);
	randombytes_buf(raw, nbytes);
	sodium_bin2base64(out, outlen, raw, nbytes, sodium_base64_VARIANT_ORIGINAL);
}

/* tmpl with its (at most one) "%s" replaced by key; returns the length. */
static size_t fill(char *out, size_t cap, const char *tmpl, const char *key)
{
	const char *at = strstr(tmpl, "%s");
	size_t n = strlen(tmpl), k = strlen(key);

	if (!at) {
		assert_true(n < cap);
		memcpy(out, tmpl, n + 1);
		return n;
	}
	assert_true(n - 2 + k < cap);
	memcpy(out, tmpl, (size_t)(at - tmpl));
	memcpy(out + (at - tmpl), key, k);
	memcpy(out + (at - tmpl) + k, at + 2, strlen(at + 2) + 1);
	return n - 2 + k;
}

static void test_master_malformed(void **state)
{
	char path[256], text[8192], b64[128], good_b64[128];
	(void)state;

	b64_of(32, good_b64, sizeof good_b64);

	static const struct bad_file cases[] = {
		{"bad-header", "storefort-master-key v2\nkind: production\nkey: %s\n", 0600, SF_ERR_KEY, "first line"},
		{"bad-header2", "xstorefort-master-key v1\nkind: production\nkey: %s\n", 0600, SF_ERR_KEY, "first line"},
		{"crlf", "storefort-master-key v1\r\nkind: production\r\nkey: %s\r\n", 0600, SF_ERR_KEY, "first line"},
		{"bad-kind", "storefort-master-key v1\nkind: staging\nkey: %s\n", 0600, SF_ERR_KEY, "unknown kind"},
		{"kind-case", "storefort-master-key v1\nkind: Production\nkey: %s\n", 0600, SF_ERR_KEY, "unknown kind"},
		{"no-kind", "storefort-master-key v1\nkey: %s\n", 0600, SF_ERR_KEY, "second line"},
		{"no-key-line", "storefort-master-key v1\nkind: production\n", 0600, SF_ERR_KEY, "third line"},
		{"no-newline", "storefort-master-key v1\nkind: production\nkey: %s", 0600, SF_ERR_KEY, "third line"},
		{"trailing", "storefort-master-key v1\nkind: production\nkey: %s\n\n", 0600, SF_ERR_KEY, "after the key"},
		{"trailing2", "storefort-master-key v1\nkind: production\nkey: %s\nkey: x\n", 0600, SF_ERR_KEY,
		 "after the key"},
		{"space-key", "storefort-master-key v1\nkind: production\nkey:  %s\n", 0600, SF_ERR_KEY, "base64"},
		{"empty-key", "storefort-master-key v1\nkind: production\nkey: \n", 0600, SF_ERR_KEY, "empty"},
		{"bad-b64", "storefort-master-key v1\nkind: production\nkey: !!!!%s\n", 0600, SF_ERR_KEY, "base64"},
		{"empty", "", 0600, SF_ERR_KEY, "empty"},
		{"loose-mode", "storefort-master-key v1\nkind: production\nkey: %s\n", 0644, SF_ERR_KEY, "chmod 600"},
		{"group-mode", "storefort-master-key v1\nkind: production\nkey: %s\n", 0640, SF_ERR_KEY, "group"},
	};

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		size_t n = fill(text, sizeof text, cases[i].content, good_b64);
		path_in(path, sizeof path, cases[i].name);
		write_file(path, text, n, cases[i].mode);
		expect_open_fails(path, cases[i].want, cases[i].reason, good_b64);
	}

	/* Keys of the wrong length. */
	static const size_t lens[] = {0, 1, 16, 31, 33, 48};
	for (size_t li = 0; li < sizeof lens / sizeof lens[0]; li++) {
		size_t len = lens[li];
		b64_of(len, b64, sizeof b64);
		snprintf(text, sizeof text, "storefort-master-key v1\nkind: development\nkey: %s\n", b64);
		path_in(path, sizeof path, "wrong-len");
		write_file(path, text, strlen(text), 0600);
		if (len == 0) {
			expect_open_fails(path, SF_ERR_KEY, "empty", NULL);
		} else {
			char want[64];
			snprintf(want, sizeof want, "is %zu bytes, expected 32", len);
			expect_open_fails(path, SF_ERR_KEY, want, b64);
		}
	}
	/* URL-safe base64 is not the original variant. */
	{
		unsigned char raw[32];
		memset(raw, 0xfb, sizeof raw); /* encodes with '+' / '/' in the original variant */
		sodium_bin2base64(b64, sizeof b64, raw, sizeof raw, sodium_base64_VARIANT_URLSAFE);
		snprintf(text, sizeof text, "storefort-master-key v1\nkind: development\nkey: %s\n", b64);
		path_in(path, sizeof path, "urlsafe");
		write_file(path, text, strlen(text), 0600);
		expect_open_fails(path, SF_ERR_KEY, "base64", NULL);
	}
	/* A valid file padded past 4 KiB. */
	{
		int n = snprintf(text, sizeof text, "storefort-master-key v1\nkind: production\nkey: %s\n", good_b64);
		memset(text + n, '\n', sizeof text - (size_t)n);
		path_in(path, sizeof path, "huge");
		write_file(path, text, SF_MASTER_KEY_FILE_MAX + 1, 0600);
		expect_open_fails(path, SF_ERR_KEY, "larger than", good_b64);
	}
	/* A symlink to a valid file is refused (O_NOFOLLOW). */
	{
		char target[256];
		path_in(target, sizeof target, "good");
		snprintf(text, sizeof text, "storefort-master-key v1\nkind: production\nkey: %s\n", good_b64);
		write_file(target, text, strlen(text), 0600);
		{
			struct sf_keyring *kr = NULL;
			assert_int_equal(sf_keyring_open(target, &kr, NULL, 0), SF_OK);
			assert_int_equal(sf_keyring_is_dev(kr), 0);
			sf_keyring_free(kr);
		}
		path_in(path, sizeof path, "symlink");
		assert_int_equal(symlink(target, path), 0);
		expect_open_fails(path, SF_ERR_KEY, "symbolic link", NULL);
	}
	/* Missing file, a directory. */
	path_in(path, sizeof path, "missing");
	expect_open_fails(path, SF_ERR_IO, "cannot open", NULL);
	path_in(path, sizeof path, "a-dir");
	assert_int_equal(mkdir(path, 0700), 0);
	expect_open_fails(path, SF_ERR_KEY, "not a regular file", NULL);
	/* A FIFO does not hang the open. */
	path_in(path, sizeof path, "fifo");
	assert_int_equal(mkfifo(path, 0600), 0);
	expect_open_fails(path, SF_ERR_KEY, "not a regular file", NULL);
	{
		struct sf_keyring *kr = NULL;
		assert_int_equal(sf_keyring_open(NULL, &kr, NULL, 0), SF_ERR_INVALID);
	}
}

/* ==== sealing ==== */

static void roundtrip(struct sf_keyring *kr, const void *pt, size_t n)
{
	unsigned char *ct = NULL;
	size_t ctlen = 0, outlen = 0;
	char *out = NULL;

	assert_int_equal(sf_seal(kr, "customers", "phone", 42, pt, n, &ct, &ctlen), SF_OK);
	assert_int_equal(ctlen, n + SF_SEAL_OVERHEAD);
	assert_memory_equal(ct, "sf1", 3);
	if (n >= 8)
		assert_true(memmem(ct, ctlen, pt, 8) == NULL); /* not stored in clear */
	assert_int_equal(sf_unseal(kr, "customers", "phone", 42, ct, ctlen, &out, &outlen), SF_OK);
	assert_int_equal(outlen, n);
	if (n)
		assert_memory_equal(out, pt, n);
	assert_int_equal(out[n], '\0');
	sf_unsealed_free(out, outlen);
	free(ct);
}

static void test_seal_roundtrip(void **state)
{
	struct sf_keyring *kr = make_ring("mk-seal");
	unsigned char *big = malloc(64 * 1024);
	static const char binary[] = {'a', 0, 'b', 0, 0, '\xff', 'c'};

	(void)state;
	assert_non_null(big);
	randombytes_buf(big, 64 * 1024);
	roundtrip(kr, NULL, 0);
	roundtrip(kr, "", 0);
	roundtrip(kr, "x", 1);
	roundtrip(kr, "+49 30 1234567", 14);
	roundtrip(kr, binary, sizeof binary);
	roundtrip(kr, big, 64 * 1024);
	free(big);
	sf_keyring_free(kr);
}

static void test_seal_nonce_random(void **state)
{
	struct sf_keyring *kr = make_ring("mk-nonce");
	unsigned char *a = NULL, *b = NULL;
	size_t alen, blen;

	(void)state;
	assert_int_equal(sf_seal(kr, "t", "c", 1, "same", 4, &a, &alen), SF_OK);
	assert_int_equal(sf_seal(kr, "t", "c", 1, "same", 4, &b, &blen), SF_OK);
	assert_int_equal(alen, blen);
	assert_memory_equal(a, b, 11); /* same header */
	assert_memory_not_equal(a + 11, b + 11, 24); /* different nonce */
	assert_memory_not_equal(a + 35, b + 35, alen - 35);
	free(a);
	free(b);
	sf_keyring_free(kr);
}

static void test_seal_tamper_every_byte(void **state)
{
	struct sf_keyring *kr = make_ring("mk-tamper");
	unsigned char *ct = NULL, *copy;
	size_t ctlen = 0, ptlen;
	char *pt;
	static const unsigned char flips[] = {0x01, 0x80, 0xff};

	(void)state;
	assert_int_equal(sf_seal(kr, "customers", "national_id", 7, "AB123456C", 9, &ct, &ctlen), SF_OK);
	copy = malloc(ctlen + 1);
	assert_non_null(copy);
	for (size_t i = 0; i < ctlen; i++) {
		for (size_t f = 0; f < sizeof flips; f++) {
			enum sf_err err;
			memcpy(copy, ct, ctlen);
			copy[i] ^= flips[f];
			pt = (char *)"unchanged";
			err = sf_unseal(kr, "customers", "national_id", 7, copy, ctlen, &pt, &ptlen);
			assert_null(pt);
			if (i >= 3 && i < 11)
				assert_true(err == SF_ERR_KEY || err == SF_ERR_TAMPERED); /* key id / version */
			else
				assert_int_equal(err, SF_ERR_TAMPERED);
		}
	}
	/* Truncated at every length. */
	for (size_t len = 0; len < ctlen; len++) {
		pt = NULL;
		assert_int_equal(sf_unseal(kr, "customers", "national_id", 7, ct, len, &pt, &ptlen), SF_ERR_TAMPERED);
		assert_null(pt);
	}
	/* Extended by one byte. */
	memcpy(copy, ct, ctlen);
	copy[ctlen] = 0;
	assert_int_equal(sf_unseal(kr, "customers", "national_id", 7, copy, ctlen + 1, &pt, &ptlen),
			 SF_ERR_TAMPERED);
	assert_int_equal(sf_unseal(kr, "customers", "national_id", 7, NULL, 0, &pt, &ptlen), SF_ERR_TAMPERED);
	/* The original still opens. */
	assert_int_equal(sf_unseal(kr, "customers", "national_id", 7, ct, ctlen, &pt, &ptlen), SF_OK);
	assert_string_equal(pt, "AB123456C");
	sf_unsealed_free(pt, ptlen);
	free(copy);
	free(ct);
	sf_keyring_free(kr);
}

/* sf_unseal_to: the caller's buffer, exact fit, too small, altered, moved. */
static void test_unseal_to(void **state)
{
	struct sf_keyring *kr = make_ring("mk-unseal-to");
	unsigned char *ct = NULL;
	size_t ctlen = 0, n = 99;
	char buf[16];

	(void)state;
	assert_int_equal(sf_seal(kr, "orders", "email", 9, "a@b.example", 11, &ct, &ctlen), SF_OK);
	assert_int_equal(sf_unseal_to(kr, "orders", "email", 9, ct, ctlen, buf, 12, &n), SF_OK);
	assert_int_equal(n, 11);
	assert_string_equal(buf, "a@b.example");
	/* plaintext + NUL must fit */
	assert_int_equal(sf_unseal_to(kr, "orders", "email", 9, ct, ctlen, buf, 11, &n), SF_ERR_TOO_LARGE);
	assert_int_equal(n, 0);
	/* another row does not open, and nothing is left in the buffer */
	memset(buf, 'x', sizeof buf);
	assert_int_equal(sf_unseal_to(kr, "orders", "email", 10, ct, ctlen, buf, sizeof buf, &n), SF_ERR_TAMPERED);
	for (size_t i = 0; i < sizeof buf; i++)
		assert_int_equal(buf[i], 0);
	ct[ctlen - 1] ^= 1;
	assert_int_equal(sf_unseal_to(kr, "orders", "email", 9, ct, ctlen, buf, sizeof buf, &n), SF_ERR_TAMPERED);
	assert_int_equal(sf_unseal_to(kr, "orders", "email", 9, ct, 3, buf, sizeof buf, &n), SF_ERR_TAMPERED);
	free(ct);
	sf_keyring_free(kr);
}

static void test_seal_moved(void **state)
{
	struct sf_keyring *kr = make_ring("mk-moved");
	unsigned char *ct = NULL;
	size_t ctlen = 0, ptlen;
	char *pt = NULL;

	(void)state;
	assert_int_equal(sf_seal(kr, "ab", "c", 5, "secret", 6, &ct, &ctlen), SF_OK);
	assert_int_equal(sf_unseal(kr, "ab", "c", 6, ct, ctlen, &pt, &ptlen), SF_ERR_TAMPERED);
	assert_int_equal(sf_unseal(kr, "ab", "c", -5, ct, ctlen, &pt, &ptlen), SF_ERR_TAMPERED);
	assert_int_equal(sf_unseal(kr, "ab", "d", 5, ct, ctlen, &pt, &ptlen), SF_ERR_TAMPERED);
	assert_int_equal(sf_unseal(kr, "ax", "c", 5, ct, ctlen, &pt, &ptlen), SF_ERR_TAMPERED);
	/* The NUL separators keep the boundary between table and column. */
	assert_int_equal(sf_unseal(kr, "a", "bc", 5, ct, ctlen, &pt, &ptlen), SF_ERR_TAMPERED);
	assert_null(pt);
	assert_int_equal(sf_unseal(kr, "ab", "c", 5, ct, ctlen, &pt, &ptlen), SF_OK);
	assert_string_equal(pt, "secret");
	sf_unsealed_free(pt, ptlen);
	free(ct);

	/* Negative and extreme row ids are fine. */
	assert_int_equal(sf_seal(kr, "t", "c", INT64_MIN, "v", 1, &ct, &ctlen), SF_OK);
	assert_int_equal(sf_unseal(kr, "t", "c", INT64_MAX, ct, ctlen, &pt, &ptlen), SF_ERR_TAMPERED);
	assert_int_equal(sf_unseal(kr, "t", "c", INT64_MIN, ct, ctlen, &pt, &ptlen), SF_OK);
	sf_unsealed_free(pt, ptlen);
	free(ct);
	sf_keyring_free(kr);
}

static void test_seal_invalid_args(void **state)
{
	struct sf_keyring *kr = make_ring("mk-args");
	unsigned char *ct = (unsigned char *)"x";
	size_t ctlen = 1;
	char longname[SF_SEAL_MAX_NAME + 2];
	char okname[SF_SEAL_MAX_NAME + 1];

	(void)state;
	memset(longname, 'n', sizeof longname - 1);
	longname[sizeof longname - 1] = 0;
	memset(okname, 'n', sizeof okname - 1);
	okname[sizeof okname - 1] = 0;
	assert_int_equal(sf_seal(kr, longname, "c", 1, "v", 1, &ct, &ctlen), SF_ERR_INVALID);
	assert_null(ct);
	assert_int_equal(ctlen, 0);
	assert_int_equal(sf_seal(kr, "t", longname, 1, "v", 1, &ct, &ctlen), SF_ERR_INVALID);
	assert_int_equal(sf_seal(kr, "", "c", 1, "v", 1, &ct, &ctlen), SF_ERR_INVALID);
	assert_int_equal(sf_seal(kr, NULL, "c", 1, "v", 1, &ct, &ctlen), SF_ERR_INVALID);
	assert_int_equal(sf_seal(kr, "t", "c", 1, NULL, 3, &ct, &ctlen), SF_ERR_INVALID);
	assert_int_equal(sf_seal(kr, "t", "c", 1, "v", SF_SEAL_MAX_PLAINTEXT + 1, &ct, &ctlen), SF_ERR_TOO_LARGE);
	/* The longest allowed names work. */
	assert_int_equal(sf_seal(kr, okname, okname, 1, "v", 1, &ct, &ctlen), SF_OK);
	{
		char *pt = NULL;
		size_t ptlen = 0;
		assert_int_equal(sf_unseal(kr, okname, longname, 1, ct, ctlen, &pt, &ptlen), SF_ERR_INVALID);
		assert_int_equal(sf_unseal(kr, okname, okname, 1, ct, ctlen, &pt, &ptlen), SF_OK);
		sf_unsealed_free(pt, ptlen);
	}
	free(ct);
	sf_keyring_free(kr);
	sf_unsealed_free(NULL, 0);
}

static void test_seal_unknown_key(void **state)
{
	struct sf_keyring *kr = make_ring("mk-unknown");
	unsigned char *ct = NULL;
	size_t ctlen = 0, ptlen;
	uint32_t id = 0, version = 0;
	char *pt = NULL, path[256];
	struct sf_keyring *empty = NULL;

	(void)state;
	assert_int_equal(sf_seal(kr, "t", "c", 1, "v", 1, &ct, &ctlen), SF_OK);
	assert_int_equal(sf_sealed_key(ct, ctlen, &id, &version), SF_OK);
	assert_int_equal(id, SF_KEY_FIELD);
	assert_int_equal(version, 1);
	ct[10] = 9; /* version 9 */
	assert_int_equal(sf_sealed_key(ct, ctlen, &id, &version), SF_OK);
	assert_int_equal(version, 9);
	assert_int_equal(sf_unseal(kr, "t", "c", 1, ct, ctlen, &pt, &ptlen), SF_ERR_KEY);
	ct[10] = 1;
	ct[6] = 2; /* id 2 = the index key's id: not a field key */
	assert_int_equal(sf_unseal(kr, "t", "c", 1, ct, ctlen, &pt, &ptlen), SF_ERR_KEY);
	ct[6] = 1;
	assert_int_equal(sf_sealed_key(ct, SF_SEAL_OVERHEAD - 1, &id, &version), SF_ERR_TAMPERED);
	ct[0] = 'x';
	assert_int_equal(sf_sealed_key(ct, ctlen, &id, &version), SF_ERR_TAMPERED);
	ct[0] = 's';

	/* A ring with no data keys cannot seal or open. */
	path_in(path, sizeof path, "mk-unknown");
	assert_int_equal(sf_keyring_open(path, &empty, NULL, 0), SF_OK);
	assert_int_equal(sf_unseal(empty, "t", "c", 1, ct, ctlen, &pt, &ptlen), SF_ERR_KEY);
	{
		unsigned char *ct2 = NULL, bi[SF_BLIND_INDEX_LEN], mac[SF_MAC_LEN];
		size_t l2 = 0;
		assert_int_equal(sf_seal(empty, "t", "c", 1, "v", 1, &ct2, &l2), SF_ERR_KEY);
		assert_null(ct2);
		assert_int_equal(sf_blind_index(empty, "email", "a", 1, bi), SF_ERR_KEY);
		assert_int_equal(sf_keyring_mac(empty, SF_KEY_AUDIT, "a", 1, mac), SF_ERR_KEY);
		assert_int_equal(sf_keyring_active(empty, SF_KEY_FIELD, &id, &version), SF_ERR_KEY);
	}
	sf_keyring_free(empty);
	free(ct);
	sf_keyring_free(kr);
}

static void test_other_master_key(void **state)
{
	struct sf_keyring *a = make_ring("mk-a"), *b = make_ring("mk-b");
	unsigned char *ct = NULL, *w = NULL;
	size_t ctlen = 0, ptlen, wlen = 0;
	char *pt = NULL;

	(void)state;
	/* Same id/version in both rings, different keys: b cannot open a's value. */
	assert_int_equal(sf_seal(a, "t", "c", 1, "value", 5, &ct, &ctlen), SF_OK);
	assert_int_equal(sf_unseal(b, "t", "c", 1, ct, ctlen, &pt, &ptlen), SF_ERR_TAMPERED);
	assert_null(pt);
	free(ct);

	/* A data key wrapped under a's master key does not unwrap under b's. */
	assert_int_equal(sf_keyring_generate(a, SF_KEY_FIELD, 1, 2, 0, &w, &wlen), SF_OK);
	assert_int_equal(sf_keyring_add_wrapped(b, SF_KEY_FIELD, 1, 2, 0, w, wlen), SF_ERR_KEY);
	assert_int_equal(sf_keyring_count(b), 3);
	free(w);
	sf_keyring_free(a);
	sf_keyring_free(b);
}

static void test_wrapped_keys(void **state)
{
	struct sf_keyring *a = make_ring("mk-wrap"), *a2 = NULL;
	unsigned char *w = NULL, *bad;
	unsigned char *ct = NULL;
	size_t wlen = 0, ctlen = 0, ptlen = 0;
	char path[256], *pt = NULL;

	(void)state;
	assert_int_equal(sf_keyring_generate(a, SF_KEY_FIELD, 1, 2, 1, &w, &wlen), SF_OK);
	assert_int_equal(sf_seal(a, "t", "c", 3, "hello", 5, &ct, &ctlen), SF_OK);

	/* A second ring on the same master file unwraps it and opens the value. */
	path_in(path, sizeof path, "mk-wrap");
	assert_int_equal(sf_keyring_open(path, &a2, NULL, 0), SF_OK);
	/* Bound to purpose, id and version by the AD. */
	assert_int_equal(sf_keyring_add_wrapped(a2, SF_KEY_INDEX, 1, 2, 1, w, wlen), SF_ERR_KEY);
	assert_int_equal(sf_keyring_add_wrapped(a2, SF_KEY_FIELD, 1, 3, 1, w, wlen), SF_ERR_KEY);
	assert_int_equal(sf_keyring_add_wrapped(a2, SF_KEY_FIELD, 7, 2, 1, w, wlen), SF_ERR_KEY);
	/* Truncated, altered, NULL. */
	assert_int_equal(sf_keyring_add_wrapped(a2, SF_KEY_FIELD, 1, 2, 1, w, wlen - 1), SF_ERR_KEY);
	assert_int_equal(sf_keyring_add_wrapped(a2, SF_KEY_FIELD, 1, 2, 1, NULL, 0), SF_ERR_KEY);
	bad = malloc(wlen);
	assert_non_null(bad);
	for (size_t i = 0; i < wlen; i++) {
		memcpy(bad, w, wlen);
		bad[i] ^= 0x20;
		assert_int_equal(sf_keyring_add_wrapped(a2, SF_KEY_FIELD, 1, 2, 1, bad, wlen), SF_ERR_KEY);
	}
	free(bad);
	assert_int_equal(sf_keyring_count(a2), 0);
	assert_int_equal(sf_keyring_add_wrapped(a2, SF_KEY_FIELD, 1, 2, 1, w, wlen), SF_OK);
	assert_int_equal(sf_unseal(a2, "t", "c", 3, ct, ctlen, &pt, &ptlen), SF_OK);
	assert_string_equal(pt, "hello");
	sf_unsealed_free(pt, ptlen);

	/* Duplicates and bad purposes. */
	assert_int_equal(sf_keyring_add_wrapped(a2, SF_KEY_FIELD, 1, 2, 1, w, wlen), SF_ERR_EXISTS);
	free(w);
	assert_int_equal(sf_keyring_generate(a2, SF_KEY_FIELD, 1, 2, 1, &w, &wlen), SF_ERR_EXISTS);
	assert_null(w);
	assert_int_equal(sf_keyring_generate(a2, (enum sf_key_purpose)4, 4, 1, 1, &w, &wlen), SF_ERR_INVALID);
	assert_int_equal(sf_keyring_generate(a2, (enum sf_key_purpose)0, 0, 1, 1, &w, &wlen), SF_ERR_INVALID);
	assert_null(w);
	free(ct);
	sf_keyring_free(a2);
	sf_keyring_free(a);
}

static void test_rotation_in_memory(void **state)
{
	struct sf_keyring *kr = make_ring("mk-rot");
	unsigned char *v1 = NULL, *v2 = NULL, *w = NULL;
	size_t l1 = 0, l2 = 0, wlen = 0, ptlen = 0;
	uint32_t id = 0, version = 0;
	char *pt = NULL;

	(void)state;
	assert_int_equal(sf_seal(kr, "t", "c", 1, "old", 3, &v1, &l1), SF_OK);
	assert_int_equal(sf_keyring_generate(kr, SF_KEY_FIELD, SF_KEY_FIELD, 2, 1, &w, &wlen), SF_OK);
	free(w);
	assert_int_equal(sf_keyring_active(kr, SF_KEY_FIELD, &id, &version), SF_OK);
	assert_int_equal(id, SF_KEY_FIELD);
	assert_int_equal(version, 2);
	assert_int_equal(sf_seal(kr, "t", "c", 1, "new", 3, &v2, &l2), SF_OK);
	assert_int_equal(sf_sealed_key(v1, l1, &id, &version), SF_OK);
	assert_int_equal(version, 1);
	assert_int_equal(sf_sealed_key(v2, l2, &id, &version), SF_OK);
	assert_int_equal(id, SF_KEY_FIELD);
	assert_int_equal(version, 2);
	assert_int_equal(sf_unseal(kr, "t", "c", 1, v1, l1, &pt, &ptlen), SF_OK);
	assert_string_equal(pt, "old");
	sf_unsealed_free(pt, ptlen);
	assert_int_equal(sf_unseal(kr, "t", "c", 1, v2, l2, &pt, &ptlen), SF_OK);
	assert_string_equal(pt, "new");
	sf_unsealed_free(pt, ptlen);

	/* An inactive key added later does not take over. */
	assert_int_equal(sf_keyring_generate(kr, SF_KEY_FIELD, SF_KEY_FIELD, 3, 0, &w, &wlen), SF_OK);
	free(w);
	assert_int_equal(sf_keyring_active(kr, SF_KEY_FIELD, &id, &version), SF_OK);
	assert_int_equal(version, 2);
	/* Other purposes are untouched. */
	assert_int_equal(sf_keyring_active(kr, SF_KEY_INDEX, &id, &version), SF_OK);
	assert_int_equal(version, 1);
	assert_int_equal(sf_keyring_active(kr, (enum sf_key_purpose)9, &id, &version), SF_ERR_INVALID);
	assert_int_equal(sf_keyring_count(kr), 5);
	free(v1);
	free(v2);
	sf_keyring_free(kr);
}

static void test_ring_limit(void **state)
{
	struct sf_keyring *kr = make_ring("mk-limit");
	unsigned char *w = NULL;
	size_t wlen = 0;

	(void)state;
	for (uint32_t v = 2; sf_keyring_count(kr) < SF_KEYRING_MAX_KEYS; v++) {
		assert_int_equal(sf_keyring_generate(kr, SF_KEY_AUDIT, SF_KEY_AUDIT, v, 1, &w, &wlen), SF_OK);
		free(w);
	}
	assert_int_equal(sf_keyring_generate(kr, SF_KEY_AUDIT, SF_KEY_AUDIT, 100000, 1, &w, &wlen), SF_ERR_LIMIT);
	assert_null(w);
	sf_keyring_free(kr);
}

/* ==== keyed hashes ==== */

static void test_blind_index(void **state)
{
	struct sf_keyring *a = make_ring("mk-bi-a"), *b = make_ring("mk-bi-b");
	unsigned char x[SF_BLIND_INDEX_LEN], y[SF_BLIND_INDEX_LEN], z[SF_BLIND_INDEX_LEN];
	unsigned char *w = NULL;
	size_t wlen = 0;

	(void)state;
	assert_int_equal(sf_blind_index(a, "email", "ann@example.com", 15, x), SF_OK);
	assert_int_equal(sf_blind_index(a, "email", "ann@example.com", 15, y), SF_OK);
	assert_memory_equal(x, y, sizeof x);
	assert_int_equal(sf_ct_compare(x, y, sizeof x), 0);
	/* differs by value, domain, key */
	assert_int_equal(sf_blind_index(a, "email", "ann@example.con", 15, z), SF_OK);
	assert_memory_not_equal(x, z, sizeof x);
	assert_int_not_equal(sf_ct_compare(x, z, sizeof x), 0);
	assert_int_equal(sf_blind_index(a, "phone", "ann@example.com", 15, z), SF_OK);
	assert_memory_not_equal(x, z, sizeof x);
	assert_int_equal(sf_blind_index(b, "email", "ann@example.com", 15, z), SF_OK);
	assert_memory_not_equal(x, z, sizeof x);
	/* domain NUL value: "ab"+"c" differs from "a"+"bc" */
	assert_int_equal(sf_blind_index(a, "ab", "c", 1, y), SF_OK);
	assert_int_equal(sf_blind_index(a, "a", "bc", 2, z), SF_OK);
	assert_memory_not_equal(y, z, sizeof y);
	/* An empty value is allowed (NULL with n == 0 too). */
	assert_int_equal(sf_blind_index(a, "email", "", 0, y), SF_OK);
	assert_int_equal(sf_blind_index(a, "email", NULL, 0, z), SF_OK);
	assert_memory_equal(y, z, sizeof y);
	assert_int_equal(sf_blind_index(a, NULL, "x", 1, z), SF_ERR_INVALID);
	assert_int_equal(sf_blind_index(a, "email", NULL, 1, z), SF_ERR_INVALID);
	/* A rotated index key changes the index (blind indexes use the active key). */
	assert_int_equal(sf_keyring_generate(a, SF_KEY_INDEX, SF_KEY_INDEX, 2, 1, &w, &wlen), SF_OK);
	free(w);
	assert_int_equal(sf_blind_index(a, "email", "ann@example.com", 15, z), SF_OK);
	assert_memory_not_equal(x, z, sizeof x);
	sf_keyring_free(a);
	sf_keyring_free(b);
}

static void test_mac(void **state)
{
	struct sf_keyring *a = make_ring("mk-mac-a"), *b = make_ring("mk-mac-b");
	unsigned char x[SF_MAC_LEN], y[SF_MAC_LEN];

	(void)state;
	assert_int_equal(sf_keyring_mac(a, SF_KEY_AUDIT, "entry", 5, x), SF_OK);
	assert_int_equal(sf_keyring_mac(a, SF_KEY_AUDIT, "entry", 5, y), SF_OK);
	assert_memory_equal(x, y, sizeof x);
	assert_int_equal(sf_keyring_mac(a, SF_KEY_AUDIT, "entrz", 5, y), SF_OK);
	assert_memory_not_equal(x, y, sizeof x);
	assert_int_equal(sf_keyring_mac(a, SF_KEY_FIELD, "entry", 5, y), SF_OK);
	assert_memory_not_equal(x, y, sizeof x);
	assert_int_equal(sf_keyring_mac(b, SF_KEY_AUDIT, "entry", 5, y), SF_OK);
	assert_memory_not_equal(x, y, sizeof x);
	assert_int_equal(sf_keyring_mac(a, (enum sf_key_purpose)0, "entry", 5, y), SF_ERR_INVALID);
	assert_int_equal(sf_keyring_mac(a, SF_KEY_AUDIT, NULL, 5, y), SF_ERR_INVALID);
	assert_int_equal(sf_keyring_mac(a, SF_KEY_AUDIT, NULL, 0, y), SF_OK);
	sf_keyring_free(a);
	sf_keyring_free(b);
}

static void test_ct_compare(void **state)
{
	(void)state;
	assert_int_equal(sf_ct_compare("abcd", "abcd", 4), 0);
	assert_int_equal(sf_ct_compare("abcd", "abce", 4), -1);
	assert_int_equal(sf_ct_compare("xbcd", "abcd", 4), -1);
	assert_int_equal(sf_ct_compare("abcd", "abce", 3), 0);
	assert_int_equal(sf_ct_compare("", "", 0), 0);
}

/* ==== threads: seal/unseal while the field key rotates ==== */

struct worker {
	struct sf_keyring *kr;
	int id;
	int failures;
};

static void *worker_main(void *arg)
{
	struct worker *wk = arg;
	char msg[32], *pt;
	unsigned char *ct, bi[SF_BLIND_INDEX_LEN];
	size_t ctlen, ptlen;

	for (int i = 0; i < 300; i++) {
		int n = snprintf(msg, sizeof msg, "w%d-%d", wk->id, i);
		if (sf_seal(wk->kr, "t", "c", i, msg, (size_t)n, &ct, &ctlen) != SF_OK) {
			wk->failures++;
			continue;
		}
		if (sf_unseal(wk->kr, "t", "c", i, ct, ctlen, &pt, &ptlen) != SF_OK) {
			wk->failures++;
		} else {
			if (ptlen != (size_t)n || memcmp(pt, msg, ptlen) != 0)
				wk->failures++;
			sf_unsealed_free(pt, ptlen);
		}
		if (sf_blind_index(wk->kr, "d", msg, (size_t)n, bi) != SF_OK)
			wk->failures++;
		free(ct);
	}
	return NULL;
}

static void test_threads(void **state)
{
	struct sf_keyring *kr = make_ring("mk-threads");
	struct worker wk[4];
	pthread_t th[4];
	unsigned char *w;
	size_t wlen;
	uint32_t id, version;

	(void)state;
	for (int i = 0; i < 4; i++) {
		wk[i] = (struct worker){.kr = kr, .id = i};
		assert_int_equal(pthread_create(&th[i], NULL, worker_main, &wk[i]), 0);
	}
	for (uint32_t v = 2; v <= 30; v++) {
		assert_int_equal(sf_keyring_generate(kr, SF_KEY_FIELD, SF_KEY_FIELD, v, 1, &w, &wlen), SF_OK);
		free(w);
	}
	for (int i = 0; i < 4; i++) {
		assert_int_equal(pthread_join(th[i], NULL), 0);
		assert_int_equal(wk[i].failures, 0);
	}
	assert_int_equal(sf_keyring_active(kr, SF_KEY_FIELD, &id, &version), SF_OK);
	assert_int_equal(version, 30);
	sf_keyring_free(kr);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_master_create_and_open),
		cmocka_unit_test(test_master_malformed),
		cmocka_unit_test(test_seal_roundtrip),
		cmocka_unit_test(test_seal_nonce_random),
		cmocka_unit_test(test_seal_tamper_every_byte),
		cmocka_unit_test(test_seal_moved),
		cmocka_unit_test(test_unseal_to),
		cmocka_unit_test(test_seal_invalid_args),
		cmocka_unit_test(test_seal_unknown_key),
		cmocka_unit_test(test_other_master_key),
		cmocka_unit_test(test_wrapped_keys),
		cmocka_unit_test(test_rotation_in_memory),
		cmocka_unit_test(test_ring_limit),
		cmocka_unit_test(test_blind_index),
		cmocka_unit_test(test_mac),
		cmocka_unit_test(test_ct_compare),
		cmocka_unit_test(test_threads),
	};
	return cmocka_run_group_tests_name("crypto_keyring", tests, setup, teardown);
}
