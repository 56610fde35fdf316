/*
 * test_catalog_cache.c — the catalog response cache (src/shop/catalog_cache.c):
 * hits and misses, version tagging, LRU bounds by entries and bytes, bodies
 * outliving eviction, the read-through fetch, the catalog version row and
 * its bump inside (and only inside) a committed transaction, and many
 * threads at once.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "db/db.h"
#include "shop/catalog_cache.h"
#include "shop_fixture.h"

static const char csv[] =
	"product_slug,product_name,category_path,description,sku,variant_name,price_minor,currency,stock,image\n"
	"teapot,Teapot,Home,Enamel,TP-1,,2500,EUR,1,\n";

static void test_put_get(void **state)
{
	(void)state;
	/* Room for many entries in every shard: with 16 entries (one per shard)
	 * the two entries counted at the end shared a shard one run in 16 (the
	 * shard comes from a keyed hash with a random key), and the second
	 * evicted the first. */
	struct sf_catalog_cache *cc = sf_catalog_cache_new(16 * 64, 1 << 20);
	assert_non_null(cc);
	const char *body, *etag, *b2, *e2;
	size_t len = 0;
	assert_int_equal(sf_catalog_cache_get(cc, SF_CC_API_LIST, "k", 1, 1, &body, &len, &etag), SF_ERR_NOT_FOUND);
	assert_int_equal(sf_catalog_cache_put(cc, SF_CC_API_LIST, "k", 1, 1, "{\"a\":1}", 7, &body, &etag), SF_OK);
	assert_string_equal(body, "{\"a\":1}");
	assert_int_equal(strlen(etag), SF_CC_ETAG_SIZE - 1);
	assert_int_equal(etag[0], '"');
	assert_int_equal(etag[SF_CC_ETAG_SIZE - 2], '"');
	assert_int_equal(sf_catalog_cache_get(cc, SF_CC_API_LIST, "k", 1, 1, &b2, &len, &e2), SF_OK);
	assert_ptr_equal(b2, body);
	assert_int_equal(len, 7);
	assert_string_equal(e2, etag);
	sf_catalog_cache_release((void *)(uintptr_t)b2);
	/* Kind is part of the key. */
	assert_int_equal(sf_catalog_cache_get(cc, SF_CC_API_PRODUCT, "k", 1, 1, &b2, &len, &e2), SF_ERR_NOT_FOUND);
	/* Another version: a miss, and the stale entry is gone for good. */
	assert_int_equal(sf_catalog_cache_get(cc, SF_CC_API_LIST, "k", 1, 2, &b2, &len, &e2), SF_ERR_NOT_FOUND);
	assert_int_equal(sf_catalog_cache_get(cc, SF_CC_API_LIST, "k", 1, 1, &b2, &len, &e2), SF_ERR_NOT_FOUND);
	/* The body handed out before is still readable (ASan would object). */
	assert_string_equal(body, "{\"a\":1}");
	sf_catalog_cache_release((void *)(uintptr_t)body);

	/* Same bytes, same ETag; other bytes, another one. */
	const char *x, *ex, *y, *ey;
	assert_int_equal(sf_catalog_cache_put(cc, SF_CC_API_LIST, "a", 1, 3, "same", 4, &x, &ex), SF_OK);
	assert_int_equal(sf_catalog_cache_put(cc, SF_CC_API_PRODUCT, "a", 1, 3, "same", 4, &y, &ey), SF_OK);
	assert_string_equal(ex, ey);
	sf_catalog_cache_release((void *)(uintptr_t)y);
	assert_int_equal(sf_catalog_cache_put(cc, SF_CC_API_PRODUCT, "a", 1, 3, "other", 5, &y, &ey), SF_OK);
	assert_string_not_equal(ex, ey);
	sf_catalog_cache_release((void *)(uintptr_t)x);
	sf_catalog_cache_release((void *)(uintptr_t)y);

	struct sf_catalog_cache_stats st;
	sf_catalog_cache_stats(cc, &st);
	assert_int_equal(st.entries, 2);
	assert_true(st.hits >= 1 && st.misses >= 4);
	sf_catalog_cache_free(cc);
}

