/*
 * test_keystore.c — data keys stored in the database (src/crypto/keystore.c)
 * on a temporary SQLite file: first-time creation, reload, wrong master key,
 * rotation of a purpose's key and rewrap under a new master key.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <ftw.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crypto/keyring.h"
#include "sf_test.h"
#include "db/db.h"

static char tmpdir[96];

static int setup(void **state)
{
	(void)state;
	if (sf_test_mkdtemp(tmpdir, sizeof tmpdir, "keystore") != 0)
		return -1;
	return sodium_init() < 0 ? -1 : 0;
}

static int teardown(void **state)
{
	(void)state;
	return sf_test_rmtree(tmpdir);
}

#define path_in(out, n, name) sf_test_path(out, n, tmpdir, name)
#define open_db(name) sf_test_db_open(tmpdir, name)
#define open_ring(name, create, dev) sf_test_ring_open(tmpdir, name, create, dev)
#define load_ring(db, name) sf_test_ring_load(db, tmpdir, name)

/* Stored rows, in KEY_LIST order (id, version). */
struct row {
	int64_t id, version, purpose, active;
	size_t wlen;
	unsigned char wrapped[SF_WRAPPED_KEY_LEN];
};

static size_t list_rows(struct sf_db *db, struct row *rows, size_t cap)
{
	struct sf_db_conn *c = sf_db_conn_get(db);
	struct sf_db_cursor *cur = NULL;
	size_t n = 0;

	assert_non_null(c);
	assert_int_equal(sf_db_query(c, SF_STMT_KEY_LIST, NULL, 0, &cur), SF_DB_OK);
	while (sf_db_next(cur) == SF_DB_OK) {
		size_t wlen = 0;
		const void *w = sf_db_col_blob(cur, 3, &wlen);
		assert_true(n < cap);
		rows[n].id = sf_db_col_int(cur, 0);
		rows[n].version = sf_db_col_int(cur, 1);
		rows[n].purpose = sf_db_col_int(cur, 2);
		rows[n].active = sf_db_col_int(cur, 4);
		rows[n].wlen = wlen;
		assert_int_equal(wlen, SF_WRAPPED_KEY_LEN);
		memcpy(rows[n].wrapped, w, wlen);
		n++;
	}
	sf_db_cursor_close(cur);
	return n;
}

static void expect_active(struct sf_keyring *kr, enum sf_key_purpose p, uint32_t want_version)
{
	uint32_t id = 0, version = 0;

	assert_int_equal(sf_keyring_active(kr, p, &id, &version), SF_OK);
	assert_int_equal(id, (uint32_t)p);
	assert_int_equal(version, want_version);
}

static void seal(struct sf_keyring *kr, int64_t row, const char *v, unsigned char **ct, size_t *ctlen)
{
	assert_int_equal(sf_seal(kr, "customers", "phone", row, v, strlen(v), ct, ctlen), SF_OK);
}

static void expect_opens(struct sf_keyring *kr, int64_t row, const unsigned char *ct, size_t ctlen, const char *v)
{
	char *pt = NULL;
	size_t ptlen = 0;

	assert_int_equal(sf_unseal(kr, "customers", "phone", row, ct, ctlen, &pt, &ptlen), SF_OK);
	assert_string_equal(pt, v);
	sf_unsealed_free(pt, ptlen);
}

/* ==== tests ==== */

