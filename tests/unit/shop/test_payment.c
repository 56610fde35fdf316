/* test_payment.c — payments and outgoing webhooks (payment.h, webhook.h,
 * stock.h) on a real database: signatures (Stripe's header format and the
 * Storefort one), the sandbox flow end to end through the webhook sender
 * against a local HTTP receiver, events applied exactly once, rejected
 * notifications changing nothing and audited, outgoing events queued in the
 * order's transaction, back-off, the catalog version bumped only when
 * availability changes, and the Stripe Checkout Session's expires_at
 * (against the receiver answering as Stripe) with the reservation it
 * extends. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "commerce_fx.h"
#include "shop/catalog_cache.h"
#include "shop/payment.h"
#include "shop/stock.h"
#include "shop/webhook.h"

static const char secret[] = "whsec_unit_secret";

/* ==== Signatures ==== */

static void test_stripe_signature(void **state)
{
	(void)state;
	const char *payload = "{\"id\":\"evt_1\"}";
	char sig[65], hdr[256];
	sf_webhook_sign(secret, strlen(secret), "1700000000", payload, strlen(payload), sig);
	snprintf(hdr, sizeof hdr, "t=1700000000,v1=%s", sig);
	size_t n = strlen(payload);
	assert_int_equal(sf_pay_stripe_verify(hdr, payload, n, secret, strlen(secret), 1700000000, 300), SF_OK);
	assert_int_equal(sf_pay_stripe_verify(hdr, payload, n, secret, strlen(secret), 1700000301, 300),
			 SF_ERR_SIGNATURE_EXPIRED);
	assert_int_equal(sf_pay_stripe_verify(hdr, payload, n, secret, strlen(secret), 1699999699, 300),
			 SF_ERR_SIGNATURE_EXPIRED);
	assert_int_equal(sf_pay_stripe_verify(hdr, payload, n, "other", 5, 1700000000, 300), SF_ERR_SIGNATURE);
	assert_int_equal(sf_pay_stripe_verify(hdr, "{\"id\":\"evt_2\"}", n, secret, strlen(secret), 1700000000, 300),
			 SF_ERR_SIGNATURE);
	/* several v1 entries (secret rotation), v0 ignored, spaces tolerated */
	char multi[400];
	snprintf(multi, sizeof multi, "t=1700000000, v1=%064d, v0=abc, v1=%s", 0, sig);
	assert_int_equal(sf_pay_stripe_verify(multi, payload, n, secret, strlen(secret), 1700000000, 300), SF_OK);
	const char *bad[] = {NULL, "", "t=1700000000", "v1=abc", "t=abc,v1=00", "t=1700000000,v1=short"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		assert_int_equal(sf_pay_stripe_verify(bad[i], payload, n, secret, strlen(secret), 1700000000, 300),
				 SF_ERR_SIGNATURE);
}

static void test_storefort_signature(void **state)
{
	(void)state;
	const char *body = "{\"a\":1}";
	char sig[65], hdr[80];
	sf_webhook_sign("k", 1, "100", body, strlen(body), sig);
	snprintf(hdr, sizeof hdr, "v1=%s", sig);
	assert_int_equal(sf_webhook_verify("k", 1, "100", hdr, body, strlen(body), 100, 300), SF_OK);
	assert_int_equal(sf_webhook_verify("k", 1, "100", hdr, body, strlen(body), 401, 300), SF_ERR_SIGNATURE_EXPIRED);
	assert_int_equal(sf_webhook_verify("k", 1, "101", hdr, body, strlen(body), 100, 300), SF_ERR_SIGNATURE);
	assert_int_equal(sf_webhook_verify("k", 1, "1e3", hdr, body, strlen(body), 100, 300), SF_ERR_SIGNATURE);
	assert_int_equal(sf_webhook_verify("k", 1, NULL, hdr, body, strlen(body), 100, 300), SF_ERR_SIGNATURE);
	assert_int_equal(sf_webhook_backoff(0), 1);
	assert_int_equal(sf_webhook_backoff(3), 8);
	assert_int_equal(sf_webhook_backoff(40), 3600);
	assert_true(sf_webhook_event_known("order.paid"));
	assert_false(sf_webhook_event_known("order.pai"));
	assert_false(sf_webhook_event_known("order.paid,order.created"));
	assert_false(sf_pay_ref_ok("cs_1'; --"));
	assert_true(sf_pay_ref_ok("cs_test_a1B2"));
}

/* ==== A tiny HTTP receiver (the sender's other end) ==== */

struct rx {
	int fd, port, status, hits;
	char last[8192];
	pthread_t t;
	struct shop_fx *f;      /* when set: forward to the sandbox webhook */
	struct sf_payments *p;
	int applied;
	int stripe;             /* answer as Stripe's POST /v1/checkout/sessions */
	const char *answer;     /* when set: the body of every answer */
};

static void *rx_run(void *arg)
{
	struct rx *r = arg;
	for (;;) {
		int c = accept(r->fd, NULL, NULL);
		if (c < 0)
			return NULL;
		size_t n = 0;
		ssize_t k;
		char *end = NULL;
		long clen = -1;
		while (n < sizeof r->last - 1 && (k = read(c, r->last + n, sizeof r->last - 1 - n)) > 0) {
			n += (size_t)k;
			r->last[n] = '\0';
			end = strstr(r->last, "\r\n\r\n");
			char *cl = strcasestr(r->last, "Content-Length:");
			if (cl)
				clen = strtol(cl + 15, NULL, 10);
			if (end && clen >= 0 && (size_t)(end + 4 - r->last) + (size_t)clen <= n)
				break;
		}
		if (r->f && end) {
			/* act as the server's webhook endpoint */
			struct sf_pay_notice no = {.body = end + 4, .len = strlen(end + 4)};
			char ts[32] = "", sig[128] = "", ev[64] = "";
			char *h;
			if ((h = strcasestr(r->last, "Storefort-Timestamp: ")))
				sscanf(h + 21, "%31[0-9]", ts);
			if ((h = strcasestr(r->last, "Storefort-Signature: ")))
				sscanf(h + 21, "%127[v1=0-9a-f]", sig);
			if ((h = strcasestr(r->last, "Storefort-Event-Id: ")))
				sscanf(h + 20, "%63[A-Za-z0-9_]", ev);
			no.timestamp = ts;
			no.signature = sig;
			no.event_id = ev;
			int replayed = 0;
			r->applied += sf_pay_webhook_sandbox(r->p, r->f->db, r->f->kr, &no, &replayed) == SF_OK;
		}
		r->hits++;
		char resp[512], js[256] = "";
		if (r->answer)
			snprintf(js, sizeof js, "%s", r->answer);
		else if (r->stripe && !strncmp(r->last, "POST /v1/refunds ", 17))
			snprintf(js, sizeof js, "{\"id\":\"re_unit_%d\",\"object\":\"refund\",\"status\":\"%s\"}",
				 r->hits, r->status == 200 ? "succeeded" : "failed");
		else if (r->stripe) /* the documented answer's members that storefort reads, one session per call */
			snprintf(js, sizeof js,
				 "{\"id\":\"cs_test_unit_%d\",\"object\":\"checkout.session\","
				 "\"url\":\"https://checkout.stripe.com/c/pay/cs_test_unit_%d\"}",
				 r->hits, r->hits);
		int m = snprintf(resp, sizeof resp,
				 "HTTP/1.1 %d X\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n"
				 "Connection: close\r\n\r\n%s",
				 r->status, strlen(js), js);
		if (write(c, resp, (size_t)m) < 0)
			r->hits += 0;
		close(c);
	}
}

/* A listening socket on a free loopback port. */
static int listen_loopback(int backlog, int *port)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
	socklen_t l = sizeof a;
	getsockname(fd, (struct sockaddr *)&a, &l);
	*port = ntohs(a.sin_port);
	assert_int_equal(listen(fd, backlog), 0);
	return fd;
}

static void rx_start(struct rx *r, int status)
{
	r->status = status;
	r->fd = listen_loopback(16, &r->port);
	assert_int_equal(pthread_create(&r->t, NULL, rx_run, r), 0);
}

static void listener_stop(int fd, pthread_t t)
{
	shutdown(fd, SHUT_RDWR);
	close(fd);
	pthread_join(t, NULL);
}

static void rx_stop(struct rx *r)
{
	listener_stop(r->fd, r->t);
}

/* ==== Sandbox end to end, through the sender ==== */

static struct sf_payments *sandbox(const char *self)
{
	char path[128];
	snprintf(path, sizeof path, "/tmp/sf-pay-secret-%d", (int)getpid());
	FILE *fp = fopen(path, "w");
	fputs("  unit-sandbox-secret\n", fp);
	fclose(fp);
	struct sf_pay_options o = {.provider = SF_PAY_SANDBOX, .sandbox_secret_file = path, .self_url = self};
	struct sf_payments *p = NULL;
	char err[256];
	assert_int_equal(sf_payments_new(&o, &p, err, sizeof err), SF_OK);
	unlink(path);
	size_t n = 0;
	assert_memory_equal(sf_pay_sandbox_secret(p, &n), "unit-sandbox-secret", 19);
	assert_int_equal(n, 19);
	return p;
}

/* Is order oid in status? */
/* Set one integer column of order oid behind the code's back. */
static void order_set(struct shop_fx *f, int64_t oid, const char *col, int64_t v)
{
	char sql[160];
	snprintf(sql, sizeof sql, "UPDATE orders SET %s = %lld WHERE id = %lld", col, (long long)v, (long long)oid);
	cfx_sql(f, sql);
}

static int order_is(struct shop_fx *f, int64_t oid, const char *status)
{
	char sql[160];
	snprintf(sql, sizeof sql, "SELECT count(*) FROM orders WHERE id = %lld AND status = '%s'", (long long)oid,
		 status);
	return cfx_int(f, sql) == 1;
}

