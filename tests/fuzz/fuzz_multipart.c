/* fuzz_multipart.c — the multipart/form-data splitter on arbitrary bodies
 * (the first line of the input is the Content-Type).  Invariants: no crash
 * or overread; every part returned lies inside the body and has a name. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http/http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nl = memchr(data, '\n', size);
	size_t ctlen = nl ? (size_t)(nl - data) : size;
	char *ct = malloc(ctlen + 1);
	if (!ct)
		return 0;
	memcpy(ct, data, ctlen);
	ct[ctlen] = '\0';
	const char *body = nl ? (const char *)nl + 1 : "";
	size_t blen = nl ? size - ctlen - 1 : 0;
	struct sf_arena a;
	sf_arena_init(&a, 1 << 20);
	struct sf_part parts[8];
	size_t n = 0;
	if (sf_multipart_split(&a, ct, body, blen, parts, 8, &n) == SF_OK) {
		for (size_t i = 0; i < n; i++) {
			const char *p = (const char *)parts[i].data;
			if (!parts[i].name || !*parts[i].name || p < body || p + parts[i].len > body + blen)
				abort();
		}
	}
	sf_arena_release(&a);
	free(ct);
	return 0;
}
