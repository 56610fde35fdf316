/* test_staff_login.c — staff accounts end to end on a real SQLite file with
 * an injected clock: enrollment link (single use), password policy and
 * history, TOTP set-up and login (replay refused, recovery codes single
 * use), lock after 10 failures and unlock after 30 minutes, per-address
 * throttling across accounts, expired passwords forcing a change, idle and
 * absolute expiry of staff sessions, roles and the owner rules, 2FA reset,
 * API token scopes, and the audit events of all of it. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth/apitoken.h"
#include "auth/auth.h"
#include "auth/session.h"
#include "auth/staff.h"
#include "auth/totp.h"
#include "core/app.h"
#include "core/config.h"
#include "crypto/keyring.h"
#include "db/db.h"
#include "sf_test.h"

static char dir[128];
static struct sf_db *db;
static struct sf_keyring *kr;
static struct sf_config cfg;
static struct sf_app app;
static int64_t clock_now = 1700000000;

#define PW "Tangerine-Orbit-7731"
#define PW2 "Quartz-Lantern-Meadow-42"

static int64_t test_clock(void)
{
	return clock_now;
}

static int setup(void **state)
{
	(void)state;
	if (sf_test_mkdtemp(dir, sizeof dir, "staff") != 0)
		return -1;
	db = sf_test_db_open(dir, "t.db");
	sf_keyring_free(sf_test_ring_open(dir, "master.key", 1, 1));
	kr = sf_test_ring_load(db, dir, "master.key");
	sf_config_defaults(&cfg);
	app = (struct sf_app){.cfg = &cfg, .db = db, .keys = kr};
	sf_auth_set_clock(test_clock);
	return db && kr ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	sf_auth_set_clock(NULL);
	sf_keyring_free(kr);
	sf_db_close(db);
	sf_test_rmtree(dir);
	return 0;
}

static void actor(struct sf_staff_actor *a, const char *type, int64_t id, const char *ip)
{
	*a = (struct sf_staff_actor){.type = type, .staff_id = id, .ip = ip, .request_id = "t", .now = clock_now};
}

/* How many audit events of action the trail holds. */
static int64_t count(const char *action)
{
	struct sf_db_conn *c = sf_db_conn_get(db);
	struct sf_db_param p[] = {SF_DB_INT(0), SF_DB_INT(1000000)};
	struct sf_db_cursor *cur = NULL;
	int64_t n = 0;
	assert_int_equal(sf_db_query(c, SF_STMT_AUDIT_SCAN, p, 2, &cur), SF_DB_OK);
	while (sf_db_next(cur) == SF_DB_OK)
		n += !strcmp(sf_db_col_text(cur, 5, NULL), action);
	sf_db_cursor_close(cur);
	return n;
}

/* Decode a grouped base32 key as shown on the set-up page. */
static size_t b32_decode(const char *in, unsigned char *out)
{
	const char *alpha = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
	uint32_t acc = 0;
	int bits = 0;
	size_t n = 0;
	for (; *in; in++) {
		const char *p = strchr(alpha, *in);
		if (*in == ' ' || !p)
			continue;
		acc = (acc << 5) | (uint32_t)(p - alpha);
		bits += 5;
		if (bits >= 8) {
			out[n++] = (unsigned char)(acc >> (bits - 8));
			bits -= 8;
		}
	}
	return n;
}

static void code_at(const unsigned char *seed, size_t n, int64_t t, char out[9])
{
	assert_int_equal(sf_totp_generate(seed, n, SF_TOTP_SHA1, t, 6, out), SF_OK);
}

