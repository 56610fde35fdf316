/* test_session_csrf.c — sessions (create, lookup, idle and absolute
 * expiry with an injected clock, kinds, logout, revocation, cookies) and the
 * CSRF accept/reject matrix (tokens and request origins). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "auth/csrf.h"
#include "auth/session.h"
#include "core/log.h"
#include "crypto/keyring.h"
#include "db/db.h"
#include "sf_test.h"

static char dir[128];
static struct sf_db *db;
static struct sf_keyring *kr;

static const struct sf_session_policy customer = {"customer", "__Host-sf_session", "Lax", 1800, 7 * 86400};
static const struct sf_session_policy staff = {"staff", "__Host-sf_staff", "Strict", 900, 8 * 3600};

static int setup(void **state)
{
	(void)state;
	if (sf_test_mkdtemp(dir, sizeof dir, "auth") != 0)
		return -1;
	db = sf_test_db_open(dir, "t.db");
	sf_keyring_free(sf_test_ring_open(dir, "master.key", 1, 1));
	kr = sf_test_ring_load(db, dir, "master.key");
	return db && kr ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	sf_keyring_free(kr);
	sf_db_close(db);
	sf_test_rmtree(dir);
	return 0;
}

static void test_session_lifecycle(void **state)
{
	(void)state;
	struct sf_db_conn *c = sf_db_conn_get(db);
	char tok[SF_SESSION_COOKIE_LEN + 1];
	struct sf_session s, got;
	int64_t t0 = 1700000000;
	assert_int_equal(sf_session_create(c, &customer, 42, "127.0.0.1", t0, tok, &s), SF_OK);
	assert_int_equal(strlen(tok), SF_SESSION_COOKIE_LEN);
	assert_true(s.id > 0);
	assert_int_equal(sf_session_lookup(c, &customer, tok, t0 + 10, &got), SF_OK);
	assert_int_equal(got.principal_id, 42);
	assert_int_equal(got.id, s.id);
	/* another kind's policy does not accept it */
	assert_int_equal(sf_session_lookup(c, &staff, tok, t0 + 10, &got), SF_ERR_NOT_FOUND);
	/* malformed and unknown values */
	assert_int_equal(sf_session_lookup(c, &customer, "short", t0, &got), SF_ERR_NOT_FOUND);
	char other[SF_SESSION_COOKIE_LEN + 1];
	sf_token_new(other);
	assert_int_equal(sf_session_lookup(c, &customer, other, t0, &got), SF_ERR_NOT_FOUND);
	char bad[SF_SESSION_COOKIE_LEN + 1];
	memcpy(bad, tok, sizeof bad);
	bad[5] = '%';
	assert_int_equal(sf_session_lookup(c, &customer, bad, t0, &got), SF_ERR_NOT_FOUND);
	/* use keeps it alive past one idle period (touch every minute) */
	int64_t t = t0;
	for (int i = 0; i < 10; i++) {
		t += 1700;
		assert_int_equal(sf_session_lookup(c, &customer, tok, t, &got), SF_OK);
	}
	/* idle timeout */
	assert_int_equal(sf_session_lookup(c, &customer, tok, t + 1800, &got), SF_ERR_NOT_FOUND);
	/* and it is gone for good */
	assert_int_equal(sf_session_lookup(c, &customer, tok, t + 1, &got), SF_ERR_NOT_FOUND);
}

