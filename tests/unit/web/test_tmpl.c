/* test_tmpl.c — unit tests for the template engine (src/web/tmpl.c). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/assets.h"
#include "web/tmpl.h"

/* ---- helpers ---- */

/* Load one template "t" (plus optional extra sources) or fail the test. */
static struct sf_tmpl_set *load1(const char *text)
{
	struct sf_tmpl_src src = {"t", text, strlen(text)};
	struct sf_tmpl_set *set = NULL;
	char err[256];
	enum sf_err e = sf_tmpl_load_from(&src, 1, &set, err, sizeof err);
	if (e != SF_OK)
		fail_msg("load failed: %s", err);
	return set;
}

/* Render "t" with ctx (JSON text) and compare with want. */
static void expect_render(const char *text, const char *ctxjson, const char *want)
{
	struct sf_tmpl_set *set = load1(text);
	json_error_t jerr;
	json_t *ctx = ctxjson ? json_loads(ctxjson, 0, &jerr) : NULL;
	if (ctxjson && !ctx)
		fail_msg("bad test json: %s", jerr.text);
	struct sf_buf out;
	sf_buf_init(&out, 1 << 20);
	assert_int_equal(sf_tmpl_render(set, "t", ctx, &out), SF_OK);
	assert_string_equal(out.bf_data ? out.bf_data : "", want);
	sf_buf_free(&out);
	json_decref(ctx);
	sf_tmpl_free(set);
}

/* Loading must fail with err_want and an error message containing needle. */
static void expect_load_error(const struct sf_tmpl_src *srcs, size_t n, enum sf_err err_want, const char *needle)
{
	struct sf_tmpl_set *set = (struct sf_tmpl_set *)0x1;
	char err[256] = "";
	assert_int_equal(sf_tmpl_load_from(srcs, n, &set, err, sizeof err), err_want);
	assert_null(set);
	if (!strstr(err, needle))
		fail_msg("error '%s' does not contain '%s'", err, needle);
}

static void expect_syntax_error(const char *text, const char *needle)
{
	struct sf_tmpl_src src = {"t", text, strlen(text)};
	expect_load_error(&src, 1, SF_ERR_INVALID, needle);
}

/* ---- variables and escaping ---- */

static void test_escape_every_char(void **state)
{
	(void)state;
	expect_render("{{s}}", "{\"s\":\"&<>\\\"'`=x\"}", "&amp;&lt;&gt;&quot;&#39;&#96;&#61;x");
	/* In an attribute a value cannot break out of the quotes or add attributes. */
	expect_render("<a title=\"{{s}}\" data-x='{{s}}'>", "{\"s\":\"\\\" onmouseover='alert(1)' x=\\\"\"}",
		      "<a title=\"&quot; onmouseover&#61;&#39;alert(1)&#39; x&#61;&quot;\" "
		      "data-x='&quot; onmouseover&#61;&#39;alert(1)&#39; x&#61;&quot;'>");
	expect_render("<p>{{s}}</p>", "{\"s\":\"<script>alert(1)</script>\"}",
		      "<p>&lt;script&gt;alert(1)&lt;/script&gt;</p>");
}

static void test_scalars(void **state)
{
	(void)state;
	expect_render("[{{i}}|{{r}}|{{t}}|{{f}}|{{n}}|{{a}}|{{o}}|{{missing}}|{{ i }}]",
		      "{\"i\":-42,\"r\":1.5,\"t\":true,\"f\":false,\"n\":null,\"a\":[1],\"o\":{\"k\":1}}",
		      "[-42|1.5|true|false|||||-42]");
	expect_render("{{a.b.c}}/{{a.b.x}}/{{a.z.c}}", "{\"a\":{\"b\":{\"c\":\"deep\"}}}", "deep//");
	expect_render("no tags at all\n", NULL, "no tags at all\n");
	expect_render("{{x}}", NULL, "");
	expect_render("", "{}", "");
}

