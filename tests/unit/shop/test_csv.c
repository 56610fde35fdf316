/*
 * test_csv.c — catalog CSV: the RFC 4180 parser's edge cases and refusals,
 * field validation naming the right line, all-or-nothing import (database
 * and audit trail untouched by a bad file), updates, the export -> import
 * round trip, and the card-number refusal.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "shop/catalog.h"
#include "shop/catalog_internal.h"
#include "shop_fixture.h"

#define HEADER "product_slug,product_name,category_path,description,sku,variant_name,price_minor,currency,stock,image\n"
#define GOOD_ROW "good,Good Thing,Things,Fine,G-1,,100,EUR,1,\n"

/* ==== the parser on its own ==== */

/* Parse a writable copy of text[0..len).  The rows point into that copy,
 * returned in *keep for the caller to free after looking at them. */
static enum sf_err parse(const char *text, size_t len, struct sf_csv_doc *doc, int64_t *line, char *reason,
			 size_t rl, char **keep)
{
	char *buf = malloc(len + 1);
	assert_non_null(buf);
	memcpy(buf, text, len);
	*keep = buf;
	return sf_csv_parse(buf, len, doc, line, reason, rl);
}

static void test_parse_good(void **state)
{
	(void)state;
	struct sf_csv_doc doc;
	int64_t line;
	char reason[160];
	const char text[] = "\xEF\xBB\xBF" HEADER
			    "a,\"Name, with comma\",\"Cat\",\"multi\r\nline \"\"quoted\"\"\",S-1,,1,EUR,2,\r\n"
			    "b,B,C,,S-2,,1,EUR,2,x.svg";
	char *keep;
	assert_int_equal(parse(text, sizeof text - 1, &doc, &line, reason, sizeof reason, &keep), SF_OK);
	assert_int_equal(doc.nrows, 2);
	assert_int_equal(doc.rows[0].line, 2);
	assert_int_equal(doc.rows[1].line, 4); /* the quoted CRLF made row 1 two lines long */
	assert_string_equal(doc.rows[0].f[0], "a");
	assert_string_equal(doc.rows[0].f[1], "Name, with comma");
	assert_string_equal(doc.rows[0].f[2], "Cat");
	assert_string_equal(doc.rows[0].f[3], "multi\r\nline \"quoted\"");
	assert_string_equal(doc.rows[0].f[5], "");
	sf_csv_doc_free(&doc);
	free(keep);

	/* header only: zero rows is fine */
	assert_int_equal(parse(HEADER, strlen(HEADER), &doc, &line, reason, sizeof reason, &keep), SF_OK);
	assert_int_equal(doc.nrows, 0);
	sf_csv_doc_free(&doc);
	free(keep);
}

struct bad_case {
	const char *text;
	size_t len; /* 0: strlen */
	int64_t line;
	const char *reason_part;
};

