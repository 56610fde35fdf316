/*
 * edge.c — the edge object and its http hooks (see edge.h): configuration,
 * the order of the checks on each request, bans persisted and audited.
 *
 * Order on a request: accept (ban list on the socket address) -> headers
 * (client address behind trusted proxies; ban list again for that address;
 * the route class's rate limit; WAF phases 1) -> body (WAF phase 2) ->
 * response (Retry-After; WAF response headers) -> done (WAF logging phase,
 * events stored, a WAF block counted towards a ban).  Addresses on the ban
 * allow list ([bans] allow: loopback by default, for local monitoring and
 * benchmarks) are never banned and not rate limited; the WAF still inspects
 * them.
 */
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "audit/audit.h"
#include "core/app.h"
#include "core/config.h"
#include "core/log.h"
#include "core/util.h"
#include "db/db.h"
#include "edge/edge_int.h"
#include "http/http.h"

#define CRS_SETUP "/etc/modsecurity/crs/crs-setup.conf"
#define CRS_RULES "/usr/share/modsecurity-crs/rules"
#define SYNC_EVERY_S 2 /* bans lifted or imposed by another process show up this fast */

static struct sf_edge *edge_of(void *app)
{
	return app ? ((struct sf_app *)app)->edge : NULL;
}

static double mono_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ==== Construction ==== */

static enum sf_err rates_from(const struct sf_config *cfg, struct sf_rate rates[SF_EDGE_CLASSES], char *errbuf,
			      size_t errlen)
{
	struct {
		int rc;
		const char *key;
		const char *v;
	} map[] = {
		{SF_RC_AUTH, "auth", cfg->rl_auth},          {SF_RC_ORDER, "order", cfg->rl_order},
		{SF_RC_READ, "read", cfg->rl_read},          {SF_RC_WRITE, "write", cfg->rl_write},
		{SF_RC_ADMIN, "admin", cfg->rl_admin},       {SF_RC_WEBHOOK, "webhook", cfg->rl_webhook},
		{SF_RC_HEALTH, "health", cfg->rl_health},
	};
	memset(rates, 0, sizeof(struct sf_rate) * SF_EDGE_CLASSES);
	for (size_t i = 0; i < SF_ARRAY_LEN(map); i++) {
		if (!sf_rate_parse(map[i].v, &rates[map[i].rc])) {
			snprintf(errbuf, errlen,
				 "[ratelimit] %s: '%s' is not N/S (N requests per S seconds, S <= 86400) or off",
				 map[i].key, map[i].v);
			return SF_ERR_CONFIG;
		}
	}
	return SF_OK;
}

static enum sf_err list_from(const char *text, const char *setting, struct sf_cidr_list *out, char *errbuf,
			     size_t errlen)
{
	char bad[80];
	enum sf_err err = sf_cidr_list_parse(text, out, bad, sizeof bad);
	if (err == SF_ERR_INVALID)
		snprintf(errbuf, errlen, "%s: '%s' is not an IP address or CIDR block (like 10.0.0.0/8)", setting,
			 bad);
	return err == SF_ERR_INVALID ? SF_ERR_CONFIG : err;
}

struct ban_rows {
	char (*ips)[46];
	int64_t *until;
	size_t n, cap;
	int oom;
};

static void ban_rows_free(struct ban_rows *r)
{
	free(r->ips);
	free(r->until);
	memset(r, 0, sizeof *r);
}

