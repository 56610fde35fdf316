/* test_accounts.c — customer accounts end to end on a real SQLite file:
 * register -> mail -> verify -> login, no enumeration (register, login,
 * reset), lockout after 10 failures and unlock after 30 minutes with an
 * injected clock, the verify path taken for unknown and locked accounts,
 * rehash on login, reset tokens single-use and expiring, profile and
 * address book (including someone else's ids and card numbers), and the
 * mail outbox (files, back-off, failure recorded). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "audit/search.h"
#include "auth/password.h"
#include "auth/session.h"
#include "core/app.h"
#include "core/config.h"
#include "core/log.h"
#include "crypto/keyring.h"
#include "db/db.h"
#include "ops/mail.h"
#include "sf_test.h"
#include "shop/customer.h"

static char dir[128];
static char maildir[256];
static struct sf_db *db;
static struct sf_keyring *kr;
static struct sf_config cfg;
static struct sf_app app;
static struct sf_mailer *mailer;

#define T0 1700000000
#define PW "Tangerine-Orbit-7731"

static int setup(void **state)
{
	(void)state;
	if (sf_test_mkdtemp(dir, sizeof dir, "acct") != 0)
		return -1;
	db = sf_test_db_open(dir, "t.db");
	sf_keyring_free(sf_test_ring_open(dir, "master.key", 1, 1));
	kr = sf_test_ring_load(db, dir, "master.key");
	sf_config_defaults(&cfg);
	snprintf(maildir, sizeof maildir, "%s/mail", dir);
	snprintf(cfg.mail_dir, sizeof cfg.mail_dir, "%s", maildir);
	snprintf(cfg.data_dir, sizeof cfg.data_dir, "%s", dir);
	app = (struct sf_app){.cfg = &cfg, .db = db, .keys = kr, .mail_enqueue = sf_mail_enqueue};
	char err[256];
	if (sf_mailer_new(db, kr, &cfg, &mailer, err, sizeof err) != SF_OK)
		return -1;
	return db && kr ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	sf_mailer_stop(mailer);
	sf_keyring_free(kr);
	sf_db_close(db);
	sf_test_rmtree(dir);
	return 0;
}

static struct sf_customer_req at(int64_t now)
{
	return (struct sf_customer_req){.ip = "192.0.2.1", .request_id = "req1", .now = now,
					.link_base = "https://shop.example"};
}

/* Deliver the outbox and return the text of the newest .eml (malloc'd). */
static char *newest_mail(void)
{
	sf_mailer_run_once(mailer, (int64_t)time(NULL) + 1);
	DIR *d = opendir(maildir);
	assert_non_null(d);
	long best = -1;
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		long n = strtol(e->d_name, NULL, 10);
		if (strstr(e->d_name, ".eml") && n > best)
			best = n;
	}
	closedir(d);
	assert_true(best > 0);
	char path[512];
	snprintf(path, sizeof path, "%s/%ld.eml", maildir, best);
	FILE *f = fopen(path, "r");
	assert_non_null(f);
	char *buf = calloc(1, 65536);
	size_t n = fread(buf, 1, 65535, f);
	fclose(f);
	buf[n] = '\0';
	return buf;
}

