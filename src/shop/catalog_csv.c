/*
 * catalog_csv.c — catalog CSV import and export.
 *
 * The parser is a hand-written RFC 4180 reader that works in place on the
 * whole file (at most 64 MiB): unquoting only ever shortens a field, so each
 * field is rewritten where it lies and NUL-terminated.  It is strict on
 * purpose — a file it accepts is unambiguous — and every refusal names the
 * line it happened on.
 *
 * Import is all or nothing in three steps: parse, validate every row
 * (fields, and that rows of one product agree), then write everything in one
 * sf_db_txn together with the audit events.  Nothing is written unless every
 * row is good.  demo.c feeds generated rows through the same
 * sf_catalog_import_rows.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "audit/audit.h"
#include "core/buf.h"
#include "core/log.h"
#include "core/util.h"
#include "db/db.h"
#include "shop/webhook.h"
#include "shop/catalog.h"
#include "shop/catalog_cache.h"
#include "shop/catalog_internal.h"
#include "shop/money.h"

#define MAX_PATH_LEVELS 4
#define MAX_CAT_NAME 64
#define MAX_CAT_SLUG 64
#define MAX_PRICE SF_MONEY_MAX /* a price one unit of which can be ordered */
#define MAX_STOCK 1000000000LL

const char *const sf_csv_header[SF_CSV_NCOLS] = {
	"product_slug", "product_name", "category_path", "description", "sku",
	"variant_name", "price_minor",  "currency",      "stock",       "image",
};

/* ==== Formula cells ==== */

/* A spreadsheet opening the export runs a cell that starts with = + - @
 * (or a tab or CR) as a formula: a product name "=cmd|' /C calc'!A0" is a
 * command.  The export puts an apostrophe before such a cell (spreadsheets
 * then show it as text) and before a cell that is apostrophes followed by
 * one, so that a cell really beginning with an apostrophe survives; the
 * import takes exactly that one apostrophe away again.  export -> import ->
 * export is therefore stable, and a hand-written "'Tis" is left alone. */
static int formula_like(const char *s)
{
	while (*s == '\'')
		s++;
	return *s && strchr("=+-@\t\r", *s) != NULL;
}

/* The cell as stored: the export's apostrophe removed (see above). */
static char *cell_unguard(char *s)
{
	return s[0] == '\'' && formula_like(s + 1) ? s + 1 : s;
}

/* ==== Parser ==== */

static enum sf_err csv_fail(int64_t line, int64_t *bad_line, char *reason, size_t rl, const char *msg)
{
	*bad_line = line;
	snprintf(reason, rl, "%s", msg);
	return SF_ERR_CSV;
}

/* Physical-line checks before parsing: NUL bytes, UTF-8, line length.  A
 * newline byte never occurs inside a multi-byte sequence, so lines can be
 * checked one by one and errors carry the exact line. */
static enum sf_err csv_prepass(const char *d, size_t len, int64_t *bad_line, char *reason, size_t rl)
{
	int64_t line = 1;
	size_t start = 0;
	while (start <= len) {
		const char *nl = memchr(d + start, '\n', len - start);
		size_t end = nl ? (size_t)(nl - d) : len;
		size_t n = end - start;
		if (n > SF_CSV_MAX_LINE)
			return csv_fail(line, bad_line, reason, rl, "line longer than 64 KiB");
		if (memchr(d + start, '\0', n))
			return csv_fail(line, bad_line, reason, rl, "NUL byte in the input");
		if (!sf_utf8_valid(d + start, n, 0))
			return csv_fail(line, bad_line, reason, rl, "invalid UTF-8");
		if (!nl)
			break;
		start = end + 1;
		line++;
	}
	return SF_OK;
}

void sf_csv_doc_free(struct sf_csv_doc *doc)
{
	free(doc->rows);
	doc->rows = NULL;
	doc->nrows = 0;
}

static enum sf_err doc_push(struct sf_csv_doc *doc, size_t *cap, const struct sf_csv_row *r)
{
	if (doc->nrows == *cap) {
		size_t nc = *cap ? *cap * 2 : 64;
		struct sf_csv_row *nv = realloc(doc->rows, nc * sizeof *nv);
		if (!nv)
			return SF_ERR_NOMEM;
		doc->rows = nv;
		*cap = nc;
	}
	doc->rows[doc->nrows++] = *r;
	return SF_OK;
}

