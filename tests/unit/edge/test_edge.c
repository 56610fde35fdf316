/*
 * test_edge.c — unit tests of src/edge/: CIDR lists, the client address
 * behind trusted proxies (forged X-Forwarded-For from an untrusted peer is
 * ignored), token buckets, ban counters and durations, WAF redaction and
 * loading the rule set (block, detect, a bad rules_extra).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "edge/edge_int.h"

static void cidr_lists(void **state)
{
	(void)state;
	struct sf_cidr_list l;
	char bad[80];
	assert_int_equal(sf_cidr_list_parse("10.0.0.0/8, 192.0.2.7 2001:db8::/32,::1", &l, bad, sizeof bad), SF_OK);
	assert_int_equal(l.n, 4);
	assert_true(sf_cidr_list_match(&l, "10.200.3.4"));
	assert_true(sf_cidr_list_match(&l, "::ffff:10.1.1.1")); /* v4-mapped counts as v4 */
	assert_true(sf_cidr_list_match(&l, "192.0.2.7"));
	assert_false(sf_cidr_list_match(&l, "192.0.2.8"));
	assert_true(sf_cidr_list_match(&l, "2001:db8:1::5"));
	assert_true(sf_cidr_list_match(&l, "::1"));
	assert_false(sf_cidr_list_match(&l, "11.0.0.1"));
	assert_false(sf_cidr_list_match(&l, "garbage"));
	assert_false(sf_cidr_list_match(&l, ""));
	sf_cidr_list_free(&l);
	assert_int_equal(sf_cidr_list_parse("", &l, bad, sizeof bad), SF_OK);
	assert_int_equal(l.n, 0);
	assert_false(sf_cidr_list_match(&l, "127.0.0.1"));
	const char *bads[] = {"10.0.0.0/33", "10.1.2.3/8", "example.com", "10.0.0.0/", "1.2.3.4/-1", "::1/129",
			      "1.2.3", "10.0.0.0/8x"};
	for (size_t i = 0; i < sizeof bads / sizeof bads[0]; i++) {
		assert_int_equal(sf_cidr_list_parse(bads[i], &l, bad, sizeof bad), SF_ERR_INVALID);
		assert_non_null(strstr(bads[i], bad));
		assert_null(l.v);
	}
}

static void client_address(void **state)
{
	(void)state;
	struct sf_cidr_list t;
	char bad[80], out[46];
	assert_int_equal(sf_cidr_list_parse("10.0.0.0/8", &t, bad, sizeof bad), SF_OK);
	static const struct {
		const char *peer, *xff, *want;
		int from_xff;
	} cases[] = {
		/* untrusted peer: a forged header is ignored */
		{"203.0.113.9", "1.2.3.4", "203.0.113.9", 0},
		/* trusted peer: the rightmost untrusted hop */
		{"10.0.0.2", "1.2.3.4, 198.51.100.7", "198.51.100.7", 1},
		/* a chain of trusted proxies is skipped; a forged leftmost hop is not used */
		{"10.0.0.2", "6.6.6.6, 198.51.100.7, 10.9.9.9", "198.51.100.7", 1},
		/* garbage hop: the last good sender */
		{"10.0.0.2", "<script>, 10.1.1.1", "10.1.1.1", 1},
		{"10.0.0.2", "junk", "10.0.0.2", 0},
		/* ports and brackets */
		{"10.0.0.2", "198.51.100.7:4711", "198.51.100.7", 1},
		{"10.0.0.2", " [2001:db8::7] ", "2001:db8::7", 1},
		{"10.0.0.2", "", "10.0.0.2", 0},
		{"10.0.0.2", NULL, "10.0.0.2", 0},
		{"10.0.0.2", ",,,", "10.0.0.2", 0},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		assert_int_equal(sf_edge_client_addr(&t, cases[i].peer, cases[i].xff, out, sizeof out), cases[i].from_xff);
		assert_string_equal(out, cases[i].want);
	}
	sf_cidr_list_free(&t);
}

