/*
 * csrf.h — CSRF tokens and the Origin / Sec-Fetch-Site check.
 *
 * A token is a keyed BLAKE2b MAC (the keyring's index key, with a CSRF
 * domain so it never collides with a blind index) over what it is bound to:
 * the session token's hash for a signed-in visitor, or the anonymous
 * pre-session cookie's value otherwise.  So a token is useless without the
 * victim's own cookie, which a cross-site attacker cannot read, and needs
 * no storage.  Tokens are unpadded base64url (43 characters) and compared
 * in constant time.
 *
 * The request origin check (for unsafe methods): Sec-Fetch-Site
 * "cross-site" or "same-site" is refused; an Origin header must name this
 * very origin (scheme, host and port of the Host header) and "null" is
 * refused.  Requests without these headers (non-browser clients) rely on
 * the token alone.
 */
#ifndef SF_AUTH_CSRF_H
#define SF_AUTH_CSRF_H

#include <stddef.h>

#include "core/err.h"

struct sf_keyring;

#define SF_CSRF_TOKEN_LEN 64 /* sf_token_text letters (see SF_SESSION_COOKIE_LEN) */

/* What a token is bound to. */
enum sf_csrf_binding { SF_CSRF_BIND_SESSION = 1, SF_CSRF_BIND_PRESESSION = 2 };

/* Make the token for (kind, binding[0..n)) into out (NUL-terminated).
 * Returns SF_OK or SF_ERR_KEY (no index key loaded). */
enum sf_err sf_csrf_make(const struct sf_keyring *kr, enum sf_csrf_binding kind, const void *binding, size_t n,
			 char out[SF_CSRF_TOKEN_LEN + 1]) SF_WARN_UNUSED;

/* Does presented equal the token for (kind, binding)?  Constant time in
 * the token; 1 yes, 0 no (also for NULL or a wrong length). */
int sf_csrf_matches(const struct sf_keyring *kr, enum sf_csrf_binding kind, const void *binding, size_t n,
		    const char *presented);

/* The request-origin half of the check.  Every pointer may be NULL (header
 * absent).  https: the request arrived over TLS (or through a trusted TLS
 * proxy).  Returns SF_OK or SF_ERR_CSRF. */
enum sf_err sf_csrf_origin_check(const char *sec_fetch_site, const char *origin, const char *host, int https);

#endif