static void test_bad_args(void **state)
{
	(void)state;
	assert_null(sf_catalog_cache_new(0, 100));
	assert_null(sf_catalog_cache_new(100, 0));
	struct sf_catalog_cache *cc = sf_catalog_cache_new(16, 1 << 20);
	const char *b, *e;
	size_t len;
	assert_int_equal(sf_catalog_cache_get(cc, SF_CC__COUNT, "k", 1, 1, &b, &len, &e), SF_ERR_INVALID);
	assert_int_equal(sf_catalog_cache_get(NULL, SF_CC_API_LIST, "k", 1, 1, &b, &len, &e), SF_ERR_INVALID);
	assert_int_equal(sf_catalog_cache_put(cc, (enum sf_cc_kind)99, "k", 1, 1, "x", 1, &b, &e), SF_ERR_INVALID);
	/* A key over SF_CC_KEY_MAX is never stored. */
	char big[SF_CC_KEY_MAX + 2];
	memset(big, 'k', sizeof big);
	assert_int_equal(sf_catalog_cache_put(cc, SF_CC_API_LIST, big, sizeof big, 1, "x", 1, &b, &e), SF_ERR_LIMIT);
	assert_int_equal(sf_catalog_cache_get(cc, SF_CC_API_LIST, big, sizeof big, 1, &b, &len, &e), SF_ERR_NOT_FOUND);
	sf_catalog_cache_release(NULL);
	sf_catalog_cache_free(cc);
	sf_catalog_cache_free(NULL);
}

static void test_bounds(void **state)
{
	(void)state;
	/* 16 shards of 2 entries each. */
	struct sf_catalog_cache *cc = sf_catalog_cache_new(32, 1 << 20);
	const char *b, *e;
	size_t len;
	char key[16];
	const char *first = NULL;
	for (int i = 0; i < 1000; i++) {
		int n = snprintf(key, sizeof key, "key-%d", i);
		assert_int_equal(sf_catalog_cache_put(cc, SF_CC_API_PRODUCT, key, (size_t)n, 1, key, (size_t)n, &b, &e),
				 SF_OK);
		if (i == 0)
			first = b; /* keep one body across its eviction */
		else
			sf_catalog_cache_release((void *)(uintptr_t)b);
	}
	struct sf_catalog_cache_stats st;
	sf_catalog_cache_stats(cc, &st);
	assert_true(st.entries <= 32);
	assert_true(st.evictions >= 1000 - 32);
	assert_string_equal(first, "key-0");
	sf_catalog_cache_release((void *)(uintptr_t)first);
	/* The most recent entry survives. */
	assert_int_equal(sf_catalog_cache_get(cc, SF_CC_API_PRODUCT, "key-999", 7, 1, &b, &len, &e), SF_OK);
	sf_catalog_cache_release((void *)(uintptr_t)b);
	sf_catalog_cache_free(cc);

	/* The byte bound: 16 shards of 4 KiB; bodies over a shard are refused. */
	cc = sf_catalog_cache_new(1000, 16 * 4096);
	char *body = calloc(1, 8192);
	assert_int_equal(sf_catalog_cache_put(cc, SF_CC_PAGE_HOME, "", 0, 1, body, 8192, &b, &e), SF_ERR_LIMIT);
	for (int i = 0; i < 200; i++) {
		int n = snprintf(key, sizeof key, "p%d", i);
		assert_int_equal(sf_catalog_cache_put(cc, SF_CC_PAGE_PRODUCT, key, (size_t)n, 1, body, 1500, &b, &e),
				 SF_OK);
		sf_catalog_cache_release((void *)(uintptr_t)b);
	}
	sf_catalog_cache_stats(cc, &st);
	assert_true(st.bytes <= 16 * 4096);
	assert_true(st.entries <= 16 * 2);
	free(body);
	sf_catalog_cache_free(cc);
}