/* Create, enroll (password + TOTP) and return the id and seed. */
static int64_t enroll(const char *email, const char *role, unsigned char seed[64], size_t *seedn)
{
	struct sf_staff_actor cli, anon;
	actor(&cli, "cli", 0, NULL);
	actor(&anon, "anonymous", 0, "192.0.2.10");
	int64_t id = 0, id2 = 0;
	char link[SF_STAFF_LINK_MAX];
	const char *why = NULL;
	const char *roles[] = {role};
	assert_int_equal(sf_staff_add(&app, &cli, email, "Test Person", roles, 1, &id, link, &why), SF_OK);
	const char *tok = strstr(link, "token=");
	assert_non_null(tok);
	tok += 6;
	assert_int_equal(sf_staff_enroll_password(&app, &anon, tok, PW, &id2, &why), SF_OK);
	assert_int_equal(id, id2);
	char key[SF_TOTP_B32_MAX], uri[512];
	json_t *qr = NULL;
	assert_int_equal(sf_staff_totp_begin(&app, id, key, uri, sizeof uri, &qr), SF_OK);
	json_decref(qr);
	*seedn = b32_decode(key, seed);
	assert_int_equal(*seedn, SF_TOTP_SEED_LEN);
	char code[9], codes[SF_RECOVERY_CODES][SF_RECOVERY_CODE_LEN + 1];
	const char *stage = NULL;
	code_at(seed, *seedn, clock_now - 30, code);
	assert_int_equal(sf_staff_totp_confirm(&app, &anon, id, code, codes, &stage), SF_OK);
	assert_string_equal(stage, "full");
	return id;
}

