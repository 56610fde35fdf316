/* sf_test.c — the shared unit-test fixtures declared in sf_test.h. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "sf_test.h"

#include "crypto/keyring.h"
#include "db/db.h"

int sf_test_mkdtemp(char *out, size_t n, const char *tag)
{
	int w = snprintf(out, n, "/tmp/sf-test-%s-XXXXXX", tag);
	if (w < 0 || (size_t)w >= n)
		return -1;
	return mkdtemp(out) ? 0 : -1;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

int sf_test_rmtree(const char *dir)
{
	return nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

void sf_test_path(char *out, size_t n, const char *dir, const char *name)
{
	int w = snprintf(out, n, "%s/%s", dir, name);
	assert_true(w > 0 && (size_t)w < n);
}

struct sf_db *sf_test_db_open(const char *dir, const char *name)
{
	char path[512], err[256] = "";
	struct sf_db_options opt = {.backend = SF_DB_SQLITE, .path = path, .busy_timeout_ms = 5000, .create = 1};
	struct sf_db *db = NULL;
	int applied = 0;

	sf_test_path(path, sizeof path, dir, name);
	if (sf_db_open(&opt, &db, err, sizeof err) != SF_OK)
		fail_msg("sf_db_open %s: %s", path, err);
	if (sf_db_migrate(db, &applied, err, sizeof err) != SF_OK)
		fail_msg("sf_db_migrate %s: %s", path, err);
	return db;
}

struct sf_keyring *sf_test_ring_open(const char *dir, const char *name, int create, int dev)
{
	char path[512], err[256] = "";
	struct sf_keyring *kr = NULL;

	sf_test_path(path, sizeof path, dir, name);
	if (create)
		assert_int_equal(sf_master_key_create(path, dev), SF_OK);
	if (sf_keyring_open(path, &kr, err, sizeof err) != SF_OK)
		fail_msg("sf_keyring_open %s: %s", path, err);
	return kr;
}

struct sf_keyring *sf_test_ring_load(struct sf_db *db, const char *dir, const char *name)
{
	struct sf_keyring *kr = sf_test_ring_open(dir, name, 0, 0);
	char err[256] = "";

	if (sf_keystore_load(db, kr, err, sizeof err) != SF_OK)
		fail_msg("sf_keystore_load: %s", err);
	return kr;
}
