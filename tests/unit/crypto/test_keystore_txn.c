/*
 * test_keystore_txn.c — the keystore's transactions are safe to run again.
 *
 * sf_db_txn may roll back and re-run a callback (SF_DB_RETRY).  This test
 * includes keystore.c (h2o style) with sf_db_txn redirected to a wrapper that
 * makes the first runs of each callback end in a forced retry after it did
 * all its work, then checks that the outcome is the same as with one run:
 * no duplicate rows, the ring matches what was committed.  It also checks
 * that exhausting the retries writes nothing and leaves the ring as it was.
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

#include "db/db.h"
#include "sf_test.h"

/* ==== retry injection ==== */

static int inject_retries; /* forced retries per transaction */
static int callback_runs;  /* callback runs seen, across transactions */

struct flaky {
	sf_db_txn_fn fn;
	void *ctx;
	int left;
};

static enum sf_db_status flaky_fn(struct sf_db_conn *c, void *arg)
{
	struct flaky *f = arg;
	enum sf_db_status st = f->fn(c, f->ctx);

	callback_runs++;
	if ((st == SF_DB_OK || st == SF_DB_NO_ROWS) && f->left > 0) {
		f->left--;
		return SF_DB_RETRY; /* roll back what the callback wrote */
	}
	return st;
}

static enum sf_db_status flaky_txn(struct sf_db *db, sf_db_txn_fn fn, void *ctx, int max_tries)
{
	struct flaky f = {.fn = fn, .ctx = ctx, .left = inject_retries};

	return sf_db_txn(db, flaky_fn, &f, max_tries);
}

#define sf_db_txn flaky_txn
#include "crypto/keystore.c"
#undef sf_db_txn

/* ==== fixtures ==== */

static char tmpdir[96];

static int setup(void **state)
{
	(void)state;
	if (sf_test_mkdtemp(tmpdir, sizeof tmpdir, "kstxn") != 0)
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
#define open_ring(name, create) sf_test_ring_open(tmpdir, name, create, 1)

static size_t count_rows(struct sf_db *db)
{
	struct sf_db_cursor *cur = NULL;
	size_t n = 0;

	assert_int_equal(sf_db_query(sf_db_conn_get(db), SF_STMT_KEY_LIST, NULL, 0, &cur), SF_DB_OK);
	while (sf_db_next(cur) == SF_DB_OK)
		n++;
	sf_db_cursor_close(cur);
	return n;
}

static void expect_active(struct sf_keyring *kr, enum sf_key_purpose p, uint32_t want)
{
	uint32_t id = 0, version = 0;

	assert_int_equal(sf_keyring_active(kr, p, &id, &version), SF_OK);
	assert_int_equal(version, want);
}

/* ==== tests ==== */

static void test_retried_transactions(void **state)
{
	struct sf_db *db = open_db("retry.db");
	struct sf_keyring *kr = open_ring("mk", 1), *fresh;
	unsigned char *ct = NULL;
	size_t ctlen = 0, ptlen = 0;
	char err[256] = "", path[256], *pt = NULL;

	(void)state;
	inject_retries = 2;

	callback_runs = 0;
	assert_int_equal(sf_keystore_load(db, kr, err, sizeof err), SF_OK);
	assert_int_equal(callback_runs, 3);
	assert_int_equal(count_rows(db), 3);
	assert_int_equal(sf_keyring_count(kr), 3);

	/* The ring holds exactly the keys that were committed: a fresh ring
	 * opens what this one seals. */
	callback_runs = 0;
	assert_int_equal(sf_keystore_rotate(db, kr, SF_KEY_FIELD), SF_OK);
	assert_int_equal(callback_runs, 3);
	assert_int_equal(count_rows(db), 4);
	expect_active(kr, SF_KEY_FIELD, 2);
	assert_int_equal(sf_seal(kr, "t", "c", 1, "v2 value", 8, &ct, &ctlen), SF_OK);

	fresh = open_ring("mk", 0);
	assert_int_equal(sf_keystore_load(db, fresh, err, sizeof err), SF_OK);
	assert_int_equal(count_rows(db), 4);
	expect_active(fresh, SF_KEY_FIELD, 2);
	assert_int_equal(sf_unseal(fresh, "t", "c", 1, ct, ctlen, &pt, &ptlen), SF_OK);
	assert_string_equal(pt, "v2 value");
	sf_unsealed_free(pt, ptlen);
	sf_keyring_free(fresh);

	/* Rewrap re-run: the committed wrapping is the one the new key opens. */
	path_in(path, sizeof path, "mk-new");
	assert_int_equal(sf_master_key_create(path, 0), SF_OK);
	callback_runs = 0;
	assert_int_equal(sf_keystore_rewrap(db, kr, path, err, sizeof err), SF_OK);
	assert_int_equal(callback_runs, 3);
	fresh = open_ring("mk-new", 0);
	if (sf_keystore_load(db, fresh, err, sizeof err) != SF_OK)
		fail_msg("load after rewrap: %s", err);
	assert_int_equal(sf_keyring_count(fresh), 4);
	assert_int_equal(sf_unseal(fresh, "t", "c", 1, ct, ctlen, &pt, &ptlen), SF_OK);
	sf_unsealed_free(pt, ptlen);
	sf_keyring_free(fresh);

	free(ct);
	sf_keyring_free(kr);
	sf_db_close(db);
}

static void test_retries_exhausted(void **state)
{
	struct sf_db *db = open_db("exhaust.db");
	struct sf_keyring *kr = open_ring("mk-ex", 1);
	char err[256] = "";
	enum sf_err e;

	(void)state;
	inject_retries = 1000;
	e = sf_keystore_load(db, kr, err, sizeof err);
	assert_int_not_equal(e, SF_OK);
	assert_int_equal(count_rows(db), 0);
	assert_int_equal(sf_keyring_count(kr), 0);

	inject_retries = 0;
	assert_int_equal(sf_keystore_load(db, kr, err, sizeof err), SF_OK);
	inject_retries = 1000;
	assert_int_not_equal(sf_keystore_rotate(db, kr, SF_KEY_AUDIT), SF_OK);
	assert_int_equal(count_rows(db), 3);
	assert_int_equal(sf_keyring_count(kr), 3);
	expect_active(kr, SF_KEY_AUDIT, 1);
	inject_retries = 0;
	sf_keyring_free(kr);
	sf_db_close(db);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_retried_transactions),
		cmocka_unit_test(test_retries_exhausted),
	};
	return cmocka_run_group_tests_name("crypto_keystore_txn", tests, setup, teardown);
}
