/*
 * router.c — matching a decoded path against the static route table.
 *
 * Patterns are literal segments, "{name}" (one non-empty segment) and a
 * final "{*name}" (the non-empty rest of the path, slashes included).  The
 * table is scanned in order, so the first route that fits wins; a path that
 * fits routes of other methods only yields NULL plus the Allow list, which
 * is what turns a 404 into a 405.  GET routes also answer HEAD.
 */
#include <stdint.h>
#include <stdlib.h>
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

/* The first route of order[0..n) (indexes into routes; order NULL: the
 * table itself) that fits, as sf_http_route_match describes. */
static const struct sf_route *match_in(const struct sf_route *routes, const uint32_t *order, size_t n,
				       const char *method, const char *path, struct sf_req *req, const char **allow)
{
	const char *methods[16];
	size_t nm = 0;
	if (allow)
		*allow = NULL;
	if (!routes || !method || !path)
		return NULL;
	for (size_t k = 0; k < n; k++) {
		size_t i = order ? order[k] : k;
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

const struct sf_route *sf_http_route_match(const struct sf_route *routes, size_t nroutes, const char *method,
					   const char *path, struct sf_req *req, const char **allow)
{
	return match_in(routes, NULL, nroutes, method, path, req, allow);
}

/* ==== The index ====
 *
 * A route whose pattern starts with d literal segments ("/api/v1/products/
 * {slug}": d = 3, counted up to IX_DEPTH) can only fit a path whose first d
 * segments are those same bytes.  The index maps (d, that prefix) to the
 * routes with it, in table order; routes with no literal first segment
 * ("/{lang}/about", "/{*any}", a pattern without a leading slash) are
 * candidates for every path.  A request looks up its own first 1..IX_DEPTH
 * segments, merges those few lists by table position and matches only
 * them, so the first route that fits is the same one the scan finds. */

#define IX_DEPTH 3
#define IX_MERGE_MAX 512

struct ix_group {
	const char *key; /* the pattern's literal prefix (not NUL-terminated) */
	uint32_t klen, depth, start, n;
};

struct sf_route_index {
	const struct sf_route *routes;
	size_t nroutes;
	uint32_t any_n;            /* routes for every path: order[0..any_n) */
	uint32_t mask;             /* slots - 1 */
	struct ix_group *slots;    /* open addressing; key NULL = empty */
	uint32_t *order;
};

/* Literal depth of pat and the length of its literal prefix. */
static uint32_t pattern_depth(const char *pat, uint32_t *klen)
{
	uint32_t d = 0;
	size_t end = 0, i = 1;
	if (pat[0] != '/')
		return 0;
	while (d < IX_DEPTH) {
		size_t j = i;
		while (pat[j] && pat[j] != '/' && pat[j] != '{')
			j++;
		if (pat[j] == '{')
			break;
		d++;
		end = j;
		if (!pat[j])
			break;
		i = j + 1;
	}
	*klen = (uint32_t)end;
	return d;
}

static uint32_t ix_hash(const char *k, size_t n, uint32_t depth)
{
	uint32_t h = 2166136261u ^ depth;
	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)k[i]) * 16777619u;
	return h;
}

static const struct ix_group *ix_find(const struct sf_route_index *ix, const char *k, size_t n, uint32_t depth)
{
	for (uint32_t s = ix_hash(k, n, depth) & ix->mask;; s = (s + 1) & ix->mask) {
		const struct ix_group *g = &ix->slots[s];
		if (!g->key)
			return NULL;
		if (g->depth == depth && g->klen == n && memcmp(g->key, k, n) == 0)
			return g;
	}
}