static void test_lru_order(void **state)
{
	(void)state;
	/* One entry per shard at most: find two keys of one shard by trying. */
	struct sf_catalog_cache *cc = sf_catalog_cache_new(16 * 2, 1 << 20);
	const char *b, *e;
	size_t len;
	assert_int_equal(sf_catalog_cache_put(cc, SF_CC_API_LIST, "a", 1, 1, "A", 1, &b, &e), SF_OK);
	sf_catalog_cache_release((void *)(uintptr_t)b);
	/* Touch "a" repeatedly while filling: it stays, being the most used. */
	char key[16];
	for (int i = 0; i < 200; i++) {
		int n = snprintf(key, sizeof key, "f%d", i);
		assert_int_equal(sf_catalog_cache_get(cc, SF_CC_API_LIST, "a", 1, 1, &b, &len, &e), SF_OK);
		sf_catalog_cache_release((void *)(uintptr_t)b);
		assert_int_equal(sf_catalog_cache_put(cc, SF_CC_API_LIST, key, (size_t)n, 1, "F", 1, &b, &e), SF_OK);
		sf_catalog_cache_release((void *)(uintptr_t)b);
	}
	assert_int_equal(sf_catalog_cache_get(cc, SF_CC_API_LIST, "a", 1, 1, &b, &len, &e), SF_OK);
	sf_catalog_cache_release((void *)(uintptr_t)b);
	sf_catalog_cache_free(cc);
}

/* ==== The version and the read-through path ==== */

static int builds;
static enum sf_err build_err;

static enum sf_err build_counted(void *ctx, char **body, size_t *len)
{
	builds++;
	if (build_err)
		return build_err;
	*body = strdup(ctx);
	*len = strlen(ctx);
	return *body ? SF_OK : SF_ERR_NOMEM;
}

/* Bump the version through a connection of its own, outside storefort's db
 * layer: no after-commit notice reaches this process's cache. */
static void external_bump(struct shop_fx *f)
{
	char path[192];
	sqlite3 *h = NULL;
	snprintf(path, sizeof path, "%s/shop.db", f->dir);
	assert_int_equal(sqlite3_open(path, &h), SQLITE_OK);
	sqlite3_busy_timeout(h, 10000);
	assert_int_equal(sqlite3_exec(h,
				      "INSERT INTO meta(key, value) VALUES ('catalog_version', '1') ON CONFLICT(key) "
				      "DO UPDATE SET value = CAST(CAST(value AS INTEGER) + 1 AS TEXT)",
				      NULL, NULL, NULL),
			 SQLITE_OK);
	sqlite3_close(h);
}

static enum sf_db_status touch_txn(struct sf_db_conn *c, void *ctx)
{
	enum sf_db_status st = sf_catalog_touch(c);
	if (st < 0)
		return st;
	return ctx ? SF_DB_HARD : SF_DB_OK; /* ctx set: roll back */
}

