/*
 * password.c — argon2id hashing and the password policy (password.h).
 *
 * libpwquality is configured in code (its config file is not read, so a
 * host's /etc/security/pwquality.conf cannot weaken the policy) and called
 * under a mutex: cracklib keeps global state.
 */
#include "auth/password.h"

#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <pwquality.h>
#include <semaphore.h>
#include <sodium.h>
#include <stdatomic.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "core/util.h"

#define PW_BYTES_MAX 4096

static atomic_uint_fast64_t verify_count;

/* At most one argon2 computation per core at a time: each takes its
 * memory cost (19 MiB and up) for tens of milliseconds, and the request
 * pool has many threads (most of them wait for the group commit or the
 * network), so a burst of logins could otherwise take pool-size times that
 * memory and every core.  The others wait their turn. */
static pthread_once_t gate_once = PTHREAD_ONCE_INIT;
static sem_t gate;

static void gate_init(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	(void)sem_init(&gate, 0, n > 0 ? (unsigned)n : 1u);
}

static void gate_enter(void)
{
	pthread_once(&gate_once, gate_init);
	while (sem_wait(&gate) != 0 && errno == EINTR)
		;
}

static void gate_leave(void)
{
	sem_post(&gate);
}

void sf_password_params_default(struct sf_pw_params *p)
{
	p->ops = SF_PW_MIN_OPS;
	p->memory_kib = SF_PW_MIN_MEMORY_KIB;
}

static void clamp(const struct sf_pw_params *in, unsigned long long *ops, size_t *mem)
{
	struct sf_pw_params d;
	sf_password_params_default(&d);
	if (!in)
		in = &d;
	*ops = in->ops < SF_PW_MIN_OPS ? SF_PW_MIN_OPS : in->ops;
	size_t kib = in->memory_kib < SF_PW_MIN_MEMORY_KIB ? SF_PW_MIN_MEMORY_KIB : in->memory_kib;
	*mem = kib * 1024u;
}

enum sf_err sf_password_hash(const struct sf_pw_params *p, const char *pw, char out[SF_PW_HASH_MAX])
{
	if (!pw)
		return SF_ERR_INVALID;
	size_t n = strnlen(pw, PW_BYTES_MAX + 1);
	if (n > PW_BYTES_MAX)
		return SF_ERR_INVALID;
	unsigned long long ops;
	size_t mem;
	clamp(p, &ops, &mem);
	gate_enter();
	int rc = crypto_pwhash_str_alg(out, pw, n, ops, mem, crypto_pwhash_ALG_ARGON2ID13);
	gate_leave();
	return rc == 0 ? SF_OK : SF_ERR_NOMEM;
}

int sf_password_verify(const char *hash, const char *pw)
{
	if (!hash || !pw)
		return 0;
	size_t n = strnlen(pw, PW_BYTES_MAX + 1);
	if (n > PW_BYTES_MAX)
		return 0;
	atomic_fetch_add(&verify_count, 1);
	gate_enter();
	int ok = crypto_pwhash_str_verify(hash, pw, n) == 0;
	gate_leave();
	return ok;
}

/* One dummy hash per process, made with the parameters of the first call
 * (every caller of one kind passes the same parameters). */
static pthread_once_t dummy_once = PTHREAD_ONCE_INIT;
static char dummy_hash[SF_PW_HASH_MAX];
static struct sf_pw_params dummy_params;

static void dummy_make(void)
{
	unsigned char r[24];
	char pw[64];
	sf_rand_bytes(r, sizeof r);
	sf_hex(r, sizeof r, pw);
	if (sf_password_hash(&dummy_params, pw, dummy_hash) != SF_OK)
		dummy_hash[0] = '\0';
	sodium_memzero(pw, sizeof pw);
}

void sf_password_verify_dummy(const struct sf_pw_params *p, const char *pw)
{
	if (p)
		dummy_params = *p;
	else
		sf_password_params_default(&dummy_params);
	pthread_once(&dummy_once, dummy_make);
	int ok = sf_password_verify(dummy_hash[0] ? dummy_hash : "$argon2id$invalid", pw ? pw : "");
	(void)ok; /* a random password never matches; the work is the point */
}

int sf_password_needs_rehash(const struct sf_pw_params *p, const char *hash)
{
	unsigned long long ops;
	size_t mem;
	clamp(p, &ops, &mem);
	return crypto_pwhash_str_needs_rehash(hash, ops, mem) != 0;
}

uint64_t sf_password_verify_count(void)
{
	return atomic_load(&verify_count);
}

/* ==== Policy ==== */

/* Does hay contain needle, ignoring ASCII case? */
static int contains_ci(const char *hay, const char *needle, size_t nlen)
{
	size_t hlen = strlen(hay);
	for (size_t i = 0; nlen && i + nlen <= hlen; i++)
		if (strncasecmp(hay + i, needle, nlen) == 0)
			return 1;
	return 0;
}

/* Is any word (run of letters/digits of 4+ bytes) of hint inside pw? */
static int shares_hint(const char *pw, const char *hint)
{
	const char *p = hint;
	while (*p) {
		while (*p && !isalnum((unsigned char)*p) && !((unsigned char)*p & 0x80))
			p++;
		const char *w = p;
		while (*p && (isalnum((unsigned char)*p) || ((unsigned char)*p & 0x80)))
			p++;
		if (p - w >= 4 && contains_ci(pw, w, (size_t)(p - w)))
			return 1;
	}
	return 0;
}

