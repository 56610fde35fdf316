/*
 * buf.h — a growable byte buffer with a hard maximum, heap-backed.
 *
 * Used wherever output is built piece by piece (JSON bodies, rendered pages,
 * CSV lines, log lines).  Appends past bf_max fail with SF_ERR_LIMIT and set
 * the sticky bf_err, so a writer can append freely and check once at the end.
 * The contents are always NUL-terminated (bf_len excludes the NUL).
 */
#ifndef SF_CORE_BUF_H
#define SF_CORE_BUF_H

#include <stdarg.h>
#include <stddef.h>

#include "core/err.h"

struct sf_buf {
	char *bf_data;     /* heap, owned by the buffer; NULL until first append */
	size_t bf_len;     /* bytes used, excluding the terminating NUL */
	size_t bf_cap;     /* bytes allocated */
	size_t bf_max;     /* hard maximum for bf_len */
	enum sf_err bf_err; /* sticky: first failure */
};

void sf_buf_init(struct sf_buf *b, size_t max);
void sf_buf_free(struct sf_buf *b);
/* Forget the contents, keep the allocation and clear the sticky error. */
void sf_buf_reset(struct sf_buf *b);
enum sf_err sf_buf_append(struct sf_buf *b, const void *p, size_t n);
enum sf_err sf_buf_puts(struct sf_buf *b, const char *s);
enum sf_err sf_buf_putc(struct sf_buf *b, char c);
enum sf_err sf_buf_printf(struct sf_buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Append s with HTML escaping of & < > " ' (and / as &#47; is not needed). */
enum sf_err sf_buf_put_html(struct sf_buf *b, const char *s, size_t n);
/* Take ownership of the data (caller frees); the buffer is left empty. */
char *sf_buf_steal(struct sf_buf *b, size_t *len);

#endif