static void test_sandbox_flow(void **state)
{
	struct shop_fx *f = *state;
	struct rx r = {.f = f};
	rx_start(&r, 200);
	char self[64];
	snprintf(self, sizeof self, "http://127.0.0.1:%d", r.port);
	r.p = sandbox(self);
	struct sf_cart_owner o, other;
	cfx_guest(&o);
	cfx_guest(&other);
	int64_t oid = 0;
	assert_int_equal(cfx_buy(f, &o, "TEE-S", 1, "pay-unit-key-1", &oid), SF_OK);
	struct sf_order_viewer v = {.owner = &other}, mine = {.owner = &o};
	char *url = NULL;
	assert_int_equal(sf_pay_start(r.p, f->db, f->kr, oid, &v, &url), SF_ERR_NOT_FOUND);
	assert_int_equal(sf_pay_start(r.p, f->db, f->kr, oid, &mine, &url), SF_OK);
	assert_true(!strncmp(url, "/sandbox-pay/sbx_", 17));
	const char *session = url + strlen("/sandbox-pay/");
	json_t *view = NULL;
	assert_int_equal(sf_pay_sandbox_view(f->db, session, &view), SF_OK);
	assert_true(json_is_true(json_object_get(view, "is_open")));
	json_decref(view);
	assert_int_equal(sf_pay_sandbox_view(f->db, "sbx_nope'", &view), SF_ERR_NOT_FOUND);
	int64_t got = 0;
	assert_int_equal(sf_pay_sandbox_decide(r.p, f->db, session, 1, &got), SF_OK);
	assert_int_equal(got, oid);
	assert_int_equal(sf_pay_sandbox_decide(r.p, f->db, session, 1, &got), SF_ERR_PAYMENT_SESSION);
	/* not applied inline: the sender delivers it */
	assert_int_equal(cfx_int(f, "SELECT count(*) FROM orders WHERE status = 'paid'"), 0);
	size_t klen = 0;
	const unsigned char *key = sf_pay_sandbox_secret(r.p, &klen);
	struct sf_webhook_sender_opts so = {.timeout_s = 2, .max_attempts = 3, .allow_private = 1, .internal_secret = key,
					    .internal_secret_len = klen};
	struct sf_webhook_sender *s = NULL;
	assert_int_equal(sf_webhook_sender_new(f->db, f->kr, &so, &s), SF_OK);
	assert_int_equal(sf_webhook_sender_run_once(s, (int64_t)time(NULL)), 1);
	assert_int_equal(r.applied, 1);
	assert_true(order_is(f, oid, "paid"));
	assert_int_equal(cfx_int(f, "SELECT count(*) FROM webhook_deliveries WHERE status = 'delivered'"), 1);
	assert_int_equal(sf_webhook_sender_run_once(s, (int64_t)time(NULL)), 0); /* nothing left */
	/* the same notification delivered again (a replay) changes nothing */
	cfx_sql(f, "UPDATE webhook_deliveries SET status = 'pending', next_at = 0");
	int before = r.applied;
	sf_webhook_sender_run_once(s, (int64_t)time(NULL));
	assert_int_equal(r.applied, before + 1); /* SF_OK with replayed */
	assert_int_equal(cfx_int(f, "SELECT count(*) FROM order_payments WHERE kind = 'settled'"), 1);
	assert_true(cfx_int(f, "SELECT count(*) FROM audit_events WHERE action = 'payment.webhook_replay'") >= 1);
	free(url);
	/* The pay step again: a paid order is past paying; an unknown one is not found. */
	url = NULL;
	assert_int_equal(sf_pay_start(r.p, f->db, f->kr, oid, &mine, &url), SF_ERR_ORDER_STATE);
	assert_null(url);
	assert_int_equal(sf_pay_start(r.p, f->db, f->kr, oid + 1000, &mine, &url), SF_ERR_NOT_FOUND);
	assert_int_equal(sf_pay_start(r.p, f->db, f->kr, -1, &mine, &url), SF_ERR_NOT_FOUND);
	/* A pending order whose reservation ran out is expired by the pay step
	 * itself (stock back, cancelled), and not paid. */
	int64_t late = 0;
	assert_int_equal(cfx_buy(f, &o, "TEE-S", 1, "pay-unit-key-2", &late), SF_OK);
	order_set(f, late, "reserved_until", 1);
	int sessions = cfx_int(f, "SELECT count(*) FROM payment_sessions");
	assert_int_equal(sf_pay_start(r.p, f->db, f->kr, late, &mine, &url), SF_ERR_ORDER_STATE);
	assert_null(url);
	assert_true(order_is(f, late, "cancelled"));
	assert_int_equal(cfx_int(f, "SELECT count(*) FROM payment_sessions"), sessions);
	sf_webhook_sender_stop(s);
	rx_stop(&r);
	sf_payments_free(r.p);
}

/* A sandbox provider that notifies nobody, and a guest's order of qty sku;
 * with url, its payment started too (*url: the sandbox page, caller frees). */
static struct sf_payments *sandbox_order(struct shop_fx *f, const char *sku, int qty, const char *key,
					 struct sf_cart_owner *o, int64_t *oid, char **url)
{
	cfx_guest(o);
	assert_int_equal(cfx_buy(f, o, sku, qty, key, oid), SF_OK);
	struct sf_payments *p = sandbox("http://127.0.0.1:9");
	if (url) {
		struct sf_order_viewer v = {.owner = o};
		*url = NULL;
		assert_int_equal(sf_pay_start(p, f->db, f->kr, *oid, &v, url), SF_OK);
	}
	return p;
}

/* The checkout that starts its payment reads the order once: the brief of
 * the fetched order must equal the one read on its own, and a member
 * missing or of the wrong type must be an error, not a payment for
 * amount 0 or another currency. */
static void test_start_from_fetched_order(void **state)
{
	struct shop_fx *f = *state;
	struct sf_cart_owner o;
	int64_t oid = 0;
	struct sf_payments *p = sandbox_order(f, "TEE-S", 2, "pay-unit-brief-1", &o, &oid, NULL);
	struct sf_order_viewer mine = {.owner = &o};
	json_t *order = NULL;
	assert_int_equal(sf_order_fetch(f->db, f->kr, oid, &mine, 0, &order), SF_OK);
	struct sf_order_brief a, b;
	assert_int_equal(sf_order_brief(f->db, f->kr, oid, &mine, &a), SF_OK);
	assert_int_equal(sf_order_brief_of(order, &b), SF_OK);
	assert_int_equal(b.status, SF_ORDER_PENDING_PAYMENT);
	assert_int_equal(b.status, a.status);
	assert_int_equal(b.total, a.total);
	assert_true(b.total > 0);
	assert_int_equal(b.reserved_until, a.reserved_until);
	assert_string_equal(b.currency, a.currency);
	char *url = NULL;
	assert_int_equal(sf_pay_start_brief(p, f->db, f->kr, oid, &b, &url), SF_OK);
	assert_true(!strncmp(url, "/sandbox-pay/sbx_", 17));
	free(url);
	char sql[160];
	/* the sandbox's session does not expire: the reservation stays as it was */
	snprintf(sql, sizeof sql, "SELECT reserved_until FROM orders WHERE id = %lld", (long long)oid);
	assert_int_equal(cfx_int(f, sql), a.reserved_until);
	snprintf(sql, sizeof sql, "SELECT count(*) FROM payment_sessions WHERE order_id = %lld AND amount_minor = %lld",
		 (long long)oid, (long long)a.total);
	assert_int_equal(cfx_int(f, sql), 1);
	/* each member broken in turn */
	static const char *const broken[][2] = {
		{"status", "\"paid-ish\""}, {"status", "3"},		  {"reserved_until", "\"soon\""},
		{"currency", "\"EURO\""},   {"currency", "null"},	  {"totals", "{}"},
		{"totals", "{\"total\":{\"amount\":\"12\"}}"},
	};
	for (size_t i = 0; i < sizeof broken / sizeof broken[0]; i++) {
		json_t *copy = json_deep_copy(order);
		json_object_set_new(copy, broken[i][0], json_loads(broken[i][1], JSON_DECODE_ANY, NULL));
		assert_int_equal(sf_order_brief_of(copy, &b), SF_ERR_INTERNAL);
		json_decref(copy);
	}
	assert_int_equal(sf_order_brief_of(NULL, &b), SF_ERR_INTERNAL);
	/* a brief that is no longer pending starts nothing */
	assert_int_equal(sf_order_brief_of(order, &b), SF_OK);
	b.status = SF_ORDER_PAID;
	url = NULL;
	assert_int_equal(sf_pay_start_brief(p, f->db, f->kr, oid, &b, &url), SF_ERR_ORDER_STATE);
	assert_null(url);
	b.status = SF_ORDER_PENDING_PAYMENT;
	b.reserved_until = 1;
	assert_int_equal(sf_pay_start_brief(p, f->db, f->kr, oid, &b, &url), SF_ERR_ORDER_EXPIRED);
	assert_int_equal(sf_pay_start_brief(NULL, f->db, f->kr, oid, &a, &url), SF_ERR_UNAVAILABLE);
	assert_null(url);
	assert_int_equal(cfx_int(f, "SELECT count(*) FROM payment_sessions"), 1);
	json_decref(order);
	sf_payments_free(p);
}

/* ==== Stripe: the session's expiry and the order's reservation ==== */

static void test_stripe_expires_at(void **state)
{
	(void)state;
	const int64_t now = 1700000000;
	const int64_t lo = now + SF_PAY_STRIPE_SESSION_MIN_S + SF_PAY_STRIPE_SKEW_S;
	const int64_t hi = now + SF_PAY_STRIPE_SESSION_MAX_S - SF_PAY_STRIPE_SKEW_S;
	/* a reservation ending within Stripe's 30 minutes: the shortest session Stripe takes */
	assert_int_equal(sf_pay_stripe_expires_at(now, now + 60), lo);
	assert_int_equal(sf_pay_stripe_expires_at(now, now + 30 * 60), lo);
	assert_int_equal(sf_pay_stripe_expires_at(now, lo), lo);
	assert_int_equal(sf_pay_stripe_expires_at(now, lo + SF_PAY_SETTLE_GRACE_S), lo);
	/* longer: the session ends the completion's grace before the reservation */
	assert_int_equal(sf_pay_stripe_expires_at(now, lo + SF_PAY_SETTLE_GRACE_S + 1), lo + 1);
	assert_int_equal(sf_pay_stripe_expires_at(now, now + 3 * 3600), now + 3 * 3600 - SF_PAY_SETTLE_GRACE_S);
	assert_int_equal(sf_pay_stripe_expires_at(now, hi + SF_PAY_SETTLE_GRACE_S), hi);
	/* beyond 24 h: capped, the reservation outlasts the session */
	assert_int_equal(sf_pay_stripe_expires_at(now, hi + SF_PAY_SETTLE_GRACE_S + 1), hi);
	assert_int_equal(sf_pay_stripe_expires_at(now, now + 7 * 86400), hi);
	assert_true(lo >= now + 1800 && hi <= now + 86400);
}

/* A Stripe provider talking to port on loopback. */
static struct sf_payments *stripe_at(int port)
{
	char key[128], whsec[128], base[64];
	snprintf(key, sizeof key, "/tmp/sf-pay-sk-%d", (int)getpid());
	snprintf(whsec, sizeof whsec, "/tmp/sf-pay-whsec-%d", (int)getpid());
	snprintf(base, sizeof base, "http://127.0.0.1:%d", port);
	FILE *fp = fopen(key, "w");
	fputs("sk_test_unit_key\n", fp);
	fclose(fp);
	fp = fopen(whsec, "w");
	fputs(secret, fp);
	fclose(fp);
	struct sf_pay_options o = {.provider = SF_PAY_STRIPE,
				   .stripe_key_file = key,
				   .stripe_whsec_file = whsec,
				   .stripe_api_base = base,
				   .public_base = "https://shop.example"};
	struct sf_payments *p = NULL;
	char err[256];
	assert_int_equal(sf_payments_new(&o, &p, err, sizeof err), SF_OK);
	unlink(key);
	unlink(whsec);
	assert_true(sf_pay_ready(p));
	return p;
}

/* The expires_at of the last request r received (-1: none). */
static int64_t sent_expires_at(const struct rx *r)
{
	const char *body = strstr(r->last, "\r\n\r\n");
	const char *e = body ? strstr(body, "&expires_at=") : NULL;
	return e ? strtoll(e + strlen("&expires_at="), NULL, 10) : -1;
}

static int64_t reserved_until(struct shop_fx *f, int64_t oid)
{
	char sql[128];
	snprintf(sql, sizeof sql, "SELECT reserved_until FROM orders WHERE id = %lld", (long long)oid);
	return cfx_int(f, sql);
}

