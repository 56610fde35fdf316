/* test_core.c — arena, buffer, parsing, UTF-8, card scrubbing and the
 * redacting logger (which is tested by reading back what it wrote). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <time.h>
#include <unistd.h>

#include "core/arena.h"
#include "core/buf.h"
#include "core/err.h"
#include "core/log.h"
#include "core/util.h"

static void test_err_registry(void **state)
{
	(void)state;
	assert_int_equal(sf_err_status(SF_ERR_NOT_FOUND), 404);
	assert_string_equal(sf_err_code(SF_ERR_NOT_FOUND), "not_found");
	assert_int_equal(sf_err_status(SF_ERR_METHOD), 405);
	assert_int_equal(sf_err_status(SF_ERR_URI_TOO_LONG), 414);
	assert_int_equal(sf_err_status(SF_ERR_HEADERS_TOO_LARGE), 431);
	assert_string_equal(sf_err_code((enum sf_err)9999), "internal");
	assert_int_equal(sf_err_status((enum sf_err)9999), 500);
}

static void test_arena_cap(void **state)
{
	(void)state;
	struct sf_arena a;
	sf_arena_init(&a, 64 * 1024);
	char *p = sf_arena_strdup(&a, "hello");
	assert_non_null(p);
	assert_string_equal(p, "hello");
	assert_true(((uintptr_t)sf_arena_alloc(&a, 3) & 15) == 0);
	size_t got = 0;
	while (sf_arena_alloc(&a, 1000))
		got += 1000;
	assert_true(got > 40 * 1000);
	assert_true(got < 64 * 1024);
	assert_true(sf_arena_failed(&a));
	assert_null(sf_arena_alloc(&a, SIZE_MAX - 4));
	sf_arena_release(&a);

	sf_arena_init(&a, 1024 * 1024);
	char *s = sf_arena_printf(&a, "%s-%d", "x", 42);
	assert_string_equal(s, "x-42");
	assert_null(sf_arena_alloc(&a, 2 * 1024 * 1024));
	sf_arena_release(&a);
}

static void test_buf(void **state)
{
	(void)state;
	struct sf_buf b;
	sf_buf_init(&b, 10);
	assert_int_equal(sf_buf_puts(&b, "12345"), SF_OK);
	assert_int_equal(sf_buf_printf(&b, "%d", 6789), SF_OK);
	assert_string_equal(b.bf_data, "123456789");
	assert_int_equal(sf_buf_puts(&b, "ab"), SF_ERR_LIMIT);
	assert_int_equal(b.bf_err, SF_ERR_LIMIT);
	assert_int_equal(sf_buf_putc(&b, 'x'), SF_ERR_LIMIT); /* sticky */
	sf_buf_free(&b);

	sf_buf_init(&b, 1000);
	const char *evil = "<a href=\"x\" onclick='y'>&`=";
	assert_int_equal(sf_buf_put_html(&b, evil, strlen(evil)), SF_OK);
	assert_string_equal(b.bf_data, "&lt;a href&#61;&quot;x&quot; onclick&#61;&#39;y&#39;&gt;&amp;&#96;&#61;");
	size_t len;
	char *stolen = sf_buf_steal(&b, &len);
	assert_int_equal(len, strlen(stolen));
	free(stolen);
	sf_buf_free(&b);
}

static void test_parse_i64(void **state)
{
	(void)state;
	int64_t v;
	assert_int_equal(sf_parse_i64("42", 0, 100, &v), SF_OK);
	assert_int_equal(v, 42);
	assert_int_equal(sf_parse_i64("0", 0, 100, &v), SF_OK);
	assert_int_equal(sf_parse_i64("-5", -10, 10, &v), SF_OK);
	assert_int_equal(v, -5);
	const char *bad[] = {"", "+1", " 1", "1 ", "01", "1e3", "0x10", "-1", "101", "9223372036854775808",
			     "99999999999999999999", "1.5", "--1", "-"};
	for (size_t i = 0; i < SF_ARRAY_LEN(bad); i++)
		assert_int_equal(sf_parse_i64(bad[i], 0, 100, &v), SF_ERR_INVALID);
	assert_int_equal(sf_parse_i64("9223372036854775807", 0, INT64_MAX, &v), SF_OK);
	assert_int_equal(sf_parse_i64("-9223372036854775808", INT64_MIN, 0, &v), SF_OK);
	assert_true(v == INT64_MIN);
	assert_int_equal(sf_parse_i64(NULL, 0, 1, &v), SF_ERR_INVALID);
}

