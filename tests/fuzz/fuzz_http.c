/* fuzz_http.c — the HTTP layer's own parsing that runs before any handler
 * (and before the WAF): strict path decoding, query parsing and route
 * matching, on an arbitrary request target.  Invariants: no crash; a decoded
 * path is valid UTF-8 without NUL or control characters and without dot
 * segments; every query key and value is valid UTF-8. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "core/util.h"
#include "http/http.h"
#include "http/internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static enum sf_err nop(struct sf_req *req, struct sf_resp *resp)
{
	(void)req;
	(void)resp;
	return SF_OK;
}

static const struct sf_route routes[] = {
	{"GET", "/", nop, SF_AUTH_NONE, NULL, SF_CSRF_NONE, SF_RC_READ, 0, 0},
	{"GET", "/p/{slug}", nop, SF_AUTH_NONE, NULL, SF_CSRF_NONE, SF_RC_READ, 0, 0},
	{"GET", "/api/v1/products/{slug}", nop, SF_AUTH_NONE, NULL, SF_CSRF_NONE, SF_RC_READ, 0, 0},
	{"POST", "/api/v1/products/{slug}", nop, SF_AUTH_NONE, NULL, SF_CSRF_NONE, SF_RC_READ, 0, 0},
	{"GET", "/static/{*path}", nop, SF_AUTH_NONE, NULL, SF_CSRF_NONE, SF_RC_STATIC, 0, SF_ROUTE_STATIC},
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sf_arena a;
	sf_arena_init(&a, 1 << 20);
	const char *raw = (const char *)data;
	size_t qpos = size;
	for (size_t i = 0; i < size; i++)
		if (raw[i] == '?') {
			qpos = i;
			break;
		}
	char *path = NULL;
	if (sf_http_decode_path(&a, raw, qpos, &path) == SF_OK) {
		size_t n = strlen(path);
		if (!sf_utf8_valid(path, n, 1) || strstr(path, "/../") || strstr(path, "/./"))
			abort();
		struct sf_req req;
		memset(&req, 0, sizeof req);
		req.arena = &a;
		const char *allow = NULL;
		const struct sf_route *r =
			sf_http_route_match(routes, sizeof routes / sizeof routes[0], "GET", path, &req, &allow);
		if (r)
			for (size_t i = 0; i < req.nparams; i++)
				if (!req.params[i].v)
					abort();
	}
	if (qpos < size) {
		struct sf_kv *args = NULL;
		size_t nargs = 0;
		if (sf_http_parse_query(&a, raw + qpos + 1, size - qpos - 1, &args, &nargs) == SF_OK)
			for (size_t i = 0; i < nargs; i++)
				if (!sf_utf8_valid(args[i].k, strlen(args[i].k), 0) ||
				    !sf_utf8_valid(args[i].v, strlen(args[i].v), 0))
					abort();
	}
	sf_arena_release(&a);
	return 0;
}