static int64_t sessions_of(struct shop_fx *f, int64_t oid)
{
	char sql[128];
	snprintf(sql, sizeof sql, "SELECT count(*) FROM payment_sessions WHERE order_id = %lld", (long long)oid);
	return cfx_int(f, sql);
}

/* The completion webhook of Stripe session ref for order oid, applied. */
static enum sf_err stripe_paid(struct shop_fx *f, int64_t oid, const char *ref, const char *pi, const char *event_id,
			       int *unapplied);

static enum sf_err stripe_settle(struct shop_fx *f, int64_t oid, const char *ref, const char *event_id)
{
	int unapplied = 0;
	return stripe_paid(f, oid, ref, NULL, event_id, &unapplied);
}

/* A Stripe provider talking to r (started, answering like Stripe) and a
 * guest o's order of one TEE-S under key. */
static struct sf_payments *stripe_order(struct shop_fx *f, struct rx *r, struct sf_cart_owner *o, const char *key,
					int64_t *oid)
{
	rx_start(r, 200);
	struct sf_payments *p = stripe_at(r->port);
	cfx_guest(o);
	assert_int_equal(cfx_buy(f, o, "TEE-S", 1, key, oid), SF_OK);
	return p;
}

/* Start order oid's Stripe payment as v: the session's reference (the last
 * part of its URL) in ref. */
static void stripe_start(struct shop_fx *f, struct sf_payments *p, int64_t oid, const struct sf_order_viewer *v,
			 char *ref, size_t n)
{
	char *url = NULL;
	assert_int_equal(sf_pay_start(p, f->db, f->kr, oid, v, &url), SF_OK);
	snprintf(ref, n, "%s", strrchr(url, '/') + 1);
	free(url);
}

/* Stripe's session would live 24 h by default, the reservation 30 min: the
 * session is sent with expires_at (in Stripe's window, not before the
 * reservation ends), and the reservation is extended to cover it plus the
 * webhook's grace, so that a payment made on Stripe's page until the
 * session expires still settles instead of paying for a cancelled order. */
static void test_stripe_session_holds_order(void **state)
{
	struct shop_fx *f = *state;
	struct rx r = {.stripe = 1};
	struct sf_cart_owner o;
	int64_t oid = 0, late = 0;
	struct sf_payments *p = stripe_order(f, &r, &o, "pay-unit-stripe-1", &oid);
	struct sf_order_viewer mine = {.owner = &o};
	const int64_t r0 = reserved_until(f, oid);
	const int64_t before = sf_shop_now();
	char *url = NULL;
	assert_int_equal(sf_pay_start(p, f->db, f->kr, oid, &mine, &url), SF_OK);
	const int64_t after = sf_shop_now();
	assert_true(!strncmp(url, "https://checkout.stripe.com/c/pay/cs_test_unit_", 47));
	char ref[64];
	snprintf(ref, sizeof ref, "%s", strrchr(url, '/') + 1);
	free(url);
	/* the request: expires_at within Stripe's window and not before the reservation's end */
	const int64_t exp = sent_expires_at(&r);
	assert_true(exp >= after + 30 * 60);
	assert_true(exp <= before + 24 * 3600);
	assert_true(exp >= r0);
	/* the reservation now covers the session and the webhook's grace */
	const int64_t r1 = reserved_until(f, oid);
	assert_true(r1 >= exp + SF_PAY_SETTLE_GRACE_S);
	assert_true(r1 > r0);
	assert_int_equal(sessions_of(f, oid), 1);
	/* past the old end: neither the reaper nor a read expires the order ... */
	sf_shop_clock_offset(r0 - before + 1);
	int n = -1;
	assert_int_equal(sf_order_expire_due(f->db, f->kr, &n), SF_OK);
	assert_int_equal(n, 0);
	json_t *js = NULL;
	assert_int_equal(sf_order_fetch(f->db, f->kr, oid, &mine, 0, &js), SF_OK);
	assert_string_equal(json_string_value(json_object_get(js, "status")), "pending_payment");
	json_decref(js);
	/* ... nor just before the new end: a payment made in the session's
	 * last second and notified within the grace settles the order */
	sf_shop_clock_offset(r1 - 5 - (int64_t)time(NULL));
	assert_int_equal(sf_order_expire_due(f->db, f->kr, &n), SF_OK);
	assert_int_equal(n, 0);
	assert_int_equal(stripe_settle(f, oid, ref, "evt_unit_stripe_late"), SF_OK);
	assert_true(order_is(f, oid, "paid"));
	sf_shop_clock_offset(0);

	/* the extended reservation still ends: a second order past its new end
	 * is refused payment and reaped (its stock back) */
	assert_int_equal(cfx_buy(f, &o, "TEE-S", 1, "pay-unit-stripe-2", &late), SF_OK);
	const int64_t stock = cfx_stock(f, "TEE-S");
	stripe_start(f, p, late, &mine, ref, sizeof ref);
	const int64_t r2 = reserved_until(f, late);
	assert_true(r2 >= sent_expires_at(&r) + SF_PAY_SETTLE_GRACE_S);
	sf_shop_clock_offset(r2 - (int64_t)time(NULL));
	/* (the money is kept to be refunded: test_unapplied_stripe) */
	assert_int_equal(stripe_settle(f, late, ref, "evt_unit_stripe_too_late"), SF_OK);
	assert_int_equal(cfx_int(f, "SELECT count(*) FROM unapplied_payments WHERE reason = 'order_expired'"), 1);
	assert_true(order_is(f, late, "pending_payment"));
	assert_int_equal(sf_order_expire_due(f->db, f->kr, &n), SF_OK);
	assert_int_equal(n, 1);
	assert_true(order_is(f, late, "cancelled"));
	assert_int_equal(cfx_stock(f, "TEE-S"), stock + 1);
	sf_shop_clock_offset(0);
	rx_stop(&r);
	sf_payments_free(p);
}

/* A Stripe completion (payment intent pi, or NULL) of session ref for order oid. */
static enum sf_err stripe_paid(struct shop_fx *f, int64_t oid, const char *ref, const char *pi, const char *event_id,
			       int *unapplied)
{
	char sql[128];
	snprintf(sql, sizeof sql, "SELECT total_minor FROM orders WHERE id = %lld", (long long)oid);
	struct sf_pay_event e = {.provider = "stripe",
				 .event_id = event_id,
				 .type = "checkout.session.completed",
				 .kind = "settled",
				 .order_id = oid,
				 .ref = ref,
				 .amount = cfx_int(f, sql),
				 .currency = "EUR",
				 .session = ref,
				 .intent = pi};
	int replayed = 0;
	enum sf_err err = sf_pay_apply(f->db, f->kr, &e, NULL, &replayed);
	*unapplied = e.unapplied;
	return err;
}

/* Payments that came too late are kept and refunded, never lost and never
 * applied: the shopper who paid in two tabs, and the completion that
 * arrives after the order was cancelled.  Stripe gets one refund request
 * per payment, with the same idempotency key on every attempt; its
 * charge.refunded for such a payment intent touches no order. */
static void test_unapplied_stripe(void **state)
{
	struct shop_fx *f = *state;
	struct rx r = {.stripe = 1};
	struct sf_cart_owner o;
	int64_t oid = 0, gone = 0;
	struct sf_payments *p = stripe_order(f, &r, &o, "pay-unit-unapplied-1", &oid);
	struct sf_order_viewer mine = {.owner = &o};
	char a[64], b[64];
	int unapplied = 0, refunded = -1;
	stripe_start(f, p, oid, &mine, a, sizeof a);
	stripe_start(f, p, oid, &mine, b, sizeof b); /* a second tab */
	assert_int_equal(stripe_paid(f, oid, a, "pi_unit_a", "evt_unit_un_1", &unapplied), SF_OK);
	assert_int_equal(unapplied, 0);
	assert_true(order_is(f, oid, "paid"));
	/* the second tab's payment: kept, the order paid once */
	assert_int_equal(stripe_paid(f, oid, b, "pi_unit_b", "evt_unit_un_2", &unapplied), SF_OK);
	assert_int_equal(unapplied, 1);
	assert_true(order_is(f, oid, "paid"));
	assert_int_equal(cfx_int(f, "SELECT count(*) FROM order_payments WHERE kind = 'settled'"), 1);
	assert_int_equal(cfx_int(f, "SELECT count(*) FROM unapplied_payments WHERE intent_ref = 'pi_unit_b' AND "
				    "reason = 'invalid_order_state' AND status = 'refund_due'"),
			 1);
	/* the same settlement under another event id is kept once */
	assert_int_equal(stripe_paid(f, oid, b, "pi_unit_b", "evt_unit_un_3", &unapplied), SF_OK);
	assert_int_equal(cfx_int(f, "SELECT count(*) FROM unapplied_payments"), 1);
	assert_int_equal(cfx_int(f, "SELECT count(*) FROM audit_events WHERE action = 'payment.unapplied'"), 1);

	/* Stripe fails: retried later with backoff, the key unchanged */
	r.status = 500;
	int hits = r.hits;
	assert_int_equal(sf_pay_refund_due(p, f->db, f->kr, &refunded), SF_OK);
	assert_int_equal(refunded, 0);
	assert_int_equal(r.hits, hits + 1);
	assert_non_null(strstr(r.last, "POST /v1/refunds "));
	assert_non_null(strcasestr(r.last, "Idempotency-Key: storefort-unapplied-"));
	assert_non_null(strstr(r.last, "payment_intent=pi_unit_b"));
	char key1[96];
	sscanf(strcasestr(r.last, "Idempotency-Key: ") + 17, "%95[a-z0-9-]", key1);
	assert_int_equal(cfx_int(f, "SELECT count(*) FROM unapplied_payments WHERE status = 'refund_due' AND "
				    "attempts = 1 AND last_error LIKE 'stripe answered 500%'"),
			 1);
	assert_true(cfx_int(f, "SELECT next_at FROM unapplied_payments") > (int64_t)time(NULL) + 30);
	assert_int_equal(sf_pay_refund_due(p, f->db, f->kr, &refunded), SF_OK); /* not due yet */
	assert_int_equal(r.hits, hits + 1);
	/* due again, and Stripe answers: refunded, with Stripe's refund id */
	cfx_sql(f, "UPDATE unapplied_payments SET next_at = 0");
	r.status = 200;
	assert_int_equal(sf_pay_refund_due(p, f->db, f->kr, &refunded), SF_OK);
	assert_int_equal(refunded, 1);
	char key2[96];
	sscanf(strcasestr(r.last, "Idempotency-Key: ") + 17, "%95[a-z0-9-]", key2);
	assert_string_equal(key1, key2);
	char amount[64];
	snprintf(amount, sizeof amount, "amount=%lld",
		 (long long)cfx_int(f, "SELECT amount_minor FROM unapplied_payments"));
	assert_non_null(strstr(r.last, amount));
	assert_int_equal(cfx_int(f, "SELECT count(*) FROM unapplied_payments WHERE status = 'refunded' AND "
				    "refund_ref LIKE 're_unit_%' AND attempts = 2 AND last_error IS NULL"),
			 1);
	assert_int_equal(
		cfx_int(f, "SELECT count(*) FROM audit_events WHERE action = 'payment.unapplied_refunded'"), 1);
	/* Stripe's charge.refunded for that payment intent: the order keeps its payment */
	struct sf_pay_event rf = {.provider = "stripe",
				  .event_id = "evt_unit_un_4",
				  .type = "charge.refunded",
				  .kind = "refund_total",
				  .ref = "ch_unit_b-100",
				  .amount = 100,
				  .currency = "EUR",
				  .reason = "refunded at Stripe",
				  .by_intent = "pi_unit_b"};
	int replayed = 0;
	assert_int_equal(sf_pay_apply(f->db, f->kr, &rf, NULL, &replayed), SF_OK);
	assert_int_equal(rf.unapplied, 1);
	assert_true(order_is(f, oid, "paid"));
	assert_int_equal(cfx_int(f, "SELECT count(*) FROM order_payments WHERE kind = 'refund'"), 0);
	/* what staff see */
	json_t *list = NULL, *staff = NULL;
	assert_int_equal(sf_pay_order_refunds(f->db, oid, &list, &staff), SF_OK);
	assert_int_equal(json_array_size(list), 1);
	assert_int_equal(json_array_size(staff), 0);
	json_decref(staff);
	assert_string_equal(json_string_value(json_object_get(json_array_get(list, 0), "status")), "refunded");
	assert_string_equal(json_string_value(json_object_get(json_array_get(list, 0), "reason")),
			    "invalid_order_state");
	json_decref(list);

	/* a completion after the order was cancelled, and a provider that keeps failing */
	assert_int_equal(cfx_buy(f, &o, "TEE-S", 1, "pay-unit-unapplied-2", &gone), SF_OK);
	stripe_start(f, p, gone, &mine, a, sizeof a);
	order_set(f, gone, "reserved_until", 1);
	int n = 0;
	assert_int_equal(sf_order_expire_due(f->db, f->kr, &n), SF_OK);
	assert_true(order_is(f, gone, "cancelled"));
	const int64_t stock = cfx_stock(f, "TEE-S");
	assert_int_equal(stripe_paid(f, gone, a, "pi_unit_c", "evt_unit_un_5", &unapplied), SF_OK);
	assert_int_equal(unapplied, 1);
	assert_true(order_is(f, gone, "cancelled"));
	assert_int_equal(cfx_stock(f, "TEE-S"), stock);
	r.status = 402;
	for (int i = 0; i < SF_PAY_REFUND_TRIES; i++) {
		cfx_sql(f, "UPDATE unapplied_payments SET next_at = 0");
		assert_int_equal(sf_pay_refund_due(p, f->db, f->kr, &refunded), SF_OK);
		assert_int_equal(refunded, 0);
	}
	assert_int_equal(cfx_int(f, "SELECT count(*) FROM unapplied_payments WHERE intent_ref = 'pi_unit_c' AND "
				    "status = 'refund_failed' AND reason = 'invalid_order_state'"),
			 1);
	assert_int_equal(
		cfx_int(f, "SELECT count(*) FROM audit_events WHERE action = 'payment.unapplied_refund_failed'"), 1);
	hits = r.hits;
	cfx_sql(f, "UPDATE unapplied_payments SET next_at = 0");
	assert_int_equal(sf_pay_refund_due(p, f->db, f->kr, &refunded), SF_OK); /* given up: staff's now */
	assert_int_equal(r.hits, hits);
	/* refunded by staff in Stripe's dashboard: its charge.refunded closes it */
	rf.event_id = "evt_unit_un_6";
	rf.by_intent = "pi_unit_c";
	rf.ref = "ch_unit_c-100";
	assert_int_equal(sf_pay_apply(f->db, f->kr, &rf, NULL, &replayed), SF_OK);
	assert_int_equal(cfx_int(f, "SELECT count(*) FROM unapplied_payments WHERE intent_ref = 'pi_unit_c' AND "
				    "status = 'refunded' AND refund_ref = 'ch_unit_c-100'"),
			 1);
	assert_true(order_is(f, gone, "cancelled"));
	rx_stop(&r);
	sf_payments_free(p);
}

