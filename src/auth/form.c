/*
 * form.c — form and JSON request bodies (form.h).
 */
#include "auth/form.h"
#include "core/log.h"
#include "core/util.h"

#include <string.h>
#include <strings.h>

#include "auth/auth_int.h"
#include "http/internal.h"

/* Is the media type of ct (parameters ignored) equal to want? */
static int media_is(const char *ct, const char *want)
{
	if (!ct)
		return 0;
	while (*ct == ' ')
		ct++;
	size_t n = strlen(want);
	if (strncasecmp(ct, want, n) != 0)
		return 0;
	return ct[n] == '\0' || ct[n] == ';' || ct[n] == ' ';
}

enum sf_err sf_form_decode(struct sf_arena *a, const char *body, size_t n, struct sf_kv **kv, size_t *nkv)
{
	*kv = NULL;
	*nkv = 0;
	if (!body || n == 0)
		return SF_OK;
	return sf_http_parse_query(a, body, n, kv, nkv);
}

/* A multipart/form-data body: text parts become form fields under the same
 * rules as url-encoded ones (valid UTF-8, no control characters but tab/CR/
 * LF, at most SF_FORM_MAX_FIELDS); file parts are kept for sf_form_file. */
static enum sf_err form_multipart(struct sf_req *req, struct sf_auth_state *st)
{
	struct sf_part *parts = sf_arena_alloc(req->arena, SF_FORM_MAX_PARTS * sizeof *parts);
	size_t n = 0;
	if (!parts)
		return SF_ERR_NOMEM;
	enum sf_err err = sf_multipart_parse(req, parts, SF_FORM_MAX_PARTS, &n);
	if (err)
		return err;
	st->form = sf_arena_alloc(req->arena, (n ? n : 1) * sizeof *st->form);
	st->files = sf_arena_alloc(req->arena, (n ? n : 1) * sizeof *st->files);
	if (!st->form || !st->files)
		return SF_ERR_NOMEM;
	for (size_t i = 0; i < n; i++) {
		if (parts[i].is_file) {
			st->files[st->nfiles++] = parts[i];
			continue;
		}
		if (!sf_utf8_valid((const char *)parts[i].data, parts[i].len, 1) ||
		    !sf_utf8_valid(parts[i].name, strlen(parts[i].name), 1))
			return SF_ERR_BAD_ENCODING;
		char *v = sf_arena_strndup(req->arena, (const char *)parts[i].data, parts[i].len);
		if (!v)
			return SF_ERR_NOMEM;
		st->form[st->nform].k = parts[i].name;
		st->form[st->nform].v = v;
		st->nform++;
	}
	return SF_OK;
}

enum sf_err sf_form_parse(struct sf_req *req)
{
	struct sf_auth_state *st = sf_auth_state(req);
	if (!st)
		return SF_ERR_NOMEM;
	if (st->form_done)
		return st->form_err;
	st->form_done = 1;
	const char *ct = sf_req_header(req, "Content-Type");
	if (req->body && req->body_len > 0 && sf_multipart_is(ct))
		st->form_err = form_multipart(req, st);
	else if (req->body && req->body_len > 0 && !media_is(ct, "application/x-www-form-urlencoded"))
		st->form_err = SF_ERR_UNSUPPORTED_MEDIA;
	else
		st->form_err = sf_form_decode(req->arena, req->body, req->body_len, &st->form, &st->nform);
	return st->form_err;
}

const struct sf_part *sf_form_file(struct sf_req *req, const char *name)
{
	if (sf_form_parse(req) != SF_OK)
		return NULL;
	struct sf_auth_state *st = req->auth;
	for (size_t i = 0; i < st->nfiles; i++)
		if (strcmp(st->files[i].name, name) == 0)
			return &st->files[i];
	return NULL;
}

const char *sf_form_get(struct sf_req *req, const char *name)
{
	if (sf_form_parse(req) != SF_OK)
		return NULL;
	struct sf_auth_state *st = req->auth;
	for (size_t i = 0; i < st->nform; i++)
		if (strcmp(st->form[i].k, name) == 0)
			return st->form[i].v;
	return NULL;
}

const char *sf_form_echo(const char *v)
{
	return v && !sf_log_has_card(v, strlen(v)) ? v : "";
}

size_t sf_json_depth(const char *text, size_t n)
{
	size_t depth = 0, max = 0;
	int in_str = 0;
	for (size_t i = 0; i < n; i++) {
		char ch = text[i];
		if (in_str) {
			if (ch == '\\')
				i++;
			else if (ch == '"')
				in_str = 0;
			continue;
		}
		if (ch == '"')
			in_str = 1;
		else if (ch == '{' || ch == '[') {
			if (++depth > max)
				max = depth;
		} else if ((ch == '}' || ch == ']') && depth > 0)
			depth--;
	}
	return max;
}

enum sf_err sf_json_body(struct sf_req *req, json_t **out)
{
	*out = NULL;
	if (!media_is(sf_req_header(req, "Content-Type"), "application/json"))
		return SF_ERR_UNSUPPORTED_MEDIA;
	if (req->body_len > SF_JSON_BODY_MAX)
		return SF_ERR_TOO_LARGE;
	if (!req->body || req->body_len == 0 || sf_json_depth(req->body, req->body_len) > SF_JSON_MAX_DEPTH)
		return SF_ERR_BAD_JSON;
	json_error_t e;
	json_t *j = json_loadb(req->body, req->body_len, JSON_REJECT_DUPLICATES, &e);
	if (!j)
		return SF_ERR_BAD_JSON;
	if (!json_is_object(j)) {
		json_decref(j);
		return SF_ERR_BAD_JSON;
	}
	*out = j;
	return SF_OK;
}
