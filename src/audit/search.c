/*
 * search.c — filtered, paged reads of the audit trail (search.h).
 */
#include "audit/search.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "core/util.h"
#include "db/db.h"

void sf_audit_iso(int64_t t, char *out, size_t n)
{
	struct tm tm;
	time_t tt = (time_t)t;
	if (!gmtime_r(&tt, &tm) || !strftime(out, n, "%Y-%m-%dT%H:%M:%S.000Z", &tm)) {
		if (n)
			out[0] = '\0';
	}
}

/* A filter value: absent/empty -> NULL; too long, bad UTF-8 or control
 * characters -> -1. */
static int clean(const char *in, const char **out)
{
	*out = NULL;
	if (!in || !*in)
		return 0;
	size_t n = strlen(in);
	if (n > SF_AUDIT_FILTER_MAX || !sf_utf8_valid(in, n, 1))
		return -1;
	*out = in;
	return 0;
}

int sf_audit_parse_when(const char *s, int64_t *t, int64_t *span)
{
	size_t n = strlen(s);
	int Y, M, D, h = 0, m = 0;
	char tail;
	if (n == 10) {
		if (sscanf(s, "%4d-%2d-%2d%c", &Y, &M, &D, &tail) != 3)
			return -1;
		*span = 86400;
	} else if (n == 16 && (s[10] == 'T' || s[10] == ' ')) {
		if (sscanf(s, "%4d-%2d-%2d%*c%2d:%2d%c", &Y, &M, &D, &h, &m, &tail) != 5)
			return -1;
		*span = 60;
	} else {
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		int digit_pos = i != 4 && i != 7 && i != 10 && i != 13;
		if (digit_pos && (s[i] < '0' || s[i] > '9'))
			return -1;
	}
	if (Y < 1970 || Y > 9999 || M < 1 || M > 12 || D < 1 || D > 31 || h > 23 || m > 59)
		return -1;
	struct tm tm = {.tm_year = Y - 1900, .tm_mon = M - 1, .tm_mday = D, .tm_hour = h, .tm_min = m};
	time_t tt = timegm(&tm);
	struct tm back;
	if (tt == (time_t)-1 || !gmtime_r(&tt, &back) || back.tm_mday != D || back.tm_mon != M - 1)
		return -1; /* 2026-02-31 and the like */
	*t = (int64_t)tt;
	return 0;
}

/* The known actor type spelled s[0..n), as a static string, or NULL. */
static const char *actor_type_of(const char *s, size_t n)
{
	static const char *const types[] = {"system", "cli", "staff", "customer", "anonymous", "provider", "token"};
	for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
		if (strlen(types[i]) == n && !strncmp(types[i], s, n))
			return types[i];
	}
	return NULL;
}

enum sf_err sf_audit_filter_parse(struct sf_audit_filter *f, const char *actor, const char *action,
				  const char *object, const char *from, const char *to, const char *outcome,
				  const char *before, const char *limit, const char **bad)
{
	memset(f, 0, sizeof *f);
	f->limit = 50;
	const char *a, *o;
	*bad = "actor";
	if (clean(actor, &a))
		return SF_ERR_BAD_PARAM;
	if (a) {
		const char *colon = strchr(a, ':');
		if (colon) {
			f->actor_type = actor_type_of(a, (size_t)(colon - a));
			if (!f->actor_type || !colon[1])
				return SF_ERR_BAD_PARAM;
			f->actor_id = colon + 1;
		} else {
			f->actor_type = actor_type_of(a, strlen(a));
			if (!f->actor_type)
				f->actor_id = a;
		}
	}
	*bad = "action";
	if (clean(action, &f->action))
		return SF_ERR_BAD_PARAM;
	*bad = "object";
	if (clean(object, &o))
		return SF_ERR_BAD_PARAM;
	if (o) {
		const char *colon = strchr(o, ':');
		f->object_type = o;
		if (colon) {
			if (colon == o || !colon[1])
				return SF_ERR_BAD_PARAM;
			memcpy(f->otype_buf, o, (size_t)(colon - o));
			f->otype_buf[colon - o] = '\0';
			f->object_type = f->otype_buf;
			f->object_id = colon + 1;
		}
	}
	int64_t t, span, t_from = -1;
	*bad = "from";
	if (from && *from) {
		if (sf_audit_parse_when(from, &t, &span))
			return SF_ERR_BAD_PARAM;
		t_from = t;
		sf_audit_iso(t, f->since, sizeof f->since);
	}
	*bad = "to";
	if (to && *to) {
		if (sf_audit_parse_when(to, &t, &span) || (t_from >= 0 && t + span <= t_from))
			return SF_ERR_BAD_PARAM;
		sf_audit_iso(t + span, f->until, sizeof f->until);
	}
	*bad = "outcome";
	if (outcome && *outcome) {
		if (strcmp(outcome, "success") && strcmp(outcome, "failure") && strcmp(outcome, "denied"))
			return SF_ERR_BAD_PARAM;
		f->outcome = outcome;
	}
	*bad = "before";
	if (before && *before && sf_parse_i64(before, 1, INT64_MAX, &f->before_id))
		return SF_ERR_BAD_PARAM;
	*bad = "limit";
	if (limit && *limit && sf_parse_i64(limit, 1, SF_AUDIT_PAGE_MAX, &f->limit))
		return SF_ERR_BAD_PARAM;
	*bad = NULL;
	return SF_OK;
}

static json_t *text_or_null(struct sf_db_cursor *cur, int col)
{
	return sf_db_col_is_null(cur, col) ? json_null() : json_string(sf_db_col_text(cur, col, NULL));
}

