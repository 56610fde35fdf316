/*
 * log.h — structured JSON-line logging through one redacting writer.
 *
 * There are two streams: the access log (one line per HTTP request) and the
 * application log.  Both go through sf_log_emit(), which removes sensitive
 * values before anything reaches a file:
 *   - object members whose key names a secret (authorization, cookie,
 *     set-cookie, password, passwd, token, secret, key, otp, code, card,
 *     pan, cvc, cvv, session, csrf, and any key containing these words)
 *     are replaced by "[redacted]";
 *   - in every string value, runs of 13–19 digits (spaces or dashes allowed
 *     between them) that pass the Luhn check are replaced by "[card]"
 *     (digits inside a hex identifier of 24+ hex digits with a letter, such
 *     as a UUID or a hash, are left alone);
 *   - query strings are redacted parameter by parameter with the same key
 *     rule (sf_log_redact_query).
 * Sealed fields' plaintext is never handed to the logger: callers log ids.
 * Lines are written with one write(2) each (O_APPEND), so threads do not
 * interleave.
 */
#ifndef SF_CORE_LOG_H
#define SF_CORE_LOG_H

#include <jansson.h>
#include <stddef.h>

#include "core/err.h"

enum sf_log_level { SF_LOG_DEBUG, SF_LOG_INFO, SF_LOG_WARN, SF_LOG_ERROR };
enum sf_log_stream { SF_LOG_APP, SF_LOG_ACCESS };

/* Open the log files in dir (app.log and access.log); dir NULL logs the
 * application stream to stderr and drops the access log.  Safe to call again
 * (reopen after rotation). */
enum sf_err sf_log_open(const char *dir, enum sf_log_level min_level) SF_WARN_UNUSED;
void sf_log_close(void);

/* Buffer access lines per thread and write them at least every flush_ms
 * (and when 32 KiB are waiting, at a reopen and at close); 0, the initial
 * state, writes each line as it comes.  SF_ERR_INVALID above
 * SF_LOG_ACCESS_FLUSH_MAX_MS. */
#define SF_LOG_ACCESS_FLUSH_MAX_MS 10000u
enum sf_err sf_log_access_buffer(unsigned flush_ms) SF_WARN_UNUSED;
/* Write every buffered access line now. */
void sf_log_flush(void);

/* Write obj (a JSON object; reference stolen) as one redacted line, adding
 * "ts" and "level" (and "stream" to the app stream). */
void sf_log_emit(enum sf_log_stream stream, enum sf_log_level level, json_t *obj);

/* One access log line, written without building a JSON object (the
 * per-request path): the same redaction as sf_log_emit — card runs scrubbed
 * from every string, a value that is not UTF-8 written as "[invalid]" — for
 * a fixed set of fields whose names are not secret.  query must already be
 * redacted (sf_log_redact_query).  NULL strings: method and path "-",
 * query and user_agent left out.  Nothing is done when the access log is
 * off (no directory, or a level above info). */
struct sf_log_access_line {
	const char *request_id, *ip, *method, *path, *query, *user_agent;
	unsigned status;
	size_t bytes;
	double duration_ms;
	int tls;
};
void sf_log_access(const struct sf_log_access_line *a);
/* Is the access log on?  Lets a caller skip assembling a line nobody writes. */
int sf_log_access_on(void);

/* printf-style application log line with an event name:
 * {"ts":…,"level":…,"event":event,"msg":…}.  The message is scrubbed too. */
void sf_log(enum sf_log_level level, const char *event, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* In place: replace each Luhn-valid 13–19 digit run in s by "[card]" (the
 * result is never longer).  Returns the number of replacements. */
size_t sf_log_scrub_cards(char *s);
/* Does s contain a Luhn-valid 13–19 digit run?  Its groups may be joined by
 * spaces, dashes, dots, slashes and the like (log.c, next_card); digits
 * inside a hex identifier (UUID, 24+ hex digits) do not count. */
int sf_log_has_card(const char *s, size_t n);
/* What a form says when a phone number is refused as a card number: about
 * one 13-15 digit number in ten passes Luhn (a Chinese mobile number with
 * +86 has 13 digits).  A bracket ends a run, so the number written with
 * its country code in brackets is accepted. */
#define SF_LOG_PHONE_CARD_WHY                                                                                \
	"Card numbers are never accepted. If this is a phone number, write its country code in brackets: "   \
	"(+86) 138 1234 5678."
/* Is this key name one whose value must never be logged? */
int sf_log_key_is_secret(const char *key);
/* Redact a raw query string (a=1&token=x -> a=1&token=[redacted]) into a
 * malloc'd string (caller frees); NULL on allocation failure. */
char *sf_log_redact_query(const char *query);
/* Redact obj in place (recursively), as sf_log_emit does. */
void sf_log_redact_json(json_t *obj);

#endif
