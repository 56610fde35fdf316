/*
 * waf.c — the WAF: libmodsecurity 3 with the OWASP Core Rule Set.
 *
 * One engine (ModSecurity *) and one loaded rule set serve every worker
 * thread: the rule parser is not thread-safe, so rules are only ever parsed
 * before the threads start or, on reload, into a fresh set that is swapped in
 * under a mutex.  Each transaction holds a reference to the set it started
 * with; a replaced set is freed by whoever drops its last reference.
 *
 * A request is inspected exactly once, phase by phase, as the http layer
 * reaches them: connection + URI + headers (sf_waf_headers), the body, fed
 * before anything answers (sf_waf_body), the response headers
 * (sf_waf_response) and logging (sf_waf_done).  The transaction carries our
 * request id (msc_new_transaction_with_id: generating its own id is about a
 * quarter of libmodsecurity's fixed cost per request).
 *
 * Every matched rule is written at once, in order, as a JSON line to the WAF
 * log: request id, address, rule id, phase, severity, message and the
 * matched data — redacted: values of secret-named variables (passwords,
 * tokens, cookies, Authorization...) are replaced, secret query-style
 * parameters inside raw values are redacted and card numbers scrubbed
 * (core/log.h's rules).
 */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <modsecurity/intervention.h>
#include <modsecurity/modsecurity.h>
#include <modsecurity/rules_set.h>
#include <modsecurity/transaction.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/log.h"
#include "core/util.h"
#include "db/db.h"
#include "edge/edge_int.h"
#include "http/http.h"

#define EVENTS_KEPT 32   /* per request, for the database */
#define DATA_MAX 512     /* bytes of matched data logged */

struct waf_rules {
	RulesSet *rules;
	int refs;        /* transactions using it, +1 while it is the current set */
};

struct sf_waf {
	ModSecurity *ms;
	struct sf_waf_options opt;
	pthread_mutex_t mu;
	struct waf_rules *cur;
	int log_fd;
};

struct sf_waf_txn {
	struct sf_waf *w;
	struct waf_rules *rules;
	Transaction *t;
	struct sf_req *req;
	int status;      /* the intervention's status, 0 while none */
	size_t nevents;
	json_t *kept;    /* array of events for the database */
};

/* ==== Rules ==== */

/* Storefort's own settings, before the CRS.  ids 200000..200005 are the
 * engine's recommended body checks (modsecurity.conf-recommended); a body
 * the engine cannot parse is refused, never passed uninspected. */
static const char base_rules[] =
	"SecRequestBodyAccess On\n"
	"SecResponseBodyAccess Off\n"
	"SecRequestBodyLimitAction ProcessPartial\n"
	"SecPcreMatchLimit 1000\n"
	"SecPcreMatchLimitRecursion 1000\n"
	"SecArgumentSeparator &\n"
	"SecCookieFormat 0\n"
	"SecAuditEngine Off\n"
	"SecRule REQUEST_HEADERS:Content-Type \"@rx ^(?:application(?:/soap\\+|/)|text/)xml\" "
	"\"id:200000,phase:1,t:none,t:lowercase,pass,nolog,ctl:requestBodyProcessor=XML\"\n"
	"SecRule REQUEST_HEADERS:Content-Type \"@rx ^application/json\" "
	"\"id:200001,phase:1,t:none,t:lowercase,pass,nolog,ctl:requestBodyProcessor=JSON\"\n"
	"SecRule REQBODY_ERROR \"!@eq 0\" \"id:200002,phase:2,t:none,log,deny,status:400,"
	"msg:'Failed to parse request body.',logdata:'%{reqbody_error_msg}',severity:2\"\n"
	"SecRule MULTIPART_STRICT_ERROR \"!@eq 0\" \"id:200003,phase:2,t:none,log,deny,status:400,"
	"msg:'Multipart request body failed strict validation'\"\n"
	"SecRule MULTIPART_UNMATCHED_BOUNDARY \"@eq 1\" \"id:200004,phase:2,t:none,log,deny,"
	"msg:'Multipart parser detected a possible unmatched boundary.'\"\n"
	"SecRule TX:/^MSC_/ \"!@streq 0\" \"id:200005,phase:2,t:none,deny,"
	"msg:'ModSecurity internal error flagged: %{MATCHED_VAR_NAME}'\"\n";