static void test_utf8(void **state)
{
	(void)state;
	assert_true(sf_utf8_valid("h\xc3\xa9llo \xe2\x82\xac \xf0\x9f\x98\x80", 15, 1));
	assert_false(sf_utf8_valid("\xc3", 1, 0));               /* truncated */
	assert_false(sf_utf8_valid("\xc0\xaf", 2, 0));           /* overlong '/' */
	assert_false(sf_utf8_valid("\xed\xa0\x80", 3, 0));       /* surrogate */
	assert_false(sf_utf8_valid("\xf4\x90\x80\x80", 4, 0));   /* > U+10FFFF */
	assert_false(sf_utf8_valid("\xff", 1, 0));
	assert_false(sf_utf8_valid("a\x01", 2, 1));
	assert_true(sf_utf8_valid("a\x01", 2, 0));
	assert_false(sf_utf8_valid("a\x7f", 2, 1));
	assert_false(sf_utf8_valid("a\0b", 3, 1));
	assert_true(sf_utf8_valid("a\tb\r\nc", 6, 1));
	assert_false(sf_utf8_valid("a\tb", 3, SF_UTF8_LINE));
	assert_false(sf_utf8_valid("a\nb", 3, SF_UTF8_LINE));
	assert_false(sf_utf8_valid("a\rb", 3, SF_UTF8_LINE));
	assert_false(sf_utf8_valid("a\x7f", 2, SF_UTF8_LINE));
	assert_true(sf_utf8_valid("h\xc3\xa9 b", 5, SF_UTF8_LINE));
	/* C1 controls (CSI U+009B, NEL U+0085): text, but never with no_ctl */
	assert_true(sf_utf8_valid("a\xc2\x9b" "31m", 6, 0));
	assert_false(sf_utf8_valid("a\xc2\x9b" "31m", 6, 1));
	assert_false(sf_utf8_valid("a\xc2\x85", 3, SF_UTF8_LINE));
	assert_true(sf_utf8_valid("\xc2\xa0\xc2\xbf", 4, SF_UTF8_LINE)); /* U+00A0, U+00BF: not controls */
	/* characters, not bytes: 1-, 2-, 3- and 4-byte sequences count one each */
	assert_int_equal(sf_utf8_chars(""), 0);
	assert_int_equal(sf_utf8_chars("h\xc3\xa9llo \xe2\x82\xac \xf0\x9f\x98\x80"), 9);
	assert_int_equal(sf_utf8_chars("\xd0\x96\xd0\x96"), 2);
}

/* sf_utf8_clip drops what snprintf left of a cut character, and only that. */
static void test_utf8_clip(void **state)
{
	(void)state;
	static const struct {
		const char *in, *out;
	} cases[] = {
		{"", ""},
		{"abc", "abc"},
		{"h\xc3\xa9", "h\xc3\xa9"},			     /* whole 2-byte */
		{"h\xc3", "h"},				     /* cut 2-byte */
		{"- \xe5\x95\x86", "- \xe5\x95\x86"},	     /* whole 3-byte */
		{"- \xe5", "- "},				     /* cut after 1 of 3 */
		{"- \xe5\x95", "- "},				     /* cut after 2 of 3 */
		{"x\xf0\x9f\x98\x80", "x\xf0\x9f\x98\x80"}, /* whole 4-byte */
		{"x\xf0\x9f\x98", "x"},			     /* cut after 3 of 4 */
		{"x\xf0", "x"},
		{"\xe5", ""},
	};
	for (size_t i = 0; i < SF_ARRAY_LEN(cases); i++) {
		char buf[16];
		sf_strlcpy(buf, cases[i].in, sizeof buf);
		assert_int_equal(sf_utf8_clip(buf), strlen(cases[i].out));
		assert_string_equal(buf, cases[i].out);
		assert_true(sf_utf8_valid(buf, strlen(buf), 0));
	}
	/* What a byte-wise cut does to a name of 3-byte characters that does not fit. */
	char small[8];
	assert_int_equal(sf_strlcpy(small, "\xe5\x95\x86\xe5\x95\x86\xe5\x95\x86", sizeof small), -1);
	assert_false(sf_utf8_valid(small, strlen(small), 0));
	assert_int_equal(sf_utf8_clip(small), 6);
	assert_true(sf_utf8_valid(small, strlen(small), 0));
}

