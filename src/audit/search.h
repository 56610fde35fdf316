/*
 * search.h — filtered, paged reads of the audit trail (the back office's
 * audit viewer and its CSV export).
 *
 * Filters are validated here, never passed through as SQL: each one is a
 * bound parameter of one prepared statement.  Paging is by id (keyset):
 * a page asks for events older than before_id, so paging stays as cheap at
 * event 10,000,000 as at event 10 and a page never shifts when new events
 * arrive.  Results show the PCI DSS 10.2.2 fields: user (actor), event type
 * (action), time, success or failure (outcome), origin (ip, request id) and
 * the affected object.
 */
#ifndef SF_AUDIT_SEARCH_H
#define SF_AUDIT_SEARCH_H

#include <jansson.h>
#include <stdint.h>

#include "core/err.h"

struct sf_db;

#define SF_AUDIT_PAGE_MAX 500    /* events per page at most */
#define SF_AUDIT_FILTER_MAX 128  /* bytes of one filter value */

struct sf_audit_filter {
	const char *actor_type;  /* "staff", "customer", ... or NULL */
	const char *actor_id;    /* exact, or NULL */
	const char *action;      /* exact ("order.refund"), or a prefix ending in '.' or '*' ("order."), or NULL */
	const char *object_type; /* exact, or NULL */
	const char *object_id;   /* exact, or NULL */
	char since[32];          /* ISO-8601 UTC lower bound (inclusive) or "" */
	char until[32];          /* ISO-8601 UTC upper bound (exclusive) or "" */
	const char *outcome;     /* "success" | "failure" | "denied" or NULL */
	int64_t before_id;       /* 0: the newest events */
	int64_t limit;           /* 1..SF_AUDIT_PAGE_MAX */
	char otype_buf[SF_AUDIT_FILTER_MAX + 1]; /* storage for object_type when split from "type:id" */
};

/* Fill f from raw request values (any may be NULL or "" = no filter):
 * actor "type:id", "type" or "id"; action; object "type:id" or "type";
 * from / to dates "YYYY-MM-DD" or "YYYY-MM-DDTHH:MM" (UTC; "to" is inclusive
 * of its whole day or minute); outcome; before (an event id); limit.
 * Strings are borrowed.  Returns SF_OK or SF_ERR_BAD_PARAM with the name of
 * the offending parameter in *bad (a static string). */
enum sf_err sf_audit_filter_parse(struct sf_audit_filter *f, const char *actor, const char *action,
				  const char *object, const char *from, const char *to, const char *outcome,
				  const char *before, const char *limit, const char **bad) SF_WARN_UNUSED;

/* One page of events matching f, newest first:
 *   {"items":[{"id","ts","actor_type","actor_id","ip","action","object_type",
 *    "object_id","outcome","request_id","detail"}],"has_items",
 *    "next_before": id | null (set when older matching events exist)}
 * (absent values are JSON null).  *out is a new reference.  Returns SF_OK,
 * SF_ERR_INVALID (f->limit out of range), SF_ERR_UNAVAILABLE (no
 * connection), SF_ERR_NOMEM or a database error. */
enum sf_err sf_audit_search(struct sf_db *db, const struct sf_audit_filter *f, json_t **out) SF_WARN_UNUSED;

/* Events whose outcome is not "success" since the ISO time since, newest
 * first, at most limit (1..SF_AUDIT_PAGE_MAX), and their total count:
 * {"items":[…as above…],"count":n}.  Returns as sf_audit_search. */
enum sf_err sf_audit_problems(struct sf_db *db, const char *since, int64_t limit, json_t **out) SF_WARN_UNUSED;

/* Parse "YYYY-MM-DD" or "YYYY-MM-DDTHH:MM" (UTC, year 1970..9999, a real
 * calendar date) into unix seconds *t and the span the text names (86400
 * for a day, 60 for a minute).  0 or -1. */
int sf_audit_parse_when(const char *s, int64_t *t, int64_t *span);

/* The ISO-8601 UTC text ("2026-01-31T08:00:00.000Z") of unix time t into
 * out (at least 25 bytes): the form audit timestamps are stored in, so it
 * compares as text. */
void sf_audit_iso(int64_t t, char *out, size_t n);

#endif
