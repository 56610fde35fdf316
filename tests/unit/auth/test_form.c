/* test_form.c — the form body decoder on hostile input and the JSON depth
 * scanner. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "auth/form.h"

static struct sf_arena arena;

static enum sf_err dec(const char *body, struct sf_kv **kv, size_t *n)
{
	return sf_form_decode(&arena, body, strlen(body), kv, n);
}

static void test_form_ok(void **state)
{
	(void)state;
	struct sf_kv *kv = NULL;
	size_t n = 0;
	sf_arena_init(&arena, 1 << 20);
	assert_int_equal(dec("email=a%40b.example&password=p+q%21&name=", &kv, &n), SF_OK);
	assert_int_equal(n, 3);
	assert_string_equal(kv[0].v, "a@b.example");
	assert_string_equal(kv[1].v, "p q!");
	assert_string_equal(kv[2].v, "");
	assert_int_equal(dec("", &kv, &n), SF_OK);
	assert_int_equal(n, 0);
	assert_int_equal(dec("a=%C3%A4", &kv, &n), SF_OK);
	assert_string_equal(kv[0].v, "\xc3\xa4");
	sf_arena_release(&arena);
}

static void test_form_hostile(void **state)
{
	(void)state;
	struct sf_kv *kv = NULL;
	size_t n = 0;
	sf_arena_init(&arena, 1 << 20);
	static const char *const bad_enc[] = {"a=%ZZ", "a=%", "a=%4", "a=%00", "a=%C3%28", "a=%C0%AF",
					      "a=%ED%A0%80", "a=\x01", "a=%F4%90%80%80", "a=\xff"};
	for (size_t i = 0; i < sizeof bad_enc / sizeof bad_enc[0]; i++)
		assert_int_equal(dec(bad_enc[i], &kv, &n), SF_ERR_BAD_ENCODING);
	assert_int_equal(dec("=x", &kv, &n), SF_ERR_BAD_PARAM);
	char many[65 * 4 + 1];
	for (int i = 0; i < 65; i++)
		memcpy(many + 4 * i, "a=1&", 4);
	many[65 * 4] = '\0';
	assert_int_equal(dec(many, &kv, &n), SF_ERR_BAD_PARAM);
	sf_arena_release(&arena);
	/* a tiny arena fails cleanly */
	sf_arena_init(&arena, 64);
	char big[512];
	memset(big, 'x', sizeof big - 1);
	big[0] = 'a';
	big[1] = '=';
	big[sizeof big - 1] = '\0';
	assert_int_equal(dec(big, &kv, &n), SF_ERR_NOMEM);
	sf_arena_release(&arena);
}

static void test_json_depth(void **state)
{
	(void)state;
	assert_int_equal(sf_json_depth("{}", 2), 1);
	assert_int_equal(sf_json_depth("{\"a\":[{\"b\":1}]}", 15), 3);
	assert_int_equal(sf_json_depth("{\"a\":\"[[[[{{{\"}", 15), 1);
	assert_int_equal(sf_json_depth("{\"a\":\"\\\"[[[\"}", 13), 1);
	char deep[2001];
	for (int i = 0; i < 1000; i++) {
		deep[i] = '[';
		deep[1000 + i] = ']';
	}
	deep[2000] = '\0';
	assert_int_equal(sf_json_depth(deep, 2000), 1000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_form_ok),
		cmocka_unit_test(test_form_hostile),
		cmocka_unit_test(test_json_depth),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