static void test_cards(void **state)
{
	(void)state;
	/* Visa test number, with and without separators. */
	assert_true(sf_log_has_card("4111111111111111", 16));
	assert_true(sf_log_has_card("pay 4111 1111 1111 1111 now", 27));
	assert_true(sf_log_has_card("4111-1111-1111-1111", 19));
	assert_true(sf_log_has_card("378282246310005", 15)); /* Amex, 15 digits */
	assert_true(sf_log_has_card("x=99994111111111111111", 22)); /* glued to other digits */
	assert_false(sf_log_has_card("4111111111111112", 16)); /* Luhn fails */
	assert_false(sf_log_has_card("123456789012", 12));     /* too short */
	assert_false(sf_log_has_card("order 2026-11-21 12:00", 22));

	/* What a careless shopper types, or an attacker to get past the check:
	 * other separators, several of them, a card beside a hex word. */
	assert_true(sf_log_has_card("4111.1111.1111.1111", 19));
	assert_true(sf_log_has_card("4111  1111  1111  1111", 22));
	assert_true(sf_log_has_card("card 4111/1111/1111/1111", 24));
	assert_true(sf_log_has_card("4111 - 1111 - 1111 - 1111", 25));
	assert_true(sf_log_has_card("4111_1111_1111_1111", 19));
	assert_true(sf_log_has_card("3782 822463 10005", 17));                  /* Amex 4-6-5 */
	assert_true(sf_log_has_card("4111\xc2\xa0" "1111\xc2\xa0" "1111\xc2\xa0" "1111", 22)); /* no-break spaces */
	assert_true(sf_log_has_card("4111\xe2\x80\x93" "1111\xe2\x80\x93" "1111\xe2\x80\x93" "1111", 25)); /* en dashes */
	assert_true(sf_log_has_card("4111111111111111-deadbeef", 25));
	assert_true(sf_log_has_card("deadbeef-4111111111111111", 25));
	assert_true(sf_log_has_card("4111-1111-1111-1111-deadbeefcafe", 32));
	/* Ordinary text stays ordinary: dates, times, amounts, addresses,
	 * phone numbers, versions, paths. */
	static const char *const plain[] = {
		"+49 30 1234 5678", "+49 (30) 1234.5678", "030/1234 5678", "+1 (555) 010-0100",
		"2026-11-21 12:00", "21.11.2026 12.00", "2026/11/21", "12.50 13.00 14.99 15.00 16.50",
		"192.168.100.200 10.0.0.1", "1.2.3 4.5.6", "/img/2026/11/21/123456.jpg", "Hauptstr. 12, 10115 Berlin",
		"order 1042 of 2026-11-21, 3 x 19.99", "Postfach 1234, 04109 Leipzig",
	};
	for (size_t i = 0; i < sizeof plain / sizeof plain[0]; i++)
		assert_false(sf_log_has_card(plain[i], strlen(plain[i])));

	char s[] = "card=4111 1111 1111 1111&x=5500005555555559;ok=1234";
	assert_int_equal(sf_log_scrub_cards(s), 2);
	assert_string_equal(s, "card=[card]&x=[card];ok=1234");
	assert_null(strstr(s, "4111"));
}

/* Hex identifiers (UUIDs, hashes, trace ids) are not card numbers, even when
 * a Luhn-valid run of digits sits inside them; a card beside one still is. */
static void test_cards_hex_ids(void **state)
{
	(void)state;
	assert_false(sf_log_has_card("ab4111111111111111cdef0123456789ab", 34));
	assert_false(sf_log_has_card("41111111-1111-1111-abcd-ef0123456789", 36)); /* UUID with dashes */
	assert_false(sf_log_has_card("a41111111111111110123456", 24));             /* 24 hex digits */
	assert_true(sf_log_has_card("a4111111111111111012345", 23));               /* 23: too short */
	assert_true(sf_log_has_card("abcd4111111111111111", 20));
	assert_true(sf_log_has_card("41111111111111110000000000000000", 32)); /* no letter */
	assert_true(sf_log_has_card("ab4111111111111111 cdef0123456789abcdef", 39));
	assert_true(sf_log_has_card("x-4111111111111111-y", 20));

	char s[] = "trace=ab4111111111111111cdef0123456789ab card=4111111111111111";
	assert_int_equal(sf_log_scrub_cards(s), 1);
	assert_string_equal(s, "trace=ab4111111111111111cdef0123456789ab card=[card]");

	/* Random UUIDs, 32 hex digits each: ~1 in 400 holds a Luhn-valid run, and
	 * none may be taken for a card (nor, then, redacted from a log line). */
	unsigned seed = 20261121;
	char u[33];
	for (int k = 0; k < 20000; k++) {
		for (int i = 0; i < 32; i++)
			u[i] = "0123456789abcdef"[rand_r(&seed) % 16];
		u[32] = 0;
		assert_false(sf_log_has_card(u, 32));
	}

	/* The same as UUIDs with dashes (8-4-4-4-12), each beside a word. */
	char g[64];
	for (int k = 0; k < 20000; k++) {
		char *q = g;
		for (int i = 0; i < 32; i++) {
			if (i == 8 || i == 12 || i == 16 || i == 20)
				*q++ = '-';
			*q++ = "0123456789abcdef"[rand_r(&seed) % 16];
		}
		memcpy(q, " ok", 4);
		assert_false(sf_log_has_card(g, strlen(g)));
	}

	/* Hostile: 4 MiB of alternating digits and letters, and of digits and
	 * dashes, scanned in linear time (each a single token). */
	size_t n = 4u << 20;
	char *h = malloc(n + 1);
	assert_non_null(h);
	for (size_t i = 0; i < n; i++)
		h[i] = i % 2 ? 'a' : '1';
	h[n] = 0;
	assert_false(sf_log_has_card(h, n));
	for (size_t i = 0; i < n; i++)
		h[i] = i % 2 ? '-' : '0';
	assert_true(sf_log_has_card(h, n)); /* 0000000000000 passes Luhn */
	free(h);
}