enum sf_err sf_csv_parse(char *d, size_t len, struct sf_csv_doc *doc, int64_t *bad_line, char *reason,
			 size_t rl)
{
	enum sf_err err;
	size_t r = 0, w = 0, cap = 0;
	int64_t line = 1;
	int header = 1;
	char msg[120];

	doc->rows = NULL;
	doc->nrows = 0;
	*bad_line = 0;
	reason[0] = '\0';
	d[len] = '\0';
	err = csv_prepass(d, len, bad_line, reason, rl);
	if (err)
		return err;
	if (len >= 3 && memcmp(d, "\xEF\xBB\xBF", 3) == 0) /* a byte order mark, as spreadsheets write */
		r = w = 3;
	if (r >= len)
		return csv_fail(1, bad_line, reason, rl, "the file is empty; a header line is required");

	while (r < len) {
		struct sf_csv_row row = {.line = line};
		size_t nf = 0;
		for (;;) {
			char *start = d + w;
			int64_t field_line = line;
			char term;
			if (r < len && d[r] == '"') {
				r++;
				for (;;) {
					if (r >= len) {
						err = csv_fail(field_line, bad_line, reason, rl,
							       "unterminated quoted field");
						goto out;
					}
					if (d[r] == '"') {
						if (r + 1 < len && d[r + 1] == '"') {
							d[w++] = '"';
							r += 2;
							continue;
						}
						r++;
						break;
					}
					if (d[r] == '\n')
						line++;
					d[w++] = d[r++];
				}
				if (r < len && d[r] != ',' && d[r] != '\n' &&
				    !(d[r] == '\r' && r + 1 < len && d[r + 1] == '\n')) {
					err = csv_fail(line, bad_line, reason, rl,
						       "unexpected character after a closing quote");
					goto out;
				}
			} else {
				while (r < len && d[r] != ',' && d[r] != '\n' && d[r] != '\r') {
					if (d[r] == '"') {
						err = csv_fail(line, bad_line, reason, rl,
							       "quote inside an unquoted field");
						goto out;
					}
					d[w++] = d[r++];
				}
				if (r < len && d[r] == '\r' && !(r + 1 < len && d[r + 1] == '\n')) {
					err = csv_fail(line, bad_line, reason, rl, "carriage return without line feed");
					goto out;
				}
			}
			term = r < len ? d[r] : '\n';
			d[w] = '\0'; /* w <= r: this overwrites at most the terminator just read */
			if (nf < SF_CSV_NCOLS)
				row.f[nf] = header ? start : cell_unguard(start);
			nf++;
			w++;
			if (term == ',') {
				r++;
				continue;
			}
			if (r < len) {
				r += term == '\r' ? 2 : 1;
				line++;
			}
			break;
		}
		if (nf != SF_CSV_NCOLS) {
			snprintf(msg, sizeof msg, "expected %d fields, found %zu", SF_CSV_NCOLS, nf);
			err = csv_fail(row.line, bad_line, reason, rl, msg);
			goto out;
		}
		if (header) {
			for (size_t i = 0; i < SF_CSV_NCOLS; i++) {
				if (strcmp(row.f[i], sf_csv_header[i]) != 0) {
					snprintf(msg, sizeof msg, "header column %zu must be \"%s\"", i + 1,
						 sf_csv_header[i]);
					err = csv_fail(row.line, bad_line, reason, rl, msg);
					goto out;
				}
			}
			header = 0;
			continue;
		}
		if (doc->nrows >= SF_CSV_MAX_ROWS) {
			err = csv_fail(row.line, bad_line, reason, rl, "more than 100000 rows");
			goto out;
		}
		err = doc_push(doc, &cap, &row);
		if (err)
			goto out;
	}
	if (header)
		err = csv_fail(1, bad_line, reason, rl, "the file is empty; a header line is required");
out:
	if (err)
		sf_csv_doc_free(doc);
	return err;
}

/* ==== Field validation ==== */

static size_t utf8_chars(const char *s)
{
	size_t n = 0;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if ((*p & 0xC0) != 0x80)
			n++;
	return n;
}

/* Well-formed text of min..max characters; newlines and tabs only if multiline. */
static int text_ok(const char *s, size_t min, size_t max, int multiline)
{
	size_t n = strlen(s);
	if (!sf_utf8_valid(s, n, 1))
		return 0;
	if (!multiline && strpbrk(s, "\t\r\n"))
		return 0;
	size_t chars = utf8_chars(s);
	return chars >= min && chars <= max;
}

static int charset_ok(const char *s, size_t max, const char *extra, int upper, int lower)
{
	size_t n = 0;
	for (; s[n]; n++) {
		char c = s[n];
		int ok = (c >= '0' && c <= '9') || (lower && c >= 'a' && c <= 'z') || (upper && c >= 'A' && c <= 'Z') ||
			 (c && strchr(extra, c));
		if (!ok || n >= max)
			return 0;
	}
	return n > 0;
}

static int image_ok(const char *s)
{
	static const char *const exts[] = {".svg", ".png", ".jpg", ".jpeg", ".webp"};
	if (!*s)
		return 1;
	if (s[0] == '.' || !charset_ok(s, 120, "._-", 1, 1))
		return 0;
	size_t n = strlen(s);
	for (size_t i = 0; i < SF_ARRAY_LEN(exts); i++) {
		size_t e = strlen(exts[i]);
		if (n > e && strcmp(s + n - e, exts[i]) == 0)
			return 1;
	}
	return 0;
}

/* Split a category path into at most MAX_PATH_LEVELS names and derive the
 * slug of the deepest level ("Clothing/Shirts" -> "clothing-shirts").
 * names[i] are copies in store.  Returns the level count, or 0 with a reason. */
struct cat_path {
	size_t levels;
	char names[MAX_PATH_LEVELS][MAX_CAT_NAME * 4 + 1];
	char slugs[MAX_PATH_LEVELS][MAX_CAT_SLUG + 1];
};

