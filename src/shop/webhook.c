/*
 * webhook.c — outgoing webhooks (webhook.h): the queue written inside the
 * callers' transactions, subscriptions with sealed secrets, the signature
 * scheme, and the sender thread (libcurl multi: a batch of deliveries at
 * once, each with a short timeout; exponential back-off on failure).
 */
#include "shop/webhook.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <inttypes.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "audit/audit.h"
#include "core/log.h"
#include "core/ticker.h"
#include "core/util.h"
#include "crypto/keyring.h"
#include "db/db.h"

/* Deliveries in flight at once, per lane (the sandbox provider's own
 * notifications; the subscriptions') and per subscription: a slow or dead
 * endpoint holds at most SUB_SLOTS of them while everything else goes on. */
#define LANE_SLOTS 64
#define SUB_SLOTS 8
#define SLOTS (2 * LANE_SLOTS)
/* How long a run waits for the answers to what it started before it
 * records those it has and looks for new work; what is still unanswered
 * stays in flight into the next runs (until its own timeout). */
#define WAIT_MS 100
/* A run that started nothing waits for an answer or a kick at most this. */
#define IDLE_WAIT_MS 1000
#define BACKOFF_CAP_S 3600
#define ERROR_MAX 200

/* ==== Events ==== */

int sf_webhook_event_known(const char *name)
{
	if (!name || !*name)
		return 0;
	size_t n = strlen(name);
	const char *p = SF_WEBHOOK_EVENTS;
	while (*p) {
		const char *e = strchr(p, ',');
		size_t len = e ? (size_t)(e - p) : strlen(p);
		if (len == n && !memcmp(p, name, n))
			return 1;
		p += len + (e ? 1 : 0);
	}
	return 0;
}

void sf_webhook_event_id(char out[SF_WEBHOOK_EVENT_ID_LEN + 1])
{
	memcpy(out, "evt_", 4);
	sf_rand_base32_timed(out + 4, SF_WEBHOOK_EVENT_ID_LEN - 4);
	out[SF_WEBHOOK_EVENT_ID_LEN] = '\0';
}

/* Does the comma-separated list want event type? ("*" wants all.) */
static int wants(const char *list, const char *type)
{
	size_t n = strlen(type);
	const char *p = list;
	while (*p) {
		const char *e = strchr(p, ',');
		size_t len = e ? (size_t)(e - p) : strlen(p);
		if ((len == 1 && *p == '*') || (len == n && !memcmp(p, type, n)))
			return 1;
		p += len + (e ? 1 : 0);
	}
	return 0;
}

struct sub {
	int64_t id;
	char *url;
};

enum sf_err sf_webhook_emit(struct sf_db_conn *c, const char *type, json_t *data)
{
	if (!sf_webhook_event_known(type))
		return SF_ERR_INVALID;
	struct sf_db_cursor *cur = NULL;
	struct sub *subs = NULL; /* every active subscription that wants type */
	size_t n = 0, cap = 0;
	enum sf_err err = SF_OK;
	enum sf_db_status st = sf_db_query(c, SF_STMT_WEBHOOK_SUB_ACTIVE, NULL, 0, &cur);
	if (st != SF_DB_OK)
		return sf_db_err(st);
	while ((st = sf_db_next(cur)) == SF_DB_OK) {
		if (!wants(sf_db_col_text(cur, 2, NULL), type))
			continue;
		if (n == cap) {
			size_t ncap = cap ? 2 * cap : 8;
			struct sub *ns = realloc(subs, ncap * sizeof *ns);
			if (!ns) {
				err = SF_ERR_NOMEM;
				break;
			}
			subs = ns;
			cap = ncap;
		}
		subs[n].id = sf_db_col_int(cur, 0);
		subs[n].url = strdup(sf_db_col_text(cur, 1, NULL));
		if (!subs[n].url) {
			err = SF_ERR_NOMEM;
			break;
		}
		n++;
	}
	sf_db_cursor_close(cur);
	if (!err && st < 0)
		err = sf_db_err(st);
	char *body = NULL;
	char id[SF_WEBHOOK_EVENT_ID_LEN + 1];
	if (!err && n) {
		sf_webhook_event_id(id);
		json_t *ev = json_pack("{s:s,s:s,s:I,s:O}", "id", id, "type", type, "created",
				       (json_int_t)sf_shop_now(), "data", data ? data : json_null());
		body = ev ? json_dumps(ev, JSON_COMPACT) : NULL;
		json_decref(ev);
		if (!body)
			err = SF_ERR_NOMEM;
	}
	for (size_t i = 0; i < n && !err; i++) {
		struct sf_db_param p[] = {SF_DB_INT(subs[i].id), SF_DB_TEXT(subs[i].url), SF_DB_TEXT(id),
					  SF_DB_TEXT(type),     SF_DB_TEXT(body),       SF_DB_INT(sf_shop_now())};
		st = sf_db_exec(c, SF_STMT_WEBHOOK_DELIVERY_INSERT, p, 6, NULL);
		if (st < 0)
			err = sf_db_err(st);
	}
	for (size_t i = 0; i < n; i++)
		free(subs[i].url);
	free(subs);
	free(body);
	return err;
}