/* Staff's refund asked in a write transaction, as the back office does. */
struct staff_req {
	const struct sf_keyring *kr;
	int64_t oid, amount, id;
	const char *key, *reason;
	enum sf_err err;
};

static enum sf_db_status staff_req_txn(struct sf_db_conn *c, void *vctx)
{
	struct staff_req *x = vctx;
	const struct sf_shop_actor staff = {.type = "staff", .id = "7"};
	x->err = sf_pay_refund_request(c, x->kr, x->oid, x->key, x->amount, x->reason, &staff, &x->id);
	return sf_db_status_from_err(x->err);
}

static enum sf_err staff_refund(struct shop_fx *f, int64_t oid, const char *key, int64_t amount, const char *reason,
				int64_t *id)
{
	struct staff_req x = {.kr = f->kr, .oid = oid, .amount = amount, .key = key, .reason = reason};
	enum sf_db_status st = sf_db_txn(f->db, staff_req_txn, &x, 5);
	*id = x.id;
	return x.err ? x.err : st < 0 ? sf_db_err(st) : SF_OK;
}

static int64_t order_int(struct shop_fx *f, const char *col, int64_t oid)
{
	char sql[160];
	snprintf(sql, sizeof sql, "SELECT %s FROM orders WHERE id = %lld", col, (long long)oid);
	return cfx_int(f, sql);
}

/* A Stripe refund of amount of order oid (by charge.refunded, cumulative
 * total) under event_id. */
static enum sf_err stripe_refunded(struct shop_fx *f, const char *pi, int64_t total, const char *event_id)
{
	char ref[64];
	snprintf(ref, sizeof ref, "ch_unit-%lld", (long long)total);
	struct sf_pay_event e = {.provider = "stripe", .event_id = event_id, .type = "charge.refunded",
				 .kind = "refund_total", .ref = ref, .amount = total, .currency = "EUR",
				 .reason = "refunded at Stripe", .by_intent = pi};
	int replayed = 0;
	return sf_pay_apply(f->db, f->kr, &e, NULL, &replayed);
}

/* Staff's refund goes to Stripe, and the order is refunded only when
 * Stripe has returned the money: one refund per form, the same
 * idempotency key on every attempt, never more than was paid (refunds
 * still due count), and Stripe's charge.refunded for it never counts it a
 * second time. */
