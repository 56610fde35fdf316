/* test_staff.c — the pure parts of staff access: RFC 6238 test vectors
 * (SHA-1, SHA-256, SHA-512) through liboath, the ±1 step window and the
 * replay guard, base32 keys, key URIs and QR data, recovery codes;
 * permission names and built-in roles; access windows across DST edges
 * (Europe/Berlin, America/New_York) and time zones (Asia/Tokyo), address
 * lists (IPv4 and IPv6 CIDR); and the permission matrix generated from the
 * real route table: every back-office row x every built-in role gives the
 * expected allow or deny, and no back-office row lacks a declared
 * permission. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "api/routes.h"
#include "auth/policy.h"
#include "auth/rbac.h"
#include "auth/staff.h"
#include "auth/totp.h"
#include "edge/edge_int.h"

/* ==== TOTP ==== */

struct vec {
	int64_t t;
	const char *sha1, *sha256, *sha512;
};

/* RFC 6238 appendix B. */
static const struct vec vectors[] = {
	{59, "94287082", "46119246", "90693936"},
	{1111111109, "07081804", "68084774", "25091201"},
	{1111111111, "14050471", "67062674", "99943326"},
	{1234567890, "89005924", "91819424", "93441116"},
	{2000000000, "69279037", "90698825", "38618901"},
	{20000000000LL, "65353130", "77737706", "47863826"},
};

static void test_rfc6238_vectors(void **state)
{
	(void)state;
	const char *s1 = "12345678901234567890";
	const char *s256 = "12345678901234567890123456789012";
	const char *s512 = "1234567890123456789012345678901234567890123456789012345678901234";
	for (size_t i = 0; i < sizeof vectors / sizeof vectors[0]; i++) {
		char out[9];
		assert_int_equal(sf_totp_generate((const unsigned char *)s1, 20, SF_TOTP_SHA1, vectors[i].t, 8, out), SF_OK);
		assert_string_equal(out, vectors[i].sha1);
		assert_int_equal(sf_totp_generate((const unsigned char *)s256, 32, SF_TOTP_SHA256, vectors[i].t, 8, out),
				 SF_OK);
		assert_string_equal(out, vectors[i].sha256);
		assert_int_equal(sf_totp_generate((const unsigned char *)s512, 64, SF_TOTP_SHA512, vectors[i].t, 8, out),
				 SF_OK);
		assert_string_equal(out, vectors[i].sha512);
	}
	char out[9];
	assert_int_equal(sf_totp_generate((const unsigned char *)s1, 20, SF_TOTP_SHA1, 59, 5, out), SF_ERR_INVALID);
	assert_int_equal(sf_totp_generate((const unsigned char *)s1, 0, SF_TOTP_SHA1, 59, 6, out), SF_ERR_INVALID);
}

static void test_totp_window_and_replay(void **state)
{
	(void)state;
	const unsigned char *seed = (const unsigned char *)"12345678901234567890";
	int64_t now = 1111111111, step = 0;
	char prev[9], cur[9], next[9], far[9];
	assert_int_equal(sf_totp_generate(seed, 20, SF_TOTP_SHA1, now - 30, 6, prev), SF_OK);
	assert_int_equal(sf_totp_generate(seed, 20, SF_TOTP_SHA1, now, 6, cur), SF_OK);
	assert_int_equal(sf_totp_generate(seed, 20, SF_TOTP_SHA1, now + 30, 6, next), SF_OK);
	assert_int_equal(sf_totp_generate(seed, 20, SF_TOTP_SHA1, now + 90, 6, far), SF_OK);
	assert_int_equal(sf_totp_verify(seed, 20, cur, now, 0, &step), SF_OK);
	assert_int_equal(step, sf_totp_step(now));
	assert_int_equal(sf_totp_verify(seed, 20, prev, now, 0, &step), SF_OK);
	assert_int_equal(step, sf_totp_step(now) - 1);
	assert_int_equal(sf_totp_verify(seed, 20, next, now, 0, &step), SF_OK);
	assert_int_equal(step, sf_totp_step(now) + 1);
	assert_int_equal(sf_totp_verify(seed, 20, far, now, 0, &step), SF_ERR_LOGIN_FAILED);
	/* Replay: a step up to the last accepted one never passes again. */
	assert_int_equal(sf_totp_verify(seed, 20, cur, now, sf_totp_step(now), &step), SF_ERR_LOGIN_FAILED);
	assert_int_equal(sf_totp_verify(seed, 20, prev, now, sf_totp_step(now) - 1, &step), SF_ERR_LOGIN_FAILED);
	assert_int_equal(sf_totp_verify(seed, 20, next, now, sf_totp_step(now), &step), SF_OK);
	/* Malformed codes. */
	const char *bad[] = {"", "12345", "1234567", "12a456", " 123456", NULL};
	for (int i = 0; bad[i]; i++)
		assert_int_equal(sf_totp_verify(seed, 20, bad[i], now, 0, &step), SF_ERR_LOGIN_FAILED);
	assert_int_equal(sf_totp_verify(seed, 20, NULL, now, 0, &step), SF_ERR_LOGIN_FAILED);
}

