/*
 * tmpl.c — the escape-by-default template engine declared in tmpl.h.
 *
 * Two halves: a parser that turns each template's source into a linked AST
 * (all nodes live in one arena owned by the set, so freeing is one call), and
 * a renderer that walks the AST with a stack of JSON contexts.  The parser is
 * strict — anything it does not understand is a load error with the template
 * name and line — because a template bug should stop the server at startup,
 * not show up as a half-rendered page.  The renderer never writes a value
 * without HTML escaping or percent-encoding.
 */
#include "web/tmpl.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "core/assets.h"

#define SET_ARENA_CAP (64u * 1024u * 1024u)
#define MAX_NAME 128
#define RENDER_STACK (SF_TMPL_MAX_NEST * (SF_TMPL_MAX_PARTIAL_DEPTH + 1) + 1)

/* ==== AST ==== */

enum node_kind { N_TEXT, N_VAR, N_URL, N_SECTION, N_INVERTED, N_PARTIAL };

struct tmpl;

struct node {
	enum node_kind kind;
	struct node *next;
	unsigned line;
	/* N_TEXT */
	const char *text;
	size_t text_len;
	/* N_VAR, N_URL, N_SECTION, N_INVERTED: the path; nseg 0 means "." */
	const char *raw;  /* the name as written, for matching the closing tag */
	const char **seg;
	size_t nseg;
	struct node *body; /* N_SECTION, N_INVERTED */
	/* N_PARTIAL */
	const char *pname;
	const struct tmpl *target; /* resolved after every template is parsed */
	struct node *pnext;        /* chain of all partial nodes of the set */
	const char *owner;         /* the template holding this partial node */
};

struct tmpl {
	const char *name;
	struct node *body;
};

struct sf_tmpl_set {
	struct sf_arena arena;
	struct tmpl *t;
	size_t n;
};

/* ==== Parser ==== */

struct parser {
	struct sf_arena *a;
	const char *name;
	const char *s;
	size_t len;
	size_t pos;
	unsigned line;
	char *errbuf;
	size_t errlen;
	struct node *open[SF_TMPL_MAX_NEST]; /* open sections, innermost last */
	struct node **tail[SF_TMPL_MAX_NEST + 1];
	size_t depth;
	struct node **partials; /* the set's chain of partial nodes */
};

static enum sf_err set_error(char *errbuf, size_t errlen, const char *tname, unsigned line, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

static enum sf_err set_error(char *errbuf, size_t errlen, const char *tname, unsigned line, const char *fmt, ...)
{
	if (!errbuf || errlen == 0)
		return SF_ERR_INVALID;
	int n;
	if (line)
		n = snprintf(errbuf, errlen, "template '%s' line %u: ", tname, line);
	else
		n = snprintf(errbuf, errlen, "template '%s': ", tname);
	if (n < 0 || (size_t)n >= errlen)
		return SF_ERR_INVALID;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(errbuf + n, errlen - (size_t)n, fmt, ap);
	va_end(ap);
	return SF_ERR_INVALID;
}

static int is_name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
}

/* A partial, template or asset name: name chars and '/', '.', no "..",
 * not starting with '/' or '.'. */
static int valid_file_name(const char *s, size_t n)
{
	if (n == 0 || n > MAX_NAME || s[0] == '/' || s[0] == '.')
		return 0;
	for (size_t i = 0; i < n; i++) {
		if (!is_name_char(s[i]) && s[i] != '/' && s[i] != '.')
			return 0;
		if (s[i] == '.' && i + 1 < n && s[i + 1] == '.')
			return 0;
	}
	return 1;
}

static size_t count_lines(const char *s, size_t n)
{
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		k += s[i] == '\n';
	return k;
}

static struct node *node_new(struct parser *p, enum node_kind kind, unsigned line)
{
	struct node *nd = sf_arena_zalloc(p->a, sizeof *nd);
	if (!nd)
		return NULL;
	nd->kind = kind;
	nd->line = line;
	*p->tail[p->depth] = nd;
	p->tail[p->depth] = &nd->next;
	return nd;
}

