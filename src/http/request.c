/*
 * request.c — reading a request: strict percent-decoding of the raw target
 * (path and query), request ids, and the accessors handlers use (headers,
 * query arguments, path parameters, cookies).
 *
 * The decoders work on the raw target that libmicrohttpd hands to the URI
 * log callback, never on its own unescaped copy, so what is routed is
 * exactly what the WAF and the access log see.
 */
#include <sodium.h>
#include <string.h>
#include <strings.h>

#include "http/internal.h"

/* ==== Strict decoding ==== */

int sf_http_utf8_valid(const unsigned char *s, size_t n)
{
	size_t i = 0;
	while (i < n) {
		unsigned char c = s[i];
		if (c < 0x80) {
			i++;
			continue;
		}
		size_t need;
		uint32_t cp;
		if (c >= 0xc2 && c <= 0xdf) {
			need = 1;
			cp = c & 0x1f;
		} else if (c >= 0xe0 && c <= 0xef) {
			need = 2;
			cp = c & 0x0f;
		} else if (c >= 0xf0 && c <= 0xf4) {
			need = 3;
			cp = c & 0x07;
		} else {
			return 0; /* continuation byte, 0xc0/0xc1 overlong lead, or > 0xf4 */
		}
		if (n - i <= need)
			return 0;
		for (size_t k = 1; k <= need; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return 0;
			cp = (cp << 6) | (s[i + k] & 0x3f);
		}
		if ((need == 2 && cp < 0x800) || (need == 3 && cp < 0x10000))
			return 0; /* overlong */
		if (cp >= 0xd800 && cp <= 0xdfff)
			return 0; /* surrogate */
		if (cp > 0x10ffff)
			return 0;
		i += need + 1;
	}
	return 1;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Decode src[0..n) into dst (room for n+1).  plus_space turns '+' into ' ';
 * allow_ws lets decoded tab/CR/LF through.  *slash_seen is set when an
 * encoded '/' was decoded.  Returns SF_OK or SF_ERR_BAD_ENCODING. */
static enum sf_err decode_part(const char *src, size_t n, char *dst, size_t *dlen, int plus_space, int allow_ws,
			       int *slash_seen)
{
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)src[i];
		if (c <= 0x20 || c >= 0x7f)
			return SF_ERR_BAD_ENCODING; /* raw control, space or non-ASCII byte */
		if (c == '%') {
			if (n - i < 3)
				return SF_ERR_BAD_ENCODING;
			int hi = hexval(src[i + 1]), lo = hexval(src[i + 2]);
			if (hi < 0 || lo < 0)
				return SF_ERR_BAD_ENCODING;
			unsigned char d = (unsigned char)(hi * 16 + lo);
			if (d == 0 || d == 0x7f)
				return SF_ERR_BAD_ENCODING;
			if (d < 0x20 && !(allow_ws && (d == '\t' || d == '\r' || d == '\n')))
				return SF_ERR_BAD_ENCODING;
			if (d == '/' && slash_seen)
				*slash_seen = 1;
			dst[o++] = (char)d;
			i += 2;
		} else if (c == '+' && plus_space) {
			dst[o++] = ' ';
		} else {
			dst[o++] = (char)c;
		}
	}
	dst[o] = '\0';
	if (!sf_http_utf8_valid((const unsigned char *)dst, o))
		return SF_ERR_BAD_ENCODING;
	*dlen = o;
	return SF_OK;
}