enum sf_err sf_webhook_order_event(struct sf_db_conn *c, const char *type, int64_t order_id, const char *status,
				   int64_t total, const char *currency)
{
	json_t *d = json_pack("{s:I,s:s,s:I,s:s}", "order_id", (json_int_t)order_id, "status", status, "total",
			      (json_int_t)total, "currency", currency);
	if (!d)
		return SF_ERR_NOMEM;
	enum sf_err err = sf_webhook_emit(c, type, d);
	json_decref(d);
	return err;
}

enum sf_err sf_webhook_enqueue_internal(struct sf_db_conn *c, const char *url, const char *event_id,
					const char *type, const char *body)
{
	struct sf_db_param p[] = {SF_DB_NULL,      SF_DB_TEXT(url),  SF_DB_TEXT(event_id),
				  SF_DB_TEXT(type), SF_DB_TEXT(body), SF_DB_INT(sf_shop_now())};
	enum sf_db_status st = sf_db_exec(c, SF_STMT_WEBHOOK_DELIVERY_INSERT, p, 6, NULL);
	return st < 0 ? sf_db_err(st) : SF_OK;
}

/* ==== Subscriptions ==== */

static int url_ok(const char *url)
{
	if (!url)
		return 0;
	size_t n = strlen(url);
	if (n > SF_WEBHOOK_URL_MAX || !sf_utf8_valid(url, n, 1))
		return 0;
	const char *rest = !strncmp(url, "https://", 8) ? url + 8 : !strncmp(url, "http://", 7) ? url + 7 : NULL;
	if (!rest || !*rest || *rest == '/')
		return 0;
	size_t host = strcspn(rest, "/?#");
	if (memchr(rest, '@', host))
		return 0; /* credentials in the URL: the signature is the receiver's proof */
	/* ASCII only (RFC 3986: anything else is percent-encoded, host names in
	 * punycode): 'webhooks list' prints the URL to a terminal, where a C1
	 * control or a right-to-left override would be obeyed or mislead. */
	for (const char *p = url; *p; p++)
		if ((unsigned char)*p <= ' ' || (unsigned char)*p >= 0x7f || *p == '"' || *p == '<' || *p == '>' ||
		    *p == '\\')
			return 0;
	return 1;
}

/* Normalise events into out ("*" or known names, comma-separated). */
static enum sf_err events_norm(const char *events, char *out, size_t outlen)
{
	if (!events || !*events || strlen(events) >= outlen)
		return SF_ERR_WEBHOOK_EVENT;
	if (!strcmp(events, "*")) {
		sf_strlcpy(out, "*", outlen);
		return SF_OK;
	}
	out[0] = '\0';
	size_t used = 0;
	const char *p = events;
	while (*p) {
		const char *e = strchr(p, ',');
		size_t len = e ? (size_t)(e - p) : strlen(p);
		char name[64];
		if (len == 0 || len >= sizeof name)
			return SF_ERR_WEBHOOK_EVENT;
		memcpy(name, p, len);
		name[len] = '\0';
		if (!sf_webhook_event_known(name))
			return SF_ERR_WEBHOOK_EVENT;
		if (!wants(out, name)) {
			int w = snprintf(out + used, outlen - used, "%s%s", used ? "," : "", name);
			if (w < 0 || (size_t)w >= outlen - used)
				return SF_ERR_WEBHOOK_EVENT;
			used += (size_t)w;
		}
		p += len + (e ? 1 : 0);
		if (e && !*p)
			return SF_ERR_WEBHOOK_EVENT;
	}
	return SF_OK;
}

struct add_ctx {
	const struct sf_keyring *kr;
	const char *url, *events, *secret;
	const struct sf_shop_actor *actor;
	int64_t id;
	enum sf_err err;
};

static enum sf_err audit_sub(struct sf_db_conn *c, const struct sf_keyring *kr, const struct sf_shop_actor *a,
			     const char *action, int64_t id, const char *url, const char *events)
{
	char oid[24], origin[SF_WEBHOOK_URL_MAX + 1] = "";
	snprintf(oid, sizeof oid, "%" PRId64, id);
	if (url) { /* scheme and host only: a receiver's path may hold its token, and the trail is for ever */
		const char *rest = strstr(url, "://");
		size_t n = rest ? (size_t)(rest + 3 - url) + strcspn(rest + 3, "/?#") : 0;
		snprintf(origin, sizeof origin, "%.*s", (int)n, url);
	}
	json_t *d = url ? json_pack("{s:s,s:s}", "url", origin, "events", events) : NULL;
	char *detail = d ? json_dumps(d, JSON_COMPACT) : NULL;
	json_decref(d);
	if (url && !detail)
		return SF_ERR_NOMEM;
	struct sf_audit_event ev = {
		.actor_type = a && a->type ? a->type : "cli",
		.actor_id = a ? a->id : NULL,
		.ip = a ? a->ip : NULL,
		.action = action,
		.object_type = "webhook_subscription",
		.object_id = oid,
		.outcome = "success",
		.request_id = a ? a->request_id : NULL,
		.detail = detail,
	};
	enum sf_err err = sf_audit_append(c, kr, &ev);
	free(detail);
	return err;
}

