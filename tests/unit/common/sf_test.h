/*
 * sf_test.h — fixtures shared by the unit tests: temporary folders, a
 * migrated SQLite database, a keyring with its data keys.  Failures abort
 * the current cmocka test with a message (fail_msg), so tests stay short.
 */
#ifndef SF_TEST_H
#define SF_TEST_H

#include <stddef.h>

struct sf_db;
struct sf_keyring;

/* Create /tmp/sf-test-<tag>-XXXXXX into out (at least 96 bytes); 0 or -1. */
int sf_test_mkdtemp(char *out, size_t n, const char *tag);
/* Remove dir and everything below it; 0 or -1. */
int sf_test_rmtree(const char *dir);
/* out = dir/name, asserting it fits. */
void sf_test_path(char *out, size_t n, const char *dir, const char *name);
/* Open (creating) dir/name as a SQLite database with every migration applied. */
struct sf_db *sf_test_db_open(const char *dir, const char *name);
/* Open the master key file dir/name, creating it first when create (dev marks
 * it as a development key). */
struct sf_keyring *sf_test_ring_open(const char *dir, const char *name, int create, int dev);
/* sf_test_ring_open of an existing key, then load (creating) the data keys
 * stored in db. */
struct sf_keyring *sf_test_ring_load(struct sf_db *db, const char *dir, const char *name);

#endif