enum sf_err sf_http_decode_path(struct sf_arena *a, const char *raw, size_t len, char **out)
{
	*out = NULL;
	if (len == 0 || raw[0] != '/')
		return SF_ERR_BAD_REQUEST;
	if (memchr(raw, '#', len))
		return SF_ERR_BAD_REQUEST;
	char *dst = sf_arena_alloc(a, len + 1);
	if (!dst)
		return SF_ERR_NOMEM;
	size_t dlen = 0;
	int slash = 0;
	enum sf_err err = decode_part(raw, len, dst, &dlen, 0, 0, &slash);
	if (err)
		return err;
	if (slash)
		return SF_ERR_BAD_REQUEST; /* %2F would hide a segment boundary */
	if (memchr(dst, '\\', dlen))
		return SF_ERR_BAD_REQUEST;
	/* Segment rules on the decoded path: no "." / "..", no empty segment
	 * except a trailing one ("/a/" is fine, "/a//b" is not). */
	const char *p = dst + 1;
	const char *end = dst + dlen;
	while (p <= end) {
		const char *slash_at = memchr(p, '/', (size_t)(end - p));
		const char *seg_end = slash_at ? slash_at : end;
		size_t sl = (size_t)(seg_end - p);
		if (sl == 0 && slash_at)
			return SF_ERR_BAD_REQUEST;
		if ((sl == 1 && p[0] == '.') || (sl == 2 && p[0] == '.' && p[1] == '.'))
			return SF_ERR_BAD_REQUEST;
		if (!slash_at)
			break;
		p = slash_at + 1;
	}
	*out = dst;
	return SF_OK;
}

enum sf_err sf_http_parse_query(struct sf_arena *a, const char *raw, size_t len, struct sf_kv **args,
				size_t *nargs)
{
	*args = NULL;
	*nargs = 0;
	if (len == 0)
		return SF_OK;
	size_t pairs = 1;
	for (size_t i = 0; i < len; i++)
		if (raw[i] == '&')
			pairs++;
	if (pairs > SF_HTTP_MAX_QARGS * 4)
		return SF_ERR_BAD_PARAM; /* even with empty pairs skipped it is absurd */
	struct sf_kv *kv = sf_arena_alloc(a, pairs * sizeof *kv);
	if (!kv)
		return SF_ERR_NOMEM;
	size_t n = 0;
	size_t i = 0;
	while (i <= len) {
		const char *amp = memchr(raw + i, '&', len - i);
		size_t end = amp ? (size_t)(amp - raw) : len;
		if (end > i) {
			if (n == SF_HTTP_MAX_QARGS)
				return SF_ERR_BAD_PARAM;
			const char *eq = memchr(raw + i, '=', end - i);
			size_t klen = eq ? (size_t)(eq - (raw + i)) : end - i;
			size_t vstart = eq ? (size_t)(eq - raw) + 1 : end;
			size_t vlen = end - vstart;
			if (klen == 0)
				return SF_ERR_BAD_PARAM;
			char *k = sf_arena_alloc(a, klen + 1);
			char *v = sf_arena_alloc(a, vlen + 1);
			if (!k || !v)
				return SF_ERR_NOMEM;
			size_t dk, dv;
			enum sf_err err = decode_part(raw + i, klen, k, &dk, 1, 0, NULL);
			if (!err)
				err = decode_part(raw + vstart, vlen, v, &dv, 1, 1, NULL);
			if (err)
				return err;
			if (dk == 0)
				return SF_ERR_BAD_PARAM;
			kv[n].k = k;
			kv[n].v = v;
			n++;
		}
		if (!amp)
			break;
		i = end + 1;
	}
	*args = kv;
	*nargs = n;
	return SF_OK;
}

/* ==== Request ids ==== */

/* Request ids come from a per-thread ChaCha20 stream: a key drawn from the
 * system generator when the thread makes its first id, and a counter as
 * the nonce, so every id is 128 unpredictable bits without a getrandom(2)
 * system call per request (one per request was ~3% of a cached answer).
 * The key never leaves this thread and is not used for anything else. */
static _Thread_local unsigned char rid_key[crypto_stream_chacha20_KEYBYTES];
static _Thread_local uint64_t rid_counter;

static void request_id_bytes(unsigned char raw[16])
{
	if (rid_counter == 0) {
		randombytes_buf(rid_key, sizeof rid_key);
		rid_counter = 1;
	}
	unsigned char nonce[crypto_stream_chacha20_NONCEBYTES];
	memcpy(nonce, &rid_counter, sizeof nonce);
	rid_counter++;
	crypto_stream_chacha20(raw, 16, nonce, rid_key);
}

