/* test_tls.c — the self-signed certificate (key type, SANs, validity,
 * file modes, no overwrite) and PEM loading limits. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <fcntl.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "http/tls.h"

static char dir[] = "/tmp/sf-test-tls.XXXXXX";
static char certp[PATH_MAX], keyp[PATH_MAX], bigp[PATH_MAX], junkp[PATH_MAX];

static int setup(void **state)
{
	(void)state;
	if (!mkdtemp(dir))
		return -1;
	snprintf(certp, sizeof certp, "%s/cert.pem", dir);
	snprintf(keyp, sizeof keyp, "%s/key.pem", dir);
	snprintf(bigp, sizeof bigp, "%s/big.pem", dir);
	snprintf(junkp, sizeof junkp, "%s/junk.pem", dir);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	unlink(certp);
	unlink(keyp);
	unlink(bigp);
	unlink(junkp);
	rmdir(dir);
	return 0;
}

static void test_self_signed(void **state)
{
	(void)state;
	char err[256];
	assert_int_equal(sf_tls_make_self_signed(certp, keyp, "shop.test", err, sizeof err), SF_OK);
	struct stat st;
	assert_int_equal(stat(keyp, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);

	char *cert = NULL, *key = NULL;
	assert_int_equal(sf_tls_load_pem(certp, &cert), SF_OK);
	assert_int_equal(sf_tls_load_pem(keyp, &key), SF_OK);
	assert_non_null(strstr(cert, "-----BEGIN CERTIFICATE-----"));
	assert_non_null(strstr(key, "-----BEGIN PRIVATE KEY-----"));

	gnutls_x509_crt_t crt;
	gnutls_datum_t d = { (unsigned char *)cert, (unsigned)strlen(cert) };
	assert_int_equal(gnutls_x509_crt_init(&crt), 0);
	assert_int_equal(gnutls_x509_crt_import(crt, &d, GNUTLS_X509_FMT_PEM), 0);
	unsigned bits = 0;
	assert_int_equal(gnutls_x509_crt_get_pk_algorithm(crt, &bits), GNUTLS_PK_ECDSA);
	gnutls_ecc_curve_t curve;
	assert_int_equal(gnutls_x509_crt_get_pk_ecc_raw(crt, &curve, NULL, NULL), 0);
	assert_int_equal(curve, GNUTLS_ECC_CURVE_SECP256R1);
	time_t from = gnutls_x509_crt_get_activation_time(crt);
	time_t to = gnutls_x509_crt_get_expiration_time(crt);
	long days = (long)((to - time(NULL)) / 86400);
	assert_true(days >= 824 && days <= 825);
	assert_true(from <= time(NULL));
	char cn[128];
	size_t cnl = sizeof cn;
	assert_int_equal(gnutls_x509_crt_get_dn_by_oid(crt, GNUTLS_OID_X520_COMMON_NAME, 0, 0, cn, &cnl), 0);
	assert_string_equal(cn, "shop.test");
	int have_dns = 0, have_v4 = 0, have_v6 = 0;
	for (unsigned i = 0;; i++) {
		unsigned char san[256];
		size_t sl = sizeof san;
		int t = gnutls_x509_crt_get_subject_alt_name(crt, i, san, &sl, NULL);
		if (t < 0)
			break;
		if (t == GNUTLS_SAN_DNSNAME && sl == 9 && memcmp(san, "localhost", 9) == 0)
			have_dns = 1;
		if (t == GNUTLS_SAN_IPADDRESS && sl == 4 && memcmp(san, "\x7f\0\0\x01", 4) == 0)
			have_v4 = 1;
		if (t == GNUTLS_SAN_IPADDRESS && sl == 16) {
			unsigned char one[16] = { 0 };
			one[15] = 1;
			have_v6 = memcmp(san, one, 16) == 0;
		}
	}
	assert_true(have_dns && have_v4 && have_v6);
	unsigned char serial[40];
	size_t serl = sizeof serial;
	assert_int_equal(gnutls_x509_crt_get_serial(crt, serial, &serl), 0);
	assert_int_equal(serl, 16);
	/* Self-signed: it verifies against itself. */
	unsigned status = 99;
	assert_int_equal(gnutls_x509_crt_verify(crt, &crt, 1, 0, &status), 0);
	assert_int_equal(status, 0);
	gnutls_x509_crt_deinit(crt);
	sf_tls_free_pem(cert);
	sf_tls_free_pem(key);

	/* Never overwrites; nothing half-written. */
	assert_int_equal(sf_tls_make_self_signed(certp, keyp, "shop.test", err, sizeof err), SF_ERR_EXISTS);
	assert_non_null(strstr(err, "key.pem"));
	char other_key[PATH_MAX + 16];
	snprintf(other_key, sizeof other_key, "%s/k2.pem", dir);
	assert_int_equal(sf_tls_make_self_signed(certp, other_key, "x", err, sizeof err), SF_ERR_EXISTS);
	assert_int_equal(access(other_key, F_OK), -1); /* the key was removed again */
	assert_int_equal(sf_tls_make_self_signed(certp, keyp, "", err, sizeof err), SF_ERR_INVALID);
}

static void test_load_limits(void **state)
{
	(void)state;
	char *pem = (char *)"untouched";
	assert_int_equal(sf_tls_load_pem("/nonexistent/x.pem", &pem), SF_ERR_IO);
	assert_null(pem);
	assert_int_equal(sf_tls_load_pem(dir, &pem), SF_ERR_IO); /* a directory */
	FILE *f = fopen(bigp, "w");
	assert_non_null(f);
	fputs("-----BEGIN CERTIFICATE-----\n", f);
	for (int i = 0; i < 20000; i++)
		fputs("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n", f);
	fclose(f);
	assert_int_equal(sf_tls_load_pem(bigp, &pem), SF_ERR_TOO_LARGE);
	assert_null(pem);
	f = fopen(junkp, "w");
	assert_non_null(f);
	fputs("not a pem file\n", f);
	fclose(f);
	assert_int_equal(sf_tls_load_pem(junkp, &pem), SF_ERR_INVALID);
	assert_null(pem);
	sf_tls_free_pem(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_self_signed),
		cmocka_unit_test(test_load_limits),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