static void test_parse_bad(void **state)
{
	(void)state;
	static const char nul_text[] = HEADER GOOD_ROW "a,b\0c,C,,S-2,,1,EUR,2,\n";
	const struct bad_case cases[] = {
		{"", 0, 1, "empty"},
		{"\xEF\xBB\xBF", 0, 1, "empty"},
		{"slug,name\n", 0, 1, "expected 10 fields"},
		{"product_slug,product_name,category_path,description,sku,variant_name,price,currency,stock,image\n", 0,
		 1, "header column 7"},
		{HEADER GOOD_ROW "a,b\"c,C,,S-2,,1,EUR,2,\n", 0, 3, "quote inside an unquoted field"},
		{HEADER GOOD_ROW GOOD_ROW "a,\"unterminated,C,,S-2,,1,EUR,2,\nmore\n", 0, 4, "unterminated"},
		{HEADER "a,\"x\"y,C,,S-2,,1,EUR,2,\n", 0, 2, "after a closing quote"},
		{HEADER GOOD_ROW "a,b,C,,S-2,,1,EUR,2\n", 0, 3, "expected 10 fields, found 9"},
		{HEADER GOOD_ROW "a,b,C,,S-2,,1,EUR,2,,\n", 0, 3, "found 11"},
		{HEADER GOOD_ROW "\n", 0, 3, "found 1"},
		{HEADER "a,b\rc,C,,S-2,,1,EUR,2,\n", 0, 2, "carriage return"},
		{nul_text, sizeof nul_text - 1, 3, "NUL"},
		{HEADER GOOD_ROW GOOD_ROW "a,\xff\xfe,C,,S-2,,1,EUR,2,\n", 0, 4, "UTF-8"},
		{HEADER "a,\xc0\xaf,C,,S-2,,1,EUR,2,\n", 0, 2, "UTF-8"},
		{HEADER "a,\xed\xa0\x80,C,,S-2,,1,EUR,2,\n", 0, 2, "UTF-8"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct sf_csv_doc doc;
		int64_t line = -1;
		char reason[160];
		size_t len = cases[i].len ? cases[i].len : strlen(cases[i].text);
		char *keep;
		enum sf_err err = parse(cases[i].text, len, &doc, &line, reason, sizeof reason, &keep);
		free(keep);
		if (err != SF_ERR_CSV || line != cases[i].line || !strstr(reason, cases[i].reason_part))
			fail_msg("case %zu: err %d line %lld reason \"%s\" (want line %lld, \"%s\")", i, err,
				 (long long)line, err ? reason : "", (long long)cases[i].line, cases[i].reason_part);
		assert_null(doc.rows);
	}
}

static void test_parse_limits(void **state)
{
	(void)state;
	struct sf_csv_doc doc;
	int64_t line;
	char reason[160], *keep;
	struct sf_buf b;

	/* a line just over 64 KiB, on line 3 */
	sf_buf_init(&b, 1 << 20);
	sf_buf_puts(&b, HEADER GOOD_ROW "a,\"");
	for (size_t i = 0; i < SF_CSV_MAX_LINE; i++)
		sf_buf_putc(&b, 'x');
	sf_buf_puts(&b, "\",C,,S-2,,1,EUR,2,\n");
	assert_int_equal(b.bf_err, SF_OK);
	assert_int_equal(parse(b.bf_data, b.bf_len, &doc, &line, reason, sizeof reason, &keep), SF_ERR_CSV);
	free(keep);
	assert_int_equal(line, 3);
	assert_non_null(strstr(reason, "64 KiB"));
	sf_buf_free(&b);

	/* more than 100,000 rows: the 100,001st (line 100,002) is refused */
	sf_buf_init(&b, 64u << 20);
	sf_buf_puts(&b, HEADER);
	for (size_t i = 0; i < SF_CSV_MAX_ROWS + 1; i++)
		sf_buf_puts(&b, "a,b,c,d,e,f,1,EUR,1,\n");
	assert_int_equal(b.bf_err, SF_OK);
	assert_int_equal(parse(b.bf_data, b.bf_len, &doc, &line, reason, sizeof reason, &keep), SF_ERR_CSV);
	free(keep);
	assert_int_equal(line, SF_CSV_MAX_ROWS + 2);
	assert_non_null(strstr(reason, "100000 rows"));
	sf_buf_free(&b);
}

/* ==== import validation ==== */

struct vcase {
	const char *row; /* written on line 3, after a good row */
	const char *reason_part;
};

static void test_validation_lines(void **state)
{
	struct shop_fx *f = *state;
	char name201[260], desc[10100], sku65[80], slug121[140];
	memset(name201, 'n', 201);
	name201[201] = '\0';
	memset(sku65, 'S', 65);
	sku65[65] = '\0';
	memset(slug121, 's', 121);
	slug121[121] = '\0';
	memset(desc, 'd', 10001);
	desc[10001] = '\0';
	char r_name[400], r_desc[10200], r_sku[200], r_slug[300];
	snprintf(r_name, sizeof r_name, "p,%s,C,,S-2,,1,EUR,1,\n", name201);
	snprintf(r_desc, sizeof r_desc, "p,P,C,%s,S-2,,1,EUR,1,\n", desc);
	snprintf(r_sku, sizeof r_sku, "p,P,C,,%s,,1,EUR,1,\n", sku65);
	snprintf(r_slug, sizeof r_slug, "%s,P,C,,S-2,,1,EUR,1,\n", slug121);
	const struct vcase cases[] = {
		{"Bad-Slug,P,C,,S-2,,1,EUR,1,\n", "product_slug"},
		{"bad_slug,P,C,,S-2,,1,EUR,1,\n", "product_slug"},
		{r_slug, "product_slug"},
		{"p,,C,,S-2,,1,EUR,1,\n", "product_name"},
		{r_name, "product_name"},
		{"p,\"Two\nlines\",C,,S-2,,1,EUR,1,\n", "product_name"},
		{"p,P,,,S-2,,1,EUR,1,\n", "category_path"},
		{"p,P,A/B/C/D/E,,S-2,,1,EUR,1,\n", "more than 4 levels"},
		{"p,P,A//B,,S-2,,1,EUR,1,\n", "category_path"},
		{"p,P,A/ B,,S-2,,1,EUR,1,\n", "spaces"},
		{"p,P,A/!!!,,S-2,,1,EUR,1,\n", "letter or digit"},
		{r_desc, "description"},
		{"p,P,C,\"bell\x07\",S-2,,1,EUR,1,\n", "description"},
		{"p,P,C,,,,1,EUR,1,\n", "sku"},
		{"p,P,C,,S 2,,1,EUR,1,\n", "sku"},
		{r_sku, "sku"},
		{"p,P,C,,S-2,,-1,EUR,1,\n", "price_minor"},
		{"p,P,C,,S-2,,1.50,EUR,1,\n", "price_minor"},
		{"p,P,C,,S-2,,1000000001,EUR,1,\n", "price_minor"}, /* SF_MONEY_MAX + 1 */
		{"p,P,C,,S-2,,,EUR,1,\n", "price_minor"},
		{"p,P,C,,S-2,,1,eur,1,\n", "currency"},
		{"p,P,C,,S-2,,1,EURO,1,\n", "currency"},
		{"p,P,C,,S-2,,1,E1R,1,\n", "currency"},
		{"p,P,C,,S-2,,1,EUR,1000000001,\n", "stock"},
		{"p,P,C,,S-2,,1,EUR,-3,\n", "stock"},
		{"p,P,C,,S-2,,1,EUR,1,../x.svg\n", "image"},
		{"p,P,C,,S-2,,1,EUR,1,x.gif\n", "image"},
		{"p,P,C,,S-2,,1,EUR,1,.svg\n", "image"},
		{"p,P,C,,S-2,,1,EUR,1,a b.png\n", "image"},
		{"p,P,C,Pay with 4111 1111 1111 1111 today,S-2,,1,EUR,1,\n", "card number"},
		{"p,P,C,,4242424242424242,,1,EUR,1,\n", "card number"},
		{"good,Other Name,Things,Fine,G-2,,100,EUR,1,\n", "product_name of product good differs from line 2"},
		{"good,Good Thing,Other,Fine,G-2,,100,EUR,1,\n", "category_path of product good differs"},
		{"good,Good Thing,Things,Fine,G-2,,100,USD,1,\n", "currency of product good differs"},
		{"other,Other,Things,Fine,G-1,,100,EUR,1,\n", "sku G-1 already appears on line 2"},
	};
	int64_t audits = shop_fx_audit_count(f);
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct sf_buf b;
		struct sf_catalog_import_result res;
		sf_buf_init(&b, 1 << 20);
		sf_buf_puts(&b, HEADER GOOD_ROW);
		sf_buf_puts(&b, cases[i].row);
		assert_int_equal(b.bf_err, SF_OK);
		enum sf_err err = shop_fx_import(f, b.bf_data, &res);
		if (err != SF_ERR_CSV || res.bad_line != 3 || strncmp(res.reason, "line 3: ", 8) != 0 ||
		    !strstr(res.reason, cases[i].reason_part))
			fail_msg("case %zu: err %d line %lld reason \"%s\" (want \"%s\")", i, err,
				 (long long)res.bad_line, res.reason, cases[i].reason_part);
		assert_int_equal(res.products_created, 0);
		sf_buf_free(&b);
	}
	/* nothing was written by any of them */
	assert_int_equal(shop_fx_audit_count(f), audits);
	char *dump = shop_fx_export(f);
	assert_string_equal(dump, HEADER);
	free(dump);
}