static void test_dot_and_arrays(void **state)
{
	(void)state;
	expect_render("{{#xs}}<{{.}}>{{/xs}}", "{\"xs\":[\"a\",\"<b>\",3]}", "<a><&lt;b&gt;><3>");
	expect_render("{{#items}}{{name}}={{price.formatted}};{{/items}}",
		      "{\"items\":[{\"name\":\"A\",\"price\":{\"formatted\":\"€1\"}},"
		      "{\"name\":\"B\",\"price\":{\"formatted\":\"€2\"}}]}",
		      "A=€1;B=€2;");
	expect_render("{{#s}}[{{.}}]{{/s}}", "{\"s\":\"hi\"}", "[hi]");
	expect_render("{{#n}}[{{.}}]{{/n}}", "{\"n\":7}", "[7]");
}

static void test_nested_sections(void **state)
{
	(void)state;
	expect_render("{{#a}}A{{#b}}B{{#c}}C{{x}}{{/c}}{{/b}}{{/a}}",
		      "{\"a\":{\"b\":{\"c\":{\"x\":\"!\"}}}}", "ABC!");
	expect_render("{{#rows}}<tr>{{#cells}}<td>{{.}}</td>{{/cells}}</tr>{{/rows}}",
		      "{\"rows\":[{\"cells\":[1,2]},{\"cells\":[3]}]}",
		      "<tr><td>1</td><td>2</td></tr><tr><td>3</td></tr>");
	expect_render("{{#t}}yes{{/t}}{{#f}}no{{/f}}", "{\"t\":true,\"f\":false}", "yes");
}

static void test_lookup_falls_back_to_parent(void **state)
{
	(void)state;
	expect_render("{{#items}}{{name}}@{{shop}} {{/items}}",
		      "{\"shop\":\"S\",\"items\":[{\"name\":\"a\"},{\"name\":\"b\",\"shop\":\"own\"}]}",
		      "a@S b@own ");
	/* Only the first segment falls back; a.b that misses in the inner a is "". */
	expect_render("{{#inner}}{{a.b}}{{/inner}}", "{\"a\":{\"b\":\"outer\"},\"inner\":{\"a\":{\"c\":1}}}", "");
	/* An explicit null stops the lookup (it does not fall back). */
	expect_render("{{#inner}}[{{x}}]{{/inner}}", "{\"x\":\"outer\",\"inner\":{\"x\":null}}", "[]");
}

static void test_inverted_sections(void **state)
{
	(void)state;
	const char *t = "{{^v}}empty{{/v}}{{#v}}full{{/v}}";
	expect_render(t, "{}", "empty");
	expect_render(t, "{\"v\":null}", "empty");
	expect_render(t, "{\"v\":false}", "empty");
	expect_render(t, "{\"v\":[]}", "empty");
	expect_render(t, "{\"v\":\"\"}", "empty");
	expect_render(t, "{\"v\":0}", "empty");
	expect_render(t, "{\"v\":0.0}", "empty");
	expect_render(t, "{\"v\":[1]}", "full");
	expect_render(t, "{\"v\":\"x\"}", "full");
	expect_render(t, "{\"v\":1}", "full");
	expect_render(t, "{\"v\":true}", "full");
	expect_render(t, "{\"v\":{}}", "full");
}

static void test_comments(void **state)
{
	(void)state;
	expect_render("a{{! a comment }}b{{!multi\nline\n}}c", NULL, "abc");
	/* Lines inside a comment still count for later errors. */
	expect_syntax_error("{{!one\ntwo\n}}\n{{#x}}", "line 4: unclosed section {{#x}}");
}