static enum sf_db_status add_txn(struct sf_db_conn *c, void *vctx)
{
	struct add_ctx *x = vctx;
	struct sf_db_param p[] = {SF_DB_TEXT(x->url), SF_DB_TEXT(x->events), SF_DB_INT(sf_shop_now())};
	enum sf_db_status st = sf_db_exec(c, SF_STMT_WEBHOOK_SUB_INSERT, p, 3, NULL);
	if (st < 0)
		return st;
	x->id = sf_db_last_id(c);
	unsigned char *sealed = NULL;
	size_t sn = 0;
	x->err = sf_seal(x->kr, "webhook_subscriptions", "secret", x->id, x->secret, strlen(x->secret), &sealed, &sn);
	if (x->err)
		return SF_DB_HARD;
	struct sf_db_param sp[] = {SF_DB_INT(x->id), SF_DB_BLOB(sealed, sn)};
	st = sf_db_exec(c, SF_STMT_WEBHOOK_SUB_SET_SECRET, sp, 2, NULL);
	free(sealed);
	if (st < 0)
		return st;
	x->err = audit_sub(c, x->kr, x->actor, "webhook.subscribe", x->id, x->url, x->events);
	return x->err ? sf_db_status_from_err(x->err) : SF_DB_OK;
}

enum sf_err sf_webhook_add(struct sf_db *db, const struct sf_keyring *kr, const char *url, const char *events,
			   const struct sf_shop_actor *actor, int64_t *id, char secret_out[SF_WEBHOOK_SECRET_LEN + 1])
{
	char norm[512];
	if (url && sf_log_has_card(url, strlen(url)))
		return SF_ERR_CARD_DATA;
	if (!url_ok(url))
		return SF_ERR_WEBHOOK_URL;
	enum sf_err err = events_norm(events, norm, sizeof norm);
	if (err)
		return err;
	char secret[SF_WEBHOOK_SECRET_LEN + 1];
	memcpy(secret, "sfwh_", 5);
	sf_rand_base32(secret + 5, SF_WEBHOOK_SECRET_LEN - 5);
	secret[SF_WEBHOOK_SECRET_LEN] = '\0';
	struct add_ctx x = {.kr = kr, .url = url, .events = norm, .secret = secret, .actor = actor};
	enum sf_db_status st = sf_db_txn(db, add_txn, &x, 5);
	err = x.err ? x.err : st < 0 ? sf_db_err(st) : SF_OK;
	if (!err) {
		*id = x.id;
		memcpy(secret_out, secret, sizeof secret);
	}
	sodium_memzero(secret, sizeof secret);
	return err;
}

static enum sf_db_status list_txn(struct sf_db_conn *c, void *vctx)
{
	json_t *arr = vctx;
	struct sf_db_cursor *cur = NULL;
	enum sf_db_status st = sf_db_query(c, SF_STMT_WEBHOOK_SUB_LIST, NULL, 0, &cur);
	if (st != SF_DB_OK)
		return st;
	int oom = 0;
	while ((st = sf_db_next(cur)) == SF_DB_OK)
		sf_json_push(&oom, arr,
			     json_pack("{s:I,s:s,s:s,s:b,s:I,s:I,s:I}", "id", (json_int_t)sf_db_col_int(cur, 0), "url",
				       sf_db_col_text(cur, 1, NULL), "events", sf_db_col_text(cur, 2, NULL), "active",
				       (int)sf_db_col_int(cur, 3), "created_at", (json_int_t)sf_db_col_int(cur, 4),
				       "pending", (json_int_t)sf_db_col_int(cur, 5), "failed",
				       (json_int_t)sf_db_col_int(cur, 6)));
	sf_db_cursor_close(cur);
	return oom ? SF_DB_HARD : st;
}

enum sf_err sf_webhook_list(struct sf_db *db, json_t **out)
{
	json_t *arr = json_array();
	if (!arr)
		return SF_ERR_NOMEM;
	enum sf_db_status st = sf_db_txn_read(db, list_txn, arr, 3);
	if (st < 0) {
		json_decref(arr);
		return sf_db_err(st);
	}
	*out = arr;
	return SF_OK;
}

struct rm_ctx {
	const struct sf_keyring *kr;
	int64_t id;
	const struct sf_shop_actor *actor;
	enum sf_err err;
};

static enum sf_db_status rm_txn(struct sf_db_conn *c, void *vctx)
{
	struct rm_ctx *x = vctx;
	int64_t changed = 0;
	struct sf_db_param p = SF_DB_INT(x->id);
	enum sf_db_status st = sf_db_exec(c, SF_STMT_WEBHOOK_SUB_DELETE, &p, 1, &changed);
	if (st < 0)
		return st;
	if (changed != 1) {
		x->err = SF_ERR_NOT_FOUND;
		return SF_DB_HARD;
	}
	st = sf_db_exec(c, SF_STMT_WEBHOOK_DELIVERY_DROP, &p, 1, NULL);
	if (st < 0)
		return st;
	x->err = audit_sub(c, x->kr, x->actor, "webhook.unsubscribe", x->id, NULL, NULL);
	return x->err ? sf_db_status_from_err(x->err) : SF_DB_OK;
}

enum sf_err sf_webhook_remove(struct sf_db *db, const struct sf_keyring *kr, int64_t id,
			      const struct sf_shop_actor *actor)
{
	struct rm_ctx x = {.kr = kr, .id = id, .actor = actor};
	if (id < 1)
		return SF_ERR_NOT_FOUND;
	enum sf_db_status st = sf_db_txn(db, rm_txn, &x, 5);
	return x.err ? x.err : st < 0 ? sf_db_err(st) : SF_OK;
}

/* ==== Signatures ==== */

