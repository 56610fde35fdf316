/*
 * loadgen.c — the load generator of bench/checkout (bench.py runs it).
 *
 * SHOPPERS guest shoppers in one thread (libcurl multi), each with its own
 * easy handle, cookie jar, CSRF token and keep-alive HTTPS connection,
 * loop for SECONDS over one checkout:
 *   POST /api/v1/cart/items -> POST /api/v1/checkout (Idempotency-Key,
 *   "pay": true: the order and its payment's redirect in one answer)
 *   -> POST /sandbox-pay/{session} (approve)
 * With --pay-step the payment starts in a request of its own, as before
 * the checkout could start it: POST /api/v1/orders/{id}/pay after the order.
 * A shopper starts with GET /api/v1/cart (its session and CSRF token) and
 * starts over with a fresh handle after a transport error.  It replaces 32
 * Python threads that spent the CPU the server needed: one thread here
 * makes the same requests for a small part of that CPU.
 *
 * It shares the server's two cores, so every microsecond it spends is one
 * the server does not get.  Hence libcurl's socket interface on epoll (with
 * curl_multi_perform, libcurl polled all 32 connections on every wake-up)
 * and no JSON parser: it takes the three values it needs (the CSRF token,
 * the order's Location header, the payment's redirect_url) from the answer
 * as they are, which the server writes without escapes.
 *
 * Usage: sf_checkout_loadgen --port P --skus A,B,... [--shoppers 32]
 *        [--seconds 15] [--tag T] [--pay-step]
 * Prints one JSON line: {"approved":n,"requests":n,"seconds":s,"cpu_s":s
 * (its own user + system time),"errors":{"cart_409":n,...}}.  Exit 0, or 2 on bad usage.
 */
#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#define ERR_KINDS 32

/* The checkout's body without its closing brace. */
#define ORDER_BODY                                                                                     \
	"{\"email\":\"bench@example.org\",\"address\":{\"name\":\"Bench Buyer\",\"street\":\"1 Load Street\"," \
	"\"city\":\"Paris\",\"postcode\":\"75001\",\"country\":\"FR\"},\"shipping_method\":\"standard\""

enum step { ST_INIT, ST_CART, ST_ORDER, ST_PAY, ST_APPROVE };

static const char *const step_name[] = {"init", "cart", "order", "pay", "approve"};
static const long step_want[] = {200, 201, 201, 201, 303};

struct shopper {
	int k;
	long n;               /* checkouts started */
	enum step step;
	CURL *h;
	struct curl_slist *hdrs;
	char token[128];      /* CSRF token */
	char next[256];       /* the next path: /api/v1/orders/{id}/pay, then the sandbox page */
	char location[200];   /* the Location header of the last answer */
	char *body;           /* request body (owned) */
	char *resp;           /* response body */
	size_t resp_len, resp_cap;
};

static struct {
	int port, shoppers, seconds;
	int pay_step;         /* --pay-step: the payment starts in its own request */
	const char *tag;
	char **skus;
	int nskus;
	char resolve[64], base[64];
	int ep;               /* epoll set of the connections libcurl watches */
	double due;           /* when libcurl's timer runs out (0: not set) */
	struct curl_slist *resolve_list;
	long approved, requests;
	struct { char name[32]; long n; } errs[ERR_KINDS];
	int nerrs;
} g;

static void count_error(const char *name)
{
	for (int i = 0; i < g.nerrs; i++)
		if (!strcmp(g.errs[i].name, name)) {
			g.errs[i].n++;
			return;
		}
	if (g.nerrs < ERR_KINDS) {
		snprintf(g.errs[g.nerrs].name, sizeof g.errs[0].name, "%s", name);
		g.errs[g.nerrs++].n = 1;
	}
}

static size_t on_data(char *p, size_t size, size_t nmemb, void *ctx)
{
	struct shopper *s = ctx;
	size_t n = size * nmemb;
	if (s->resp_len + n + 1 > s->resp_cap) {
		size_t cap = (s->resp_len + n + 1) * 2;
		char *r = realloc(s->resp, cap);
		if (!r)
			return 0;
		s->resp = r;
		s->resp_cap = cap;
	}
	memcpy(s->resp + s->resp_len, p, n);
	s->resp_len += n;
	s->resp[s->resp_len] = '\0';
	return n;
}

/* Keeps the Location header (the created order's path). */
static size_t on_header(char *p, size_t size, size_t nmemb, void *ctx)
{
	struct shopper *s = ctx;
	size_t n = size * nmemb;
	if (n > 9 && !strncasecmp(p, "Location:", 9)) {
		size_t i = 9, e = n;
		while (i < e && p[i] == ' ')
			i++;
		while (e > i && (p[e - 1] == '\r' || p[e - 1] == '\n' || p[e - 1] == ' '))
			e--;
		if (e - i < sizeof s->location) {
			memcpy(s->location, p + i, e - i);
			s->location[e - i] = '\0';
		}
	}
	return n;
}