/* Read the active bans; SF_OK or a database error. */
static enum sf_err load_active(struct sf_db *db, struct ban_rows *r)
{
	memset(r, 0, sizeof *r);
	struct sf_db_conn *c = sf_db_conn_get(db);
	if (!c)
		return SF_ERR_DB;
	struct sf_db_param p = SF_DB_INT((int64_t)time(NULL));
	struct sf_db_cursor *cur = NULL;
	enum sf_db_status st = sf_db_query(c, SF_STMT_EDGE_BAN_ACTIVE, &p, 1, &cur);
	if (st != SF_DB_OK)
		return sf_db_err(st);
	while ((st = sf_db_next(cur)) == SF_DB_OK) {
		if (r->n == r->cap) {
			size_t nc = r->cap ? r->cap * 2 : 16;
			char(*ips)[46] = realloc(r->ips, nc * sizeof *ips);
			if (ips)
				r->ips = ips;
			int64_t *u = realloc(r->until, nc * sizeof *u);
			if (u)
				r->until = u;
			if (!ips || !u) {
				r->oom = 1;
				break;
			}
			r->cap = nc;
		}
		sf_strlcpy(r->ips[r->n], sf_db_col_text(cur, 0, NULL), sizeof r->ips[r->n]);
		r->until[r->n] = sf_db_col_int(cur, 3);
		r->n++;
	}
	sf_db_cursor_close(cur);
	if (r->oom) {
		ban_rows_free(r);
		return SF_ERR_NOMEM;
	}
	return st == SF_DB_NO_ROWS ? SF_OK : sf_db_err(st);
}

static void sync_bans(struct sf_edge *e)
{
	if (!e->app || !e->app->db)
		return;
	struct ban_rows r;
	if (load_active(e->app->db, &r) != SF_OK)
		return; /* keep the table we have */
	sf_bans_replace(e->bans, r.ips, r.until, r.n);
	ban_rows_free(&r);
}

/* At most every SYNC_EVERY_S, one thread refreshes the table from the
 * database (bans lifted with `storefort bans lift` or imposed by another
 * instance). */
static void sync_maybe(struct sf_edge *e)
{
	long long now = (long long)time(NULL);
	long long last = atomic_load(&e->last_sync);
	if (now - last < SYNC_EVERY_S)
		return;
	if (pthread_mutex_trylock(&e->sync_mu) != 0)
		return;
	if (atomic_compare_exchange_strong(&e->last_sync, &last, now))
		sync_bans(e);
	pthread_mutex_unlock(&e->sync_mu);
}