static int cat_path_parse(const char *path, struct cat_path *cp, char *reason, size_t rl)
{
	const char *p = path;
	size_t slen = 0;
	cp->levels = 0;
	for (;;) {
		const char *slash = strchr(p, '/');
		size_t n = slash ? (size_t)(slash - p) : strlen(p);
		if (cp->levels == MAX_PATH_LEVELS) {
			snprintf(reason, rl, "category_path has more than %d levels", MAX_PATH_LEVELS);
			return 0;
		}
		char *name = cp->names[cp->levels];
		if (n == 0 || n >= sizeof cp->names[0]) {
			snprintf(reason, rl, "category_path must be 1 to %d names of 1-%d characters separated by /",
				 MAX_PATH_LEVELS, MAX_CAT_NAME);
			return 0;
		}
		memcpy(name, p, n);
		name[n] = '\0';
		if (!text_ok(name, 1, MAX_CAT_NAME, 0) || name[0] == ' ' || name[n - 1] == ' ') {
			snprintf(reason, rl,
				 "category name \"%.64s\" must be 1-%d characters, without spaces at either end",
				 name, MAX_CAT_NAME);
			return 0;
		}
		char part[MAX_CAT_SLUG + 1];
		size_t pl = sf_catalog_slugify(name, part, sizeof part);
		if (pl == 0) {
			snprintf(reason, rl, "category name \"%.64s\" needs at least one letter or digit", name);
			return 0;
		}
		char *slug = cp->slugs[cp->levels];
		if (cp->levels == 0) {
			memcpy(slug, part, pl + 1);
			slen = pl;
		} else {
			if (slen + 1 + pl > MAX_CAT_SLUG) {
				snprintf(reason, rl, "category_path is too long: its slug would exceed %d characters",
					 MAX_CAT_SLUG);
				return 0;
			}
			memcpy(slug, cp->slugs[cp->levels - 1], slen);
			slug[slen] = '-';
			memcpy(slug + slen + 1, part, pl + 1);
			slen += 1 + pl;
		}
		cp->levels++;
		if (!slash)
			break;
		p = slash + 1;
	}
	return 1;
}

/* Check one row's fields.  Returns 1, or 0 with a reason. */
static int row_validate(const struct sf_csv_row *row, char *reason, size_t rl)
{
	int64_t v;
	struct cat_path cp;
	for (size_t i = 0; i < SF_CSV_NCOLS; i++) {
		if (!row->f[i]) {
			snprintf(reason, rl, "%s is missing", sf_csv_header[i]);
			return 0;
		}
		if (sf_log_has_card(row->f[i], strlen(row->f[i]))) {
			snprintf(reason, rl, "%s looks like a card number; card data is never accepted",
				 sf_csv_header[i]);
			return 0;
		}
	}
	if (!charset_ok(row->f[SF_CSV_SLUG], 120, "-", 0, 1)) {
		snprintf(reason, rl, "product_slug must be 1-120 characters of a-z, 0-9 and -");
		return 0;
	}
	if (!text_ok(row->f[SF_CSV_NAME], 1, 200, 0)) {
		snprintf(reason, rl, "product_name must be 1-200 characters without control characters");
		return 0;
	}
	if (!cat_path_parse(row->f[SF_CSV_CATEGORY], &cp, reason, rl))
		return 0;
	if (!text_ok(row->f[SF_CSV_DESCRIPTION], 0, 10000, 1)) {
		snprintf(reason, rl, "description must be at most 10000 characters without control characters");
		return 0;
	}
	if (!charset_ok(row->f[SF_CSV_SKU], 64, "._-", 1, 1)) {
		snprintf(reason, rl, "sku must be 1-64 characters of A-Z, a-z, 0-9, '.', '_' and '-'");
		return 0;
	}
	if (!text_ok(row->f[SF_CSV_VARIANT], 0, 200, 0)) {
		snprintf(reason, rl, "variant_name must be at most 200 characters without control characters");
		return 0;
	}
	if (sf_parse_i64(row->f[SF_CSV_PRICE], 0, MAX_PRICE, &v) != SF_OK) {
		snprintf(reason, rl, "price_minor must be an integer from 0 to 1000000000");
		return 0;
	}
	const char *cur = row->f[SF_CSV_CURRENCY];
	if (strlen(cur) != 3 || !charset_ok(cur, 3, "", 1, 0) || strpbrk(cur, "0123456789")) {
		snprintf(reason, rl, "currency must be three capital letters (EUR)");
		return 0;
	}
	if (sf_parse_i64(row->f[SF_CSV_STOCK], 0, MAX_STOCK, &v) != SF_OK) {
		snprintf(reason, rl, "stock must be an integer from 0 to 1000000000");
		return 0;
	}
	if (!image_ok(row->f[SF_CSV_IMAGE])) {
		snprintf(reason, rl,
			 "image must be empty or a file name of A-Z, a-z, 0-9, '.', '_', '-' ending in "
			 ".svg, .png, .jpg, .jpeg or .webp");
		return 0;
	}
	return 1;
}

/* ==== A string -> index map (open addressing) ==== */

struct strmap {
	const char **keys;
	size_t *vals;
	size_t mask;
};

static uint64_t str_hash(const char *s)
{
	uint64_t h = 1469598103934665603ULL;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return h;
}

static enum sf_err strmap_init(struct strmap *m, size_t n)
{
	size_t cap = 16;
	while (cap < n * 2)
		cap *= 2;
	m->keys = calloc(cap, sizeof *m->keys);
	m->vals = calloc(cap, sizeof *m->vals);
	m->mask = cap - 1;
	if (!m->keys || !m->vals) {
		free(m->keys);
		free(m->vals);
		m->keys = NULL;
		m->vals = NULL;
		return SF_ERR_NOMEM;
	}
	return SF_OK;
}