static void test_staff_refund_stripe(void **state)
{
	struct shop_fx *f = *state;
	struct rx r = {.stripe = 1};
	struct sf_cart_owner o;
	int64_t oid = 0, other = 0, id = 0, id2 = 0;
	struct sf_payments *p = stripe_order(f, &r, &o, "pay-unit-staff-1", &oid);
	struct sf_order_viewer mine = {.owner = &o};
	char a[64], key1[96], key2[96], sql[256];
	int unapplied = 0, refunded = 0;
	stripe_start(f, p, oid, &mine, a, sizeof a);
	assert_int_equal(stripe_paid(f, oid, a, "pi_unit_s", "evt_unit_sr_1", &unapplied), SF_OK);
	assert_true(order_is(f, oid, "paid"));
	const int64_t total = order_int(f, "total_minor", oid);
	assert_true(total > 400);
	assert_int_equal(cfx_buy(f, &o, "TEE-S", 1, "pay-unit-staff-2", &other), SF_OK); /* not paid */

	/* hostile or impossible requests write nothing */
	assert_int_equal(staff_refund(f, oid, "bo-unit-0", 0, NULL, &id), SF_ERR_AMOUNT_MISMATCH);
	assert_int_equal(staff_refund(f, oid, "bo-unit-0", -5, NULL, &id), SF_ERR_AMOUNT_MISMATCH);
	assert_int_equal(staff_refund(f, oid, "bo-unit-0", total + 1, NULL, &id), SF_ERR_AMOUNT_MISMATCH);
	assert_int_equal(staff_refund(f, oid, "bo unit'0", 100, NULL, &id), SF_ERR_INVALID);
	assert_int_equal(staff_refund(f, oid, "", 100, NULL, &id), SF_ERR_INVALID);
	assert_int_equal(staff_refund(f, oid, "bo-unit-0", 100, "card 4111 1111 1111 1111", &id), SF_ERR_INVALID);
	assert_int_equal(staff_refund(f, 999999, "bo-unit-0", 100, NULL, &id), SF_ERR_NOT_FOUND);
	assert_int_equal(staff_refund(f, other, "bo-unit-0", 100, NULL, &id), SF_ERR_ORDER_STATE);
	assert_int_equal(cfx_int(f, "SELECT count(*) FROM order_refunds"), 0);
	assert_int_equal(cfx_int(f, "SELECT count(*) FROM audit_events WHERE action = 'order.refund_requested'"), 0);

	/* asked while Stripe fails: kept due, the order untouched */
	r.status = 500;
	int hits = r.hits;
	assert_int_equal(staff_refund(f, oid, "bo-unit-1", 300, "scratched", &id), SF_OK);
	assert_true(id > 0);
	assert_int_equal(cfx_int(f, "SELECT count(*) FROM audit_events WHERE action = 'order.refund_requested' AND "
				    "actor_id = '7'"),
			 1);
	assert_int_equal(sf_pay_refund_send(p, f->db, f->kr, id), SF_OK);
	assert_int_equal(r.hits, hits + 1);
	assert_non_null(strstr(r.last, "POST /v1/refunds "));
	assert_non_null(strstr(r.last, "payment_intent=pi_unit_s"));
	assert_non_null(strstr(r.last, "amount=300&"));
	snprintf(sql, sizeof sql, "Idempotency-Key: storefort-refund-%lld\r\n", (long long)id);
	assert_non_null(strcasestr(r.last, sql));
	sscanf(strcasestr(r.last, "Idempotency-Key: ") + 17, "%95[a-z0-9-]", key1);
	assert_int_equal(cfx_int(f, "SELECT count(*) FROM order_refunds WHERE status = 'refund_due' AND attempts = 1 "
				    "AND last_error LIKE 'stripe answered 500%' AND intent_ref = 'pi_unit_s'"),
			 1);
	assert_true(order_is(f, oid, "paid"));
	assert_int_equal(order_int(f, "refunded_minor", oid), 0);
	assert_int_equal(cfx_int(f, "SELECT count(*) FROM order_payments WHERE kind = 'refund'"), 0);
	/* the same form again is the same refund */
	assert_int_equal(staff_refund(f, oid, "bo-unit-1", 300, "scratched", &id2), SF_OK);
	assert_int_equal(id2, id);
	assert_int_equal(cfx_int(f, "SELECT count(*) FROM order_refunds"), 1);
	/* a refund still due counts against what may be refunded */
	assert_int_equal(staff_refund(f, oid, "bo-unit-2", total - 300 + 1, NULL, &id2), SF_ERR_AMOUNT_MISMATCH);
	/* Stripe did refund, and its charge.refunded comes before the answer
	 * is recorded: acknowledged, not counted twice */
	assert_int_equal(stripe_refunded(f, "pi_unit_s", 300, "evt_unit_sr_2"), SF_OK);
	assert_int_equal(order_int(f, "refunded_minor", oid), 0);
	assert_int_equal(cfx_int(f, "SELECT count(*) FROM audit_events WHERE action = 'payment.webhook_ignored'"), 1);

	/* the refunder retries with the same key: refunded, the order with it */
	cfx_sql(f, "UPDATE order_refunds SET next_at = 0");
	r.status = 200;
	assert_int_equal(sf_pay_refund_due(p, f->db, f->kr, &refunded), SF_OK);
	assert_int_equal(refunded, 1);
	sscanf(strcasestr(r.last, "Idempotency-Key: ") + 17, "%95[a-z0-9-]", key2);
	assert_string_equal(key1, key2);
	assert_true(order_is(f, oid, "partially_refunded"));
	assert_int_equal(order_int(f, "refunded_minor", oid), 300);
	assert_int_equal(cfx_int(f, "SELECT count(*) FROM order_refunds WHERE status = 'refunded' AND "
				    "refund_ref LIKE 're_unit_%' AND last_error IS NULL"),
			 1);
	assert_int_equal(cfx_int(f, "SELECT count(*) FROM order_payments WHERE kind = 'refund' AND provider = 'stripe' "
				    "AND amount_minor = 300 AND provider_ref LIKE 're_unit_%'"),
			 1);
	assert_int_equal(cfx_int(f, "SELECT count(*) FROM audit_events WHERE action = 'order.refund' AND "
				    "actor_type = 'staff' AND actor_id = '7'"),
			 1);
	/* sent again (a second click's attempt): nothing more */
	hits = r.hits;
	assert_int_equal(sf_pay_refund_send(p, f->db, f->kr, id), SF_OK);
	assert_int_equal(r.hits, hits);
	/* Stripe's charge.refunded after it: nothing new */
	assert_int_equal(stripe_refunded(f, "pi_unit_s", 300, "evt_unit_sr_3"), SF_OK);
	assert_int_equal(order_int(f, "refunded_minor", oid), 300);
	/* a refund made in Stripe's dashboard meanwhile is still counted */
	assert_int_equal(stripe_refunded(f, "pi_unit_s", 400, "evt_unit_sr_4"), SF_OK);
	assert_int_equal(order_int(f, "refunded_minor", oid), 400);
	/* the rest: the order refunded */
	assert_int_equal(staff_refund(f, oid, "bo-unit-3", total - 400, NULL, &id2), SF_OK);
	assert_int_equal(sf_pay_refund_send(p, f->db, f->kr, id2), SF_OK);
	assert_true(order_is(f, oid, "refunded"));
	assert_int_equal(order_int(f, "refunded_minor", oid), total);
	assert_int_equal(staff_refund(f, oid, "bo-unit-4", 1, NULL, &id2), SF_ERR_ORDER_STATE);

	/* Stripe refusing for good: refund_failed after the tries, the order as it was */
	stripe_start(f, p, other, &mine, a, sizeof a);
	assert_int_equal(stripe_paid(f, other, a, "pi_unit_t", "evt_unit_sr_5", &unapplied), SF_OK);
	r.status = 402;
	assert_int_equal(staff_refund(f, other, "bo-unit-5", 100, NULL, &id), SF_OK);
	assert_int_equal(sf_pay_refund_send(p, f->db, f->kr, id), SF_OK);
	for (int i = 1; i < SF_PAY_REFUND_TRIES; i++) {
		cfx_sql(f, "UPDATE order_refunds SET next_at = 0");
		assert_int_equal(sf_pay_refund_due(p, f->db, f->kr, &refunded), SF_OK);
		assert_int_equal(refunded, 0);
	}
	snprintf(sql, sizeof sql, "SELECT count(*) FROM order_refunds WHERE id = %lld AND status = 'refund_failed' AND "
				  "attempts = %d", (long long)id, SF_PAY_REFUND_TRIES);
	assert_int_equal(cfx_int(f, sql), 1);
	assert_int_equal(cfx_int(f, "SELECT count(*) FROM audit_events WHERE action = 'order.refund_failed'"), 1);
	assert_true(order_is(f, other, "paid"));
	assert_int_equal(order_int(f, "refunded_minor", other), 0);
	/* what staff see */
	json_t *list = NULL, *staff = NULL;
	assert_int_equal(sf_pay_order_refunds(f->db, other, &list, &staff), SF_OK);
	assert_int_equal(json_array_size(list), 0);
	assert_int_equal(json_array_size(staff), 1);
	assert_string_equal(json_string_value(json_object_get(json_array_get(staff, 0), "status")), "refund_failed");
	assert_string_equal(json_string_value(json_object_get(json_array_get(staff, 0), "by")), "7");
	json_decref(list);
	json_decref(staff);
	/* the order changed between the request and Stripe's answer: the money
	 * went back all the same, recorded on the refund and audited, the order
	 * as it is */
	r.status = 200;
	assert_int_equal(staff_refund(f, other, "bo-unit-7", 100, NULL, &id), SF_OK);
	snprintf(sql, sizeof sql, "UPDATE orders SET status = 'cancelled' WHERE id = %lld", (long long)other);
	cfx_sql(f, sql);
	assert_int_equal(sf_pay_refund_send(p, f->db, f->kr, id), SF_OK);
	snprintf(sql, sizeof sql, "SELECT count(*) FROM order_refunds WHERE id = %lld AND status = 'refunded' AND "
				  "last_error LIKE '%%not applied to the order: invalid_order_state'", (long long)id);
	assert_int_equal(cfx_int(f, sql), 1);
	assert_int_equal(cfx_int(f, "SELECT count(*) FROM audit_events WHERE action = 'order.refund_not_applied'"), 1);
	assert_true(order_is(f, other, "cancelled"));
	assert_int_equal(order_int(f, "refunded_minor", other), 0);
	/* a payment without a payment intent cannot be refunded through Stripe */
	int64_t third = 0;
	assert_int_equal(cfx_buy(f, &o, "BOOK", 1, "pay-unit-staff-3", &third), SF_OK);
	stripe_start(f, p, third, &mine, a, sizeof a);
	assert_int_equal(stripe_paid(f, third, a, NULL, "evt_unit_sr_6", &unapplied), SF_OK);
	assert_true(order_is(f, third, "paid"));
	assert_int_equal(staff_refund(f, third, "bo-unit-6", 100, NULL, &id), SF_ERR_REFUND_PROVIDER);
	rx_stop(&r);
	sf_payments_free(p);
}

/* Stripe refuses a session below its minimum charge for the currency
 * (its documented error amount_too_small): the shopper gets that reason,
 * not "provider unreachable"; nothing is recorded and the order stays
 * payable.  Other refusals stay payment_provider_error. */
static void test_stripe_amount_too_small(void **state)
{
	struct shop_fx *f = *state;
	struct sf_cart_owner o;
	struct rx r = {.stripe = 1};
	int64_t oid = 0;
	struct sf_payments *p = stripe_order(f, &r, &o, "pay-unit-small-1", &oid);
	struct sf_order_viewer mine = {.owner = &o};
	char *url = NULL;
	r.status = 400;
	r.answer = "{\"error\":{\"code\":\"amount_too_small\",\"message\":\"Amount must be at least 0.50 eur\","
		   "\"param\":\"line_items[0][price_data][unit_amount]\",\"type\":\"invalid_request_error\"}}";
	assert_int_equal(sf_pay_start(p, f->db, f->kr, oid, &mine, &url), SF_ERR_AMOUNT_TOO_SMALL);
	assert_null(url);
	assert_int_equal(r.hits, 1);
	assert_int_equal(sessions_of(f, oid), 0);
	assert_true(order_is(f, oid, "pending_payment"));
	r.answer = "{\"error\":{\"code\":\"parameter_invalid_integer\",\"type\":\"invalid_request_error\"}}";
	assert_int_equal(sf_pay_start(p, f->db, f->kr, oid, &mine, &url), SF_ERR_PAYMENT_PROVIDER);
	r.answer = "{\"error\":{\"code\":\"amount_too_small\"}}";
	r.status = 500; /* only a 400 says the amount is the cause */
	assert_int_equal(sf_pay_start(p, f->db, f->kr, oid, &mine, &url), SF_ERR_PAYMENT_PROVIDER);
	r.answer = NULL;
	r.status = 200;
	assert_int_equal(sf_pay_start(p, f->db, f->kr, oid, &mine, &url), SF_OK);
	assert_non_null(url);
	free(url);
	assert_int_equal(sessions_of(f, oid), 1);
	rx_stop(&r);
	sf_payments_free(p);
}

/* An order with nothing to pay is paid at once, with no provider session
 * (Stripe refuses a zero amount), and only once. */
static void test_nothing_to_pay(void **state)
{
	struct shop_fx *f = *state;
	struct sf_cart_owner o;
	struct rx r = {.stripe = 1};
	int64_t oid = 0;
	struct sf_payments *p = stripe_order(f, &r, &o, "pay-unit-free-1", &oid);
	order_set(f, oid, "total_minor", 0);
	struct sf_order_viewer mine = {.owner = &o};
	char *url = NULL, sql[160];
	assert_int_equal(sf_pay_start(p, f->db, f->kr, oid, &mine, &url), SF_OK);
	snprintf(sql, sizeof sql, "/orders/%lld", (long long)oid);
	assert_string_equal(url, sql);
	free(url);
	assert_true(order_is(f, oid, "paid"));
	assert_int_equal(r.hits, 0); /* Stripe was not asked */
	assert_int_equal(sessions_of(f, oid), 0);
	snprintf(sql, sizeof sql,
		 "SELECT count(*) FROM order_payments WHERE order_id = %lld AND provider = 'none' AND "
		 "kind = 'settled' AND amount_minor = 0",
		 (long long)oid);
	assert_int_equal(cfx_int(f, sql), 1);
	assert_int_equal(sf_pay_start(p, f->db, f->kr, oid, &mine, &url), SF_ERR_ORDER_STATE);
	assert_null(url);
	rx_stop(&r);
	sf_payments_free(p);
}

/* A reservation longer than Stripe's 24 h keeps its end (the session is
 * capped and the reservation simply outlasts it); an order that stopped
 * being payable while Stripe answered records nothing and keeps its
 * reservation. */