enum sf_err sf_edge_new(struct sf_app *app, const struct sf_config *cfg, struct sf_edge **out, char *errbuf,
			size_t errlen)
{
	*out = NULL;
	if (errlen)
		errbuf[0] = '\0';
	struct sf_edge *e = calloc(1, sizeof *e);
	if (!e)
		return SF_ERR_NOMEM;
	e->app = app;
	pthread_mutex_init(&e->sync_mu, NULL);
	enum sf_err err = list_from(cfg->proxy_trusted, "[proxy] trusted", &e->trusted, errbuf, errlen);
	if (!err)
		err = list_from(cfg->ban_allow, "[bans] allow", &e->allow, errbuf, errlen);
	if (err)
		goto fail;
	if (cfg->proxy_protocol && !e->trusted.n) {
		snprintf(errbuf, errlen, "[proxy] protocol: needs [proxy] trusted (the proxies that send the header)");
		err = SF_ERR_CONFIG;
		goto fail;
	}
	e->proxy_protocol = cfg->proxy_protocol;
	struct sf_rate rates[SF_EDGE_CLASSES];
	err = rates_from(cfg, rates, errbuf, errlen);
	if (err)
		goto fail;
	if (cfg->rl_enabled && !(e->rl = sf_ratelimit_new(rates))) {
		err = SF_ERR_NOMEM;
		goto fail;
	}
	if (cfg->ban_max_duration < cfg->ban_duration) {
		snprintf(errbuf, errlen, "[bans] max_duration: must be at least duration (%" PRId64 ")",
			 cfg->ban_duration);
		err = SF_ERR_CONFIG;
		goto fail;
	}
	struct sf_ban_policy pol = {
		.threshold = {[SF_EDGE_WAF_BLOCK] = (unsigned)cfg->ban_waf_blocks,
			      [SF_EDGE_RATE_LIMITED] = (unsigned)cfg->ban_rate_limit_hits,
			      [SF_EDGE_LOGIN_FAILED] = (unsigned)cfg->ban_failed_logins},
		.window_s = (unsigned)cfg->ban_window,
		.duration_s = (unsigned)cfg->ban_duration,
		.max_duration_s = (unsigned)cfg->ban_max_duration,
	};
	if (!(e->bans = sf_bans_new(&pol, &e->allow))) {
		err = SF_ERR_NOMEM;
		goto fail;
	}

	sf_strlcpy(e->crs_setup, CRS_SETUP, sizeof e->crs_setup);
	sf_strlcpy(e->crs_rules, CRS_RULES, sizeof e->crs_rules);
	sf_strlcpy(e->waf_log, cfg->waf_log, sizeof e->waf_log);
	sf_strlcpy(e->rules_extra, cfg->waf_rules_extra, sizeof e->rules_extra);
	e->wopt = (struct sf_waf_options){
		.mode = !strcmp(cfg->waf_mode, "off")      ? SF_WAF_OFF
			: !strcmp(cfg->waf_mode, "detect") ? SF_WAF_DETECT
							   : SF_WAF_BLOCK,
		.paranoia = (int)cfg->waf_paranoia,
		.rules_extra = e->rules_extra,
		.crs_setup = e->crs_setup,
		.crs_rules = e->crs_rules,
		.log_path = e->waf_log,
		.body_limit = (size_t)cfg->waf_body_limit,
		.admin_prefix = cfg->admin_path,
	};
	err = sf_waf_new(&e->wopt, &e->waf, errbuf, errlen);
	if (err)
		goto fail;
	if (app && app->db) {
		struct ban_rows r;
		err = load_active(app->db, &r);
		if (err) {
			snprintf(errbuf, errlen, "[bans] cannot read the active bans: %s", sf_err_desc(err));
			goto fail;
		}
		sf_bans_replace(e->bans, r.ips, r.until, r.n);
		ban_rows_free(&r);
		atomic_store(&e->last_sync, (long long)time(NULL));
	}
	*out = e;
	return SF_OK;
fail:
	sf_edge_free(e);
	return err;
}

void sf_edge_free(struct sf_edge *e)
{
	if (!e)
		return;
	sf_waf_free(e->waf);
	sf_bans_free(e->bans);
	sf_ratelimit_free(e->rl);
	sf_cidr_list_free(&e->trusted);
	sf_cidr_list_free(&e->allow);
	pthread_mutex_destroy(&e->sync_mu);
	free(e);
}

enum sf_err sf_edge_reload(struct sf_edge *e, char *errbuf, size_t errlen)
{
	if (errlen)
		errbuf[0] = '\0';
	if (!e)
		return SF_OK;
	enum sf_err err = sf_waf_reload(e->waf, errbuf, errlen);
	if (!err)
		sync_bans(e);
	return err;
}

/* ==== Bans ==== */

struct ban_txn {
	struct sf_edge *e;
	const char *ip;
	const char *reason;
	const char *request_id;
	int64_t now, until, strikes;
};

static void read_strikes(struct sf_db_cursor *cur, void *ctx)
{
	*(int64_t *)ctx = sf_db_col_int(cur, 0);
}

