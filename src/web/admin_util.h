/*
 * admin_util.h — what every back-office page handler shares: the page
 * context (title, section, CSRF token, the signed-in staff member, the
 * navigation), rendering, the acting staff member for audit events, path
 * and form number parsing, the re-authentication detour for sensitive
 * operations, and CSV export with formula neutralisation.
 *
 * Back-office pages are never cached (Cache-Control: no-store): they carry
 * per-user data and CSRF tokens.
 */
#ifndef SF_WEB_ADMIN_UTIL_H
#define SF_WEB_ADMIN_UTIL_H

#include <jansson.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/err.h"
#include "http/http.h"
#include "shop/commerce.h"

struct sf_db;

#define SF_ADMIN_CSV_MAX (32u * 1024u * 1024u) /* bytes of one CSV export */

/* The acting staff member of req as a shop actor; idbuf (24 bytes) holds
 * the id text the actor points to. */
void sf_admin_actor(struct sf_req *req, struct sf_shop_actor *a, char idbuf[24]);

/* A new page context: {"shop","title","section","csrf_token","admin" (the
 * back-office path),"staff":{"id","email","name"},"nav":…,"can":{perm:bool}}
 * where "can" answers every permission name for templates ("can.orders_update"
 * with '.' spelled '_').  NULL when out of memory. */
json_t *sf_admin_ctx(struct sf_req *req, struct sf_resp *resp, const char *title, const char *section);

/* Render template name with ctx (stolen) as the answer (status), with
 * Cache-Control: no-store.  SF_OK or SF_ERR_NOMEM / SF_ERR_UNAVAILABLE /
 * SF_ERR_LIMIT. */
enum sf_err sf_admin_render(struct sf_req *req, struct sf_resp *resp, unsigned status, const char *name,
			    json_t *ctx) SF_WARN_UNUSED;

/* Put err (a user-fixable 4xx) on ctx as "error":{"code","message"} with
 * message why (NULL: the registry's text). */
void sf_admin_error(json_t *ctx, enum sf_err err, const char *why);

/* Is err one to show on the form again (4xx) rather than the error page? */
int sf_admin_user_error(enum sf_err err);

/* The path parameter name as an id (1..2^53).  SF_OK or SF_ERR_NOT_FOUND
 * (a malformed id answers like a missing object). */
enum sf_err sf_admin_path_id(struct sf_req *req, const char *name, int64_t *out) SF_WARN_UNUSED;

/* An optional integer field of the parsed form (or the query when
 * from_query) in [min, max]; absent or "" gives dflt.  SF_OK or
 * SF_ERR_BAD_PARAM. */
enum sf_err sf_admin_int(struct sf_req *req, const char *name, int from_query, int64_t min, int64_t max,
			 int64_t dflt, int64_t *out) SF_WARN_UNUSED;

/* The shop's currency, for amounts typed by staff that carry none
 * (shipping rates; a percentage coupon's minimum order): the last order's,
 * else the catalog's first variant's, else "EUR". */
void sf_admin_shop_currency(struct sf_db *db, char out[4]);

/* Sensitive operations: SF_OK when the session is fresh; otherwise, for a
 * stale session, resp becomes a 303 to <admin>/reauth?next=<back> and
 * *detour is set (the handler returns SF_OK); other errors are returned. */
enum sf_err sf_admin_fresh(struct sf_req *req, struct sf_resp *resp, const char *back, int *detour) SF_WARN_UNUSED;

/* Append one CSV cell (RFC 4180 quoting) to b, prefixed by ',' unless
 * first.  A cell that a spreadsheet would read as a formula (starting with
 * = + - @, tab or CR) gets a leading apostrophe.  SF_OK or SF_ERR_LIMIT /
 * SF_ERR_NOMEM. */
enum sf_err sf_admin_csv_cell(struct sf_buf *b, const char *s, int first) SF_WARN_UNUSED;
/* End a CSV row (CRLF). */
enum sf_err sf_admin_csv_eol(struct sf_buf *b) SF_WARN_UNUSED;
/* One whole row of n cells (NULL cells are empty).  Returns as above. */
enum sf_err sf_admin_csv_row(struct sf_buf *b, const char *const *cells, size_t n) SF_WARN_UNUSED;

/* Answer with b's contents as text/csv, attachment filename (a safe static
 * name), no-store.  b is emptied (its memory handed to resp). */
enum sf_err sf_admin_csv_send(struct sf_req *req, struct sf_resp *resp, struct sf_buf *b,
			      const char *filename) SF_WARN_UNUSED;

/* Append an audit event for an export (action, e.g. "audit.export", with
 * detail {"rows":n,"filter":…}) in its own transaction.  SF_OK or an error. */
enum sf_err sf_admin_audit_export(struct sf_req *req, const char *action, int64_t rows,
				  json_t *filter) SF_WARN_UNUSED;

/* "2026-01-31 08:05" (UTC) of unix time t into out (at least 20 bytes). */
void sf_admin_time(int64_t t, char *out, size_t n);
/* For each object of arr with integer member key, add key "_text" with
 * sf_admin_time of it.  0 or -1 (out of memory). */
int sf_admin_times(json_t *arr, const char *key);

#endif