/* Settings after crs-setup.conf: the paranoia level and, under /api/ only,
 * the methods the JSON API uses (elsewhere the CRS default GET HEAD POST
 * OPTIONS holds).  Then storefort's own narrow exclusions (rule id x
 * parameter x route; see docs/SECURITY.md), runtime ctl rules placed before
 * the CRS. */
static const char sf_rules[] =
	"SecRule REQUEST_FILENAME \"@beginsWith /api/\" \"id:1000001,phase:1,nolog,pass,t:none,"
	"setvar:'tx.allowed_methods=GET HEAD POST OPTIONS PUT PATCH DELETE'\"\n";
/* No exclusion for storefort's own tokens: CSRF tokens, session and
 * pre-session cookies are lowercase hex and cart tokens base32, which no CRS
 * rule reads as syntax (base64url ones used to trip 942430-942432 and, now
 * and then, 942440 on a "--"). */

/* Product and variant names in the back office's catalog forms may start or
 * end with a quote (Pizza 12"): 942110 only, ARGS:name only, only on the
 * product routes under the back-office path (staff behind password + TOTP). */
/* The e-mail looked up by the orders' and the customers' lists: an address
 * such as buyer-one@example.org reads as SQL to six PL2 rules; it only ever
 * reaches a keyed hash (the blind index).  The SQL injection rules only,
 * ARGS:email only, those two routes only. */
static const char sf_rules_admin_fmt[] =
	"SecRule REQUEST_FILENAME \"@rx ^%s/products(?:/[0-9]+(?:/variants(?:/[0-9]+)?)?)?$\" "
	"\"id:1000101,phase:1,pass,nolog,t:none,ctl:ruleRemoveTargetById=942110;ARGS:name\"\n"
	"SecRule REQUEST_FILENAME \"@rx ^%s/(?:orders|customers)$\" "
	"\"id:1000102,phase:1,pass,nolog,t:none,ctl:ruleRemoveTargetByTag=attack-sqli;ARGS:email\"\n";

