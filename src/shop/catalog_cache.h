/*
 * catalog_cache.h — a bounded, thread-safe cache of catalog responses: the
 * serialised JSON bodies of the catalog API and the rendered storefront
 * pages, keyed by (kind, normalised query) and tagged with the catalog
 * version they were built from.
 *
 * Correctness rests on one counter, the meta row `catalog_version`: every
 * catalog write calls sf_catalog_touch() in the same transaction, so a
 * committed change and its new version become visible together, to this
 * process and to any other (`storefort catalog import` from the CLI).  A
 * request takes the version first and only accepts an entry tagged with
 * exactly that version; data read after the version is at least as new as
 * it, so an entry is never newer-tagged than its content.
 *
 * Taking the version does not read the database on every request (that read
 * was a seventh of a cached answer's CPU): the last value read is kept while
 * no commit in this process touched the catalog (sf_catalog_touch registers
 * an after-commit notice that bumps a generation) and for at most
 * SF_CC_RECHECK_MS, the bound on how long a change committed by another
 * process (the CLI) can go unseen.
 *
 * What may be cached: only bytes that depend on nothing but the catalog and
 * the normalised query.  A page that carries per-visitor data (a CSRF token,
 * a cart count, a greeting) must not be stored whole; cache its catalog part
 * and assemble the rest per request (docs/ARCHITECTURE.md, "Caching").
 *
 * Bounds: at most max_entries entries and max_bytes of keys + bodies, spread
 * over independently locked shards, each evicting its least recently used
 * entries.  Entries are immutable and reference-counted, so a body being
 * sent keeps living after it was evicted or replaced.
 */
#ifndef SF_SHOP_CATALOG_CACHE_H
#define SF_SHOP_CATALOG_CACHE_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "db/db.h"
#include "shop/catalog.h"

struct sf_catalog_cache;

/* What an entry holds; part of the key. */
enum sf_cc_kind {
	SF_CC_API_LIST,       /* GET /api/v1/products */
	SF_CC_API_PRODUCT,    /* GET /api/v1/products/{slug} */
	SF_CC_API_CATEGORIES, /* GET /api/v1/categories */
	SF_CC_API_CATEGORY,   /* GET /api/v1/categories/{slug} */
	SF_CC_PAGE_HOME,
	SF_CC_PAGE_CATEGORY,
	SF_CC_PAGE_PRODUCT,
	SF_CC_PAGE_SEARCH,
	SF_CC__COUNT
};

#define SF_CC_KEY_MAX 512    /* longer keys are not cached */
#define SF_CC_RECHECK_MS 250 /* re-read the version at least this often (other processes' writes) */
#define SF_CC_ETAG_SIZE 27   /* quoted 24 hex digits (96-bit BLAKE2b of the body) + NUL */

/* Create a cache bounded by max_entries (>= 1) and max_bytes (>= 1).
 * Returns NULL when out of memory or a bound is 0.  Free with
 * sf_catalog_cache_free once no thread uses it any more. */
struct sf_catalog_cache *sf_catalog_cache_new(size_t max_entries, size_t max_bytes);
/* How long a version read stays good without a local catalog commit
 * (default SF_CC_RECHECK_MS; 0: read it on every request). */
void sf_catalog_cache_set_recheck_ms(struct sf_catalog_cache *cc, long long ms);
/* Drop every entry (bodies still being sent live on) and free the cache.
 * NULL is accepted. */
void sf_catalog_cache_free(struct sf_catalog_cache *cc);

/* Find the body cached for (kind, key) at catalog version `version`.
 * Returns SF_OK with *body, *len and *etag (a quoted strong ETag, NUL-
 * terminated) set and a reference held on the body: release it with
 * sf_catalog_cache_release(*body) (it fits a response's body_free).
 * Returns SF_ERR_NOT_FOUND on a miss (an entry of another version is
 * dropped on the way), SF_ERR_INVALID for a bad argument. */
enum sf_err sf_catalog_cache_get(struct sf_catalog_cache *cc, enum sf_cc_kind kind, const char *key,
				 size_t keylen, int64_t version, const char **body, size_t *len,
				 const char **etag) SF_WARN_UNUSED;

/* Store a copy of body[0..len) for (kind, key) at `version`, replacing an
 * older entry, evicting least recently used entries as the bounds need,
 * and return the stored copy exactly like sf_catalog_cache_get (reference
 * held; release with sf_catalog_cache_release).  An entry larger than an
 * eighth of the byte bound, or a key over SF_CC_KEY_MAX, is not stored:
 * SF_ERR_LIMIT, and the caller sends its own copy.  SF_ERR_NOMEM when out
 * of memory. */
enum sf_err sf_catalog_cache_put(struct sf_catalog_cache *cc, enum sf_cc_kind kind, const char *key,
				 size_t keylen, int64_t version, const void *body, size_t len,
				 const char **out_body, const char **etag) SF_WARN_UNUSED;

/* Release a body returned by get/put (NULL is accepted).  Its signature
 * matches struct sf_resp's body_free. */
void sf_catalog_cache_release(void *body);

/* Build a body on a miss: a heap buffer of *len bytes (caller of the
 * callback frees it), or an error, which sf_catalog_cache_fetch returns. */
typedef enum sf_err (*sf_cc_build_fn)(void *ctx, char **body, size_t *len);

/* The whole read-through path for a handler: read the catalog version,
 * look (kind, key) up, and on a miss call build and store its result.
 * On SF_OK *body and *len are the bytes to send and *body_free releases them
 * (sf_catalog_cache_release for a cached body, free for one that could not
 * be cached); *etag is the entry's quoted ETag, or NULL when the body is not
 * cached.  cc NULL (caching off) builds every time.  Errors: build's own
 * (e.g. SF_ERR_NOT_FOUND, never cached), a database error reading the
 * version, SF_ERR_NOMEM. */
enum sf_err sf_catalog_cache_fetch(struct sf_catalog_cache *cc, struct sf_db *db, enum sf_cc_kind kind,
				   const char *key, size_t keylen, sf_cc_build_fn build, void *ctx,
				   const char **body, size_t *len, void (**body_free)(void *),
				   const char **etag) SF_WARN_UNUSED;

/* The normalised cache key of a parsed list query (sort, page, per_page,
 * category, text; each string length-prefixed, absent ones marked) written
 * to out.  Returns the key's length; a result >= outlen means it did not
 * fit (such a key is not cached: pass the length on, the cache refuses it). */
size_t sf_catalog_query_key(const struct sf_catalog_query *q, char *out, size_t outlen);

/* Counters for tests and docs: entries, bytes, hits, misses, evictions. */
struct sf_catalog_cache_stats {
	size_t entries, bytes;
	uint64_t hits, misses, evictions;
};
void sf_catalog_cache_stats(struct sf_catalog_cache *cc, struct sf_catalog_cache_stats *out);

/* ---- the catalog version ---- */

/* The current catalog version (meta row catalog_version; 0 when none was
 * ever written).  One prepared point read on this thread's connection.
 * Returns SF_OK, SF_ERR_UNAVAILABLE (no connection) or a database error. */
enum sf_err sf_catalog_version(struct sf_db *db, int64_t *out) SF_WARN_UNUSED;

/* Bump the catalog version.  Every catalog write (CSV import, demo seed,
 * back-office edits, stock changes that show in the catalog) calls it
 * inside its own transaction, so the new content and the new version
 * commit together.  Returns SF_DB_OK or the statement's error status (as
 * an sf_db_txn function expects). */
enum sf_db_status sf_catalog_touch(struct sf_db_conn *c);

#endif
