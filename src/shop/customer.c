/*
 * customer.c — customer accounts (customer.h).
 *
 * Expensive work (argon2) runs outside transactions; each transaction
 * re-reads what it decides on, so sf_db_txn may run it again safely.  Sealed
 * columns are written after the row exists, since the row id is part of
 * each seal's associated data.
 */
#include "shop/customer.h"

#include <ctype.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit/audit.h"
#include "auth/password.h"
#include "auth/session.h"
#include "core/app.h"
#include "core/buf.h"
#include "core/config.h"
#include "core/log.h"
#include "core/util.h"
#include "crypto/keyring.h"
#include "db/db.h"

#define T_CUST "customers"
#define T_ADDR "customer_addresses"
#define EMAIL_DOMAIN "customer-email"
#define VERIFY_DOMAIN "sf-verify-v1"
#define RESET_DOMAIN "sf-reset-v1"
#define TRIES 8

/* ==== Input checks ==== */

/* A text field: valid UTF-8, no control characters, at most max bytes,
 * never a card number.  NULL or "" passes unless required. */
/* max counts characters, as the forms' maxlength does (a name in Cyrillic
 * or Japanese takes 2-3 bytes a character); at most 4 bytes each. */
static enum sf_err check_text(const char *s, size_t max, int required)
{
	if (!s || !*s)
		return required ? SF_ERR_BAD_PARAM : SF_OK;
	if (!sf_utf8_line_fits(s, max))
		return SF_ERR_BAD_PARAM;
	if (sf_log_has_card(s, strlen(s)))
		return SF_ERR_CARD_DATA;
	return SF_OK;
}

/* Returns err, with *why: bad (what the field must look like) for malformed
 * input, NULL for a card number, whose answer is the error's own sentence
 * (never "the name must be …", which would not tell the shopper why); and
 * *field (when field is not NULL): name, the field at fault. */
static enum sf_err field_fail(enum sf_err err, const char *bad, const char **why, const char *name,
			      const char **field)
{
	*why = err == SF_ERR_CARD_DATA ? NULL : bad;
	if (field)
		*field = name;
	return err;
}

/* err, naming the field at fault in *field (when field is not NULL). */
static enum sf_err at_field(enum sf_err err, const char *name, const char **field)
{
	if (err && field)
		*field = name;
	return err;
}

int sf_customer_email_norm(const char *in, char *out, size_t n)
{
	if (!in)
		return 0;
	while (*in == ' ' || *in == '\t')
		in++;
	size_t len = strnlen(in, SF_CUSTOMER_EMAIL_MAX + 1);
	if (len > SF_CUSTOMER_EMAIL_MAX)
		return 0;
	while (len && (in[len - 1] == ' ' || in[len - 1] == '\t'))
		len--;
	if (len < 3 || len >= n || !sf_utf8_valid(in, len, 1) || memchr(in, '\n', len) || memchr(in, '\r', len) ||
	    memchr(in, '\t', len))
		return 0;
	const char *at = memchr(in, '@', len);
	if (!at || at == in || (size_t)(at - in) > 64 || memchr(at + 1, '@', len - (size_t)(at - in) - 1))
		return 0;
	const char *dom = at + 1;
	size_t dlen = len - (size_t)(dom - in);
	if (dlen < 3 || !memchr(dom, '.', dlen) || dom[0] == '.' || dom[dlen - 1] == '.')
		return 0;
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)in[i];
		if (ch == ' ' || ch == '<' || ch == '>' || ch == ',' || ch == '"' || ch == '\\' || ch == '(' ||
		    ch == ')' || ch == ';' || ch == ':' || ch == '[' || ch == ']')
			return 0;
		out[i] = (char)(ch < 0x80 ? tolower(ch) : ch);
	}
	out[len] = '\0';
	return 1;
}

static enum sf_err email_arg(const char *email, char *norm, size_t n, const char **why)
{
	if (email && sf_log_has_card(email, strlen(email)))
		return SF_ERR_CARD_DATA;
	if (!sf_customer_email_norm(email, norm, n)) {
		*why = "Enter a valid e-mail address.";
		return SF_ERR_BAD_PARAM;
	}
	return SF_OK;
}

static int phone_ok(const char *p)
{
	for (; *p; p++)
		if (!isdigit((unsigned char)*p) && !strchr(" +-().", *p))
			return 0;
	return 1;
}

