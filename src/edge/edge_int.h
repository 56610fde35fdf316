/*
 * edge_int.h — what the files of src/edge/ share with each other and with
 * their unit tests: address lists (proxy.c), token buckets (ratelimit.c),
 * the ban table (bans.c), the WAF engine (waf.c, waf_msg.cc) and the edge
 * object that ties them together (edge.c).
 */
#ifndef SF_EDGE_EDGE_INT_H
#define SF_EDGE_EDGE_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "edge/edge.h"

struct sf_req;
struct sf_resp;

/* ==== proxy.c: addresses, CIDR lists, X-Forwarded-For ==== */

struct sf_cidr {
	int family;         /* AF_INET or AF_INET6 */
	uint8_t addr[16];   /* network address (IPv4 in the first 4 bytes) */
	unsigned bits;      /* prefix length */
};

struct sf_cidr_list {
	struct sf_cidr *v;  /* malloc'd */
	size_t n;
};

/* Parse a textual address ("192.0.2.1", "2001:db8::1", an IPv4-mapped IPv6
 * address counts as IPv4) into family and 16 bytes.  Returns 1 on success. */
int sf_edge_addr_parse(const char *ip, int *family, uint8_t addr[16]);

/* Parse a list of addresses and CIDR blocks separated by commas and/or
 * spaces ("10.0.0.0/8, 192.0.2.7 ::1").  Host bits beyond the prefix must
 * be zero.  An empty text gives an empty list.  Returns SF_OK (out owns its
 * array: sf_cidr_list_free), SF_ERR_INVALID with the offending item copied
 * into bad, or SF_ERR_NOMEM. */
enum sf_err sf_cidr_list_parse(const char *text, struct sf_cidr_list *out, char *bad, size_t badlen);
void sf_cidr_list_free(struct sf_cidr_list *l);
/* Is the textual address ip inside one of the list's blocks? */
int sf_cidr_list_match(const struct sf_cidr_list *l, const char *ip);

/* The client address for a request that arrived from peer with the
 * X-Forwarded-For value xff (may be NULL).  Only when peer is in trusted is
 * xff used: its hops are walked from the right, skipping trusted proxies,
 * and the first untrusted hop is the client (a malformed hop ends the walk
 * at the last good address).  Writes the result into out (at least 46
 * bytes).  Returns 1 when the address came from xff, 0 when it is peer. */
int sf_edge_client_addr(const struct sf_cidr_list *trusted, const char *peer, const char *xff, char *out,
			size_t outlen);

/* ==== ratelimit.c: token buckets per (class, key) ==== */

#define SF_EDGE_CLASSES 8 /* enum sf_route_class values */

struct sf_rate {
	double per_sec;     /* refill rate; 0: unlimited */
	double burst;       /* bucket size */
};

/* Parse "N/S" (N requests per S seconds; the bucket holds N) or "off".
 * Returns 1 on success. */
int sf_rate_parse(const char *text, struct sf_rate *out);

struct sf_ratelimit;

/* A table of token buckets for the given per-class rates (copied).
 * Returns NULL on allocation failure. */
struct sf_ratelimit *sf_ratelimit_new(const struct sf_rate rates[SF_EDGE_CLASSES]);
void sf_ratelimit_free(struct sf_ratelimit *rl);
/* Take one token from the bucket (rclass, key) at time now (seconds,
 * monotonic).  Returns 1 when allowed, 0 when refused with *retry_after
 * (whole seconds until a token is back, at least 1). */
int sf_ratelimit_take(struct sf_ratelimit *rl, int rclass, const char *key, double now, unsigned *retry_after);
/* Buckets currently held (tests, metrics). */
size_t sf_ratelimit_size(struct sf_ratelimit *rl);

/* ==== bans.c: counters and the ban table ==== */

struct sf_ban_policy {
	unsigned threshold[SF_EDGE__EVENTS]; /* events within window that ban; 0: never */
	unsigned window_s;
	unsigned duration_s;      /* first ban */
	unsigned max_duration_s;  /* repeats double the duration up to this */
};

struct sf_bans;

/* An empty ban table with policy p (copied) and allow list (borrowed, must
 * outlive the table). */
struct sf_bans *sf_bans_new(const struct sf_ban_policy *p, const struct sf_cidr_list *allow);
void sf_bans_free(struct sf_bans *b);
/* Is ip banned at now (unix seconds)? */
int sf_bans_check(struct sf_bans *b, const char *ip, int64_t now);
/* Count an event for ip at now.  Returns 1 when the threshold for that kind
 * is reached (the caller then bans; the counter restarts), 0 otherwise; an
 * allow-listed address always gives 0. */