/* The token of the link "...?token=" in text, copied into tok. */
static void link_token(const char *text, char tok[SF_SESSION_COOKIE_LEN + 1])
{
	const char *p = strstr(text, "token=");
	assert_non_null(p);
	p += 6;
	size_t n = strspn(p, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_");
	assert_true(n > 0 && n <= SF_SESSION_COOKIE_LEN);
	memcpy(tok, p, n);
	tok[n] = '\0';
}

/* The newest audit event of action (a new reference). */
static json_t *last_event(const char *action)
{
	struct sf_audit_filter f;
	const char *bad = NULL;
	json_t *page = NULL;
	assert_int_equal(sf_audit_filter_parse(&f, NULL, action, NULL, NULL, NULL, NULL, NULL, "1", &bad), SF_OK);
	assert_int_equal(sf_audit_search(db, &f, &page), SF_OK);
	json_t *ev = json_incref(json_array_get(json_object_get(page, "items"), 0));
	json_decref(page);
	assert_non_null(ev);
	return ev;
}

/* The newest customer.login event is a failure with this reason, about an
 * account (with_subject) or none, and no input in its detail. */
static void expect_login_failure(const char *reason, int with_subject)
{
	json_t *ev = last_event("customer.login");
	char want[64];
	snprintf(want, sizeof want, "{\"reason\":\"%s\"}", reason);
	assert_string_equal(json_string_value(json_object_get(ev, "outcome")), "failure");
	assert_string_equal(json_string_value(json_object_get(ev, "detail")), want);
	assert_true(json_is_null(json_object_get(ev, "actor_id")));
	assert_int_equal(json_is_string(json_object_get(ev, "object_id")), with_subject);
	json_decref(ev);
}

static int64_t registered(const char *email, const char *name)
{
	struct sf_customer_req r = at(T0);
	const char *why = NULL;
	char tok[SF_SESSION_COOKIE_LEN + 1];
	int64_t id = 0;
	char old[SF_SESSION_COOKIE_LEN + 1];
	assert_int_equal(sf_customer_register(&app, &r, email, PW, name, &why, NULL), SF_OK);
	char *m = newest_mail();
	assert_non_null(strstr(m, "Subject: Confirm your e-mail address"));
	assert_non_null(strstr(m, "https://shop.example/account/verify?token="));
	link_token(m, old);
	free(m);
	/* Not yet confirmed: a wrong password fails as usual, with no mail. */
	assert_int_equal(sf_customer_login(&app, &r, email, "Wrong-Passphrase-99", &id), SF_ERR_LOGIN_FAILED);
	expect_login_failure("password", 1);
	m = newest_mail();
	link_token(m, tok);
	free(m);
	assert_string_equal(tok, old);
	/* The right password fails the same way (the answer must not tell
	 * that the address had no account before), audited as a failure.
	 * Within 3 minutes of the last link no new one is mailed (the link
	 * just mailed still works); later a new link voids the old one. */
	assert_int_equal(sf_customer_login(&app, &r, email, PW, &id), SF_ERR_LOGIN_FAILED);
	assert_int_equal(id, 0);
	expect_login_failure("unverified", 1);
	m = newest_mail();
	link_token(m, tok);
	free(m);
	assert_string_equal(tok, old);
	struct sf_customer_req later = at(T0 + 181);
	assert_int_equal(sf_customer_login(&app, &later, email, PW, &id), SF_ERR_LOGIN_FAILED);
	expect_login_failure("unverified", 1);
	m = newest_mail();
	assert_non_null(strstr(m, "Subject: Confirm your e-mail address"));
	link_token(m, tok);
	free(m);
	assert_string_not_equal(tok, old);
	assert_int_equal(sf_customer_verify(&app, &later, old), SF_ERR_TOKEN_INVALID);
	assert_int_equal(sf_customer_verify(&app, &later, tok), SF_OK);
	assert_int_equal(sf_customer_verify(&app, &later, tok), SF_ERR_TOKEN_INVALID); /* single use */
	assert_int_equal(sf_customer_login(&app, &later, email, PW, &id), SF_OK);
	assert_true(id > 0);
	return id;
}

static void test_register_verify_login(void **state)
{
	(void)state;
	int64_t id = registered("Ann.Smith@Example.org", "Ann Smith");
	struct sf_customer_req r = at(T0 + 5);
	int64_t id2 = 0;
	/* e-mail lookup is case- and space-insensitive */
	assert_int_equal(sf_customer_login(&app, &r, "  ann.smith@example.ORG ", PW, &id2), SF_OK);
	assert_int_equal(id2, id);
	json_t *me = NULL;
	assert_int_equal(sf_customer_get(&app, &r, id, 1, &me), SF_OK);
	assert_string_equal(json_string_value(json_object_get(me, "email")), "ann.smith@example.org");
	assert_string_equal(json_string_value(json_object_get(me, "name")), "Ann Smith");
	assert_true(json_is_true(json_object_get(me, "verified")));
	json_decref(me);
}

static void test_register_no_enumeration(void **state)
{
	(void)state;
	registered("bob@example.org", "Bob");
	struct sf_customer_req r = at(T0);
	const char *why = NULL;
	/* registering again answers the same, and mails the owner instead */
	assert_int_equal(sf_customer_register(&app, &r, "bob@example.org", "Another-Passphrase-88", NULL, &why, NULL),
			 SF_OK);
	char *m = newest_mail();
	assert_non_null(strstr(m, "already has one"));
	assert_null(strstr(m, "token="));
	free(m);
	int64_t id = 0;
	/* the original password still works, the new one does not */
	assert_int_equal(sf_customer_login(&app, &r, "bob@example.org", "Another-Passphrase-88", &id),
			 SF_ERR_LOGIN_FAILED);
	assert_int_equal(sf_customer_login(&app, &r, "bob@example.org", PW, &id), SF_OK);
	/* bad input */
	const char *field = NULL;
	assert_int_equal(sf_customer_register(&app, &r, "not-an-address", PW, NULL, &why, &field), SF_ERR_BAD_PARAM);
	assert_string_equal(field, "email"); /* the form marks the field at fault */
	assert_int_equal(sf_customer_register(&app, &r, "c@example.org", "short", NULL, &why, &field),
			 SF_ERR_WEAK_PASSWORD);
	assert_string_equal(field, "password");
	assert_int_equal(sf_customer_register(&app, &r, "c@example.org", PW, "4111 1111 1111 1111", &why, &field),
			 SF_ERR_CARD_DATA);
	assert_string_equal(field, "name");
	assert_int_equal(sf_customer_register(&app, &r, "c@example.org", "c-example-Orbit-7731", NULL, &why, NULL),
			 SF_ERR_WEAK_PASSWORD);
}

/* An account never confirmed is not stuck once its link expires, and its
 * address is not squatted: registering again mails a link to choose the
 * password (the answer as for a new account; the earlier confirmation
 * links die), and using it, like a password reset — a link to the mailbox
 * too — confirms the address with the mailbox owner's password only. */
static void test_unconfirmed_recovers(void **state)
{
	(void)state;
	struct sf_customer_req r = at(T0);
	const char *why = NULL;
	char first[SF_SESSION_COOKIE_LEN + 1], tok[SF_SESSION_COOKIE_LEN + 1];
	int64_t id = 0;
	assert_int_equal(sf_customer_register(&app, &r, "henry@example.org", PW, NULL, &why, NULL), SF_OK);
	char *m = newest_mail();
	link_token(m, first);
	free(m);
	/* 49 hours later the link has expired */
	struct sf_customer_req late = at(T0 + 49 * 3600);
	assert_int_equal(sf_customer_verify(&app, &late, first), SF_ERR_TOKEN_INVALID);
	assert_int_equal(sf_customer_register(&app, &late, "henry@example.org", "Another-Passphrase-88", NULL, &why, NULL),
			 SF_OK);
	m = newest_mail();
	assert_non_null(strstr(m, "Subject: Finish creating your account"));
	assert_non_null(strstr(m, "/account/reset?token="));
	assert_null(strstr(m, "already has one"));
	link_token(m, tok);
	free(m);
	/* the link is not a confirmation link, and registering set no password */
	assert_int_equal(sf_customer_verify(&app, &late, tok), SF_ERR_TOKEN_INVALID);
	assert_int_equal(sf_customer_login(&app, &late, "henry@example.org", "Another-Passphrase-88", &id),
			 SF_ERR_LOGIN_FAILED);
	assert_int_equal(sf_customer_reset_confirm(&app, &late, tok, "Another-Passphrase-88", &id, &why), SF_OK);
	/* confirmed, with the password chosen through the mailbox only */
	assert_int_equal(sf_customer_login(&app, &late, "henry@example.org", PW, &id), SF_ERR_LOGIN_FAILED);
	assert_int_equal(sf_customer_login(&app, &late, "henry@example.org", "Another-Passphrase-88", &id), SF_OK);
	/* a confirmation link mailed before registering again died with it */
	assert_int_equal(sf_customer_register(&app, &r, "jack@example.org", "Squatter-Passphrase-42", NULL, &why, NULL),
			 SF_OK);
	m = newest_mail();
	link_token(m, first);
	free(m);
	assert_int_equal(sf_customer_register(&app, &r, "jack@example.org", PW, NULL, &why, NULL), SF_OK);
	assert_int_equal(sf_customer_verify(&app, &r, first), SF_ERR_TOKEN_INVALID);
	assert_int_equal(sf_customer_login(&app, &r, "jack@example.org", "Squatter-Passphrase-42", &id),
			 SF_ERR_LOGIN_FAILED);

	/* Made by someone else: the owner resets the password, which confirms
	 * the address; asking for the link alone confirms nothing. */
	assert_int_equal(sf_customer_register(&app, &r, "irene@example.org", "Squatter-Passphrase-42", NULL, &why, NULL),
			 SF_OK);
	assert_int_equal(sf_customer_reset_request(&app, &r, "irene@example.org"), SF_OK);
	m = newest_mail();
	link_token(m, tok);
	free(m);
	assert_int_equal(sf_customer_login(&app, &r, "irene@example.org", "Squatter-Passphrase-42", &id),
			 SF_ERR_LOGIN_FAILED);
	assert_int_equal(sf_customer_reset_confirm(&app, &r, tok, "Owner-Passphrase-2024", &id, &why), SF_OK);
	json_t *ev = last_event("customer.verify");
	assert_string_equal(json_string_value(json_object_get(ev, "detail")), "{\"via\":\"reset\"}");
	json_decref(ev);
	assert_int_equal(sf_customer_login(&app, &r, "irene@example.org", "Squatter-Passphrase-42", &id),
			 SF_ERR_LOGIN_FAILED);
	assert_int_equal(sf_customer_login(&app, &r, "irene@example.org", "Owner-Passphrase-2024", &id), SF_OK);
}

static void test_lockout_and_unlock(void **state)
{
	(void)state;
	registered("carol@example.org", "Carol");
	int64_t id = 0;
	for (int i = 0; i < 10; i++) {
		struct sf_customer_req r = at(T0 + i);
		assert_int_equal(sf_customer_login(&app, &r, "carol@example.org", "wrong-password-123", &id),
				 SF_ERR_LOGIN_FAILED);
	}
	/* locked: even the right password fails, with the same answer, and
	 * the verification still runs */
	struct sf_customer_req r = at(T0 + 29 * 60);
	uint64_t before = sf_password_verify_count();
	assert_int_equal(sf_customer_login(&app, &r, "carol@example.org", PW, &id), SF_ERR_LOGIN_FAILED);
	assert_int_equal(sf_password_verify_count(), before + 1);
	/* 30 minutes after the lock: open again */
	r = at(T0 + 9 + 30 * 60);
	assert_int_equal(sf_customer_login(&app, &r, "carol@example.org", PW, &id), SF_OK);
	/* 9 failures then a success resets the count */
	for (int i = 0; i < 9; i++)
		assert_int_equal(sf_customer_login(&app, &r, "carol@example.org", "wrong-password-123", &id),
				 SF_ERR_LOGIN_FAILED);
	assert_int_equal(sf_customer_login(&app, &r, "carol@example.org", PW, &id), SF_OK);
	assert_int_equal(sf_customer_login(&app, &r, "carol@example.org", "wrong-password-123", &id),
			 SF_ERR_LOGIN_FAILED);
	assert_int_equal(sf_customer_login(&app, &r, "carol@example.org", PW, &id), SF_OK);
}

static void test_unknown_runs_verify(void **state)
{
	(void)state;
	struct sf_customer_req r = at(T0);
	int64_t id = 0;
	uint64_t before = sf_password_verify_count();
	assert_int_equal(sf_customer_login(&app, &r, "nobody@example.org", PW, &id), SF_ERR_LOGIN_FAILED);
	assert_int_equal(sf_password_verify_count(), before + 1);
	expect_login_failure("unknown", 0);
	assert_int_equal(sf_customer_login(&app, &r, "malformed", PW, &id), SF_ERR_LOGIN_FAILED);
	assert_int_equal(sf_password_verify_count(), before + 2);
	expect_login_failure("malformed_email", 0);
	assert_int_equal(sf_customer_login(&app, &r, NULL, NULL, &id), SF_ERR_LOGIN_FAILED);
	assert_int_equal(id, 0);
	expect_login_failure("malformed_email", 0);
}

/* Every refused login is on the record — customer.login, failure, a reason
 * and never the input — even one refused before any password check. */
static void test_refused_logins_audited(void **state)
{
	(void)state;
	registered("kate@example.org", NULL);
	struct sf_customer_req r = at(T0);
	int64_t id = 0;
	char *huge = malloc(2001);
	assert_non_null(huge);
	memset(huge, 'p', 2000);
	huge[2000] = '\0';
	assert_int_equal(sf_customer_login(&app, &r, "kate@example.org", NULL, &id), SF_ERR_LOGIN_FAILED);
	expect_login_failure("no_password", 1);
	assert_int_equal(sf_customer_login(&app, &r, "kate@example.org", huge, &id), SF_ERR_LOGIN_FAILED);
	expect_login_failure("password_too_long", 1);
	assert_int_equal(sf_customer_login(&app, &r, "nobody@example.org", NULL, &id), SF_ERR_LOGIN_FAILED);
	expect_login_failure("no_password", 0);
	assert_int_equal(sf_customer_login(&app, &r, "kate@@example", PW, &id), SF_ERR_LOGIN_FAILED);
	expect_login_failure("malformed_email", 0);
	free(huge);
	/* the account is untouched: the right password still works */
	assert_int_equal(sf_customer_login(&app, &r, "kate@example.org", PW, &id), SF_OK);
}

static void read_hash(struct sf_db_cursor *cur, void *arg)
{
	snprintf(arg, SF_PW_HASH_MAX, "%s", sf_db_col_text(cur, 7, NULL));
}

static void test_rehash_on_login(void **state)
{
	(void)state;
	int64_t id = registered("dave@example.org", NULL);
	char h[SF_PW_HASH_MAX];
	struct sf_db_param p[] = {SF_DB_INT(id)};
	assert_int_equal(sf_db_query_one(sf_db_conn_get(db), SF_STMT_CUST_GET, p, 1, read_hash, h), SF_DB_OK);
	assert_non_null(strstr(h, "t=2"));
	cfg.auth_argon2_ops = 3;
	struct sf_customer_req r = at(T0);
	int64_t got = 0;
	assert_int_equal(sf_customer_login(&app, &r, "dave@example.org", PW, &got), SF_OK);
	assert_int_equal(sf_db_query_one(sf_db_conn_get(db), SF_STMT_CUST_GET, p, 1, read_hash, h), SF_DB_OK);
	assert_non_null(strstr(h, "t=3"));
	assert_int_equal(sf_customer_login(&app, &r, "dave@example.org", PW, &got), SF_OK);
	cfg.auth_argon2_ops = 2;
}

static void test_reset(void **state)
{
	(void)state;
	registered("ursula@example.org", "Ursula Example");
	struct sf_customer_req r = at(T0);
	const char *why = NULL;
	int64_t id = 0;
	char tok[SF_SESSION_COOKIE_LEN + 1], old[SF_SESSION_COOKIE_LEN + 1];
	/* unknown address: same answer, no mail */
	char *before = newest_mail();
	assert_int_equal(sf_customer_reset_request(&app, &r, "nobody@example.org"), SF_OK);
	char *after = newest_mail();
	assert_string_equal(before, after);
	free(before);
	free(after);
	assert_int_equal(sf_customer_reset_request(&app, &r, "ursula@example.org"), SF_OK);
	char *m = newest_mail();
	link_token(m, old);
	free(m);
	/* asked again within 3 minutes: no mail, the link mailed still works */
	struct sf_customer_req soon = at(T0 + 179);
	assert_int_equal(sf_customer_reset_request(&app, &soon, "ursula@example.org"), SF_OK);
	m = newest_mail();
	link_token(m, tok);
	free(m);
	assert_string_equal(tok, old);
	json_t *ev = last_event("customer.reset_request");
	assert_string_equal(json_string_value(json_object_get(ev, "detail")), "{\"mail\":\"recent_link\"}");
	json_decref(ev);
	assert_int_equal(sf_customer_reset_request(&app, &r, "ursula@example.org"), SF_OK);
	m = newest_mail();
	link_token(m, tok);
	free(m);
	assert_string_equal(tok, old);
	/* later, a new link */
	struct sf_customer_req later = at(T0 + 181);
	assert_int_equal(sf_customer_reset_request(&app, &later, "ursula@example.org"), SF_OK);
	m = newest_mail();
	assert_non_null(strstr(m, "/account/reset?token="));
	link_token(m, tok);
	free(m);
	assert_string_not_equal(tok, old);
	/* a newer link voids the older one */
	assert_int_equal(sf_customer_reset_confirm(&app, &r, old, "Fresh-Passphrase-2024", &id, &why),
			 SF_ERR_TOKEN_INVALID);
	assert_int_equal(sf_customer_reset_confirm(&app, &r, tok, "short", &id, &why), SF_ERR_WEAK_PASSWORD);
	assert_int_equal(sf_customer_reset_confirm(&app, &r, tok, "Ursula-Example-Orbit", &id, &why),
			 SF_ERR_WEAK_PASSWORD);
	/* expired */
	struct sf_customer_req late = at(T0 + 181 + 61 * 60);
	assert_int_equal(sf_customer_reset_confirm(&app, &late, tok, "Fresh-Passphrase-2024", &id, &why),
			 SF_ERR_TOKEN_INVALID);
	assert_int_equal(sf_customer_reset_confirm(&app, &r, tok, "Fresh-Passphrase-2024", &id, &why), SF_OK);
	assert_true(id > 0);
	/* single use */
	assert_int_equal(sf_customer_reset_confirm(&app, &r, tok, "Other-Passphrase-2024", &id, &why),
			 SF_ERR_TOKEN_INVALID);
	assert_int_equal(sf_customer_reset_confirm(&app, &r, "garbage", "Other-Passphrase-2024", &id, &why),
			 SF_ERR_TOKEN_INVALID);
	assert_int_equal(sf_customer_login(&app, &r, "ursula@example.org", PW, &id), SF_ERR_LOGIN_FAILED);
	assert_int_equal(sf_customer_login(&app, &r, "ursula@example.org", "Fresh-Passphrase-2024", &id), SF_OK);
}

static void test_profile_and_addresses(void **state)
{
	(void)state;
	int64_t a = registered("frank@example.org", "Frank");
	int64_t b = registered("grace@example.org", "Grace");
	struct sf_customer_req r = at(T0);
	const char *why = NULL;
	assert_int_equal(sf_customer_update(&app, &r, a, "Frank Q", "+49 30 123456", "1980-02-29", &why, NULL), SF_OK);
	assert_int_equal(sf_customer_update(&app, &r, a, NULL, "call me", NULL, &why, NULL), SF_ERR_BAD_PARAM);
	const char *field = NULL;
	assert_int_equal(sf_customer_update(&app, &r, a, NULL, NULL, "1981-02-29", &why, &field), SF_ERR_BAD_PARAM);
	assert_string_equal(field, "birth_date");
	assert_int_equal(sf_customer_update(&app, &r, a, "4111111111111111", NULL, NULL, &why, NULL), SF_ERR_CARD_DATA);
	assert_null(why); /* the card error's own sentence, not "the name must be ..." */
	/* card numbers however written: refused with the card error, never stored */
	static const char *const cards[] = {"4111  1111  1111  1111", "card 4111/1111/1111/1111",
					    "4111111111111111-deadbeef", "4111.1111.1111.1111"};
	for (size_t i = 0; i < sizeof cards / sizeof cards[0]; i++) {
		why = "unset";
		assert_int_equal(sf_customer_update(&app, &r, a, cards[i], NULL, NULL, &why, NULL), SF_ERR_CARD_DATA);
		assert_null(why);
		why = "unset";
		assert_int_equal(sf_customer_update(&app, &r, a, NULL, cards[i], NULL, &why, NULL), SF_ERR_CARD_DATA);
		assert_string_equal(why, SF_LOG_PHONE_CARD_WHY); /* says how to write a phone number */
	}
	assert_int_equal(sf_customer_update(&app, &r, a, NULL, "+49 30 1234 5678", NULL, &why, NULL), SF_OK);
	/* A 13-digit mobile number that passes Luhn (one in ten do) is refused
	 * like a card, with the way out: the country code in brackets. */
	assert_int_equal(sf_customer_update(&app, &r, a, NULL, "+86 138 1234 5603", NULL, &why, NULL), SF_ERR_CARD_DATA);
	assert_string_equal(why, SF_LOG_PHONE_CARD_WHY);
	assert_int_equal(sf_customer_update(&app, &r, a, NULL, "(+86) 138 1234 5603", NULL, &why, NULL), SF_OK);
	/* limits count characters, as the forms' maxlength does: 100 Cyrillic
	 * letters (200 bytes) pass, 101 do not */
	char cyr[2 * SF_CUSTOMER_NAME_MAX + 3];
	for (int i = 0; i < SF_CUSTOMER_NAME_MAX; i++)
		memcpy(cyr + 2 * i, "\xd0\x96", 2); /* Ж */
	cyr[2 * SF_CUSTOMER_NAME_MAX] = '\0';
	assert_int_equal(sf_customer_update(&app, &r, a, cyr, NULL, NULL, &why, NULL), SF_OK);
	memcpy(cyr + 2 * SF_CUSTOMER_NAME_MAX, "\xd0\x96", 3);
	assert_int_equal(sf_customer_update(&app, &r, a, cyr, NULL, NULL, &why, NULL), SF_ERR_BAD_PARAM);
	assert_int_equal(sf_customer_update(&app, &r, a, "Frank Q", NULL, NULL, &why, NULL), SF_OK);
	assert_int_equal(sf_customer_update(&app, &r, a, "bad\x01name", NULL, NULL, &why, NULL), SF_ERR_BAD_PARAM);
	assert_int_equal(sf_customer_update(&app, &r, a, "bad\nname", NULL, NULL, &why, NULL), SF_ERR_BAD_PARAM);
	json_t *me = NULL;
	assert_int_equal(sf_customer_get(&app, &r, a, 0, &me), SF_OK);
	assert_string_equal(json_string_value(json_object_get(me, "name")), "Frank Q");
	assert_string_equal(json_string_value(json_object_get(me, "birth_date")), "1980-02-29");
	assert_string_equal(json_string_value(json_object_get(me, "email")), "frank@example.org");
	json_decref(me);

	json_t *f = json_pack("{s:s, s:s, s:s, s:s, s:s}", "name", "Frank Q", "line1", "Main St 1", "city", "Berlin",
			      "postal_code", "10115", "country", "DE");
	int64_t aid = 0, bid = 0;
	assert_int_equal(sf_customer_address_save(&app, &r, a, 0, f, &aid, &why, NULL), SF_OK);
	assert_true(aid > 0);
	assert_int_equal(sf_customer_address_save(&app, &r, b, 0, f, &bid, &why, NULL), SF_OK);
	/* someone else's address: not found, unchanged */
	assert_int_equal(sf_customer_address_save(&app, &r, b, aid, f, &bid, &why, NULL), SF_ERR_NOT_FOUND);
	assert_int_equal(sf_customer_address_delete(&app, &r, b, aid), SF_ERR_NOT_FOUND);
	json_t *got = NULL;
	assert_int_equal(sf_customer_address_get(&app, &r, b, aid, &got), SF_ERR_NOT_FOUND);
	assert_int_equal(sf_customer_address_get(&app, &r, a, aid, &got), SF_OK);
	assert_string_equal(json_string_value(json_object_get(got, "city")), "Berlin");
	json_decref(got);
	/* hostile fields */
	json_object_set_new(f, "line2", json_string("5500 0055 5555 5559"));
	assert_int_equal(sf_customer_address_save(&app, &r, a, aid, f, &bid, &why, NULL), SF_ERR_CARD_DATA);
	assert_null(why); /* the card error's own sentence */
	json_object_del(f, "line2");
	json_object_set_new(f, "phone", json_string("+86 138 1234 5603"));
	assert_int_equal(sf_customer_address_save(&app, &r, a, aid, f, &bid, &why, NULL), SF_ERR_CARD_DATA);
	assert_string_equal(why, SF_LOG_PHONE_CARD_WHY);
	json_object_del(f, "phone");
	json_object_set_new(f, "line2", json_integer(3));
	assert_int_equal(sf_customer_address_save(&app, &r, a, aid, f, &bid, &why, NULL), SF_ERR_BAD_PARAM);
	json_object_del(f, "line2");
	json_object_set_new(f, "evil", json_string("x"));
	assert_int_equal(sf_customer_address_save(&app, &r, a, aid, f, &bid, &why, NULL), SF_ERR_BAD_PARAM);
	json_object_del(f, "evil");
	json_object_set_new(f, "country", json_string("Germany"));
	field = NULL;
	assert_int_equal(sf_customer_address_save(&app, &r, a, aid, f, &bid, &why, &field), SF_ERR_BAD_PARAM);
	assert_string_equal(field, "country");
	json_object_set_new(f, "country", json_string("FR"));
	assert_int_equal(sf_customer_address_save(&app, &r, a, aid, f, &bid, &why, NULL), SF_OK);
	assert_int_equal(bid, aid);
	assert_int_equal(sf_customer_get(&app, &r, a, 1, &me), SF_OK);
	assert_int_equal(json_array_size(json_object_get(me, "addresses")), 1);
	json_decref(me);
	/* the address book is capped */
	int64_t x = 0;
	for (int i = 1; i < SF_CUSTOMER_MAX_ADDRESSES; i++)
		assert_int_equal(sf_customer_address_save(&app, &r, a, 0, f, &x, &why, NULL), SF_OK);
	assert_int_equal(sf_customer_address_save(&app, &r, a, 0, f, &x, &why, NULL), SF_ERR_LIMIT);
	assert_int_equal(sf_customer_address_delete(&app, &r, a, aid), SF_OK);
	assert_int_equal(sf_customer_address_delete(&app, &r, a, aid), SF_ERR_NOT_FOUND);
	json_decref(f);
	assert_int_equal(sf_customer_get(&app, &r, 999999, 0, &me), SF_ERR_NOT_FOUND);
}

static int64_t mails_pending(void)
{
	struct sf_db_cursor *cur = NULL;
	struct sf_db_param p[] = {SF_DB_TEXT("pending")};
	assert_int_equal(sf_db_query(sf_db_conn_get(db), SF_STMT_MAIL_COUNT, p, 1, &cur), SF_DB_OK);
	assert_int_equal(sf_db_next(cur), SF_DB_OK);
	int64_t n = sf_db_col_int(cur, 0);
	sf_db_cursor_close(cur);
	return n;
}

static void test_outbox_retry(void **state)
{
	(void)state;
	struct sf_config c2 = cfg;
	snprintf(c2.mail_smtp_url, sizeof c2.mail_smtp_url, "smtp://127.0.0.1:1");
	struct sf_mailer *m = NULL;
	char err[256];
	assert_int_equal(sf_mailer_new(db, kr, &c2, &m, err, sizeof err), SF_OK);
	/* queue one mail and let the failing SMTP sender try it */
	struct sf_customer_req r = at(T0);
	assert_int_equal(sf_customer_reset_request(&app, &r, "frank@example.org"), SF_OK);
	int64_t now = (int64_t)time(NULL) + 1;
	assert_int_equal(sf_mailer_run_once(m, now), 0);
	struct sf_db_conn *c = sf_db_conn_get(db);
	/* back-off: not due again right away */
	assert_int_equal(sf_mailer_run_once(m, now + 1), 0);
	assert_int_equal(mails_pending(), 1);
	/* the file sender picks it up once due */
	assert_true(sf_mailer_run_once(mailer, now + sf_mail_backoff(1) + 1) == 1);
	sf_mailer_stop(m);
	assert_int_equal(sf_mail_backoff(1), 30);
	assert_int_equal(sf_mail_backoff(2), 60);
	assert_int_equal(sf_mail_backoff(20), 3600);
	/* enqueue refuses header injection */
	assert_int_equal(sf_mail_enqueue(c, "a@example.org\r\nBcc: x@y.z", "s", "b"), SF_ERR_INVALID);
	assert_int_equal(sf_mail_enqueue(c, "a@example.org", "s\r\nBcc: x@y.z", "b"), SF_ERR_INVALID);
	/* a bad From is a configuration error */
	snprintf(c2.mail_from, sizeof c2.mail_from, "nobody");
	assert_int_equal(sf_mailer_new(db, kr, &c2, &m, err, sizeof err), SF_ERR_CONFIG);
	assert_non_null(strstr(err, "[mail] from"));
}

/* Run sql on the test database through a connection of its own. */
static void raw_sql(const char *sql)
{
	char path[600];
	snprintf(path, sizeof path, "%s/t.db", dir);
	sqlite3 *h = NULL;
	assert_int_equal(sqlite3_open(path, &h), SQLITE_OK);
	sqlite3_busy_timeout(h, 10000);
	char *msg = NULL;
	if (sqlite3_exec(h, sql, NULL, NULL, &msg) != SQLITE_OK)
		fail_msg("%s: %s", sql, msg ? msg : "?");
	sqlite3_close(h);
}

/* A sent mail whose outcome cannot be written (a full disk, say) is not
 * sent again, run after run: the mailer writes that outcome first, and
 * sends nothing else until it can. */
static void test_outbox_unrecorded(void **state)
{
	(void)state;
	struct sf_db_conn *c = sf_db_conn_get(db);
	int64_t now = (int64_t)time(NULL) + 1;
	sf_mailer_run_once(mailer, now); /* nothing left from earlier tests */
	assert_int_equal(mails_pending(), 0);
	assert_int_equal(sf_mail_enqueue(c, "frank@example.org", "Hello", "Body"), SF_OK);
	raw_sql("CREATE TRIGGER no_outcome BEFORE UPDATE OF status ON mail_outbox BEGIN SELECT RAISE(ABORT, 'disk full'); END");
	char *text = newest_mail(); /* sent once */
	assert_non_null(strstr(text, "frank@example.org"));
	free(text);
	sf_test_rmtree(maildir);
	for (int i = 0; i < 3; i++)
		assert_int_equal(sf_mailer_run_once(mailer, now), 0);
	DIR *d = opendir(maildir);
	assert_null(d); /* not written again */
	assert_int_equal(mails_pending(), 1);
	/* another mail waits too while the outcome cannot be written */
	assert_int_equal(sf_mail_enqueue(c, "frank@example.org", "Hello", "Body"), SF_OK);
	assert_int_equal(sf_mailer_run_once(mailer, now), 0);
	assert_null(opendir(maildir));
	raw_sql("DROP TRIGGER no_outcome");
	/* the outcome first, then the next mail; the first one not again */
	assert_int_equal(sf_mailer_run_once(mailer, now), 1);
	assert_int_equal(mails_pending(), 0);
	d = opendir(maildir);
	assert_non_null(d);
	int eml = 0;
	struct dirent *e;
	while ((e = readdir(d)) != NULL)
		eml += strstr(e->d_name, ".eml") != NULL;
	closedir(d);
	assert_int_equal(eml, 1);
}

/* The .eml folder: made when missing, again when removed while serving;
 * when it cannot be made the mail waits and nothing is lost. */
static void test_outbox_folder(void **state)
{
	(void)state;
	struct sf_customer_req r = at(T0 + 1000); /* past other tests' links (one mail per 3 minutes) */
	sf_test_rmtree(maildir);
	assert_int_equal(sf_customer_reset_request(&app, &r, "frank@example.org"), SF_OK);
	char *text = newest_mail();
	assert_non_null(strstr(text, "frank@example.org"));
	free(text);
	assert_int_equal(mails_pending(), 0);
	/* a folder under a regular file cannot be made */
	struct sf_config c2 = cfg;
	snprintf(c2.mail_dir, sizeof c2.mail_dir, "%s/t.db/mail", dir);
	struct sf_mailer *m = NULL;
	char err[256];
	assert_int_equal(sf_mailer_new(db, kr, &c2, &m, err, sizeof err), SF_OK);
	struct sf_customer_req later = at(T0 + 1200);
	assert_int_equal(sf_customer_reset_request(&app, &later, "frank@example.org"), SF_OK);
	int64_t now = (int64_t)time(NULL) + 1;
	assert_int_equal(sf_mailer_run_once(m, now), 0);
	sf_mailer_stop(m);
	assert_int_equal(mails_pending(), 1);
	/* the right folder gets it once due */
	assert_int_equal(sf_mailer_run_once(mailer, now + sf_mail_backoff(1) + 1), 1);
	assert_int_equal(mails_pending(), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_register_verify_login),
		cmocka_unit_test(test_register_no_enumeration),
		cmocka_unit_test(test_unconfirmed_recovers),
		cmocka_unit_test(test_lockout_and_unlock),
		cmocka_unit_test(test_unknown_runs_verify),
		cmocka_unit_test(test_refused_logins_audited),
		cmocka_unit_test(test_rehash_on_login),
		cmocka_unit_test(test_reset),
		cmocka_unit_test(test_profile_and_addresses),
		cmocka_unit_test(test_outbox_retry),
		cmocka_unit_test(test_outbox_unrecorded),
		cmocka_unit_test(test_outbox_folder),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