static void test_partials(void **state)
{
	(void)state;
	struct sf_tmpl_src src[] = {
		{"page", "<h1>{{title}}</h1>{{#items}}{{>item}}{{/items}}{{>footer}}", 0},
		{"item", "<li>{{name}} in {{title}}</li>", 0},
		{"footer", "<footer>{{shop}}</footer>", 0},
	};
	for (size_t i = 0; i < 3; i++)
		src[i].len = strlen(src[i].text);
	struct sf_tmpl_set *set = NULL;
	char err[256];
	assert_int_equal(sf_tmpl_load_from(src, 3, &set, err, sizeof err), SF_OK);
	assert_true(sf_tmpl_has(set, "item"));
	assert_false(sf_tmpl_has(set, "nope"));
	json_t *ctx = json_pack("{s:s, s:s, s:[{s:s},{s:s}]}", "title", "T<", "shop", "S", "items", "name", "a", "name",
				"b");
	struct sf_buf out;
	sf_buf_init(&out, 4096);
	assert_int_equal(sf_tmpl_render(set, "page", ctx, &out), SF_OK);
	assert_string_equal(out.bf_data, "<h1>T&lt;</h1><li>a in T&lt;</li><li>b in T&lt;</li><footer>S</footer>");
	sf_buf_reset(&out);
	assert_int_equal(sf_tmpl_render(set, "missing", ctx, &out), SF_ERR_NOT_FOUND);
	sf_buf_free(&out);
	json_decref(ctx);
	sf_tmpl_free(set);
}

/* Build {"child":{"child":…{"child":null}}} with depth objects.  The innermost
 * null stops the lookup from falling back to the parent's "child". */
static json_t *nest(int depth)
{
	json_t *v = json_null();
	for (int i = 0; i < depth; i++)
		v = json_pack("{s:o}", "child", v);
	return v;
}

static void test_partial_recursion_limit(void **state)
{
	(void)state;
	struct sf_tmpl_set *set = load1("x{{#child}}{{>t}}{{/child}}");
	struct sf_buf out;
	sf_buf_init(&out, 4096);

	json_t *ok = nest(SF_TMPL_MAX_PARTIAL_DEPTH + 1); /* exactly the maximum of inclusions */
	assert_int_equal(sf_tmpl_render(set, "t", ok, &out), SF_OK);
	assert_int_equal(out.bf_len, SF_TMPL_MAX_PARTIAL_DEPTH + 1);
	json_decref(ok);

	sf_buf_reset(&out);
	json_t *deep = nest(SF_TMPL_MAX_PARTIAL_DEPTH + 2);
	assert_int_equal(sf_tmpl_render(set, "t", deep, &out), SF_ERR_LIMIT);
	json_decref(deep);

	/* Fallback lookups make {"child":{}} recurse forever; the limit stops it. */
	sf_buf_reset(&out);
	json_t *loop = json_pack("{s:{}}", "child");
	assert_int_equal(sf_tmpl_render(set, "t", loop, &out), SF_ERR_LIMIT);
	json_decref(loop);

	/* Unconditional self-inclusion is stopped too, not a stack overflow. */
	sf_buf_free(&out);
	sf_tmpl_free(set);
	set = load1("{{>t}}");
	sf_buf_init(&out, 4096);
	assert_int_equal(sf_tmpl_render(set, "t", NULL, &out), SF_ERR_LIMIT);
	sf_buf_free(&out);
	sf_tmpl_free(set);
}

static void test_output_cap(void **state)
{
	(void)state;
	struct sf_tmpl_set *set = load1("{{#xs}}0123456789{{/xs}}");
	json_t *ctx = json_pack("{s:[i,i,i,i,i]}", "xs", 1, 2, 3, 4, 5);
	struct sf_buf out;
	sf_buf_init(&out, 45);
	assert_int_equal(sf_tmpl_render(set, "t", ctx, &out), SF_ERR_LIMIT);
	assert_true(out.bf_len <= 45);
	sf_buf_free(&out);
	sf_buf_init(&out, 50);
	assert_int_equal(sf_tmpl_render(set, "t", ctx, &out), SF_OK);
	assert_int_equal(out.bf_len, 50);
	sf_buf_free(&out);
	/* A value that would pass the cap only once escaped is caught as well. */
	sf_tmpl_free(set);
	set = load1("{{s}}");
	json_decref(ctx);
	ctx = json_pack("{s:s}", "s", "<<<<<");
	sf_buf_init(&out, 10);
	assert_int_equal(sf_tmpl_render(set, "t", ctx, &out), SF_ERR_LIMIT);
	sf_buf_free(&out);
	json_decref(ctx);
	sf_tmpl_free(set);
}