static void test_enrollment(void **state)
{
	(void)state;
	struct sf_staff_actor cli, anon;
	actor(&cli, "cli", 0, NULL);
	actor(&anon, "anonymous", 0, "192.0.2.10");
	int64_t id = 0, id2 = 0;
	char link[SF_STAFF_LINK_MAX];
	const char *why = NULL;
	const char *roles[] = {"owner"};
	assert_int_equal(sf_staff_add(&app, &cli, "  Olga@Example.COM ", "Olga", roles, 1, &id, link, &why), SF_OK);
	assert_non_null(strstr(link, "/admin/enroll?token="));
	char first_tok[SF_STAFF_LINK_MAX]; /* the calls below reuse link */
	snprintf(first_tok, sizeof first_tok, "%s", strstr(link, "token=") + 6);
	assert_int_equal(sf_staff_add(&app, &cli, "olga@example.com", "", roles, 1, &id2, link + 0, &why) , SF_ERR_EXISTS);
	const char *bogus[] = {"cashier"};
	assert_int_equal(sf_staff_add(&app, &cli, "x@example.com", "", bogus, 1, &id2, link, &why), SF_ERR_BAD_PARAM);
	assert_int_equal(sf_staff_add(&app, &cli, "not-an-email", "", roles, 1, &id2, link, &why), SF_ERR_BAD_PARAM);
	/* A name is one line of at most 100 characters (not bytes). */
	assert_int_equal(sf_staff_add(&app, &cli, "x@example.com", "Olga\nAdmin", roles, 1, &id2, link, &why),
			 SF_ERR_BAD_PARAM);
	assert_string_equal(why, "The name must be one line of at most 100 characters.");
	assert_int_equal(sf_staff_add(&app, &cli, "x@example.com", "Olga\tAdmin", roles, 1, &id2, link, &why),
			 SF_ERR_BAD_PARAM);
	assert_int_equal(sf_staff_add(&app, &cli, "x@example.com", "Olga 4111 1111 1111 1111", roles, 1, &id2, link, &why),
			 SF_ERR_CARD_DATA);
	assert_int_equal(sf_staff_add(&app, &cli, "4111111111111111@example.com", "", roles, 1, &id2, link, &why),
			 SF_ERR_CARD_DATA);
	char wide[101 * 2 + 1];
	for (int i = 0; i < 101; i++)
		memcpy(wide + 2 * i, "\xc3\xa9", 2); /* é */
	wide[101 * 2] = '\0';
	assert_int_equal(sf_staff_add(&app, &cli, "x@example.com", wide, roles, 1, &id2, link, &why), SF_ERR_BAD_PARAM);
	wide[100 * 2] = '\0';
	char wide_link[SF_STAFF_LINK_MAX];
	const char *clerk[] = {"analyst"};
	assert_int_equal(sf_staff_add(&app, &cli, "wide@example.com", wide, clerk, 1, &id2, wide_link, &why), SF_OK);
	int has = 1;
	assert_int_equal(sf_staff_enroll_check(&app, first_tok, &id2, &has), SF_OK);
	assert_int_equal(id2, id);
	char link2[SF_STAFF_LINK_MAX];
	assert_int_equal(sf_staff_enroll_link(&app, &cli, id, link2), SF_OK);
	const char *tok = strstr(link2, "token=") + 6;
	/* A new link kills the old one. */
	assert_string_not_equal(tok, first_tok);
	assert_int_equal(sf_staff_enroll_check(&app, first_tok, &id2, &has), SF_ERR_TOKEN_INVALID);
	has = 1;
	assert_int_equal(sf_staff_enroll_check(&app, tok, &id2, &has), SF_OK);
	assert_int_equal(has, 0);
	/* Not logged in before enrollment. */
	const char *stage;
	assert_int_equal(sf_staff_login_password(&app, &anon, "olga@example.com", PW, &id2, &stage), SF_ERR_LOGIN_FAILED);
	assert_int_equal(sf_staff_enroll_password(&app, &anon, tok, "short", &id2, &why), SF_ERR_WEAK_PASSWORD);
	assert_non_null(why);
	assert_int_equal(sf_staff_enroll_password(&app, &anon, tok, "olga@example.com-olga", &id2, &why),
			 SF_ERR_WEAK_PASSWORD);
	assert_int_equal(sf_staff_enroll_password(&app, &anon, tok, PW, &id2, &why), SF_OK);
	assert_int_equal(sf_staff_enroll_password(&app, &anon, tok, PW, &id2, &why), SF_ERR_TOKEN_INVALID);
	assert_int_equal(sf_staff_enroll_password(&app, &anon, "garbage", PW, &id2, &why), SF_ERR_TOKEN_INVALID);
	/* Expired link. */
	assert_int_equal(sf_staff_enroll_link(&app, &cli, id, link2), SF_OK);
	clock_now += 73 * 3600;
	assert_int_equal(sf_staff_enroll_check(&app, strstr(link2, "token=") + 6, &id2, NULL), SF_ERR_TOKEN_INVALID);
	clock_now -= 73 * 3600;
	/* Password known, no second factor yet: set-up comes next. */
	assert_int_equal(sf_staff_login_password(&app, &anon, "OLGA@example.com", PW, &id2, &stage), SF_OK);
	assert_string_equal(stage, "enroll");
	char key[SF_TOTP_B32_MAX], uri[512];
	json_t *qr = NULL;
	assert_int_equal(sf_staff_totp_begin(&app, id, key, uri, sizeof uri, &qr), SF_OK);
	assert_int_equal(strncmp(uri, "otpauth://totp/", 15), 0);
	assert_non_null(strstr(uri, ":olga@example.com?secret="));
	assert_non_null(strstr(uri, "&algorithm=SHA1&digits=6&period=30"));
	json_decref(qr);
	unsigned char seed[64];
	size_t n = b32_decode(key, seed);
	char code[9], codes[SF_RECOVERY_CODES][SF_RECOVERY_CODE_LEN + 1];
	code_at(seed, n, clock_now + 300, code);
	assert_int_equal(sf_staff_totp_confirm(&app, &anon, id, code, codes, &stage), SF_ERR_LOGIN_FAILED);
	code_at(seed, n, clock_now, code);
	assert_int_equal(sf_staff_totp_confirm(&app, &anon, id, code, codes, &stage), SF_OK);
	assert_string_equal(stage, "full");
	for (int i = 0; i < SF_RECOVERY_CODES; i++)
		for (int j = i + 1; j < SF_RECOVERY_CODES; j++)
			assert_string_not_equal(codes[i], codes[j]);
	/* Login: password, then code; the enrollment code's step is used up. */
	assert_int_equal(sf_staff_login_password(&app, &anon, "olga@example.com", PW, &id2, &stage), SF_OK);
	assert_string_equal(stage, "totp");
	assert_int_equal(sf_staff_login_code(&app, &anon, id, code, &stage), SF_ERR_LOGIN_FAILED);
	char next[9];
	code_at(seed, n, clock_now + 30, next);
	assert_int_equal(sf_staff_login_code(&app, &anon, id, next, &stage), SF_OK);
	assert_string_equal(stage, "full");
	/* Replay of the same code: refused. */
	assert_int_equal(sf_staff_login_code(&app, &anon, id, next, &stage), SF_ERR_LOGIN_FAILED);
	/* A recovery code works once. */
	assert_int_equal(sf_staff_login_code(&app, &anon, id, codes[3], &stage), SF_OK);
	assert_int_equal(sf_staff_login_code(&app, &anon, id, codes[3], &stage), SF_ERR_LOGIN_FAILED);
	assert_int_equal(sf_staff_login_code(&app, &anon, id, "aaaa-bbbb-cccc-dddd", &stage), SF_ERR_LOGIN_FAILED);
	/* Success cleared the failures of this test. */
	json_t *one = NULL;
	assert_int_equal(sf_staff_get_json(&app, id, &one), SF_OK);
	assert_int_equal(json_integer_value(json_object_get(one, "recovery_codes_left")), 9);
	assert_true(json_is_true(json_object_get(one, "enrolled")));
	assert_true(json_is_true(json_object_get(one, "owner")));
	json_decref(one);
	assert_true(count("staff.enroll") >= 2);
	assert_true(count("staff.2fa") >= 3);
}