static void test_session_absolute_and_logout(void **state)
{
	(void)state;
	struct sf_db_conn *c = sf_db_conn_get(db);
	char tok[SF_SESSION_COOKIE_LEN + 1], tok2[SF_SESSION_COOKIE_LEN + 1], tok3[SF_SESSION_COOKIE_LEN + 1];
	struct sf_session s, got;
	int64_t t0 = 1700000000;
	assert_int_equal(sf_session_create(c, &staff, 7, NULL, t0, tok, &s), SF_OK);
	int64_t t = t0;
	while (t + 600 < t0 + 8 * 3600) {
		t += 600;
		assert_int_equal(sf_session_lookup(c, &staff, tok, t, &got), SF_OK);
	}
	assert_int_equal(sf_session_lookup(c, &staff, tok, t0 + 8 * 3600, &got), SF_ERR_NOT_FOUND);
	/* logout and revoke-all */
	assert_int_equal(sf_session_create(c, &customer, 9, NULL, t0, tok, &s), SF_OK);
	assert_int_equal(sf_session_delete(c, s.id), SF_OK);
	assert_int_equal(sf_session_lookup(c, &customer, tok, t0 + 1, &got), SF_ERR_NOT_FOUND);
	struct sf_session keep;
	assert_int_equal(sf_session_create(c, &customer, 9, NULL, t0, tok2, &s), SF_OK);
	assert_int_equal(sf_session_create(c, &customer, 9, NULL, t0, tok3, &keep), SF_OK);
	assert_int_equal(sf_session_delete_principal(c, "customer", 9, keep.id), SF_OK);
	assert_int_equal(sf_session_lookup(c, &customer, tok2, t0 + 1, &got), SF_ERR_NOT_FOUND);
	assert_int_equal(sf_session_lookup(c, &customer, tok3, t0 + 1, &got), SF_OK);
	/* housekeeping: nothing before the absolute expiry, then in bounded steps */
	int64_t n = -1;
	assert_int_equal(sf_session_prune(db, t0 + 2, 0, &n), SF_ERR_INVALID);
	assert_int_equal(sf_session_prune(db, t0 + 2, SF_DB_PRUNE_MAX + 1, &n), SF_ERR_INVALID);
	assert_int_equal(sf_session_prune(db, t0 + 2, SF_DB_PRUNE_MAX, &n), SF_OK);
	assert_int_equal(n, 0);
	assert_int_equal(sf_session_lookup(c, &customer, tok3, t0 + 2, &got), SF_OK);
	assert_int_equal(sf_session_prune(db, t0 + 8 * 86400, 1, &n), SF_OK);
	assert_int_equal(n, 1);
	do /* the rest, one at a time */
		assert_int_equal(sf_session_prune(db, t0 + 8 * 86400, 1, &n), SF_OK);
	while (n);
	assert_int_equal(sf_session_lookup(c, &customer, tok3, t0 + 3, &got), SF_ERR_NOT_FOUND);
}

static void test_session_cookie(void **state)
{
	(void)state;
	char v[256];
	assert_int_equal(sf_session_cookie(&customer, "abc", v, sizeof v), SF_OK);
	assert_string_equal(v, "__Host-sf_session=abc; Path=/; Secure; HttpOnly; SameSite=Lax");
	assert_int_equal(sf_session_cookie(&staff, NULL, v, sizeof v), SF_OK);
	assert_non_null(strstr(v, "Max-Age=0"));
	assert_non_null(strstr(v, "SameSite=Strict"));
	assert_int_equal(sf_session_cookie(&customer, "abc", v, 10), SF_ERR_LIMIT);
}

static void test_tokens_unique_and_hashed(void **state)
{
	(void)state;
	char a[SF_SESSION_COOKIE_LEN + 1], b[SF_SESSION_COOKIE_LEN + 1];
	unsigned char ha[SF_SESSION_HASH_LEN], hb[SF_SESSION_HASH_LEN];
	sf_token_new(a);
	sf_token_new(b);
	assert_string_not_equal(a, b);
	assert_true(sf_token_shape_ok(a));
	sf_token_hash("x", a, ha);
	sf_token_hash("y", a, hb);
	assert_memory_not_equal(ha, hb, sizeof ha);
}