/* Token text: a fixed mapping (tokens already issued must keep reading the
 * same), a nibble per letter, nothing but the alphabet. */
static void test_token_text(void **state)
{
	(void)state;
	const unsigned char b[] = {0x00, 0x1f, 0xf0, 0xff, 0x5a};
	char out[2 * sizeof b + 1];
	sf_token_text(b, sizeof b, out);
	assert_string_equal(out, "bbcttbtthn");
	unsigned char all[256];
	char t[2 * sizeof all + 1];
	for (int i = 0; i < 256; i++)
		all[i] = (unsigned char)i;
	sf_token_text(all, sizeof all, t);
	assert_int_equal(strlen(t), 512);
	assert_int_equal(strspn(t, SF_TOKEN_ALPHABET), 512);
	assert_int_equal(strlen(SF_TOKEN_ALPHABET), 16);
	assert_null(strpbrk(t, "0123456789aeiou-_"));
	sf_token_text(all, 0, t);
	assert_string_equal(t, "");
}

static void test_secret_keys(void **state)
{
	(void)state;
	const char *secret[] = {"Authorization", "cookie", "Set-Cookie", "password", "new_password", "api_token",
				"X-Api-Key", "client_secret", "otp", "code", "card_number", "cvc", "session_id",
				"csrf_token", "Stripe-Signature"};
	for (size_t i = 0; i < SF_ARRAY_LEN(secret); i++)
		assert_true(sf_log_key_is_secret(secret[i]));
	const char *plain[] = {"page", "q", "sort", "status_code", "user_agent", "path"};
	for (size_t i = 0; i < SF_ARRAY_LEN(plain); i++)
		assert_false(sf_log_key_is_secret(plain[i]));
}

/* The original definition (lower-case, then strstr for each word), against
 * which the one-pass matcher is checked on many names. */
static int secret_reference(const char *key)
{
	static const char *const words[] = {
		"authorization", "cookie", "password", "passwd", "token", "secret", "key", "otp",
		"card", "pan", "cvc", "cvv", "session", "csrf", "signature", "credential", "totp",
		"recovery", "pin", "iban", "ssn",
	};
	char low[128];
	size_t n = strlen(key);
	if (n >= sizeof low)
		return 1;
	for (size_t i = 0; i <= n; i++)
		low[i] = (char)((key[i] >= 'A' && key[i] <= 'Z') ? key[i] + 32 : key[i]);
	for (size_t i = 0; i < SF_ARRAY_LEN(words); i++)
		if (strstr(low, words[i]))
			return 1;
	return strcmp(low, "code") == 0;
}

static void test_secret_keys_differential(void **state)
{
	(void)state;
	static const char *const parts[] = {
		"", "x", "_", "-", "Authorization", "COOKIE", "passwor", "password", "passwd", "toke", "token",
		"secre", "secret", "ke", "key", "ot", "otp", "car", "card", "pa", "pan", "cv", "cvc", "cvv",
		"sessio", "session", "csr", "csrf", "signatur", "signature", "credentia", "credential", "tot",
		"totp", "recover", "recovery", "pi", "pin", "iba", "iban", "ss", "ssn", "code", "cod", "status",
		"page", "q", "user", "agent", "k", "e", "y",
	};
	char key[160];
	size_t checked = 0;
	for (size_t a = 0; a < SF_ARRAY_LEN(parts); a++)
		for (size_t b = 0; b < SF_ARRAY_LEN(parts); b++)
			for (size_t c = 0; c < SF_ARRAY_LEN(parts); c += 7) {
				snprintf(key, sizeof key, "%s%s%s", parts[a], parts[b], parts[c]);
				if (sf_log_key_is_secret(key) != secret_reference(key))
					fail_msg("'%s': %d, reference %d", key, sf_log_key_is_secret(key),
						 secret_reference(key));
				checked++;
			}
	/* Pseudo-random names over a small alphabet that spells the words. */
	uint32_t x = 2463534242u;
	const char alpha[] = "abcdefiknoprstuvwyzACEKNOPST_-";
	for (int i = 0; i < 200000; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		size_t len = x % 12;
		for (size_t j = 0; j < len; j++) {
			x ^= x << 13;
			x ^= x >> 17;
			x ^= x << 5;
			key[j] = alpha[x % (sizeof alpha - 1)];
		}
		key[len] = '\0';
		if (sf_log_key_is_secret(key) != secret_reference(key))
			fail_msg("'%s': %d, reference %d", key, sf_log_key_is_secret(key), secret_reference(key));
		checked++;
	}
	memset(key, 'a', sizeof key - 1);
	key[sizeof key - 1] = '\0';
	assert_true(sf_log_key_is_secret(key)); /* too long to judge: treated as secret */
	assert_true(checked > 200000);
}

