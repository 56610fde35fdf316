/*
 * catalog_cache.c — the catalog response cache and the catalog version
 * (see catalog_cache.h for the contract and the caching rule).
 *
 * Layout: SHARDS independent shards, each a chained hash table plus an LRU
 * list under its own mutex; a key goes to the shard chosen by its SipHash
 * (keyed with a random key per cache, so crafted search terms cannot pile
 * up in one chain).  Lock hold times are a few pointer moves; building a
 * body happens outside any lock.
 *
 * An entry is one allocation: the header, the body (NUL-terminated) and the
 * key.  The cache holds one reference while the entry is linked; every
 * get/put hands out another, released through the body pointer, so a
 * response still being sent keeps its bytes after eviction.
 */
#include "shop/catalog_cache.h"

#include "core/util.h"

#include <pthread.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define SHARDS 16
#define ETAG_BYTES 12

struct cc_link {
	struct cc_link *prev, *next;
};

struct cc_entry {
	struct cc_link lru;          /* first member: LRU list, most recent first */
	struct cc_entry *hnext;      /* hash chain */
	atomic_uint refs;
	uint64_t hash;
	int64_t version;
	enum sf_cc_kind kind;
	size_t keylen, len, cost;
	const char *key;             /* inside this allocation, after the body */
	char etag[SF_CC_ETAG_SIZE];
	_Alignas(16) char body[];    /* len bytes + NUL, then the key */
};

struct cc_shard {
	pthread_mutex_t mu;
	struct cc_entry **buckets;
	size_t nbuckets;             /* a power of two */
	struct cc_link lru;          /* sentinel: lru.next newest, lru.prev oldest */
	size_t entries, bytes;
	uint64_t hits, misses, evictions;
} __attribute__((aligned(64)));

struct sf_catalog_cache {
	unsigned char sipkey[crypto_shorthash_KEYBYTES];
	size_t shard_entries, shard_bytes; /* bounds per shard */
	/* The catalog version as last read from the database: bit 63 set when
	 * valid, the version in bits 24..62, and the low 24 bits of the commit
	 * generation (catalog_gen) loaded before that read. */
	_Alignas(64) _Atomic uint64_t vstate;
	_Atomic long long vread_ms;  /* when it was read (CLOCK_MONOTONIC_COARSE) */
	long long recheck_ms;        /* re-read at least this often (other processes' writes) */
	struct cc_shard shard[SHARDS];
};

/* Commits in this process that touched the catalog (sf_catalog_touch's
 * after-commit notice).  Bumped only once the change is visible. */
static _Atomic uint64_t catalog_gen;

#define VSTATE_VALID ((uint64_t)1 << 63)
#define GEN_MASK ((uint64_t)0xffffff)
#define VERSION_MAX ((int64_t)1 << 39)

/* ==== Entries ==== */

static struct cc_entry *entry_of(const void *body)
{
	return (struct cc_entry *)(void *)((char *)(uintptr_t)body - offsetof(struct cc_entry, body));
}

static void entry_unref(struct cc_entry *e)
{
	if (e && atomic_fetch_sub_explicit(&e->refs, 1, memory_order_acq_rel) == 1)
		free(e);
}

void sf_catalog_cache_release(void *body)
{
	if (body)
		entry_unref(entry_of(body));
}

static uint64_t key_hash(const struct sf_catalog_cache *cc, enum sf_cc_kind kind, const char *key, size_t keylen)
{
	unsigned char in[SF_CC_KEY_MAX + 1];
	unsigned char out[crypto_shorthash_BYTES];
	in[0] = (unsigned char)kind;
	memcpy(in + 1, key, keylen);
	crypto_shorthash(out, in, keylen + 1, cc->sipkey);
	uint64_t h;
	memcpy(&h, out, sizeof h);
	return h;
}

static struct cc_shard *shard_of(struct sf_catalog_cache *cc, uint64_t h)
{
	return &cc->shard[h % SHARDS];
}

static struct cc_entry **bucket_of(struct cc_shard *s, uint64_t h)
{
	return &s->buckets[(h / SHARDS) & (s->nbuckets - 1)];
}