static void test_base32_uri_qr(void **state)
{
	(void)state;
	char key[SF_TOTP_B32_MAX];
	/* RFC 4648: "foobar" -> MZXW6YTBOI */
	assert_int_equal(sf_totp_base32((const unsigned char *)"foobar", 6, 0, key), SF_OK);
	assert_string_equal(key, "MZXW6YTBOI");
	assert_int_equal(sf_totp_base32((const unsigned char *)"foobar", 6, 1, key), SF_OK);
	assert_string_equal(key, "MZXW 6YTB OI");
	char uri[512];
	assert_int_equal(sf_totp_uri("My Shop", "ann@example.com", (const unsigned char *)"foobar", 6, uri, sizeof uri),
			 SF_OK);
	assert_string_equal(uri, "otpauth://totp/My%20Shop:ann@example.com?secret=MZXW6YTBOI&issuer=My%20Shop"
				 "&algorithm=SHA1&digits=6&period=30");
	char small[20];
	assert_int_equal(sf_totp_uri("x", "y", (const unsigned char *)"foobar", 6, small, sizeof small), SF_ERR_LIMIT);
	json_t *qr = NULL;
	assert_int_equal(sf_totp_qr_json(uri, &qr), SF_OK);
	json_int_t size = json_integer_value(json_object_get(qr, "size"));
	assert_true(size >= 21 + 8);
	json_t *runs = json_object_get(qr, "runs");
	assert_true(json_array_size(runs) > 20);
	size_t i;
	json_t *r;
	json_array_foreach(runs, i, r)
	{
		json_int_t x = json_integer_value(json_object_get(r, "x")), y = json_integer_value(json_object_get(r, "y")),
			   w = json_integer_value(json_object_get(r, "w"));
		assert_true(x >= 4 && y >= 4 && w >= 1 && x + w <= size - 4 && y < size - 4);
	}
	json_decref(qr);
}

static void test_recovery_codes(void **state)
{
	(void)state;
	char a[SF_RECOVERY_CODE_LEN + 1], b[SF_RECOVERY_CODE_LEN + 1], n[SF_RECOVERY_CODE_LEN + 1];
	sf_recovery_code_new(a);
	sf_recovery_code_new(b);
	assert_int_equal(strlen(a), SF_RECOVERY_CODE_LEN);
	assert_string_not_equal(a, b);
	assert_true(sf_recovery_code_norm(a, n));
	assert_string_equal(a, n);
	char typed[40];
	snprintf(typed, sizeof typed, " %c%c%c%c %c%c%c%c%c%c%c%c-%c%c%c%c ", a[0], a[1], a[2], a[3], a[5], a[6], a[7],
		 a[8], a[10], a[11], a[12], a[13], a[15], a[16], a[17], a[18]);
	for (char *p = typed; *p; p++)
		if (*p >= 'a' && *p <= 'z')
			*p = (char)(*p - 'a' + 'A');
	assert_true(sf_recovery_code_norm(typed, n));
	assert_string_equal(a, n);
	assert_false(sf_recovery_code_norm("abcd-efgh", n));
	assert_false(sf_recovery_code_norm("abcd-efgh-ijkl-mn01", n)); /* 0 and 1 are not base32 */
	assert_false(sf_recovery_code_norm(NULL, n));
}

/* ==== Permissions and roles ==== */

static void test_permission_names(void **state)
{
	(void)state;
	assert_true(sf_rbac_valid("catalog.read"));
	assert_true(sf_rbac_valid("customers.reveal"));
	assert_true(sf_rbac_valid("waf.update"));
	const char *bad[] = {"", "catalog", "catalog.", ".read", "catalog.read.x", "Catalog.read", "catalog.write",
			     "self", "login", "login.step", "orders.read ", NULL};
	for (int i = 0; bad[i]; i++)
		assert_false(sf_rbac_valid(bad[i]));
	assert_false(sf_rbac_valid(NULL));
	for (int i = 0; i < SF_RBAC_NPERM; i++)
		assert_int_equal(sf_rbac_index(sf_rbac_name(i)), i);
	assert_null(sf_rbac_name(SF_RBAC_NPERM));
	struct sf_rbac_set s = {{0, 0}};
	sf_rbac_set_add(&s, "keys.reveal");
	sf_rbac_set_add(&s, "nonsense.read");
	assert_true(sf_rbac_set_has(&s, "keys.reveal"));
	assert_false(sf_rbac_set_has(&s, "keys.read"));
}