int sf_bans_note(struct sf_bans *b, const char *ip, enum sf_edge_event ev, int64_t now);
/* The ban length for the n-th ban of an address (n >= 1). */
int64_t sf_bans_duration(const struct sf_bans *b, int64_t n);
/* Set (until > now) or clear (until 0) the in-memory ban of ip. */
void sf_bans_set(struct sf_bans *b, const char *ip, int64_t until);
/* Replace every in-memory ban by the list given (ips[i] until[i]). */
void sf_bans_replace(struct sf_bans *b, char (*ips)[46], const int64_t *until, size_t n);
/* Is ip on the allow list? */
int sf_bans_allowed(const struct sf_bans *b, const char *ip);

/* ==== waf.c: libmodsecurity ==== */

enum sf_waf_mode { SF_WAF_OFF, SF_WAF_DETECT, SF_WAF_BLOCK };

struct sf_waf_options {
	enum sf_waf_mode mode;
	int paranoia;              /* 1..4 */
	const char *rules_extra;   /* file of local rules and exclusions, or NULL/"" */
	const char *crs_setup;     /* crs-setup.conf */
	const char *crs_rules;     /* the CRS rules folder */
	const char *log_path;      /* the WAF log (JSON lines) */
	size_t body_limit;         /* bytes of body inspected */
	const char *admin_prefix;  /* the back-office path ([admin] path) for route-scoped exclusions */
};

struct sf_waf;

/* Create the engine and load the rules (see sf_edge_new).  errbuf names the
 * file and line of a rule that does not load.  Returns SF_OK, SF_ERR_CONFIG,
 * SF_ERR_IO (log) or SF_ERR_NOMEM. */
enum sf_err sf_waf_new(const struct sf_waf_options *opt, struct sf_waf **out, char *errbuf, size_t errlen);
void sf_waf_free(struct sf_waf *w);
/* Build a new rule set and swap it in (see sf_edge_reload). */
enum sf_err sf_waf_reload(struct sf_waf *w, char *errbuf, size_t errlen);
/* The rules text the engine loads (tests; caller frees). */
char *sf_waf_rules_text(const struct sf_waf_options *opt);

/* One request's inspection, kept in req->edge. */
struct sf_waf_txn;

/* Phases.  Each returns SF_OK, or the error to answer with when the WAF
 * intervenes in block mode (SF_ERR_WAF_BLOCKED, or SF_ERR_BAD_REQUEST /
 * SF_ERR_BAD_JSON when the engine refuses a body it cannot parse).  *txn is
 * created by the first call (NULL when the WAF is off). */
enum sf_err sf_waf_headers(struct sf_waf *w, struct sf_req *req, struct sf_waf_txn **txn);
enum sf_err sf_waf_body(struct sf_waf_txn *t, struct sf_req *req);
void sf_waf_response(struct sf_waf_txn *t, struct sf_req *req, const struct sf_resp *resp);
/* Finish: logging phase, store the events (db may be NULL), free. */
void sf_waf_done(struct sf_waf_txn *t, struct sf_req *req, void *db);
/* Rules matched so far in this transaction. */
size_t sf_waf_txn_events(const struct sf_waf_txn *t);
/* Did the WAF block this transaction (403)? */
int sf_waf_txn_blocked(const struct sf_waf_txn *t);
/* The logged form of the data a rule matched in variable var ("ARGS:q"):
 * "[redacted]" for secret-named variables and cookies, secret pairs and
 * card numbers removed from raw values, at most 512 bytes.  malloc'd
 * (caller frees), NULL on allocation failure. */
char *sf_waf_redact(const char *var, const char *data);

#include "edge/waf_msg.h"

/* ==== edge.c ==== */

struct sf_edge {
	struct sf_app *app;
	struct sf_cidr_list trusted;
	int proxy_protocol;        /* trusted peers start connections with a PROXY header */
	struct sf_cidr_list allow;
	struct sf_ratelimit *rl;
	struct sf_bans *bans;
	struct sf_waf *waf;        /* NULL when mode = off */
	struct sf_waf_options wopt;
	char crs_setup[1024], crs_rules[1024], rules_extra[1024], waf_log[1024];
	pthread_mutex_t sync_mu;
	atomic_llong last_sync;    /* unix seconds of the last ban sync with the database */
	atomic_ullong st_refused, st_rate_limited, st_bans, st_blocked, st_inspected, st_events;
};

/* Per-request edge state (req->edge), arena memory. */
struct sf_edge_req {
	struct sf_waf_txn *waf;
	unsigned retry_after;      /* set with a 429 */
	int blocked;               /* the WAF blocked this request */
};

/* Persist and audit a ban of ip (strikes and length from the database),
 * then apply it in memory.  Returns SF_OK or a database/audit error. */
enum sf_err sf_edge_ban(struct sf_edge *e, const char *ip, const char *reason, const char *request_id);

#endif