/* Unlink e from its shard (lock held) and drop the cache's reference. */
static void shard_remove(struct cc_shard *s, struct cc_entry *e)
{
	struct cc_entry **pp = bucket_of(s, e->hash);
	while (*pp && *pp != e)
		pp = &(*pp)->hnext;
	if (*pp)
		*pp = e->hnext;
	e->lru.prev->next = e->lru.next;
	e->lru.next->prev = e->lru.prev;
	s->entries--;
	s->bytes -= e->cost;
	entry_unref(e);
}

static struct cc_entry *shard_find(struct cc_shard *s, uint64_t h, enum sf_cc_kind kind, const char *key,
				   size_t keylen)
{
	for (struct cc_entry *e = *bucket_of(s, h); e; e = e->hnext)
		if (e->hash == h && e->kind == kind && e->keylen == keylen && memcmp(e->key, key, keylen) == 0)
			return e;
	return NULL;
}

static void lru_front(struct cc_shard *s, struct cc_entry *e)
{
	e->lru.prev = &s->lru;
	e->lru.next = s->lru.next;
	s->lru.next->prev = &e->lru;
	s->lru.next = &e->lru;
}

/* ==== Life cycle ==== */

struct sf_catalog_cache *sf_catalog_cache_new(size_t max_entries, size_t max_bytes)
{
	if (max_entries == 0 || max_bytes == 0 || sodium_init() < 0)
		return NULL;
	struct sf_catalog_cache *cc = aligned_alloc(64, (sizeof *cc + 63) & ~(size_t)63);
	if (!cc)
		return NULL;
	memset(cc, 0, sizeof *cc);
	cc->recheck_ms = SF_CC_RECHECK_MS;
	randombytes_buf(cc->sipkey, sizeof cc->sipkey);
	cc->shard_entries = (max_entries + SHARDS - 1) / SHARDS;
	cc->shard_bytes = (max_bytes + SHARDS - 1) / SHARDS;
	size_t nb = 8;
	while (nb < cc->shard_entries && nb < ((size_t)1 << 20))
		nb *= 2;
	for (size_t i = 0; i < SHARDS; i++) {
		struct cc_shard *s = &cc->shard[i];
		s->buckets = calloc(nb, sizeof *s->buckets);
		if (!s->buckets) {
			for (size_t j = 0; j < i; j++) {
				free(cc->shard[j].buckets);
				pthread_mutex_destroy(&cc->shard[j].mu);
			}
			free(cc);
			return NULL;
		}
		s->nbuckets = nb;
		s->lru.next = s->lru.prev = &s->lru;
		pthread_mutex_init(&s->mu, NULL);
	}
	return cc;
}

void sf_catalog_cache_free(struct sf_catalog_cache *cc)
{
	if (!cc)
		return;
	for (size_t i = 0; i < SHARDS; i++) {
		struct cc_shard *s = &cc->shard[i];
		while (s->lru.next != &s->lru)
			shard_remove(s, (struct cc_entry *)s->lru.next);
		free(s->buckets);
		pthread_mutex_destroy(&s->mu);
	}
	sodium_memzero(cc->sipkey, sizeof cc->sipkey);
	free(cc);
}

/* ==== Lookups ==== */

static void hand_out(struct cc_entry *e, const char **body, size_t *len, const char **etag)
{
	atomic_fetch_add_explicit(&e->refs, 1, memory_order_relaxed);
	*body = e->body;
	if (len)
		*len = e->len;
	*etag = e->etag;
}

enum sf_err sf_catalog_cache_get(struct sf_catalog_cache *cc, enum sf_cc_kind kind, const char *key,
				 size_t keylen, int64_t version, const char **body, size_t *len,
				 const char **etag)
{
	if (!cc || !key || !body || !len || !etag || (unsigned)kind >= SF_CC__COUNT)
		return SF_ERR_INVALID;
	if (keylen > SF_CC_KEY_MAX)
		return SF_ERR_NOT_FOUND;
	uint64_t h = key_hash(cc, kind, key, keylen);
	struct cc_shard *s = shard_of(cc, h);
	enum sf_err err = SF_ERR_NOT_FOUND;
	pthread_mutex_lock(&s->mu);
	struct cc_entry *e = shard_find(s, h, kind, key, keylen);
	if (e && e->version != version) {
		shard_remove(s, e); /* built from another catalog: never served again */
		e = NULL;
	}
	if (e) {
		if (s->lru.next != &e->lru) {
			e->lru.prev->next = e->lru.next;
			e->lru.next->prev = e->lru.prev;
			lru_front(s, e);
		}
		hand_out(e, body, len, etag);
		s->hits++;
		err = SF_OK;
	} else {
		s->misses++;
	}
	pthread_mutex_unlock(&s->mu);
	return err;
}