static void test_url_and_asset(void **state)
{
	(void)state;
	expect_render("/c/{{url s}}?q={{url q}}&amp;page={{url n}}",
		      "{\"s\":\"a b/c&d\",\"q\":\"\\\"><x='1'\",\"n\":3}",
		      "/c/a%20b%2Fc%26d?q=%22%3E%3Cx%3D%271%27&amp;page=3");
	expect_render("[{{url s}}]", "{\"s\":\"Kühl~ok._-\"}", "[K%C3%BChl~ok._-]");
	expect_render("[{{url missing}}{{url o}}]", "{\"o\":{}}", "[]");

	const struct sf_asset *as = sf_asset_find("static/app.css");
	assert_non_null(as);
	char want[128];
	snprintf(want, sizeof want, "<link href=\"/static/app.css?v=%.12s\">", as->etag + 1);
	expect_render("<link href=\"{{asset static/app.css}}\">", NULL, want);
	expect_render("<link href=\"{{ asset   static/app.css }}\">", NULL, want);
	expect_syntax_error("x\n{{asset static/nope.css}}", "line 2: unknown asset 'static/nope.css'");
	expect_syntax_error("{{asset ../etc/passwd}}", "line 1: invalid asset name");
}

static void test_syntax_errors(void **state)
{
	(void)state;
	expect_syntax_error("line1\nline2 {{name\nline3 }}", "template 't' line 2: unclosed tag");
	expect_syntax_error("{{name", "line 1: unclosed tag");
	expect_syntax_error("a\nb\n{{#a}}\n{{#b}}\n{{/a}}", "line 5: mismatched section: {{/a}} closes {{#b}} opened on line 4");
	expect_syntax_error("{{#a}}\n\n", "unclosed section {{#a}} opened on line 1");
	expect_syntax_error("\n{{/a}}", "line 2: closing tag {{/a}} without an open section");
	expect_syntax_error("{{!never closed", "line 1: unclosed comment");
	expect_syntax_error("{{}}", "line 1: empty tag");
	expect_syntax_error("{{ }}", "empty tag");
	expect_syntax_error("{{a b}}", "invalid name");
	expect_syntax_error("{{a..b}}", "invalid name");
	expect_syntax_error("{{.a}}", "invalid name");
	expect_syntax_error("{{<script>}}", "invalid name");
	expect_syntax_error("{{#}}", "section without a name");
	expect_syntax_error("{{>}}", "invalid partial name");
	expect_syntax_error("{{=<% %>=}}", "delimiter changes are not supported");

	struct sf_tmpl_src two[] = {{"a", "ok", 2}, {"b", "\n\n{{>nope}}", 11}};
	expect_load_error(two, 2, SF_ERR_INVALID, "template 'b' line 3: unknown partial 'nope'");
	struct sf_tmpl_src dup[] = {{"a", "x", 1}, {"a", "y", 1}};
	expect_load_error(dup, 2, SF_ERR_INVALID, "duplicate template name");
	struct sf_tmpl_src badname[] = {{"../x", "x", 1}};
	expect_load_error(badname, 1, SF_ERR_INVALID, "invalid template name");
	expect_load_error(NULL, 0, SF_ERR_INVALID, "no templates");

	/* Nesting limit. */
	char deep[SF_TMPL_MAX_NEST * 12 + 64];
	size_t n = 0;
	for (int i = 0; i <= SF_TMPL_MAX_NEST; i++)
		n += (size_t)snprintf(deep + n, sizeof deep - n, "{{#a}}");
	expect_syntax_error(deep, "nested too deeply");
}

static void test_triple_mustache_rejected(void **state)
{
	(void)state;
	expect_syntax_error("ok\n{{{raw}}}", "line 2: triple mustache");
	expect_syntax_error("{{&raw}}", "unescaped output");
	expect_syntax_error("{{raw}}}", "triple mustache");
}