/* Only a-z 0-9 - _ / may reach a rule's regex from the configuration. */
static const char *admin_prefix_safe(const char *p)
{
	if (!p || p[0] != '/' || strlen(p) > 60)
		return "/admin";
	for (const char *c = p; *c; c++)
		if (!((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '-' || *c == '_' || *c == '/'))
			return "/admin";
	return p;
}

static int path_readable(const char *p)
{
	return p && *p && access(p, R_OK) == 0;
}

char *sf_waf_rules_text(const struct sf_waf_options *opt)
{
	struct sf_buf b;
	sf_buf_init(&b, 64 * 1024);
	char dir[1024];
	sf_strlcpy(dir, opt->crs_setup, sizeof dir);
	char *slash = strrchr(dir, '/');
	if (slash)
		*slash = '\0';
	else
		sf_strlcpy(dir, ".", sizeof dir);
	int bad = 0;
	bad |= sf_buf_printf(&b, "SecRuleEngine %s\n", opt->mode == SF_WAF_BLOCK ? "On" : "DetectionOnly") != SF_OK;
	bad |= sf_buf_printf(&b, "SecRequestBodyLimit %zu\nSecRequestBodyNoFilesLimit %zu\n", opt->body_limit,
			     opt->body_limit) != SF_OK;
	bad |= sf_buf_append(&b, base_rules, sizeof base_rules - 1) != SF_OK;
	bad |= sf_buf_printf(&b, "Include %s\n", opt->crs_setup) != SF_OK;
	bad |= sf_buf_printf(&b, "SecAction \"id:900000,phase:1,nolog,pass,t:none,setvar:tx.paranoia_level=%d\"\n",
			     opt->paranoia) != SF_OK;
	bad |= sf_buf_append(&b, sf_rules, sizeof sf_rules - 1) != SF_OK;
	const char *admin = admin_prefix_safe(opt->admin_prefix);
	bad |= sf_buf_printf(&b, sf_rules_admin_fmt, admin, admin) != SF_OK;
	if (opt->rules_extra && *opt->rules_extra)
		bad |= sf_buf_printf(&b, "Include %s\n", opt->rules_extra) != SF_OK;
	char p[1200];
	snprintf(p, sizeof p, "%s/REQUEST-900-EXCLUSION-RULES-BEFORE-CRS.conf", dir);
	if (path_readable(p))
		bad |= sf_buf_printf(&b, "Include %s\n", p) != SF_OK;
	bad |= sf_buf_printf(&b, "Include %s/*.conf\n", opt->crs_rules) != SF_OK;
	snprintf(p, sizeof p, "%s/RESPONSE-999-EXCLUSION-RULES-AFTER-CRS.conf", dir);
	if (path_readable(p))
		bad |= sf_buf_printf(&b, "Include %s\n", p) != SF_OK;
	if (bad) {
		sf_buf_free(&b);
		return NULL;
	}
	return sf_buf_steal(&b, NULL);
}

static enum sf_err rules_load(const struct sf_waf_options *opt, struct waf_rules **out, char *errbuf, size_t errlen)
{
	*out = NULL;
	if (!path_readable(opt->crs_setup)) {
		snprintf(errbuf, errlen, "[waf] the CRS setup file %s is not readable (install modsecurity-crs)",
			 opt->crs_setup);
		return SF_ERR_CONFIG;
	}
	if (opt->rules_extra && *opt->rules_extra && !path_readable(opt->rules_extra)) {
		snprintf(errbuf, errlen, "[waf] rules_extra %s: %s", opt->rules_extra, strerror(errno));
		return SF_ERR_CONFIG;
	}
	char *text = sf_waf_rules_text(opt);
	if (!text)
		return SF_ERR_NOMEM;
	struct waf_rules *r = calloc(1, sizeof *r);
	if (!r || !(r->rules = msc_create_rules_set())) {
		free(r);
		free(text);
		return SF_ERR_NOMEM;
	}
	const char *error = NULL;
	int n = msc_rules_add(r->rules, text, &error);
	free(text);
	if (n < 0) {
		snprintf(errbuf, errlen, "[waf] rules do not load: %s", error ? error : "unknown error");
		free((void *)(uintptr_t)error);
		msc_rules_cleanup(r->rules);
		free(r);
		return SF_ERR_CONFIG;
	}
	r->refs = 1;
	*out = r;
	return SF_OK;
}

static void rules_release(struct sf_waf *w, struct waf_rules *r)
{
	pthread_mutex_lock(&w->mu);
	int last = --r->refs == 0;
	pthread_mutex_unlock(&w->mu);
	if (last) {
		msc_rules_cleanup(r->rules);
		free(r);
	}
}

static struct waf_rules *rules_acquire(struct sf_waf *w)
{
	pthread_mutex_lock(&w->mu);
	struct waf_rules *r = w->cur;
	r->refs++;
	pthread_mutex_unlock(&w->mu);
	return r;
}

/* ==== Log ==== */

static int log_open(const char *path)
{
	return open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
}

/* The variable a rule matched, from "... against variable `NAME' (Value: ". */
static void match_var(const char *match, char *out, size_t outlen)
{
	out[0] = '\0';
	const char *p = match ? strstr(match, "against variable `") : NULL;
	if (!p)
		return;
	p += strlen("against variable `");
	const char *end = strstr(p, "' (Value: `");
	size_t n = end ? (size_t)(end - p) : strcspn(p, "'");
	if (n >= outlen)
		n = outlen - 1;
	memcpy(out, p, n);
	out[n] = '\0';
}

/* Does text name a field of personal data (the shopper's e-mail, name,
 * phone, address, birth date), in any case? */
static int names_personal(const char *text)
{
	static const char *const words[] = {"email", "e-mail", "name", "phone", "line1", "line2", "address",
					    "city", "postal", "birth", "recipient"};
	for (size_t i = 0; i < SF_ARRAY_LEN(words); i++)
		if (strcasestr(text, words[i]))
			return 1;
	return 0;
}

/* Must a value matched in variable var be hidden entirely?  Secrets, and
 * personal data: the WAF's log and table are not sealed. */
static int var_is_secret(const char *var)
{
	if (!strncasecmp(var, "REQUEST_COOKIES:", 16) || !strcasecmp(var, "REQUEST_COOKIES"))
		return 1;
	const char *name = strchr(var, ':');
	return sf_log_key_is_secret(name ? name + 1 : var) || (name && names_personal(name + 1));
}

/* Variables whose value is raw request text that may hold secrets in
 * name=value or "name": value form. */
static int var_is_raw(const char *var)
{
	static const char *const raw[] = {"REQUEST_BODY", "REQUEST_LINE", "REQUEST_URI", "REQUEST_URI_RAW",
					  "QUERY_STRING", "FULL_REQUEST", "XML", "ARGS_COMBINED_SIZE",
					  "REQUEST_HEADERS"};
	for (size_t i = 0; i < SF_ARRAY_LEN(raw); i++)
		if (!strncasecmp(var, raw[i], strlen(raw[i])))
			return 1;
	return var[0] == '\0'; /* unknown: treat as raw */
}

/* The logged form of a rule's matched data: truncated, secrets removed.
 * Returns a malloc'd string or NULL. */
char *sf_waf_redact(const char *var, const char *data)
{
	if (var_is_secret(var))
		return strdup("[redacted]");
	size_t n = strnlen(data, DATA_MAX);
	char *cut = strndup(data, n);
	if (!cut)
		return NULL;
	if (var_is_raw(var)) {
		/* "password":"x" in a raw JSON body, or a secret-named pair; any
		 * personal field in it. */
		const char *q = strchr(cut, '"');
		if ((q && strchr(q, ':') && sf_log_key_is_secret(cut)) || names_personal(cut)) {
			free(cut);
			return strdup("[redacted]");
		}
		char *r = sf_log_redact_query(cut);
		free(cut);
		return r;
	}
	sf_log_scrub_cards(cut);
	return cut;
}

static void iso_now(char out[32])
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	struct tm tm;
	gmtime_r(&ts.tv_sec, &tm);
	size_t n = strftime(out, 32, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out + n, 32 - n, ".%03ldZ", ts.tv_nsec / 1000000);
}