void sf_webhook_sign(const void *secret, size_t secret_len, const char *ts, const void *body, size_t body_len,
		     char out[65])
{
	crypto_auth_hmacsha256_state s;
	unsigned char mac[crypto_auth_hmacsha256_BYTES];
	crypto_auth_hmacsha256_init(&s, secret, secret_len);
	crypto_auth_hmacsha256_update(&s, (const unsigned char *)ts, strlen(ts));
	crypto_auth_hmacsha256_update(&s, (const unsigned char *)".", 1);
	crypto_auth_hmacsha256_update(&s, body, body_len);
	crypto_auth_hmacsha256_final(&s, mac);
	sf_hex(mac, sizeof mac, out);
	sodium_memzero(&s, sizeof s);
}

enum sf_err sf_webhook_verify(const void *secret, size_t secret_len, const char *ts, const char *sig,
			      const void *body, size_t body_len, int64_t now, int64_t tolerance_s)
{
	int64_t t = 0;
	if (!ts || !sig || !*ts || strlen(ts) > 12 || sf_parse_i64(ts, 0, INT64_C(99999999999), &t) != SF_OK)
		return SF_ERR_SIGNATURE;
	char want[65];
	sf_webhook_sign(secret, secret_len, ts, body, body_len, want);
	int ok = 0;
	const char *p = sig;
	while (*p) {
		while (*p == ' ' || *p == ',')
			p++;
		const char *e = strchr(p, ',');
		size_t len = e ? (size_t)(e - p) : strlen(p);
		if (len == 3 + 64 && !memcmp(p, "v1=", 3) && sf_ct_compare(p + 3, want, 64) == 0)
			ok = 1;
		p += len;
	}
	sodium_memzero(want, sizeof want);
	if (!ok)
		return SF_ERR_SIGNATURE;
	if (t < now - tolerance_s || t > now + tolerance_s)
		return SF_ERR_SIGNATURE_EXPIRED;
	return SF_OK;
}

/* ==== The sender ==== */

struct sf_webhook_sender {
	struct sf_db *db;
	const struct sf_keyring *kr;
	int timeout_s, max_attempts;
	int allow_private;     /* subscriptions may reach private, loopback, link-local addresses */
	unsigned char *secret; /* guarded */
	size_t secret_len;
	char *ca_file, *resolve;
	CURLM *multi;
	struct sf_ticker *ticker; /* sf_webhook_sender_start, or NULL */
	struct job *fly[SLOTS];   /* in flight: fly[0..n) */
	size_t n;
	int more;                 /* the last run filled a lane or left work in flight */
	atomic_int idle;          /* a run waits for answers only: a kick wakes it */
	atomic_uint kicks;
};

struct job {
	int64_t id, sub_id, attempts;
	char *url, *event_id, *type, *body;
	CURL *h;
	struct curl_slist *hdrs, *resolve;
	long status;
	CURLcode rc;
	int added, done;
	char refused[INET6_ADDRSTRLEN]; /* the address not connected to ("": none) */
	char errbuf[CURL_ERROR_SIZE];
};

/* ==== Where a subscription may connect ==== */

/* Is a an address of this host, its networks or the cloud's metadata
 * service rather than the internet: unspecified, loopback, private
 * (RFC 1918, RFC 4193), shared (RFC 6598), link-local (169.254/16 holds the
 * metadata services), benchmarking, multicast, reserved; IPv4 inside IPv6
 * (mapped, NAT64) as its IPv4. */
static int v4_internal(const unsigned char b[4])
{
	return b[0] == 0 || b[0] == 10 || b[0] == 127 || b[0] >= 224 || (b[0] == 100 && (b[1] & 0xC0) == 64) ||
	       (b[0] == 169 && b[1] == 254) || (b[0] == 172 && (b[1] & 0xF0) == 16) ||
	       (b[0] == 192 && b[1] == 168) || (b[0] == 192 && b[1] == 0 && b[2] == 0) ||
	       (b[0] == 198 && (b[1] & 0xFE) == 18);
}

/* a: the address bytes (4 or 16) of family. */
static int addr_internal(int family, const unsigned char *b)
{
	if (family == AF_INET)
		return v4_internal(b);
	if (family != AF_INET6)
		return 1;
	static const unsigned char zero[16] = {0};
	static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF};
	static const unsigned char nat64[12] = {0, 0x64, 0xFF, 0x9B, 0, 0, 0, 0, 0, 0, 0, 0};
	if (!memcmp(b, mapped, 12) || !memcmp(b, nat64, 12))
		return v4_internal(b + 12);
	if (!memcmp(b, zero, 15) && (b[15] == 0 || b[15] == 1)) /* :: and ::1 */
		return 1;
	return (b[0] & 0xFE) == 0xFC || (b[0] == 0xFE && (b[1] & 0xC0) == 0x80) || b[0] == 0xFF;
}

/* CURLOPT_OPENSOCKETFUNCTION of subscription deliveries: checked on the
 * address actually connected to, after DNS, so a name that resolves (or is
 * re-pointed) to an internal address gets nothing either. */