static void test_errbuf_optional(void **state)
{
	(void)state;
	struct sf_tmpl_src src = {"t", "{{#a}}", 6};
	struct sf_tmpl_set *set = NULL;
	assert_int_equal(sf_tmpl_load_from(&src, 1, &set, NULL, 0), SF_ERR_INVALID);
	assert_null(set);
	char tiny[8];
	assert_int_equal(sf_tmpl_load_from(&src, 1, &set, tiny, sizeof tiny), SF_ERR_INVALID);
	assert_true(strlen(tiny) < sizeof tiny);
}

/* Deterministic xorshift32: the fuzz loop is reproducible. */
static uint32_t xs_state = 0x2545F491u;
static uint32_t xorshift(void)
{
	uint32_t x = xs_state;
	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	return xs_state = x;
}

static void test_fuzz_parser(void **state)
{
	(void)state;
	static const char *pieces[] = {"{{", "}}", "{", "}", "#", "^", "/", ">", "!", ".", "a", "b", "t", "u",
				       " ", "\n", "&", "=", "<", "url ", "asset ", "static/app.css", "{{#a}}",
				       "{{/a}}", "{{>t}}", "{{>u}}", "{{.}}", "{{a.b}}", "{{^b}}", "{{/b}}"};
	const size_t npieces = sizeof pieces / sizeof pieces[0];
	json_t *ctx = json_loads("{\"a\":[{\"b\":1},{\"b\":[\"x\",\"<\"]},true],\"b\":\"s\",\"u\":{\"a\":\"q\"}}", 0,
				 NULL);
	assert_non_null(ctx);
	size_t loaded = 0;
	for (int iter = 0; iter < 20000; iter++) {
		char text[2][256];
		size_t len[2];
		for (int k = 0; k < 2; k++) {
			size_t n = 0, want = xorshift() % 200;
			while (n < want) {
				if (xorshift() % 3 == 0) {
					text[k][n++] = (char)(xorshift() & 0xff);
				} else {
					const char *p = pieces[xorshift() % npieces];
					size_t pl = strlen(p);
					if (n + pl > sizeof text[k])
						break;
					memcpy(text[k] + n, p, pl);
					n += pl;
				}
			}
			len[k] = n;
		}
		struct sf_tmpl_src src[] = {{"t", text[0], len[0]}, {"u", text[1], len[1]}};
		struct sf_tmpl_set *set = NULL;
		char err[128];
		enum sf_err e = sf_tmpl_load_from(src, 2, &set, err, sizeof err);
		if (e == SF_OK) {
			loaded++;
			struct sf_buf out;
			sf_buf_init(&out, 4096);
			e = sf_tmpl_render(set, "t", ctx, &out);
			assert_true(e == SF_OK || e == SF_ERR_LIMIT);
			sf_buf_free(&out);
			sf_tmpl_free(set);
		} else {
			assert_int_equal(e, SF_ERR_INVALID);
			assert_null(set);
			assert_true(strncmp(err, "template '", 10) == 0);
		}
	}
	/* The generator must actually exercise the renderer, not only errors. */
	assert_true(loaded > 100);
	json_decref(ctx);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_escape_every_char),
		cmocka_unit_test(test_scalars),
		cmocka_unit_test(test_dot_and_arrays),
		cmocka_unit_test(test_nested_sections),
		cmocka_unit_test(test_lookup_falls_back_to_parent),
		cmocka_unit_test(test_inverted_sections),
		cmocka_unit_test(test_comments),
		cmocka_unit_test(test_partials),
		cmocka_unit_test(test_partial_recursion_limit),
		cmocka_unit_test(test_output_cap),
		cmocka_unit_test(test_url_and_asset),
		cmocka_unit_test(test_syntax_errors),
		cmocka_unit_test(test_triple_mustache_rejected),
		cmocka_unit_test(test_errbuf_optional),
		cmocka_unit_test(test_fuzz_parser),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