static enum sf_err add_text(struct parser *p, const char *s, size_t n, unsigned line)
{
	if (n == 0)
		return SF_OK;
	struct node *nd = node_new(p, N_TEXT, line);
	if (!nd)
		return SF_ERR_NOMEM;
	char *copy = sf_arena_strndup(p->a, s, n);
	if (!copy)
		return SF_ERR_NOMEM;
	nd->text = copy;
	nd->text_len = n;
	return SF_OK;
}

/* Parse a variable/section name ("." or a.b.c) into nd's path.
 * Returns SF_OK, SF_ERR_INVALID (bad name, error written) or SF_ERR_NOMEM. */
static enum sf_err parse_path(struct parser *p, struct node *nd, const char *s, size_t n, unsigned line)
{
	if (n > MAX_NAME)
		return set_error(p->errbuf, p->errlen, p->name, line, "name too long in tag");
	char *raw = sf_arena_strndup(p->a, s, n);
	if (!raw)
		return SF_ERR_NOMEM;
	nd->raw = raw;
	if (n == 1 && s[0] == '.') {
		nd->nseg = 0;
		return SF_OK;
	}
	size_t nseg = 1;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '.') {
			if (i == 0 || i + 1 == n || s[i + 1] == '.')
				return set_error(p->errbuf, p->errlen, p->name, line, "invalid name in tag");
			nseg++;
		} else if (!is_name_char(s[i])) {
			return set_error(p->errbuf, p->errlen, p->name, line, "invalid name in tag");
		}
	}
	const char **seg = sf_arena_alloc(p->a, nseg * sizeof *seg);
	if (!seg)
		return SF_ERR_NOMEM;
	size_t k = 0, start = 0;
	for (size_t i = 0; i <= n; i++) {
		if (i == n || s[i] == '.') {
			seg[k] = sf_arena_strndup(p->a, s + start, i - start);
			if (!seg[k])
				return SF_ERR_NOMEM;
			k++;
			start = i + 1;
		}
	}
	nd->seg = seg;
	nd->nseg = nseg;
	return SF_OK;
}

/* {{asset name}} becomes a text node "/name?v=<12 hex of the ETag>". */
static enum sf_err parse_asset(struct parser *p, const char *s, size_t n, unsigned line)
{
	char name[MAX_NAME + 1];
	if (!valid_file_name(s, n))
		return set_error(p->errbuf, p->errlen, p->name, line, "invalid asset name");
	memcpy(name, s, n);
	name[n] = '\0';
	const struct sf_asset *as = sf_asset_find(name);
	if (!as)
		return set_error(p->errbuf, p->errlen, p->name, line, "unknown asset '%s'", name);
	const char *etag = as->etag;
	if (etag && etag[0] == '"')
		etag++;
	char ver[13];
	size_t v = 0;
	while (etag && v < 12 && ((etag[v] >= '0' && etag[v] <= '9') || (etag[v] >= 'a' && etag[v] <= 'f'))) {
		ver[v] = etag[v];
		v++;
	}
	ver[v] = '\0';
	if (v < 12)
		return set_error(p->errbuf, p->errlen, p->name, line, "asset '%s' has no usable ETag", name);
	char *url = sf_arena_printf(p->a, "/%s?v=%s", name, ver);
	if (!url)
		return SF_ERR_NOMEM;
	return add_text(p, url, strlen(url), line);
}

static int is_space(char c) { return c == ' ' || c == '\t'; }

/* Handle one tag whose trimmed content is s[0..n) (n > 0). */
static enum sf_err parse_tag(struct parser *p, const char *s, size_t n, unsigned line)
{
	enum sf_err err = SF_OK;
	char sigil = s[0];
	const char *rest = s + 1;
	size_t rn = n - 1;
	while (rn && is_space(*rest)) {
		rest++;
		rn--;
	}