static void test_redact_query(void **state)
{
	(void)state;
	char *r = sf_log_redact_query("page=2&token=abc123&q=shoes&password=hunter2&n=4111111111111111&flag");
	assert_non_null(r);
	assert_string_equal(r, "page=2&token=[redacted]&q=shoes&password=[redacted]&n=[card]&flag");
	free(r);
	r = sf_log_redact_query("");
	assert_string_equal(r, "");
	free(r);
	r = sf_log_redact_query("&&=&a=");
	assert_string_equal(r, "&&=&a=");
	free(r);
}

static char *slurp(const char *path)
{
	char *buf = NULL;
	size_t len = 0;
	if (sf_file_read(path, 1 << 20, &buf, &len) != SF_OK)
		return NULL;
	return buf;
}

static void test_log_writer(void **state)
{
	(void)state;
	char dir[] = "/tmp/sf-test-log-XXXXXX";
	assert_non_null(mkdtemp(dir));
	assert_int_equal(sf_log_open(dir, SF_LOG_INFO), SF_OK);
	json_t *o = json_pack("{s:s,s:s,s:s,s:{s:s,s:s},s:[s]}", "event", "test", "Authorization", "Bearer sekrit-1",
			      "note", "card 4111 1111 1111 1111 seen", "headers", "Cookie", "sid=sekrit-2", "accept",
			      "text/html", "list", "5500-0055-5555-5559");
	sf_log_emit(SF_LOG_ACCESS, SF_LOG_INFO, o);
	sf_log(SF_LOG_WARN, "test.event", "password hunter2 for card %s", "4111111111111111");
	sf_log(SF_LOG_DEBUG, "test.hidden", "below the level");
	sf_log_close();

	char path[512];
	snprintf(path, sizeof path, "%s/access.log", dir);
	char *access = slurp(path);
	assert_non_null(access);
	assert_null(strstr(access, "sekrit"));
	assert_null(strstr(access, "4111"));
	assert_null(strstr(access, "5500"));
	assert_non_null(strstr(access, "\"Authorization\":\"[redacted]\""));
	assert_non_null(strstr(access, "text/html"));
	assert_non_null(strstr(access, "[card]"));
	assert_int_equal(access[strlen(access) - 1], '\n');
	json_error_t jerr;
	json_t *back = json_loads(access, 0, &jerr);
	assert_non_null(back);
	assert_non_null(json_object_get(back, "ts"));
	json_decref(back);
	free(access);

	snprintf(path, sizeof path, "%s/app.log", dir);
	char *app = slurp(path);
	assert_non_null(app);
	assert_null(strstr(app, "4111"));
	assert_non_null(strstr(app, "\"level\":\"warn\""));
	assert_null(strstr(app, "below the level"));
	free(app);

	snprintf(path, sizeof path, "%s/access.log", dir);
	unlink(path);
	snprintf(path, sizeof path, "%s/app.log", dir);
	unlink(path);
	rmdir(dir);
}

/* sf_time_iso: "YYYY-MM-DDTHH:MM:SS.mmmZ", the same instant as time(),
 * truncated safely into a short buffer. */
static void test_time_iso(void **state)
{
	(void)state;
	char a[40], b[40];
	time_t before = time(NULL);
	sf_time_iso(a, sizeof a);
	sf_time_iso(b, sizeof b);
	time_t after = time(NULL);
	assert_int_equal(strlen(a), 24);
	for (size_t i = 0; i < 24; i++) {
		const char *shape = "dddd-dd-ddTdd:dd:dd.dddZ";
		if (shape[i] == 'd')
			assert_true(a[i] >= '0' && a[i] <= '9');
		else
			assert_int_equal(a[i], shape[i]);
	}
	struct tm tm;
	memset(&tm, 0, sizeof tm);
	assert_non_null(strptime(a, "%Y-%m-%dT%H:%M:%S", &tm));
	time_t t = timegm(&tm);
	assert_true(t >= before && t <= after);
	assert_true(strcmp(a, b) <= 0); /* never backwards within a thread */
	char small[8];
	sf_time_iso(small, sizeof small);
	assert_int_equal(strlen(small), 7);
	assert_memory_equal(small, a, 4);
	sf_time_iso(small, 0); /* nothing written, no crash */
}

static size_t count_lines(const char *dir, const char *prefix)
{
	char path[512];
	snprintf(path, sizeof path, "%s/access.log", dir);
	char *text = NULL;
	size_t len = 0;
	if (sf_file_read(path, 64u << 20, &text, &len) != SF_OK)
		return 0;
	size_t n = 0, pl = strlen(prefix);
	for (const char *p = text, *end = text + len; (p = memmem(p, (size_t)(end - p), prefix, pl)) != NULL; p++)
		n++;
	free(text);
	return n;
}

