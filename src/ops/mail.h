/*
 * mail.h — the e-mail outbox and its sender.
 *
 * Mails are queued with sf_mail_enqueue inside the transaction of the action
 * that causes them (registration, reset, order), so a mail exists exactly
 * when its action committed.  Recipient, subject and body are sealed in the
 * outbox (a body may carry a single-use link); the body is cleared once
 * sent.  A background sender (sf_mailer_start) delivers due mails:
 *   - [mail] smtp_url set: over SMTP with STARTTLS required (libcurl;
 *     smtps:// for implicit TLS), optional login ([mail] username and the
 *     password read from [mail] password_file);
 *   - smtp_url empty (development): as .eml files (0600) in [mail] dir
 *     (data_dir/mail/), named <outbox id>.eml.
 * A failed delivery is retried with exponential back-off (30 s doubling,
 * at most 1 h apart); after SF_MAIL_MAX_ATTEMPTS it is marked failed.  Each
 * failure sets last_error on the row and writes a "mail.retry" /
 * "mail.failed" log line naming the outbox id (never the address).
 */
#ifndef SF_OPS_MAIL_H
#define SF_OPS_MAIL_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

struct sf_config;
struct sf_db;
struct sf_db_conn;
struct sf_keyring;

#define SF_MAIL_MAX_ATTEMPTS 8
#define SF_MAIL_SUBJECT_MAX 200
#define SF_MAIL_BODY_MAX (256u * 1024u)
#define SF_MAIL_ADDR_MAX 254

/* Set the keyring the outbox seals with (the process's; call at start-up
 * before anything is queued).  kr must outlive every later call. */
void sf_mail_set_keyring(const struct sf_keyring *kr);

/* Queue a plain-text mail inside the caller's transaction on c.  to is one
 * address (no display name), subject one line, text_body UTF-8 (LF line
 * ends).  Returns SF_OK; SF_ERR_INVALID (address malformed, CR/LF or
 * control characters in to or subject, invalid UTF-8, too long);
 * SF_ERR_KEY (no keyring set); SF_ERR_DB_CONFLICT / SF_ERR_DB (map with
 * sf_db_status_from_err inside sf_db_txn); SF_ERR_NOMEM. */
enum sf_err sf_mail_enqueue(struct sf_db_conn *c, const char *to, const char *subject,
			    const char *text_body) SF_WARN_UNUSED;

struct sf_mailer;

/* Start the sender thread for cfg's [mail] settings.  db and kr must
 * outlive the mailer.  Returns SF_OK with *out, SF_ERR_CONFIG (password
 * file unreadable, bad from address) with a reason in errbuf, or
 * SF_ERR_NOMEM. */
enum sf_err sf_mailer_start(struct sf_db *db, const struct sf_keyring *kr, const struct sf_config *cfg,
			    struct sf_mailer **out, char *errbuf, size_t errlen) SF_WARN_UNUSED;
/* Make the mailer without its thread (tests drive sf_mailer_run_once). */
enum sf_err sf_mailer_new(struct sf_db *db, const struct sf_keyring *kr, const struct sf_config *cfg,
			  struct sf_mailer **out, char *errbuf, size_t errlen) SF_WARN_UNUSED;
/* Deliver the mails due at now (at most 32).  Returns how many were sent;
 * failures are recorded on their rows. */
int sf_mailer_run_once(struct sf_mailer *m, int64_t now);
/* Wake the sender now (after a commit that queued mail).  NULL accepted. */
void sf_mailer_kick(struct sf_mailer *m);
/* Stop the thread (finishing the delivery in progress) and free.  NULL
 * accepted. */
void sf_mailer_stop(struct sf_mailer *m);

/* The back-off before attempt n+1 after n failed attempts (seconds). */
int64_t sf_mail_backoff(int attempts);

/* Housekeeping: delete at most limit mails sent or failed that were queued
 * more than keep_days days before now (their sealed recipient and subject
 * go with them; pending mails stay); *n = how many. */
enum sf_err sf_mail_prune(struct sf_db *db, int64_t now, int keep_days, int limit, int64_t *n) SF_WARN_UNUSED;

#endif