static enum sf_db_status ban_fn(struct sf_db_conn *c, void *ctx)
{
	struct ban_txn *b = ctx;
	struct sf_db_param ip = SF_DB_TEXT(b->ip);
	int64_t prior = 0;
	enum sf_db_status st = sf_db_query_one(c, SF_STMT_EDGE_BAN_GET, &ip, 1, read_strikes, &prior);
	if (st != SF_DB_OK && st != SF_DB_NO_ROWS)
		return st;
	b->strikes = prior + 1;
	b->until = b->now + sf_bans_duration(b->e->bans, b->strikes);
	struct sf_db_param p[] = {SF_DB_TEXT(b->ip), SF_DB_TEXT(b->reason), SF_DB_INT(b->now), SF_DB_INT(b->until),
				  SF_DB_INT(b->strikes)};
	st = sf_db_exec(c, SF_STMT_EDGE_BAN_PUT, p, SF_ARRAY_LEN(p), NULL);
	if (st != SF_DB_OK)
		return st;
	char detail[160];
	snprintf(detail, sizeof detail, "{\"reason\":\"%s\",\"until\":%" PRId64 ",\"strikes\":%" PRId64 "}", b->reason,
		 b->until, b->strikes);
	struct sf_audit_event ev = {
		.actor_type = "system",
		.actor_id = "edge",
		.ip = b->ip,
		.action = "edge.ban",
		.object_type = "ip",
		.object_id = b->ip,
		.outcome = "success",
		.request_id = b->request_id,
		.detail = detail,
	};
	return sf_db_status_from_err(sf_audit_append(c, b->e->app->keys, &ev));
}

enum sf_err sf_edge_ban(struct sf_edge *e, const char *ip, const char *reason, const char *request_id)
{
	struct ban_txn b = {.e = e, .ip = ip, .reason = reason, .request_id = request_id, .now = (int64_t)time(NULL)};
	if (e->app && e->app->db) {
		enum sf_db_status st = sf_db_txn(e->app->db, ban_fn, &b, 5);
		if (st != SF_DB_OK && st != SF_DB_NO_ROWS) {
			sf_log(SF_LOG_ERROR, "edge.ban_failed", "ban of %s not stored; applied in memory", ip);
			b.until = b.now + sf_bans_duration(e->bans, 1);
		}
	} else {
		b.strikes = 1;
		b.until = b.now + sf_bans_duration(e->bans, 1);
	}
	sf_bans_set(e->bans, ip, b.until);
	atomic_fetch_add(&e->st_bans, 1);
	sf_log(SF_LOG_WARN, "edge.ban", "banned %s for %" PRId64 " s (%s, ban #%" PRId64 ")", ip, b.until - b.now,
	       reason, b.strikes);
	return SF_OK;
}

int sf_edge_banned(struct sf_edge *e, const char *ip)
{
	return e && sf_bans_check(e->bans, ip, (int64_t)time(NULL));
}

int sf_edge_report(struct sf_app *app, const char *ip, enum sf_edge_event event, const char *request_id)
{
	static const char *const reasons[SF_EDGE__EVENTS] = {"waf_blocks", "rate_limit_hits", "failed_logins"};
	struct sf_edge *e = app ? app->edge : NULL;
	if (!e || !ip || (unsigned)event >= SF_EDGE__EVENTS)
		return 0;
	if (!sf_bans_note(e->bans, ip, event, (int64_t)time(NULL)))
		return 0;
	(void)sf_edge_ban(e, ip, reasons[event], request_id);
	return 1;
}

enum sf_err sf_edge_limit_account(struct sf_app *app, int rclass, const char *account, unsigned *retry_after)
{
	struct sf_edge *e = app ? app->edge : NULL;
	if (retry_after)
		*retry_after = 0;
	if (!e || !e->rl || !account)
		return SF_OK;
	char key[160];
	snprintf(key, sizeof key, "account:%s", account);
	if (sf_ratelimit_take(e->rl, rclass, key, mono_now(), retry_after))
		return SF_OK;
	atomic_fetch_add(&e->st_rate_limited, 1);
	return SF_ERR_RATE_LIMITED;
}

void sf_edge_stats(const struct sf_edge *e, struct sf_edge_stats *out)
{
	memset(out, 0, sizeof *out);
	if (!e)
		return;
	out->inspected = atomic_load(&e->st_inspected);
	out->waf_events = atomic_load(&e->st_events);
	out->waf_blocked = atomic_load(&e->st_blocked);
	out->rate_limited = atomic_load(&e->st_rate_limited);
	out->bans = atomic_load(&e->st_bans);
	out->refused = atomic_load(&e->st_refused);
}