static void test_lockout_and_unlock(void **state)
{
	(void)state;
	unsigned char seed[64];
	size_t n;
	int64_t id = enroll("lock@example.com", "analyst", seed, &n), id2;
	struct sf_staff_actor a;
	actor(&a, "anonymous", 0, "198.51.100.7");
	const char *stage;
	int64_t locks = count("staff.lock");
	for (int i = 0; i < 10; i++)
		assert_int_equal(sf_staff_login_password(&app, &a, "lock@example.com", "wrong-password-123", &id2, &stage),
				 SF_ERR_LOGIN_FAILED);
	assert_int_equal(count("staff.lock"), locks + 1);
	/* Locked: the right password fails alike. */
	assert_int_equal(sf_staff_login_password(&app, &a, "lock@example.com", PW, &id2, &stage), SF_ERR_LOGIN_FAILED);
	clock_now += 29 * 60;
	a.now = clock_now;
	assert_int_equal(sf_staff_login_password(&app, &a, "lock@example.com", PW, &id2, &stage), SF_ERR_LOGIN_FAILED);
	clock_now += 61;
	a.now = clock_now;
	assert_int_equal(sf_staff_login_password(&app, &a, "lock@example.com", PW, &id2, &stage), SF_OK);
	assert_int_equal(id2, id);
	/* Code failures count too; the CLI lock and unlock. */
	struct sf_staff_actor cli;
	actor(&cli, "cli", 0, NULL);
	assert_int_equal(sf_staff_lock(&app, &cli, id, 1), SF_OK);
	assert_int_equal(sf_staff_login_password(&app, &a, "lock@example.com", PW, &id2, &stage), SF_ERR_LOGIN_FAILED);
	clock_now += 86400;
	a.now = clock_now;
	assert_int_equal(sf_staff_login_password(&app, &a, "lock@example.com", PW, &id2, &stage), SF_ERR_LOGIN_FAILED);
	assert_int_equal(sf_staff_lock(&app, &cli, id, 0), SF_OK);
	assert_int_equal(sf_staff_login_password(&app, &a, "lock@example.com", PW, &id2, &stage), SF_OK);
	assert_true(count("staff.unlock") >= 1);
}

