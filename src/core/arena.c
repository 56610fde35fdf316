/* arena.c — the capped bump allocator declared in arena.h. */
#include "core/arena.h"

#include <assert.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ARENA_ALIGN 16u
#define ARENA_BLOCK_MIN 8192u

struct sf_arena_block {
	struct sf_arena_block *next;
	size_t size; /* usable bytes in data */
	size_t off;  /* next free offset */
	_Alignas(16) unsigned char data[];
};

void sf_arena_init(struct sf_arena *a, size_t cap)
{
	a->ar_head = NULL;
	a->ar_used = 0;
	a->ar_cap = cap;
	a->ar_failed = 0;
}

void sf_arena_release(struct sf_arena *a)
{
	struct sf_arena_block *b = a->ar_head;
	while (b) {
		struct sf_arena_block *next = b->next;
		free(b);
		b = next;
	}
	a->ar_head = NULL;
	a->ar_used = 0;
}

void *sf_arena_alloc(struct sf_arena *a, size_t n)
{
	if (n == 0)
		n = 1;
	if (n > SIZE_MAX - ARENA_ALIGN) {
		a->ar_failed = 1;
		return NULL;
	}
	n = (n + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);
	struct sf_arena_block *b = a->ar_head;
	if (b && b->size - b->off >= n) {
		void *p = b->data + b->off;
		b->off += n;
		return p;
	}
	size_t size = n > ARENA_BLOCK_MIN ? n : ARENA_BLOCK_MIN;
	/* Grow blocks geometrically so big requests need few mallocs. */
	if (b && b->size * 2 > size)
		size = b->size * 2;
	size_t total = sizeof *b + size;
	if (a->ar_used + total > a->ar_cap) {
		/* Fall back to the smallest block that fits before giving up. */
		size = n;
		total = sizeof *b + size;
		if (a->ar_used + total > a->ar_cap) {
			a->ar_failed = 1;
			return NULL;
		}
	}
	struct sf_arena_block *nb = malloc(total);
	if (!nb) {
		a->ar_failed = 1;
		return NULL;
	}
	nb->size = size;
	nb->off = n;
	nb->next = a->ar_head;
	a->ar_head = nb;
	a->ar_used += total;
	return nb->data;
}

void *sf_arena_zalloc(struct sf_arena *a, size_t n)
{
	void *p = sf_arena_alloc(a, n);
	if (p)
		memset(p, 0, n);
	return p;
}

char *sf_arena_strndup(struct sf_arena *a, const char *s, size_t n)
{
	if (n == SIZE_MAX) {
		a->ar_failed = 1;
		return NULL;
	}
	char *p = sf_arena_alloc(a, n + 1);
	if (!p)
		return NULL;
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

char *sf_arena_strdup(struct sf_arena *a, const char *s)
{
	return sf_arena_strndup(a, s, strlen(s));
}

char *sf_arena_vprintf(struct sf_arena *a, const char *fmt, va_list ap)
{
	va_list cp;
	va_copy(cp, ap);
	int n = vsnprintf(NULL, 0, fmt, cp);
	va_end(cp);
	if (n < 0) {
		a->ar_failed = 1;
		return NULL;
	}
	char *p = sf_arena_alloc(a, (size_t)n + 1);
	if (!p)
		return NULL;
	vsnprintf(p, (size_t)n + 1, fmt, ap);
	return p;
}

char *sf_arena_printf(struct sf_arena *a, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *p = sf_arena_vprintf(a, fmt, ap);
	va_end(ap);
	return p;
}
