/*
 * catalog_internal.h — pieces shared by catalog.c, catalog_csv.c, demo.c and
 * the unit tests, not part of the public catalog interface.
 */
#ifndef SF_SHOP_CATALOG_INTERNAL_H
#define SF_SHOP_CATALOG_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "db/db.h"

struct sf_keyring;
struct sf_catalog_import_result;

/* CSV columns, in file order. */
enum sf_csv_col {
	SF_CSV_SLUG, SF_CSV_NAME, SF_CSV_CATEGORY, SF_CSV_DESCRIPTION, SF_CSV_SKU,
	SF_CSV_VARIANT, SF_CSV_PRICE, SF_CSV_CURRENCY, SF_CSV_STOCK, SF_CSV_IMAGE,
	SF_CSV_NCOLS
};

/* Column names as written in the header line. */
extern const char *const sf_csv_header[SF_CSV_NCOLS];

#define SF_CSV_MAX_LINE (64 * 1024)
#define SF_CSV_MAX_FILE (64 * 1024 * 1024)
#define SF_CSV_MAX_ROWS 100000

/* One row: the line it starts on and its fields (NUL-terminated, borrowed). */
struct sf_csv_row {
	int64_t line;
	const char *f[SF_CSV_NCOLS];
};

/* A parsed document: rows point into data, which the parser rewrote in place. */
struct sf_csv_doc {
	struct sf_csv_row *rows; /* malloc'd, header excluded */
	size_t nrows;
};

/* Parse data[0..len) (data[len] must be writable and is overwritten; the
 * buffer is modified in place) as RFC 4180 with exactly ncols =
 * SF_CSV_NCOLS columns and the catalog header line.  Returns SF_OK with doc
 * filled (free with sf_csv_doc_free), or SF_ERR_CSV with *bad_line and a
 * reason ("unterminated quoted field").  Strict: NUL bytes, invalid UTF-8, a
 * bare quote in an unquoted field, a bare CR, a line over SF_CSV_MAX_LINE,
 * more than SF_CSV_MAX_ROWS rows and a wrong column count are refused. */
enum sf_err sf_csv_parse(char *data, size_t len, struct sf_csv_doc *doc, int64_t *bad_line, char *reason,
			 size_t reasonlen) SF_WARN_UNUSED;
void sf_csv_doc_free(struct sf_csv_doc *doc);

/* Run inside the import transaction after the catalog rows were written
 * (demo data uses it to set meta and category descriptions).  Must be safe to
 * run more than once (the transaction may retry). */
typedef enum sf_db_status (*sf_catalog_extra_fn)(struct sf_db_conn *c, void *ctx);

/* Validate rows and write them in one transaction, auditing each created or
 * changed product (actor_type "cli", actor_id actor) and the import as a
 * whole.  Returns SF_OK; SF_ERR_CSV with res->bad_line/res->reason for bad
 * input (nothing written); or a database/audit error. */
enum sf_err sf_catalog_import_rows(struct sf_db *db, const struct sf_keyring *kr, const struct sf_csv_row *rows,
				   size_t nrows, const char *actor, sf_catalog_extra_fn extra, void *extra_ctx,
				   struct sf_catalog_import_result *res) SF_WARN_UNUSED;

/* Slug for one category name: ASCII letters and digits lower-cased, common
 * Latin-1 letters transliterated, everything else collapsed into single
 * dashes, no dash at either end.  Returns the length written (0 when the name
 * holds no usable character or out is too small). */
size_t sf_catalog_slugify(const char *name, char *out, size_t outlen);

/* Turn user text into a safe FTS5 query: each word becomes a quoted prefix
 * token ("word"*), words are ANDed; no FTS5 operator or syntax character
 * survives.  Returns the number of words (0: nothing searchable), writing at
 * most outlen bytes (NUL-terminated). */
size_t sf_catalog_fts_query(const char *text, char *out, size_t outlen);

#endif