static void token_buckets(void **state)
{
	(void)state;
	struct sf_rate r;
	assert_true(sf_rate_parse("5/60", &r));
	assert_true(r.burst == 5.0);
	assert_true(sf_rate_parse("off", &r) && r.per_sec == 0);
	const char *bad[] = {"5", "/60", "5/", "0/60", "5/0", "a/b", "5/100000", "-1/5", "5/60/1"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		assert_false(sf_rate_parse(bad[i], &r));
	struct sf_rate rates[SF_EDGE_CLASSES] = {{0}};
	assert_true(sf_rate_parse("3/30", &rates[3]));
	struct sf_ratelimit *rl = sf_ratelimit_new(rates);
	assert_non_null(rl);
	unsigned ra = 0;
	for (int i = 0; i < 3; i++)
		assert_true(sf_ratelimit_take(rl, 3, "1.2.3.4", 100.0, &ra));
	assert_false(sf_ratelimit_take(rl, 3, "1.2.3.4", 100.0, &ra));
	assert_int_equal(ra, 10); /* one token per 10 s */
	assert_true(sf_ratelimit_take(rl, 3, "5.6.7.8", 100.0, &ra)); /* another address */
	assert_true(sf_ratelimit_take(rl, 2, "1.2.3.4", 100.0, &ra)); /* unlimited class */
	assert_false(sf_ratelimit_take(rl, 3, "1.2.3.4", 105.0, &ra));
	assert_int_equal(ra, 5);
	assert_true(sf_ratelimit_take(rl, 3, "1.2.3.4", 110.5, &ra)); /* refilled one */
	assert_int_equal(sf_ratelimit_size(rl), 2);
	/* many addresses: memory stays bounded as full buckets are swept */
	char key[32];
	for (int i = 0; i < 300000; i++) {
		snprintf(key, sizeof key, "k%d", i);
		sf_ratelimit_take(rl, 3, key, 1000.0 + i, &ra);
	}
	assert_true(sf_ratelimit_size(rl) < 64 * 4096 + 64);
	sf_ratelimit_free(rl);
}

static void ban_counters(void **state)
{
	(void)state;
	struct sf_cidr_list allow;
	char bad[80];
	assert_int_equal(sf_cidr_list_parse("127.0.0.1", &allow, bad, sizeof bad), SF_OK);
	struct sf_ban_policy p = {.threshold = {3, 0, 2}, .window_s = 60, .duration_s = 100, .max_duration_s = 350};
	struct sf_bans *b = sf_bans_new(&p, &allow);
	assert_non_null(b);
	assert_false(sf_bans_note(b, "1.1.1.1", SF_EDGE_WAF_BLOCK, 1000));
	assert_false(sf_bans_note(b, "1.1.1.1", SF_EDGE_WAF_BLOCK, 1010));
	assert_true(sf_bans_note(b, "1.1.1.1", SF_EDGE_WAF_BLOCK, 1020));
	/* outside the window the count restarts */
	assert_false(sf_bans_note(b, "2.2.2.2", SF_EDGE_WAF_BLOCK, 1000));
	assert_false(sf_bans_note(b, "2.2.2.2", SF_EDGE_WAF_BLOCK, 1030));
	assert_false(sf_bans_note(b, "2.2.2.2", SF_EDGE_WAF_BLOCK, 1100));
	/* a kind with threshold 0 never bans */
	for (int i = 0; i < 100; i++)
		assert_false(sf_bans_note(b, "3.3.3.3", SF_EDGE_RATE_LIMITED, 1000));
	/* the allow list is never counted */
	for (int i = 0; i < 10; i++)
		assert_false(sf_bans_note(b, "127.0.0.1", SF_EDGE_LOGIN_FAILED, 1000));
	assert_true(sf_bans_allowed(b, "127.0.0.1"));
	/* durations double up to the maximum */
	assert_int_equal(sf_bans_duration(b, 1), 100);
	assert_int_equal(sf_bans_duration(b, 2), 200);
	assert_int_equal(sf_bans_duration(b, 3), 350);
	assert_int_equal(sf_bans_duration(b, 60), 350);
	assert_false(sf_bans_check(b, "1.1.1.1", 1000));
	sf_bans_set(b, "1.1.1.1", 2000);
	assert_true(sf_bans_check(b, "1.1.1.1", 1999));
	assert_false(sf_bans_check(b, "1.1.1.1", 2000));
	char ips[2][46] = {"4.4.4.4", "5.5.5.5"};
	int64_t until[2] = {3000, 3000};
	sf_bans_replace(b, ips, until, 2);
	assert_false(sf_bans_check(b, "1.1.1.1", 1500));
	assert_true(sf_bans_check(b, "5.5.5.5", 1500));
	sf_bans_set(b, "5.5.5.5", 0);
	assert_false(sf_bans_check(b, "5.5.5.5", 1500));
	sf_bans_free(b);
	sf_cidr_list_free(&allow);
}

static void redaction(void **state)
{
	(void)state;
	/* hidden whole: secrets, and personal data (the WAF's log and table are
	 * not sealed) */
	static const char *const hidden[][2] = {
		{"ARGS:password", "Matched Data: ' or 1=1 found within ARGS:password: ' or 1=1"},
		{"REQUEST_COOKIES:sid", "x"},
		{"REQUEST_HEADERS:Authorization", "Bearer abc"},
		{"ARGS:json.card_number", "4111111111111111"},
		{"REQUEST_BODY", "{\"password\":\"hunter2\"}"},
		{"ARGS:email", "a\x00@example.org"},
		{"ARGS:json.shipping_address.line1", "Hauptstr. 1 <script>"},
		{"ARGS_POST:Name", "Ada Lovelace' or 1=1"},
		{"REQUEST_BODY", "{\"email\":\"ada@example.org\",\"q\":\"<script>\"}"},
		{"REQUEST_BODY", "phone=%2B4930123&x=<script>"},
	};
	char *r;
	for (size_t i = 0; i < sizeof hidden / sizeof hidden[0]; i++) {
		r = sf_waf_redact(hidden[i][0], hidden[i][1]);
		assert_string_equal(r, "[redacted]");
		free(r);
	}
	r = sf_waf_redact("REQUEST_BODY", "q=<script>&password=hunter2");
	assert_null(strstr(r, "hunter2"));
	assert_non_null(strstr(r, "<script>"));
	free(r);
	r = sf_waf_redact("ARGS:q", "found within ARGS:q: 4111 1111 1111 1111 union select");
	assert_null(strstr(r, "4111"));
	assert_non_null(strstr(r, "union select"));
	free(r);
	r = sf_waf_redact("ARGS:q", "<script>alert(1)</script>"); /* a search stays visible */
	assert_string_equal(r, "<script>alert(1)</script>");
	free(r);
	char big[2000];
	memset(big, 'a', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	r = sf_waf_redact("ARGS:q", big);
	assert_true(strlen(r) <= 512);
	free(r);
}

static void waf_rules(void **state)
{
	(void)state;
	char log[] = "/tmp/sf-edge-test-XXXXXX";
	int fd = mkstemp(log);
	assert_true(fd >= 0);
	close(fd);
	struct sf_waf_options o = {.mode = SF_WAF_BLOCK, .paranoia = 2,
				   .crs_setup = "/etc/modsecurity/crs/crs-setup.conf",
				   .crs_rules = "/usr/share/modsecurity-crs/rules", .log_path = log,
				   .body_limit = 65536};
	char *text = sf_waf_rules_text(&o);
	assert_non_null(strstr(text, "SecRuleEngine On"));
	assert_non_null(strstr(text, "tx.paranoia_level=2"));
	assert_non_null(strstr(text, "SecRequestBodyLimit 65536"));
	free(text);
	o.mode = SF_WAF_DETECT;
	text = sf_waf_rules_text(&o);
	assert_non_null(strstr(text, "SecRuleEngine DetectionOnly"));
	free(text);
	struct sf_waf *w = NULL;
	char err[512];
	assert_int_equal(sf_waf_new(&o, &w, err, sizeof err), SF_OK);
	assert_non_null(w);
	assert_int_equal(sf_waf_reload(w, err, sizeof err), SF_OK);
	sf_waf_free(w);
	/* a broken rules_extra is refused with the reason */
	char extra[] = "/tmp/sf-edge-rules-XXXXXX";
	fd = mkstemp(extra);
	assert_true(write(fd, "SecRule ARGS \"@rx x\" \"id:1,phase:2,pass,nonsense\"\n", 50) == 50);
	close(fd);
	o.rules_extra = extra;
	assert_int_equal(sf_waf_new(&o, &w, err, sizeof err), SF_ERR_CONFIG);
	assert_non_null(strstr(err, "[waf]"));
	o.rules_extra = "/nonexistent/rules.conf";
	assert_int_equal(sf_waf_new(&o, &w, err, sizeof err), SF_ERR_CONFIG);
	assert_non_null(strstr(err, "rules_extra"));
	o.mode = SF_WAF_OFF;
	assert_int_equal(sf_waf_new(&o, &w, err, sizeof err), SF_OK);
	assert_null(w);
	unlink(extra);
	unlink(log);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(cidr_lists),   cmocka_unit_test(client_address), cmocka_unit_test(token_buckets),
		cmocka_unit_test(ban_counters), cmocka_unit_test(redaction),      cmocka_unit_test(waf_rules),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
