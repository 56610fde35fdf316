/* test_password.c — argon2id hashing, verification, rehash detection, the
 * dummy verification and the password policy. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <sodium.h>
#include <string.h>

#include "auth/password.h"

static void test_hash_verify(void **state)
{
	(void)state;
	struct sf_pw_params p;
	sf_password_params_default(&p);
	assert_true(p.memory_kib >= 19456 && p.ops >= 2);
	char h[SF_PW_HASH_MAX];
	assert_int_equal(sf_password_hash(&p, "Tangerine-Orbit-7731", h), SF_OK);
	assert_non_null(strstr(h, "$argon2id$"));
	assert_non_null(strstr(h, "m=19456,t=2"));
	assert_true(sf_password_verify(h, "Tangerine-Orbit-7731"));
	assert_false(sf_password_verify(h, "Tangerine-Orbit-7732"));
	assert_false(sf_password_verify(h, ""));
	assert_false(sf_password_verify("not a hash", "x"));
	assert_false(sf_password_verify(NULL, "x"));
	/* Parameters below the minimum are raised, never honoured. */
	struct sf_pw_params weak = {.ops = 1, .memory_kib = 8};
	char h2[SF_PW_HASH_MAX];
	assert_int_equal(sf_password_hash(&weak, "Tangerine-Orbit-7731", h2), SF_OK);
	assert_non_null(strstr(h2, "m=19456,t=2"));
}

static void test_rehash(void **state)
{
	(void)state;
	struct sf_pw_params p;
	sf_password_params_default(&p);
	char h[SF_PW_HASH_MAX];
	assert_int_equal(sf_password_hash(&p, "Tangerine-Orbit-7731", h), SF_OK);
	assert_false(sf_password_needs_rehash(&p, h));
	struct sf_pw_params up = {.ops = 3, .memory_kib = 19456};
	assert_true(sf_password_needs_rehash(&up, h));
	char h2[SF_PW_HASH_MAX];
	assert_int_equal(sf_password_hash(&up, "Tangerine-Orbit-7731", h2), SF_OK);
	assert_false(sf_password_needs_rehash(&up, h2));
	assert_true(sf_password_verify(h2, "Tangerine-Orbit-7731"));
}

static void test_dummy_counts(void **state)
{
	(void)state;
	uint64_t before = sf_password_verify_count();
	sf_password_verify_dummy(NULL, "anything at all");
	sf_password_verify_dummy(NULL, "anything at all");
	assert_int_equal(sf_password_verify_count(), before + 2);
}

static void test_policy(void **state)
{
	(void)state;
	const char *why = NULL;
	const char *hints[] = {"alice.jones", "Alice Jones", NULL};
	assert_int_equal(sf_password_policy("Tangerine-Orbit-7731", hints, &why), SF_OK);
	assert_null(why);
	assert_int_equal(sf_password_policy("short-1", hints, &why), SF_ERR_WEAK_PASSWORD);
	assert_non_null(strstr(why, "12"));
	char longpw[200];
	memset(longpw, 'k', sizeof longpw - 1);
	longpw[sizeof longpw - 1] = '\0';
	assert_int_equal(sf_password_policy(longpw, hints, &why), SF_ERR_WEAK_PASSWORD);
	/* characters are counted, not bytes: 11 two-byte characters are too few */
	assert_int_equal(sf_password_policy("ÄöüßÄöüßÄö7", NULL, &why), SF_ERR_WEAK_PASSWORD);
	assert_non_null(strstr(why, "12"));
	assert_int_equal(sf_password_policy("Kiefernzapfen-Ölmühle-42", NULL, &why), SF_OK);
	/* dictionary */
	assert_int_equal(sf_password_policy("passwordpassword", NULL, &why), SF_ERR_WEAK_PASSWORD);
	assert_int_equal(sf_password_policy("abcdefghijklmnop", NULL, &why), SF_ERR_WEAK_PASSWORD);
	assert_int_equal(sf_password_policy("Password1234", NULL, &why), SF_ERR_WEAK_PASSWORD);
	assert_int_equal(sf_password_policy("Sunshine2024!!", NULL, &why), SF_ERR_WEAK_PASSWORD);
	assert_int_equal(sf_password_policy("monkeymonkey1", NULL, &why), SF_ERR_WEAK_PASSWORD);
	/* the account's own data */
	assert_int_equal(sf_password_policy("xx-Alice.Jones-2024", hints, &why), SF_ERR_WEAK_PASSWORD);
	assert_non_null(strstr(why, "e-mail"));
	assert_int_equal(sf_password_policy("Jones-Tangerine-77", hints, &why), SF_ERR_WEAK_PASSWORD);
	/* control characters and bad UTF-8 */
	assert_int_equal(sf_password_policy("Tangerine\x01Orbit-7731", NULL, &why), SF_ERR_WEAK_PASSWORD);
	assert_int_equal(sf_password_policy("Tangerine\xc3\x28Orbit-7731", NULL, &why), SF_ERR_WEAK_PASSWORD);
	assert_int_equal(sf_password_policy(NULL, NULL, &why), SF_ERR_WEAK_PASSWORD);
}

int main(void)
{
	if (sodium_init() < 0)
		return 1;
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hash_verify),
		cmocka_unit_test(test_rehash),
		cmocka_unit_test(test_dummy_counts),
		cmocka_unit_test(test_policy),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