/* The string value of "key" in the answer, copied to out; 0 when absent,
 * escaped or too long (the server's tokens and paths need no escapes). */
static int json_str(const struct shopper *s, const char *key, char *out, size_t n)
{
	char pat[48];
	int pl = snprintf(pat, sizeof pat, "\"%s\":\"", key);
	const char *v = s->resp_len ? memmem(s->resp, s->resp_len, pat, (size_t)pl) : NULL;
	if (!v)
		return 0;
	v += pl;
	const char *e = memchr(v, '"', s->resp_len - (size_t)(v - s->resp));
	if (!e || (size_t)(e - v) >= n || memchr(v, '\\', (size_t)(e - v)))
		return 0;
	memcpy(out, v, (size_t)(e - v));
	out[e - v] = '\0';
	return 1;
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A fresh handle: new cookie jar, new token. */
static void shopper_reset(struct shopper *s)
{
	if (s->h)
		curl_easy_cleanup(s->h);
	s->h = curl_easy_init();
	if (!s->h) {
		fprintf(stderr, "loadgen: curl_easy_init failed\n");
		exit(1);
	}
	s->token[0] = '\0';
	curl_easy_setopt(s->h, CURLOPT_COOKIEFILE, "");
	curl_easy_setopt(s->h, CURLOPT_SSL_VERIFYPEER, 0L);
	curl_easy_setopt(s->h, CURLOPT_SSL_VERIFYHOST, 0L);
	/* No trust store: libcurl-gnutls would parse all of /etc/ssl/certs per
	 * connection although nothing is verified (the certificate is our own). */
	curl_easy_setopt(s->h, CURLOPT_CAINFO, NULL);
	curl_easy_setopt(s->h, CURLOPT_CAPATH, NULL);
	curl_easy_setopt(s->h, CURLOPT_RESOLVE, g.resolve_list);
	curl_easy_setopt(s->h, CURLOPT_TIMEOUT, 30L);
	curl_easy_setopt(s->h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(s->h, CURLOPT_TCP_NODELAY, 1L);
	curl_easy_setopt(s->h, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(s->h, CURLOPT_WRITEDATA, s);
	curl_easy_setopt(s->h, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(s->h, CURLOPT_HEADERDATA, s);
	curl_easy_setopt(s->h, CURLOPT_PRIVATE, s);
}

/* Queue the request for s's current step. */
static void shopper_send(CURLM *m, struct shopper *s)
{
	char url[512], hdr[200];
	const char *ctype = "application/json";
	free(s->body);
	s->body = NULL;
	curl_slist_free_all(s->hdrs);
	s->hdrs = NULL;
	s->resp_len = 0;
	s->location[0] = '\0';
	switch (s->step) {
	case ST_INIT:
		snprintf(url, sizeof url, "%s/api/v1/cart", g.base);
		break;
	case ST_CART: {
		const char *sku = g.skus[(s->k + s->n) % g.nskus]; /* checked in main: no quotes */
		size_t n = strlen(sku) + 32;
		s->body = malloc(n);
		snprintf(s->body, n, "{\"sku\":\"%s\",\"quantity\":1}", sku);
		snprintf(url, sizeof url, "%s/api/v1/cart/items", g.base);
		break;
	}
	case ST_ORDER:
		s->body = strdup(g.pay_step ? ORDER_BODY "}" : ORDER_BODY ",\"pay\":true}");
		snprintf(url, sizeof url, "%s/api/v1/checkout", g.base);
		snprintf(hdr, sizeof hdr, "Idempotency-Key: bench-%s-%d-%ld", g.tag, s->k, s->n);
		s->hdrs = curl_slist_append(s->hdrs, hdr);
		break;
	case ST_PAY:
		s->body = strdup("{}");
		snprintf(url, sizeof url, "%s%s", g.base, s->next); /* next = /api/v1/orders/{id}/pay */
		break;
	case ST_APPROVE: {
		char *tok = curl_easy_escape(s->h, s->token, 0);
		size_t n = strlen(tok) + 64;
		s->body = malloc(n);
		snprintf(s->body, n, "csrf_token=%s&decision=approve", tok);
		curl_free(tok);
		ctype = "application/x-www-form-urlencoded";
		snprintf(url, sizeof url, "%s%s", g.base, s->next);
		break;
	}
	}
	s->hdrs = curl_slist_append(s->hdrs, "Host: localhost"); /* the Origin check compares with it */
	s->hdrs = curl_slist_append(s->hdrs, "Origin: https://localhost");
	s->hdrs = curl_slist_append(s->hdrs, "Sec-Fetch-Site: same-origin");
	s->hdrs = curl_slist_append(s->hdrs, "Expect:");
	if (s->token[0]) {
		snprintf(hdr, sizeof hdr, "X-CSRF-Token: %s", s->token);
		s->hdrs = curl_slist_append(s->hdrs, hdr);
	}
	if (s->body) {
		snprintf(hdr, sizeof hdr, "Content-Type: %s", ctype);
		s->hdrs = curl_slist_append(s->hdrs, hdr);
		curl_easy_setopt(s->h, CURLOPT_POSTFIELDS, s->body);
		curl_easy_setopt(s->h, CURLOPT_POSTFIELDSIZE, (long)strlen(s->body));
	} else {
		curl_easy_setopt(s->h, CURLOPT_HTTPGET, 1L);
	}
	curl_easy_setopt(s->h, CURLOPT_URL, url);
	curl_easy_setopt(s->h, CURLOPT_HTTPHEADER, s->hdrs);
	curl_multi_add_handle(m, s->h);
}

/* Handle s's answer; returns the next step. */
static enum step shopper_answer(struct shopper *s, long status)
{
	char tok[sizeof s->token];
	if (json_str(s, "csrf_token", tok, sizeof tok))
		memcpy(s->token, tok, sizeof tok);
	if (status != step_want[s->step]) {
		char name[32];
		snprintf(name, sizeof name, "%s_%ld", step_name[s->step], status);
		count_error(name);
		return s->step == ST_INIT ? ST_INIT : ST_CART;
	}
	switch (s->step) {
	case ST_INIT:
		return ST_CART;
	case ST_CART:
		return ST_ORDER;
	case ST_ORDER: /* Location: /api/v1/orders/{id} */
		if (!strncmp(s->location, "/api/v1/orders/", 15) && s->location[15] >= '1' && s->location[15] <= '9' &&
		    strspn(s->location + 15, "0123456789") == strlen(s->location + 15)) {
			if (g.pay_step) {
				snprintf(s->next, sizeof s->next, "%s/pay", s->location);
				return ST_PAY;
			}
			if (json_str(s, "redirect_url", s->next, sizeof s->next) && s->next[0] == '/')
				return ST_APPROVE;
			count_error("order_no_url");
			return ST_CART;
		}
		count_error("order_no_location");
		return ST_CART;
	case ST_PAY:
		if (json_str(s, "redirect_url", s->next, sizeof s->next) && s->next[0] == '/')
			return ST_APPROVE;
		count_error("pay_no_url");
		return ST_CART;
	case ST_APPROVE:
		g.approved++;
		return ST_CART;
	}
	return ST_CART;
}

/* CURLMOPT_SOCKETFUNCTION: mirror libcurl's interest in fd into the epoll set. */
static int on_socket(CURL *h, curl_socket_t fd, int what, void *u, void *sockp)
{
	(void)h;
	(void)u;
	(void)sockp;
	struct epoll_event ev = {.data.fd = fd};
	if (what == CURL_POLL_REMOVE) {
		epoll_ctl(g.ep, EPOLL_CTL_DEL, fd, NULL);
		return 0;
	}
	ev.events = (what & CURL_POLL_IN ? EPOLLIN : 0u) | (what & CURL_POLL_OUT ? EPOLLOUT : 0u);
	/* Mostly a new registration: libcurl removes a connection's socket
	 * while it waits in the connection cache between requests. */
	if (epoll_ctl(g.ep, EPOLL_CTL_ADD, fd, &ev) && (errno != EEXIST || epoll_ctl(g.ep, EPOLL_CTL_MOD, fd, &ev))) {
		perror("loadgen: epoll_ctl");
		exit(1);
	}
	return 0;
}

/* CURLMOPT_TIMERFUNCTION */
static int on_timer(CURLM *m, long ms, void *u)
{
	(void)m;
	(void)u;
	g.due = ms < 0 ? 0 : now_s() + (double)ms / 1e3;
	return 0;
}

static int num(const char *s)
{
	char *e = NULL;
	long v = strtol(s, &e, 10);
	return e != s && !*e && v > 0 && v < 1000000 ? (int)v : -1;
}

static void usage(void)
{
	fprintf(stderr, "usage: sf_checkout_loadgen --port P --skus A,B,... [--shoppers N] [--seconds S] "
			"[--tag T] [--pay-step]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	char *skus = NULL;
	g.shoppers = 32;
	g.seconds = 15;
	g.tag = "lg";
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--pay-step")) {
			g.pay_step = 1;
			continue;
		}
		if (i + 1 >= argc)
			usage();
		if (!strcmp(argv[i], "--port"))
			g.port = num(argv[++i]);
		else if (!strcmp(argv[i], "--skus"))
			skus = argv[++i];
		else if (!strcmp(argv[i], "--shoppers"))
			g.shoppers = num(argv[++i]);
		else if (!strcmp(argv[i], "--seconds"))
			g.seconds = num(argv[++i]);
		else if (!strcmp(argv[i], "--tag"))
			g.tag = argv[++i];
		else
			usage();
	}
	if (g.port <= 0 || g.port > 65535 || !skus || g.shoppers < 1 || g.seconds < 1)
		usage();
	for (char *p = skus; p && *p;) {
		char *e = strchr(p, ',');
		if (e)
			*e++ = '\0';
		g.skus = realloc(g.skus, sizeof *g.skus * (size_t)(g.nskus + 1));
		if (strpbrk(p, "\"\\"))
			usage();
		g.skus[g.nskus++] = p;
		p = e;
	}
	if (!g.nskus)
		usage();
	snprintf(g.resolve, sizeof g.resolve, "localhost:%d:127.0.0.1", g.port);
	snprintf(g.base, sizeof g.base, "https://localhost:%d", g.port);
	g.resolve_list = curl_slist_append(NULL, g.resolve);
	curl_global_init(CURL_GLOBAL_ALL);
	CURLM *m = curl_multi_init();
	curl_multi_setopt(m, CURLMOPT_MAXCONNECTS, (long)g.shoppers * 2);
	g.ep = epoll_create1(EPOLL_CLOEXEC);
	if (g.ep < 0) {
		perror("loadgen: epoll_create1");
		return 1;
	}
	curl_multi_setopt(m, CURLMOPT_SOCKETFUNCTION, on_socket);
	curl_multi_setopt(m, CURLMOPT_TIMERFUNCTION, on_timer);
	struct shopper *sh = calloc((size_t)g.shoppers, sizeof *sh);
	double t0 = now_s(), stop = t0 + g.seconds;
	for (int k = 0; k < g.shoppers; k++) {
		sh[k].k = k;
		sh[k].step = ST_INIT;
		shopper_reset(&sh[k]);
		shopper_send(m, &sh[k]);
	}
	int running = g.shoppers, still = 0;
	struct epoll_event evs[64];
	while (running > 0) {
		double left_s = g.due ? g.due - now_s() : 0.1;
		int wait = left_s <= 0 ? 0 : left_s >= 0.1 ? 100 : (int)(left_s * 1e3) + 1;
		int n = wait ? epoll_wait(g.ep, evs, 64, wait) : 0;
		for (int i = 0; i < n; i++) {
			int fl = (evs[i].events & EPOLLIN ? CURL_CSELECT_IN : 0) |
				 (evs[i].events & EPOLLOUT ? CURL_CSELECT_OUT : 0) |
				 (evs[i].events & (EPOLLERR | EPOLLHUP) ? CURL_CSELECT_ERR : 0);
			curl_multi_socket_action(m, evs[i].data.fd, fl, &still);
		}
		if (n <= 0) {
					curl_multi_socket_action(m, CURL_SOCKET_TIMEOUT, 0, &still);
		}
		CURLMsg *msg;
		int left;
		while ((msg = curl_multi_info_read(m, &left))) {
			if (msg->msg != CURLMSG_DONE)
				continue;
			struct shopper *s = NULL;
			CURL *h = msg->easy_handle;
			CURLcode rc = msg->data.result;
			curl_easy_getinfo(h, CURLINFO_PRIVATE, (char **)&s);
			curl_multi_remove_handle(m, h);
			g.requests++;
			if (rc != CURLE_OK) {
				char name[32];
				snprintf(name, sizeof name, "%s_curl%d", step_name[s->step], (int)rc);
				count_error(name);
				shopper_reset(s);
				s->step = ST_INIT;
			} else {
				long status = 0;
				curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
				s->step = shopper_answer(s, status);
			}
			if ((s->step == ST_CART || s->step == ST_INIT) && now_s() >= stop) {
				running--; /* a shopper stops between checkouts */
				continue;
			}
			if (s->step == ST_CART)
				s->n++;
			shopper_send(m, s);
		}
	}
	double took = now_s() - t0;
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	double cpu = (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
		     (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
	printf("{\"approved\":%ld,\"requests\":%ld,\"seconds\":%.3f,\"cpu_s\":%.3f,\"errors\":{", g.approved,
	       g.requests, took, cpu);
	for (int i = 0; i < g.nerrs; i++)
		printf("%s\"%s\":%ld", i ? "," : "", g.errs[i].name, g.errs[i].n);
	printf("}}\n");
	for (int k = 0; k < g.shoppers; k++) {
		curl_easy_cleanup(sh[k].h);
		curl_slist_free_all(sh[k].hdrs);
		free(sh[k].body);
		free(sh[k].resp);
	}
	free(sh);
	free(g.skus);
	curl_slist_free_all(g.resolve_list);
	curl_multi_cleanup(m);
	curl_global_cleanup();
	close(g.ep);
	return 0;
}