	switch (sigil) {
	case '&':
		return set_error(p->errbuf, p->errlen, p->name, line, "unescaped output {{&...}} is not supported");
	case '=':
		return set_error(p->errbuf, p->errlen, p->name, line, "delimiter changes are not supported");
	case '#':
	case '^': {
		if (rn == 0)
			return set_error(p->errbuf, p->errlen, p->name, line, "section without a name");
		if (p->depth >= SF_TMPL_MAX_NEST)
			return set_error(p->errbuf, p->errlen, p->name, line, "sections nested too deeply (max %d)",
					 SF_TMPL_MAX_NEST);
		struct node *nd = node_new(p, sigil == '#' ? N_SECTION : N_INVERTED, line);
		if (!nd)
			return SF_ERR_NOMEM;
		err = parse_path(p, nd, rest, rn, line);
		if (err)
			return err;
		p->open[p->depth] = nd;
		p->depth++;
		p->tail[p->depth] = &nd->body;
		return SF_OK;
	}
	case '/': {
		if (rn == 0)
			return set_error(p->errbuf, p->errlen, p->name, line, "closing tag without a name");
		struct node probe;
		memset(&probe, 0, sizeof probe);
		err = parse_path(p, &probe, rest, rn, line);
		if (err)
			return err;
		if (p->depth == 0)
			return set_error(p->errbuf, p->errlen, p->name, line,
					 "closing tag {{/%s}} without an open section", probe.raw);
		struct node *top = p->open[p->depth - 1];
		if (strcmp(top->raw, probe.raw) != 0)
			return set_error(p->errbuf, p->errlen, p->name, line,
					 "mismatched section: {{/%s}} closes {{#%s}} opened on line %u", probe.raw,
					 top->raw, top->line);
		p->depth--;
		return SF_OK;
	}
	case '>': {
		if (!valid_file_name(rest, rn))
			return set_error(p->errbuf, p->errlen, p->name, line, "invalid partial name");
		struct node *nd = node_new(p, N_PARTIAL, line);
		if (!nd)
			return SF_ERR_NOMEM;
		char *pname = sf_arena_strndup(p->a, rest, rn);
		if (!pname)
			return SF_ERR_NOMEM;
		nd->pname = pname;
		nd->owner = p->name;
		nd->pnext = *p->partials;
		*p->partials = nd;
		return SF_OK;
	}
	default:
		break;
	}

	/* Keyword tags: "asset <name>", "url <path>". */
	if (n > 6 && memcmp(s, "asset", 5) == 0 && is_space(s[5])) {
		size_t k = 6;
		while (k < n && is_space(s[k]))
			k++;
		return parse_asset(p, s + k, n - k, line);
	}
	if (n > 4 && memcmp(s, "url", 3) == 0 && is_space(s[3])) {
		size_t k = 4;
		while (k < n && is_space(s[k]))
			k++;
		struct node *nd = node_new(p, N_URL, line);
		if (!nd)
			return SF_ERR_NOMEM;
		return parse_path(p, nd, s + k, n - k, line);
	}
	struct node *nd = node_new(p, N_VAR, line);
	if (!nd)
		return SF_ERR_NOMEM;
	return parse_path(p, nd, s, n, line);
}

static enum sf_err parse_template(struct parser *p, struct tmpl *t)
{
	enum sf_err err = SF_OK;
	p->pos = 0;
	p->line = 1;
	p->depth = 0;
	t->body = NULL;
	p->tail[0] = &t->body;

