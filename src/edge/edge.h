/*
 * edge.h — edge protection in front of every dynamic request: the ban list
 * (checked at accept), the client address behind trusted proxies, rate
 * limits per route class, and the WAF (libmodsecurity 3 + OWASP CRS).
 *
 * It plugs into the http layer's hooks (sf_edge_hooks): on_accept refuses
 * banned addresses before anything is parsed; on_headers resolves the
 * client address, applies bans and rate limits and runs the WAF's
 * connection, URI and header phases; on_body runs the body phase; on_response
 * the response headers phase and Retry-After; on_done writes the WAF events
 * and frees the transaction.  Embedded static assets never reach it.
 *
 * Threads: one struct sf_edge is shared by every worker thread.  The WAF
 * rule set is built once before the threads start and replaced atomically
 * by sf_edge_reload (the old set is freed when its last transaction ends).
 */
#ifndef SF_EDGE_EDGE_H
#define SF_EDGE_EDGE_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

struct sf_app;
struct sf_config;
struct sf_http_hooks;
struct sf_edge;

/* What an address did that counts towards a ban. */
enum sf_edge_event {
	SF_EDGE_WAF_BLOCK,    /* a request blocked by the WAF */
	SF_EDGE_RATE_LIMITED, /* a request refused by a rate limit */
	SF_EDGE_LOGIN_FAILED, /* a failed login (reported by auth) */
	SF_EDGE__EVENTS
};

/* Build the edge from cfg ([waf], [ratelimit], [bans], [proxy]): parse the
 * trusted proxies and the allow list, load the WAF rules (CRS + rules_extra)
 * and the active bans from app->db, open the WAF log.  app must outlive the
 * edge (bans are written to app->db and audited with app->keys).  Call it
 * before the server's threads start.  Returns SF_OK with *out set, or
 * SF_ERR_CONFIG with a line naming the setting in errbuf (a bad address, a
 * bad rate, a rule that does not load), SF_ERR_IO (WAF log) or SF_ERR_NOMEM. */
enum sf_err sf_edge_new(struct sf_app *app, const struct sf_config *cfg, struct sf_edge **out, char *errbuf,
			size_t errlen) SF_WARN_UNUSED;

/* Free the edge (after the server stopped).  NULL accepted. */
void sf_edge_free(struct sf_edge *edge);

/* Fill the edge's hooks (on_accept, on_headers, on_body, on_response,
 * on_done) into hooks; the other members are left as they are.  The hooks
 * find the edge through req->app (struct sf_app's edge member). */
void sf_edge_hooks(struct sf_http_hooks *hooks);

/* Reload the WAF rules from the configuration the edge was built with (the
 * CRS files and rules_extra are read again) and reopen the WAF log.  The new
 * rule set replaces the old one atomically; requests in flight finish with
 * the set they started with, which is freed after the last of them.  On
 * error the old set stays and errbuf says why (SF_ERR_CONFIG). */
enum sf_err sf_edge_reload(struct sf_edge *edge, char *errbuf, size_t errlen) SF_WARN_UNUSED;

/* Record that ip did something that counts towards a ban (a failed login,
 * for the auth layer).  When the address passes the threshold for that kind
 * within the window, it is banned (persisted and audited) unless it is on the
 * allow list.  request_id may be NULL.  Returns 1 when this event banned the
 * address, 0 otherwise.  Safe from any thread; app may lack an edge (no-op). */
int sf_edge_report(struct sf_app *app, const char *ip, enum sf_edge_event event, const char *request_id);

/* Is ip banned right now?  1 yes, 0 no (also for a NULL edge). */
int sf_edge_banned(struct sf_edge *edge, const char *ip);

/* A per-account rate limit for the auth layer: consume one token of route
 * class rclass (enum sf_route_class) for account.  Returns SF_OK, or
 * SF_ERR_RATE_LIMITED with *retry_after (seconds, may be NULL) set. */
enum sf_err sf_edge_limit_account(struct sf_app *app, int rclass, const char *account, unsigned *retry_after);

/* Counters for metrics (monotonic since start). */
struct sf_edge_stats {
	uint64_t inspected;    /* requests inspected by the WAF */
	uint64_t waf_events;   /* matched rules */
	uint64_t waf_blocked;  /* requests blocked */
	uint64_t rate_limited; /* requests refused by rate limits */
	uint64_t bans;         /* bans imposed */
	uint64_t refused;      /* connections refused at accept (banned) */
};
void sf_edge_stats(const struct sf_edge *edge, struct sf_edge_stats *out);

#endif