enum { BUF_THREADS = 6, BUF_LINES = 4000 };

static void *buffered_writer(void *arg)
{
	int t = (int)(intptr_t)arg;
	for (int i = 0; i < BUF_LINES; i++) {
		char rid[64];
		snprintf(rid, sizeof rid, "thr%d-%d", t, i);
		struct sf_log_access_line a = { .request_id = rid, .ip = "::1", .method = "GET",
						.path = "/api/v1/products", .status = 200, .bytes = 4937 };
		sf_log_access(&a);
	}
	return NULL; /* the thread's end writes what it buffered */
}

/* [log] access_flush_ms: lines wait in the thread's buffer, then reach the
 * file whole and exactly once — by age (the flusher thread for a quiet
 * thread), at a reopen (into the file they were made for), at the thread's
 * end, at close; a line bigger than the buffer goes straight out. */
static void test_log_access_buffered(void **state)
{
	(void)state;
	char dir[] = "/tmp/sf-test-blog-XXXXXX";
	assert_non_null(mkdtemp(dir));
	assert_int_equal(sf_log_access_buffer(SF_LOG_ACCESS_FLUSH_MAX_MS + 1), SF_ERR_INVALID);
	assert_int_equal(sf_log_access_buffer(200), SF_OK);
	assert_int_equal(sf_log_open(dir, SF_LOG_INFO), SF_OK);

	struct sf_log_access_line a = { .request_id = "early-1", .ip = "::1", .status = 200 };
	sf_log_access(&a);
	assert_int_equal(count_lines(dir, "\"early-1\""), 0); /* held back */
	int waited = 0;
	while (count_lines(dir, "\"early-1\"") == 0 && waited < 3000) {
		usleep(20000);
		waited += 20;
	}
	assert_int_equal(count_lines(dir, "\"early-1\""), 1); /* the flusher wrote it */
	assert_true(waited >= 100);

	/* A reopen writes what waits into the file it was made for. */
	a.request_id = "before-rotation";
	sf_log_access(&a);
	char path[512], moved[512];
	snprintf(path, sizeof path, "%s/access.log", dir);
	snprintf(moved, sizeof moved, "%s/access.log.1", dir);
	assert_int_equal(rename(path, moved), 0);
	assert_int_equal(sf_log_open(dir, SF_LOG_INFO), SF_OK);
	char *old = slurp(moved);
	assert_non_null(old);
	assert_non_null(strstr(old, "\"before-rotation\""));
	free(old);
	unlink(moved);

	/* Many threads: every line once, none torn (each parses as JSON). */
	pthread_t th[BUF_THREADS];
	for (int t = 0; t < BUF_THREADS; t++)
		assert_int_equal(pthread_create(&th[t], NULL, buffered_writer, (void *)(intptr_t)t), 0);
	for (int t = 0; t < BUF_THREADS; t++)
		pthread_join(th[t], NULL);
	assert_int_equal(count_lines(dir, "\"thr"), BUF_THREADS * BUF_LINES);
	for (int t = 0; t < BUF_THREADS; t++) {
		char rid[64];
		snprintf(rid, sizeof rid, "\"thr%d-%d\"", t, BUF_LINES - 1);
		assert_int_equal(count_lines(dir, rid), 1);
	}

	/* A line larger than the buffer. */
	static char longpath[40000];
	memset(longpath, 'q', sizeof longpath - 1);
	longpath[0] = '/';
	struct sf_log_access_line big = { .request_id = "big-1", .ip = "::1", .path = longpath, .status = 414 };
	a.request_id = "last-small";
	sf_log_access(&a);
	sf_log_access(&big);
	sf_log_close(); /* writes the rest */
	assert_int_equal(count_lines(dir, "\"big-1\""), 1);
	assert_int_equal(count_lines(dir, "\"last-small\""), 1);

	char *text = NULL;
	size_t len = 0;
	assert_int_equal(sf_file_read(path, 64u << 20, &text, &len), SF_OK);
	size_t lines = 0;
	for (char *p = text, *nl; (nl = strchr(p, '\n')) != NULL; p = nl + 1) {
		json_error_t jerr;
		json_t *j = json_loadb(p, (size_t)(nl - p), 0, &jerr);
		if (!j)
			fail_msg("torn line %zu: %.80s", lines, p);
		json_decref(j);
		lines++;
	}
	assert_int_equal(lines, (size_t)BUF_THREADS * BUF_LINES + 2); /* the first two went to the moved file */
	free(text);
	assert_int_equal(sf_log_access_buffer(0), SF_OK);
	unlink(path);
	snprintf(path, sizeof path, "%s/app.log", dir);
	unlink(path);
	rmdir(dir);
}