static void log_line(struct sf_waf *w, json_t *o)
{
	char *line = json_dumps(o, JSON_COMPACT);
	if (!line)
		return;
	size_t n = strlen(line);
	char *nl = realloc(line, n + 2);
	if (!nl) {
		free(line);
		return;
	}
	nl[n] = '\n';
	nl[n + 1] = '\0';
	ssize_t wr = write(w->log_fd, nl, n + 1);
	(void)wr; /* a full disk loses WAF lines, never requests */
	free(nl);
}

static json_t *jstr(const char *s)
{
	json_t *j = json_string(s ? s : "");
	return j ? j : json_string("[invalid]");
}

static void on_rule(void *ctx, const struct sf_waf_msg *m)
{
	struct sf_waf_txn *t = ctx;
	struct sf_req *req = t->req;
	char var[160];
	match_var(m->match, var, sizeof var);
	char *data = sf_waf_redact(var, m->data ? m->data : "");
	char *msg = strndup(m->message ? m->message : "", DATA_MAX);
	if (msg)
		sf_log_scrub_cards(msg);
	char ts[32];
	iso_now(ts);
	const char *target = req->target ? req->target : "";
	size_t plen = strcspn(target, "?");
	char *path = strndup(target, plen < DATA_MAX ? plen : DATA_MAX);
	json_t *o = json_object();
	if (o) {
		json_object_set_new(o, "ts", json_string(ts));
		json_object_set_new(o, "request_id", json_string(req->request_id));
		json_object_set_new(o, "ip", jstr(req->client_ip));
		json_object_set_new(o, "method", jstr(req->method));
		json_object_set_new(o, "path", jstr(path));
		json_object_set_new(o, "rule_id", json_integer(m->rule_id));
		json_object_set_new(o, "phase", json_integer(m->phase));
		json_object_set_new(o, "severity", json_integer(m->severity));
		json_object_set_new(o, "msg", jstr(msg));
		json_object_set_new(o, "data", jstr(data ? data : "[unloggable]"));
		json_object_set_new(o, "variable", jstr(var));
		json_object_set_new(o, "mode", json_string(t->w->opt.mode == SF_WAF_BLOCK ? "block" : "detect"));
		sf_log_redact_json(o);
		log_line(t->w, o);
		if (t->kept && json_array_size(t->kept) < EVENTS_KEPT)
			json_array_append(t->kept, o);
		json_decref(o);
	}
	t->nevents++;
	free(path);
	free(msg);
	free(data);
}

/* ==== Engine ==== */