/* A file-level refusal (parser) also reaches the caller as "line N: ...". */
static void test_import_parse_error_reason(void **state)
{
	struct shop_fx *f = *state;
	struct sf_catalog_import_result res;
	assert_int_equal(shop_fx_import(f, HEADER GOOD_ROW "a,\"open\n", &res), SF_ERR_CSV);
	assert_int_equal(res.bad_line, 3);
	assert_string_equal(res.reason, "line 3: unterminated quoted field");
	static const char nul[] = HEADER "a\0,b\n";
	assert_int_equal(shop_fx_import_n(f, nul, sizeof nul - 1, &res), SF_ERR_CSV);
	assert_string_equal(res.reason, "line 2: NUL byte in the input");
}

/* ==== all or nothing ==== */

static void test_all_or_nothing(void **state)
{
	struct shop_fx *f = *state;
	struct sf_catalog_import_result res;
	assert_int_equal(shop_fx_import(f, HEADER GOOD_ROW "second,Second,Things/Sub,,S2-1,,250,EUR,0,\n", &res),
			 SF_OK);
	assert_int_equal(res.products_created, 2);
	char *before = shop_fx_export(f);
	int64_t audits = shop_fx_audit_count(f);
	assert_int_equal(audits, 3); /* two products + the import */

	/* 60 rows; line 57 has a bad price.  Rows before it are new products and
	 * an update of an existing one: none of it may stick. */
	struct sf_buf b;
	sf_buf_init(&b, 1 << 20);
	sf_buf_puts(&b, HEADER "good,Good Thing Renamed,Things,Fine,G-1,,999,EUR,1,\n");
	for (int line = 3; line <= 61; line++) {
		if (line == 57)
			sf_buf_printf(&b, "p%d,Product %d,Things/Bulk,,B-%d,,12x,EUR,1,\n", line, line, line);
		else
			sf_buf_printf(&b, "p%d,Product %d,Things/Bulk,,B-%d,,%d,EUR,1,\n", line, line, line, line);
	}
	assert_int_equal(b.bf_err, SF_OK);
	assert_int_equal(shop_fx_import(f, b.bf_data, &res), SF_ERR_CSV);
	assert_int_equal(res.bad_line, 57);
	assert_string_equal(res.reason, "line 57: price_minor must be an integer from 0 to 1000000000");
	assert_int_equal(res.products_created, 0);
	assert_int_equal(res.products_updated, 0);
	sf_buf_free(&b);

	char *after = shop_fx_export(f);
	assert_string_equal(after, before);
	assert_int_equal(shop_fx_audit_count(f), audits);
	json_t *cats = NULL;
	assert_int_equal(sf_catalog_categories(f->db, &cats), SF_OK);
	json_t *things = json_array_get(json_object_get(cats, "items"), 0);
	assert_int_equal(json_array_size(json_object_get(things, "children")), 1); /* no "Bulk" */
	json_decref(cats);
	free(before);
	free(after);

	/* a conflict found only while writing (category slug clash) rolls back too */
	assert_int_equal(shop_fx_import(f, HEADER "n1,N1,New Root,,N-1,,1,EUR,1,\n"
						  "n2,N2,Things Sub,,N-2,,1,EUR,1,\n",
					&res),
			 SF_ERR_CSV);
	assert_int_equal(res.bad_line, 3);
	assert_non_null(strstr(res.reason, "things-sub"));
	assert_int_equal(shop_fx_audit_count(f), audits);
	json_t *l = NULL;
	assert_int_equal(sf_catalog_category(f->db, "new-root", &l), SF_ERR_NOT_FOUND);
}