static int date_ok(const char *d)
{
	int y, m, dd;
	char extra;
	if (strlen(d) != 10 || d[4] != '-' || d[7] != '-')
		return 0;
	for (int i = 0; i < 10; i++)
		if (i != 4 && i != 7 && !isdigit((unsigned char)d[i]))
			return 0;
	if (sscanf(d, "%4d-%2d-%2d%c", &y, &m, &dd, &extra) != 3)
		return 0;
	static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	if (y < 1900 || y > 2100 || m < 1 || m > 12 || dd < 1 || dd > mdays[m - 1])
		return 0;
	if (m == 2 && dd == 29 && !((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
		return 0;
	return 1;
}

/* ==== Small helpers ==== */

static void pw_params(const struct sf_app *app, struct sf_pw_params *p)
{
	sf_password_params_default(p);
	if (app->cfg) {
		p->ops = (uint64_t)app->cfg->auth_argon2_ops;
		p->memory_kib = (size_t)app->cfg->auth_argon2_memory_kib;
	}
}

static int64_t cfg_i(const struct sf_app *app, size_t off, int64_t dflt)
{
	if (!app->cfg)
		return dflt;
	return *(const int64_t *)(const void *)((const char *)app->cfg + off);
}

#define CFG(app, field, dflt) cfg_i(app, offsetof(struct sf_config, field), dflt)

static enum sf_db_status audit(struct sf_db_conn *c, const struct sf_app *app, const struct sf_customer_req *r,
			       int64_t actor, const char *action, int64_t object, const char *outcome,
			       const char *detail)
{
	char aid[24], oid[24];
	snprintf(aid, sizeof aid, "%lld", (long long)actor);
	snprintf(oid, sizeof oid, "%lld", (long long)object);
	struct sf_audit_event ev = {
		.actor_type = actor ? "customer" : "anonymous",
		.actor_id = actor ? aid : NULL,
		.ip = r->ip,
		.action = action,
		.object_type = object ? "customer" : NULL,
		.object_id = object ? oid : NULL,
		.outcome = outcome,
		.request_id = r->request_id,
		.detail = detail,
	};
	return sf_db_status_from_err(sf_audit_append(c, app->keys, &ev));
}

/* Seal s (NULL or "": no value) into *blob. */
static enum sf_err seal(const struct sf_app *app, const char *table, const char *col, int64_t id, const char *s,
			unsigned char **blob, size_t *n)
{
	*blob = NULL;
	*n = 0;
	if (!s || !*s)
		return SF_OK;
	return sf_seal(app->keys, table, col, id, s, strlen(s), blob, n);
}

static struct sf_db_param blob_param(const unsigned char *b, size_t n)
{
	return b ? SF_DB_BLOB(b, n) : SF_DB_NULL;
}

/* A sealed column of the current row as a JSON string ("" when NULL). */
static enum sf_err open_col(const struct sf_app *app, struct sf_db_cursor *cur, int col, const char *table,
			    const char *name, int64_t id, json_t **out)
{
	size_t n = 0;
	const void *b = sf_db_col_blob(cur, col, &n);
	if (!b || n == 0) {
		*out = json_string("");
		return *out ? SF_OK : SF_ERR_NOMEM;
	}
	char *pt = NULL;
	size_t ptn = 0;
	enum sf_err err = sf_unseal(app->keys, table, name, id, b, n, &pt, &ptn);
	if (err)
		return err;
	*out = json_stringn(pt, ptn);
	sf_unsealed_free(pt, ptn);
	return *out ? SF_OK : SF_ERR_NOMEM;
}

static enum sf_db_status enqueue(struct sf_db_conn *c, const struct sf_app *app, const char *to,
				 const char *subject, const char *body)
{
	if (!app->mail_enqueue)
		return SF_DB_HARD;
	return sf_db_status_from_err(app->mail_enqueue(c, to, subject, body));
}

static const char *shop_name(const struct sf_app *app)
{
	return app->cfg && app->cfg->shop_name[0] ? app->cfg->shop_name : "storefort";
}

/* ==== Lookup by e-mail ==== */

struct acct {
	int found;
	int64_t id;
	char hash[SF_PW_HASH_MAX];
	int verified;
	int64_t failed;
	int64_t locked_until;
};

static void read_acct(struct sf_db_cursor *cur, void *arg)
{
	struct acct *a = arg;
	a->found = 1;
	a->id = sf_db_col_int(cur, 0);
	sf_strlcpy(a->hash, sf_db_col_text(cur, 1, NULL), sizeof a->hash);
	a->verified = (int)sf_db_col_int(cur, 2);
	a->failed = sf_db_col_int(cur, 3);
	a->locked_until = sf_db_col_int(cur, 4);
}

static enum sf_db_status find_acct(struct sf_db_conn *c, const unsigned char idx[SF_BLIND_INDEX_LEN],
				   struct acct *a)
{
	memset(a, 0, sizeof *a);
	struct sf_db_param p[] = {SF_DB_BLOB(idx, SF_BLIND_INDEX_LEN)};
	return sf_db_query_one(c, SF_STMT_CUST_BY_EMAIL_IDX, p, 1, read_acct, a);
}

static enum sf_err email_index(const struct sf_app *app, const char *norm, unsigned char idx[SF_BLIND_INDEX_LEN])
{
	return sf_blind_index(app->keys, EMAIL_DOMAIN, norm, strlen(norm), idx);
}

/* ==== Tokens ==== */

static enum sf_db_status token_insert(struct sf_db_conn *c, const char *domain, const char *purpose, int64_t cid,
				      int64_t now, int64_t expires, char tok[SF_SESSION_COOKIE_LEN + 1])
{
	unsigned char h[SF_SESSION_HASH_LEN];
	sf_token_new(tok);
	sf_token_hash(domain, tok, h);
	struct sf_db_param p[] = {SF_DB_BLOB(h, sizeof h), SF_DB_INT(cid), SF_DB_TEXT(purpose), SF_DB_INT(expires),
				  SF_DB_INT(now)};
	return sf_db_exec(c, SF_STMT_CUST_TOKEN_INSERT, p, 5, NULL);
}

struct tokrow {
	int found;
	int64_t id, cid, expires;
	int used;
};

static void read_tok(struct sf_db_cursor *cur, void *arg)
{
	struct tokrow *t = arg;
	t->found = 1;
	t->id = sf_db_col_int(cur, 0);
	t->cid = sf_db_col_int(cur, 1);
	t->expires = sf_db_col_int(cur, 2);
	t->used = !sf_db_col_is_null(cur, 3);
}

/* Find a live (unused, unexpired) token: SF_DB_OK with *t, SF_DB_NO_ROWS. */
static enum sf_db_status token_find(struct sf_db_conn *c, const char *domain, const char *purpose, const char *tok,
				    int64_t now, struct tokrow *t)
{
	unsigned char h[SF_SESSION_HASH_LEN];
	memset(t, 0, sizeof *t);
	if (!sf_token_shape_ok(tok))
		return SF_DB_NO_ROWS;
	sf_token_hash(domain, tok, h);
	struct sf_db_param p[] = {SF_DB_BLOB(h, sizeof h), SF_DB_TEXT(purpose)};
	enum sf_db_status st = sf_db_query_one(c, SF_STMT_CUST_TOKEN_GET, p, 2, read_tok, t);
	if (st < 0)
		return st;
	return !t->found || t->used || now >= t->expires ? SF_DB_NO_ROWS : SF_DB_OK;
}

/* Find a live token and use it up (in the caller's transaction).
 * SF_DB_OK with *cid, SF_DB_NO_ROWS when unknown, used or expired. */
static enum sf_db_status token_use(struct sf_db_conn *c, const char *domain, const char *purpose, const char *tok,
				   int64_t now, int64_t *cid)
{
	struct tokrow t = {0};
	enum sf_db_status st = token_find(c, domain, purpose, tok, now, &t);
	if (st != SF_DB_OK)
		return st;
	struct sf_db_param u[] = {SF_DB_INT(t.id), SF_DB_INT(now)};
	int64_t changes = 0;
	st = sf_db_exec(c, SF_STMT_CUST_TOKEN_USE, u, 2, &changes);
	if (st < 0)
		return st;
	if (changes != 1)
		return SF_DB_NO_ROWS;
	*cid = t.cid;
	return SF_DB_OK;
}

/* A mail carrying a single-use link: the account's earlier links of the
 * same purpose die (only the newest one works), a token is stored (hashed)
 * and its link mailed, all in the caller's transaction.
 *
 * At most one such mail per account and purpose every LINK_MAIL_EVERY
 * seconds: whoever knows an address (or the password of an unconfirmed
 * account) could otherwise fill its mailbox from many addresses, which the
 * per-client rate limits do not stop, and hurt the shop's standing with
 * mail providers.  Within that time nothing is sent and the link mailed
 * last keeps working: SF_DB_NO_ROWS. */
#define LINK_MAIL_EVERY 180

static void read_made(struct sf_db_cursor *cur, void *ctx)
{
	*(int64_t *)ctx = sf_db_col_is_null(cur, 0) ? 0 : sf_db_col_int(cur, 0);
}
struct link_mail {
	const char *domain, *purpose, *path, *subject;
	const char *intro; /* the shop name and "." follow */
	const char *outro;
	const char *unit;  /* "hours", "minutes" */
	int64_t unit_s;
};

static enum sf_db_status mail_link(struct sf_db_conn *c, const struct sf_app *app, const struct sf_customer_req *r,
				   const struct link_mail *lm, int64_t amount, int64_t cid, const char *to)
{
	char tok[SF_SESSION_COOKIE_LEN + 1], body[2048];
	struct sf_db_param p[] = {SF_DB_INT(cid), SF_DB_TEXT(lm->purpose), SF_DB_INT(r->now)};
	int64_t made = 0; /* the newest live link's making, 0: none */
	enum sf_db_status st = sf_db_query_one(c, SF_STMT_CUST_TOKEN_NEWEST, p, 3, read_made, &made);
	if (st < 0)
		return st;
	if (made > r->now - LINK_MAIL_EVERY)
		return SF_DB_NO_ROWS;
	st = sf_db_exec(c, SF_STMT_CUST_TOKEN_INVALIDATE, p, 3, NULL);
	if (st < 0)
		return st;
	st = token_insert(c, lm->domain, lm->purpose, cid, r->now, r->now + amount * lm->unit_s, tok);
	if (st != SF_DB_OK)
		return st;
	snprintf(body, sizeof body, "Hello,\n\n%s %s.\n\nOpen this link within %lld %s (it works once):\n\n%s%s?token=%s\n\n%s\n",
		 lm->intro, shop_name(app), (long long)amount, lm->unit, r->link_base, lm->path, tok, lm->outro);
	sodium_memzero(tok, sizeof tok);
	st = enqueue(c, app, to, lm->subject, body);
	sodium_memzero(body, sizeof body);
	return st;
}

/* Mail the account a verification link, in the caller's transaction: for a
 * new account, or again when someone logs in to one not yet confirmed with
 * its password.  That someone may not be the mailbox's owner (a squatter
 * who made the account): the mail tells the owner not to confirm an account
 * he did not make, and to register instead, which mails him a link to
 * choose the password (claim_mail). */
static enum sf_db_status mail_verify(struct sf_db_conn *c, const struct sf_app *app, const struct sf_customer_req *r,
				     int64_t cid, const char *to, int again)
{
	static const struct link_mail first = {
		VERIFY_DOMAIN, "verify", "/account/verify", "Confirm your e-mail address",
		"please confirm the e-mail address of your new account at",
		"If you did not create an account, you can ignore this e-mail.", "hours", 3600};
	static const struct link_mail resend = {
		VERIFY_DOMAIN, "verify", "/account/verify", "Confirm your e-mail address",
		"someone logged in with the password of an account that uses this address and is not confirmed "
		"yet, at",
		"Earlier links no longer work. If you did not create this account, do not confirm it: whoever "
		"made it knows its password. Register with this address instead: you will get a link to choose "
		"your own password, and the account will be yours.\n\nIf you did not try to log in, you can ignore "
		"this e-mail.",
		"hours", 3600};
	return mail_link(c, app, r, again ? &resend : &first, CFG(app, auth_verify_hours, 48), cid, to);
}

/* The password reset's link, and the same link for an unconfirmed address
 * registered again (reset_confirm sets the password and confirms it). */
static const struct link_mail reset_mail = {
	RESET_DOMAIN, "reset", "/account/reset", "Reset your password",
	"someone (perhaps you) asked to reset the password of your account at",
	"If it was not you, ignore this e-mail: your password stays as it is.", "minutes", 60};
static const struct link_mail claim_mail = {
	RESET_DOMAIN, "reset", "/account/reset", "Finish creating your account",
	"someone (perhaps you) asked to create an account with this e-mail address at",
	"An account with this address was made earlier and never confirmed, perhaps by someone else. Choose "
	"your password with the link: that confirms the address, and no password chosen before will work.\n\n"
	"If you did not try to create an account, you can ignore this e-mail.",
	"minutes", 60};

/* ==== Register ==== */

struct reg_ctx {
	struct sf_app *app;
	const struct sf_customer_req *r;
	const char *email;
	const char *name;
	const unsigned char *idx;
	const char *hash;
	int existing;      /* in: known to exist; out: turned out to exist */
	int64_t id;
};

static enum sf_db_status reg_new(struct sf_db_conn *c, struct reg_ctx *x)
{
	struct sf_db_param p[] = {SF_DB_BLOB(x->idx, SF_BLIND_INDEX_LEN), SF_DB_TEXT(x->hash), SF_DB_INT(x->r->now)};
	enum sf_db_status st = sf_db_exec(c, SF_STMT_CUST_INSERT, p, 3, NULL);
	if (st != SF_DB_OK)
		return st;
	x->id = sf_db_last_id(c);
	unsigned char *e = NULL, *n = NULL;
	size_t en = 0, nn = 0;
	enum sf_err err = seal(x->app, T_CUST, "email", x->id, x->email, &e, &en);
	if (!err)
		err = seal(x->app, T_CUST, "name", x->id, x->name, &n, &nn);
	if (!err) {
		struct sf_db_param q[] = {SF_DB_INT(x->id), blob_param(e, en), blob_param(n, nn), SF_DB_NULL,
					  SF_DB_NULL, SF_DB_INT(x->r->now)};
		st = sf_db_exec(c, SF_STMT_CUST_SET_SEALED, q, 6, NULL);
	}
	free(e);
	free(n);
	if (err)
		return SF_DB_HARD;
	if (st != SF_DB_OK)
		return st;
	st = mail_verify(c, x->app, x->r, x->id, x->email, 0);
	if (st != SF_DB_OK)
		return st;
	return audit(c, x->app, x->r, x->id, "customer.register", x->id, "success", NULL);
}

static enum sf_db_status reg_existing(struct sf_db_conn *c, struct reg_ctx *x)
{
	struct acct a;
	enum sf_db_status st = find_acct(c, x->idx, &a);
	if (st < 0 || !a.found)
		return st < 0 ? st : SF_DB_RETRY;
	if (!a.verified) {
		/* Not confirmed yet, perhaps made by someone else (a squatter
		 * waiting for the owner to confirm it with his password): the
		 * mailbox gets a link to choose the password, which also confirms
		 * the address; earlier confirmation links die.  Without it a link
		 * that expired would leave the address stuck.  The answer is the
		 * same as for a new account. */
		struct sf_db_param p[] = {SF_DB_INT(a.id), SF_DB_TEXT("verify"), SF_DB_INT(x->r->now)};
		st = sf_db_exec(c, SF_STMT_CUST_TOKEN_INVALIDATE, p, 3, NULL);
		if (st == SF_DB_OK)
			st = mail_link(c, x->app, x->r, &claim_mail, CFG(x->app, auth_reset_minutes, 60), a.id, x->email);
		if (st < 0)
			return st;
		return audit(c, x->app, x->r, 0, "customer.register", a.id, "failure",
			     "{\"reason\":\"address_unconfirmed\"}");
	}
	char body[1024];
	snprintf(body, sizeof body,
		 "Hello,\n\nsomeone (perhaps you) tried to create an account at %s with this e-mail address, "
		 "which already has one.\n\nIf it was you, log in, or choose a new password here:\n\n"
		 "%s/account/forgot\n\nIf it was not you, you can ignore this e-mail.\n",
		 shop_name(x->app), x->r->link_base);
	st = enqueue(c, x->app, x->email, "Your account already exists", body);
	if (st != SF_DB_OK)
		return st;
	return audit(c, x->app, x->r, 0, "customer.register", a.id, "failure", "{\"reason\":\"address_in_use\"}");
}

static enum sf_db_status reg_txn(struct sf_db_conn *c, void *arg)
{
	struct reg_ctx *x = arg;
	if (!x->existing) {
		enum sf_db_status st = reg_new(c, x);
		if (st != SF_DB_CONSTRAINT)
			return st;
		x->existing = 1; /* a concurrent registration won the race */
		return SF_DB_RETRY;
	}
	return reg_existing(c, x);
}

enum sf_err sf_customer_register(struct sf_app *app, const struct sf_customer_req *r, const char *email,
				 const char *password, const char *name, const char **why, const char **field)
{
	static const char *const bad_name = "The name must be at most 100 characters of text.";
	char norm[SF_CUSTOMER_EMAIL_MAX + 1];
	unsigned char idx[SF_BLIND_INDEX_LEN];
	char hash[SF_PW_HASH_MAX];
	*why = NULL;
	if (field)
		*field = NULL;
	enum sf_err err = email_arg(email, norm, sizeof norm, why);
	if (err)
		return at_field(err, "email", field);
	err = check_text(name, SF_CUSTOMER_NAME_MAX, 0);
	if (err)
		return field_fail(err, bad_name, why, "name", field);
	if (password && sf_log_has_card(password, strnlen(password, 4096)))
		return at_field(SF_ERR_CARD_DATA, "password", field);
	char local[SF_CUSTOMER_EMAIL_MAX + 1];
	sf_strlcpy(local, norm, sizeof local);
	*strchr(local, '@') = '\0';
	const char *hints[] = {local, norm, name, NULL};
	err = sf_password_policy(password, hints, why);
	if (err)
		return at_field(err, "password", field);
	if (!app->mail_enqueue)
		return SF_ERR_UNAVAILABLE;
	err = email_index(app, norm, idx);
	if (err)
		return err;
	struct sf_db_conn *c = sf_db_conn_get(app->db);
	if (!c)
		return SF_ERR_UNAVAILABLE;
	struct acct a;
	enum sf_db_status st = find_acct(c, idx, &a);
	if (st < 0)
		return sf_db_err(st);
	/* Hash in both cases, so the answer takes as long either way. */
	struct sf_pw_params pp;
	pw_params(app, &pp);
	err = sf_password_hash(&pp, password, hash);
	if (err)
		return err;
	struct reg_ctx x = {.app = app, .r = r, .email = norm, .name = name, .idx = idx, .hash = hash,
			    .existing = a.found};
	st = sf_db_txn(app->db, reg_txn, &x, TRIES);
	sodium_memzero(hash, sizeof hash);
	return sf_db_err(st);
}

/* ==== Verify ==== */

/* A transaction that uses up a link's token (verify, reset). */
struct tok_ctx {
	struct sf_app *app;
	const struct sf_customer_req *r;
	const char *token;
	const char *hash; /* reset: the new password's hash */
	int64_t cid;      /* out: whose token it was */
};

static enum sf_db_status verify_txn(struct sf_db_conn *c, void *arg)
{
	struct tok_ctx *x = arg;
	enum sf_db_status st = token_use(c, VERIFY_DOMAIN, "verify", x->token, x->r->now, &x->cid);
	if (st != SF_DB_OK)
		return st;
	struct sf_db_param p[] = {SF_DB_INT(x->cid), SF_DB_INT(x->r->now)};
	st = sf_db_exec(c, SF_STMT_CUST_SET_VERIFIED, p, 2, NULL);
	if (st < 0)
		return st;
	return audit(c, x->app, x->r, x->cid, "customer.verify", x->cid, "success", NULL);
}

enum sf_err sf_customer_verify(struct sf_app *app, const struct sf_customer_req *r, const char *token)
{
	struct tok_ctx x = {.app = app, .r = r, .token = token};
	if (!sf_token_shape_ok(token))
		return SF_ERR_TOKEN_INVALID;
	enum sf_db_status st = sf_db_txn(app->db, verify_txn, &x, TRIES);
	if (st == SF_DB_NO_ROWS)
		return SF_ERR_TOKEN_INVALID;
	return sf_db_err(st);
}

/* ==== Login ==== */

enum login_outcome { L_OK, L_WRONG, L_LOCKED, L_UNVERIFIED, L_UNKNOWN };

struct login_ctx {
	struct sf_app *app;
	const struct sf_customer_req *r;
	const char *email;        /* normalised */
	const unsigned char *idx; /* NULL: the e-mail is malformed */
	const char *refused;      /* the audit detail of a request refused unchecked, or NULL */
	int pw_ok;
	const char *new_hash; /* upgraded hash, or NULL */
	enum login_outcome out;
	int64_t id;
};

static enum sf_db_status login_txn(struct sf_db_conn *c, void *arg)
{
	struct login_ctx *x = arg;
	struct acct a;
	memset(&a, 0, sizeof a);
	enum sf_db_status st = x->idx ? find_acct(c, x->idx, &a) : SF_DB_NO_ROWS;
	if (st < 0)
		return st;
	int64_t now = x->r->now;
	if (x->refused) {
		/* No password, one too long, or a malformed e-mail: no password
		 * check and no lock, but a failure on the record like any other. */
		x->out = L_UNKNOWN;
		return audit(c, x->app, x->r, 0, "customer.login", a.found ? a.id : 0, "failure", x->refused);
	}
	if (!a.found) {
		x->out = L_UNKNOWN;
		return audit(c, x->app, x->r, 0, "customer.login", 0, "failure", "{\"reason\":\"unknown\"}");
	}
	x->id = a.id;
	if (now < a.locked_until) {
		x->out = L_LOCKED;
		return audit(c, x->app, x->r, 0, "customer.login", a.id, "denied", "{\"reason\":\"locked\"}");
	}
	if (!x->pw_ok) {
		x->out = L_WRONG;
		int64_t failed = a.failed + 1, until = 0;
		int lock = failed >= CFG(x->app, auth_max_failures, 10);
		if (lock) {
			until = now + CFG(x->app, auth_lock_minutes, 30) * 60;
			failed = 0;
		}
		struct sf_db_param p[] = {SF_DB_INT(a.id), SF_DB_INT(failed), SF_DB_INT(until)};
		st = sf_db_exec(c, SF_STMT_CUST_LOGIN_FAILED, p, 3, NULL);
		if (st < 0)
			return st;
		st = audit(c, x->app, x->r, 0, "customer.login", a.id, "failure", "{\"reason\":\"password\"}");
		if (st < 0 || !lock)
			return st;
		return audit(c, x->app, x->r, 0, "customer.lock", a.id, "success", NULL);
	}
	if (!a.verified) {
		/* Answered like any failure: a distinct answer told whoever had
		 * just registered the address with this password that it had no
		 * account before.  The owner gets a new link to finish with. */
		x->out = L_UNVERIFIED;
		if (x->app->mail_enqueue && (st = mail_verify(c, x->app, x->r, a.id, x->email, 1)) < 0)
			return st;
		return audit(c, x->app, x->r, 0, "customer.login", a.id, "failure", "{\"reason\":\"unverified\"}");
	}
	x->out = L_OK;
	struct sf_db_param p[] = {SF_DB_INT(a.id), SF_DB_TEXT(x->new_hash ? x->new_hash : a.hash)};
	st = sf_db_exec(c, SF_STMT_CUST_LOGIN_OK, p, 2, NULL);
	if (st < 0)
		return st;
	return audit(c, x->app, x->r, a.id, "customer.login", a.id, "success",
		     x->new_hash ? "{\"rehashed\":true}" : NULL);
}

enum sf_err sf_customer_login(struct sf_app *app, const struct sf_customer_req *r, const char *email,
			      const char *password, int64_t *customer_id)
{
	char norm[SF_CUSTOMER_EMAIL_MAX + 1];
	unsigned char idx[SF_BLIND_INDEX_LEN];
	struct sf_pw_params pp;
	pw_params(app, &pp);
	*customer_id = 0;
	struct login_ctx x = {.app = app, .r = r, .email = norm};
	int email_ok = sf_customer_email_norm(email, norm, sizeof norm);
	if (!email_ok)
		x.refused = "{\"reason\":\"malformed_email\"}";
	else if (!password)
		x.refused = "{\"reason\":\"no_password\"}";
	else if (strnlen(password, 4096) > 1024)
		x.refused = "{\"reason\":\"password_too_long\"}";
	enum sf_err err;
	if (email_ok) { /* the account, if there is one, is the audit event's subject */
		if ((err = email_index(app, norm, idx)) != SF_OK)
			return err;
		x.idx = idx;
	}
	struct sf_db_conn *c = sf_db_conn_get(app->db);
	if (!c)
		return SF_ERR_UNAVAILABLE;
	struct acct a;
	memset(&a, 0, sizeof a);
	enum sf_db_status st = x.refused ? SF_DB_NO_ROWS : find_acct(c, idx, &a);
	if (st < 0)
		return sf_db_err(st);
	char upgraded[SF_PW_HASH_MAX];
	if (a.found) {
		x.pw_ok = sf_password_verify(a.hash, password);
		if (x.pw_ok && sf_password_needs_rehash(&pp, a.hash) &&
		    sf_password_hash(&pp, password, upgraded) == SF_OK)
			x.new_hash = upgraded;
	} else {
		sf_password_verify_dummy(&pp, x.refused ? "" : password);
	}
	st = sf_db_txn(app->db, login_txn, &x, TRIES);
	sodium_memzero(upgraded, sizeof upgraded);
	sodium_memzero(&a, sizeof a);
	err = sf_db_err(st);
	if (err)
		return err;
	if (x.out == L_OK) {
		*customer_id = x.id;
		return SF_OK;
	}
	return SF_ERR_LOGIN_FAILED;
}

/* ==== Password reset ==== */

struct resetreq_ctx {
	struct sf_app *app;
	const struct sf_customer_req *r;
	const char *email;
	const unsigned char *idx;
};

static enum sf_db_status resetreq_txn(struct sf_db_conn *c, void *arg)
{
	struct resetreq_ctx *x = arg;
	struct acct a;
	enum sf_db_status st = find_acct(c, x->idx, &a);
	if (st < 0)
		return st;
	if (!a.found)
		return audit(c, x->app, x->r, 0, "customer.reset_request", 0, "failure", "{\"reason\":\"unknown\"}");
	st = mail_link(c, x->app, x->r, &reset_mail, CFG(x->app, auth_reset_minutes, 60), a.id, x->email);
	if (st < 0)
		return st;
	return audit(c, x->app, x->r, 0, "customer.reset_request", a.id, "success",
		     st == SF_DB_NO_ROWS ? "{\"mail\":\"recent_link\"}" : NULL);
}

enum sf_err sf_customer_reset_request(struct sf_app *app, const struct sf_customer_req *r, const char *email)
{
	char norm[SF_CUSTOMER_EMAIL_MAX + 1];
	unsigned char idx[SF_BLIND_INDEX_LEN];
	const char *why = NULL;
	enum sf_err err = email_arg(email, norm, sizeof norm, &why);
	if (err)
		return err;
	if (!app->mail_enqueue)
		return SF_ERR_UNAVAILABLE;
	err = email_index(app, norm, idx);
	if (err)
		return err;
	struct resetreq_ctx x = {.app = app, .r = r, .email = norm, .idx = idx};
	return sf_db_err(sf_db_txn(app->db, resetreq_txn, &x, TRIES));
}

/* The customer's e-mail local part and name, for the password policy. */
struct hints {
	char email[SF_CUSTOMER_EMAIL_MAX + 1];
	char name[SF_CUSTOMER_NAME_MAX * 4 + 1];
	int found;
};

struct hints_read {
	const struct sf_app *app;
	struct hints *h;
	int64_t id;
};

static void read_hints(struct sf_db_cursor *cur, void *arg)
{
	struct hints_read *x = arg;
	json_t *e = NULL, *n = NULL;
	x->h->found = 1;
	if (open_col(x->app, cur, 1, T_CUST, "email", x->id, &e) == SF_OK)
		sf_strlcpy(x->h->email, json_string_value(e), sizeof x->h->email);
	if (open_col(x->app, cur, 2, T_CUST, "name", x->id, &n) == SF_OK)
		sf_strlcpy(x->h->name, json_string_value(n), sizeof x->h->name);
	json_decref(e);
	json_decref(n);
}

static enum sf_db_status resetok_txn(struct sf_db_conn *c, void *arg)
{
	struct tok_ctx *x = arg;
	enum sf_db_status st = token_use(c, RESET_DOMAIN, "reset", x->token, x->r->now, &x->cid);
	if (st != SF_DB_OK)
		return st;
	struct sf_db_param p[] = {SF_DB_INT(x->cid), SF_DB_TEXT(x->hash), SF_DB_INT(x->r->now)};
	st = sf_db_exec(c, SF_STMT_CUST_SET_PASSWORD, p, 3, NULL);
	if (st < 0)
		return st;
	struct sf_db_param q[] = {SF_DB_INT(x->cid), SF_DB_TEXT("reset"), SF_DB_INT(x->r->now)};
	st = sf_db_exec(c, SF_STMT_CUST_TOKEN_INVALIDATE, q, 3, NULL);
	if (st < 0)
		return st;
	st = sf_db_status_from_err(sf_session_delete_principal(c, "customer", x->cid, 0));
	if (st < 0)
		return st;
	st = audit(c, x->app, x->r, x->cid, "customer.password_reset", x->cid, "success", NULL);
	if (st < 0)
		return st;
	/* The reset link was mailed to the address, so using it proves the
	 * mailbox as the verification link does; and the password is now the
	 * mailbox owner's, whoever made the account. */
	struct sf_db_param v[] = {SF_DB_INT(x->cid), SF_DB_INT(x->r->now)};
	st = sf_db_exec(c, SF_STMT_CUST_SET_VERIFIED, v, 2, NULL);
	if (st != SF_DB_OK) /* SF_DB_NO_ROWS: it was confirmed already */
		return st < 0 ? st : SF_DB_OK;
	return audit(c, x->app, x->r, x->cid, "customer.verify", x->cid, "success", "{\"via\":\"reset\"}");
}

enum sf_err sf_customer_reset_confirm(struct sf_app *app, const struct sf_customer_req *r, const char *token,
				      const char *password, int64_t *customer_id, const char **why)
{
	*why = NULL;
	*customer_id = 0;
	if (!sf_token_shape_ok(token))
		return SF_ERR_TOKEN_INVALID;
	if (password && sf_log_has_card(password, strnlen(password, 4096)))
		return SF_ERR_CARD_DATA;
	struct sf_db_conn *c = sf_db_conn_get(app->db);
	if (!c)
		return SF_ERR_UNAVAILABLE;
	struct tokrow t;
	enum sf_db_status st = token_find(c, RESET_DOMAIN, "reset", token, r->now, &t);
	if (st < 0)
		return sf_db_err(st);
	if (st == SF_DB_NO_ROWS)
		return SF_ERR_TOKEN_INVALID;
	struct hints hs;
	memset(&hs, 0, sizeof hs);
	struct hints_read hr = {.app = app, .h = &hs, .id = t.cid};
	struct sf_db_param q[] = {SF_DB_INT(t.cid)};
	st = sf_db_query_one(c, SF_STMT_CUST_GET, q, 1, read_hints, &hr);
	if (st < 0)
		return sf_db_err(st);
	char *at = strchr(hs.email, '@');
	if (at)
		*at = '\0';
	const char *hints[] = {hs.email, hs.name, NULL};
	enum sf_err err = sf_password_policy(password, hints, why);
	sodium_memzero(&hs, sizeof hs);
	if (err)
		return err;
	struct sf_pw_params pp;
	pw_params(app, &pp);
	char hash[SF_PW_HASH_MAX];
	err = sf_password_hash(&pp, password, hash);
	if (err)
		return err;
	struct tok_ctx x = {.app = app, .r = r, .token = token, .hash = hash};
	st = sf_db_txn(app->db, resetok_txn, &x, TRIES);
	sodium_memzero(hash, sizeof hash);
	if (st == SF_DB_NO_ROWS)
		return SF_ERR_TOKEN_INVALID;
	err = sf_db_err(st);
	if (!err)
		*customer_id = x.cid;
	return err;
}

/* ==== Reading the account ==== */

static const char *const addr_fields[] = {"name", "line1", "line2", "city", "postal_code", "country", "phone"};
#define N_ADDR_FIELDS (sizeof addr_fields / sizeof addr_fields[0])

/* Open an address row (id, data) into a JSON object with its id. */
static enum sf_err open_addr(const struct sf_app *app, struct sf_db_cursor *cur, int64_t cid, json_t **out)
{
	int64_t aid = sf_db_col_int(cur, 0);
	json_t *s = NULL;
	(void)cid;
	enum sf_err err = open_col(app, cur, 1, T_ADDR, "data", aid, &s);
	if (err)
		return err;
	json_t *o = json_loads(json_string_value(s), JSON_REJECT_DUPLICATES, NULL);
	json_decref(s);
	if (!json_is_object(o)) {
		json_decref(o);
		return SF_ERR_TAMPERED;
	}
	json_object_set_new(o, "id", json_integer(aid));
	*out = o;
	return SF_OK;
}

struct get_ctx {
	struct sf_app *app;
	const struct sf_customer_req *r;
	int64_t id;
	int with_addresses;
	int64_t address_id; /* get one address instead */
	json_t *out;
	enum sf_err err;
};

static void read_profile(struct sf_db_cursor *cur, void *arg)
{
	struct get_ctx *x = arg;
	static const char *const cols[] = {"email", "name", "phone", "birth_date"};
	json_t *o = json_object();
	for (int i = 0; i < 4 && o; i++) {
		json_t *v = NULL;
		enum sf_err err = open_col(x->app, cur, i + 1, T_CUST, cols[i], x->id, &v);
		if (err) {
			x->err = err;
			json_decref(o);
			return;
		}
		json_object_set_new(o, cols[i], v);
	}
	if (!o) {
		x->err = SF_ERR_NOMEM;
		return;
	}
	json_object_set_new(o, "id", json_integer(x->id));
	json_object_set_new(o, "verified", json_boolean(sf_db_col_int(cur, 5)));
	json_object_set_new(o, "created_at", json_integer(sf_db_col_int(cur, 6)));
	x->out = o;
}

static enum sf_db_status list_addresses(struct sf_db_conn *c, struct get_ctx *x, json_t *arr)
{
	struct sf_db_cursor *cur = NULL;
	struct sf_db_param p[] = {SF_DB_INT(x->id)};
	enum sf_db_status st = sf_db_query(c, SF_STMT_CUST_ADDR_LIST, p, 1, &cur);
	if (st != SF_DB_OK)
		return st;
	while ((st = sf_db_next(cur)) == SF_DB_OK) {
		json_t *a = NULL;
		x->err = open_addr(x->app, cur, x->id, &a);
		if (x->err)
			break;
		json_array_append_new(arr, a);
	}
	sf_db_cursor_close(cur);
	if (x->err)
		return SF_DB_HARD;
	return st < 0 ? st : SF_DB_OK;
}

static void read_one_addr(struct sf_db_cursor *cur, void *arg)
{
	struct get_ctx *x = arg;
	x->err = open_addr(x->app, cur, x->id, &x->out);
}

static enum sf_db_status get_txn(struct sf_db_conn *c, void *arg)
{
	struct get_ctx *x = arg;
	json_decref(x->out);
	x->out = NULL;
	x->err = SF_OK;
	enum sf_db_status st;
	const char *detail;
	if (x->address_id) {
		struct sf_db_param p[] = {SF_DB_INT(x->address_id), SF_DB_INT(x->id)};
		st = sf_db_query_one(c, SF_STMT_CUST_ADDR_GET, p, 2, read_one_addr, x);
		detail = "{\"fields\":\"address\"}";
	} else {
		struct sf_db_param p[] = {SF_DB_INT(x->id)};
		st = sf_db_query_one(c, SF_STMT_CUST_GET, p, 1, read_profile, x);
		detail = x->with_addresses ? "{\"fields\":\"profile,addresses\"}" : "{\"fields\":\"profile\"}";
	}
	if (st < 0)
		return st;
	if (x->err)
		return SF_DB_HARD;
	if (st == SF_DB_NO_ROWS || !x->out)
		return SF_DB_NO_ROWS;
	if (x->with_addresses && !x->address_id) {
		json_t *arr = json_array();
		st = list_addresses(c, x, arr);
		json_object_set_new(x->out, "addresses", arr);
		if (st < 0)
			return st;
	}
	return audit(c, x->app, x->r, x->id, "customer.read", x->id, "success", detail);
}

static enum sf_err run_get(struct get_ctx *x, json_t **out)
{
	enum sf_db_status st = sf_db_txn(x->app->db, get_txn, x, TRIES);
	if (st == SF_DB_NO_ROWS && !x->out)
		st = SF_DB_HARD, x->err = SF_ERR_NOT_FOUND;
	if (st < 0 || !x->out) {
		json_decref(x->out);
		return x->err ? x->err : sf_db_err(st);
	}
	*out = x->out;
	return SF_OK;
}

enum sf_err sf_customer_get(struct sf_app *app, const struct sf_customer_req *r, int64_t customer_id,
			    int with_addresses, json_t **out)
{
	struct get_ctx x = {.app = app, .r = r, .id = customer_id, .with_addresses = with_addresses};
	*out = NULL;
	return run_get(&x, out);
}

enum sf_err sf_customer_address_get(struct sf_app *app, const struct sf_customer_req *r, int64_t customer_id,
				    int64_t address_id, json_t **out)
{
	struct get_ctx x = {.app = app, .r = r, .id = customer_id, .address_id = address_id};
	*out = NULL;
	if (address_id <= 0)
		return SF_ERR_NOT_FOUND;
	return run_get(&x, out);
}

/* ==== Changing the account ==== */

struct upd_ctx {
	struct sf_app *app;
	const struct sf_customer_req *r;
	int64_t id;
	const char *vals[4]; /* email, name, phone, birth_date: NULL keeps */
	char changed[64];
};

struct sealed4 {
	unsigned char *b[4];
	size_t n[4];
};

/* Copy the four sealed columns of the current customer row. */
static void keep_sealed(struct sf_db_cursor *cur, void *arg)
{
	struct sealed4 *k = arg;
	for (int i = 0; i < 4; i++) {
		size_t n = 0;
		const void *b = sf_db_col_blob(cur, i + 1, &n);
		if (b && n && (k->b[i] = malloc(n)) != NULL) {
			memcpy(k->b[i], b, n);
			k->n[i] = n;
		}
	}
}

static enum sf_db_status upd_txn(struct sf_db_conn *c, void *arg)
{
	static const char *const cols[] = {"email", "name", "phone", "birth_date"};
	struct upd_ctx *x = arg;
	struct sealed4 k;
	memset(&k, 0, sizeof k);
	struct sf_db_param q[] = {SF_DB_INT(x->id)};
	enum sf_db_status st = sf_db_query_one(c, SF_STMT_CUST_GET, q, 1, keep_sealed, &k);
	if (st != SF_DB_OK)
		goto out;
	for (int i = 0; i < 4; i++) {
		if (!x->vals[i])
			continue;
		free(k.b[i]);
		k.b[i] = NULL;
		k.n[i] = 0;
		if (seal(x->app, T_CUST, cols[i], x->id, x->vals[i], &k.b[i], &k.n[i]) != SF_OK) {
			st = SF_DB_HARD;
			goto out;
		}
	}
	struct sf_db_param p[] = {SF_DB_INT(x->id),	     blob_param(k.b[0], k.n[0]), blob_param(k.b[1], k.n[1]),
				  blob_param(k.b[2], k.n[2]), blob_param(k.b[3], k.n[3]), SF_DB_INT(x->r->now)};
	st = sf_db_exec(c, SF_STMT_CUST_SET_SEALED, p, 6, NULL);
	if (st < 0)
		goto out;
	st = audit(c, x->app, x->r, x->id, "customer.update", x->id, "success", x->changed);
out:
	for (int i = 0; i < 4; i++)
		free(k.b[i]);
	return st;
}

enum sf_err sf_customer_update(struct sf_app *app, const struct sf_customer_req *r, int64_t customer_id,
			       const char *name, const char *phone, const char *birth_date, const char **why,
			       const char **field)
{
	*why = NULL;
	if (field)
		*field = NULL;
	enum sf_err err = check_text(name, SF_CUSTOMER_NAME_MAX, 0);
	if (err)
		return field_fail(err, "The name must be at most 100 characters of text.", why, "name", field);
	err = check_text(phone, SF_CUSTOMER_PHONE_MAX, 0);
	if (err == SF_ERR_CARD_DATA) {
		*why = SF_LOG_PHONE_CARD_WHY;
		return at_field(err, "phone", field);
	}
	if (err || (phone && !phone_ok(phone)))
		return field_fail(err ? err : SF_ERR_BAD_PARAM,
				  "The phone number may hold only digits, spaces and + - ( ) . (at most 32).", why, "phone",
				  field);
	err = check_text(birth_date, 10, 0);
	if (err || (birth_date && *birth_date && !date_ok(birth_date)))
		return field_fail(err ? err : SF_ERR_BAD_PARAM, "The birth date must be a date written YYYY-MM-DD.", why,
				  "birth_date", field);
	struct upd_ctx x = {.app = app, .r = r, .id = customer_id, .vals = {NULL, name, phone, birth_date}};
	snprintf(x.changed, sizeof x.changed, "{\"fields\":\"%s%s%s\"}", name ? "name," : "", phone ? "phone," : "",
		 birth_date ? "birth_date" : "");
	enum sf_db_status st = sf_db_txn(app->db, upd_txn, &x, TRIES);
	return st == SF_DB_NO_ROWS ? SF_ERR_NOT_FOUND : sf_db_err(st);
}

struct addr_ctx {
	struct sf_app *app;
	const struct sf_customer_req *r;
	int64_t cid;
	int64_t aid;
	const char *json; /* plaintext to seal */
	int del;
	int64_t saved;    /* out: the address written */
	enum sf_err err;
};

static enum sf_db_status addr_txn(struct sf_db_conn *c, void *arg)
{
	struct addr_ctx *x = arg;
	enum sf_db_status st;
	int64_t changes = 0;
	x->err = SF_OK;
	const char *action = x->del ? "customer.address_delete" : x->aid ? "customer.address_update"
									   : "customer.address_create";
	if (x->del) {
		struct sf_db_param p[] = {SF_DB_INT(x->aid), SF_DB_INT(x->cid)};
		st = sf_db_exec(c, SF_STMT_CUST_ADDR_DELETE, p, 2, &changes);
		if (st < 0)
			return st;
		if (changes != 1)
			return SF_DB_NO_ROWS;
	} else {
		int64_t aid = x->aid;
		if (!aid) {
			int64_t count = 0;
			struct sf_db_param p[] = {SF_DB_INT(x->cid)};
			struct sf_db_cursor *cur = NULL;
			st = sf_db_query(c, SF_STMT_CUST_ADDR_COUNT, p, 1, &cur);
			if (st != SF_DB_OK)
				return st;
			if (sf_db_next(cur) == SF_DB_OK)
				count = sf_db_col_int(cur, 0);
			sf_db_cursor_close(cur);
			if (count >= SF_CUSTOMER_MAX_ADDRESSES) {
				x->err = SF_ERR_LIMIT;
				return SF_DB_HARD;
			}
			struct sf_db_param q[] = {SF_DB_INT(x->cid), SF_DB_INT(x->r->now)};
			st = sf_db_exec(c, SF_STMT_CUST_ADDR_INSERT, q, 2, NULL);
			if (st != SF_DB_OK)
				return st;
			aid = sf_db_last_id(c);
		}
		unsigned char *b = NULL;
		size_t bn = 0;
		if (seal(x->app, T_ADDR, "data", aid, x->json, &b, &bn) != SF_OK)
			return SF_DB_HARD;
		struct sf_db_param u[] = {SF_DB_INT(aid), SF_DB_INT(x->cid), SF_DB_BLOB(b, bn), SF_DB_INT(x->r->now)};
		st = sf_db_exec(c, SF_STMT_CUST_ADDR_SET, u, 4, &changes);
		free(b);
		if (st < 0)
			return st;
		if (changes != 1)
			return SF_DB_NO_ROWS;
		x->saved = aid;
	}
	char detail[48];
	snprintf(detail, sizeof detail, "{\"address_id\":%lld}", (long long)(x->del ? x->aid : x->saved));
	return audit(c, x->app, x->r, x->cid, action, x->cid, "success", detail);
}

static int country_ok(const char *s)
{
	return strlen(s) == 2 && isupper((unsigned char)s[0]) && isupper((unsigned char)s[1]);
}

/* Validate fields into a JSON text (malloc'd) of exactly the known keys. */
static enum sf_err addr_validate(const json_t *fields, char **text, const char **why, const char **field)
{
	static const size_t maxes[] = {100, 200, 200, 100, 20, 2, 32};
	static const int required[] = {1, 1, 0, 1, 1, 1, 0};
	*text = NULL;
	if (!json_is_object(fields)) {
		*why = "The address must be an object of text fields.";
		return SF_ERR_BAD_PARAM;
	}
	const char *k;
	json_t *v;
	json_object_foreach((json_t *)fields, k, v)
	{
		int known = 0;
		for (size_t i = 0; i < N_ADDR_FIELDS; i++)
			known |= !strcmp(k, addr_fields[i]);
		if (!known || !json_is_string(v)) {
			*why = "Unknown address field, or a field that is not text.";
			return SF_ERR_BAD_PARAM;
		}
	}
	json_t *o = json_object();
	for (size_t i = 0; i < N_ADDR_FIELDS; i++) {
		const char *s = json_string_value(json_object_get(fields, addr_fields[i]));
		enum sf_err err = check_text(s, maxes[i], required[i]);
		if (!err && i == 5 && !country_ok(s))
			err = SF_ERR_BAD_PARAM;
		if (!err && i == 6 && s && !phone_ok(s))
			err = SF_ERR_BAD_PARAM;
		if (err) {
			json_decref(o);
			if (err == SF_ERR_BAD_PARAM)
				*why = "Fill in name, street, city, postal code and a two-letter country code (e.g. DE); "
				       "keep every field short.";
			else if (err == SF_ERR_CARD_DATA && i == 6)
				*why = SF_LOG_PHONE_CARD_WHY;
			return at_field(err, addr_fields[i], field);
		}
		json_object_set_new(o, addr_fields[i], json_string(s ? s : ""));
	}
	*text = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(o);
	return *text ? SF_OK : SF_ERR_NOMEM;
}

enum sf_err sf_customer_address_save(struct sf_app *app, const struct sf_customer_req *r, int64_t customer_id,
				     int64_t address_id, const json_t *fields, int64_t *saved_id, const char **why,
				     const char **field)
{
	*why = NULL;
	*saved_id = 0;
	if (field)
		*field = NULL;
	if (address_id < 0)
		return SF_ERR_NOT_FOUND;
	char *text = NULL;
	enum sf_err err = addr_validate(fields, &text, why, field);
	if (err)
		return err;
	struct addr_ctx x = {.app = app, .r = r, .cid = customer_id, .aid = address_id, .json = text};
	enum sf_db_status st = sf_db_txn(app->db, addr_txn, &x, TRIES);
	free(text);
	if (x.err)
		return x.err;
	if (st == SF_DB_NO_ROWS)
		return SF_ERR_NOT_FOUND;
	err = sf_db_err(st);
	if (!err)
		*saved_id = x.saved;
	return err;
}

enum sf_err sf_customer_address_delete(struct sf_app *app, const struct sf_customer_req *r, int64_t customer_id,
				       int64_t address_id)
{
	if (address_id <= 0)
		return SF_ERR_NOT_FOUND;
	struct addr_ctx x = {.app = app, .r = r, .cid = customer_id, .aid = address_id, .del = 1};
	enum sf_db_status st = sf_db_txn(app->db, addr_txn, &x, TRIES);
	return st == SF_DB_NO_ROWS ? SF_ERR_NOT_FOUND : sf_db_err(st);
}

enum sf_err sf_customer_tokens_prune(struct sf_db *db, int64_t now, int limit, int64_t *n)
{
	return sf_db_prune(db, SF_STMT_CUST_TOKEN_OLD, SF_STMT_CUST_TOKEN_DROP, now, limit, n);
}
