/*
 * admin_audit.c — the audit viewer: filters, keyset paging, the chain's
 * verification status (cached briefly: verifying walks the whole chain),
 * CSV export (itself audited) and the staff login history (admin_pages.h).
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "audit/audit.h"
#include "audit/search.h"
#include "auth/form.h"
#include "core/app.h"
#include "core/log.h"
#include "core/util.h"
#include "web/admin_pages.h"
#include "web/admin_util.h"

#define VERIFY_TTL_MS 60000 /* how long a verification result is shown before walking again */
#define EXPORT_MAX_ROWS 100000

/* ==== Chain status cache ==== */

static pthread_mutex_t verify_mu = PTHREAD_MUTEX_INITIALIZER;
static struct {
	const void *db;     /* the database it was computed for */
	int64_t at_ms;      /* when (monotonic) */
	enum sf_err err;
	struct sf_audit_report rep;
} verify_cache;

/* The chain status as {"ok","verified","first_broken","reason","checked_at"}.
 * One verification at a time; others wait and share its result. */
static json_t *chain_status(struct sf_app *app)
{
	int64_t now = sf_time_mono_ms();
	pthread_mutex_lock(&verify_mu);
	if (verify_cache.db != app->db || now - verify_cache.at_ms > VERIFY_TTL_MS || verify_cache.at_ms == 0) {
		struct sf_audit_report rep = {0};
		enum sf_err err = sf_audit_verify(app->db, app->keys, &rep, NULL, NULL);
		verify_cache.db = app->db;
		verify_cache.at_ms = sf_time_mono_ms();
		verify_cache.err = err;
		verify_cache.rep = rep;
		if (err)
			sf_log(SF_LOG_ERROR, "audit.verify", "audit chain check failed: %s", sf_err_code(err));
	}
	enum sf_err err = verify_cache.err;
	struct sf_audit_report rep = verify_cache.rep;
	int64_t age_s = (now - verify_cache.at_ms) / 1000;
	pthread_mutex_unlock(&verify_mu);
	return json_pack("{s:b,s:b,s:I,s:I,s:s,s:I}", "ok", err == SF_OK, "broken", err == SF_ERR_AUDIT_BROKEN,
			 "verified", (json_int_t)rep.verified, "first_broken", (json_int_t)rep.first_broken, "reason",
			 err == SF_ERR_AUDIT_BROKEN ? rep.reason : err ? sf_err_desc(err) : "", "age_s",
			 (json_int_t)(age_s < 0 ? 0 : age_s));
}

/* ==== Filters ==== */

static const char *const filter_names[] = {"actor", "action", "object", "from", "to", "outcome"};
#define N_FILTERS 6

/* Parse the filters from the query (or form) into f, echoing them in
 * *echo (a new object, for the form and the paging links). */
static enum sf_err read_filter(struct sf_req *req, int from_form, const char *fixed_action,
			       struct sf_audit_filter *f, json_t **echo, const char **bad)
{
	const char *v[N_FILTERS + 1];
	for (int i = 0; i < N_FILTERS; i++)
		v[i] = from_form ? sf_form_get(req, filter_names[i]) : sf_req_query(req, filter_names[i]);
	v[N_FILTERS] = from_form ? NULL : sf_req_query(req, "before");
	if (fixed_action)
		v[1] = fixed_action;
	/* the filters are echoed into pages and, for an export, into its own
	 * audit event: a card number typed as one is refused, not kept */
	for (int i = 0; i < N_FILTERS; i++) {
		if (v[i] && sf_log_has_card(v[i], strlen(v[i]))) {
			*bad = filter_names[i];
			return SF_ERR_CARD_DATA;
		}
	}
	enum sf_err err = sf_audit_filter_parse(f, v[0], v[1], v[2], v[3], v[4], v[5], v[N_FILTERS], NULL, bad);
	if (err)
		return err;
	*echo = json_object();
	for (int i = 0; *echo && i < N_FILTERS; i++) {
		if (json_object_set_new(*echo, filter_names[i], json_string(v[i] ? v[i] : ""))) {
			json_decref(*echo);
			*echo = NULL;
		}
	}
	if (*echo && v[5] && *v[5]) {
		char k[24];
		snprintf(k, sizeof k, "is_%s", v[5]);
		json_object_set_new(*echo, k, json_true());
	}
	return *echo ? SF_OK : SF_ERR_NOMEM;
}

