/*
 * chart.c — geometry of bar and line charts (chart.h).  Pure computation
 * into JSON; the SVG markup lives in web/templates/_admin_chart.html.
 */
#include "web/chart.h"

#include <inttypes.h>
#include <stdio.h>

#define M_LEFT 72
#define M_RIGHT 12
#define M_TOP 12
#define M_BOTTOM 36
#define N_TICKS 4 /* intervals: 5 grid lines */

int64_t sf_chart_nice_max(int64_t v)
{
	if (v <= 0)
		return 1;
	int64_t p = 1;
	while (p <= INT64_MAX / 10 && p * 10 <= v)
		p *= 10;
	static const int64_t steps[] = {1, 2, 5, 10};
	for (size_t i = 0; i < 4; i++) {
		if (p <= INT64_MAX / steps[i] && p * steps[i] >= v)
			return p * steps[i];
	}
	return v;
}

static void fmt_value(int64_t v, char *out, size_t n, sf_chart_fmt_fn fmt, void *ctx)
{
	if (fmt)
		fmt(v, out, n, ctx);
	else
		snprintf(out, n, "%" PRId64, v);
}

/* v scaled into [0, span] for a maximum of max (no overflow for any v <= max). */
static int64_t scale(int64_t v, int64_t max, int64_t span)
{
	if (v <= 0)
		return 0;
	if (v >= max)
		return span;
	return (int64_t)((long double)v * (long double)span / (long double)max + 0.5L);
}

static int add_ticks(json_t *o, int64_t top, sf_chart_fmt_fn fmt, void *ctx)
{
	json_t *ticks = json_array();
	int bad = !ticks;
	const int64_t plot_h = SF_CHART_H - M_TOP - M_BOTTOM;
	for (int i = 0; !bad && i <= N_TICKS; i++) {
		char lab[64];
		int64_t v = top / N_TICKS * i;
		if (i == N_TICKS)
			v = top;
		fmt_value(v, lab, sizeof lab, fmt, ctx);
		int64_t y = M_TOP + plot_h - scale(v, top, plot_h);
		bad = json_array_append_new(ticks, json_pack("{s:I,s:i,s:i,s:i,s:I,s:s}", "y", (json_int_t)y, "x1",
							     M_LEFT, "x2", SF_CHART_W - M_RIGHT, "tx", M_LEFT - 6,
							     "ty", (json_int_t)(y + 4), "label", lab));
	}
	return bad || json_object_set_new(o, "ticks", ticks);
}

json_t *sf_chart_build(enum sf_chart_kind kind, const char *title, const struct sf_chart_point *pts, size_t n,
		       sf_chart_fmt_fn fmt, void *fmt_ctx)
{
	if (n > SF_CHART_MAX_POINTS || (n && !pts))
		return NULL;
	int64_t max = 0, sum = 0;
	for (size_t i = 0; i < n; i++) {
		if (pts[i].value > max)
			max = pts[i].value;
		if (pts[i].value > 0 && sum <= INT64_MAX - pts[i].value)
			sum += pts[i].value;
	}
	const int64_t top = sf_chart_nice_max(max);
	const int64_t plot_w = SF_CHART_W - M_LEFT - M_RIGHT, plot_h = SF_CHART_H - M_TOP - M_BOTTOM;
	char desc[256], maxs[64], sums[64];
	fmt_value(max, maxs, sizeof maxs, fmt, fmt_ctx);
	fmt_value(sum, sums, sizeof sums, fmt, fmt_ctx);
	snprintf(desc, sizeof desc, "%s: %zu points, highest %s, total %s", title ? title : "chart", n, maxs, sums);
	json_t *o = json_pack("{s:s,s:s,s:i,s:i,s:b,s:b,s:b}", "title", title ? title : "", "desc", desc, "width",
			      SF_CHART_W, "height", SF_CHART_H, "bar", kind == SF_CHART_BAR, "line",
			      kind == SF_CHART_LINE, "empty", max == 0);
	json_t *items = json_array(), *labels = json_array();
	int bad = !o || !items || !labels || add_ticks(o, top, fmt, fmt_ctx);
	size_t every = n > SF_CHART_MAX_LABELS ? (n + SF_CHART_MAX_LABELS - 1) / SF_CHART_MAX_LABELS : 1;
	char line_pts[SF_CHART_MAX_POINTS * 12 + 1];
	size_t lp = 0;
	line_pts[0] = '\0';
	for (size_t i = 0; !bad && i < n; i++) {
		char val[64];
		fmt_value(pts[i].value, val, sizeof val, fmt, fmt_ctx);
		const char *label = pts[i].label ? pts[i].label : "";
		int64_t slot_x = M_LEFT + (int64_t)((long double)plot_w * (long double)i / (long double)n);
		int64_t slot_w = M_LEFT + (int64_t)((long double)plot_w * (long double)(i + 1) / (long double)n) - slot_x;
		int64_t h = scale(pts[i].value, top, plot_h);
		int64_t cx = slot_x + slot_w / 2, y = M_TOP + plot_h - h;
		if (kind == SF_CHART_BAR) {
			int64_t w = slot_w * 7 / 10 > 0 ? slot_w * 7 / 10 : 1;
			bad = json_array_append_new(items, json_pack("{s:I,s:I,s:I,s:I,s:s,s:s}", "x",
								     (json_int_t)(cx - w / 2), "y", (json_int_t)y,
								     "w", (json_int_t)w, "h", (json_int_t)h, "label",
								     label, "value", val));
		} else {
			bad = json_array_append_new(items, json_pack("{s:I,s:I,s:s,s:s}", "x", (json_int_t)cx, "y",
								     (json_int_t)y, "label", label, "value", val));
			int k = snprintf(line_pts + lp, sizeof line_pts - lp, "%s%" PRId64 ",%" PRId64, lp ? " " : "",
					 cx, y);
			if (k > 0 && (size_t)k < sizeof line_pts - lp)
				lp += (size_t)k;
		}
		if (!bad && i % every == 0)
			bad = json_array_append_new(labels, json_pack("{s:I,s:i,s:s}", "x", (json_int_t)cx, "y",
								      SF_CHART_H - M_BOTTOM + 18, "text", label));
	}
	if (!bad)
		bad = json_object_set_new(o, kind == SF_CHART_BAR ? "bars" : "dots", items) ||
		      json_object_set_new(o, "labels", labels) ||
		      json_object_set_new(o, "points", json_string(line_pts));
	else {
		json_decref(items);
		json_decref(labels);
	}
	if (bad) {
		json_decref(o);
		return NULL;
	}
	return o;
}
