/*
 * shop_fixture.h — a fresh catalog environment per test: a temporary
 * directory holding a migrated SQLite database, a development master key
 * with its data keys loaded, and a media directory.
 */
#ifndef SF_TEST_SHOP_FIXTURE_H
#define SF_TEST_SHOP_FIXTURE_H

#include <stddef.h>
#include <stdint.h>

#include "shop/catalog.h"

struct shop_fx {
	char dir[64];
	char media[128];
	struct sf_db *db;
	struct sf_keyring *kr;
};

/* cmocka setup/teardown: *state is a struct shop_fx. */
int shop_fx_setup(void **state);
int shop_fx_teardown(void **state);

/* Import csv (a string) as actor "test"; returns the import's result. */
enum sf_err shop_fx_import(struct shop_fx *f, const char *csv, struct sf_catalog_import_result *res);
/* The same for len raw bytes (may hold NUL bytes). */
enum sf_err shop_fx_import_n(struct shop_fx *f, const void *data, size_t len, struct sf_catalog_import_result *res);
/* Export the catalog into a malloc'd string (caller frees). */
char *shop_fx_export(struct shop_fx *f);
/* Number of audit events (the chain is verified on the way). */
int64_t shop_fx_audit_count(struct shop_fx *f);

#endif