static void strmap_free(struct strmap *m)
{
	free(m->keys);
	free(m->vals);
	m->keys = NULL;
	m->vals = NULL;
}

/* Find key; when absent insert it with val.  Returns 1 and *found when it
 * was present, 0 when inserted.  The map never fills: capacity >= 2n. */
static int strmap_get_or_put(struct strmap *m, const char *key, size_t val, size_t *found)
{
	size_t i = (size_t)str_hash(key) & m->mask;
	while (m->keys[i]) {
		if (strcmp(m->keys[i], key) == 0) {
			*found = m->vals[i];
			return 1;
		}
		i = (i + 1) & m->mask;
	}
	m->keys[i] = key;
	m->vals[i] = val;
	return 0;
}

/* ==== Import ==== */

struct imp_product {
	size_t first;   /* row index of its first row */
	size_t vstart;  /* into order[] */
	size_t nvar;
};

struct imp {
	/* input */
	const struct sf_csv_row *rows;
	size_t nrows;
	struct imp_product *prods;
	size_t nprods;
	size_t *order; /* row indices grouped by product, file order within */
	const struct sf_keyring *kr;
	const char *actor;
	sf_catalog_extra_fn extra;
	void *extra_ctx;
	int64_t now;
	/* output (reset at the start of every attempt) */
	struct sf_catalog_import_result *res;
	enum sf_err err; /* why the transaction was rolled back */
};

static void imp_bad(struct imp *im, int64_t line, const char *msg)
{
	im->res->bad_line = line;
	/* a long reason is cut to fit; the line number always survives */
	if (snprintf(im->res->reason, sizeof im->res->reason, "line %" PRId64 ": %s", line, msg) < 0)
		im->res->reason[0] = '\0';
	im->err = SF_ERR_CSV;
}

/* Validate every row and group rows by product.  SF_ERR_CSV on the first
 * bad row (res filled in). */
static enum sf_err imp_prepare(struct imp *im)
{
	struct strmap byslug = {0}, bysku = {0};
	size_t *prod_of = NULL, *fill = NULL;
	char reason[200], msg[260];
	enum sf_err err;

	err = strmap_init(&byslug, im->nrows);
	if (!err)
		err = strmap_init(&bysku, im->nrows);
	if (err)
		goto out;
	im->prods = calloc(im->nrows ? im->nrows : 1, sizeof *im->prods);
	im->order = calloc(im->nrows ? im->nrows : 1, sizeof *im->order);
	prod_of = calloc(im->nrows ? im->nrows : 1, sizeof *prod_of);
	if (!im->prods || !im->order || !prod_of) {
		err = SF_ERR_NOMEM;
		goto out;
	}
	for (size_t i = 0; i < im->nrows; i++) {
		const struct sf_csv_row *r = &im->rows[i];
		size_t other;
		if (!row_validate(r, reason, sizeof reason)) {
			imp_bad(im, r->line, reason);
			err = SF_ERR_CSV;
			goto out;
		}
		if (strmap_get_or_put(&bysku, r->f[SF_CSV_SKU], i, &other)) {
			snprintf(msg, sizeof msg, "sku %s already appears on line %" PRId64, r->f[SF_CSV_SKU],
				 im->rows[other].line);
			imp_bad(im, r->line, msg);
			err = SF_ERR_CSV;
			goto out;
		}
		if (!strmap_get_or_put(&byslug, r->f[SF_CSV_SLUG], im->nprods, &other)) {
			im->prods[im->nprods].first = i;
			prod_of[i] = im->nprods++;
			continue;
		}
		const struct sf_csv_row *f = &im->rows[im->prods[other].first];
		static const enum sf_csv_col same[] = {SF_CSV_NAME, SF_CSV_CATEGORY, SF_CSV_DESCRIPTION, SF_CSV_IMAGE,
						       SF_CSV_CURRENCY};
		for (size_t k = 0; k < SF_ARRAY_LEN(same); k++) {
			if (strcmp(r->f[same[k]], f->f[same[k]]) != 0) {
				snprintf(msg, sizeof msg,
					 "%s of product %s differs from line %" PRId64
					 " (rows of one product must agree)",
					 sf_csv_header[same[k]], r->f[SF_CSV_SLUG], f->line);
				imp_bad(im, r->line, msg);
				err = SF_ERR_CSV;
				goto out;
			}
		}
		prod_of[i] = other;
	}
	/* group row indices by product (counting sort keeps file order) */
	for (size_t i = 0; i < im->nrows; i++)
		im->prods[prod_of[i]].nvar++;
	size_t at = 0;
	for (size_t p = 0; p < im->nprods; p++) {
		im->prods[p].vstart = at;
		at += im->prods[p].nvar;
	}
	fill = calloc(im->nprods ? im->nprods : 1, sizeof *fill);
	if (!fill) {
		err = SF_ERR_NOMEM;
		goto out;
	}
	for (size_t i = 0; i < im->nrows; i++) {
		size_t p = prod_of[i];
		im->order[im->prods[p].vstart + fill[p]++] = i;
	}
out:
	strmap_free(&byslug);
	strmap_free(&bysku);
	free(prod_of);
	free(fill);
	return err;
}

