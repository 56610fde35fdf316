/* test_multipart.c — the multipart/form-data splitter: what forms send is
 * accepted, and every kind of broken framing is refused. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "http/http.h"

#define CT "multipart/form-data; boundary=XyZ"

static enum sf_err split(const char *ct, const char *body, struct sf_part *p, size_t max, size_t *n)
{
	static struct sf_arena a;
	sf_arena_release(&a);
	sf_arena_init(&a, 1 << 16);
	return sf_multipart_split(&a, ct, body, strlen(body), p, max, n);
}

static void test_form(void **state)
{
	(void)state;
	struct sf_part p[4];
	size_t n = 0;
	const char *body = "--XyZ\r\nContent-Disposition: form-data; name=\"csrf_token\"\r\n\r\ntok\r\n"
			   "--XyZ\r\nContent-Disposition: form-data; name=\"image\"; filename=\"a.png\"\r\n"
			   "Content-Type: image/png\r\n\r\n\x89PNG\r\n--XyZ--\r\n";
	assert_int_equal(split(CT, body, p, 4, &n), SF_OK);
	assert_int_equal(n, 2);
	assert_string_equal(p[0].name, "csrf_token");
	assert_false(p[0].is_file);
	assert_int_equal(p[0].len, 3);
	assert_memory_equal(p[0].data, "tok", 3);
	assert_string_equal(p[1].name, "image");
	assert_true(p[1].is_file);
	assert_string_equal(p[1].content_type, "image/png");
	assert_int_equal(p[1].len, 4);
	/* a quoted boundary */
	assert_int_equal(split("multipart/form-data; boundary=\"XyZ\"", body, p, 4, &n), SF_OK);
}

static void test_refused(void **state)
{
	(void)state;
	struct sf_part p[2];
	size_t n = 0;
	const char *ok1 = "--XyZ\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n1\r\n--XyZ--";
	assert_int_equal(split("text/plain", ok1, p, 2, &n), SF_ERR_UNSUPPORTED_MEDIA);
	assert_int_equal(split(NULL, ok1, p, 2, &n), SF_ERR_UNSUPPORTED_MEDIA);
	assert_int_equal(split("multipart/form-data", ok1, p, 2, &n), SF_ERR_BAD_REQUEST);             /* no boundary */
	assert_int_equal(split("multipart/form-data; boundary=", ok1, p, 2, &n), SF_ERR_BAD_REQUEST);  /* empty */
	char longb[120] = "multipart/form-data; boundary=";
	memset(longb + strlen(longb), 'b', 75);
	assert_int_equal(split(longb, ok1, p, 2, &n), SF_ERR_BAD_REQUEST);                             /* > 70 */
	const char *bad[] = {
		"",                                                                     /* empty body */
		"garbage",                                                              /* no delimiter */
		"--XyZ\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n1",         /* no closing */
		"--XyZ\r\nContent-Disposition: form-data\r\n\r\n1\r\n--XyZ--",         /* no name */
		"--XyZ\r\nContent-Disposition: form-data; name=\"\"\r\n\r\n1\r\n--XyZ--", /* empty name */
		"--XyZ\r\nContent-Disposition: form-data; name=\"a\r\n\r\n1\r\n--XyZ--", /* unterminated quote */
		"--XyZ\r\nContent-Disposition: form-data; name=\"a\"\r\n1\r\n--XyZ--",   /* no blank line */
		"--XyZ\nContent-Disposition: form-data; name=\"a\"\n\n1\n--XyZ--",       /* bare LF */
		"--XyZ\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n1\r\n--XyZ\r\n"
		"Content-Disposition: form-data; name=\"b\"\r\n\r\n2\r\n--XyZ\r\n"
		"Content-Disposition: form-data; name=\"c\"\r\n\r\n3\r\n--XyZ--",       /* more than max parts */
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		if (split(CT, bad[i], p, 2, &n) != SF_ERR_BAD_REQUEST)
			fail_msg("case %zu accepted", i);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_form),
		cmocka_unit_test(test_refused),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);
	return rc;
}