static void test_csrf_tokens(void **state)
{
	(void)state;
	unsigned char sess[32], sess2[32];
	memset(sess, 1, sizeof sess);
	memset(sess2, 2, sizeof sess2);
	const char *pre = "pre-session-cookie-value-0123456789abcdefgh";
	char t[SF_CSRF_TOKEN_LEN + 1], tp[SF_CSRF_TOKEN_LEN + 1];
	assert_int_equal(sf_csrf_make(kr, SF_CSRF_BIND_SESSION, sess, sizeof sess, t), SF_OK);
	assert_int_equal(strlen(t), SF_CSRF_TOKEN_LEN);
	assert_int_equal(sf_csrf_make(kr, SF_CSRF_BIND_PRESESSION, pre, strlen(pre), tp), SF_OK);
	/* Tokens travel in forms, cookies and links that the WAF and the
	 * card-number check inspect: only consonant letters, never a character
	 * CRS reads as SQL or shell syntax, never a digit run that passes Luhn
	 * (hex tokens did, in about one in thirty: those sessions' forms were
	 * refused as card data). */
	assert_int_equal(strspn(t, "bcdfghjklmnpqrst"), SF_CSRF_TOKEN_LEN);
	for (int i = 0; i < 2000; i++) {
		unsigned char b[32];
		char ct[SF_CSRF_TOKEN_LEN + 1];
		memset(b, 0, sizeof b);
		memcpy(b, &i, sizeof i);
		assert_int_equal(sf_csrf_make(kr, SF_CSRF_BIND_SESSION, b, sizeof b, ct), SF_OK);
		assert_int_equal(strspn(ct, "bcdfghjklmnpqrst"), SF_CSRF_TOKEN_LEN);
		assert_false(sf_log_has_card(ct, strlen(ct)));
		char r[SF_SESSION_COOKIE_LEN + 1];
		sf_token_new(r);
		assert_int_equal(strspn(r, "bcdfghjklmnpqrst"), SF_SESSION_COOKIE_LEN);
		assert_false(sf_log_has_card(r, strlen(r)));
		assert_true(sf_token_shape_ok(r));
		r[i % SF_SESSION_COOKIE_LEN] = '-';
		assert_false(sf_token_shape_ok(r));
	}
	/* accept */
	assert_true(sf_csrf_matches(kr, SF_CSRF_BIND_SESSION, sess, sizeof sess, t));
	assert_true(sf_csrf_matches(kr, SF_CSRF_BIND_PRESESSION, pre, strlen(pre), tp));
	/* reject: other session, other binding kind, other pre-session, altered, truncated, empty, NULL */
	assert_false(sf_csrf_matches(kr, SF_CSRF_BIND_SESSION, sess2, sizeof sess2, t));
	assert_false(sf_csrf_matches(kr, SF_CSRF_BIND_PRESESSION, sess, sizeof sess, t));
	assert_false(sf_csrf_matches(kr, SF_CSRF_BIND_PRESESSION, "another-pre-session-cookie-value-000000000", 42, tp));
	char alt[SF_CSRF_TOKEN_LEN + 1];
	memcpy(alt, t, sizeof alt);
	alt[0] = alt[0] == 'A' ? 'B' : 'A';
	assert_false(sf_csrf_matches(kr, SF_CSRF_BIND_SESSION, sess, sizeof sess, alt));
	alt[0] = t[0];
	alt[SF_CSRF_TOKEN_LEN - 1] = '\0';
	assert_false(sf_csrf_matches(kr, SF_CSRF_BIND_SESSION, sess, sizeof sess, alt));
	assert_false(sf_csrf_matches(kr, SF_CSRF_BIND_SESSION, sess, sizeof sess, ""));
	assert_false(sf_csrf_matches(kr, SF_CSRF_BIND_SESSION, sess, sizeof sess, NULL));
	assert_false(sf_csrf_matches(NULL, SF_CSRF_BIND_SESSION, sess, sizeof sess, t));
}

struct origin_case {
	const char *site, *origin, *host;
	int https;
	enum sf_err want;
};

static void test_origin_matrix(void **state)
{
	(void)state;
	static const struct origin_case cases[] = {
		{NULL, NULL, "shop.example", 1, SF_OK},                          /* non-browser client */
		{"same-origin", "https://shop.example", "shop.example", 1, SF_OK},
		{"none", NULL, "shop.example", 1, SF_OK},
		{NULL, "https://shop.example:8443", "shop.example:8443", 1, SF_OK},
		{NULL, "https://SHOP.example", "shop.example", 1, SF_OK},
		{NULL, "https://shop.example", "shop.example:443", 1, SF_OK},
		{NULL, "https://shop.example:443", "shop.example", 1, SF_OK},
		{"cross-site", NULL, "shop.example", 1, SF_ERR_CSRF},
		{"cross-site", "https://shop.example", "shop.example", 1, SF_ERR_CSRF},
		{"same-site", "https://shop.example", "shop.example", 1, SF_ERR_CSRF},
		{NULL, "https://evil.example", "shop.example", 1, SF_ERR_CSRF},
		{NULL, "https://shop.example.evil.example", "shop.example", 1, SF_ERR_CSRF},
		{NULL, "https://shop.example:9999", "shop.example:8443", 1, SF_ERR_CSRF},
		{NULL, "http://shop.example", "shop.example", 1, SF_ERR_CSRF},
		{NULL, "null", "shop.example", 1, SF_ERR_CSRF},
		{NULL, "", "shop.example", 1, SF_ERR_CSRF},
		{NULL, "https://shop.example", NULL, 1, SF_ERR_CSRF},
		{"same-origin", "https://evil.example", "shop.example", 1, SF_ERR_CSRF},
		{NULL, "http://shop.example", "shop.example", 0, SF_OK},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const struct origin_case *k = &cases[i];
		enum sf_err got = sf_csrf_origin_check(k->site, k->origin, k->host, k->https);
		if (got != k->want)
			fail_msg("case %zu (site=%s origin=%s host=%s): got %d want %d", i, k->site ? k->site : "-",
				 k->origin ? k->origin : "-", k->host ? k->host : "-", got, k->want);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_session_lifecycle),
		cmocka_unit_test(test_session_absolute_and_logout),
		cmocka_unit_test(test_session_cookie),
		cmocka_unit_test(test_tokens_unique_and_hashed),
		cmocka_unit_test(test_csrf_tokens),
		cmocka_unit_test(test_origin_matrix),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