static void test_log_access_line(void **state)
{
	(void)state;
	char dir[] = "/tmp/sf-test-alog-XXXXXX";
	assert_non_null(mkdtemp(dir));
	assert_int_equal(sf_log_open(dir, SF_LOG_INFO), SF_OK);
	/* Hostile values: quotes, backslashes, every control byte, a card run in
	 * the path, the query and the user agent, invalid UTF-8, and a path long
	 * enough to leave the stack buffer. */
	char ctl[40];
	for (int i = 1; i < 32; i++)
		ctl[i - 1] = (char)i;
	ctl[31] = '\0';
	char ua[200];
	snprintf(ua, sizeof ua, "Mozilla \"quoted\" \\ %s card 4111-1111-1111-1111 caf\xc3\xa9", ctl);
	char longpath[20000];
	memset(longpath, 'p', sizeof longpath - 1);
	longpath[0] = '/';
	longpath[sizeof longpath - 1] = '\0';
	struct sf_log_access_line a = {
		.request_id = "rid1", .ip = "203.0.113.9", .method = "GET", .path = "/p/5500005555555559/x",
		.query = "q=4111111111111111&token=[redacted]", .user_agent = ua, .status = 200, .bytes = 1234,
		.duration_ms = 1.5, .tls = 1,
	};
	sf_log_access(&a);
	struct sf_log_access_line b = { .request_id = "rid2", .ip = "::1", .path = longpath,
					.user_agent = "bad \xff\xfe utf8", .status = 404 };
	sf_log_access(&b);
	struct sf_log_access_line c = { .request_id = "rid3", .ip = "::1", .status = 400, .duration_ms = -5 };
	sf_log_access(&c);
	/* Numbers are formatted by hand: the extremes, and rounding to 3 places. */
	struct sf_log_access_line d = { .request_id = "rid4", .ip = "::1", .status = 0, .bytes = (size_t)INT64_MAX,
					.duration_ms = 12.3456 };
	sf_log_access(&d);
	struct sf_log_access_line e = { .request_id = "rid5", .ip = "::1", .status = 503, .bytes = 0,
					.duration_ms = 999999999999.0 };
	sf_log_access(&e);
	struct sf_log_access_line f2 = { .request_id = "rid6", .ip = "::1", .status = 200, .duration_ms = 0.0004 };
	sf_log_access(&f2);
	sf_log_close();
	/* With the access log off nothing is written, and nothing crashes. */
	sf_log_access(&a);

	char path[512];
	snprintf(path, sizeof path, "%s/access.log", dir);
	char *text = slurp(path);
	assert_non_null(text);
	assert_null(strstr(text, "4111"));
	assert_null(strstr(text, "5500"));
	char *save = NULL;
	int lines = 0;
	for (char *ln = strtok_r(text, "\n", &save); ln; ln = strtok_r(NULL, "\n", &save)) {
		json_error_t jerr;
		json_t *o = json_loads(ln, 0, &jerr);
		if (!o)
			fail_msg("line %d is not JSON: %s", lines + 1, jerr.text);
		assert_non_null(json_object_get(o, "ts"));
		const char *rid = json_string_value(json_object_get(o, "request_id"));
		assert_non_null(rid);
		if (!strcmp(rid, "rid1")) {
			assert_string_equal(json_string_value(json_object_get(o, "path")), "/p/[card]/x");
			assert_string_equal(json_string_value(json_object_get(o, "query")), "q=[card]&token=[redacted]");
			const char *u = json_string_value(json_object_get(o, "user_agent"));
			assert_non_null(u);
			assert_non_null(strstr(u, "\"quoted\" \\ "));
			assert_non_null(strstr(u, ctl)); /* every control byte round-trips */
			assert_non_null(strstr(u, "[card]"));
			assert_non_null(strstr(u, "caf\xc3\xa9"));
			assert_int_equal(json_integer_value(json_object_get(o, "status")), 200);
			assert_int_equal(json_integer_value(json_object_get(o, "bytes")), 1234);
			assert_true(json_real_value(json_object_get(o, "duration_ms")) == 1.5);
			assert_true(json_is_true(json_object_get(o, "tls")));
		} else if (!strcmp(rid, "rid2")) {
			assert_int_equal(strlen(json_string_value(json_object_get(o, "path"))), strlen(longpath));
			assert_string_equal(json_string_value(json_object_get(o, "user_agent")), "[invalid]");
			assert_string_equal(json_string_value(json_object_get(o, "method")), "-");
			assert_null(json_object_get(o, "query"));
		} else if (!strcmp(rid, "rid4")) {
			assert_non_null(strstr(ln, ",\"status\":0,\"bytes\":9223372036854775807,\"duration_ms\":12.346,"));
		} else if (!strcmp(rid, "rid5")) {
			assert_non_null(strstr(ln, ",\"status\":503,\"bytes\":0,\"duration_ms\":999999999999.000,"));
		} else if (!strcmp(rid, "rid6")) {
			assert_non_null(strstr(ln, ",\"duration_ms\":0.000,"));
		} else {
			assert_string_equal(rid, "rid3");
			assert_string_equal(json_string_value(json_object_get(o, "path")), "-");
			assert_null(json_object_get(o, "user_agent"));
			assert_true(json_real_value(json_object_get(o, "duration_ms")) == 0);
			assert_true(json_is_false(json_object_get(o, "tls")));
		}
		json_decref(o);
		lines++;
	}
	assert_int_equal(lines, 6);
	free(text);
	unlink(path);
	snprintf(path, sizeof path, "%s/app.log", dir);
	unlink(path);
	rmdir(dir);
}