static void test_load_creates_then_reads_back(void **state)
{
	struct sf_db *db = open_db("load.db");
	struct sf_keyring *kr = open_ring("mk-load", 1, 1);
	struct row rows[8], rows2[8];
	unsigned char *ct = NULL, bi1[SF_BLIND_INDEX_LEN], bi2[SF_BLIND_INDEX_LEN];
	unsigned char mac1[SF_MAC_LEN], mac2[SF_MAC_LEN];
	size_t ctlen = 0, n;
	char err[256] = "";

	(void)state;
	assert_int_equal(sf_keystore_load(db, kr, err, sizeof err), SF_OK);
	assert_int_equal(sf_keyring_count(kr), 3);
	expect_active(kr, SF_KEY_FIELD, 1);
	expect_active(kr, SF_KEY_INDEX, 1);
	expect_active(kr, SF_KEY_AUDIT, 1);
	n = list_rows(db, rows, 8);
	assert_int_equal(n, 3);
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(rows[i].id, (int64_t)i + 1);
		assert_int_equal(rows[i].purpose, (int64_t)i + 1);
		assert_int_equal(rows[i].version, 1);
		assert_int_equal(rows[i].active, 1);
	}
	seal(kr, 1, "+49 30 1234567", &ct, &ctlen);
	assert_int_equal(sf_blind_index(kr, "email", "ann@example.com", 15, bi1), SF_OK);
	assert_int_equal(sf_keyring_mac(kr, SF_KEY_AUDIT, "entry", 5, mac1), SF_OK);

	/* Loading again (same ring) creates nothing and keeps the keys. */
	assert_int_equal(sf_keystore_load(db, kr, err, sizeof err), SF_OK);
	assert_int_equal(sf_keyring_count(kr), 3);
	expect_opens(kr, 1, ct, ctlen, "+49 30 1234567");
	sf_keyring_free(kr);

	/* A new ring on the same master key file reads the same keys back. */
	kr = load_ring(db, "mk-load");
	assert_int_equal(sf_keyring_count(kr), 3);
	assert_int_equal(sf_keyring_is_dev(kr), 1);
	expect_opens(kr, 1, ct, ctlen, "+49 30 1234567");
	assert_int_equal(sf_blind_index(kr, "email", "ann@example.com", 15, bi2), SF_OK);
	assert_memory_equal(bi1, bi2, sizeof bi1);
	assert_int_equal(sf_keyring_mac(kr, SF_KEY_AUDIT, "entry", 5, mac2), SF_OK);
	assert_memory_equal(mac1, mac2, sizeof mac1);
	n = list_rows(db, rows2, 8);
	assert_int_equal(n, 3);
	assert_memory_equal(rows, rows2, sizeof rows[0] * 3);

	free(ct);
	sf_keyring_free(kr);
	sf_db_close(db);
}

static void test_wrong_master_key(void **state)
{
	struct sf_db *db = open_db("wrong.db");
	struct sf_keyring *kr = open_ring("mk-right", 1, 0), *other = open_ring("mk-wrong", 1, 0);
	struct row before[8], after[8];
	char err[256] = "";

	(void)state;
	assert_int_equal(sf_keystore_load(db, kr, err, sizeof err), SF_OK);
	assert_int_equal(list_rows(db, before, 8), 3);
	assert_int_equal(sf_keystore_load(db, other, err, sizeof err), SF_ERR_KEY);
	if (!strstr(err, "does not open with this master key"))
		fail_msg("unclear reason: %s", err);
	assert_int_equal(sf_keyring_count(other), 0);
	/* Nothing was written. */
	assert_int_equal(list_rows(db, after, 8), 3);
	assert_memory_equal(before, after, sizeof before[0] * 3);
	sf_keyring_free(other);
	sf_keyring_free(kr);
	sf_db_close(db);
}

static void test_partial_store(void **state)
{
	struct sf_db *db = open_db("partial.db");
	struct sf_keyring *kr = open_ring("mk-partial", 1, 1);
	struct sf_db_conn *c = sf_db_conn_get(db);
	unsigned char *w = NULL;
	size_t wlen = 0;
	struct row rows[8];
	char err[256] = "";

	(void)state;
	/* Only a field key (version 4) is stored: load keeps it and creates the rest. */
	assert_int_equal(sf_keyring_generate(kr, SF_KEY_FIELD, SF_KEY_FIELD, 4, 1, &w, &wlen), SF_OK);
	{
		struct sf_db_param p[6] = {SF_DB_INT(1), SF_DB_INT(4), SF_DB_INT(1),
					   SF_DB_BLOB(w, wlen), SF_DB_INT(1), SF_DB_TEXT("2026-01-01T00:00:00Z")};
		assert_int_equal(sf_db_exec(c, SF_STMT_KEY_INSERT, p, 6, NULL), SF_DB_OK);
	}
	free(w);
	assert_int_equal(sf_keystore_load(db, kr, err, sizeof err), SF_OK);
	assert_int_equal(sf_keyring_count(kr), 3);
	expect_active(kr, SF_KEY_FIELD, 4);
	expect_active(kr, SF_KEY_INDEX, 1);
	assert_int_equal(list_rows(db, rows, 8), 3);
	sf_keyring_free(kr);
	sf_db_close(db);
}

