/* fuzz_query.c — catalog query validation and the FTS5 query builder.
 * Invariant: the FTS5 text never holds an unquoted operator character. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "shop/catalog.h"
#include "shop/catalog_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);
	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	char out[2048];
	sf_catalog_fts_query(s, out, sizeof out);
	/* Outside "..." only spaces, '*' after a closing quote may appear. */
	int inq = 0;
	for (const char *p = out; *p; p++) {
		if (*p == '"') {
			if (inq && p[1] == '"') {
				p++;
				continue;
			}
			inq = !inq;
		} else if (!inq && *p != ' ' && *p != '*') {
			abort();
		}
	}
	if (inq)
		abort();
	/* Split the input in five pieces for the parameter validator. */
	const char *parts[5] = {NULL};
	char *p = s;
	for (int i = 0; i < 5 && p; i++) {
		parts[i] = p;
		p = strchr(p, '&');
		if (p)
			*p++ = '\0';
	}
	struct sf_catalog_query q;
	const char *bad = NULL;
	if (sf_catalog_query_parse(parts[0], parts[1], parts[2], parts[3], parts[4], &q, &bad) == SF_OK) {
		if (q.page < 1 || q.page > SF_CATALOG_MAX_PAGE || q.per_page < 1 || q.per_page > SF_CATALOG_MAX_PER_PAGE)
			abort();
	} else if (!bad) {
		abort();
	}
	free(s);
	return 0;
}