static void test_version_and_fetch(void **state)
{
	struct shop_fx *f = *state;
	int64_t v0 = -1, v1 = -1, v2 = -1;
	assert_int_equal(sf_catalog_version(f->db, &v0), SF_OK);
	assert_int_equal(v0, 0);
	struct sf_catalog_import_result res;
	assert_int_equal(shop_fx_import(f, csv, &res), SF_OK);
	assert_int_equal(sf_catalog_version(f->db, &v1), SF_OK);
	assert_true(v1 > v0);
	/* A failed import bumps nothing. */
	assert_int_equal(shop_fx_import(f, "product_slug\nbad", &res), SF_ERR_CSV);
	assert_int_equal(sf_catalog_version(f->db, &v2), SF_OK);
	assert_int_equal(v2, v1);
	/* A rolled-back touch bumps nothing; a committed one does. */
	int rollback = 1;
	assert_true(sf_db_txn(f->db, touch_txn, &rollback, 1) < 0);
	assert_int_equal(sf_catalog_version(f->db, &v2), SF_OK);
	assert_int_equal(v2, v1);
	assert_true(sf_db_txn(f->db, touch_txn, NULL, 1) >= 0);
	assert_int_equal(sf_catalog_version(f->db, &v2), SF_OK);
	assert_int_equal(v2, v1 + 1);

	struct sf_catalog_cache *cc = sf_catalog_cache_new(64, 1 << 20);
	const char *body, *etag;
	size_t len;
	void (*body_free)(void *);
	builds = 0;
	build_err = SF_OK;
	for (int i = 0; i < 3; i++) {
		assert_int_equal(sf_catalog_cache_fetch(cc, f->db, SF_CC_API_CATEGORIES, "", 0, build_counted, "one",
							&body, &len, &body_free, &etag),
				 SF_OK);
		assert_int_equal(len, 3);
		assert_memory_equal(body, "one", 3);
		assert_non_null(etag);
		assert_ptr_equal(body_free, sf_catalog_cache_release);
		body_free((void *)(uintptr_t)body);
	}
	assert_int_equal(builds, 1);
	/* A catalog write (as another process would commit it) invalidates. */
	assert_true(sf_db_txn(f->db, touch_txn, NULL, 1) >= 0);
	assert_int_equal(sf_catalog_cache_fetch(cc, f->db, SF_CC_API_CATEGORIES, "", 0, build_counted, "two", &body,
						&len, &body_free, &etag),
			 SF_OK);
	assert_memory_equal(body, "two", 3);
	body_free((void *)(uintptr_t)body);
	assert_int_equal(builds, 2);
	/* That was seen at once because the commit was this process's own (its
	 * after-commit notice); the version was not re-read for the hits. */
	/* A commit by another process (a raw connection bumping the row, as the
	 * CLI's `catalog import` would) is seen within SF_CC_RECHECK_MS. */
	external_bump(f);
	long long waited = 0;
	for (;;) {
		assert_int_equal(sf_catalog_cache_fetch(cc, f->db, SF_CC_API_CATEGORIES, "", 0, build_counted, "ext",
							&body, &len, &body_free, &etag),
				 SF_OK);
		int fresh = len == 3 && !memcmp(body, "ext", 3);
		body_free((void *)(uintptr_t)body);
		if (fresh)
			break;
		assert_true(waited <= SF_CC_RECHECK_MS + 100);
		struct timespec ts = { 0, 10 * 1000 * 1000 };
		nanosleep(&ts, NULL);
		waited += 10;
	}
	assert_int_equal(builds, 3);
	/* With rechecking off, another process's commit is seen on the next call. */
	sf_catalog_cache_set_recheck_ms(cc, 0);
	external_bump(f);
	assert_int_equal(sf_catalog_cache_fetch(cc, f->db, SF_CC_API_CATEGORIES, "", 0, build_counted, "two", &body,
						&len, &body_free, &etag),
			 SF_OK);
	assert_memory_equal(body, "two", 3);
	body_free((void *)(uintptr_t)body);
	assert_int_equal(builds, 4);
	sf_catalog_cache_set_recheck_ms(cc, SF_CC_RECHECK_MS);
	/* A rolled-back touch sends no notice: still a hit. */
	assert_true(sf_db_txn(f->db, touch_txn, &rollback, 1) < 0);
	assert_int_equal(sf_catalog_cache_fetch(cc, f->db, SF_CC_API_CATEGORIES, "", 0, build_counted, "xxx", &body,
						&len, &body_free, &etag),
			 SF_OK);
	assert_memory_equal(body, "two", 3);
	body_free((void *)(uintptr_t)body);
	assert_int_equal(builds, 4);
	/* Errors are returned and never cached. */
	build_err = SF_ERR_NOT_FOUND;
	for (int i = 0; i < 2; i++)
		assert_int_equal(sf_catalog_cache_fetch(cc, f->db, SF_CC_API_PRODUCT, "nope", 4, build_counted, "x",
							&body, &len, &body_free, &etag),
				 SF_ERR_NOT_FOUND);
	assert_int_equal(builds, 6);
	build_err = SF_OK;
	/* Without a cache every call builds; the body is plain heap memory. */
	assert_int_equal(sf_catalog_cache_fetch(NULL, f->db, SF_CC_API_CATEGORIES, "", 0, build_counted, "three",
						&body, &len, &body_free, &etag),
			 SF_OK);
	assert_null(etag);
	assert_ptr_equal(body_free, free);
	body_free((void *)(uintptr_t)body);
	sf_catalog_cache_free(cc);
}

