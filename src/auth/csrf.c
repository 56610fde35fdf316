/*
 * csrf.c — CSRF tokens and the request-origin check (csrf.h).
 */
#include "auth/csrf.h"

#include <sodium.h>
#include <string.h>
#include <strings.h>

#include "core/util.h"

#include "crypto/keyring.h"

static const char *domain_of(enum sf_csrf_binding kind)
{
	return kind == SF_CSRF_BIND_SESSION ? "sf-csrf-v1:session" : "sf-csrf-v1:presession";
}

enum sf_err sf_csrf_make(const struct sf_keyring *kr, enum sf_csrf_binding kind, const void *binding, size_t n,
			 char out[SF_CSRF_TOKEN_LEN + 1])
{
	unsigned char mac[SF_BLIND_INDEX_LEN];
	out[0] = '\0';
	if (!kr)
		return SF_ERR_KEY;
	enum sf_err err = sf_blind_index(kr, domain_of(kind), binding, n, mac);
	if (err)
		return err;
	sf_token_text(mac, sizeof mac, out);
	sodium_memzero(mac, sizeof mac);
	return SF_OK;
}

int sf_csrf_matches(const struct sf_keyring *kr, enum sf_csrf_binding kind, const void *binding, size_t n,
		    const char *presented)
{
	char want[SF_CSRF_TOKEN_LEN + 1];
	if (!presented || strlen(presented) != SF_CSRF_TOKEN_LEN)
		return 0;
	if (sf_csrf_make(kr, kind, binding, n, want) != SF_OK)
		return 0;
	int ok = sf_ct_compare(want, presented, SF_CSRF_TOKEN_LEN) == 0;
	sodium_memzero(want, sizeof want);
	return ok;
}

enum sf_err sf_csrf_origin_check(const char *sec_fetch_site, const char *origin, const char *host, int https)
{
	if (sec_fetch_site && (!strcasecmp(sec_fetch_site, "cross-site") || !strcasecmp(sec_fetch_site, "same-site")))
		return SF_ERR_CSRF;
	if (!origin)
		return SF_OK;
	const char *scheme = https ? "https://" : "http://";
	size_t sl = strlen(scheme);
	if (!host || !*host || strncasecmp(origin, scheme, sl) != 0)
		return SF_ERR_CSRF; /* includes "null" and the other scheme */
	const char *auth = origin + sl;
	size_t alen = strlen(auth);
	if (alen && auth[alen - 1] == '/')
		alen--;
	/* The Host header may carry the default port or not: compare as given,
	 * and also with ":443"/":80" dropped on either side. */
	size_t hlen = strlen(host);
	if (alen == hlen && strncasecmp(auth, host, hlen) == 0)
		return SF_OK;
	const char *dport = https ? ":443" : ":80";
	size_t dl = strlen(dport);
	if (hlen > dl && !strcasecmp(host + hlen - dl, dport) && alen == hlen - dl && !strncasecmp(auth, host, alen))
		return SF_OK;
	if (alen > dl && !strncasecmp(auth + alen - dl, dport, dl) && alen - dl == hlen &&
	    !strncasecmp(auth, host, hlen))
		return SF_OK;
	return SF_ERR_CSRF;
}