enum sf_err sf_catalog_cache_put(struct sf_catalog_cache *cc, enum sf_cc_kind kind, const char *key,
				 size_t keylen, int64_t version, const void *body, size_t len,
				 const char **out_body, const char **etag)
{
	if (!cc || !key || (!body && len) || !out_body || !etag || (unsigned)kind >= SF_CC__COUNT)
		return SF_ERR_INVALID;
	size_t cost = sizeof(struct cc_entry) + len + 1 + keylen;
	if (keylen > SF_CC_KEY_MAX || len > cc->shard_bytes || cost > cc->shard_bytes)
		return SF_ERR_LIMIT;
	struct cc_entry *e = malloc(cost);
	if (!e)
		return SF_ERR_NOMEM;
	memset(e, 0, sizeof *e);
	if (len)
		memcpy(e->body, body, len);
	e->body[len] = '\0';
	memcpy(e->body + len + 1, key, keylen);
	e->key = e->body + len + 1;
	e->keylen = keylen;
	e->len = len;
	e->cost = cost;
	e->kind = kind;
	e->version = version;
	e->hash = key_hash(cc, kind, key, keylen);
	unsigned char digest[ETAG_BYTES];
	crypto_generichash(digest, sizeof digest, (const unsigned char *)e->body, len, NULL, 0);
	e->etag[0] = '"';
	sodium_bin2hex(e->etag + 1, sizeof e->etag - 1, digest, sizeof digest);
	e->etag[1 + 2 * ETAG_BYTES] = '"';
	e->etag[2 + 2 * ETAG_BYTES] = '\0';
	atomic_init(&e->refs, 2); /* the cache's and the caller's */

	struct cc_shard *s = shard_of(cc, e->hash);
	pthread_mutex_lock(&s->mu);
	struct cc_entry *old = shard_find(s, e->hash, kind, key, keylen);
	if (old)
		shard_remove(s, old);
	struct cc_entry **b = bucket_of(s, e->hash);
	e->hnext = *b;
	*b = e;
	lru_front(s, e);
	s->entries++;
	s->bytes += cost;
	while ((s->entries > cc->shard_entries || s->bytes > cc->shard_bytes) && s->lru.prev != &e->lru) {
		shard_remove(s, (struct cc_entry *)s->lru.prev);
		s->evictions++;
	}
	pthread_mutex_unlock(&s->mu);
	*out_body = e->body;
	*etag = e->etag;
	return SF_OK;
}

/* The catalog version without a database read on most requests: the value
 * last read stays good while no local commit touched the catalog since
 * (catalog_gen unchanged) and it is younger than recheck_ms (a commit by
 * another process, e.g. `storefort catalog import`, has no notice here).
 * The generation is loaded before the read, so a commit that lands during
 * the read leaves the stored state outdated, never a stale version looking
 * current. */
static enum sf_err cached_version(struct sf_catalog_cache *cc, struct sf_db *db, int64_t *version)
{
	uint64_t gen = atomic_load_explicit(&catalog_gen, memory_order_acquire) & GEN_MASK;
	uint64_t st = atomic_load_explicit(&cc->vstate, memory_order_acquire);
	long long now = sf_time_mono_ms();
	if ((st & VSTATE_VALID) && (st & GEN_MASK) == gen &&
	    now - atomic_load_explicit(&cc->vread_ms, memory_order_relaxed) < cc->recheck_ms) {
		*version = (int64_t)((st & ~VSTATE_VALID) >> 24);
		return SF_OK;
	}
	enum sf_err err = sf_catalog_version(db, version);
	if (err)
		return err;
	if (*version >= 0 && *version < VERSION_MAX) {
		atomic_store_explicit(&cc->vread_ms, now, memory_order_relaxed);
		atomic_store_explicit(&cc->vstate, VSTATE_VALID | (uint64_t)*version << 24 | gen, memory_order_release);
	}
	return SF_OK;
}