	while (p->pos < p->len) {
		const char *start = p->s + p->pos;
		size_t left = p->len - p->pos;
		const char *open = memmem(start, left, "{{", 2);
		size_t tlen = open ? (size_t)(open - start) : left;
		err = add_text(p, start, tlen, p->line);
		if (err)
			return err;
		p->line += (unsigned)count_lines(start, tlen);
		p->pos += tlen;
		if (!open)
			break;

		unsigned tag_line = p->line;
		size_t c = p->pos + 2; /* first byte inside the braces */
		if (c < p->len && p->s[c] == '{')
			return set_error(p->errbuf, p->errlen, p->name, tag_line,
					 "triple mustache {{{...}}} is not supported (no unescaped output)");
		if (c < p->len && p->s[c] == '!') {
			const char *end = memmem(p->s + c, p->len - c, "}}", 2);
			if (!end)
				return set_error(p->errbuf, p->errlen, p->name, tag_line, "unclosed comment");
			size_t clen = (size_t)(end - (p->s + c));
			p->line += (unsigned)count_lines(p->s + c, clen);
			p->pos = c + clen + 2;
			continue;
		}
		/* A tag ends on its own line: a missing "}}" is reported where the
		 * tag starts, not many lines later. */
		size_t e = c;
		while (e + 1 < p->len && p->s[e] != '\n' && !(p->s[e] == '}' && p->s[e + 1] == '}'))
			e++;
		if (e + 1 >= p->len || p->s[e] != '}')
			return set_error(p->errbuf, p->errlen, p->name, tag_line, "unclosed tag");
		size_t a = c, b = e;
		while (a < b && is_space(p->s[a]))
			a++;
		while (b > a && is_space(p->s[b - 1]))
			b--;
		if (a == b)
			return set_error(p->errbuf, p->errlen, p->name, tag_line, "empty tag");
		/* "{{a}}}" would silently print a stray brace: reject it as the
		 * triple-mustache mistake it usually is. */
		if (e + 2 < p->len && p->s[e + 2] == '}')
			return set_error(p->errbuf, p->errlen, p->name, tag_line,
					 "triple mustache {{{...}}} is not supported (no unescaped output)");
		err = parse_tag(p, p->s + a, b - a, tag_line);
		if (err)
			return err;
		p->pos = e + 2;
	}
	if (p->depth > 0) {
		struct node *top = p->open[p->depth - 1];
		return set_error(p->errbuf, p->errlen, p->name, p->line, "unclosed section {{#%s}} opened on line %u",
				 top->raw, top->line);
	}
	return SF_OK;
}

/* ==== Loading ==== */

static const struct tmpl *find_tmpl(const struct sf_tmpl_set *set, const char *name)
{
	for (size_t i = 0; i < set->n; i++)
		if (strcmp(set->t[i].name, name) == 0)
			return &set->t[i];
	return NULL;
}

void sf_tmpl_free(struct sf_tmpl_set *set)
{
	if (!set)
		return;
	sf_arena_release(&set->arena);
	free(set);
}

int sf_tmpl_has(const struct sf_tmpl_set *set, const char *name)
{
	return set && name && find_tmpl(set, name) != NULL;
}

enum sf_err sf_tmpl_load_from(const struct sf_tmpl_src *srcs, size_t n, struct sf_tmpl_set **out, char *errbuf,
			      size_t errlen)
{
	enum sf_err err = SF_OK;
	struct sf_tmpl_set *set = NULL;
	struct node *partials = NULL;

	*out = NULL;
	if (errbuf && errlen)
		errbuf[0] = '\0';
	if (n == 0) {
		if (errbuf && errlen)
			snprintf(errbuf, errlen, "no templates to load");
		return SF_ERR_INVALID;
	}
	if (n > SF_TMPL_MAX_TEMPLATES) {
		if (errbuf && errlen)
			snprintf(errbuf, errlen, "too many templates (%zu, max %d)", n, SF_TMPL_MAX_TEMPLATES);
		return SF_ERR_LIMIT;
	}
	set = calloc(1, sizeof *set);
	if (!set)
		return SF_ERR_NOMEM;
	sf_arena_init(&set->arena, SET_ARENA_CAP);
	set->t = sf_arena_zalloc(&set->arena, n * sizeof *set->t);
	if (!set->t) {
		err = SF_ERR_NOMEM;
		goto out;
	}

	for (size_t i = 0; i < n; i++) {
		const char *name = srcs[i].name ? srcs[i].name : "";
		if (!valid_file_name(name, strlen(name))) {
			if (errbuf && errlen)
				snprintf(errbuf, errlen, "template #%zu: invalid template name", i + 1);
			err = SF_ERR_INVALID;
			goto out;
		}
		if (find_tmpl(set, name)) {
			err = set_error(errbuf, errlen, name, 0, "duplicate template name");
			goto out;
		}
		if (srcs[i].len > SF_TMPL_MAX_SOURCE) {
			set_error(errbuf, errlen, name, 0, "source too large (max %d bytes)", SF_TMPL_MAX_SOURCE);
			err = SF_ERR_LIMIT;
			goto out;
		}
		struct tmpl *t = &set->t[set->n];
		t->name = sf_arena_strdup(&set->arena, name);
		if (!t->name) {
			err = SF_ERR_NOMEM;
			goto out;
		}
		set->n++;
		struct parser p = {
			.a = &set->arena,
			.name = t->name,
			.s = srcs[i].text ? srcs[i].text : "",
			.len = srcs[i].text ? srcs[i].len : 0,
			.errbuf = errbuf,
			.errlen = errlen,
			.partials = &partials,
		};
		err = parse_template(&p, t);
		if (err)
			goto out;
	}

	for (struct node *nd = partials; nd; nd = nd->pnext) {
		nd->target = find_tmpl(set, nd->pname);
		if (!nd->target) {
			err = set_error(errbuf, errlen, nd->owner, nd->line, "unknown partial '%s'", nd->pname);
			goto out;
		}
	}

out:
	if (err == SF_ERR_NOMEM && errbuf && errlen)
		snprintf(errbuf, errlen, "out of memory while loading templates");
	if (err) {
		sf_tmpl_free(set);
		return err;
	}
	*out = set;
	return SF_OK;
}