static void test_malformed_row(void **state)
{
	struct sf_db *db = open_db("malformed.db");
	struct sf_keyring *kr = open_ring("mk-malformed", 1, 1);
	struct sf_db_conn *c = sf_db_conn_get(db);
	unsigned char junk[10] = {0};
	struct sf_db_param p[6] = {SF_DB_INT(1), SF_DB_INT(1), SF_DB_INT(1), SF_DB_BLOB(junk, sizeof junk),
				   SF_DB_INT(1), SF_DB_TEXT("2026-01-01T00:00:00Z")};
	char err[256] = "";

	(void)state;
	assert_int_equal(sf_db_exec(c, SF_STMT_KEY_INSERT, p, 6, NULL), SF_DB_OK);
	assert_int_equal(sf_keystore_load(db, kr, err, sizeof err), SF_ERR_KEY);
	assert_non_null(strstr(err, "malformed"));
	assert_int_equal(sf_keyring_count(kr), 0);
	sf_keyring_free(kr);
	sf_db_close(db);
}

static void test_rotate(void **state)
{
	struct sf_db *db = open_db("rotate.db");
	struct sf_keyring *kr = open_ring("mk-rotate", 1, 1);
	unsigned char *v1 = NULL, *v2 = NULL;
	size_t l1 = 0, l2 = 0, n;
	uint32_t id = 0, version = 0;
	struct row rows[8];
	char err[256] = "";

	(void)state;
	assert_int_equal(sf_keystore_load(db, kr, err, sizeof err), SF_OK);
	seal(kr, 9, "before", &v1, &l1);
	assert_int_equal(sf_keystore_rotate(db, kr, SF_KEY_FIELD), SF_OK);
	expect_active(kr, SF_KEY_FIELD, 2);
	expect_active(kr, SF_KEY_INDEX, 1);
	assert_int_equal(sf_keyring_count(kr), 4);
	seal(kr, 9, "after", &v2, &l2);
	assert_int_equal(sf_sealed_key(v2, l2, &id, &version), SF_OK);
	assert_int_equal(id, SF_KEY_FIELD);
	assert_int_equal(version, 2);
	expect_opens(kr, 9, v1, l1, "before");
	expect_opens(kr, 9, v2, l2, "after");

	/* Stored: field v1 inactive, v2 active. */
	n = list_rows(db, rows, 8);
	assert_int_equal(n, 4);
	assert_int_equal(rows[0].id, 1);
	assert_int_equal(rows[0].version, 1);
	assert_int_equal(rows[0].active, 0);
	assert_int_equal(rows[1].id, 1);
	assert_int_equal(rows[1].version, 2);
	assert_int_equal(rows[1].active, 1);
	assert_int_equal(rows[1].purpose, SF_KEY_FIELD);

	/* Twice more on the index key. */
	assert_int_equal(sf_keystore_rotate(db, kr, SF_KEY_INDEX), SF_OK);
	assert_int_equal(sf_keystore_rotate(db, kr, SF_KEY_INDEX), SF_OK);
	expect_active(kr, SF_KEY_INDEX, 3);
	assert_int_equal(sf_keystore_rotate(db, kr, (enum sf_key_purpose)7), SF_ERR_INVALID);
	sf_keyring_free(kr);

	/* A fresh ring sees the same state. */
	kr = load_ring(db, "mk-rotate");
	assert_int_equal(sf_keyring_count(kr), 6);
	expect_active(kr, SF_KEY_FIELD, 2);
	expect_active(kr, SF_KEY_INDEX, 3);
	expect_active(kr, SF_KEY_AUDIT, 1);
	expect_opens(kr, 9, v1, l1, "before");
	expect_opens(kr, 9, v2, l2, "after");
	free(v1);
	free(v2);
	sf_keyring_free(kr);
	sf_db_close(db);
}