/* ==== updates and round trip ==== */

static const char rich_csv[] =
	HEADER
	"quote-mug,\"Mug \"\"Classic\"\"\",Home/Kitchen,\"Holds coffee, tea,\nand \"\"more\"\".\r\nDishwasher safe.\",QM-1,"
	"\"Large, white\",1250,EUR,3,mug.webp\n"
	"quote-mug,\"Mug \"\"Classic\"\"\",Home/Kitchen,\"Holds coffee, tea,\nand \"\"more\"\".\r\nDishwasher safe.\",QM-2,"
	"Small,990,EUR,0,mug.webp\n"
	"cafe-free,Café Crème Cup,Home/Kitchen/Cups,Ünïcödé déscription — ok,CC.1_x,,100000,JPY,7,\n"
	"plain,Plain,Books,,PL-1,,0,GBP,0,\n";

static void test_round_trip(void **state)
{
	struct shop_fx *f = *state;
	struct sf_catalog_import_result res;
	assert_int_equal(shop_fx_import(f, rich_csv, &res), SF_OK);
	assert_int_equal(res.rows, 4);
	assert_int_equal(res.products_created, 3);
	assert_int_equal(res.variants_written, 4);
	int64_t audits = shop_fx_audit_count(f);
	assert_int_equal(audits, 4);

	json_t *prod = NULL;
	assert_int_equal(sf_catalog_product(f->db, "quote-mug", &prod), SF_OK);
	assert_string_equal(json_string_value(json_object_get(prod, "name")), "Mug \"Classic\"");
	assert_string_equal(json_string_value(json_object_get(prod, "description")),
			    "Holds coffee, tea,\nand \"more\".\r\nDishwasher safe.");
	json_decref(prod);

	char *first = shop_fx_export(f);
	assert_int_equal(shop_fx_import(f, first, &res), SF_OK);
	assert_int_equal(res.rows, 4);
	assert_int_equal(res.products_created, 0);
	assert_int_equal(res.products_updated, 0);
	assert_int_equal(res.variants_written, 0);
	assert_int_equal(shop_fx_audit_count(f), audits + 1); /* only the import summary */
	char *second = shop_fx_export(f);
	assert_string_equal(first, second);
	free(first);
	free(second);

	/* a real change: one price, one name */
	assert_int_equal(shop_fx_import(f, HEADER "plain,Plain Book,Books,,PL-1,,500,GBP,0,\n", &res), SF_OK);
	assert_int_equal(res.products_updated, 1);
	assert_int_equal(res.variants_written, 1);
	assert_int_equal(shop_fx_audit_count(f), audits + 3);
	assert_int_equal(sf_catalog_product(f->db, "plain", &prod), SF_OK);
	assert_string_equal(json_string_value(json_object_get(prod, "name")), "Plain Book");
	json_t *price = json_object_get(prod, "price");
	assert_int_equal(json_integer_value(json_object_get(price, "amount")), 500);
	assert_string_equal(json_string_value(json_object_get(price, "formatted")), "\xC2\xA3" "5.00");
	json_decref(prod);
	/* the search index followed the rename */
	struct sf_catalog_query q;
	const char *bad;
	json_t *l = NULL;
	assert_int_equal(sf_catalog_query_parse(NULL, NULL, NULL, NULL, "book", &q, &bad), SF_OK);
	assert_int_equal(sf_catalog_list(f->db, &q, &l), SF_OK);
	assert_int_equal(json_integer_value(json_object_get(l, "total")), 1);
	json_decref(l);
}