static void test_address_throttle(void **state)
{
	(void)state;
	unsigned char seed[64];
	size_t n;
	enroll("throttle@example.com", "analyst", seed, &n);
	int64_t saved = cfg.admin_ip_max_failures, id2;
	cfg.admin_ip_max_failures = 5;
	struct sf_staff_actor a, b;
	actor(&a, "anonymous", 0, "203.0.113.9");
	actor(&b, "anonymous", 0, "203.0.113.10");
	const char *stage;
	for (int i = 0; i < 5; i++) {
		char email[64];
		snprintf(email, sizeof email, "nobody%d@example.com", i);
		assert_int_equal(sf_staff_login_password(&app, &a, email, PW, &id2, &stage), SF_ERR_LOGIN_FAILED);
	}
	/* Throttled across accounts: the right password from that address fails. */
	assert_int_equal(sf_staff_login_password(&app, &a, "throttle@example.com", PW, &id2, &stage), SF_ERR_LOGIN_FAILED);
	assert_int_equal(sf_staff_login_password(&app, &b, "throttle@example.com", PW, &id2, &stage), SF_OK);
	clock_now += cfg.admin_ip_window_s;
	a.now = clock_now;
	assert_int_equal(sf_staff_login_password(&app, &a, "throttle@example.com", PW, &id2, &stage), SF_OK);
	cfg.admin_ip_max_failures = saved;
}

static void test_password_policy_and_age(void **state)
{
	(void)state;
	unsigned char seed[64];
	size_t n;
	int64_t id = enroll("pw@example.com", "order_operator", seed, &n), id2;
	struct sf_staff_actor a;
	actor(&a, "staff", id, "192.0.2.20");
	const char *why = NULL, *stage;
	assert_int_equal(sf_staff_password_change(&app, &a, id, "wrong-password-123", PW2, &why), SF_ERR_LOGIN_FAILED);
	assert_int_equal(sf_staff_password_change(&app, &a, id, PW, PW, &why), SF_ERR_WEAK_PASSWORD);
	assert_non_null(strstr(why, "used recently"));
	/* A stricter role policy: 20 characters minimum. */
	struct sf_staff_actor cli;
	actor(&cli, "cli", 0, NULL);
	const char *perms[] = {"orders.read"};
	assert_int_equal(sf_staff_role_save(&app, &cli, "night_shift", "Nights", perms, 1, 20, 30, &why), SF_OK);
	const char *roles[] = {"order_operator", "night_shift"};
	assert_int_equal(sf_staff_set_roles(&app, &cli, id, roles, 2, &why), SF_OK);
	assert_int_equal(sf_staff_password_change(&app, &a, id, PW, "Copper-Harbor-91", &why), SF_ERR_WEAK_PASSWORD);
	assert_int_equal(sf_staff_password_change(&app, &a, id, PW, PW2, &why), SF_OK);
	/* Back to an earlier password: refused (last 4 remembered). */
	assert_int_equal(sf_staff_password_change(&app, &a, id, PW2, PW, &why), SF_ERR_WEAK_PASSWORD);
	/* 31 days later the role's 30-day maximum forces a change after the code. */
	clock_now += 31 * 86400;
	a.now = clock_now;
	assert_int_equal(sf_staff_login_password(&app, &a, "pw@example.com", PW2, &id2, &stage), SF_OK);
	assert_string_equal(stage, "totp");
	char code[9];
	code_at(seed, n, clock_now, code);
	assert_int_equal(sf_staff_login_code(&app, &a, id, code, &stage), SF_OK);
	assert_string_equal(stage, "password");
	assert_int_equal(sf_staff_role_delete(&app, &cli, "night_shift"), SF_OK);
	assert_int_equal(sf_staff_role_delete(&app, &cli, "owner"), SF_ERR_FORBIDDEN);
	assert_int_equal(sf_staff_role_delete(&app, &cli, "night_shift"), SF_ERR_NOT_FOUND);
	assert_int_equal(sf_staff_role_save(&app, &cli, "owner", "", perms, 1, 0, 0, &why), SF_ERR_BAD_PARAM);
	/* names and descriptions are stored and audited in clear: no card number */
	assert_int_equal(sf_staff_role_save(&app, &cli, "4111111111111111", "", perms, 1, 0, 0, &why), SF_ERR_CARD_DATA);
	assert_int_equal(sf_staff_role_save(&app, &cli, "x", "pay 4111 1111 1111 1111", perms, 1, 0, 0, &why),
			 SF_ERR_CARD_DATA);
	const char *badp[] = {"orders.fly"};
	assert_int_equal(sf_staff_role_save(&app, &cli, "x", "", badp, 1, 0, 0, &why), SF_ERR_BAD_PARAM);
}