static curl_socket_t open_public(void *clientp, curlsocktype purpose, struct curl_sockaddr *a)
{
	struct job *j = clientp;
	(void)purpose;
	unsigned char b[16] = {0};
	if (a->family == AF_INET && a->addrlen >= sizeof(struct sockaddr_in)) {
		struct sockaddr_in in;
		memcpy(&in, &a->addr, sizeof in);
		memcpy(b, &in.sin_addr, 4);
	} else if (a->family == AF_INET6 && a->addrlen >= sizeof(struct sockaddr_in6)) {
		struct sockaddr_in6 in;
		memcpy(&in, &a->addr, sizeof in);
		memcpy(b, &in.sin6_addr, 16);
	}
	if (addr_internal(a->family, b)) {
		if (!inet_ntop(a->family, b, j->refused, sizeof j->refused))
			snprintf(j->refused, sizeof j->refused, "?");
		return CURL_SOCKET_BAD;
	}
	return socket(a->family, a->socktype, a->protocol);
}

static void job_free(struct sf_webhook_sender *s, struct job *j)
{
	if (!j)
		return;
	if (j->added)
		curl_multi_remove_handle(s->multi, j->h);
	if (j->h)
		curl_easy_cleanup(j->h);
	curl_slist_free_all(j->hdrs);
	curl_slist_free_all(j->resolve);
	free(j->url);
	free(j->event_id);
	free(j->type);
	free(j->body);
	free(j);
}

int64_t sf_webhook_backoff(int attempts)
{
	int64_t s = 1;
	for (int i = 0; i < attempts && s < BACKOFF_CAP_S; i++)
		s *= 2;
	return s < BACKOFF_CAP_S ? s : BACKOFF_CAP_S;
}

static size_t discard(char *p, size_t size, size_t n, void *ctx)
{
	(void)p;
	(void)ctx;
	return size * n;
}

/* Deliveries in flight in a lane (internal: the sandbox's own), and of
 * subscription sub. */
static size_t in_flight(const struct sf_webhook_sender *s, int internal, int64_t sub)
{
	size_t n = 0;
	for (size_t i = 0; i < s->n; i++)
		if ((s->fly[i]->sub_id == 0) == internal && (!sub || s->fly[i]->sub_id == sub))
			n++;
	return n;
}

/* As JSON arrays for the due query: the ids of the lane's deliveries in
 * flight, and the subscriptions that have SUB_SLOTS of them (repeated ids
 * do the query no harm). */
static void busy_lists(const struct sf_webhook_sender *s, int internal, char *ids, char *subs, size_t cap)
{
	size_t a = (size_t)snprintf(ids, cap, "["), b = (size_t)snprintf(subs, cap, "[");
	for (size_t i = 0; i < s->n; i++) {
		const struct job *j = s->fly[i];
		if ((j->sub_id == 0) != internal)
			continue;
		a += (size_t)snprintf(ids + a, cap - a, "%s%" PRId64, a > 1 ? "," : "", j->id);
		if (j->sub_id && in_flight(s, 0, j->sub_id) >= SUB_SLOTS)
			b += (size_t)snprintf(subs + b, cap - b, "%s%" PRId64, b > 1 ? "," : "", j->sub_id);
	}
	snprintf(ids + a, cap - a, "]");
	snprintf(subs + b, cap - b, "]");
}

/* Forget the deliveries s->fly[from..n) (their rows stay pending). */
static void drop_from(struct sf_webhook_sender *s, size_t from)
{
	while (s->n > from)
		job_free(s, s->fly[--s->n]);
}

struct due_ctx {
	struct sf_webhook_sender *s;
	int64_t now;
	size_t from; /* s->n before */
	int full;    /* a lane filled up: more may be due */
};

/* Up to the lane's free slots of deliveries that are due and not in
 * flight, oldest first, appended to s->fly; at most SUB_SLOTS a
 * subscription.  The query skips the subscriptions already there; the rows
 * of one that gets there now are skipped here (hence the larger LIMIT). */
static enum sf_db_status due_lane(struct sf_db_conn *c, struct due_ctx *x, int internal)
{
	struct sf_webhook_sender *s = x->s;
	size_t want = LANE_SLOTS - in_flight(s, internal, 0), got = 0;
	if (!want) {
		x->full = 1;
		return SF_DB_OK;
	}
	char ids[SLOTS * 22 + 4], subs[SLOTS * 22 + 4];
	busy_lists(s, internal, ids, subs, sizeof ids);
	struct sf_db_cursor *cur = NULL;
	struct sf_db_param p[] = {SF_DB_INT(x->now), SF_DB_INT((int64_t)(want + SLOTS)), SF_DB_INT(internal),
				  SF_DB_TEXT(ids), SF_DB_TEXT(subs)};
	enum sf_db_status st = sf_db_query(c, SF_STMT_WEBHOOK_DELIVERY_DUE, p, 5, &cur);
	if (st != SF_DB_OK)
		return st;
	while (got < want && (st = sf_db_next(cur)) == SF_DB_OK) {
		int64_t sub = sf_db_col_is_null(cur, 1) ? 0 : sf_db_col_int(cur, 1);
		if (sub && in_flight(s, 0, sub) >= SUB_SLOTS)
			continue;
		struct job *j = calloc(1, sizeof *j);
		if (!j) {
			st = SF_DB_HARD;
			break;
		}
		s->fly[s->n++] = j;
		got++;
		j->id = sf_db_col_int(cur, 0);
		j->sub_id = sub;
		j->url = strdup(sf_db_col_text(cur, 2, NULL));
		j->event_id = strdup(sf_db_col_text(cur, 3, NULL));
		j->type = strdup(sf_db_col_text(cur, 4, NULL));
		j->body = strdup(sf_db_col_text(cur, 5, NULL));
		j->attempts = sf_db_col_int(cur, 6);
		if (!j->url || !j->event_id || !j->type || !j->body) {
			st = SF_DB_HARD;
			break;
		}
	}
	sf_db_cursor_close(cur);
	x->full |= got == want;
	return st < 0 ? st : SF_DB_OK;
}