static pthread_mutex_t pwq_lock = PTHREAD_MUTEX_INITIALIZER;

/* The password without leading and trailing digits and punctuation,
 * lower-cased (ASCII): "Password1234!" -> "password".  cracklib judges a
 * long password by its whole length, so a dictionary word padded with
 * digits passes it; the core is checked as well. */
static void password_core(const char *pw, char *out, size_t n)
{
	const char *b = pw, *e = pw + strlen(pw);
	while (b < e && (isdigit((unsigned char)*b) || ispunct((unsigned char)*b) || *b == ' '))
		b++;
	while (e > b && (isdigit((unsigned char)e[-1]) || ispunct((unsigned char)e[-1]) || e[-1] == ' '))
		e--;
	size_t len = (size_t)(e - b) < n - 1 ? (size_t)(e - b) : n - 1;
	for (size_t i = 0; i < len; i++)
		out[i] = (char)tolower((unsigned char)b[i]);
	out[len] = '\0';
}

/* Is s a shorter unit repeated ("monkeymonkey", "abcabcabc")? */
static int repeated(const char *s)
{
	size_t n = strlen(s);
	for (size_t p = 1; p <= n / 2; p++) {
		if (n % p)
			continue;
		size_t i = p;
		while (i < n && s[i] == s[i - p])
			i++;
		if (i == n)
			return 1;
	}
	return 0;
}

static const char *pwq_reason(int rc)
{
	switch (rc) {
	case PWQ_ERROR_CRACKLIB_CHECK:
		return "The password is too close to a dictionary word; choose something less common.";
	case PWQ_ERROR_USER_CHECK:
		return "The password must not contain your e-mail address or name.";
	case PWQ_ERROR_PALINDROME:
	case PWQ_ERROR_MAX_CONSECUTIVE:
	case PWQ_ERROR_MAX_SEQUENCE:
	case PWQ_ERROR_MAX_CLASS_REPEAT:
	case PWQ_ERROR_MIN_CLASSES:
	case PWQ_ERROR_TOO_SIMILAR:
		return "The password is too simple; mix in more varied characters or words.";
	default:
		return "The password is not acceptable; choose another one.";
	}
}

/* One pwquality check; returns its (negative) error or >= 0. */
static int pwq_check(pwquality_settings_t *s, const char *pw, const char *user)
{
	void *aux = NULL;
	int rc = pwquality_check(s, pw, NULL, user, &aux);
	if (rc < 0) {
		char buf[PWQ_MAX_ERROR_MESSAGE_LEN];
		pwquality_strerror(buf, sizeof buf, rc, aux); /* frees aux */
	}
	return rc;
}

enum sf_err sf_password_policy(const char *pw, const char *const *hints, const char **why)
{
	*why = NULL;
	if (!pw || strnlen(pw, PW_BYTES_MAX + 1) > PW_BYTES_MAX || !sf_utf8_valid(pw, strlen(pw), 1) ||
	    strpbrk(pw, "\t\r\n")) {
		*why = "The password must be text without control characters.";
		return SF_ERR_WEAK_PASSWORD;
	}
	size_t chars = sf_utf8_chars(pw);
	if (chars < SF_PW_MIN_CHARS) {
		*why = "The password must have at least 12 characters.";
		return SF_ERR_WEAK_PASSWORD;
	}
	if (chars > SF_PW_MAX_CHARS) {
		*why = "The password must have at most 128 characters.";
		return SF_ERR_WEAK_PASSWORD;
	}
	const char *user = NULL;
	for (size_t i = 0; hints && hints[i]; i++) {
		if (!hints[i][0])
			continue;
		if (!user)
			user = hints[i];
		if (shares_hint(pw, hints[i]) || contains_ci(hints[i], pw, strlen(pw))) {
			*why = "The password must not contain your e-mail address or name.";
			return SF_ERR_WEAK_PASSWORD;
		}
	}
	enum sf_err err = SF_OK;
	pthread_mutex_lock(&pwq_lock);
	pwquality_settings_t *s = pwquality_default_settings();
	if (!s) {
		pthread_mutex_unlock(&pwq_lock);
		return SF_ERR_NOMEM;
	}
	/* Length is ours (counted in characters); pwquality judges content. */
	pwquality_set_int_value(s, PWQ_SETTING_MIN_LENGTH, 6);
	pwquality_set_int_value(s, PWQ_SETTING_DICT_CHECK, 1);
	pwquality_set_int_value(s, PWQ_SETTING_USER_CHECK, 1);
	pwquality_set_int_value(s, PWQ_SETTING_USER_SUBSTR, 4);
	pwquality_set_int_value(s, PWQ_SETTING_GECOS_CHECK, 0);
	char core[PW_BYTES_MAX + 1];
	password_core(pw, core, sizeof core);
	int rc = repeated(core) ? PWQ_ERROR_MAX_CLASS_REPEAT : pwq_check(s, pw, user);
	if (rc >= 0 && strlen(core) >= 6 && strcmp(core, pw) != 0)
		rc = pwq_check(s, core, user);
	sodium_memzero(core, sizeof core);
	if (rc < 0) {
		*why = pwq_reason(rc);
		err = SF_ERR_WEAK_PASSWORD;
	}
	pwquality_free_settings(s);
	pthread_mutex_unlock(&pwq_lock);
	return err;
}