/* -- rows read back during the transaction -- */

struct cat_row {
	int64_t id, parent_id;
	int found;
};

static void cat_row_fn(struct sf_db_cursor *cur, void *ctx)
{
	struct cat_row *r = ctx;
	r->id = sf_db_col_int(cur, 0);
	r->parent_id = sf_db_col_is_null(cur, 1) ? 0 : sf_db_col_int(cur, 1);
	r->found = 1;
}

struct prod_row {
	const struct sf_csv_row *want;
	int64_t want_cat;
	int64_t id;
	int found, same;
};

static void prod_row_fn(struct sf_db_cursor *cur, void *ctx)
{
	struct prod_row *r = ctx;
	const char *image = sf_db_col_is_null(cur, 9) ? "" : sf_db_col_text(cur, 9, NULL);
	int64_t cat = sf_db_col_is_null(cur, 12) ? 0 : sf_db_col_int(cur, 12);
	r->id = sf_db_col_int(cur, 0);
	r->found = 1;
	r->same = strcmp(sf_db_col_text(cur, 2, NULL), r->want->f[SF_CSV_NAME]) == 0 &&
		  strcmp(sf_db_col_text(cur, 10, NULL), r->want->f[SF_CSV_DESCRIPTION]) == 0 &&
		  strcmp(image, r->want->f[SF_CSV_IMAGE]) == 0 && cat == r->want_cat;
}

struct var_row {
	const struct sf_csv_row *want;
	int64_t want_product, want_pos, want_price, want_stock;
	int64_t id;
	int found, same;
};

static void var_row_fn(struct sf_db_cursor *cur, void *ctx)
{
	struct var_row *r = ctx;
	r->id = sf_db_col_int(cur, 0);
	r->found = 1;
	r->same = sf_db_col_int(cur, 1) == r->want_product &&
		  strcmp(sf_db_col_text(cur, 2, NULL), r->want->f[SF_CSV_VARIANT]) == 0 &&
		  sf_db_col_int(cur, 3) == r->want_price &&
		  strcmp(sf_db_col_text(cur, 4, NULL), r->want->f[SF_CSV_CURRENCY]) == 0 &&
		  sf_db_col_int(cur, 5) == r->want_stock && sf_db_col_int(cur, 6) == r->want_pos;
}

static enum sf_db_status imp_db_fail(struct imp *im, enum sf_db_status st)
{
	if (st == SF_DB_RETRY)
		return st;
	im->err = st == SF_DB_CONSTRAINT ? SF_ERR_DB_CONSTRAINT : SF_ERR_DB;
	return st < 0 ? st : SF_DB_HARD;
}

/* Find or create every level of the path; *id is the deepest category. */
static enum sf_db_status imp_category(struct imp *im, struct sf_db_conn *c, const struct sf_csv_row *row,
				      int64_t *id)
{
	struct cat_path cp;
	char reason[200];
	int64_t parent = 0;
	if (!cat_path_parse(row->f[SF_CSV_CATEGORY], &cp, reason, sizeof reason)) {
		imp_bad(im, row->line, reason);
		return SF_DB_HARD;
	}
	for (size_t i = 0; i < cp.levels; i++) {
		struct cat_row cr = {0};
		struct sf_db_param p[] = {SF_DB_TEXT(cp.slugs[i])};
		enum sf_db_status st = sf_db_query_one(c, SF_STMT_CAT_CATEGORY_BY_SLUG, p, 1, cat_row_fn, &cr);
		if (st < 0)
			return imp_db_fail(im, st);
		if (cr.found) {
			if (cr.parent_id != parent) {
				char msg[200];
				snprintf(msg, sizeof msg,
					 "category \"%s\" would get the slug \"%s\", which another category "
					 "already has",
					 cp.names[i], cp.slugs[i]);
				imp_bad(im, row->line, msg);
				return SF_DB_HARD;
			}
			parent = cr.id;
			continue;
		}
		struct sf_db_param ip[] = {parent ? SF_DB_INT(parent) : SF_DB_NULL, SF_DB_TEXT(cp.slugs[i]),
					   SF_DB_TEXT(cp.names[i])};
		st = sf_db_exec(c, SF_STMT_CAT_CATEGORY_INSERT, ip, 3, NULL);
		if (st != SF_DB_OK)
			return imp_db_fail(im, st);
		parent = sf_db_last_id(c);
	}
	*id = parent;
	return SF_DB_OK;
}

static enum sf_db_status imp_audit(struct imp *im, struct sf_db_conn *c, const char *action, const char *otype,
				   const char *oid, const char *detail)
{
	struct sf_audit_event ev = {
		.actor_type = "cli",
		.actor_id = im->actor,
		.action = action,
		.object_type = otype,
		.object_id = oid,
		.outcome = "success",
		.detail = detail,
	};
	enum sf_err err = sf_audit_append(c, im->kr, &ev);
	if (err == SF_ERR_DB_CONFLICT)
		return SF_DB_RETRY;
	if (err) {
		im->err = err;
		return SF_DB_HARD;
	}
	return SF_DB_OK;
}

