/*
 * loadgen.c — the load generator of bench/checkout (bench.py runs it).
 *
 * SHOPPERS guest shoppers in one thread (libcurl multi), each with its own
 * easy handle, cookie jar, CSRF token and keep-alive HTTPS connection,
 * loop for SECONDS over one checkout:
 *   POST /api/v1/cart/items -> POST /api/v1/checkout (Idempotency-Key)
 *   -> POST /api/v1/orders/{id}/pay -> POST /sandbox-pay/{session} (approve)
 * A shopper starts with GET /api/v1/cart (its session and CSRF token) and
 * starts over with a fresh handle after a transport error.  It replaces 32
 * Python threads that spent the CPU the server needed: one thread here
 * makes the same requests for a small part of that CPU.
 *
 * Usage: sf_checkout_loadgen --port P --skus A,B,... [--shoppers 32]
 *        [--seconds 15] [--tag T]
 * Prints one JSON line: {"approved":n,"requests":n,"seconds":s,"cpu_s":s
 * (its own user + system time),"errors":{"cart_409":n,...}}.  Exit 0, or 2 on bad usage.
 */
#include <curl/curl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#define ERR_KINDS 32

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
	char next[256];       /* the sandbox page to approve on */
	char *body;           /* request body (owned) */
	char *resp;           /* response body */
	size_t resp_len, resp_cap;
};

static struct {
	int port, shoppers, seconds;
	const char *tag;
	char **skus;
	int nskus;
	char resolve[64], base[64];
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
	switch (s->step) {
	case ST_INIT:
		snprintf(url, sizeof url, "%s/api/v1/cart", g.base);
		break;
	case ST_CART: {
		json_t *b = json_pack("{s:s,s:i}", "sku", g.skus[(s->k + s->n) % g.nskus], "quantity", 1);
		s->body = json_dumps(b, JSON_COMPACT);
		json_decref(b);
		snprintf(url, sizeof url, "%s/api/v1/cart/items", g.base);
		break;
	}
	case ST_ORDER:
		s->body = strdup("{\"email\":\"bench@example.org\",\"address\":{\"name\":\"Bench Buyer\","
				 "\"street\":\"1 Load Street\",\"city\":\"Paris\",\"postcode\":\"75001\","
				 "\"country\":\"FR\"},\"shipping_method\":\"standard\"}");
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
	json_t *js = s->resp_len && s->resp[0] == '{' ? json_loadb(s->resp, s->resp_len, 0, NULL) : NULL;
	const char *tok = json_string_value(json_object_get(js, "csrf_token"));
	if (tok && strlen(tok) < sizeof s->token)
		snprintf(s->token, sizeof s->token, "%s", tok);
	enum step next = ST_CART;
	if (status != step_want[s->step]) {
		char name[32];
		snprintf(name, sizeof name, "%s_%ld", step_name[s->step], status);
		count_error(name);
		next = s->step == ST_INIT ? ST_INIT : ST_CART;
	} else if (s->step == ST_CART) {
		next = ST_ORDER;
	} else if (s->step == ST_ORDER) {
		json_t *id = json_object_get(json_object_get(js, "order"), "id");
		if (json_is_integer(id)) {
			snprintf(s->next, sizeof s->next, "/api/v1/orders/%lld/pay", (long long)json_integer_value(id));
			next = ST_PAY;
		} else {
			count_error("order_no_id");
		}
	} else if (s->step == ST_PAY) {
		const char *u = json_string_value(json_object_get(js, "redirect_url"));
		if (u && u[0] == '/' && strlen(u) < sizeof s->next) {
			snprintf(s->next, sizeof s->next, "%s", u);
			next = ST_APPROVE;
		} else {
			count_error("pay_no_url");
		}
	} else if (s->step == ST_APPROVE) {
		g.approved++;
	}
	json_decref(js);
	return next;
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
			"[--tag T]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	char *skus = NULL;
	g.shoppers = 32;
	g.seconds = 15;
	g.tag = "lg";
	for (int i = 1; i < argc; i++) {
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
	struct shopper *sh = calloc((size_t)g.shoppers, sizeof *sh);
	double t0 = now_s(), stop = t0 + g.seconds;
	for (int k = 0; k < g.shoppers; k++) {
		sh[k].k = k;
		sh[k].step = ST_INIT;
		shopper_reset(&sh[k]);
		shopper_send(m, &sh[k]);
	}
	int running = g.shoppers;
	while (running > 0) {
		int still = 0;
		curl_multi_perform(m, &still);
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
		if (running > 0)
			curl_multi_poll(m, NULL, 0, 100, NULL);
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
	return 0;
}