static void test_files(void **state)
{
	(void)state;
	char dir[] = "/tmp/sf-test-files-XXXXXX";
	assert_non_null(mkdtemp(dir));
	char p[512], deep[512];
	snprintf(p, sizeof p, "%s/f.txt", dir);
	assert_int_equal(sf_file_write_atomic(p, "abc", 3, 0600), SF_OK);
	char *d = NULL;
	size_t n = 0;
	assert_int_equal(sf_file_read(p, 100, &d, &n), SF_OK);
	assert_int_equal(n, 3);
	assert_string_equal(d, "abc");
	free(d);
	assert_int_equal(sf_file_read(p, 2, &d, &n), SF_ERR_TOO_LARGE);
	assert_int_equal(sf_file_read(dir, 100, &d, &n), SF_ERR_IO); /* a directory */
	snprintf(deep, sizeof deep, "%s/a/b/c", dir);
	assert_int_equal(sf_mkdirs(deep, 0700), SF_OK);
	assert_int_equal(sf_mkdirs(deep, 0700), SF_OK);
	assert_int_equal(sf_mkdirs(p, 0700), SF_ERR_IO); /* a file is in the way */
	rmdir(deep);
	snprintf(deep, sizeof deep, "%s/a/b", dir);
	rmdir(deep);
	snprintf(deep, sizeof deep, "%s/a", dir);
	rmdir(deep);
	unlink(p);
	rmdir(dir);

	char tok[27];
	sf_rand_base32(tok, 26);
	assert_int_equal(strlen(tok), 26);
	for (int i = 0; i < 26; i++)
		assert_non_null(strchr("abcdefghijklmnopqrstuvwxyz234567", tok[i]));
	char tok2[27];
	sf_rand_base32(tok2, 26);
	assert_string_not_equal(tok, tok2);
}

/* Time-ordered tokens: the same characters, in the order they were made
 * (to the millisecond), the prefix the time, the rest random. */
static void test_rand_timed(void **state)
{
	(void)state;
	static const char digits[] = "234567abcdefghijklmnopqrstuvwxyz";
	char a[37], b[37], c[37];
	struct timespec now, pause = {.tv_nsec = 2000000};
	clock_gettime(CLOCK_REALTIME, &now);
	sf_rand_base32_timed(a, 36);
	sf_rand_base32_timed(b, 36); /* most likely the same millisecond */
	nanosleep(&pause, NULL);
	sf_rand_base32_timed(c, 36);
	assert_int_equal(strlen(a), 36);
	for (int i = 0; i < 36; i++)
		assert_non_null(strchr("abcdefghijklmnopqrstuvwxyz234567", a[i]));
	assert_string_not_equal(a, b);			   /* the random part */
	assert_true(memcmp(a, b, SF_RAND_TIME_CHARS) <= 0); /* never backwards */
	assert_true(memcmp(b, c, SF_RAND_TIME_CHARS) < 0);  /* 2 ms later sorts after */
	assert_true(strcmp(a, c) < 0 && strcmp(b, c) < 0);
	/* the prefix is the time in milliseconds */
	uint64_t ms = 0;
	for (int i = 0; i < SF_RAND_TIME_CHARS; i++)
		ms = ms * 32 + (uint64_t)(strchr(digits, a[i]) - digits);
	uint64_t want = (uint64_t)now.tv_sec * 1000 + (uint64_t)now.tv_nsec / 1000000;
	assert_true(ms >= want && ms < want + 1000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_err_registry), cmocka_unit_test(test_arena_cap),
		cmocka_unit_test(test_buf),          cmocka_unit_test(test_parse_i64),
		cmocka_unit_test(test_utf8),         cmocka_unit_test(test_utf8_clip),
		cmocka_unit_test(test_rand_timed),   cmocka_unit_test(test_cards),
		cmocka_unit_test(test_cards_hex_ids),
		cmocka_unit_test(test_secret_keys),  cmocka_unit_test(test_token_text),
		cmocka_unit_test(test_secret_keys_differential),
		cmocka_unit_test(test_log_access_line),  cmocka_unit_test(test_log_access_buffered), cmocka_unit_test(test_time_iso),  cmocka_unit_test(test_redact_query),
		cmocka_unit_test(test_log_writer),   cmocka_unit_test(test_files),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