static enum sf_db_status imp_product(struct imp *im, struct sf_db_conn *c, const struct imp_product *ip,
				     int64_t *last_cat_id, const char **last_cat_path)
{
	const struct sf_csv_row *row = &im->rows[ip->first];
	struct sf_catalog_import_result *res = im->res;
	enum sf_db_status st;
	int64_t cat_id;
	int created = 0, changed = 0;
	int64_t written = 0;

	if (*last_cat_path && strcmp(*last_cat_path, row->f[SF_CSV_CATEGORY]) == 0) {
		cat_id = *last_cat_id;
	} else {
		st = imp_category(im, c, row, &cat_id);
		if (st != SF_DB_OK)
			return st;
		*last_cat_id = cat_id;
		*last_cat_path = row->f[SF_CSV_CATEGORY];
	}

	struct prod_row pr = {.want = row, .want_cat = cat_id};
	struct sf_db_param sp[] = {SF_DB_TEXT(row->f[SF_CSV_SLUG])};
	st = sf_db_query_one(c, SF_STMT_CAT_PRODUCT_BY_SLUG, sp, 1, prod_row_fn, &pr);
	if (st < 0)
		return imp_db_fail(im, st);
	const char *image = row->f[SF_CSV_IMAGE];
	if (!pr.found) {
		struct sf_db_param p[] = {SF_DB_TEXT(row->f[SF_CSV_SLUG]), SF_DB_TEXT(row->f[SF_CSV_NAME]),
					  SF_DB_TEXT(row->f[SF_CSV_DESCRIPTION]), SF_DB_INT(cat_id),
					  *image ? SF_DB_TEXT(image) : SF_DB_NULL, SF_DB_INT(im->now)};
		st = sf_db_exec(c, SF_STMT_CAT_PRODUCT_INSERT, p, 6, NULL);
		if (st != SF_DB_OK)
			return imp_db_fail(im, st);
		pr.id = sf_db_last_id(c);
		created = 1;
	} else if (!pr.same) {
		struct sf_db_param p[] = {SF_DB_INT(pr.id), SF_DB_TEXT(row->f[SF_CSV_NAME]),
					  SF_DB_TEXT(row->f[SF_CSV_DESCRIPTION]), SF_DB_INT(cat_id),
					  *image ? SF_DB_TEXT(image) : SF_DB_NULL, SF_DB_INT(im->now)};
		st = sf_db_exec(c, SF_STMT_CAT_PRODUCT_UPDATE, p, 6, NULL);
		if (st != SF_DB_OK)
			return imp_db_fail(im, st);
		changed = 1;
	}

	for (size_t k = 0; k < ip->nvar; k++) {
		const struct sf_csv_row *v = &im->rows[im->order[ip->vstart + k]];
		struct var_row vr = {.want = v, .want_product = pr.id, .want_pos = (int64_t)k};
		if (sf_parse_i64(v->f[SF_CSV_PRICE], 0, MAX_PRICE, &vr.want_price) != SF_OK ||
		    sf_parse_i64(v->f[SF_CSV_STOCK], 0, MAX_STOCK, &vr.want_stock) != SF_OK) {
			imp_bad(im, v->line, "price_minor or stock is not a valid integer");
			return SF_DB_HARD;
		}
		struct sf_db_param kp[] = {SF_DB_TEXT(v->f[SF_CSV_SKU])};
		st = sf_db_query_one(c, SF_STMT_CAT_VARIANT_BY_SKU, kp, 1, var_row_fn, &vr);
		if (st < 0)
			return imp_db_fail(im, st);
		if (vr.found && vr.same)
			continue;
		struct sf_db_param p[] = {vr.found ? SF_DB_INT(vr.id) : SF_DB_INT(pr.id),
					  vr.found ? SF_DB_INT(pr.id) : SF_DB_TEXT(v->f[SF_CSV_SKU]),
					  SF_DB_TEXT(v->f[SF_CSV_VARIANT]),
					  SF_DB_INT(vr.want_price),
					  SF_DB_TEXT(v->f[SF_CSV_CURRENCY]),
					  SF_DB_INT(vr.want_stock),
					  SF_DB_INT(k)};
		st = sf_db_exec(c, vr.found ? SF_STMT_CAT_VARIANT_UPDATE : SF_STMT_CAT_VARIANT_INSERT, p, 7, NULL);
		if (st != SF_DB_OK)
			return imp_db_fail(im, st);
		written++;
	}
	res->variants_written += written;
	if (!created && written)
		changed = 1;
	if (!created && !changed)
		return SF_DB_OK;
	if (created)
		res->products_created++;
	else
		res->products_updated++;
	char detail[96];
	snprintf(detail, sizeof detail, "{\"variants_written\":%" PRId64 ",\"line\":%" PRId64 "}", written,
		 row->line);
	return imp_audit(im, c, created ? "product.create" : "product.update", "product", row->f[SF_CSV_SLUG],
			 detail);
}

static enum sf_db_status imp_txn(struct sf_db_conn *c, void *ctx)
{
	struct imp *im = ctx;
	struct sf_catalog_import_result *res = im->res;
	enum sf_db_status st;
	int64_t last_cat_id = 0;
	const char *last_cat_path = NULL;

