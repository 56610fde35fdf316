/*
 * bans.c — the in-memory ban table and the per-address event counters.
 *
 * The table is the hot copy of the database's active bans (edge.c keeps
 * them in step): on_accept asks it for every new connection, so the common
 * case — no ban at all — is one atomic load.  Counters count, per address
 * and kind (WAF block, rate-limit hit, failed login), the events inside a
 * fixed window that starts with the first event; reaching the kind's
 * threshold asks the caller to ban.  Allow-listed addresses are never
 * counted.  Entries without a ban whose window has passed are dropped when
 * the table grows, so a flood of addresses cannot exhaust memory.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"
#include "edge/edge_int.h"

#define SLOTS 1024
#define SOFT_MAX 100000

struct entry {
	struct entry *next;
	char ip[46];
	int64_t until;                         /* banned until (unix s), 0: not banned */
	int64_t window_start[SF_EDGE__EVENTS];
	unsigned count[SF_EDGE__EVENTS];
};

struct sf_bans {
	struct sf_ban_policy p;
	const struct sf_cidr_list *allow;
	pthread_mutex_t mu;
	struct entry *slots[SLOTS];
	size_t count;
	atomic_size_t banned; /* entries with until != 0 */
};

static size_t slot_of(const char *ip)
{
	uint64_t h = 1469598103934665603ULL;
	for (const unsigned char *p = (const unsigned char *)ip; *p; p++) {
		h ^= *p;
		h *= 1099511628211ULL;
	}
	return (size_t)(h % SLOTS);
}

struct sf_bans *sf_bans_new(const struct sf_ban_policy *p, const struct sf_cidr_list *allow)
{
	struct sf_bans *b = calloc(1, sizeof *b);
	if (!b)
		return NULL;
	b->p = *p;
	b->allow = allow;
	pthread_mutex_init(&b->mu, NULL);
	return b;
}

void sf_bans_free(struct sf_bans *b)
{
	if (!b)
		return;
	for (size_t i = 0; i < SLOTS; i++) {
		struct entry *e = b->slots[i];
		while (e) {
			struct entry *n = e->next;
			free(e);
			e = n;
		}
	}
	pthread_mutex_destroy(&b->mu);
	free(b);
}

static struct entry *find(struct sf_bans *b, const char *ip)
{
	for (struct entry *e = b->slots[slot_of(ip)]; e; e = e->next)
		if (!strcmp(e->ip, ip))
			return e;
	return NULL;
}

/* Drop entries that hold neither a live ban nor a live window. */
static void sweep(struct sf_bans *b, int64_t now)
{
	for (size_t i = 0; i < SLOTS; i++) {
		struct entry **pp = &b->slots[i];
		while (*pp) {
			struct entry *e = *pp;
			int live = e->until > now;
			for (int k = 0; k < SF_EDGE__EVENTS && !live; k++)
				live = e->count[k] && e->window_start[k] + b->p.window_s > now;
			if (!live) {
				if (e->until)
					atomic_fetch_sub(&b->banned, 1);
				*pp = e->next;
				free(e);
				b->count--;
			} else {
				pp = &e->next;
			}
		}
	}
}

static struct entry *get(struct sf_bans *b, const char *ip, int64_t now)
{
	struct entry *e = find(b, ip);
	if (e)
		return e;
	if (b->count >= SOFT_MAX)
		sweep(b, now);
	e = calloc(1, sizeof *e);
	if (!e)
		return NULL;
	sf_strlcpy(e->ip, ip, sizeof e->ip);
	size_t s = slot_of(ip);
	e->next = b->slots[s];
	b->slots[s] = e;
	b->count++;
	return e;
}

int sf_bans_allowed(const struct sf_bans *b, const char *ip)
{
	return b && sf_cidr_list_match(b->allow, ip);
}

int sf_bans_check(struct sf_bans *b, const char *ip, int64_t now)
{
	if (!b || !ip || atomic_load(&b->banned) == 0)
		return 0;
	pthread_mutex_lock(&b->mu);
	struct entry *e = find(b, ip);
	int banned = e && e->until > now;
	pthread_mutex_unlock(&b->mu);
	return banned;
}

int sf_bans_note(struct sf_bans *b, const char *ip, enum sf_edge_event ev, int64_t now)
{
	if (!b || !ip || (unsigned)ev >= SF_EDGE__EVENTS || !b->p.threshold[ev] || sf_bans_allowed(b, ip))
		return 0;
	int fire = 0;
	pthread_mutex_lock(&b->mu);
	struct entry *e = get(b, ip, now);
	if (e && e->until <= now) {
		if (!e->count[ev] || e->window_start[ev] + b->p.window_s <= now) {
			e->window_start[ev] = now;
			e->count[ev] = 0;
		}
		if (++e->count[ev] >= b->p.threshold[ev]) {
			fire = 1;
			memset(e->count, 0, sizeof e->count);
		}
	}
	pthread_mutex_unlock(&b->mu);
	return fire;
}

int64_t sf_bans_duration(const struct sf_bans *b, int64_t n)
{
	int64_t d = b->p.duration_s;
	for (int64_t i = 1; i < n && d < (int64_t)b->p.max_duration_s; i++)
		d *= 2;
	return d > (int64_t)b->p.max_duration_s ? (int64_t)b->p.max_duration_s : d;
}

static void set_locked(struct sf_bans *b, const char *ip, int64_t until)
{
	struct entry *e = until ? get(b, ip, 0) : find(b, ip);
	if (!e)
		return;
	if (!e->until && until)
		atomic_fetch_add(&b->banned, 1);
	else if (e->until && !until)
		atomic_fetch_sub(&b->banned, 1);
	e->until = until;
}

void sf_bans_set(struct sf_bans *b, const char *ip, int64_t until)
{
	if (!b || !ip)
		return;
	pthread_mutex_lock(&b->mu);
	set_locked(b, ip, until);
	pthread_mutex_unlock(&b->mu);
}

void sf_bans_replace(struct sf_bans *b, char (*ips)[46], const int64_t *until, size_t n)
{
	if (!b)
		return;
	pthread_mutex_lock(&b->mu);
	for (size_t i = 0; i < SLOTS; i++)
		for (struct entry *e = b->slots[i]; e; e = e->next)
			set_locked(b, e->ip, 0);
	for (size_t i = 0; i < n; i++)
		set_locked(b, ips[i], until[i]);
	pthread_mutex_unlock(&b->mu);
}
