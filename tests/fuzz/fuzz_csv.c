/* fuzz_csv.c — the catalog CSV parser on arbitrary bytes.  Invariants: no
 * crash or overread; on success every row has every field, valid UTF-8, and
 * line numbers increase. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"
#include "shop/catalog_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf = malloc(size + 1);
	if (!buf)
		return 0;
	memcpy(buf, data, size);
	struct sf_csv_doc doc = {0};
	int64_t bad = 0;
	char reason[200];
	if (sf_csv_parse(buf, size, &doc, &bad, reason, sizeof reason) == SF_OK) {
		int64_t last = 0;
		for (size_t i = 0; i < doc.nrows; i++) {
			if (doc.rows[i].line <= last)
				abort();
			last = doc.rows[i].line;
			for (int c = 0; c < SF_CSV_NCOLS; c++)
				if (!doc.rows[i].f[c] || !sf_utf8_valid(doc.rows[i].f[c], strlen(doc.rows[i].f[c]), 0))
					abort();
		}
		sf_csv_doc_free(&doc);
	} else if (bad < 0 || !reason[0]) {
		abort(); /* every refusal names a line (0 allowed for whole-file limits) and a reason */
	}
	free(buf);
	return 0;
}