	/* sf_db_txn may run this again after a conflict: start from zero. */
	*res = (struct sf_catalog_import_result){.rows = (int64_t)im->nrows};
	im->err = SF_OK;
	for (size_t p = 0; p < im->nprods; p++) {
		st = imp_product(im, c, &im->prods[p], &last_cat_id, &last_cat_path);
		if (st != SF_DB_OK)
			return st;
	}
	char detail[200];
	snprintf(detail, sizeof detail,
		 "{\"rows\":%" PRId64 ",\"products_created\":%" PRId64 ",\"products_updated\":%" PRId64
		 ",\"variants_written\":%" PRId64 "}",
		 res->rows, res->products_created, res->products_updated, res->variants_written);
	st = imp_audit(im, c, "catalog.import", "catalog", NULL, detail);
	if (st != SF_DB_OK)
		return st;
	/* The catalog cache serves nothing built before this commit. */
	st = sf_catalog_touch(c);
	if (st < 0)
		return imp_db_fail(im, st);
	/* Integrators hear of it (webhook.h), in this same transaction. */
	if (res->products_created + res->products_updated > 0) {
		json_t *d = json_pack("{s:s,s:I,s:I}", "source", "csv_import", "products_created",
				      (json_int_t)res->products_created, "products_updated",
				      (json_int_t)res->products_updated);
		enum sf_err we = d ? sf_webhook_emit(c, "product.updated", d) : SF_ERR_NOMEM;
		json_decref(d);
		if (we)
			return sf_db_status_from_err(we);
	}
	if (im->extra) {
		st = im->extra(c, im->extra_ctx);
		if (st < 0)
			return imp_db_fail(im, st);
	}
	return SF_DB_OK;
}

enum sf_err sf_catalog_import_rows(struct sf_db *db, const struct sf_keyring *kr, const struct sf_csv_row *rows,
				   size_t nrows, const char *actor, sf_catalog_extra_fn extra, void *extra_ctx,
				   struct sf_catalog_import_result *res)
{
	struct imp im = {
		.rows = rows,
		.nrows = nrows,
		.kr = kr,
		.actor = actor,
		.extra = extra,
		.extra_ctx = extra_ctx,
		.now = (int64_t)time(NULL),
		.res = res,
	};
	enum sf_err err;
	*res = (struct sf_catalog_import_result){.rows = (int64_t)nrows};
	if (nrows > SF_CSV_MAX_ROWS) {
		imp_bad(&im, rows[SF_CSV_MAX_ROWS].line, "more than 100000 rows");
		return SF_ERR_CSV;
	}
	err = imp_prepare(&im);
	if (err)
		goto out;
	enum sf_db_status st = sf_db_txn(db, imp_txn, &im, 5);
	if (st < 0) {
		err = im.err ? im.err : sf_db_err(st);
		if (err == SF_ERR_CSV) {
			/* the counters described a rolled-back attempt */
			int64_t line = res->bad_line;
			char reason[sizeof res->reason];
			memcpy(reason, res->reason, sizeof reason);
			*res = (struct sf_catalog_import_result){.rows = (int64_t)nrows, .bad_line = line};
			memcpy(res->reason, reason, sizeof reason);
		}
	}
out:
	free(im.prods);
	free(im.order);
	return err;
}

/* Read all of in (at most SF_CSV_MAX_FILE bytes) into a buffer with one
 * spare byte.  SF_ERR_TOO_LARGE when the file is bigger. */
static enum sf_err read_all(FILE *in, char **out, size_t *len)
{
	size_t cap = 64 * 1024, n = 0;
	char *buf = malloc(cap + 1);
	if (!buf)
		return SF_ERR_NOMEM;
	for (;;) {
		if (n == cap) {
			if (cap > SF_CSV_MAX_FILE) {
				*out = buf;
				*len = n;
				return SF_ERR_TOO_LARGE;
			}
			size_t nc = cap * 2 > (size_t)SF_CSV_MAX_FILE + 1 ? (size_t)SF_CSV_MAX_FILE + 1 : cap * 2;
			char *nb = realloc(buf, nc + 1);
			if (!nb) {
				free(buf);
				return SF_ERR_NOMEM;
			}
			buf = nb;
			cap = nc;
		}
		size_t got = fread(buf + n, 1, cap - n, in);
		n += got;
		if (got == 0) {
			if (ferror(in)) {
				free(buf);
				return SF_ERR_IO;
			}
			break;
		}
	}
	if (n > SF_CSV_MAX_FILE) {
		*out = buf;
		*len = n;
		return SF_ERR_TOO_LARGE;
	}
	*out = buf;
	*len = n;
	return SF_OK;
}

enum sf_err sf_catalog_import_csv(struct sf_db *db, const struct sf_keyring *kr, FILE *in, const char *actor,
				  struct sf_catalog_import_result *res)
{
	char *buf = NULL;
	size_t len = 0;
	struct sf_csv_doc doc = {0};
	int64_t line = 0;
	char reason[160];
	enum sf_err err;