static void test_session_expiry(void **state)
{
	(void)state;
	struct sf_db_conn *c = sf_db_conn_get(db);
	struct sf_session_policy pol;
	sf_staff_session_policy(&cfg, &pol);
	assert_string_equal(pol.cookie, "__Host-sf_staff");
	assert_string_equal(pol.same_site, "Strict");
	assert_int_equal(pol.idle_s, 900);
	assert_int_equal(pol.absolute_s, 8 * 3600);
	char tok[SF_SESSION_COOKIE_LEN + 1];
	struct sf_session s;
	int64_t t0 = 1700100000;
	assert_int_equal(sf_session_create(c, &pol, 1, "192.0.2.1", t0, tok, &s), SF_OK);
	/* Idle: alive at 14 min, gone at 15 min without activity. */
	assert_int_equal(sf_session_lookup(c, &pol, tok, t0 + 14 * 60, &s), SF_OK);
	assert_int_equal(sf_session_lookup(c, &pol, tok, t0 + 14 * 60 + 15 * 60, &s), SF_ERR_NOT_FOUND);
	/* Absolute: in use every 10 minutes, still ends after 8 hours. */
	assert_int_equal(sf_session_create(c, &pol, 1, "192.0.2.1", t0, tok, &s), SF_OK);
	int64_t t = t0;
	for (; t < t0 + 8 * 3600 - 600; t += 600)
		assert_int_equal(sf_session_lookup(c, &pol, tok, t, &s), SF_OK);
	assert_int_equal(sf_session_lookup(c, &pol, tok, t0 + 8 * 3600, &s), SF_ERR_NOT_FOUND);
	/* Another kind's cookie is not a staff session. */
	struct sf_session_policy cust;
	sf_auth_customer_policy(&cfg, &cust);
	assert_int_equal(sf_session_create(c, &cust, 1, NULL, t0, tok, &s), SF_OK);
	assert_int_equal(sf_session_lookup(c, &pol, tok, t0 + 1, &s), SF_ERR_NOT_FOUND);
}

