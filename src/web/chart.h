/*
 * chart.h — bar and line charts for the back office, drawn by storefort as
 * SVG elements.
 *
 * The renderer computes geometry only: it returns a JSON object that the
 * template partial web/templates/_admin_chart.html turns into <svg>
 * elements.  So every label and value goes through the template engine's
 * escaping (invariant 2: no markup is produced outside templates), and the
 * result is CSP-clean: no style attributes, presentation by CSS classes
 * (chart-bar, chart-line, chart-dot, chart-grid, chart-tick, chart-label).
 * Coordinates are integers in a fixed viewBox (SF_CHART_W x SF_CHART_H)
 * that CSS scales to the page.
 */
#ifndef SF_WEB_CHART_H
#define SF_WEB_CHART_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#define SF_CHART_W 640
#define SF_CHART_H 240
#define SF_CHART_MAX_POINTS 400
#define SF_CHART_MAX_LABELS 12 /* x-axis labels shown at most (every k-th) */

enum sf_chart_kind { SF_CHART_BAR, SF_CHART_LINE };

struct sf_chart_point {
	const char *label; /* x-axis label (borrowed) */
	int64_t value;     /* >= 0; negative values are drawn as 0 */
};

/* Formats a value for ticks and tooltips ("€12.00"); NULL: plain integer. */
typedef void (*sf_chart_fmt_fn)(int64_t v, char *out, size_t n, void *ctx);

/* The chart's geometry as a new JSON object (NULL when out of memory or
 * n > SF_CHART_MAX_POINTS):
 *   {"title","desc" (a text summary for screen readers),"width","height",
 *    "bar":bool,"line":bool,"empty":bool (no points, or all zero),
 *    "ticks":[{"y","x1","x2","tx","ty","label"}] (5 grid lines, 0 .. a round maximum),
 *    "bars":[{"x","y","w","h","label","value"}]            (bar charts),
 *    "points":"x,y x,y …","dots":[{"x","y","label","value"}] (line charts),
 *    "labels":[{"x","y","text"}]                           (x-axis, every k-th)}
 * Strings are copied; title and the labels are escaped when rendered. */
json_t *sf_chart_build(enum sf_chart_kind kind, const char *title, const struct sf_chart_point *pts, size_t n,
		       sf_chart_fmt_fn fmt, void *fmt_ctx);

/* The smallest "round" number (1, 2 or 5 times a power of ten) >= v, and
 * 1 for v <= 0.  Exposed for tests. */
int64_t sf_chart_nice_max(int64_t v);

#endif
