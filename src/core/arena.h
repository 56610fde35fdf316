/*
 * arena.h — a bump allocator with a hard cap, one per request.
 *
 * Everything a request allocates comes from its arena and is released at once
 * when the request ends; nothing is freed individually.  The cap bounds what a
 * single request can make the server allocate: once reached every further
 * allocation fails (returns NULL) and the arena remembers it (sf_arena_failed),
 * so the request path can turn a late failure into one 503/413 answer.
 */
#ifndef SF_CORE_ARENA_H
#define SF_CORE_ARENA_H

#include <stdarg.h>
#include <stddef.h>

struct sf_arena_block;

struct sf_arena {
	struct sf_arena_block *ar_head; /* newest block first */
	size_t ar_used;                 /* bytes handed out plus block overhead */
	size_t ar_cap;                  /* hard maximum for ar_used */
	int ar_failed;                  /* sticky: an allocation hit the cap or malloc failed */
};

/* Initialise an empty arena that may hold at most cap bytes. */
void sf_arena_init(struct sf_arena *a, size_t cap);
/* Release every block; the arena may be reused after sf_arena_init. */
void sf_arena_release(struct sf_arena *a);
/* n bytes aligned for any type, or NULL (cap reached / out of memory). */
void *sf_arena_alloc(struct sf_arena *a, size_t n);
/* As sf_arena_alloc, zero-filled. */
void *sf_arena_zalloc(struct sf_arena *a, size_t n);
/* A NUL-terminated copy of s[0..n), or NULL. */
char *sf_arena_strndup(struct sf_arena *a, const char *s, size_t n);
char *sf_arena_strdup(struct sf_arena *a, const char *s);
/* printf into the arena; NULL on failure. */
char *sf_arena_printf(struct sf_arena *a, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
char *sf_arena_vprintf(struct sf_arena *a, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));
/* Non-zero once any allocation has failed. */
static inline int sf_arena_failed(const struct sf_arena *a) { return a->ar_failed; }

#endif