static void test_stripe_session_bounds_and_races(void **state)
{
	struct shop_fx *f = *state;
	struct rx r = {.stripe = 1};
	struct sf_cart_owner o;
	int64_t oid = 0;
	char sql[160], *url = NULL;
	struct sf_payments *p = stripe_order(f, &r, &o, "pay-unit-stripe-3", &oid);
	struct sf_order_viewer mine = {.owner = &o};
	const int64_t far = sf_shop_now() + 3 * 86400;
	order_set(f, oid, "reserved_until", far);
	const int64_t before = sf_shop_now();
	assert_int_equal(sf_pay_start(p, f->db, f->kr, oid, &mine, &url), SF_OK);
	free(url);
	const int64_t exp = sent_expires_at(&r);
	assert_true(exp <= before + 24 * 3600 && exp >= before + 23 * 3600);
	assert_int_equal(reserved_until(f, oid), far);
	/* an order placed two days ago and held five hours more (a delayed
	 * payment's hold, a long reservation): payable another way, its
	 * reservation left as it is */
	order_set(f, oid, "created_at", sf_shop_now() - 2 * 86400);
	const int64_t late = sf_shop_now() + 5 * 3600;
	order_set(f, oid, "reserved_until", late);
	url = NULL;
	assert_int_equal(sf_pay_start(p, f->db, f->kr, oid, &mine, &url), SF_OK);
	free(url);
	assert_int_equal(sent_expires_at(&r), late - SF_PAY_SETTLE_GRACE_S);
	assert_int_equal(reserved_until(f, oid), late);

	/* ran out between the read and the write: SF_ERR_ORDER_EXPIRED, nothing recorded */
	int64_t gone = 0;
	assert_int_equal(cfx_buy(f, &o, "TEE-S", 1, "pay-unit-stripe-4", &gone), SF_OK);
	struct sf_order_brief b;
	assert_int_equal(sf_order_brief(f->db, f->kr, gone, &mine, &b), SF_OK);
	const int64_t ended = sf_shop_now() - 1;
	order_set(f, gone, "reserved_until", ended);
	int hits = r.hits;
	url = NULL;
	assert_int_equal(sf_pay_start_brief(p, f->db, f->kr, gone, &b, &url), SF_ERR_ORDER_EXPIRED);
	assert_int_equal(r.hits, hits + 1); /* Stripe was asked; its session is never shown */
	assert_null(url);
	assert_int_equal(sessions_of(f, gone), 0);
	assert_int_equal(reserved_until(f, gone), ended);
	/* no longer pending (cancelled meanwhile): SF_ERR_ORDER_STATE, nothing recorded */
	snprintf(sql, sizeof sql, "UPDATE orders SET reserved_until = %lld, status = 'cancelled' WHERE id = %lld",
		 (long long)b.reserved_until, (long long)gone);
	cfx_sql(f, sql);
	assert_int_equal(sf_pay_start_brief(p, f->db, f->kr, gone, &b, &url), SF_ERR_ORDER_STATE);
	assert_null(url);
	assert_int_equal(sessions_of(f, gone), 0);
	assert_int_equal(reserved_until(f, gone), b.reserved_until);
	/* a reservation is not extended past a day after the order: paying
	 * again and again cannot hold its stock for ever */
	int64_t old = 0;
	assert_int_equal(cfx_buy(f, &o, "TEE-S", 1, "pay-unit-stripe-5", &old), SF_OK);
	order_set(f, old, "created_at", sf_shop_now() - SF_ORDER_HOLD_MAX_S + 600);
	const int64_t held = reserved_until(f, old);
	assert_int_equal(sf_pay_start(p, f->db, f->kr, old, &mine, &url), SF_ERR_ORDER_EXPIRED);
	assert_null(url);
	assert_int_equal(sessions_of(f, old), 0);
	assert_int_equal(reserved_until(f, old), held);
	rx_stop(&r);
	sf_payments_free(p);
}

/* sf_pay_apply's session checks, in the transaction that applies the
 * event: a session of another order or an unknown one writes nothing; the
 * payment intent is recorded on an open session and finds its order for a
 * later refund. */
static void test_apply_checks_session(void **state)
{
	struct shop_fx *f = *state;
	struct sf_cart_owner o;
	int64_t oid = 0, other = 0;
	char *url = NULL;
	struct sf_payments *p = sandbox_order(f, "TEE-S", 1, "pay-unit-apply-1", &o, &oid, &url);
	assert_int_equal(cfx_buy(f, &o, "TEE-S", 1, "pay-unit-apply-2", &other), SF_OK);
	const char *session = url + strlen("/sandbox-pay/");
	char sql[256];
	snprintf(sql, sizeof sql, "SELECT total_minor FROM orders WHERE id = %lld", (long long)oid);
	int64_t total = cfx_int(f, sql);
	int replayed = 0;
	struct sf_pay_event e = {.provider = "sandbox",
				 .event_id = "evt_unit_apply_1",
				 .type = "payment.succeeded",
				 .kind = "settled",
				 .order_id = other,
				 .ref = session,
				 .amount = total,
				 .currency = "EUR",
				 .session = session,
				 .intent = "pi_unit_0001"};
	/* the session is oid's: claimed for another order, nothing is written */
	assert_int_equal(sf_pay_apply(f->db, f->kr, &e, NULL, &replayed), SF_ERR_NOT_FOUND);
	assert_int_equal(cfx_int(f, "SELECT count(*) FROM payment_events"), 0);
	assert_int_equal(cfx_int(f, "SELECT count(*) FROM payment_sessions WHERE status = 'open' AND intent_ref IS NULL"), 1);
	/* an unknown session: the same */
	e.order_id = oid;
	e.session = "sbx_AAAAAAAAAAAAAAAAAAAAAAAAAA";
	assert_int_equal(sf_pay_apply(f->db, f->kr, &e, NULL, &replayed), SF_ERR_NOT_FOUND);
	assert_int_equal(cfx_int(f, "SELECT count(*) FROM payment_events"), 0);
	/* its own session: paid, the intent recorded, the session completed */
	e.session = session;
	assert_int_equal(sf_pay_apply(f->db, f->kr, &e, NULL, &replayed), SF_OK);
	assert_int_equal(replayed, 0);
	assert_true(order_is(f, oid, "paid"));
	assert_int_equal(cfx_int(f, "SELECT count(*) FROM payment_sessions WHERE status = 'completed' AND "
				    "intent_ref = 'pi_unit_0001'"),
			 1);
	/* a refund finds its order through the intent; an unknown intent, none */
	struct sf_pay_event r = {.provider = "sandbox",
				 .event_id = "evt_unit_apply_2",
				 .type = "charge.refunded",
				 .kind = "refund_total",
				 .ref = "re_unit_0001",
				 .amount = total,
				 .currency = "EUR",
				 .reason = "unit refund",
				 .by_intent = "pi_unit_none"};
	assert_int_equal(sf_pay_apply(f->db, f->kr, &r, NULL, &replayed), SF_ERR_NOT_FOUND);
	assert_int_equal(r.order_id, 0);
	r.by_intent = "pi_unit_0001";
	assert_int_equal(sf_pay_apply(f->db, f->kr, &r, NULL, &replayed), SF_OK);
	assert_int_equal(r.order_id, oid);
	assert_true(order_is(f, oid, "refunded"));
	assert_true(order_is(f, other, "pending_payment"));
	free(url);
	sf_payments_free(p);
}

static void test_rejections_change_nothing(void **state)
{
	struct shop_fx *f = *state;
	struct sf_cart_owner o;
	int64_t oid = 0;
	char *url = NULL;
	struct sf_payments *p = sandbox_order(f, "BOOK", 1, "pay-unit-key-2", &o, &oid, &url);
	char body[512], sig[65], hdr[80], ts[24];
	snprintf(body, sizeof body,
		 "{\"id\":\"evt_u1\",\"type\":\"payment.succeeded\",\"created\":1,\"data\":{\"session\":\"%s\","
		 "\"order_id\":%lld,\"amount\":1,\"currency\":\"EUR\"}}",
		 url + 13, (long long)oid);
	snprintf(ts, sizeof ts, "%lld", (long long)time(NULL));
	sf_webhook_sign("unit-sandbox-secret", 19, ts, body, strlen(body), sig);
	snprintf(hdr, sizeof hdr, "v1=%s", sig);
	struct sf_pay_notice n = {.body = body, .len = strlen(body), .signature = hdr, .timestamp = ts,
				  .event_id = "evt_u1"};
	int replayed = 0;
	int64_t audits = cfx_int(f, "SELECT count(*) FROM audit_events WHERE action = 'payment.webhook_rejected'");
	n.signature = "v1=00";
	assert_int_equal(sf_pay_webhook_sandbox(p, f->db, f->kr, &n, &replayed), SF_ERR_SIGNATURE);
	n.signature = hdr;
	n.event_id = "evt_other";
	assert_int_equal(sf_pay_webhook_sandbox(p, f->db, f->kr, &n, &replayed), SF_ERR_SIGNATURE);
	/* signed, but not the documented event: "created" is not a number */
	char odd[512], odd_sig[65], odd_hdr[80];
	snprintf(odd, sizeof odd,
		 "{\"id\":\"evt_u1\",\"type\":\"payment.succeeded\",\"created\":\"1\",\"data\":{\"session\":\"%s\","
		 "\"order_id\":%lld,\"amount\":1,\"currency\":\"EUR\"}}",
		 url + 13, (long long)oid);
	sf_webhook_sign("unit-sandbox-secret", 19, ts, odd, strlen(odd), odd_sig);
	snprintf(odd_hdr, sizeof odd_hdr, "v1=%s", odd_sig);
	struct sf_pay_notice on = {.body = odd, .len = strlen(odd), .signature = odd_hdr, .timestamp = ts,
				   .event_id = "evt_u1"};
	assert_int_equal(sf_pay_webhook_sandbox(p, f->db, f->kr, &on, &replayed), SF_ERR_INVALID);
	assert_int_equal(cfx_int(f, "SELECT count(*) FROM payment_events"), 0);
	assert_int_equal(cfx_int(f, "SELECT count(*) FROM audit_events WHERE action = 'payment.webhook_rejected'"),
			 audits + 3);
	/* signed, but the amount is not the order's: the order is left as it
	 * is (still payable), the money kept to be refunded */
	n.event_id = "evt_u1";
	assert_int_equal(sf_pay_webhook_sandbox(p, f->db, f->kr, &n, &replayed), SF_OK);
	assert_int_equal(replayed, 0);
	assert_int_equal(cfx_int(f, "SELECT count(*) FROM orders WHERE status = 'paid'"), 0);
	assert_int_equal(cfx_int(f, "SELECT count(*) FROM order_payments"), 0);
	assert_true(order_is(f, oid, "pending_payment"));
	assert_int_equal(cfx_int(f, "SELECT count(*) FROM unapplied_payments WHERE reason = 'amount_mismatch' "
				    "AND amount_minor = 1 AND status = 'refund_due'"),
			 1);
	assert_int_equal(cfx_int(f, "SELECT count(*) FROM audit_events WHERE action = 'payment.unapplied'"), 1);
	/* the sandbox moves no money: its refund is recorded at once, once */
	int refunded = -1;
	assert_int_equal(sf_pay_refund_due(p, f->db, f->kr, &refunded), SF_OK);
	assert_int_equal(refunded, 1);
	assert_int_equal(cfx_int(f, "SELECT count(*) FROM unapplied_payments WHERE status = 'refunded' AND "
				    "refund_ref LIKE 'sandbox-refund-%'"),
			 1);
	assert_int_equal(sf_pay_refund_due(p, f->db, f->kr, &refunded), SF_OK);
	assert_int_equal(refunded, 0);
	assert_int_equal(
		cfx_int(f, "SELECT count(*) FROM audit_events WHERE action = 'payment.unapplied_refunded'"), 1);
	/* the same event again: a replay, nothing more kept */
	assert_int_equal(sf_pay_webhook_sandbox(p, f->db, f->kr, &n, &replayed), SF_OK);
	assert_int_equal(replayed, 1);
	assert_int_equal(cfx_int(f, "SELECT count(*) FROM unapplied_payments"), 1);
	free(url);
	sf_payments_free(p);
}

/* ==== Outgoing webhooks ==== */

/* An endpoint that accepts connections and never answers until stopped. */
struct hold {
	int fd, port, accepted, conns[64];
	pthread_t t;
};

static void *hold_run(void *arg)
{
	struct hold *h = arg;
	for (;;) {
		int c = accept(h->fd, NULL, NULL);
		if (c < 0)
			return NULL;
		if (h->accepted < 64)
			h->conns[h->accepted] = c;
		else
			close(c);
		h->accepted++;
	}
}