struct collect {
	struct sf_tmpl_src src[SF_TMPL_MAX_TEMPLATES];
	char names[SF_TMPL_MAX_TEMPLATES][MAX_NAME + 1];
	size_t n;
	int overflow;
};

static void collect_one(const struct sf_asset *as, void *ctx)
{
	struct collect *c = ctx;
	static const char prefix[] = "templates/";
	static const char suffix[] = ".html";
	size_t len = strlen(as->name);
	if (len <= (sizeof prefix - 1) + (sizeof suffix - 1) ||
	    strcmp(as->name + len - (sizeof suffix - 1), suffix) != 0)
		return;
	size_t nlen = len - (sizeof prefix - 1) - (sizeof suffix - 1);
	if (c->n >= SF_TMPL_MAX_TEMPLATES || nlen > MAX_NAME) {
		c->overflow = 1;
		return;
	}
	memcpy(c->names[c->n], as->name + sizeof prefix - 1, nlen);
	c->names[c->n][nlen] = '\0';
	c->src[c->n].name = c->names[c->n];
	c->src[c->n].text = (const char *)as->data;
	c->src[c->n].len = as->len;
	c->n++;
}

enum sf_err sf_tmpl_load(struct sf_tmpl_set **out, char *errbuf, size_t errlen)
{
	*out = NULL;
	struct collect *c = calloc(1, sizeof *c);
	if (!c)
		return SF_ERR_NOMEM;
	sf_asset_each("templates/", collect_one, c);
	enum sf_err err;
	if (c->overflow) {
		if (errbuf && errlen)
			snprintf(errbuf, errlen, "too many templates or a template name too long");
		err = SF_ERR_LIMIT;
	} else {
		err = sf_tmpl_load_from(c->src, c->n, out, errbuf, errlen);
	}
	free(c);
	return err;
}

/* ==== Rendering ==== */

struct render {
	struct sf_buf *out;
	json_t *stack[RENDER_STACK];
	size_t depth;
	unsigned partial_depth;
};

static json_t *lookup(const struct render *r, const struct node *nd)
{
	if (nd->nseg == 0)
		return r->depth ? r->stack[r->depth - 1] : NULL;
	json_t *v = NULL;
	for (size_t i = r->depth; i-- > 0;) {
		if (json_is_object(r->stack[i]) && (v = json_object_get(r->stack[i], nd->seg[0])) != NULL)
			break;
	}
	for (size_t k = 1; v && k < nd->nseg; k++)
		v = json_is_object(v) ? json_object_get(v, nd->seg[k]) : NULL;
	return v;
}

static int truthy(const json_t *v)
{
	if (!v)
		return 0;
	switch (json_typeof(v)) {
	case JSON_OBJECT: return 1;
	case JSON_ARRAY: return json_array_size(v) > 0;
	case JSON_STRING: return json_string_length(v) > 0;
	case JSON_INTEGER: return json_integer_value(v) != 0;
	case JSON_REAL: return json_real_value(v) != 0.0;
	case JSON_TRUE: return 1;
	case JSON_FALSE:
	case JSON_NULL: return 0;
	}
	return 0;
}