void sf_catalog_cache_set_recheck_ms(struct sf_catalog_cache *cc, long long ms)
{
	if (cc)
		cc->recheck_ms = ms < 0 ? 0 : ms;
}

enum sf_err sf_catalog_cache_fetch(struct sf_catalog_cache *cc, struct sf_db *db, enum sf_cc_kind kind,
				   const char *key, size_t keylen, sf_cc_build_fn build, void *ctx,
				   const char **body, size_t *len, void (**body_free)(void *),
				   const char **etag)
{
	int64_t version = 0;
	char *text = NULL;
	size_t n = 0;
	enum sf_err err;
	*body = NULL;
	*len = 0;
	*body_free = NULL;
	*etag = NULL;
	if (cc) {
		err = cached_version(cc, db, &version);
		if (err)
			return err;
		if (sf_catalog_cache_get(cc, kind, key, keylen, version, body, len, etag) == SF_OK) {
			*body_free = sf_catalog_cache_release;
			return SF_OK;
		}
	}
	err = build(ctx, &text, &n);
	if (err)
		return err;
	if (cc) {
		err = sf_catalog_cache_put(cc, kind, key, keylen, version, text, n, body, etag);
		if (err == SF_OK) {
			free(text);
			*len = n;
			*body_free = sf_catalog_cache_release;
			return SF_OK;
		}
		if (err == SF_ERR_NOMEM) {
			free(text);
			return err;
		}
		*etag = NULL; /* too large to cache: send this copy */
	}
	*body = text;
	*len = n;
	*body_free = free;
	return SF_OK;
}

size_t sf_catalog_query_key(const struct sf_catalog_query *q, char *out, size_t outlen)
{
	const char *c = q->category, *t = q->q;
	int n = snprintf(out, outlen, "s%dp%lldn%lld|%s%zu:%s|%s%zu:%s", (int)q->sort, (long long)q->page,
			 (long long)q->per_page, c ? "c" : "-", c ? strlen(c) : 0, c ? c : "", t ? "q" : "-",
			 t ? strlen(t) : 0, t ? t : "");
	return n < 0 ? outlen : (size_t)n;
}

void sf_catalog_cache_stats(struct sf_catalog_cache *cc, struct sf_catalog_cache_stats *out)
{
	memset(out, 0, sizeof *out);
	if (!cc)
		return;
	for (size_t i = 0; i < SHARDS; i++) {
		struct cc_shard *s = &cc->shard[i];
		pthread_mutex_lock(&s->mu);
		out->entries += s->entries;
		out->bytes += s->bytes;
		out->hits += s->hits;
		out->misses += s->misses;
		out->evictions += s->evictions;
		pthread_mutex_unlock(&s->mu);
	}
}

/* ==== The catalog version ==== */

static void version_row(struct sf_db_cursor *cur, void *ctx)
{
	*(int64_t *)ctx = sf_db_col_int(cur, 0);
}

enum sf_err sf_catalog_version(struct sf_db *db, int64_t *out)
{
	*out = 0;
	struct sf_db_conn *c = db ? sf_db_conn_get(db) : NULL;
	if (!c)
		return SF_ERR_UNAVAILABLE;
	enum sf_db_status st = sf_db_query_one(c, SF_STMT_CATALOG_VERSION_GET, NULL, 0, version_row, out);
	return st < 0 ? sf_db_err(st) : SF_OK;
}

static void catalog_committed(void *arg)
{
	(void)arg;
	atomic_fetch_add_explicit(&catalog_gen, 1, memory_order_release);
}

enum sf_db_status sf_catalog_touch(struct sf_db_conn *c)
{
	enum sf_db_status st = sf_db_exec(c, SF_STMT_CATALOG_VERSION_BUMP, NULL, 0, NULL);
	if (st == SF_DB_NO_ROWS)
		return SF_DB_HARD;
	if (st != SF_DB_OK)
		return st;
	return sf_db_after_commit(c, catalog_committed, NULL);
}