enum sf_err sf_waf_new(const struct sf_waf_options *opt, struct sf_waf **out, char *errbuf, size_t errlen)
{
	*out = NULL;
	if (opt->mode == SF_WAF_OFF)
		return SF_OK;
	struct sf_waf *w = calloc(1, sizeof *w);
	if (!w)
		return SF_ERR_NOMEM;
	w->opt = *opt;
	w->log_fd = log_open(opt->log_path);
	if (w->log_fd < 0) {
		snprintf(errbuf, errlen, "[waf] log %s: cannot open: %s", opt->log_path, strerror(errno));
		free(w);
		return SF_ERR_IO;
	}
	pthread_mutex_init(&w->mu, NULL);
	w->ms = msc_init();
	if (!w->ms) {
		sf_waf_free(w);
		return SF_ERR_NOMEM;
	}
	msc_set_connector_info(w->ms, "storefort");
	sf_waf_msg_install(w->ms, on_rule);
	enum sf_err err = rules_load(opt, &w->cur, errbuf, errlen);
	if (err) {
		sf_waf_free(w);
		return err;
	}
	*out = w;
	return SF_OK;
}

void sf_waf_free(struct sf_waf *w)
{
	if (!w)
		return;
	if (w->cur)
		rules_release(w, w->cur);
	if (w->ms)
		msc_cleanup(w->ms);
	if (w->log_fd >= 0)
		close(w->log_fd);
	pthread_mutex_destroy(&w->mu);
	free(w);
}

enum sf_err sf_waf_reload(struct sf_waf *w, char *errbuf, size_t errlen)
{
	if (!w)
		return SF_OK;
	struct waf_rules *fresh = NULL;
	enum sf_err err = rules_load(&w->opt, &fresh, errbuf, errlen);
	if (err)
		return err;
	int fd = log_open(w->opt.log_path);
	if (fd >= 0) {
		dup2(fd, w->log_fd); /* atomic for writers: the same descriptor number */
		close(fd);
	}
	pthread_mutex_lock(&w->mu);
	struct waf_rules *old = w->cur;
	w->cur = fresh;
	pthread_mutex_unlock(&w->mu);
	rules_release(w, old);
	return SF_OK;
}

/* ==== Transactions ==== */

static void add_header(void *ctx, const char *k, const char *v)
{
	struct sf_waf_txn *t = ctx;
	msc_add_n_request_header(t->t, (const unsigned char *)k, strlen(k), (const unsigned char *)(v ? v : ""),
				 v ? strlen(v) : 0);
}

/* One line after the rule lines of a blocked request: the verdict. */
static void log_verdict(struct sf_waf_txn *t, int phase)
{
	struct sf_req *req = t->req;
	char ts[32];
	iso_now(ts);
	json_t *o = json_object();
	if (!o)
		return;
	json_object_set_new(o, "ts", json_string(ts));
	json_object_set_new(o, "request_id", json_string(req->request_id));
	json_object_set_new(o, "ip", jstr(req->client_ip));
	json_object_set_new(o, "action", json_string("blocked"));
	json_object_set_new(o, "status", json_integer(t->status));
	json_object_set_new(o, "phase", json_integer(phase));
	json_object_set_new(o, "events", json_integer((json_int_t)t->nevents));
	log_line(t->w, o);
	json_decref(o);
}

/* The verdict after a phase: SF_OK, or the answer when the engine
 * intervenes (only in block mode: DetectionOnly never intervenes). */
static enum sf_err verdict(struct sf_waf_txn *t, const struct sf_req *req, int phase)
{
	if (t->status)
		return SF_ERR_WAF_BLOCKED;
	ModSecurityIntervention it;
	memset(&it, 0, sizeof it);
	it.status = 200;
	int hit = msc_intervention(t->t, &it);
	free(it.url);
	free(it.log);
	if (!hit || !it.disruptive)
		return SF_OK;
	t->status = it.status >= 400 ? it.status : 403;
	log_verdict(t, phase);
	if (t->status == 400) {
		const char *ct = sf_req_header((struct sf_req *)(uintptr_t)req, "Content-Type");
		return ct && strstr(ct, "json") ? SF_ERR_BAD_JSON : SF_ERR_BAD_REQUEST;
	}
	return SF_ERR_WAF_BLOCKED;
}

enum sf_err sf_waf_headers(struct sf_waf *w, struct sf_req *req, struct sf_waf_txn **txn)
{
	*txn = NULL;
	if (!w)
		return SF_OK;
	struct sf_waf_txn *t = sf_arena_alloc(req->arena, sizeof *t);
	if (!t)
		return SF_ERR_NOMEM;
	memset(t, 0, sizeof *t);
	t->w = w;
	t->req = req;
	t->kept = json_array();
	t->rules = rules_acquire(w);
	t->t = msc_new_transaction_with_id(w->ms, t->rules->rules, req->request_id, t);
	if (!t->t) {
		rules_release(w, t->rules);
		json_decref(t->kept);
		return SF_ERR_NOMEM;
	}
	*txn = t;
	msc_process_connection(t->t, req->client_ip, req->client_port, "127.0.0.1", 0);
	const char *ver = req->version ? req->version : "";
	if (!strncmp(ver, "HTTP/", 5))
		ver += 5;
	msc_process_uri(t->t, req->target ? req->target : "/", req->method ? req->method : "GET", ver);
	sf_req_headers_each(req, add_header, t);
	msc_process_request_headers(t->t);
	return verdict(t, req, 1);
}