static void test_roles_and_owner_rules(void **state)
{
	(void)state;
	unsigned char seed[64];
	size_t n;
	int64_t owner = enroll("boss@example.com", "owner", seed, &n);
	int64_t admin = enroll("admin@example.com", "administrator", seed, &n);
	int64_t clerk = enroll("clerk@example.com", "customer_support", seed, &n);
	struct sf_staff_actor as_admin, as_owner, cli;
	actor(&as_admin, "staff", admin, "192.0.2.30");
	actor(&as_owner, "staff", owner, "192.0.2.31");
	actor(&cli, "cli", 0, NULL);
	const char *why;
	struct sf_rbac_set p;
	int is_owner, usable;
	assert_int_equal(sf_staff_rights(&app, clerk, clock_now, &p, &is_owner, &usable), SF_OK);
	assert_true(sf_rbac_set_has(&p, "customers.update"));
	assert_false(sf_rbac_set_has(&p, "catalog.read"));
	/* An administrator may change a clerk's roles, at once... */
	const char *cm[] = {"catalog_manager"};
	assert_int_equal(sf_staff_set_roles(&app, &as_admin, clerk, cm, 1, &why), SF_OK);
	assert_int_equal(sf_staff_rights(&app, clerk, clock_now, &p, &is_owner, &usable), SF_OK);
	assert_true(sf_rbac_set_has(&p, "catalog.read"));
	assert_false(sf_rbac_set_has(&p, "customers.update"));
	/* ...but not make an owner, nor touch one, nor reset a second factor. */
	const char *own[] = {"owner"};
	assert_int_equal(sf_staff_set_roles(&app, &as_admin, clerk, own, 1, &why), SF_ERR_FORBIDDEN);
	assert_int_equal(sf_staff_set_active(&app, &as_admin, owner, 0), SF_ERR_FORBIDDEN);
	assert_int_equal(sf_staff_reset_2fa(&app, &as_admin, clerk), SF_ERR_FORBIDDEN);
	assert_int_equal(sf_staff_end_sessions(&app, &as_admin, clerk, 0, 0), SF_ERR_FORBIDDEN);
	assert_int_equal(sf_staff_set_roles(&app, &as_owner, clerk, (const char *[]){"nope"}, 1, &why), SF_ERR_BAD_PARAM);
	assert_int_equal(sf_staff_set_roles(&app, &as_owner, 999999, cm, 1, &why), SF_ERR_NOT_FOUND);
	/* Deactivation takes effect at once. */
	assert_int_equal(sf_staff_set_active(&app, &as_admin, clerk, 0), SF_OK);
	assert_int_equal(sf_staff_rights(&app, clerk, clock_now, &p, &is_owner, &usable), SF_OK);
	assert_false(usable);
	assert_int_equal(sf_staff_set_active(&app, &as_admin, clerk, 1), SF_OK);
	/* The owner resets the clerk's second factor: next login sets one up. */
	assert_int_equal(sf_staff_reset_2fa(&app, &as_owner, clerk), SF_OK);
	int64_t id2;
	const char *stage;
	assert_int_equal(sf_staff_login_password(&app, &as_owner, "clerk@example.com", PW, &id2, &stage), SF_OK);
	assert_string_equal(stage, "enroll");
	assert_true(count("staff.2fa_reset") >= 2); /* the refusal and the reset */
	/* Access lists are validated. */
	assert_int_equal(sf_staff_set_access(&app, &as_owner, clerk, "10.0.0.0/8", "", "Mon-Fri 08:00-19:00 Asia/Tokyo",
					     &why), SF_OK);
	assert_int_equal(sf_staff_set_access(&app, &as_owner, clerk, "10.0.0.1/8", "", "", &why), SF_ERR_BAD_PARAM);
	assert_int_equal(sf_staff_set_access(&app, &as_owner, clerk, "", "", "Someday", &why), SF_ERR_BAD_PARAM);
	json_t *list = NULL;
	assert_int_equal(sf_staff_list_json(&app, &list), SF_OK);
	assert_true(json_array_size(list) >= 3);
	json_decref(list);
	assert_int_equal(sf_staff_roles_json(&app, &list), SF_OK);
	assert_true(json_array_size(list) >= 7);
	json_decref(list);
}