static enum sf_err audit_page(struct sf_req *req, struct sf_resp *resp, const char *tmpl, const char *title,
			      const char *section, const char *fixed_action)
{
	struct sf_app *app = req->app;
	struct sf_audit_filter f;
	const char *bad = NULL;
	json_t *echo = NULL, *page = NULL;
	json_t *ctx = sf_admin_ctx(req, resp, title, section);
	if (ctx && (json_object_set_new(ctx, "form_action", json_string(fixed_action ? "/logins" : "/audit")) ||
		    json_object_set_new(ctx, "fixed_action", json_boolean(fixed_action != NULL)))) {
		json_decref(ctx);
		ctx = NULL;
	}
	enum sf_err err = ctx ? read_filter(req, 0, fixed_action, &f, &echo, &bad) : SF_ERR_NOMEM;
	if (err == SF_ERR_BAD_PARAM || err == SF_ERR_CARD_DATA) {
		/* show the form again with the error, and no results */
		sf_admin_error(ctx, err, err == SF_ERR_CARD_DATA ? NULL
								: "A filter is not valid: check the dates (YYYY-MM-DD) and "
								  "the other fields.");
		if (ctx && bad)
			json_object_set_new(ctx, "bad_field", json_string(bad));
		return sf_admin_render(req, resp, 400, tmpl, ctx);
	}
	if (!err)
		err = sf_audit_search(app->db, &f, &page);
	if (!err && (json_object_set_new(ctx, "f", echo) || json_object_set_new(ctx, "page", page)))
		err = SF_ERR_NOMEM;
	echo = page = NULL;
	if (!err && !fixed_action && json_object_set_new(ctx, "chain", chain_status(app)))
		err = SF_ERR_NOMEM;
	json_decref(echo);
	json_decref(page);
	if (err) {
		json_decref(ctx);
		return err;
	}
	return sf_admin_render(req, resp, 200, tmpl, ctx);
}

enum sf_err sf_web_admin_audit(struct sf_req *req, struct sf_resp *resp)
{
	return audit_page(req, resp, "admin_audit", "Audit trail", "audit", NULL);
}

enum sf_err sf_web_admin_logins(struct sf_req *req, struct sf_resp *resp)
{
	return audit_page(req, resp, "admin_logins", "Login history", "logins", "staff.");
}

/* ==== Export ==== */

static const char *const csv_cols[] = {"id", "ts", "actor_type", "actor_id", "ip", "action", "object_type",
				       "object_id", "outcome", "request_id", "detail"};
#define N_COLS 11

static enum sf_err write_events(struct sf_buf *b, json_t *items, int64_t *rows)
{
	size_t i;
	json_t *o;
	enum sf_err err = SF_OK;
	json_array_foreach(items, i, o) {
		char id[24];
		const char *row[N_COLS];
		snprintf(id, sizeof id, "%" JSON_INTEGER_FORMAT, json_integer_value(json_object_get(o, "id")));
		row[0] = id;
		for (int c = 1; c < N_COLS; c++)
			row[c] = json_string_value(json_object_get(o, csv_cols[c]));
		err = sf_admin_csv_row(b, row, N_COLS);
		if (err)
			break;
		(*rows)++;
	}
	return err;
}

enum sf_err sf_web_admin_audit_export(struct sf_req *req, struct sf_resp *resp)
{
	struct sf_app *app = req->app;
	int detour;
	enum sf_err err = sf_admin_fresh(req, resp, "/admin/audit", &detour);
	if (err || detour)
		return err;
	struct sf_audit_filter f;
	const char *bad;
	json_t *echo = NULL;
	err = sf_form_parse(req);
	if (!err)
		err = read_filter(req, 1, NULL, &f, &echo, &bad);
	if (err)
		return err;
	struct sf_buf b;
	sf_buf_init(&b, SF_ADMIN_CSV_MAX);
	int64_t rows = 0;
	f.limit = SF_AUDIT_PAGE_MAX;
	for (int c = 0; !err && c < N_COLS; c++)
		err = sf_admin_csv_cell(&b, csv_cols[c], c == 0);
	if (!err)
		err = sf_admin_csv_eol(&b);
	while (!err && rows < EXPORT_MAX_ROWS) {
		json_t *page = NULL;
		err = sf_audit_search(app->db, &f, &page);
		if (!err)
			err = write_events(&b, json_object_get(page, "items"), &rows);
		json_t *next = json_object_get(page, "next_before");
		f.before_id = json_is_integer(next) ? json_integer_value(next) : 0;
		json_decref(page);
		if (!f.before_id)
			break;
	}
	if (!err)
		err = sf_admin_audit_export(req, "audit.export", rows, echo);
	if (!err)
		err = sf_admin_csv_send(req, resp, &b, "audit-trail.csv");
	sf_buf_free(&b);
	json_decref(echo);
	return err;
}
