/*
 * util.h — small string, number, time and file helpers shared by all layers.
 */
#ifndef SF_CORE_UTIL_H
#define SF_CORE_UTIL_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

#define SF_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* Strict decimal parse of the whole string into [min, max]: digits only, an
 * optional leading '-' when min < 0, no spaces, no '+', no leading zeros
 * beyond "0".  Returns SF_OK or SF_ERR_INVALID. */
enum sf_err sf_parse_i64(const char *s, int64_t min, int64_t max, int64_t *out) SF_WARN_UNUSED;

/* Is s[0..n) well-formed UTF-8 (no overlongs, no surrogates, <= U+10FFFF)?
 * With no_ctl, C0 controls other than tab, LF and CR, DEL and the C1
 * controls (U+0080..U+009F) are refused too;
 * with no_ctl SF_UTF8_LINE, tab, LF and CR as well (a one-line text). */
#define SF_UTF8_LINE 2
int sf_utf8_valid(const char *s, size_t n, int no_ctl);

/* The number of characters (code points) of the NUL-terminated UTF-8 text
 * s: its bytes that do not continue a sequence.  Limits a form states in
 * characters (maxlength) are checked with this, after sf_utf8_valid. */
size_t sf_utf8_chars(const char *s);
/* Is the NUL-terminated s one line (sf_utf8_valid with SF_UTF8_LINE) of at
 * most max characters, and so of at most 4 x max bytes?  The check of the
 * shoppers' short form fields. */
int sf_utf8_line_fits(const char *s, size_t max);

/* After snprintf cut s to fit its buffer: drop a trailing incomplete UTF-8
 * sequence, so that a well-formed text stays well-formed.  Returns the new
 * length.  A text that ends well-formed is left as it is. */
size_t sf_utf8_clip(char *s);

/* Current UTC time as "2026-11-21T07:05:18.123Z" (out at least 25 bytes). */
void sf_time_iso(char *out, size_t n);
/* Monotonic milliseconds. */
int64_t sf_time_mono_ms(void);
/* *ts = now (CLOCK_REALTIME) + ms: the absolute deadline that
 * pthread_cond_timedwait takes. */
struct timespec;
void sf_time_deadline(struct timespec *ts, long ms);
/* The same on CLOCK_MONOTONIC, for a condition variable set to that clock. */
void sf_time_deadline_mono(struct timespec *ts, long ms);

/* Copy src into dst of size n, always NUL-terminated; returns 0 when it fit,
 * -1 when truncated. */
int sf_strlcpy(char *dst, const char *src, size_t n);

/* Read a whole file (at most max bytes) into a malloc'd NUL-terminated
 * buffer.  SF_ERR_IO (errno kept), SF_ERR_TOO_LARGE, SF_ERR_NOMEM. */
enum sf_err sf_file_read(const char *path, size_t max, char **out, size_t *len) SF_WARN_UNUSED;
/* Write data to path atomically (temp file + fsync + rename) with mode. */
enum sf_err sf_file_write_atomic(const char *path, const void *data, size_t len, unsigned mode) SF_WARN_UNUSED;
/* mkdir -p with mode for every created component. */
enum sf_err sf_mkdirs(const char *path, unsigned mode) SF_WARN_UNUSED;

/* Hex-encode n bytes into out (2n+1 bytes). */
void sf_hex(const void *p, size_t n, char *out);

/* Token text: each byte as two letters of SF_TOKEN_ALPHABET, one per nibble
 * (out: 2n+1 bytes).  Tokens (sessions, CSRF, links, API) travel in forms,
 * cookies, URLs and logs: with no digit a token can never hold a run that
 * looks like a card number (input checks refuse those, logs scrub them; hex
 * did in about one token in thirty), and with no punctuation or vowel the
 * WAF never reads SQL or shell syntax in one. */
#define SF_TOKEN_ALPHABET "bcdfghjklmnpqrst"
void sf_token_text(const void *p, size_t n, char *out);

/* Lower the calling thread's CPU priority to nice_value (Linux nice is per
 * thread); never raises it, 0 or less does nothing.  Background threads
 * (mail, webhooks, the reservation reaper, checkpoints) run at
 * SF_BACKGROUND_NICE so that answering requests goes first. */
#define SF_BACKGROUND_NICE 10
void sf_thread_nice(int nice_value);

/* Random bytes / an unpredictable lowercase base32 token of len chars. */
void sf_rand_bytes(void *p, size_t n);
void sf_rand_base32(char *out, size_t len);
/* A token of len (> SF_RAND_TIME_CHARS) chars from the same characters that
 * sorts by the time it was made: the first SF_RAND_TIME_CHARS encode the
 * milliseconds since 1970 (ASCII order = time order), the rest is
 * sf_rand_base32.  For references storefort makes and keeps under a unique
 * index: each new one lands on the index's last page, which the inserts of
 * a batch share, instead of on a random page each. */
#define SF_RAND_TIME_CHARS 10
void sf_rand_base32_timed(char *out, size_t len);

#endif