/* Both lanes, the sandbox's own first, in one read transaction. */
static enum sf_db_status due_txn(struct sf_db_conn *c, void *vctx)
{
	struct due_ctx *x = vctx;
	drop_from(x->s, x->from); /* a retried transaction starts again */
	x->full = 0;
	enum sf_db_status st = due_lane(c, x, 1);
	return st < 0 ? st : due_lane(c, x, 0);
}

struct secret_ctx {
	int64_t id;
	unsigned char *blob;
	size_t n;
};

static void read_secret(struct sf_db_cursor *cur, void *vctx)
{
	struct secret_ctx *x = vctx;
	size_t n = 0;
	const void *b = sf_db_col_blob(cur, 0, &n);
	x->blob = b && n ? malloc(n) : NULL;
	if (x->blob) {
		memcpy(x->blob, b, n);
		x->n = n;
	}
}

static enum sf_db_status secret_txn(struct sf_db_conn *c, void *vctx)
{
	struct secret_ctx *x = vctx;
	struct sf_db_param p = SF_DB_INT(x->id);
	return sf_db_query_one(c, SF_STMT_WEBHOOK_SUB_SECRET, &p, 1, read_secret, x);
}

/* Prepare j's request: sign with its subscription's secret (or the
 * internal one).  0, or -1 (no secret: the subscription is gone). */