static enum sf_err put_scalar(struct sf_buf *out, const json_t *v)
{
	if (!v)
		return SF_OK;
	switch (json_typeof(v)) {
	case JSON_STRING: return sf_buf_put_html(out, json_string_value(v), json_string_length(v));
	case JSON_INTEGER: return sf_buf_printf(out, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
	case JSON_REAL: return sf_buf_printf(out, "%.15g", json_real_value(v));
	case JSON_TRUE: return sf_buf_puts(out, "true");
	case JSON_FALSE: return sf_buf_puts(out, "false");
	case JSON_NULL:
	case JSON_OBJECT:
	case JSON_ARRAY: return SF_OK;
	}
	return SF_OK;
}

static enum sf_err put_url(struct sf_buf *out, const json_t *v)
{
	static const char hex[] = "0123456789ABCDEF";
	if (!v)
		return SF_OK;
	if (json_is_number(v))
		return put_scalar(out, v); /* digits, '-', '.', 'e' only */
	if (!json_is_string(v))
		return SF_OK;
	const unsigned char *s = (const unsigned char *)json_string_value(v);
	size_t n = json_string_length(v);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = s[i];
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
		    c == '.' || c == '_' || c == '~') {
			sf_buf_putc(out, (char)c);
		} else {
			char enc[3] = {'%', hex[c >> 4], hex[c & 15]};
			sf_buf_append(out, enc, 3);
		}
	}
	return out->bf_err;
}

static enum sf_err render_nodes(struct render *r, const struct node *nd);

static enum sf_err push_render(struct render *r, json_t *ctx, const struct node *body)
{
	if (r->depth >= RENDER_STACK)
		return SF_ERR_LIMIT;
	r->stack[r->depth++] = ctx;
	enum sf_err err = render_nodes(r, body);
	r->depth--;
	return err;
}

static enum sf_err render_nodes(struct render *r, const struct node *nd)
{
	enum sf_err err = SF_OK;
	for (; nd && !err; nd = nd->next) {
		switch (nd->kind) {
		case N_TEXT:
			err = sf_buf_append(r->out, nd->text, nd->text_len);
			break;
		case N_VAR:
			err = put_scalar(r->out, lookup(r, nd));
			break;
		case N_URL:
			err = put_url(r->out, lookup(r, nd));
			break;
		case N_INVERTED:
			if (!truthy(lookup(r, nd)))
				err = render_nodes(r, nd->body);
			break;
		case N_SECTION: {
			json_t *v = lookup(r, nd);
			if (!truthy(v))
				break;
			if (json_is_array(v)) {
				size_t i;
				json_t *el;
				json_array_foreach(v, i, el)
				{
					err = push_render(r, el, nd->body);
					if (err)
						break;
				}
			} else if (json_is_true(v)) {
				err = render_nodes(r, nd->body);
			} else {
				err = push_render(r, v, nd->body);
			}
			break;
		}
		case N_PARTIAL:
			if (r->partial_depth >= SF_TMPL_MAX_PARTIAL_DEPTH)
				return SF_ERR_LIMIT;
			r->partial_depth++;
			err = render_nodes(r, nd->target->body);
			r->partial_depth--;
			break;
		}
		if (!err && r->out->bf_err)
			err = r->out->bf_err;
	}
	return err;
}

enum sf_err sf_tmpl_render(const struct sf_tmpl_set *set, const char *name, json_t *ctx, struct sf_buf *out)
{
	if (!set || !name || !out)
		return SF_ERR_INVALID;
	const struct tmpl *t = find_tmpl(set, name);
	if (!t)
		return SF_ERR_NOT_FOUND;
	if (out->bf_err)
		return out->bf_err;
	struct render *r = malloc(sizeof *r);
	if (!r)
		return SF_ERR_NOMEM;
	r->out = out;
	r->depth = 0;
	r->partial_depth = 0;
	if (ctx)
		r->stack[r->depth++] = ctx;
	enum sf_err err = render_nodes(r, t->body);
	free(r);
	return err;
}