void sf_http_request_id(char out[SF_REQUEST_ID_LEN + 1])
{
	static const char alphabet[] = "abcdefghijklmnopqrstuvwxyz234567";
	unsigned char raw[16];
	request_id_bytes(raw);
	/* 128 bits -> 26 groups of 5 bits (the last one padded with zeros). */
	unsigned acc = 0;
	int bits = 0;
	size_t o = 0;
	for (size_t i = 0; i < sizeof raw; i++) {
		acc = (acc << 8) | raw[i];
		bits += 8;
		while (bits >= 5) {
			out[o++] = alphabet[(acc >> (bits - 5)) & 31];
			bits -= 5;
		}
	}
	if (bits > 0)
		out[o++] = alphabet[(acc << (5 - bits)) & 31];
	out[o] = '\0';
	sodium_memzero(raw, sizeof raw);
}

/* ==== Accessors ==== */

static struct MHD_Connection *req_con(const struct sf_req *req)
{
	const struct sf_http_ctx *ctx = req->priv;
	return ctx ? ctx->con : NULL;
}

const char *sf_req_header(struct sf_req *req, const char *name)
{
	struct MHD_Connection *con = req_con(req);
	if (!con || !name)
		return NULL;
	return MHD_lookup_connection_value(con, MHD_HEADER_KIND, name);
}

const char *sf_req_query(const struct sf_req *req, const char *name)
{
	for (size_t i = 0; i < req->nqargs; i++)
		if (strcmp(req->qargs[i].k, name) == 0)
			return req->qargs[i].v;
	return NULL;
}

const char *sf_req_param(const struct sf_req *req, const char *name)
{
	for (size_t i = 0; i < req->nparams; i++)
		if (strcmp(req->params[i].k, name) == 0)
			return req->params[i].v;
	return NULL;
}

/* Cookies are parsed here from the Cookie header(s) rather than through
 * libmicrohttpd's lenient parser: "name=value" pairs split on ';', optional
 * surrounding whitespace, an optionally double-quoted value. */
const char *sf_req_cookie(struct sf_req *req, const char *name)
{
	struct MHD_Connection *con = req_con(req);
	if (!con || !name || !*name)
		return NULL;
	const char *hdr = MHD_lookup_connection_value(con, MHD_HEADER_KIND, MHD_HTTP_HEADER_COOKIE);
	if (!hdr)
		return NULL;
	size_t nlen = strlen(name);
	const char *p = hdr;
	while (*p) {
		while (*p == ' ' || *p == '\t' || *p == ';')
			p++;
		const char *end = strchr(p, ';');
		if (!end)
			end = p + strlen(p);
		const char *eq = memchr(p, '=', (size_t)(end - p));
		if (eq && (size_t)(eq - p) == nlen && memcmp(p, name, nlen) == 0) {
			const char *v = eq + 1;
			const char *ve = end;
			while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t'))
				ve--;
			if (ve - v >= 2 && v[0] == '"' && ve[-1] == '"') {
				v++;
				ve--;
			}
			return sf_arena_strndup(req->arena, v, (size_t)(ve - v));
		}
		p = end;
	}
	return NULL;
}

struct each_tramp {
	void (*fn)(void *ctx, const char *k, const char *v);
	void *ctx;
};

static enum MHD_Result each_cb(void *cls, enum MHD_ValueKind kind, const char *k, const char *v)
{
	(void)kind;
	struct each_tramp *t = cls;
	t->fn(t->ctx, k, v ? v : "");
	return MHD_YES;
}

void sf_req_headers_each(struct sf_req *req, void (*fn)(void *ctx, const char *k, const char *v), void *ctx)
{
	struct MHD_Connection *con = req_con(req);
	if (!con || !fn)
		return;
	struct each_tramp t = { fn, ctx };
	MHD_get_connection_values(con, MHD_HEADER_KIND, each_cb, &t);
}

int sf_req_is_api(const struct sf_req *req)
{
	const char *p = req->path;
	if (!p) {
		/* Not decoded (a malformed or too long target): judge by the
		 * raw target, or by the log copy of its start. */
		const struct sf_http_ctx *ctx = req->priv;
		p = req->target ? req->target : (ctx ? ctx->raw_path_log : NULL);
	}
	return p && strncmp(p, "/api/", 5) == 0;
}