static void test_last_owner(void **state)
{
	(void)state;
	/* Two owners exist (olga, boss): one may go, never the last. */
	struct sf_staff_actor cli;
	actor(&cli, "cli", 0, NULL);
	int64_t olga, boss;
	assert_int_equal(sf_staff_find(&app, "olga@example.com", &olga), SF_OK);
	assert_int_equal(sf_staff_find(&app, "boss@example.com", &boss), SF_OK);
	const char *why;
	const char *analyst[] = {"analyst"};
	assert_int_equal(sf_staff_set_roles(&app, &cli, olga, analyst, 1, &why), SF_OK);
	assert_int_equal(sf_staff_set_roles(&app, &cli, boss, analyst, 1, &why), SF_ERR_LAST_OWNER);
	assert_int_equal(sf_staff_set_active(&app, &cli, boss, 0), SF_ERR_LAST_OWNER);
	assert_int_equal(sf_staff_lock(&app, &cli, boss, 1), SF_ERR_LAST_OWNER);
}

static void test_api_tokens(void **state)
{
	(void)state;
	int64_t boss;
	assert_int_equal(sf_staff_find(&app, "boss@example.com", &boss), SF_OK);
	unsigned char seed[64];
	size_t n;
	int64_t an = enroll("analyst@example.com", "analyst", seed, &n);
	struct sf_staff_actor a;
	actor(&a, "staff", an, "192.0.2.40");
	char tok[SF_APITOKEN_LEN + 1];
	int64_t id;
	const char *why;
	const char *held[] = {"reports.read", "orders.read"};
	const char *not_held[] = {"staff.read"};
	const char *bad[] = {"reports.fly"};
	assert_int_equal(sf_apitoken_create(&app, &a, an, "ci", not_held, 1, 30, tok, &id, &why), SF_ERR_BAD_PARAM);
	assert_int_equal(sf_apitoken_create(&app, &a, an, "ci", bad, 1, 30, tok, &id, &why), SF_ERR_BAD_PARAM);
	assert_int_equal(sf_apitoken_create(&app, &a, an, "ci", held, 2, 0, tok, &id, &why), SF_ERR_BAD_PARAM);
	assert_int_equal(sf_apitoken_create(&app, &a, an, "", held, 2, 30, tok, &id, &why), SF_ERR_BAD_PARAM);
	assert_int_equal(sf_apitoken_create(&app, &a, an, "ci\ndeploy", held, 2, 30, tok, &id, &why), SF_ERR_BAD_PARAM);
	assert_int_equal(sf_apitoken_create(&app, &a, an, "ci\tdeploy", held, 2, 30, tok, &id, &why), SF_ERR_BAD_PARAM);
	assert_int_equal(sf_apitoken_create(&app, &a, an, "ci 4111 1111 1111 1111", held, 2, 30, tok, &id, &why),
			 SF_ERR_CARD_DATA); /* a name is stored and audited in clear */
	assert_int_equal(sf_apitoken_create(&app, &a, an, "ci", held, 2, 30, tok, &id, &why), SF_OK);
	assert_int_equal(strncmp(tok, "sfat_", 5), 0);
	assert_int_equal(strlen(tok), SF_APITOKEN_LEN);
	json_t *list = NULL;
	assert_int_equal(sf_apitoken_list_json(&app, &list), SF_OK);
	char *dump = json_dumps(list, 0);
	assert_null(strstr(dump, tok + 5)); /* never the secret */
	assert_non_null(strstr(dump, "\"active\""));
	free(dump);
	json_decref(list);
	assert_int_equal(sf_apitoken_revoke(&app, &a, id), SF_OK);
	assert_int_equal(sf_apitoken_revoke(&app, &a, id), SF_ERR_NOT_FOUND);
	assert_true(count("api_token.create") >= 1);
	assert_true(count("api_token.revoke") >= 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_enrollment),	  cmocka_unit_test(test_lockout_and_unlock),
		cmocka_unit_test(test_address_throttle), cmocka_unit_test(test_password_policy_and_age),
		cmocka_unit_test(test_session_expiry),   cmocka_unit_test(test_roles_and_owner_rules),
		cmocka_unit_test(test_last_owner),	  cmocka_unit_test(test_api_tokens),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
