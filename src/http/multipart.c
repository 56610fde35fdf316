/*
 * multipart.c — strict multipart/form-data (RFC 7578) parsing of a request
 * body that the http layer has already read and capped.
 *
 * Only what forms send is accepted: a boundary of 1..70 characters, CRLF line
 * ends, a Content-Disposition with a quoted name on every part, at most the
 * caller's number of parts.  Anything else is SF_ERR_BAD_REQUEST.  Parts point
 * into req->body (no copy); names and content types are arena copies.
 */
#include <string.h>
#include <strings.h>

#include "http/http.h"

/* The value of attribute attr (e.g. "name") in a Content-Disposition header
 * line h[0..n), copied to the arena; NULL when absent or unterminated. */
static const char *disp_attr(struct sf_arena *a, const char *h, size_t n, const char *attr)
{
	size_t al = strlen(attr);
	for (size_t i = 0; i + al + 2 < n; i++) {
		if ((i == 0 || h[i - 1] == ' ' || h[i - 1] == ';') && !strncasecmp(h + i, attr, al) &&
		    h[i + al] == '=' && h[i + al + 1] == '"') {
			const char *v = h + i + al + 2;
			const char *end = memchr(v, '"', n - (size_t)(v - h));
			return end ? sf_arena_strndup(a, v, (size_t)(end - v)) : NULL;
		}
	}
	return NULL;
}

int sf_multipart_is(const char *content_type)
{
	return content_type && !strncasecmp(content_type, "multipart/form-data", 19);
}

enum sf_err sf_multipart_parse(struct sf_req *req, struct sf_part *parts, size_t max, size_t *nparts)
{
	return sf_multipart_split(req->arena, sf_req_header(req, "Content-Type"), req->body, req->body_len, parts,
				  max, nparts);
}

enum sf_err sf_multipart_split(struct sf_arena *a, const char *ct, const char *data, size_t len,
			       struct sf_part *parts, size_t max, size_t *nparts)
{
	*nparts = 0;
	if (!sf_multipart_is(ct))
		return SF_ERR_UNSUPPORTED_MEDIA;
	const char *b = strcasestr(ct, "boundary=");
	if (!b)
		return SF_ERR_BAD_REQUEST;
	b += 9;
	size_t bl = strcspn(b, "; \t");
	if (bl > 1 && b[0] == '"' && b[bl - 1] == '"') {
		b++;
		bl -= 2;
	}
	if (bl < 1 || bl > 70)
		return SF_ERR_BAD_REQUEST;
	char delim[80];
	int dl = snprintf(delim, sizeof delim, "\r\n--%.*s", (int)bl, b);
	const unsigned char *body = (const unsigned char *)data, *end = body + len;
	if (!body || len < (size_t)dl || memcmp(body, delim + 2, (size_t)dl - 2))
		return SF_ERR_BAD_REQUEST;
	const unsigned char *p = body + dl - 2;
	for (;;) {
		if (end - p >= 2 && p[0] == '-' && p[1] == '-')
			return SF_OK; /* closing delimiter */
		if (end - p < 2 || p[0] != '\r' || p[1] != '\n' || *nparts == max)
			return SF_ERR_BAD_REQUEST;
		p += 2;
		const unsigned char *hend = memmem(p, (size_t)(end - p), "\r\n\r\n", 4);
		if (!hend)
			return SF_ERR_BAD_REQUEST;
		struct sf_part *pt = &parts[*nparts];
		memset(pt, 0, sizeof *pt);
		for (const unsigned char *line = p; line < hend + 2;) {
			const unsigned char *eol = memmem(line, (size_t)(hend + 2 - line), "\r\n", 2);
			size_t ln = (size_t)(eol - line);
			if (ln > 20 && !strncasecmp((const char *)line, "Content-Disposition:", 20)) {
				pt->name = disp_attr(a, (const char *)line, ln, "name");
				pt->is_file = disp_attr(a, (const char *)line, ln, "filename") != NULL;
			} else if (ln > 13 && !strncasecmp((const char *)line, "Content-Type:", 13)) {
				const char *v = (const char *)line + 13;
				while (*v == ' ')
					v++;
				pt->content_type = sf_arena_strndup(a, v, (size_t)((const char *)eol - v));
			}
			line = eol + 2;
		}
		p = hend + 4;
		const unsigned char *next = memmem(p, (size_t)(end - p), delim, (size_t)dl);
		if (!next || !pt->name || !*pt->name)
			return SF_ERR_BAD_REQUEST;
		pt->data = p;
		pt->len = (size_t)(next - p);
		(*nparts)++;
		p = next + dl;
	}
}