/* A cell a spreadsheet would run as a formula is exported behind an
 * apostrophe, which the import takes away again. */
static void test_formula_cells(void **state)
{
	struct shop_fx *f = *state;
	struct sf_catalog_import_result res;
	assert_int_equal(shop_fx_import(f, HEADER "calc,=cmd|' /C calc'!A0,Home,\"@SUM(1,2)\",-S1,+v,1,EUR,1,\n"
						  "tis,'Tis,Home,''=x,S2,'',2,EUR,1,\n",
					&res),
			 SF_OK);
	char *first = shop_fx_export(f);
	assert_non_null(strstr(first, "\ncalc,'=cmd|' /C calc'!A0,Home,\"'@SUM(1,2)\",'-S1,'+v,1,EUR,1,\n"));
	assert_non_null(strstr(first, "\ntis,'Tis,Home,''=x,S2,'',2,EUR,1,\n"));
	json_t *prod = NULL;
	assert_int_equal(sf_catalog_product(f->db, "calc", &prod), SF_OK);
	assert_string_equal(json_string_value(json_object_get(prod, "name")), "=cmd|' /C calc'!A0");
	json_decref(prod);
	assert_int_equal(shop_fx_import(f, first, &res), SF_OK);
	assert_int_equal(res.products_updated + res.products_created + res.variants_written, 0);
	char *second = shop_fx_export(f);
	assert_string_equal(first, second);
	free(first);
	free(second);
	assert_int_equal(sf_catalog_product(f->db, "tis", &prod), SF_OK);
	assert_string_equal(json_string_value(json_object_get(prod, "name")), "'Tis");
	assert_string_equal(json_string_value(json_object_get(prod, "description")), "'=x");
	json_decref(prod);
}