/* One event row as JSON (NULL when out of memory). */
static json_t *event_json(struct sf_db_cursor *cur)
{
	static const char *const names[] = {"ts", "actor_type", "actor_id", "ip", "action", "object_type",
					    "object_id", "outcome", "request_id", "detail"};
	json_t *o = json_object();
	int bad = !o || json_object_set_new(o, "id", json_integer(sf_db_col_int(cur, 0)));
	for (int i = 0; !bad && i < 10; i++)
		bad = json_object_set_new(o, names[i], text_or_null(cur, i + 1));
	if (!bad)
		bad = json_object_set_new(o, "failed", json_boolean(strcmp(sf_db_col_text(cur, 8, NULL), "success")));
	if (bad) {
		json_decref(o);
		return NULL;
	}
	return o;
}

/* Read every row of a started cursor into items (at most keep of them);
 * *more is set when a row beyond keep existed. */
static enum sf_err read_rows(struct sf_db_cursor *cur, json_t *items, int64_t keep, int *more, int64_t *last_id)
{
	enum sf_db_status st;
	int64_t n = 0;
	*more = 0;
	while ((st = sf_db_next(cur)) == SF_DB_OK) {
		if (n == keep) {
			*more = 1;
			break;
		}
		json_t *ev = event_json(cur);
		if (!ev || json_array_append_new(items, ev))
			return SF_ERR_NOMEM;
		*last_id = sf_db_col_int(cur, 0);
		n++;
	}
	return st < 0 ? sf_db_err(st) : SF_OK;
}

enum sf_err sf_audit_search(struct sf_db *db, const struct sf_audit_filter *f, json_t **out)
{
	*out = NULL;
	if (f->limit < 1 || f->limit > SF_AUDIT_PAGE_MAX)
		return SF_ERR_INVALID;
	struct sf_db_conn *c = sf_db_conn_get(db);
	if (!c)
		return SF_ERR_UNAVAILABLE;
	const char *exact = f->action, *prefix = NULL;
	char pfx[SF_AUDIT_FILTER_MAX + 1];
	if (exact) {
		size_t n = strlen(exact);
		if (n && (exact[n - 1] == '.' || exact[n - 1] == '*') && n <= SF_AUDIT_FILTER_MAX) {
			memcpy(pfx, exact, n);
			pfx[exact[n - 1] == '*' ? n - 1 : n] = '\0';
			prefix = pfx;
			exact = NULL;
		}
	}
	struct sf_db_param p[] = {
		SF_DB_TEXT_OR_NULL(f->actor_type), SF_DB_TEXT_OR_NULL(f->actor_id), SF_DB_TEXT_OR_NULL(exact),
		SF_DB_TEXT_OR_NULL(prefix), SF_DB_TEXT_OR_NULL(f->object_type), SF_DB_TEXT_OR_NULL(f->object_id),
		f->since[0] ? SF_DB_TEXT(f->since) : SF_DB_NULL, f->until[0] ? SF_DB_TEXT(f->until) : SF_DB_NULL,
		SF_DB_TEXT_OR_NULL(f->outcome), SF_DB_INT(f->before_id), SF_DB_INT(f->limit + 1),
	};
	struct sf_db_cursor *cur;
	enum sf_db_status st = sf_db_query(c, SF_STMT_AUDIT_SEARCH, p, sizeof p / sizeof p[0], &cur);
	if (st != SF_DB_OK)
		return sf_db_err(st);
	json_t *items = json_array();
	int more = 0;
	int64_t last = 0;
	enum sf_err err = items ? read_rows(cur, items, f->limit, &more, &last) : SF_ERR_NOMEM;
	sf_db_cursor_close(cur);
	if (!err) {
		*out = json_pack("{s:o,s:b,s:o}", "items", items, "has_items", json_array_size(items) > 0,
				 "next_before", more ? json_integer(last) : json_null());
		items = NULL;
		if (!*out)
			err = SF_ERR_NOMEM;
	}
	json_decref(items);
	return err;
}

enum sf_err sf_audit_problems(struct sf_db *db, const char *since, int64_t limit, json_t **out)
{
	*out = NULL;
	if (limit < 1 || limit > SF_AUDIT_PAGE_MAX || !since)
		return SF_ERR_INVALID;
	struct sf_db_conn *c = sf_db_conn_get(db);
	if (!c)
		return SF_ERR_UNAVAILABLE;
	struct sf_db_param p[] = {SF_DB_TEXT(since), SF_DB_INT(limit)};
	struct sf_db_cursor *cur;
	enum sf_db_status st = sf_db_query(c, SF_STMT_AUDIT_PROBLEMS, p, 2, &cur);
	if (st != SF_DB_OK)
		return sf_db_err(st);
	json_t *items = json_array();
	int more;
	int64_t last = 0, count = 0;
	enum sf_err err = items ? read_rows(cur, items, limit, &more, &last) : SF_ERR_NOMEM;
	sf_db_cursor_close(cur);
	if (!err) {
		st = sf_db_query(c, SF_STMT_AUDIT_PROBLEM_COUNT, p, 1, &cur);
		if (st != SF_DB_OK) {
			err = sf_db_err(st);
		} else {
			st = sf_db_next(cur);
			count = st == SF_DB_OK ? sf_db_col_int(cur, 0) : 0;
			err = st < 0 ? sf_db_err(st) : SF_OK;
			sf_db_cursor_close(cur);
		}
	}
	if (!err) {
		*out = json_pack("{s:o,s:I}", "items", items, "count", (json_int_t)count);
		items = NULL;
		if (!*out)
			err = SF_ERR_NOMEM;
	}
	json_decref(items);
	return err;
}
