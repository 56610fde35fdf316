/*
 * ratelimit.c — token buckets per (route class, key).
 *
 * A bucket holds up to `burst` tokens and refills at `per_sec`; a request
 * takes one token or is refused with the time until the next one.  Buckets
 * live in a hash table split into shards, each with its own mutex, so worker
 * threads rarely meet.  A shard that grows past its share drops the buckets
 * that have refilled completely (they carry no state worth keeping), which
 * bounds memory under an address-spraying flood.
 */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "edge/edge_int.h"

#define SHARDS 64
#define SHARD_SOFT_MAX 4096 /* buckets per shard before full ones are swept */
#define KEY_MAX 160

struct bucket {
	struct bucket *next;
	double tokens;
	double last;
	int rclass;
	char key[KEY_MAX];
};

struct shard {
	pthread_mutex_t mu;
	struct bucket **slots;
	size_t nslots;
	size_t count;
};

struct sf_ratelimit {
	struct sf_rate rates[SF_EDGE_CLASSES];
	struct shard shards[SHARDS];
};

int sf_rate_parse(const char *text, struct sf_rate *out)
{
	out->per_sec = 0;
	out->burst = 0;
	if (!text || !strcmp(text, "off"))
		return text != NULL;
	const char *slash = strchr(text, '/');
	if (!slash || slash == text || !slash[1])
		return 0;
	unsigned long long n = 0, s = 0;
	for (const char *p = text; p < slash; p++) {
		if (*p < '0' || *p > '9' || n > 100000000ULL)
			return 0;
		n = n * 10 + (unsigned)(*p - '0');
	}
	for (const char *p = slash + 1; *p; p++) {
		if (*p < '0' || *p > '9' || s > 100000000ULL)
			return 0;
		s = s * 10 + (unsigned)(*p - '0');
	}
	if (n == 0 || s == 0 || s > 86400)
		return 0;
	out->burst = (double)n;
	out->per_sec = (double)n / (double)s;
	return 1;
}

static uint64_t hash_key(int rclass, const char *key)
{
	uint64_t h = 1469598103934665603ULL ^ (uint64_t)rclass;
	for (const unsigned char *p = (const unsigned char *)key; *p; p++) {
		h ^= *p;
		h *= 1099511628211ULL;
	}
	return h;
}

struct sf_ratelimit *sf_ratelimit_new(const struct sf_rate rates[SF_EDGE_CLASSES])
{
	struct sf_ratelimit *rl = calloc(1, sizeof *rl);
	if (!rl)
		return NULL;
	memcpy(rl->rates, rates, sizeof rl->rates);
	for (int i = 0; i < SHARDS; i++) {
		pthread_mutex_init(&rl->shards[i].mu, NULL);
		rl->shards[i].nslots = 256;
		rl->shards[i].slots = calloc(256, sizeof(struct bucket *));
		if (!rl->shards[i].slots) {
			sf_ratelimit_free(rl);
			return NULL;
		}
	}
	return rl;
}

void sf_ratelimit_free(struct sf_ratelimit *rl)
{
	if (!rl)
		return;
	for (int i = 0; i < SHARDS; i++) {
		struct shard *s = &rl->shards[i];
		for (size_t j = 0; s->slots && j < s->nslots; j++) {
			struct bucket *b = s->slots[j];
			while (b) {
				struct bucket *n = b->next;
				free(b);
				b = n;
			}
		}
		free(s->slots);
		pthread_mutex_destroy(&s->mu);
	}
	free(rl);
}

/* Drop every bucket that has refilled to the brim by now. */
static void sweep(struct sf_ratelimit *rl, struct shard *s, double now)
{
	for (size_t j = 0; j < s->nslots; j++) {
		struct bucket **pp = &s->slots[j];
		while (*pp) {
			struct bucket *b = *pp;
			const struct sf_rate *r = &rl->rates[b->rclass];
			if (b->tokens + (now - b->last) * r->per_sec >= r->burst) {
				*pp = b->next;
				free(b);
				s->count--;
			} else {
				pp = &b->next;
			}
		}
	}
}

int sf_ratelimit_take(struct sf_ratelimit *rl, int rclass, const char *key, double now, unsigned *retry_after)
{
	if (retry_after)
		*retry_after = 0;
	if (!rl || rclass < 0 || rclass >= SF_EDGE_CLASSES || !key)
		return 1;
	const struct sf_rate *r = &rl->rates[rclass];
	if (r->per_sec <= 0)
		return 1; /* unlimited */
	uint64_t h = hash_key(rclass, key);
	struct shard *s = &rl->shards[h % SHARDS];
	pthread_mutex_lock(&s->mu);
	size_t slot = (size_t)((h / SHARDS) % s->nslots);
	struct bucket *b = s->slots[slot];
	while (b && (b->rclass != rclass || strncmp(b->key, key, KEY_MAX - 1) != 0))
		b = b->next;
	if (!b) {
		if (s->count >= SHARD_SOFT_MAX)
			sweep(rl, s, now);
		b = calloc(1, sizeof *b);
		if (!b) {
			pthread_mutex_unlock(&s->mu);
			return 1; /* out of memory: fail open rather than refuse everyone */
		}
		b->rclass = rclass;
		snprintf(b->key, sizeof b->key, "%s", key);
		b->tokens = r->burst;
		b->last = now;
		b->next = s->slots[slot];
		s->slots[slot] = b;
		s->count++;
	}
	double t = b->tokens + (now - b->last) * r->per_sec;
	if (t > r->burst)
		t = r->burst;
	b->last = now;
	int ok = t >= 1.0;
	if (ok)
		t -= 1.0;
	b->tokens = t;
	pthread_mutex_unlock(&s->mu);
	if (!ok && retry_after) {
		double wait = ceil((1.0 - t) / r->per_sec);
		*retry_after = wait < 1 ? 1 : (unsigned)wait;
	}
	return ok;
}

size_t sf_ratelimit_size(struct sf_ratelimit *rl)
{
	size_t n = 0;
	for (int i = 0; rl && i < SHARDS; i++) {
		pthread_mutex_lock(&rl->shards[i].mu);
		n += rl->shards[i].count;
		pthread_mutex_unlock(&rl->shards[i].mu);
	}
	return n;
}
