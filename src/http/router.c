/*
 * router.c — matching a decoded path against the static route table.
 *
 * Patterns are literal segments, "{name}" (one non-empty segment) and a
 * final "{*name}" (the non-empty rest of the path, slashes included).  The
 * table is scanned in order, so the first route that fits wins; a path that
 * fits routes of other methods only yields NULL plus the Allow list, which
 * is what turns a 404 into a 405.  GET routes also answer HEAD.
 */
#include <string.h>

#include "http/internal.h"

/* Does path fit pattern?  At most SF_HTTP_MAX_PARAMS parameters. */
static int pattern_match(const char *pat, const char *path)
{
	size_t np = 0;
	const char *p = pat, *s = path;
	while (*p) {
		if (*p == '{') {
			const char *close = strchr(p, '}');
			if (!close || ++np > SF_HTTP_MAX_PARAMS)
				return 0; /* malformed pattern never matches */
			int rest = p[1] == '*';
			size_t vlen;
			if (rest) {
				vlen = strlen(s);
			} else {
				const char *slash = strchr(s, '/');
				vlen = slash ? (size_t)(slash - s) : strlen(s);
			}
			if (vlen == 0)
				return 0;
			s += vlen;
			p = close + 1;
			if (rest && *p != '\0')
				return 0; /* {*rest} must close the pattern */
			continue;
		}
		if (*p != *s)
			return 0;
		p++;
		s++;
	}
	return *s == '\0';
}

/* Copy the matched parameters into req (names and values NUL-terminated in
 * the arena).  Returns 0 when the arena is exhausted. */
static int store_params(struct sf_req *req, const char *pat, const char *path)
{
	req->nparams = 0;
	const char *p = pat, *s = path;
	while (*p) {
		if (*p == '{') {
			const char *close = strchr(p, '}');
			int rest = p[1] == '*';
			const char *name = p + 1 + rest;
			size_t vlen;
			if (rest) {
				vlen = strlen(s);
			} else {
				const char *slash = strchr(s, '/');
				vlen = slash ? (size_t)(slash - s) : strlen(s);
			}
			char *k = sf_arena_strndup(req->arena, name, (size_t)(close - name));
			char *v = sf_arena_strndup(req->arena, s, vlen);
			if (!k || !v)
				return 0;
			req->params[req->nparams].k = k;
			req->params[req->nparams].v = v;
			req->nparams++;
			s += vlen;
			p = close + 1;
			continue;
		}
		p++;
		s++;
	}
	return 1;
}

static int method_fits(const char *route_method, const char *method)
{
	if (strcmp(route_method, method) == 0)
		return 1;
	return strcmp(method, "HEAD") == 0 && strcmp(route_method, "GET") == 0;
}

/* Append m to the allow list unless present. */
static void allow_add(const char **list, size_t *n, size_t cap, const char *m)
{
	for (size_t i = 0; i < *n; i++)
		if (strcmp(list[i], m) == 0)
			return;
	if (*n < cap)
		list[(*n)++] = m;
}

const struct sf_route *sf_http_route_match(const struct sf_route *routes, size_t nroutes, const char *method,
					   const char *path, struct sf_req *req, const char **allow)
{
	const char *methods[16];
	size_t nm = 0;
	if (allow)
		*allow = NULL;
	if (!routes || !method || !path)
		return NULL;
	for (size_t i = 0; i < nroutes; i++) {
		if (!pattern_match(routes[i].pattern, path))
			continue;
		if (method_fits(routes[i].method, method)) {
			if (req) {
				if (!store_params(req, routes[i].pattern, path))
					return NULL;
				req->route = &routes[i];
			}
			return &routes[i];
		}
		allow_add(methods, &nm, sizeof methods / sizeof methods[0], routes[i].method);
		if (strcmp(routes[i].method, "GET") == 0)
			allow_add(methods, &nm, sizeof methods / sizeof methods[0], "HEAD");
	}
	if (nm == 0 || !allow || !req)
		return NULL;
	size_t len = 0;
	for (size_t i = 0; i < nm; i++)
		len += strlen(methods[i]) + 2;
	char *out = sf_arena_alloc(req->arena, len + 1);
	if (!out)
		return NULL;
	size_t o = 0;
	for (size_t i = 0; i < nm; i++) {
		size_t ml = strlen(methods[i]);
		if (i) {
			out[o++] = ',';
			out[o++] = ' ';
		}
		memcpy(out + o, methods[i], ml);
		o += ml;
	}
	out[o] = '\0';
	*allow = out;
	return NULL;
}

/* Does path equal prefix or continue it with '/'? */
static int under(const char *path, const char *prefix)
{
	size_t n = strlen(prefix);
	return !strncmp(path, prefix, n) && (path[n] == '\0' || path[n] == '/');
}

const char *sf_http_admin_rewrite(struct sf_arena *a, const char *prefix, const char *path, int *nomem)
{
	*nomem = 0;
	if (!prefix || !*prefix || !strcmp(prefix, "/admin") || !path)
		return path;
	if (under(path, prefix)) {
		size_t n = strlen(prefix);
		char *out = sf_arena_printf(a, "/admin%s", path + n);
		if (!out)
			*nomem = 1;
		return out;
	}
	return under(path, "/admin") ? NULL : path;
}

const char *sf_http_admin_outward(struct sf_arena *a, const char *prefix, const char *location, int *nomem)
{
	*nomem = 0;
	if (!prefix || !*prefix || !strcmp(prefix, "/admin") || !location)
		return location;
	size_t n = strlen("/admin");
	if (strncmp(location, "/admin", n) != 0 ||
	    (location[n] != '\0' && location[n] != '/' && location[n] != '?' && location[n] != '#'))
		return location;
	char *out = sf_arena_printf(a, "%s%s", prefix, location + n);
	if (!out)
		*nomem = 1;
	return out;
}
