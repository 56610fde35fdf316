/*
 * totp.h — time-based one-time passwords (RFC 6238) through liboath, the
 * otpauth:// key URI and its QR code (libqrencode) for enrollment, and
 * single-use recovery codes.
 *
 * Staff seeds are 20 random bytes (160 bits, HMAC-SHA-1, 6 digits, 30 s
 * steps: what every authenticator app reads from a QR code).  A code is
 * accepted for the current step and one step either side; the step that
 * matched is returned so the caller can store it and refuse every step up
 * to it afterwards (a code works once).  Comparisons are constant-time and
 * every generated code is wiped.
 *
 * The QR code is handed to templates as data, never as markup: a list of
 * dark runs (x, y, width) in module units that a template draws as SVG
 * <rect> elements (no inline style), so the page stays CSP-clean and the
 * escaping template engine stays the only producer of HTML.
 */
#ifndef SF_AUTH_TOTP_H
#define SF_AUTH_TOTP_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

#define SF_TOTP_SEED_LEN 20
#define SF_TOTP_STEP 30
#define SF_TOTP_DIGITS 6
#define SF_TOTP_WINDOW 1             /* steps accepted either side of now */
#define SF_TOTP_B32_MAX 112          /* base32 text of a seed up to 64 bytes + NUL */
#define SF_RECOVERY_CODES 10
#define SF_RECOVERY_CODE_LEN 19      /* "xxxx-xxxx-xxxx-xxxx" */

enum sf_totp_alg { SF_TOTP_SHA1, SF_TOTP_SHA256, SF_TOTP_SHA512 };

/* The code of seed[0..n) at instant t (seconds) with alg, digits (6..8) and
 * the 30 s step counted from 0, into out (NUL-terminated).  Returns SF_OK,
 * SF_ERR_INVALID (bad digits, seed) or SF_ERR_CRYPTO (liboath failed). */
enum sf_err sf_totp_generate(const unsigned char *seed, size_t n, enum sf_totp_alg alg, int64_t t,
			     unsigned digits, char out[9]) SF_WARN_UNUSED;

/* The time step of instant t. */
int64_t sf_totp_step(int64_t t);

/* Check a 6-digit SHA-1 code against seed at instant now, accepting the
 * steps now-1..now+1 that are greater than last_step.  Returns SF_OK with
 * *step set to the step that matched, SF_ERR_LOGIN_FAILED (wrong, malformed
 * or already used), or SF_ERR_CRYPTO. */
enum sf_err sf_totp_verify(const unsigned char *seed, size_t n, const char *code, int64_t now, int64_t last_step,
			   int64_t *step) SF_WARN_UNUSED;

/* A fresh random seed. */
void sf_totp_new_seed(unsigned char seed[SF_TOTP_SEED_LEN]);

/* seed as unpadded RFC 4648 base32 (what users type into an app), grouped
 * in fours when grouped is set.  Returns SF_OK, SF_ERR_LIMIT or SF_ERR_NOMEM. */
enum sf_err sf_totp_base32(const unsigned char *seed, size_t n, int grouped, char out[SF_TOTP_B32_MAX]) SF_WARN_UNUSED;

/* The key URI "otpauth://totp/ISSUER:ACCOUNT?secret=...&issuer=ISSUER&
 * algorithm=SHA1&digits=6&period=30" into out (issuer and account
 * percent-encoded).  Returns SF_OK or SF_ERR_LIMIT. */
enum sf_err sf_totp_uri(const char *issuer, const char *account, const unsigned char *seed, size_t n, char *out,
			size_t outlen) SF_WARN_UNUSED;

/* The QR code of text as template data: {"size": modules + 8 (quiet zone
 * included), "runs": [{"x","y","w"}...]} with x, y already offset by the
 * quiet zone.  *out is a new reference.  Returns SF_OK, SF_ERR_TOO_LARGE
 * (text does not fit a QR code) or SF_ERR_NOMEM. */
enum sf_err sf_totp_qr_json(const char *text, json_t **out) SF_WARN_UNUSED;

/* A fresh recovery code "xxxx-xxxx-xxxx-xxxx" (80 random bits, base32
 * lower-case) into out. */
void sf_recovery_code_new(char out[SF_RECOVERY_CODE_LEN + 1]);
/* Normalise a typed recovery code (case, spaces and dashes ignored) into
 * out as the canonical form.  Returns 1 when it has the shape of one. */
int sf_recovery_code_norm(const char *in, char out[SF_RECOVERY_CODE_LEN + 1]);

#endif