struct sf_route_index *sf_http_route_index_new(const struct sf_route *routes, size_t nroutes)
{
	if (!routes || nroutes == 0 || nroutes > (1u << 20))
		return NULL;
	for (size_t i = 0; i < nroutes; i++)
		if (!routes[i].pattern || strlen(routes[i].pattern) > UINT32_MAX / 2)
			return NULL;
	struct sf_route_index *ix = calloc(1, sizeof *ix);
	uint32_t *depth = calloc(nroutes, sizeof *depth), *klen = calloc(nroutes, sizeof *klen);
	uint32_t slots = 16;
	while (slots < 2 * nroutes)
		slots *= 2;
	if (ix) {
		ix->slots = calloc(slots, sizeof *ix->slots);
		ix->order = calloc(nroutes, sizeof *ix->order);
	}
	if (!ix || !depth || !klen || !ix->slots || !ix->order) {
		free(depth);
		free(klen);
		sf_http_route_index_free(ix);
		return NULL;
	}
	ix->routes = routes;
	ix->nroutes = nroutes;
	ix->mask = slots - 1;
	for (size_t i = 0; i < nroutes; i++)
		depth[i] = pattern_depth(routes[i].pattern, &klen[i]);
	/* order[]: the every-path routes, then each group, each in table order. */
	uint32_t o = 0;
	for (size_t i = 0; i < nroutes; i++)
		if (depth[i] == 0)
			ix->order[o++] = (uint32_t)i;
	ix->any_n = o;
	for (size_t i = 0; i < nroutes; i++) {
		if (depth[i] == 0 || ix_find(ix, routes[i].pattern, klen[i], depth[i]))
			continue; /* every-path route, or its group is built */
		uint32_t s = ix_hash(routes[i].pattern, klen[i], depth[i]) & ix->mask;
		while (ix->slots[s].key)
			s = (s + 1) & ix->mask;
		struct ix_group *g = &ix->slots[s];
		g->key = routes[i].pattern;
		g->klen = klen[i];
		g->depth = depth[i];
		g->start = o;
		for (size_t j = i; j < nroutes; j++)
			if (depth[j] == depth[i] && klen[j] == klen[i] &&
			    memcmp(routes[j].pattern, routes[i].pattern, klen[i]) == 0)
				ix->order[o++] = (uint32_t)j;
		g->n = o - g->start;
	}
	free(depth);
	free(klen);
	return ix;
}

void sf_http_route_index_free(struct sf_route_index *ix)
{
	if (!ix)
		return;
	free(ix->slots);
	free(ix->order);
	free(ix);
}

const struct sf_route *sf_http_route_match_ix(const struct sf_route_index *ix, const char *method, const char *path,
					      struct sf_req *req, const char **allow)
{
	if (!ix || !path) {
		if (allow)
			*allow = NULL;
		return NULL;
	}
	/* The lists that could hold a fitting route. */
	const uint32_t *list[IX_DEPTH + 1];
	uint32_t len[IX_DEPTH + 1], nl = 0, total = 0;
	list[nl] = ix->order;
	len[nl++] = ix->any_n;
	total += ix->any_n;
	if (path[0] == '/') {
		size_t i = 1;
		for (uint32_t d = 1; d <= IX_DEPTH; d++) {
			size_t j = i;
			while (path[j] && path[j] != '/')
				j++;
			const struct ix_group *g = ix_find(ix, path, j, d);
			if (g) {
				list[nl] = ix->order + g->start;
				len[nl++] = g->n;
				total += g->n;
			}
			if (!path[j])
				break;
			i = j + 1;
		}
	}
	if (total > IX_MERGE_MAX)
		return match_in(ix->routes, NULL, ix->nroutes, method, path, req, allow);
	/* Merge them by table position. */
	uint32_t merged[IX_MERGE_MAX], pos[IX_DEPTH + 1] = {0}, m = 0;
	while (m < total) {
		uint32_t best = UINT32_MAX, bl = 0;
		for (uint32_t l = 0; l < nl; l++)
			if (pos[l] < len[l] && list[l][pos[l]] < best) {
				best = list[l][pos[l]];
				bl = l;
			}
		merged[m++] = best;
		pos[bl]++;
	}
	return match_in(ix->routes, merged, m, method, path, req, allow);
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