static void test_rewrap(void **state)
{
	struct sf_db *db = open_db("rewrap.db");
	struct sf_keyring *kr = open_ring("mk-old", 1, 1), *kr2, *stranger;
	unsigned char *ct = NULL;
	size_t ctlen = 0;
	struct row before[8], after[8];
	char err[256] = "", path[256];

	(void)state;
	assert_int_equal(sf_keystore_load(db, kr, err, sizeof err), SF_OK);
	assert_int_equal(sf_keystore_rotate(db, kr, SF_KEY_AUDIT), SF_OK);
	seal(kr, 3, "keep me", &ct, &ctlen);
	assert_int_equal(list_rows(db, before, 8), 4);

	/* A missing new master file changes nothing. */
	path_in(path, sizeof path, "mk-missing");
	assert_int_equal(sf_keystore_rewrap(db, kr, path, err, sizeof err), SF_ERR_IO);
	assert_int_equal(list_rows(db, after, 8), 4);
	assert_memory_equal(before, after, sizeof before[0] * 4);

	/* Rewrap under a new (production) master key. */
	path_in(path, sizeof path, "mk-new");
	assert_int_equal(sf_master_key_create(path, 0), SF_OK);
	assert_int_equal(sf_keyring_is_dev(kr), 1);
	if (sf_keystore_rewrap(db, kr, path, err, sizeof err) != SF_OK)
		fail_msg("rewrap: %s", err);
	assert_int_equal(sf_keyring_is_dev(kr), 0);
	expect_opens(kr, 3, ct, ctlen, "keep me");
	assert_int_equal(list_rows(db, after, 8), 4);
	for (size_t i = 0; i < 4; i++) {
		assert_int_equal(after[i].id, before[i].id);
		assert_int_equal(after[i].version, before[i].version);
		assert_int_equal(after[i].active, before[i].active);
		assert_memory_not_equal(after[i].wrapped, before[i].wrapped, SF_WRAPPED_KEY_LEN);
	}

	/* The new master file opens the stored keys; the old one no longer does. */
	kr2 = load_ring(db, "mk-new");
	assert_int_equal(sf_keyring_count(kr2), 4);
	expect_opens(kr2, 3, ct, ctlen, "keep me");
	expect_active(kr2, SF_KEY_AUDIT, 2);
	sf_keyring_free(kr2);
	kr2 = open_ring("mk-old", 0, 0);
	assert_int_equal(sf_keystore_load(db, kr2, err, sizeof err), SF_ERR_KEY);
	assert_non_null(strstr(err, "does not open with this master key"));
	sf_keyring_free(kr2);

	/* Rewrap by a ring whose master key does not open the stored keys fails
	 * and writes nothing. */
	stranger = open_ring("mk-stranger", 1, 0);
	path_in(path, sizeof path, "mk-newer");
	assert_int_equal(sf_master_key_create(path, 0), SF_OK);
	assert_int_equal(sf_keystore_rewrap(db, stranger, path, err, sizeof err), SF_ERR_KEY);
	assert_int_equal(list_rows(db, before, 8), 4);
	assert_memory_equal(before, after, sizeof before[0] * 4);
	sf_keyring_free(stranger);

	/* The ring keeps working with the new master key for further rotations. */
	assert_int_equal(sf_keystore_rotate(db, kr, SF_KEY_FIELD), SF_OK);
	kr2 = load_ring(db, "mk-new");
	expect_active(kr2, SF_KEY_FIELD, 2);
	expect_opens(kr2, 3, ct, ctlen, "keep me");
	sf_keyring_free(kr2);

	free(ct);
	sf_keyring_free(kr);
	sf_db_close(db);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_load_creates_then_reads_back),
		cmocka_unit_test(test_wrong_master_key),
		cmocka_unit_test(test_partial_store),
		cmocka_unit_test(test_malformed_row),
		cmocka_unit_test(test_rotate),
		cmocka_unit_test(test_rewrap),
	};
	return cmocka_run_group_tests_name("crypto_keystore", tests, setup, teardown);
}
