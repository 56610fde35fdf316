/* buf.c — the capped growable buffer declared in buf.h. */
#include "core/buf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void sf_buf_init(struct sf_buf *b, size_t max)
{
	b->bf_data = NULL;
	b->bf_len = 0;
	b->bf_cap = 0;
	b->bf_max = max;
	b->bf_err = SF_OK;
}

void sf_buf_free(struct sf_buf *b)
{
	free(b->bf_data);
	sf_buf_init(b, b->bf_max);
}

void sf_buf_reset(struct sf_buf *b)
{
	b->bf_len = 0;
	b->bf_err = SF_OK;
	if (b->bf_data)
		b->bf_data[0] = '\0';
}

static enum sf_err reserve(struct sf_buf *b, size_t extra)
{
	if (b->bf_err)
		return b->bf_err;
	if (extra > b->bf_max || b->bf_len > b->bf_max - extra)
		return b->bf_err = SF_ERR_LIMIT;
	size_t need = b->bf_len + extra + 1;
	if (need <= b->bf_cap)
		return SF_OK;
	size_t cap = b->bf_cap ? b->bf_cap : 256;
	while (cap < need)
		cap = cap > ((size_t)-1) / 2 ? need : cap * 2;
	char *p = realloc(b->bf_data, cap);
	if (!p)
		return b->bf_err = SF_ERR_NOMEM;
	b->bf_data = p;
	b->bf_cap = cap;
	return SF_OK;
}

enum sf_err sf_buf_append(struct sf_buf *b, const void *p, size_t n)
{
	enum sf_err err = reserve(b, n);
	if (err)
		return err;
	if (n)
		memcpy(b->bf_data + b->bf_len, p, n);
	b->bf_len += n;
	b->bf_data[b->bf_len] = '\0';
	return SF_OK;
}

enum sf_err sf_buf_puts(struct sf_buf *b, const char *s) { return sf_buf_append(b, s, strlen(s)); }

enum sf_err sf_buf_putc(struct sf_buf *b, char c) { return sf_buf_append(b, &c, 1); }

enum sf_err sf_buf_printf(struct sf_buf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return b->bf_err = SF_ERR_INTERNAL;
	enum sf_err err = reserve(b, (size_t)n);
	if (err)
		return err;
	va_start(ap, fmt);
	vsnprintf(b->bf_data + b->bf_len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->bf_len += (size_t)n;
	return SF_OK;
}

enum sf_err sf_buf_put_html(struct sf_buf *b, const char *s, size_t n)
{
	size_t run = 0;
	for (size_t i = 0; i < n; i++) {
		const char *rep = NULL;
		switch (s[i]) {
		case '&': rep = "&amp;"; break;
		case '<': rep = "&lt;"; break;
		case '>': rep = "&gt;"; break;
		case '"': rep = "&quot;"; break;
		case '\'': rep = "&#39;"; break;
		case '`': rep = "&#96;"; break;
		case '=': rep = "&#61;"; break;
		default: continue;
		}
		sf_buf_append(b, s + run, i - run);
		sf_buf_puts(b, rep);
		run = i + 1;
	}
	return sf_buf_append(b, s + run, n - run);
}

char *sf_buf_steal(struct sf_buf *b, size_t *len)
{
	if (!b->bf_data && sf_buf_append(b, "", 0))
		return NULL;
	char *p = b->bf_data;
	if (len)
		*len = b->bf_len;
	b->bf_data = NULL;
	b->bf_len = b->bf_cap = 0;
	return p;
}