static void test_builtin_roles(void **state)
{
	(void)state;
	assert_true(sf_rbac_role_can("owner", "keys.update"));
	assert_true(sf_rbac_role_can("owner", "staff.delete"));
	assert_false(sf_rbac_role_can("administrator", "keys.read"));
	assert_true(sf_rbac_role_can("administrator", "security.update"));
	assert_true(sf_rbac_role_can("catalog_manager", "inventory.delete"));
	assert_true(sf_rbac_role_can("catalog_manager", "reports.read"));
	assert_false(sf_rbac_role_can("catalog_manager", "orders.read"));
	assert_true(sf_rbac_role_can("order_operator", "orders.export"));
	assert_false(sf_rbac_role_can("order_operator", "orders.delete"));
	assert_false(sf_rbac_role_can("order_operator", "customers.reveal"));
	assert_true(sf_rbac_role_can("customer_support", "customers.update"));
	assert_false(sf_rbac_role_can("customer_support", "customers.export"));
	assert_true(sf_rbac_role_can("analyst", "reports.export"));
	assert_false(sf_rbac_role_can("analyst", "customers.read"));
	assert_true(sf_rbac_role_can("privacy_officer", "customers.reveal"));
	assert_true(sf_rbac_role_can("privacy_officer", "audit.export"));
	assert_false(sf_rbac_role_can("privacy_officer", "orders.read"));
	assert_false(sf_rbac_role_can("nobody", "orders.read"));
	size_t n;
	const char *const *roles = sf_rbac_builtin_roles(&n);
	assert_int_equal(n, 7);
	assert_string_equal(roles[0], "owner");
}

static int backoffice(const char *pattern)
{
	return !strncmp(pattern, "/admin", 6) && (pattern[6] == '\0' || pattern[6] == '/') ? 1
	       : !strncmp(pattern, "/api/v1/admin", 13) && (pattern[13] == '\0' || pattern[13] == '/') ? 1
												     : 0;
}

/* The matrix, generated from the real table. */
static void test_permission_matrix(void **state)
{
	(void)state;
	size_t n = 0, nroles = 0, checked = 0;
	const struct sf_route *r = sf_routes(&n);
	const char *const *roles = sf_rbac_builtin_roles(&nroles);
	for (size_t i = 0; i < n; i++) {
		if (!backoffice(r[i].pattern))
			continue;
		if (!sf_rbac_route_permission_ok(r[i].auth, r[i].permission))
			fail_msg("%s %s: back-office route without a valid declared permission (%s)", r[i].method,
				 r[i].pattern, r[i].permission ? r[i].permission : "NULL");
		if (r[i].auth == SF_AUTH_NONE)
			continue; /* the sign-in forms themselves (SF_RBAC_LOGIN) */
		for (size_t k = 0; k < nroles; k++) {
			struct sf_rbac_set set;
			assert_true(sf_rbac_builtin_set(roles[k], &set));
			const char *p = r[i].permission;
			int expect = !strcmp(p, SF_RBAC_SELF) || !strcmp(p, SF_RBAC_LOGIN_STEP) ||
				     sf_rbac_role_can(roles[k], p);
			enum sf_err got = sf_staff_route_decision(&r[i], "full", &set);
			if ((got == SF_OK) != expect)
				fail_msg("%s %s as %s: expected %s, got %s", r[i].method, r[i].pattern, roles[k],
					 expect ? "allow" : "deny", sf_err_code(got));
			if (!expect)
				assert_int_equal(got, SF_ERR_FORBIDDEN);
			/* Part-way through signing in only the login steps pass. */
			enum sf_err partial = sf_staff_route_decision(&r[i], "totp", &set);
			if (!strcmp(p, SF_RBAC_LOGIN_STEP))
				assert_int_equal(partial, SF_OK);
			else
				assert_int_equal(partial, SF_ERR_UNAUTHORIZED);
			checked++;
		}
	}
	assert_true(checked >= 7 * 20);
	/* Undeclared or unknown permissions are denied to everyone. */
	struct sf_rbac_set all;
	assert_true(sf_rbac_builtin_set("owner", &all));
	struct sf_route undeclared = {"GET", "/admin/x", NULL, SF_AUTH_STAFF, NULL, SF_CSRF_NONE, SF_RC_ADMIN, 0, 0};
	assert_int_equal(sf_staff_route_decision(&undeclared, "full", &all), SF_ERR_FORBIDDEN);
	undeclared.permission = "everything.read";
	assert_int_equal(sf_staff_route_decision(&undeclared, "full", &all), SF_ERR_FORBIDDEN);
	undeclared.permission = "orders.read";
	undeclared.auth = SF_AUTH_NONE;
	assert_int_equal(sf_staff_route_decision(&undeclared, "full", &all), SF_ERR_FORBIDDEN);
	assert_false(sf_rbac_route_permission_ok(SF_AUTH_STAFF, NULL));
	assert_false(sf_rbac_route_permission_ok(SF_AUTH_NONE, "orders.read"));
	assert_false(sf_rbac_route_permission_ok(SF_AUTH_TOKEN, SF_RBAC_LOGIN_STEP));
}