static void test_query_key(void **state)
{
	(void)state;
	struct sf_catalog_query a, b;
	const char *bad;
	char ka[SF_CC_KEY_MAX + 1], kb[SF_CC_KEY_MAX + 1];
	assert_int_equal(sf_catalog_query_parse(NULL, NULL, NULL, NULL, NULL, &a, &bad), SF_OK);
	assert_int_equal(sf_catalog_query_parse("1", "20", "name", "", "  ", &b, &bad), SF_OK);
	size_t la = sf_catalog_query_key(&a, ka, sizeof ka), lb = sf_catalog_query_key(&b, kb, sizeof kb);
	/* Defaults spelled out or left out are the same answer. */
	assert_int_equal(la, lb);
	assert_memory_equal(ka, kb, la);
	/* Each parameter changes the key. */
	const char *const variants[][5] = {
		{"2", NULL, NULL, NULL, NULL}, {NULL, "21", NULL, NULL, NULL}, {NULL, NULL, "newest", NULL, NULL},
		{NULL, NULL, NULL, "home", NULL}, {NULL, NULL, NULL, NULL, "tea"}, {NULL, NULL, NULL, NULL, "te"},
	};
	for (size_t i = 0; i < sizeof variants / sizeof variants[0]; i++) {
		assert_int_equal(sf_catalog_query_parse(variants[i][0], variants[i][1], variants[i][2], variants[i][3],
							variants[i][4], &b, &bad),
				 SF_OK);
		lb = sf_catalog_query_key(&b, kb, sizeof kb);
		assert_true(lb != la || memcmp(ka, kb, la) != 0);
	}
	/* A category and a text of the same letters differ. */
	assert_int_equal(sf_catalog_query_parse(NULL, NULL, NULL, "tea", NULL, &a, &bad), SF_OK);
	assert_int_equal(sf_catalog_query_parse(NULL, NULL, NULL, NULL, "tea", &b, &bad), SF_OK);
	la = sf_catalog_query_key(&a, ka, sizeof ka);
	lb = sf_catalog_query_key(&b, kb, sizeof kb);
	assert_true(la != lb || memcmp(ka, kb, la) != 0);
}

/* ==== Threads ==== */

struct worker {
	struct sf_catalog_cache *cc;
	int id;
};

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	char key[32], val[32];
	for (int i = 0; i < 20000; i++) {
		int k = (i * 7 + w->id) % 300;
		int n = snprintf(key, sizeof key, "k%d", k);
		int m = snprintf(val, sizeof val, "v%d", k);
		const char *b, *e;
		size_t len;
		int64_t version = i / 5000;
		if (sf_catalog_cache_get(w->cc, SF_CC_API_PRODUCT, key, (size_t)n, version, &b, &len, &e) == SF_OK) {
			if (len != (size_t)m || memcmp(b, val, len) != 0)
				return (void *)1;
			sf_catalog_cache_release((void *)(uintptr_t)b);
		} else if (sf_catalog_cache_put(w->cc, SF_CC_API_PRODUCT, key, (size_t)n, version, val, (size_t)m, &b,
						&e) == SF_OK) {
			sf_catalog_cache_release((void *)(uintptr_t)b);
		} else {
			return (void *)1;
		}
	}
	return NULL;
}

static void test_threads(void **state)
{
	(void)state;
	struct sf_catalog_cache *cc = sf_catalog_cache_new(100, 1 << 20);
	pthread_t t[4];
	struct worker w[4];
	for (int i = 0; i < 4; i++) {
		w[i] = (struct worker){cc, i};
		assert_int_equal(pthread_create(&t[i], NULL, worker_main, &w[i]), 0);
	}
	for (int i = 0; i < 4; i++) {
		void *r;
		pthread_join(t[i], &r);
		assert_null(r);
	}
	struct sf_catalog_cache_stats st;
	sf_catalog_cache_stats(cc, &st);
	assert_true(st.entries <= 100 + 16);
	assert_true(st.hits > 0);
	sf_catalog_cache_free(cc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_put_get),
		cmocka_unit_test(test_bad_args),
		cmocka_unit_test(test_bounds),
		cmocka_unit_test(test_lru_order),
		cmocka_unit_test_setup_teardown(test_version_and_fetch, shop_fx_setup, shop_fx_teardown),
		cmocka_unit_test(test_query_key),
		cmocka_unit_test(test_threads),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
