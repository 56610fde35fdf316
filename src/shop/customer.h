/*
 * customer.h — customer accounts: registration, e-mail verification, login
 * with throttling, password reset, profile and address book.
 *
 * Personal fields (e-mail, name, phone, birth date, addresses) are stored
 * only sealed (bound to table, column and row id); the e-mail is found by
 * its blind index ("customer-email" over the trimmed, lower-cased address).
 * Tokens of verification and reset links are single-use, expire, and are
 * stored as hashes.  Every login, failure, lock, reset, verification and
 * profile or address change is an audit event in the transaction of the
 * change; each display of protected fields is a "customer.read" event.
 * Audit events and logs carry ids only, never personal data.
 *
 * No account enumeration: register and reset requests answer SF_OK whether
 * or not the address has an account (an existing owner is mailed instead);
 * login answers SF_ERR_LOGIN_FAILED alike for an unknown address, a wrong
 * password, a locked account and an address not yet confirmed, after one
 * argon2 verification in every case (against a dummy hash when there is no
 * account).  A distinct answer for an unconfirmed address would tell
 * someone who registers an address and logs in with his own password
 * whether it had an account already.
 *
 * Every text input is checked: valid UTF-8 without control characters, a
 * per-field length cap, and no card number (sf_log_has_card: a Luhn-valid
 * 13–19 digit run, its groups joined by spaces, dashes, dots or slashes;
 * SF_ERR_CARD_DATA).
 * Errors a user can fix come with *why, a static client-safe sentence.
 */
#ifndef SF_SHOP_CUSTOMER_H
#define SF_SHOP_CUSTOMER_H

#include <jansson.h>
#include <stdint.h>

#include "core/err.h"

struct sf_app;
struct sf_db;

/* Who asks, from where, when (for audit events and expiry). */
struct sf_customer_req {
	const char *ip;         /* may be NULL */
	const char *request_id; /* may be NULL */
	int64_t now;            /* seconds since the epoch */
	const char *link_base;  /* "https://shop.example" for links in mails */
};

#define SF_CUSTOMER_EMAIL_MAX 254
#define SF_CUSTOMER_NAME_MAX 100
#define SF_CUSTOMER_PHONE_MAX 32
#define SF_CUSTOMER_MAX_ADDRESSES 20

/* Register.  Returns SF_OK (new account: verification mail queued;
 * existing and confirmed: a notice mailed to its owner; existing and not
 * confirmed: a new verification link mailed, earlier ones dead, the
 * password unchanged — the caller answers "check your e-mail" in every
 * case), SF_ERR_BAD_PARAM (e-mail or name malformed), SF_ERR_WEAK_PASSWORD,
 * SF_ERR_CARD_DATA, or a storage error.  On a refusal of the input *field
 * (when field is not NULL) names the field at fault ("email", "name",
 * "password"; a static string) so that a form can mark it; NULL otherwise. */
enum sf_err sf_customer_register(struct sf_app *app, const struct sf_customer_req *r, const char *email,
				 const char *password, const char *name, const char **why,
				 const char **field) SF_WARN_UNUSED;

/* Confirm an e-mail address with the token of its link.  SF_OK,
 * SF_ERR_TOKEN_INVALID (unknown, used or expired), or a storage error. */
enum sf_err sf_customer_verify(struct sf_app *app, const struct sf_customer_req *r,
			       const char *token) SF_WARN_UNUSED;

/* Log in.  SF_OK with *customer_id; SF_ERR_LOGIN_FAILED (unknown address,
 * wrong password, locked, address not yet confirmed — indistinguishable;
 * with the right password for an unconfirmed address a new verification
 * link is mailed, earlier ones die); a storage error.  Every failure is an
 * audit event (customer.login, failure or denied, the reason in its detail
 * only).  The ([auth] max_failures)th wrong password in a row locks the
 * account for [auth] lock_minutes.  An outdated hash is upgraded on
 * success. */
/* What a customer is told when a login fails (any reason: the sentence is
 * the same for all). */
#define SF_CUSTOMER_LOGIN_FAILED_WHY                                                                      \
	"The e-mail address or password is not correct, or the account is locked. If your address is not " \
	"confirmed yet, we have sent you a new link: follow it, then log in."