static void hold_stop(struct hold *h)
{
	listener_stop(h->fd, h->t);
	for (int i = 0; i < h->accepted && i < 64; i++)
		close(h->conns[i]);
}

/* A subscriber that never answers holds at most 8 deliveries in flight; the
 * others' deliveries and the sandbox's own notifications go out meanwhile,
 * nothing in flight is sent twice, and what times out is recorded later. */
static void test_sender_slow_endpoint(void **state)
{
	struct shop_fx *f = *state;
	struct sf_shop_actor a = {.type = "cli"};
	struct hold h = {0};
	h.fd = listen_loopback(64, &h.port);
	assert_int_equal(pthread_create(&h.t, NULL, hold_run, &h), 0);
	struct rx r = {0};
	rx_start(&r, 200);
	int64_t slow = 0, fast = 0;
	char sec[SF_WEBHOOK_SECRET_LEN + 1], url[64];
	snprintf(url, sizeof url, "http://127.0.0.1:%d/slow", h.port);
	assert_int_equal(sf_webhook_add(f->db, f->kr, url, "*", &a, &slow, sec), SF_OK);
	snprintf(url, sizeof url, "http://127.0.0.1:%d/fast", r.port);
	assert_int_equal(sf_webhook_add(f->db, f->kr, url, "order.created", &a, &fast, sec), SF_OK);
	struct sf_cart_owner o;
	cfx_guest(&o);
	for (int i = 0; i < 12; i++) {
		char key[32];
		snprintf(key, sizeof key, "pay-unit-slow-%d", i);
		int64_t oid = 0;
		assert_int_equal(cfx_buy(f, &o, "TEE-L", 1, key, &oid), SF_OK);
	}
	/* 12 order.created for each, queued in that order: slow's first */
	assert_int_equal(cfx_int(f, "SELECT count(*) FROM webhook_deliveries WHERE status = 'pending'"), 24);
	const unsigned char key[] = "unit-internal-secret";
	struct sf_webhook_sender_opts so = {.timeout_s = 4, .max_attempts = 3, .allow_private = 1, .internal_secret = key,
					    .internal_secret_len = sizeof key - 1};
	struct sf_webhook_sender *s = NULL;
	assert_int_equal(sf_webhook_sender_new(f->db, f->kr, &so, &s), SF_OK);
	int64_t now = (int64_t)time(NULL);
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	int delivered = 0;
	for (int i = 0; i < 20 && delivered < 12; i++)
		delivered += sf_webhook_sender_run_once(s, now);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	double took = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	assert_int_equal(delivered, 12);
	assert_true(took < 2.0); /* not the slow one's 4 s timeout */
	assert_int_equal(r.hits, 12);
	char sql[200];
	snprintf(sql, sizeof sql, "SELECT count(*) FROM webhook_deliveries WHERE subscription_id = %lld AND "
				  "status = 'delivered'", (long long)fast);
	assert_int_equal(cfx_int(f, sql), 12);
	for (int i = 0; i < 100 && h.accepted < 8; i++)
		usleep(10000);
	assert_int_equal(h.accepted, 8);
	/* the sandbox's own notification, queued now, is not held up either */
	char ins[300];
	snprintf(ins, sizeof ins,
		 "INSERT INTO webhook_deliveries(subscription_id, url, event_id, event_type, body, next_at, created_at) "
		 "VALUES (NULL, 'http://127.0.0.1:%d/sandbox', 'evt_unit_internal', 'payment.approved', '{}', 0, 0)",
		 r.port);
	cfx_sql(f, ins);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (int i = 0; i < 20 && r.hits < 13; i++)
		sf_webhook_sender_run_once(s, now);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	took = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	assert_int_equal(r.hits, 13);
	assert_true(took < 1.0);
	assert_non_null(strstr(r.last, "POST /sandbox "));
	usleep(100000);
	assert_int_equal(h.accepted, 8); /* none sent twice, no ninth to the slow one */
	snprintf(sql, sizeof sql, "SELECT count(*) FROM webhook_deliveries WHERE subscription_id = %lld AND "
				  "status = 'pending' AND attempts = 0", (long long)slow);
	assert_int_equal(cfx_int(f, sql), 12);
	/* after the timeout: 8 recorded as failed attempts, the other 4 go out */
	for (int i = 0; i < 60; i++) {
		sf_webhook_sender_run_once(s, now);
		snprintf(sql, sizeof sql, "SELECT count(*) FROM webhook_deliveries WHERE subscription_id = %lld AND "
					  "attempts = 1 AND last_error LIKE 'Operation timed out%%'", (long long)slow);
		if (cfx_int(f, sql) == 8)
			break;
	}
	assert_int_equal(cfx_int(f, sql), 8);
	for (int i = 0; i < 100 && h.accepted < 12; i++) {
		sf_webhook_sender_run_once(s, now);
		usleep(10000);
	}
	assert_int_equal(h.accepted, 12);
	sf_webhook_sender_stop(s); /* with 4 still in flight: they stay pending */
	snprintf(sql, sizeof sql, "SELECT count(*) FROM webhook_deliveries WHERE subscription_id = %lld AND "
				  "status = 'pending' AND attempts = 0", (long long)slow);
	assert_int_equal(cfx_int(f, sql), 4);
	hold_stop(&h);
	rx_stop(&r);
}

/* A delivery whose outcome cannot be written is not sent again run after
 * run: it is kept until a later run writes it. */
static void test_sender_unrecorded(void **state)
{
	struct shop_fx *f = *state;
	struct sf_shop_actor a = {.type = "cli"};
	struct rx r = {0};
	rx_start(&r, 200);
	int64_t sub = 0;
	char sec[SF_WEBHOOK_SECRET_LEN + 1], url[64];
	snprintf(url, sizeof url, "http://127.0.0.1:%d/h", r.port);
	assert_int_equal(sf_webhook_add(f->db, f->kr, url, "order.created", &a, &sub, sec), SF_OK);
	struct sf_cart_owner o;
	cfx_guest(&o);
	int64_t oid = 0;
	assert_int_equal(cfx_buy(f, &o, "TEE-L", 1, "pay-unit-unrec", &oid), SF_OK);
	cfx_sql(f, "CREATE TRIGGER no_outcome BEFORE UPDATE OF status ON webhook_deliveries "
		   "BEGIN SELECT RAISE(ABORT, 'disk full'); END");
	struct sf_webhook_sender_opts so = {.timeout_s = 2, .max_attempts = 3, .allow_private = 1};
	struct sf_webhook_sender *s = NULL;
	assert_int_equal(sf_webhook_sender_new(f->db, f->kr, &so, &s), SF_OK);
	int64_t now = (int64_t)time(NULL);
	for (int i = 0; i < 4; i++)
		assert_int_equal(sf_webhook_sender_run_once(s, now), 0);
	assert_int_equal(r.hits, 1);
	assert_int_equal(cfx_int(f, "SELECT count(*) FROM webhook_deliveries WHERE status = 'pending'"), 1);
	cfx_sql(f, "DROP TRIGGER no_outcome");
	assert_int_equal(sf_webhook_sender_run_once(s, now), 1); /* the outcome written, not sent again */
	assert_int_equal(r.hits, 1);
	assert_int_equal(cfx_int(f, "SELECT count(*) FROM webhook_deliveries WHERE status = 'delivered'"), 1);
	assert_int_equal(sf_webhook_sender_run_once(s, now), 0);
	assert_int_equal(r.hits, 1);
	sf_webhook_sender_stop(s);
	rx_stop(&r);
}

/* A subscription may not reach this host, its networks or the cloud's
 * metadata service unless [webhooks] allow_private says so: refused at
 * connect time, after DNS, with the reason on the delivery; the sandbox's
 * own notifications to this server are not concerned. */
static void test_private_addresses(void **state)
{
	struct shop_fx *f = *state;
	struct sf_shop_actor a = {.type = "cli"};
	struct rx r = {0};
	rx_start(&r, 200);
	int64_t sub = 0;
	char sec[SF_WEBHOOK_SECRET_LEN + 1], url[80];
	static const char *const hosts[] = {"127.0.0.1", "localhost", "[::ffff:127.0.0.1]", "[::1]"};
	for (size_t i = 0; i < sizeof hosts / sizeof *hosts; i++) {
		snprintf(url, sizeof url, "http://%s:%d/h", hosts[i], r.port);
		assert_int_equal(sf_webhook_add(f->db, f->kr, url, "order.created", &a, &sub, sec), SF_OK);
	}
	struct sf_cart_owner o;
	cfx_guest(&o);
	int64_t oid = 0;
	assert_int_equal(cfx_buy(f, &o, "TEE-L", 1, "pay-unit-private", &oid), SF_OK);
	struct sf_webhook_sender_opts so = {.timeout_s = 2, .max_attempts = 3};
	struct sf_webhook_sender *s = NULL;
	assert_int_equal(sf_webhook_sender_new(f->db, f->kr, &so, &s), SF_OK);
	int64_t now = (int64_t)time(NULL);
	assert_int_equal(sf_webhook_sender_run_once(s, now), 0);
	for (int i = 0; i < 20 && cfx_int(f, "SELECT count(*) FROM webhook_deliveries WHERE attempts = 1") < 4; i++)
		assert_int_equal(sf_webhook_sender_run_once(s, now), 0);
	sf_webhook_sender_stop(s);
	assert_int_equal(r.hits, 0);
	assert_int_equal(cfx_int(f, "SELECT count(*) FROM webhook_deliveries WHERE status = 'pending' AND attempts = 1 "
				    "AND last_error LIKE 'refused to connect to %allow_private)'"),
			 4);
	/* the address named is the one refused (localhost: 127.0.0.1 or ::1, whichever was tried last) */
	assert_true(cfx_int(f, "SELECT count(*) FROM webhook_deliveries WHERE last_error LIKE '%to 127.0.0.1:%' "
			       "OR last_error LIKE '%to ::ffff:127.0.0.1:%'") >= 2);
	assert_true(cfx_int(f, "SELECT count(*) FROM webhook_deliveries WHERE last_error LIKE '%to ::1:%'") >= 1);
	/* allowed, the same deliveries go out once due (the receiver listens
	 * on 127.0.0.1 only: [::1] now fails to connect, not by refusal) */
	so.allow_private = 1;
	assert_int_equal(sf_webhook_sender_new(f->db, f->kr, &so, &s), SF_OK);
	now += sf_webhook_backoff(1) + 1;
	int sent = 0;
	for (int i = 0; i < 20 && cfx_int(f, "SELECT count(*) FROM webhook_deliveries WHERE attempts = 2 OR "
					      "status = 'delivered'") < 4; i++)
		sent += sf_webhook_sender_run_once(s, now);
	sf_webhook_sender_stop(s);
	assert_int_equal(sent, 3);
	assert_int_equal(r.hits, 3);
	assert_int_equal(cfx_int(f, "SELECT count(*) FROM webhook_deliveries WHERE attempts = 2 AND last_error NOT LIKE "
				    "'refused to connect%'"),
			 1);
	rx_stop(&r);
}

