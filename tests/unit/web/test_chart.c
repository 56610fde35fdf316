/*
 * test_chart.c — the SVG chart geometry (src/web/chart.c) and its markup
 * through the real template partial: bars and points inside the plot,
 * scaling to a round maximum, label thinning, hostile labels escaped, no
 * style attribute (CSP-clean), and the limits.
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
#include "web/chart.h"
#include "web/tmpl.h"

static void test_nice_max(void **state)
{
	(void)state;
	assert_int_equal(sf_chart_nice_max(0), 1);
	assert_int_equal(sf_chart_nice_max(-5), 1);
	assert_int_equal(sf_chart_nice_max(1), 1);
	assert_int_equal(sf_chart_nice_max(3), 5);
	assert_int_equal(sf_chart_nice_max(7), 10);
	assert_int_equal(sf_chart_nice_max(10), 10);
	assert_int_equal(sf_chart_nice_max(11), 20);
	assert_int_equal(sf_chart_nice_max(1999), 2000);
	assert_int_equal(sf_chart_nice_max(2001), 5000);
	assert_int_equal(sf_chart_nice_max(INT64_MAX), INT64_MAX);
}

static int64_t ival(json_t *o, const char *k)
{
	return json_integer_value(json_object_get(o, k));
}

static void test_bars(void **state)
{
	(void)state;
	struct sf_chart_point pts[] = {{"Mon", 100}, {"Tue", 400}, {"Wed", 0}, {"Thu", -3}, {"Fri", 250}};
	json_t *c = sf_chart_build(SF_CHART_BAR, "Sales", pts, 5, NULL, NULL);
	assert_non_null(c);
	assert_true(json_is_true(json_object_get(c, "bar")));
	assert_false(json_is_true(json_object_get(c, "empty")));
	json_t *bars = json_object_get(c, "bars");
	assert_int_equal(json_array_size(bars), 5);
	int64_t h_max = 0, prev_x = -1;
	for (size_t i = 0; i < 5; i++) {
		json_t *b = json_array_get(bars, i);
		int64_t x = ival(b, "x"), y = ival(b, "y"), w = ival(b, "w"), h = ival(b, "h");
		assert_true(x > prev_x);
		prev_x = x;
		assert_true(w > 0);
		assert_true(x >= 0 && x + w <= SF_CHART_W);
		assert_true(y >= 0 && y + h <= SF_CHART_H);
		if (h > h_max)
			h_max = h;
	}
	/* 400 is the top of a 500 scale: 4/5 of the plot; 0 and negatives are flat */
	int64_t h400 = ival(json_array_get(bars, 1), "h"), h100 = ival(json_array_get(bars, 0), "h");
	assert_int_equal(h_max, h400);
	assert_true(h400 > 3 * h100 && h400 < 5 * h100);
	assert_int_equal(ival(json_array_get(bars, 2), "h"), 0);
	assert_int_equal(ival(json_array_get(bars, 3), "h"), 0);
	json_t *ticks = json_object_get(c, "ticks");
	assert_int_equal(json_array_size(ticks), 5);
	assert_string_equal(json_string_value(json_object_get(json_array_get(ticks, 4), "label")), "500");
	assert_string_equal(json_string_value(json_object_get(json_array_get(bars, 1), "value")), "400");
	json_decref(c);
}

static void money(int64_t v, char *out, size_t n, void *ctx)
{
	snprintf(out, n, "%s%lld.%02lld", (const char *)ctx, (long long)(v / 100), (long long)(v % 100));
}

static void test_line_and_labels(void **state)
{
	(void)state;
	struct sf_chart_point pts[60];
	char labels[60][12];
	for (int i = 0; i < 60; i++) {
		snprintf(labels[i], sizeof labels[i], "d%02d", i);
		pts[i].label = labels[i];
		pts[i].value = i * 100;
	}
	json_t *c = sf_chart_build(SF_CHART_LINE, "Orders", pts, 60, money, "$");
	assert_non_null(c);
	assert_int_equal(json_array_size(json_object_get(c, "dots")), 60);
	assert_true(json_array_size(json_object_get(c, "labels")) <= SF_CHART_MAX_LABELS);
	const char *poly = json_string_value(json_object_get(c, "points"));
	size_t spaces = 0;
	for (const char *p = poly; *p; p++)
		spaces += *p == ' ';
	assert_int_equal(spaces, 59);
	/* rising values: each dot higher (smaller y) than the one before */
	json_t *dots = json_object_get(c, "dots");
	for (size_t i = 1; i < 60; i++)
		assert_true(ival(json_array_get(dots, i), "y") <= ival(json_array_get(dots, i - 1), "y"));
	assert_string_equal(json_string_value(json_object_get(json_array_get(dots, 59), "value")), "$59.00");
	json_decref(c);
	/* empty and limits */
	c = sf_chart_build(SF_CHART_BAR, "Nothing", NULL, 0, NULL, NULL);
	assert_non_null(c);
	assert_true(json_is_true(json_object_get(c, "empty")));
	json_decref(c);
	assert_null(sf_chart_build(SF_CHART_BAR, "x", pts, SF_CHART_MAX_POINTS + 1, NULL, NULL));
	assert_null(sf_chart_build(SF_CHART_BAR, "x", NULL, 3, NULL, NULL));
}

/* The chart through the real partial: escaped, classes only, well formed. */
static void test_rendered(void **state)
{
	(void)state;
	struct sf_tmpl_set *set = NULL;
	char err[256] = "";
	enum sf_err e = sf_tmpl_load(&set, err, sizeof err);
	if (e)
		fail_msg("templates: %s", err);
	struct sf_chart_point pts[] = {{"<script>alert(1)</script>", 5}, {"\" onmouseover=\"x", 9}};
	json_t *c = sf_chart_build(SF_CHART_BAR, "<b>T</b>", pts, 2, NULL, NULL);
	struct sf_buf out;
	sf_buf_init(&out, 1 << 20);
	assert_int_equal(sf_tmpl_render(set, "admin_chart_svg", c, &out), SF_OK);
	const char *html = out.bf_data;
	assert_non_null(strstr(html, "<svg class=\"chart-svg\""));
	assert_non_null(strstr(html, "class=\"chart-bar\""));
	assert_null(strstr(html, "<script>"));
	assert_null(strstr(html, "<b>"));
	assert_null(strstr(html, "\" onmouseover"));
	assert_null(strstr(html, "style="));
	assert_non_null(strstr(html, "&lt;script&gt;"));
	size_t rects = 0;
	for (const char *p = html; (p = strstr(p, "<rect")); p++)
		rects++;
	assert_int_equal(rects, 2);
	sf_buf_free(&out);
	json_decref(c);
	sf_tmpl_free(set);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_nice_max),
		cmocka_unit_test(test_bars),
		cmocka_unit_test(test_line_and_labels),
		cmocka_unit_test(test_rendered),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