enum sf_err sf_customer_login(struct sf_app *app, const struct sf_customer_req *r, const char *email,
			      const char *password, int64_t *customer_id) SF_WARN_UNUSED;

/* Ask for a reset link.  SF_OK always for a well-formed address (a link is
 * mailed only when an account exists); SF_ERR_BAD_PARAM, SF_ERR_CARD_DATA,
 * or a storage error. */
enum sf_err sf_customer_reset_request(struct sf_app *app, const struct sf_customer_req *r,
				      const char *email) SF_WARN_UNUSED;

/* Set a new password with a reset token: the token is used up, other reset
 * tokens die, the lock and failure count are cleared, every session of
 * the account is ended, and an address not yet confirmed is confirmed (the
 * link went to it; audited as customer.verify {"via":"reset"}).  SF_OK with *customer_id, SF_ERR_TOKEN_INVALID,
 * SF_ERR_WEAK_PASSWORD (*why), SF_ERR_CARD_DATA, or a storage error. */
enum sf_err sf_customer_reset_confirm(struct sf_app *app, const struct sf_customer_req *r, const char *token,
				      const char *password, int64_t *customer_id, const char **why) SF_WARN_UNUSED;

/* The account as the customer sees it (audited as customer.read):
 * {"id","email","name","phone","birth_date","verified","created_at"}, plus
 * "addresses":[{"id","name","line1","line2","city","postal_code","country",
 * "phone"}] when with_addresses.  *out is a new reference.  SF_OK,
 * SF_ERR_NOT_FOUND, or a storage/crypto error. */
enum sf_err sf_customer_get(struct sf_app *app, const struct sf_customer_req *r, int64_t customer_id,
			    int with_addresses, json_t **out) SF_WARN_UNUSED;

/* Update name, phone and birth date (each NULL: unchanged; "" clears).
 * birth_date is YYYY-MM-DD.  SF_OK, SF_ERR_BAD_PARAM (*why),
 * SF_ERR_CARD_DATA, SF_ERR_NOT_FOUND, or a storage error; on the first two
 * *field (when field is not NULL) names the field at fault ("name",
 * "phone", "birth_date"), NULL otherwise. */
enum sf_err sf_customer_update(struct sf_app *app, const struct sf_customer_req *r, int64_t customer_id,
			       const char *name, const char *phone, const char *birth_date, const char **why,
			       const char **field) SF_WARN_UNUSED;

/* One address of the customer (audited as customer.read).  SF_OK with a
 * new object, SF_ERR_NOT_FOUND (no such address of this customer). */
enum sf_err sf_customer_address_get(struct sf_app *app, const struct sf_customer_req *r, int64_t customer_id,
				    int64_t address_id, json_t **out) SF_WARN_UNUSED;

/* Create (address_id 0) or replace an address from fields (an object of
 * strings: name, line1, city, postal_code, country required; line2, phone
 * optional; other members refused).  SF_OK with *saved_id,
 * SF_ERR_BAD_PARAM (*why), SF_ERR_CARD_DATA, SF_ERR_NOT_FOUND (another
 * customer's or no such address), SF_ERR_LIMIT (address book full).  On
 * SF_ERR_BAD_PARAM or SF_ERR_CARD_DATA for one field's value, *field (when
 * field is not NULL) names it (a member name above); NULL otherwise. */
enum sf_err sf_customer_address_save(struct sf_app *app, const struct sf_customer_req *r, int64_t customer_id,
				     int64_t address_id, const json_t *fields, int64_t *saved_id, const char **why,
				     const char **field) SF_WARN_UNUSED;

/* Delete an address.  SF_OK or SF_ERR_NOT_FOUND. */
enum sf_err sf_customer_address_delete(struct sf_app *app, const struct sf_customer_req *r, int64_t customer_id,
				       int64_t address_id) SF_WARN_UNUSED;

/* Normalise an e-mail address (trim, lower-case ASCII) into out; 0 when
 * it is not an acceptable address (shape, length, UTF-8). */
int sf_customer_email_norm(const char *in, char *out, size_t n);

/* Housekeeping: delete at most limit verification and reset links that
 * have expired (used or not: both answer as unknown); *n = how many. */
enum sf_err sf_customer_tokens_prune(struct sf_db *db, int64_t now, int limit, int64_t *n) SF_WARN_UNUSED;

#endif