/* ==== Hooks ==== */

static int hook_accept(void *app, const char *ip)
{
	struct sf_edge *e = edge_of(app);
	if (!e)
		return 0;
	sync_maybe(e);
	if (!sf_bans_check(e->bans, ip, (int64_t)time(NULL)))
		return 0;
	atomic_fetch_add(&e->st_refused, 1);
	return 1;
}

static int hook_expect_proxy(void *app, const char *peer)
{
	struct sf_edge *e = edge_of(app);
	return e && e->proxy_protocol && sf_cidr_list_match(&e->trusted, peer);
}

static enum sf_err hook_headers(struct sf_req *req)
{
	struct sf_edge *e = edge_of(req->app);
	if (!e)
		return SF_OK;
	struct sf_edge_req *er = sf_arena_alloc(req->arena, sizeof *er);
	if (!er)
		return SF_ERR_NOMEM;
	memset(er, 0, sizeof *er);
	req->edge = er;
	if (e->trusted.n) {
		char peer[sizeof req->client_ip];
		sf_strlcpy(peer, req->client_ip, sizeof peer);
		if (sf_edge_client_addr(&e->trusted, peer, sf_req_header(req, "X-Forwarded-For"), req->client_ip,
					sizeof req->client_ip) &&
		    sf_bans_check(e->bans, req->client_ip, (int64_t)time(NULL))) {
			atomic_fetch_add(&e->st_refused, 1);
			return SF_ERR_BANNED;
		}
	}
	if (req->route && e->rl && !sf_bans_allowed(e->bans, req->client_ip) &&
	    !sf_ratelimit_take(e->rl, (int)req->route->rclass, req->client_ip, mono_now(), &er->retry_after)) {
		atomic_fetch_add(&e->st_rate_limited, 1);
		sf_edge_report(req->app, req->client_ip, SF_EDGE_RATE_LIMITED, req->request_id);
		return SF_ERR_RATE_LIMITED;
	}
	if (e->waf)
		atomic_fetch_add(&e->st_inspected, 1);
	return sf_waf_headers(e->waf, req, &er->waf);
}

static enum sf_err hook_body(struct sf_req *req)
{
	struct sf_edge_req *er = req->edge;
	return er ? sf_waf_body(er->waf, req) : SF_OK;
}

static void hook_response(struct sf_req *req, struct sf_resp *resp)
{
	struct sf_edge_req *er = req->edge;
	if (!er)
		return;
	if (er->retry_after && resp->status == 429) {
		char v[16];
		snprintf(v, sizeof v, "%u", er->retry_after);
		(void)sf_resp_header(req, resp, "Retry-After", v);
	}
	sf_waf_response(er->waf, req, resp);
}

static void hook_done(struct sf_req *req)
{
	struct sf_edge_req *er = req->edge;
	struct sf_edge *e = edge_of(req->app);
	if (!er || !e || !er->waf)
		return;
	int blocked = sf_waf_txn_blocked(er->waf);
	atomic_fetch_add(&e->st_events, sf_waf_txn_events(er->waf));
	sf_waf_done(er->waf, req, e->app ? e->app->db : NULL);
	er->waf = NULL;
	if (blocked) {
		atomic_fetch_add(&e->st_blocked, 1);
		sf_edge_report(req->app, req->client_ip, SF_EDGE_WAF_BLOCK, req->request_id);
	}
}

void sf_edge_hooks(struct sf_http_hooks *hooks)
{
	hooks->on_accept = hook_accept;
	hooks->expect_proxy = hook_expect_proxy;
	hooks->on_headers = hook_headers;
	hooks->on_body = hook_body;
	hooks->on_response = hook_response;
	hooks->on_done = hook_done;
}