static void test_card_refused(void **state)
{
	struct shop_fx *f = *state;
	struct sf_catalog_import_result res;
	assert_int_equal(shop_fx_import(f, HEADER "p,Gift card 4000-0566-5566-5556,C,,S-1,,1,EUR,1,\n", &res),
			 SF_ERR_CSV);
	assert_string_equal(res.reason, "line 2: product_name looks like a card number; card data is never accepted");
	/* a Luhn-invalid long number is just a number */
	assert_int_equal(shop_fx_import(f, HEADER "p,Part 4111111111111112,C,,S-1,,1,EUR,1,\n", &res), SF_OK);
	assert_int_equal(res.products_created, 1);
}

static void test_file_too_large(void **state)
{
	struct shop_fx *f = *state;
	struct sf_catalog_import_result res;
	FILE *in = tmpfile();
	assert_non_null(in);
	static char chunk[1 << 16];
	memset(chunk, 'x', sizeof chunk);
	for (size_t i = 0; i < sizeof chunk; i += 1024)
		chunk[i] = '\n';
	for (size_t i = 0; i < (SF_CSV_MAX_FILE / sizeof chunk) + 1; i++)
		assert_int_equal(fwrite(chunk, 1, sizeof chunk, in), sizeof chunk);
	rewind(in);
	assert_int_equal(sf_catalog_import_csv(f->db, f->kr, in, "test", &res), SF_ERR_CSV);
	fclose(in);
	assert_non_null(strstr(res.reason, "larger than 64 MiB"));
	assert_int_equal(res.bad_line, SF_CSV_MAX_FILE / 1024 + 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_good),
		cmocka_unit_test(test_parse_bad),
		cmocka_unit_test(test_parse_limits),
		cmocka_unit_test_setup_teardown(test_validation_lines, shop_fx_setup, shop_fx_teardown),
		cmocka_unit_test_setup_teardown(test_import_parse_error_reason, shop_fx_setup, shop_fx_teardown),
		cmocka_unit_test_setup_teardown(test_all_or_nothing, shop_fx_setup, shop_fx_teardown),
		cmocka_unit_test_setup_teardown(test_round_trip, shop_fx_setup, shop_fx_teardown),
		cmocka_unit_test_setup_teardown(test_formula_cells, shop_fx_setup, shop_fx_teardown),
		cmocka_unit_test_setup_teardown(test_card_refused, shop_fx_setup, shop_fx_teardown),
		cmocka_unit_test_setup_teardown(test_file_too_large, shop_fx_setup, shop_fx_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
