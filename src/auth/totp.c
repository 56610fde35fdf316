/*
 * totp.c — TOTP through liboath, key URIs, QR codes and recovery codes
 * (totp.h).
 */
#include "auth/totp.h"

#include <liboath/oath.h>
#include <pthread.h>
#include <qrencode.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "core/util.h"

static const char b32[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

static pthread_once_t oath_once = PTHREAD_ONCE_INIT;
static int oath_ok;

static void oath_start(void)
{
	oath_ok = oath_init() == OATH_OK;
}

enum sf_err sf_totp_generate(const unsigned char *seed, size_t n, enum sf_totp_alg alg, int64_t t,
			     unsigned digits, char out[9])
{
	out[0] = '\0';
	if (!seed || n == 0 || n > 64 || digits < 6 || digits > 8 || t < 0)
		return SF_ERR_INVALID;
	pthread_once(&oath_once, oath_start);
	if (!oath_ok)
		return SF_ERR_CRYPTO;
	int flags = alg == SF_TOTP_SHA256 ? OATH_TOTP_HMAC_SHA256 : alg == SF_TOTP_SHA512 ? OATH_TOTP_HMAC_SHA512 : 0;
	int rc = oath_totp_generate2((const char *)seed, n, (time_t)t, SF_TOTP_STEP, 0, digits, flags, out);
	if (rc != OATH_OK) {
		sodium_memzero(out, 9);
		return SF_ERR_CRYPTO;
	}
	return SF_OK;
}

int64_t sf_totp_step(int64_t t)
{
	return t < 0 ? 0 : t / SF_TOTP_STEP;
}

enum sf_err sf_totp_verify(const unsigned char *seed, size_t n, const char *code, int64_t now, int64_t last_step,
			   int64_t *step)
{
	*step = 0;
	if (!code || strlen(code) != SF_TOTP_DIGITS || strspn(code, "0123456789") != SF_TOTP_DIGITS)
		return SF_ERR_LOGIN_FAILED;
	int64_t cur = sf_totp_step(now);
	int64_t found = 0;
	enum sf_err err = SF_OK;
	/* Every candidate is computed and compared, so the time taken does not
	 * tell which step matched. */
	for (int64_t s = cur - SF_TOTP_WINDOW; s <= cur + SF_TOTP_WINDOW; s++) {
		char want[9];
		if (s < 0)
			continue;
		err = sf_totp_generate(seed, n, SF_TOTP_SHA1, s * SF_TOTP_STEP, SF_TOTP_DIGITS, want);
		if (err)
			break;
		int eq = sodium_memcmp(want, code, SF_TOTP_DIGITS) == 0;
		sodium_memzero(want, sizeof want);
		if (eq && s > last_step && !found)
			found = s;
	}
	if (err)
		return err;
	if (!found)
		return SF_ERR_LOGIN_FAILED;
	*step = found;
	return SF_OK;
}

void sf_totp_new_seed(unsigned char seed[SF_TOTP_SEED_LEN])
{
	sf_rand_bytes(seed, SF_TOTP_SEED_LEN);
}

/* Unpadded base32 of in[0..n) into out (cap bytes with NUL); group inserts
 * sep every 4 characters.  Returns the length or -1 when it does not fit. */
static int base32(const unsigned char *in, size_t n, int lower, char sep, char *out, size_t cap)
{
	size_t o = 0, k = 0;
	uint32_t acc = 0;
	int bits = 0;
	for (size_t i = 0; i <= n; i++) {
		if (i < n) {
			acc = (acc << 8) | in[i];
			bits += 8;
		} else if (bits > 0) {
			acc <<= 5 - bits;
			bits = 5;
		}
		while (bits >= 5) {
			if (sep && k && k % 4 == 0) {
				if (o + 1 >= cap)
					return -1;
				out[o++] = sep;
			}
			char c = b32[(acc >> (bits - 5)) & 31];
			if (lower && c >= 'A' && c <= 'Z')
				c = (char)(c - 'A' + 'a');
			if (o + 1 >= cap)
				return -1;
			out[o++] = c;
			k++;
			bits -= 5;
		}
	}
	out[o] = '\0';
	return (int)o;
}

enum sf_err sf_totp_base32(const unsigned char *seed, size_t n, int grouped, char out[SF_TOTP_B32_MAX])
{
	return base32(seed, n, 0, grouped ? ' ' : 0, out, SF_TOTP_B32_MAX) < 0 ? SF_ERR_LIMIT : SF_OK;
}

/* Percent-encode s (unreserved characters stay) onto out at *o. */
static int pct(const char *s, char *out, size_t cap, size_t *o)
{
	static const char hex[] = "0123456789ABCDEF";
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		int keep = (*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
			   *p == '-' || *p == '.' || *p == '_' || *p == '~' || *p == '@';
		if (*o + (keep ? 1 : 3) >= cap)
			return -1;
		if (keep) {
			out[(*o)++] = (char)*p;
		} else {
			out[(*o)++] = '%';
			out[(*o)++] = hex[*p >> 4];
			out[(*o)++] = hex[*p & 15];
		}
	}
	return 0;
}

static int put(const char *s, char *out, size_t cap, size_t *o)
{
	size_t n = strlen(s);
	if (*o + n >= cap)
		return -1;
	memcpy(out + *o, s, n);
	*o += n;
	return 0;
}

enum sf_err sf_totp_uri(const char *issuer, const char *account, const unsigned char *seed, size_t n, char *out,
			size_t outlen)
{
	char key[SF_TOTP_B32_MAX];
	size_t o = 0;
	if (!outlen || sf_totp_base32(seed, n, 0, key) != SF_OK)
		return SF_ERR_LIMIT;
	int bad = put("otpauth://totp/", out, outlen, &o) || pct(issuer, out, outlen, &o) ||
		  put(":", out, outlen, &o) || pct(account, out, outlen, &o) || put("?secret=", out, outlen, &o) ||
		  put(key, out, outlen, &o) || put("&issuer=", out, outlen, &o) || pct(issuer, out, outlen, &o) ||
		  put("&algorithm=SHA1&digits=6&period=30", out, outlen, &o);
	sodium_memzero(key, sizeof key);
	if (bad) {
		sodium_memzero(out, outlen);
		return SF_ERR_LIMIT;
	}
	out[o] = '\0';
	return SF_OK;
}

enum sf_err sf_totp_qr_json(const char *text, json_t **out)
{
	*out = NULL;
	QRcode *qr = QRcode_encodeString(text, 0, QR_ECLEVEL_M, QR_MODE_8, 1);
	if (!qr)
		return SF_ERR_TOO_LARGE;
	const int quiet = 4;
	json_t *obj = json_object(), *runs = json_array();
	enum sf_err err = SF_OK;
	if (!obj || !runs || json_object_set_new(obj, "size", json_integer(qr->width + 2 * quiet)) ||
	    json_object_set(obj, "runs", runs))
		err = SF_ERR_NOMEM;
	for (int y = 0; !err && y < qr->width; y++) {
		int x = 0;
		while (!err && x < qr->width) {
			if (!(qr->data[y * qr->width + x] & 1)) {
				x++;
				continue;
			}
			int start = x;
			while (x < qr->width && (qr->data[y * qr->width + x] & 1))
				x++;
			if (json_array_append_new(runs, json_pack("{s:i, s:i, s:i}", "x", start + quiet, "y",
								  y + quiet, "w", x - start)) != 0)
				err = SF_ERR_NOMEM;
		}
	}
	/* The module data spells the seed: wipe it before freeing. */
	sodium_memzero(qr->data, (size_t)qr->width * (size_t)qr->width);
	QRcode_free(qr);
	json_decref(runs);
	if (err) {
		json_decref(obj);
		return err;
	}
	*out = obj;
	return SF_OK;
}

void sf_recovery_code_new(char out[SF_RECOVERY_CODE_LEN + 1])
{
	unsigned char raw[10];
	sf_rand_bytes(raw, sizeof raw);
	(void)base32(raw, sizeof raw, 1, '-', out, SF_RECOVERY_CODE_LEN + 1);
	sodium_memzero(raw, sizeof raw);
}

int sf_recovery_code_norm(const char *in, char out[SF_RECOVERY_CODE_LEN + 1])
{
	char flat[17];
	size_t k = 0;
	out[0] = '\0';
	if (!in || strlen(in) > 64)
		return 0;
	for (const char *p = in; *p; p++) {
		char c = *p;
		if (c == '-' || c == ' ')
			continue;
		if (c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		if (!((c >= 'a' && c <= 'z') || (c >= '2' && c <= '7')) || k == 16)
			return 0;
		flat[k++] = c;
	}
	if (k != 16)
		return 0;
	size_t o = 0;
	for (size_t i = 0; i < 16; i++) {
		if (i && i % 4 == 0)
			out[o++] = '-';
		out[o++] = flat[i];
	}
	out[o] = '\0';
	sodium_memzero(flat, sizeof flat);
	return 1;
}