/* ==== Where and when ==== */

static void test_tz_offsets(void **state)
{
	(void)state;
	int32_t off;
	assert_int_equal(sf_tz_offset("America/New_York", 1710053999, &off), SF_OK);
	assert_int_equal(off, -5 * 3600);
	assert_int_equal(sf_tz_offset("America/New_York", 1710054000, &off), SF_OK);
	assert_int_equal(off, -4 * 3600);
	assert_int_equal(sf_tz_offset("Europe/Berlin", 1729990799, &off), SF_OK);
	assert_int_equal(off, 2 * 3600);
	assert_int_equal(sf_tz_offset("Europe/Berlin", 1729990800, &off), SF_OK);
	assert_int_equal(off, 3600);
	assert_int_equal(sf_tz_offset("Asia/Tokyo", 1704668400, &off), SF_OK);
	assert_int_equal(off, 9 * 3600);
	assert_int_equal(sf_tz_offset("UTC", 0, &off), SF_OK);
	assert_int_equal(off, 0);
	assert_int_equal(sf_tz_offset("../../etc/passwd", 0, &off), SF_ERR_BAD_PARAM);
	assert_int_equal(sf_tz_offset("Europe//Berlin", 0, &off), SF_ERR_BAD_PARAM);
	assert_int_equal(sf_tz_offset("Mars/Olympus_Mons", 0, &off), SF_ERR_NOT_FOUND);
}

static int allowed(const char *text, int64_t t)
{
	struct sf_windows w;
	const char *why;
	assert_int_equal(sf_windows_parse(text, &w, &why), SF_OK);
	return sf_windows_allow(&w, t);
}

static void test_windows(void **state)
{
	(void)state;
	const char *berlin = "Mon-Fri 08:00-19:00 Europe/Berlin";
	/* Spring forward (2024-03-31): Monday 07:30 CEST refused, 08:00 allowed;
	 * the Friday before, 08:00 CET allowed and 07:30 CET refused. */
	assert_false(allowed(berlin, 1711949400));
	assert_true(allowed(berlin, 1711951200));
	assert_true(allowed(berlin, 1711695600));
	assert_false(allowed(berlin, 1711693800));
	const char *tokyo = "Mon-Fri 08:00-19:00 Asia/Tokyo";
	/* Monday 08:00 JST is still Sunday in UTC. */
	assert_true(allowed(tokyo, 1704668400));
	assert_false(allowed(tokyo, 1704668340));
	assert_true(allowed(tokyo, 1705053540));  /* Friday 18:59 JST */
	assert_false(allowed(tokyo, 1705053600)); /* Friday 19:00 JST */
	/* Past midnight: opens Friday 22:00, closes Saturday 06:00. */
	const char *night = "Fri 22:00-06:00";
	assert_true(allowed(night, 1704520740));
	assert_false(allowed(night, 1704520800));
	assert_false(allowed(night, 1704491940));
	assert_true(allowed(night, 1704492000));
	/* Several windows, lists, Daily, 24:00. */
	assert_true(allowed("Sat,Sun 00:00-24:00 UTC; Mon 09:00-10:00", 1704520800));
	assert_true(allowed("Daily 00:00-24:00", 1704520800));
	assert_true(allowed("", 1704520800));
	const char *bad[] = {"Mon-Fri 8:00-19:00", "Xyz 08:00-09:00", "Mon 08:00-08:00", "Mon 08:00-09:00 Not/AZone",
			     "Mon 08:00-09:00 ../etc/passwd", "Mon 25:00-26:00", "Mon 08:00", "Mon, 08:00-09:00",
			     "Mon 08:00-09:00 UTC extra", "Mon 24:00-09:00",
			     "Mon 1:00-2:00;Mon 01:00-02:00;Mon 01:00-02:00;Mon 01:00-02:00;Mon 01:00-02:00;"
			     "Mon 01:00-02:00;Mon 01:00-02:00;Mon 01:00-02:00;Mon 01:00-02:00",
			     NULL};
	for (int i = 0; bad[i]; i++) {
		struct sf_windows w;
		const char *why = NULL;
		if (sf_windows_parse(bad[i], &w, &why) != SF_ERR_BAD_PARAM)
			fail_msg("accepted: %s", bad[i]);
		assert_non_null(why);
	}
}