enum sf_err sf_waf_body(struct sf_waf_txn *t, struct sf_req *req)
{
	if (!t)
		return SF_OK;
	if (t->status)
		return SF_ERR_WAF_BLOCKED;
	if (req->body && req->body_len) {
		size_t n = req->body_len < t->w->opt.body_limit ? req->body_len : t->w->opt.body_limit;
		msc_append_request_body(t->t, (const unsigned char *)req->body, n);
	}
	msc_process_request_body(t->t);
	return verdict(t, req, 2);
}

void sf_waf_response(struct sf_waf_txn *t, struct sf_req *req, const struct sf_resp *resp)
{
	(void)req;
	if (!t)
		return;
	const char *ct = resp->content_type ? resp->content_type : "text/html; charset=utf-8";
	msc_add_n_response_header(t->t, (const unsigned char *)"Content-Type", 12, (const unsigned char *)ct,
				  strlen(ct));
	for (size_t i = 0; i < resp->nheaders; i++)
		msc_add_n_response_header(t->t, (const unsigned char *)resp->headers[i].k, strlen(resp->headers[i].k),
					  (const unsigned char *)resp->headers[i].v, strlen(resp->headers[i].v));
	msc_process_response_headers(t->t, (int)(resp->status ? resp->status : 200), "HTTP 1.1");
}

struct store_ctx {
	json_t *events;
	const char *action;
};

static enum sf_db_status store_events(struct sf_db_conn *c, void *ctx)
{
	struct store_ctx *s = ctx;
	size_t i;
	json_t *o;
	int64_t now = (int64_t)time(NULL);
	json_array_foreach(s->events, i, o)
	{
		const char *rid = json_string_value(json_object_get(o, "request_id"));
		struct sf_db_param p[] = {
			SF_DB_INT(now),
			SF_DB_TEXT(rid ? rid : ""),
			SF_DB_TEXT(json_string_value(json_object_get(o, "ip"))),
			SF_DB_TEXT(json_string_value(json_object_get(o, "method"))),
			SF_DB_TEXT(json_string_value(json_object_get(o, "path"))),
			SF_DB_INT(json_integer_value(json_object_get(o, "rule_id"))),
			SF_DB_INT(json_integer_value(json_object_get(o, "phase"))),
			SF_DB_INT(json_integer_value(json_object_get(o, "severity"))),
			SF_DB_TEXT(json_string_value(json_object_get(o, "msg"))),
			SF_DB_TEXT(json_string_value(json_object_get(o, "data"))),
			SF_DB_TEXT(s->action),
		};
		enum sf_db_status st = sf_db_exec(c, SF_STMT_EDGE_WAF_EVENT_INSERT, p, SF_ARRAY_LEN(p), NULL);
		if (st != SF_DB_OK)
			return st;
	}
	return SF_DB_OK;
}

void sf_waf_done(struct sf_waf_txn *t, struct sf_req *req, void *db)
{
	(void)req;
	if (!t)
		return;
	msc_process_logging(t->t);
	msc_transaction_cleanup(t->t);
	t->t = NULL;
	rules_release(t->w, t->rules);
	t->rules = NULL;
	if (db && t->kept && json_array_size(t->kept) > 0) {
		struct store_ctx s = {t->kept, t->status == 403 || t->status > 400 ? "blocked" : "detected"};
		enum sf_db_status st = sf_db_txn(db, store_events, &s, 3);
		if (st != SF_DB_OK && st != SF_DB_NO_ROWS)
			sf_log(SF_LOG_WARN, "waf.store_failed", "WAF events of %s not stored", req->request_id);
	}
	json_decref(t->kept);
	t->kept = NULL;
}

size_t sf_waf_txn_events(const struct sf_waf_txn *t)
{
	return t ? t->nevents : 0;
}

int sf_waf_txn_blocked(const struct sf_waf_txn *t)
{
	return t && t->status == 403;
}