static void test_subscriptions_and_events(void **state)
{
	struct shop_fx *f = *state;
	struct sf_shop_actor a = {.type = "cli"};
	int64_t id = 0, id2 = 0;
	char sec[SF_WEBHOOK_SECRET_LEN + 1];
	assert_int_equal(sf_webhook_add(f->db, f->kr, "ftp://x", "order.paid", &a, &id, sec), SF_ERR_WEBHOOK_URL);
	assert_int_equal(sf_webhook_add(f->db, f->kr, "https://", "order.paid", &a, &id, sec), SF_ERR_WEBHOOK_URL);
	assert_int_equal(sf_webhook_add(f->db, f->kr, "https://x.example/a b", "order.paid", &a, &id, sec),
			 SF_ERR_WEBHOOK_URL);
	assert_int_equal(sf_webhook_add(f->db, f->kr, "https://x.example/h", "order.paid,", &a, &id, sec),
			 SF_ERR_WEBHOOK_EVENT);
	assert_int_equal(sf_webhook_add(f->db, f->kr, "https://x.example/4111111111111111", "order.paid", &a, &id, sec),
			 SF_ERR_CARD_DATA);
	assert_int_equal(sf_webhook_add(f->db, f->kr, "https://user:pw@x.example/h", "order.paid", &a, &id, sec),
			 SF_ERR_WEBHOOK_URL);
	assert_int_equal(sf_webhook_add(f->db, f->kr, "https://x.example@evil.example/h", "order.paid", &a, &id, sec),
			 SF_ERR_WEBHOOK_URL);
	/* ASCII only: a C1 control (CSI), a right-to-left override, DEL */
	assert_int_equal(sf_webhook_add(f->db, f->kr, "https://x.example/\xC2\x9B" "31m", "order.paid", &a, &id, sec),
			 SF_ERR_WEBHOOK_URL);
	assert_int_equal(sf_webhook_add(f->db, f->kr, "https://x.example/\xE2\x80\xAEgpj.exe", "order.paid", &a, &id,
					sec),
			 SF_ERR_WEBHOOK_URL);
	assert_int_equal(sf_webhook_add(f->db, f->kr, "https://x.example/\x7F", "order.paid", &a, &id, sec),
			 SF_ERR_WEBHOOK_URL);
	assert_int_equal(cfx_int(f, "SELECT count(*) FROM webhook_subscriptions"), 0);
	struct rx r = {0};
	rx_start(&r, 500);
	char url[64];
	snprintf(url, sizeof url, "http://127.0.0.1:%d/h", r.port);
	assert_int_equal(sf_webhook_add(f->db, f->kr, url, "order.created,order.created", &a, &id, sec), SF_OK);
	assert_int_equal(strlen(sec), SF_WEBHOOK_SECRET_LEN);
	assert_int_equal(sf_webhook_add(f->db, f->kr, "https://x.example/all?token=T0", "*", &a, &id2, sec), SF_OK);
	/* the audit trail keeps the receiver's origin, not a token in its path or query */
	assert_int_equal(cfx_int(f, "SELECT count(*) FROM audit_events WHERE action = 'webhook.subscribe' AND "
				    "detail LIKE '%\"url\":\"https://x.example\"%'"),
			 1);
	assert_int_equal(cfx_int(f, "SELECT count(*) FROM audit_events WHERE detail LIKE '%T0%' OR detail LIKE '%/all%'"),
			 0);
	assert_int_equal(cfx_int(f, "SELECT count(*) FROM webhook_subscriptions WHERE events = 'order.created'"), 1);
	/* an order queues order.created for both, in its own transaction */
	struct sf_cart_owner o;
	cfx_guest(&o);
	int64_t oid = 0;
	assert_int_equal(cfx_buy(f, &o, "TEE-L", 1, "pay-unit-key-3", &oid), SF_OK);
	assert_int_equal(cfx_int(f, "SELECT count(*) FROM webhook_deliveries WHERE event_type = 'order.created'"), 2);
	/* a failed order changes nothing, queues nothing */
	assert_int_equal(cfx_buy(f, &o, "TEE-L", 999, "pay-unit-key-4", &oid), SF_ERR_QUANTITY);
	assert_int_equal(cfx_int(f, "SELECT count(*) FROM webhook_deliveries"), 2);
	/* the failing receiver: retried with back-off, error kept */
	cfx_sql(f, "DELETE FROM webhook_deliveries WHERE url LIKE 'https://x.example%'");
	struct sf_webhook_sender_opts so = {.timeout_s = 2, .max_attempts = 2, .allow_private = 1};
	struct sf_webhook_sender *s = NULL;
	assert_int_equal(sf_webhook_sender_new(f->db, f->kr, &so, &s), SF_OK);
	int64_t now = (int64_t)time(NULL);
	assert_int_equal(sf_webhook_sender_run_once(s, now), 0);
	assert_int_equal(r.hits, 1);
	assert_non_null(strstr(r.last, "Storefort-Signature: v1="));
	assert_non_null(strstr(r.last, "Storefort-Event-Id: evt_"));
	assert_int_equal(cfx_int(f, "SELECT attempts FROM webhook_deliveries"), 1);
	assert_int_equal(cfx_int(f, "SELECT next_at FROM webhook_deliveries") - now, 1);
	assert_int_equal(sf_webhook_sender_run_once(s, now), 0); /* not due yet */
	assert_int_equal(r.hits, 1);
	assert_int_equal(sf_webhook_sender_run_once(s, now + 1), 0);
	assert_int_equal(cfx_int(f, "SELECT count(*) FROM webhook_deliveries WHERE status = 'failed' AND "
				    "last_error = 'HTTP 500'"),
			 1);
	sf_webhook_sender_stop(s);
	rx_stop(&r);
	json_t *list = NULL;
	assert_int_equal(sf_webhook_list(f->db, &list), SF_OK);
	assert_int_equal(json_array_size(list), 2);
	char *dump = json_dumps(list, 0);
	assert_null(strstr(dump, "sfwh_"));
	free(dump);
	json_decref(list);
	assert_int_equal(sf_webhook_remove(f->db, f->kr, id, &a), SF_OK);
	assert_int_equal(sf_webhook_remove(f->db, f->kr, id, &a), SF_ERR_NOT_FOUND);
	assert_int_equal(cfx_int(f, "SELECT count(*) FROM audit_events WHERE action LIKE 'webhook.%'"), 3);
	/* every subscription gets the event, however many there are (the first
	 * 32 only, before) */
	for (int i = 0; i < 40; i++) {
		snprintf(url, sizeof url, "https://many.example/%d", i);
		assert_int_equal(sf_webhook_add(f->db, f->kr, url, i % 2 ? "order.created" : "*", &a, &id, sec), SF_OK);
	}
	assert_int_equal(cfx_buy(f, &o, "TEE-L", 1, "pay-unit-key-5", &oid), SF_OK);
	assert_int_equal(cfx_int(f, "SELECT count(DISTINCT url) FROM webhook_deliveries WHERE "
				    "url LIKE 'https://many.example/%' AND event_type = 'order.created'"),
			 40);
}

/* ==== Availability and the catalog version ==== */

struct cancel_ctx {
	struct shop_fx *f;
	int64_t id;
	enum sf_err err;
};

static enum sf_db_status cancel_txn(struct sf_db_conn *c, void *vctx)
{
	struct cancel_ctx *x = vctx;
	struct sf_shop_actor a = {.type = "system"};
	x->err = sf_order_transition(c, x->f->kr, x->id, SF_ORDER_CANCELLED, &a, "test");
	return x->err ? sf_db_status_from_err(x->err) : SF_DB_OK;
}

static void test_catalog_version_only_on_flips(void **state)
{
	struct shop_fx *f = *state;
	assert_int_equal(sf_stock_band(0), 0);
	assert_int_equal(sf_stock_band(SF_STOCK_LOW - 1), 1);
	assert_int_equal(sf_stock_band(SF_STOCK_LOW), 2);
	cfx_sql(f, "INSERT OR REPLACE INTO meta(key, value) VALUES ('catalog_version', '7')");
	struct sf_cart_owner o;
	cfx_guest(&o);
	int64_t oid = 0;
	assert_int_equal(cfx_buy(f, &o, "BOOK", 2, "pay-unit-key-5", &oid), SF_OK); /* 100 -> 98 */
	assert_int_equal(cfx_int(f, "SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'catalog_version'"), 7);
	assert_int_equal(cfx_buy(f, &o, "LAST", 6, "pay-unit-key-6", &oid), SF_OK); /* 10 -> 4: low */
	assert_int_equal(cfx_int(f, "SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'catalog_version'"), 8);
	int64_t oid2 = 0;
	assert_int_equal(cfx_buy(f, &o, "LAST", 4, "pay-unit-key-7", &oid2), SF_OK); /* 4 -> 0: sold out */
	assert_int_equal(cfx_int(f, "SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'catalog_version'"), 9);
	/* cancelling gives the stock back: sold out -> in stock is a flip */
	struct cancel_ctx x = {.f = f, .id = oid2};
	assert_int_equal(sf_db_txn(f->db, cancel_txn, &x, 3), SF_DB_OK);
	assert_int_equal(x.err, SF_OK);
	assert_int_equal(cfx_stock(f, "LAST"), 4);
	assert_int_equal(cfx_int(f, "SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'catalog_version'"), 10);
	assert_int_equal(cfx_int(f, "SELECT count(*) FROM webhook_deliveries"), 0); /* nobody subscribed */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_stripe_signature),
		cmocka_unit_test(test_storefort_signature),
		cmocka_unit_test_setup_teardown(test_sandbox_flow, commerce_fx_setup, commerce_fx_teardown),
		cmocka_unit_test_setup_teardown(test_nothing_to_pay, commerce_fx_setup, commerce_fx_teardown),
		cmocka_unit_test_setup_teardown(test_start_from_fetched_order, commerce_fx_setup, commerce_fx_teardown),
		cmocka_unit_test(test_stripe_expires_at),
		cmocka_unit_test_setup_teardown(test_stripe_session_holds_order, commerce_fx_setup,
						commerce_fx_teardown),
		cmocka_unit_test_setup_teardown(test_stripe_session_bounds_and_races, commerce_fx_setup,
						commerce_fx_teardown),
		cmocka_unit_test_setup_teardown(test_apply_checks_session, commerce_fx_setup, commerce_fx_teardown),
		cmocka_unit_test_setup_teardown(test_rejections_change_nothing, commerce_fx_setup, commerce_fx_teardown),
		cmocka_unit_test_setup_teardown(test_unapplied_stripe, commerce_fx_setup, commerce_fx_teardown),
		cmocka_unit_test_setup_teardown(test_staff_refund_stripe, commerce_fx_setup, commerce_fx_teardown),
		cmocka_unit_test_setup_teardown(test_stripe_amount_too_small, commerce_fx_setup, commerce_fx_teardown),
		cmocka_unit_test_setup_teardown(test_subscriptions_and_events, commerce_fx_setup, commerce_fx_teardown),
		cmocka_unit_test_setup_teardown(test_sender_slow_endpoint, commerce_fx_setup, commerce_fx_teardown),
		cmocka_unit_test_setup_teardown(test_sender_unrecorded, commerce_fx_setup, commerce_fx_teardown),
		cmocka_unit_test_setup_teardown(test_private_addresses, commerce_fx_setup, commerce_fx_teardown),
		cmocka_unit_test_setup_teardown(test_catalog_version_only_on_flips, commerce_fx_setup,
						commerce_fx_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