static void test_policy_check(void **state)
{
	(void)state;
	struct sf_cidr_list global;
	char bad[64];
	assert_int_equal(sf_cidr_list_parse("10.0.0.0/8, 2001:db8::/32", &global, bad, sizeof bad), SF_OK);
	int64_t t = 1711951200; /* Monday 08:00 Berlin */
	assert_int_equal(sf_policy_check(&global, "", "", "", "10.1.2.3", t), SF_POLICY_OK);
	assert_int_equal(sf_policy_check(&global, "", "", "", "2001:db8:1::5", t), SF_POLICY_OK);
	assert_int_equal(sf_policy_check(&global, "", "", "", "192.0.2.1", t), SF_POLICY_GLOBAL_IP);
	assert_int_equal(sf_policy_check(&global, "", "", "", "2001:db9::1", t), SF_POLICY_GLOBAL_IP);
	assert_int_equal(sf_policy_check(&global, "", "10.1.0.0/16", "", "10.1.2.3", t), SF_POLICY_DENY_IP);
	assert_int_equal(sf_policy_check(&global, "10.2.0.0/16", "", "", "10.1.2.3", t), SF_POLICY_ALLOW_IP);
	assert_int_equal(sf_policy_check(&global, "10.1.2.3", "", "", "10.1.2.3", t), SF_POLICY_OK);
	assert_int_equal(sf_policy_check(NULL, "", "", "Mon-Fri 08:00-19:00 Europe/Berlin", "10.1.2.3", t), SF_POLICY_OK);
	assert_int_equal(sf_policy_check(NULL, "", "", "Mon-Fri 08:00-19:00 Europe/Berlin", "10.1.2.3", t - 60),
			 SF_POLICY_WINDOW);
	/* Broken stored texts deny rather than allow. */
	assert_int_equal(sf_policy_check(NULL, "not-an-address", "", "", "10.1.2.3", t), SF_POLICY_ALLOW_IP);
	assert_int_equal(sf_policy_check(NULL, "", "10.0.0.0/99", "", "10.1.2.3", t), SF_POLICY_DENY_IP);
	assert_int_equal(sf_policy_check(NULL, "", "", "garbage", "10.1.2.3", t), SF_POLICY_WINDOW);
	assert_string_equal(sf_policy_reason(SF_POLICY_WINDOW), "outside_access_window");
	sf_cidr_list_free(&global);
	const char *why;
	assert_int_equal(sf_iplist_check("192.0.2.0/24 ::1", &why), SF_OK);
	assert_int_equal(sf_iplist_check("192.0.2.1/24", &why), SF_ERR_BAD_PARAM);
	assert_int_equal(sf_iplist_check("example.com", &why), SF_ERR_BAD_PARAM);
	assert_true(sf_staff_admin_path_ok("/admin"));
	assert_true(sf_staff_admin_path_ok("/back-office_7f3a"));
	const char *paths[] = {"", "/", "admin", "/admin/", "/api", "/api/x", "/static", "/Admin", "/a//b", "/a?b", NULL};
	for (int i = 0; paths[i]; i++)
		assert_false(sf_staff_admin_path_ok(paths[i]));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc6238_vectors), cmocka_unit_test(test_totp_window_and_replay),
		cmocka_unit_test(test_base32_uri_qr),   cmocka_unit_test(test_recovery_codes),
		cmocka_unit_test(test_permission_names), cmocka_unit_test(test_builtin_roles),
		cmocka_unit_test(test_permission_matrix), cmocka_unit_test(test_tz_offsets),
		cmocka_unit_test(test_windows),         cmocka_unit_test(test_policy_check),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