	*res = (struct sf_catalog_import_result){0};
	err = read_all(in, &buf, &len);
	if (err == SF_ERR_TOO_LARGE) {
		/* name the line on which the limit was crossed */
		line = 1;
		for (size_t i = 0; i < SF_CSV_MAX_FILE; i++)
			line += buf[i] == '\n';
		res->bad_line = line;
		snprintf(res->reason, sizeof res->reason, "line %" PRId64 ": the file is larger than 64 MiB", line);
		err = SF_ERR_CSV;
		goto out;
	}
	if (err)
		goto out;
	err = sf_csv_parse(buf, len, &doc, &line, reason, sizeof reason);
	if (err) {
		if (err == SF_ERR_CSV) {
			res->bad_line = line;
			snprintf(res->reason, sizeof res->reason, "line %" PRId64 ": %s", line, reason);
		}
		goto out;
	}
	err = sf_catalog_import_rows(db, kr, doc.rows, doc.nrows, actor ? actor : "unknown", NULL, NULL, res);
out:
	sf_csv_doc_free(&doc);
	free(buf);
	return err;
}

/* ==== Export ==== */

static void csv_put(FILE *out, const char *s, int last)
{
	int guard = formula_like(s);
	if (strpbrk(s, ",\"\r\n")) {
		fputc('"', out);
		if (guard)
			fputc('\'', out);
		for (; *s; s++) {
			if (*s == '"')
				fputc('"', out);
			fputc(*s, out);
		}
		fputc('"', out);
	} else {
		if (guard)
			fputc('\'', out);
		fputs(s, out);
	}
	fputc(last ? '\n' : ',', out);
}

struct exp_cat {
	int64_t id, parent_id;
	char *name;
};

enum sf_err sf_catalog_export_csv(struct sf_db *db, FILE *out)
{
	struct exp_cat *cats = NULL;
	size_t ncats = 0, cap = 0;
	struct sf_db_cursor *cur = NULL;
	enum sf_err err = SF_OK;
	enum sf_db_status st;
	struct sf_buf path;

	sf_buf_init(&path, 4096);
	struct sf_db_conn *c = sf_db_conn_get(db);
	if (!c)
		return SF_ERR_DB;
	st = sf_db_query(c, SF_STMT_CAT_CATEGORY_LIST, NULL, 0, &cur);
	if (st < 0)
		return sf_db_err(st);
	while ((st = sf_db_next(cur)) == SF_DB_OK) {
		if (ncats == cap) {
			size_t nc = cap ? cap * 2 : 32;
			struct exp_cat *nv = realloc(cats, nc * sizeof *nv);
			if (!nv) {
				err = SF_ERR_NOMEM;
				goto out;
			}
			cats = nv;
			cap = nc;
		}
		cats[ncats].id = sf_db_col_int(cur, 0);
		cats[ncats].parent_id = sf_db_col_is_null(cur, 1) ? 0 : sf_db_col_int(cur, 1);
		cats[ncats].name = strdup(sf_db_col_text(cur, 3, NULL));
		if (!cats[ncats++].name) {
			err = SF_ERR_NOMEM;
			goto out;
		}
	}
	if (st < 0) {
		err = sf_db_err(st);
		goto out;
	}
	sf_db_cursor_close(cur);
	cur = NULL;

	for (size_t i = 0; i < SF_CSV_NCOLS; i++)
		csv_put(out, sf_csv_header[i], i + 1 == SF_CSV_NCOLS);
	st = sf_db_query(c, SF_STMT_CAT_EXPORT, NULL, 0, &cur);
	if (st < 0) {
		err = sf_db_err(st);
		goto out;
	}
	while ((st = sf_db_next(cur)) == SF_DB_OK) {
		/* category path: walk up from the product's category */
		const char *names[MAX_PATH_LEVELS * 4];
		size_t depth = 0;
		int64_t cid = sf_db_col_is_null(cur, 2) ? 0 : sf_db_col_int(cur, 2);
		while (cid && depth < SF_ARRAY_LEN(names)) {
			size_t k;
			for (k = 0; k < ncats && cats[k].id != cid; k++)
				;
			if (k == ncats)
				break;
			names[depth++] = cats[k].name;
			cid = cats[k].parent_id;
		}
		sf_buf_reset(&path);
		for (size_t k = depth; k-- > 0;) {
			sf_buf_puts(&path, names[k]);
			if (k)
				sf_buf_putc(&path, '/');
		}
		if (path.bf_err) {
			err = path.bf_err;
			goto out;
		}
		char price[24], stock[24];
		snprintf(price, sizeof price, "%" PRId64, sf_db_col_int(cur, 6));
		snprintf(stock, sizeof stock, "%" PRId64, sf_db_col_int(cur, 8));
		csv_put(out, sf_db_col_text(cur, 0, NULL), 0);
		csv_put(out, sf_db_col_text(cur, 1, NULL), 0);
		csv_put(out, path.bf_data ? path.bf_data : "", 0);
		csv_put(out, sf_db_col_text(cur, 3, NULL), 0);
		csv_put(out, sf_db_col_text(cur, 4, NULL), 0);
		csv_put(out, sf_db_col_text(cur, 5, NULL), 0);
		csv_put(out, price, 0);
		csv_put(out, sf_db_col_text(cur, 7, NULL), 0);
		csv_put(out, stock, 0);
		csv_put(out, sf_db_col_text(cur, 9, NULL), 1);
	}
	if (st < 0)
		err = sf_db_err(st);
out:
	if (cur)
		sf_db_cursor_close(cur);
	for (size_t i = 0; i < ncats; i++)
		free(cats[i].name);
	free(cats);
	sf_buf_free(&path);
	if (!err && (fflush(out) != 0 || ferror(out)))
		err = SF_ERR_IO;
	return err;
}
