/*
 * tmpl.h — a small, strict, escape-by-default template engine (mustache-like)
 * whose data model is a jansson json_t.
 *
 * Every template is compiled ONCE at startup into an AST; rendering walks the
 * AST into a capped struct sf_buf.  There is no way to output a value without
 * HTML escaping: the only markup that reaches a page is the template's own
 * (invariant 2 of DESIGN.md).
 *
 * Syntax (whitespace inside the braces is allowed: {{ name }}):
 *   {{name}} {{a.b.c}}   value, HTML-escaped (& < > " ' ` =); numbers are
 *                        printed, true/false as "true"/"false", null, missing
 *                        values, arrays and objects as ""
 *   {{.}}                the current context value
 *   {{#name}}…{{/name}}  section: array -> once per element (the element is the
 *                        new context; lookups fall back to outer contexts);
 *                        object -> entered once; true, non-empty string,
 *                        non-zero number -> once (value pushed as context);
 *                        false, null, missing, empty array, "", 0 -> skipped
 *   {{^name}}…{{/name}}  inverted section: rendered only when the value is falsy
 *   {{>partial}}         another template of the set, by name (resolved at load)
 *   {{!comment}}         ignored (may span lines)
 *   {{asset static/x}}   "/static/x?v=<first 12 hex chars of its ETag>"; the
 *                        asset must be embedded, or loading fails
 *   {{url name}}         the value percent-encoded as a URL path segment /
 *                        query value (only A-Z a-z 0-9 - . _ ~ stay literal)
 *   {{{x}}}, {{&x}}, {{=…=}} are rejected at load: no unescaped output and no
 *   delimiter changes.
 *
 * Names are [A-Za-z0-9_-] segments separated by '.'; partial and asset names
 * may also contain '/'.  Lookup of a.b.c finds the innermost context object
 * that has "a", then descends strictly.
 *
 * Limits: sections nest at most SF_TMPL_MAX_NEST deep in one template;
 * partials recurse at most SF_TMPL_MAX_PARTIAL_DEPTH deep at render time;
 * output is capped by the sf_buf's bf_max.
 *
 * Thread safety: a loaded set is read-only; any number of threads may render
 * from it at once (each with its own output buffer and context).
 */
#ifndef SF_WEB_TMPL_H
#define SF_WEB_TMPL_H

#include <jansson.h>
#include <stddef.h>

#include "core/buf.h"
#include "core/err.h"

#define SF_TMPL_MAX_NEST 32          /* section nesting within one template */
#define SF_TMPL_MAX_PARTIAL_DEPTH 16 /* partial inclusion depth at render time */
#define SF_TMPL_MAX_TEMPLATES 256
#define SF_TMPL_MAX_SOURCE (1024 * 1024) /* bytes of one template's source */

struct sf_tmpl_set;

/* One template source for sf_tmpl_load_from: name as used by render and by
 * {{>name}}; text[0..len) need not be NUL-terminated and is copied. */
struct sf_tmpl_src {
	const char *name;
	const char *text;
	size_t len;
};

/* Compile every embedded asset "templates/<name>.html" into a set; the
 * template's name is <name> ("templates/home.html" -> "home",
 * "templates/partials/x.html" -> "partials/x").
 * Returns SF_OK and *out (caller frees with sf_tmpl_free), or
 *   SF_ERR_INVALID  a syntax error, an unknown partial or asset, a duplicate
 *                   name, or no templates at all; errbuf (if non-NULL) gets
 *                   "template 'home' line 12: <reason>"
 *   SF_ERR_LIMIT    too many templates or a template too large
 *   SF_ERR_NOMEM    out of memory.
 * *out is NULL on failure. */
enum sf_err sf_tmpl_load(struct sf_tmpl_set **out, char *errbuf, size_t errlen) SF_WARN_UNUSED;

/* As sf_tmpl_load, from n explicit sources (tests, tools).  {{asset}} still
 * resolves against the embedded asset table. */
enum sf_err sf_tmpl_load_from(const struct sf_tmpl_src *srcs, size_t n, struct sf_tmpl_set **out, char *errbuf,
			      size_t errlen) SF_WARN_UNUSED;

/* Render template name with ctx (borrowed; may be NULL, treated as an empty
 * context) appended to out.  Returns SF_OK, or
 *   SF_ERR_NOT_FOUND  no template of that name
 *   SF_ERR_LIMIT      the output reached out->bf_max, or partials recursed
 *                     deeper than SF_TMPL_MAX_PARTIAL_DEPTH
 *   SF_ERR_NOMEM      out of memory.
 * On failure out's contents are incomplete and must not be sent; the caller
 * still owns out and frees it. */
enum sf_err sf_tmpl_render(const struct sf_tmpl_set *set, const char *name, json_t *ctx,
			   struct sf_buf *out) SF_WARN_UNUSED;

/* Does the set hold a template of this name? (1 / 0) */
int sf_tmpl_has(const struct sf_tmpl_set *set, const char *name);

/* Free the set and everything it owns.  NULL accepted. */
void sf_tmpl_free(struct sf_tmpl_set *set);

#endif