static int job_prepare(struct sf_webhook_sender *s, struct job *j, int64_t now)
{
	char *pt = NULL;
	size_t ptn = 0;
	const void *key = s->secret;
	size_t keylen = s->secret_len;
	if (j->sub_id) {
		struct secret_ctx sx = {.id = j->sub_id};
		enum sf_db_status st = sf_db_txn_read(s->db, secret_txn, &sx, 3);
		if (st != SF_DB_OK || !sx.blob) {
			free(sx.blob);
			return -1;
		}
		enum sf_err e = sf_unseal(s->kr, "webhook_subscriptions", "secret", j->sub_id, sx.blob, sx.n, &pt, &ptn);
		free(sx.blob);
		if (e)
			return -1;
		key = pt;
		keylen = ptn;
	} else if (!key) {
		return -1;
	}
	char ts[24], sig[65], hdr[128];
	snprintf(ts, sizeof ts, "%" PRId64, now);
	sf_webhook_sign(key, keylen, ts, j->body, strlen(j->body), sig);
	if (pt)
		sf_unsealed_free(pt, ptn);
	j->h = curl_easy_init();
	if (!j->h)
		return -1;
	struct curl_slist *h = NULL;
	snprintf(hdr, sizeof hdr, "Storefort-Timestamp: %s", ts);
	h = curl_slist_append(h, hdr);
	snprintf(hdr, sizeof hdr, "Storefort-Event-Id: %s", j->event_id);
	h = curl_slist_append(h, hdr);
	snprintf(hdr, sizeof hdr, "Storefort-Signature: v1=%s", sig);
	h = curl_slist_append(h, hdr);
	h = curl_slist_append(h, "Content-Type: application/json");
	h = curl_slist_append(h, "User-Agent: storefort-webhooks/1");
	h = curl_slist_append(h, "Expect:");
	j->hdrs = h;
	curl_easy_setopt(j->h, CURLOPT_URL, j->url);
	curl_easy_setopt(j->h, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(j->h, CURLOPT_POSTFIELDS, j->body);
	curl_easy_setopt(j->h, CURLOPT_POSTFIELDSIZE, (long)strlen(j->body));
	curl_easy_setopt(j->h, CURLOPT_HTTPHEADER, j->hdrs);
	curl_easy_setopt(j->h, CURLOPT_TIMEOUT, (long)s->timeout_s);
	curl_easy_setopt(j->h, CURLOPT_CONNECTTIMEOUT, (long)s->timeout_s);
	curl_easy_setopt(j->h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(j->h, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(j->h, CURLOPT_WRITEFUNCTION, discard);
	curl_easy_setopt(j->h, CURLOPT_ERRORBUFFER, j->errbuf);
	curl_easy_setopt(j->h, CURLOPT_PRIVATE, j);
	if (!j->sub_id) {
		/* Trust only the server's own certificate: without CAPATH unset,
		 * libcurl-gnutls also parses every file in /etc/ssl/certs for each
		 * new connection (that was most of the sender's CPU). */
		if (s->ca_file) {
			curl_easy_setopt(j->h, CURLOPT_CAINFO, s->ca_file);
			curl_easy_setopt(j->h, CURLOPT_CAPATH, NULL);
		}
		if (s->resolve) {
			j->resolve = curl_slist_append(NULL, s->resolve);
			curl_easy_setopt(j->h, CURLOPT_RESOLVE, j->resolve);
		}
	} else if (!s->allow_private) {
		curl_easy_setopt(j->h, CURLOPT_OPENSOCKETFUNCTION, open_public);
		curl_easy_setopt(j->h, CURLOPT_OPENSOCKETDATA, j);
	}
	return 0;
}

/* The outcome of j as an error text in err (NULL: delivered). */
static const char *job_error(const struct job *j, char err[ERROR_MAX])
{
	if (j->refused[0]) {
		snprintf(err, ERROR_MAX, "refused to connect to %s: a private, loopback or link-local address "
			 "([webhooks] allow_private)", j->refused);
		return err;
	}
	if (j->rc != CURLE_OK) {
		snprintf(err, ERROR_MAX, "%.180s", j->errbuf[0] ? j->errbuf : curl_easy_strerror(j->rc));
		return err;
	}
	if (j->status < 200 || j->status > 299) {
		snprintf(err, ERROR_MAX, "HTTP %ld", j->status);
		return err;
	}
	return NULL;
}

struct result_ctx {
	struct job *const *jobs;
	size_t n;
	int64_t now;
	int max_attempts;
};

/* Every outcome of a run in one transaction (one commit, not 64). */
static enum sf_db_status result_txn(struct sf_db_conn *c, void *vctx)
{
	struct result_ctx *x = vctx;
	enum sf_db_status st = SF_DB_OK;
	for (size_t i = 0; i < x->n && st >= 0; i++) {
		const struct job *j = x->jobs[i];
		char err[ERROR_MAX];
		const char *e = job_error(j, err);
		if (!e) {
			struct sf_db_param p[] = {SF_DB_INT(j->id), SF_DB_INT(x->now), SF_DB_TEXT(j->event_id)};
			st = sf_db_exec(c, SF_STMT_WEBHOOK_DELIVERY_DONE, p, 3, NULL);
			continue;
		}
		int64_t attempts = j->attempts + 1;
		struct sf_db_param p[] = {SF_DB_INT(j->id), SF_DB_INT(attempts),
					  SF_DB_INT(x->now + sf_webhook_backoff((int)attempts - 1)), SF_DB_TEXT(e),
					  SF_DB_TEXT(attempts >= x->max_attempts ? "failed" : "pending"),
					  SF_DB_TEXT(j->event_id)};
		st = sf_db_exec(c, SF_STMT_WEBHOOK_DELIVERY_RETRY, p, 6, NULL);
	}
	return st < 0 ? st : SF_DB_OK;
}

/* 0, or -1 when the outcomes could not be written (logged). */
static int jobs_record(struct sf_webhook_sender *s, struct job *const *jobs, size_t n, int64_t now)
{
	struct result_ctx x = {.jobs = jobs, .n = n, .now = now, .max_attempts = s->max_attempts};
	if (n && sf_db_txn(s->db, result_txn, &x, 5) < 0) {
		sf_log(SF_LOG_ERROR, "webhook.db", "cannot record the outcome of %zu deliveries", n);
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		char err[ERROR_MAX];
		const struct job *j = jobs[i];
		const char *e = job_error(j, err);
		if (e)
			sf_log(SF_LOG_WARN, j->attempts + 1 >= s->max_attempts ? "webhook.failed" : "webhook.retry",
			       "delivery %" PRId64 " (%s %s) attempt %" PRId64 ": %s", j->id, j->type, j->event_id,
			       j->attempts + 1, e);
	}
	return 0;
}

/* Take the answers libcurl has finished; how many. */
static size_t take_answers(struct sf_webhook_sender *s)
{
	size_t n = 0;
	CURLMsg *m;
	int left;
	while ((m = curl_multi_info_read(s->multi, &left))) {
		struct job *j = NULL;
		if (m->msg != CURLMSG_DONE || curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&j) != CURLE_OK ||
		    !j)
			continue;
		j->rc = m->data.result;
		curl_easy_getinfo(j->h, CURLINFO_RESPONSE_CODE, &j->status);
		curl_multi_remove_handle(s->multi, j->h);
		j->added = 0;
		j->done = 1;
		n++;
	}
	return n;
}

/* Drive the transfers in flight.  fresh: the deliveries started by this run,
 * s->fly[fresh..n).  With some, wait until they are all answered or WAIT_MS
 * passed; with none, until any answer, a kick since kicks0 or IDLE_WAIT_MS. */
static void drive(struct sf_webhook_sender *s, size_t fresh, unsigned kicks0)
{
	int started = fresh < s->n;
	int64_t end = sf_time_mono_ms() + (started ? WAIT_MS : IDLE_WAIT_MS);
	if (!started)
		atomic_store(&s->idle, 1); /* before reading kicks: sf_webhook_kick's order reversed */
	for (;;) {
		int still = 0;
		if (curl_multi_perform(s->multi, &still) != CURLM_OK) {
			for (size_t i = 0; i < s->n; i++) {
				struct job *j = s->fly[i];
				if (j->added && !j->done) {
					curl_multi_remove_handle(s->multi, j->h);
					j->added = 0;
					j->rc = CURLE_OUT_OF_MEMORY;
					j->done = 1;
				}
			}
			break;
		}
		size_t answered = take_answers(s);
		int waiting = 0;
		for (size_t i = fresh; i < s->n; i++)
			waiting |= !s->fly[i]->done;
		int64_t left = end - sf_time_mono_ms();
		if (!still || (started && !waiting) || (!started && (answered || atomic_load(&s->kicks) != kicks0)) ||
		    left <= 0)
			break;
		curl_multi_poll(s->multi, NULL, 0, (int)left, NULL);
	}
	atomic_store(&s->idle, 0);
}

int sf_webhook_sender_run_once(struct sf_webhook_sender *s, int64_t now)
{
	size_t fresh = s->n;
	unsigned kicks0 = atomic_load(&s->kicks); /* what is kicked later may not be seen below */
	struct due_ctx x = {.s = s, .now = now, .from = fresh};
	if (sf_db_txn_read(s->db, due_txn, &x, 3) < 0)
		drop_from(s, fresh);
	for (size_t i = fresh; i < s->n; i++) {
		struct job *j = s->fly[i];
		if (job_prepare(s, j, now) != 0) {
			j->rc = CURLE_FAILED_INIT;
			sf_strlcpy(j->errbuf, "no signing secret (subscription removed?)", sizeof j->errbuf);
			j->done = 1;
		} else if (curl_multi_add_handle(s->multi, j->h) != CURLM_OK) {
			j->rc = CURLE_OUT_OF_MEMORY;
			j->done = 1;
		} else {
			j->added = 1;
		}
	}
	if (s->n)
		drive(s, fresh, kicks0);
	/* Record and forget the answered ones; the rest stay in flight. */
	struct job *fin[SLOTS];
	size_t nfin = 0, keep = 0;
	int delivered = 0;
	for (size_t i = 0; i < s->n; i++) {
		struct job *j = s->fly[i];
		if (!j->done) {
			s->fly[keep++] = j;
			continue;
		}
		fin[nfin++] = j;
		delivered += j->rc == CURLE_OK && j->status >= 200 && j->status <= 299;
	}
	s->n = keep;
	if (jobs_record(s, fin, nfin, now) != 0) {
		/* Kept, answered, until a later run records them: sending them
		 * again at once would only repeat them (a full disk, say). */
		for (size_t i = 0; i < nfin; i++)
			s->fly[s->n++] = fin[i];
		s->more = 0;
		return 0;
	}
	for (size_t i = 0; i < nfin; i++)
		job_free(s, fin[i]);
	s->more = x.full || s->n > 0;
	return delivered;
}

enum sf_err sf_webhook_sender_new(struct sf_db *db, const struct sf_keyring *kr,
				  const struct sf_webhook_sender_opts *o, struct sf_webhook_sender **out)
{
	struct sf_webhook_sender *s = calloc(1, sizeof *s);
	if (!s)
		return SF_ERR_NOMEM;
	s->db = db;
	s->kr = kr;
	s->timeout_s = o->timeout_s > 0 ? o->timeout_s : 3;
	s->max_attempts = o->max_attempts > 0 ? o->max_attempts : 10;
	s->allow_private = o->allow_private;
	s->multi = curl_multi_init();
	/* Keep a connection per concurrent delivery open between batches (the
	 * default, 4 x the handles added, drops to 0 when a batch ends, so
	 * every batch paid a TCP and TLS handshake per delivery). */
	if (s->multi)
		curl_multi_setopt(s->multi, CURLMOPT_MAXCONNECTS, (long)SLOTS);
	if (o->internal_secret && o->internal_secret_len) {
		s->secret = sodium_malloc(o->internal_secret_len);
		if (s->secret) {
			memcpy(s->secret, o->internal_secret, o->internal_secret_len);
			s->secret_len = o->internal_secret_len;
		}
	}
	s->ca_file = o->internal_ca_file ? strdup(o->internal_ca_file) : NULL;
	s->resolve = o->internal_resolve ? strdup(o->internal_resolve) : NULL;
	if (!s->multi || (o->internal_secret_len && !s->secret) || (o->internal_ca_file && !s->ca_file) ||
	    (o->internal_resolve && !s->resolve)) {
		sf_webhook_sender_stop(s);
		return SF_ERR_NOMEM;
	}
	*out = s;
	return SF_OK;
}

/* One run of the sender thread: again at once after answers, with a lane
 * full or with deliveries still in flight. */
static int send_job(void *arg)
{
	struct sf_webhook_sender *s = arg;
	return sf_webhook_sender_run_once(s, (int64_t)time(NULL)) > 0 || s->more;
}

enum sf_err sf_webhook_sender_start(struct sf_db *db, const struct sf_keyring *kr,
				    const struct sf_webhook_sender_opts *o, struct sf_webhook_sender **out)
{
	enum sf_err err = sf_webhook_sender_new(db, kr, o, out);
	if (err)
		return err;
	err = sf_ticker_start(send_job, *out, 1000, &(*out)->ticker);
	if (err) {
		sf_webhook_sender_stop(*out);
		*out = NULL;
		return err;
	}
	return SF_OK;
}

void sf_webhook_kick(struct sf_webhook_sender *s)
{
	if (!s)
		return;
	sf_ticker_kick(s->ticker);
	atomic_fetch_add(&s->kicks, 1);
	if (atomic_load(&s->idle)) /* a run waiting on a slow endpoint only */
		curl_multi_wakeup(s->multi);
}

void sf_webhook_sender_stop(struct sf_webhook_sender *s)
{
	if (!s)
		return;
	sf_ticker_stop(s->ticker);
	drop_from(s, 0); /* still unanswered: pending, sent again by the next start */
	if (s->multi)
		curl_multi_cleanup(s->multi);
	if (s->secret)
		sodium_free(s->secret);
	free(s->ca_file);
	free(s->resolve);
	free(s);
}

enum sf_err sf_webhook_prune(struct sf_db *db, int64_t now, int keep_days, int limit, int64_t *n)
{
	return sf_db_prune(db, SF_STMT_WEBHOOK_DELIVERY_OLD, SF_STMT_WEBHOOK_DELIVERY_PRUNE,
			   now - (int64_t)keep_days * 86400, limit, n);
}
