/*
 * tls.c — a self-signed development certificate (GnuTLS) and PEM loading.
 *
 * The private key only ever lives in GnuTLS's memory, in the 0600 key file
 * and, when loaded, in libsodium guarded memory; every copy is wiped.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "http/tls.h"

#define TLS_VALID_DAYS 825

/* Write all of data to a new file (O_EXCL, no symlink). */
static enum sf_err write_new(const char *path, const void *data, size_t len, mode_t mode, char *errbuf,
			     size_t errlen)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
	if (fd < 0) {
		int e = errno;
		snprintf(errbuf, errlen, "cannot create %s: %s", path, strerror(e));
		return e == EEXIST ? SF_ERR_EXISTS : SF_ERR_IO;
	}
	const unsigned char *p = data;
	size_t done = 0;
	while (done < len) {
		ssize_t w = write(fd, p + done, len - done);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			snprintf(errbuf, errlen, "cannot write %s: %s", path, strerror(errno));
			close(fd);
			unlink(path);
			return SF_ERR_IO;
		}
		done += (size_t)w;
	}
	if (fsync(fd) != 0 || close(fd) != 0) {
		snprintf(errbuf, errlen, "cannot write %s: %s", path, strerror(errno));
		unlink(path);
		return SF_ERR_IO;
	}
	return SF_OK;
}

enum sf_err sf_tls_make_self_signed(const char *cert_path, const char *key_path, const char *common_name,
				    char *errbuf, size_t errlen)
{
	enum sf_err err = SF_ERR_CRYPTO;
	gnutls_x509_privkey_t key = NULL;
	gnutls_x509_crt_t crt = NULL;
	gnutls_datum_t key_pem = { NULL, 0 }, crt_pem = { NULL, 0 };
	const char *step = "init";
	int key_written = 0;
	if (errlen)
		errbuf[0] = '\0';
	if (!cert_path || !key_path || !common_name || !*common_name) {
		snprintf(errbuf, errlen, "certificate path, key path and common name are required");
		return SF_ERR_INVALID;
	}
	if (sodium_init() < 0)
		goto fail;
	step = "generating the ECDSA P-256 key";
	if (gnutls_x509_privkey_init(&key) < 0 ||
	    gnutls_x509_privkey_generate(key, GNUTLS_PK_ECDSA, GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_SECP256R1), 0) < 0)
		goto fail;
	step = "building the certificate";
	if (gnutls_x509_crt_init(&crt) < 0 || gnutls_x509_crt_set_version(crt, 3) < 0)
		goto fail;
	unsigned char serial[16];
	randombytes_buf(serial, sizeof serial);
	serial[0] &= 0x7f; /* positive */
	serial[0] |= 0x01; /* and with no leading zero byte */
	time_t now = time(NULL);
	if (gnutls_x509_crt_set_serial(crt, serial, sizeof serial) < 0 ||
	    gnutls_x509_crt_set_activation_time(crt, now - 60) < 0 ||
	    gnutls_x509_crt_set_expiration_time(crt, now + (time_t)TLS_VALID_DAYS * 24 * 3600) < 0 ||
	    gnutls_x509_crt_set_dn_by_oid(crt, GNUTLS_OID_X520_COMMON_NAME, 0, common_name,
					  (unsigned)strlen(common_name)) < 0 ||
	    gnutls_x509_crt_set_key(crt, key) < 0)
		goto fail;
	step = "setting the subject alternative names";
	unsigned char ip4[4], ip6[16];
	inet_pton(AF_INET, "127.0.0.1", ip4);
	inet_pton(AF_INET6, "::1", ip6);
	if (gnutls_x509_crt_set_subject_alt_name(crt, GNUTLS_SAN_DNSNAME, "localhost", 9, GNUTLS_FSAN_APPEND) < 0 ||
	    gnutls_x509_crt_set_subject_alt_name(crt, GNUTLS_SAN_IPADDRESS, ip4, sizeof ip4, GNUTLS_FSAN_APPEND) < 0 ||
	    gnutls_x509_crt_set_subject_alt_name(crt, GNUTLS_SAN_IPADDRESS, ip6, sizeof ip6, GNUTLS_FSAN_APPEND) < 0)
		goto fail;
	step = "setting the key usage";
	unsigned char kid[64];
	size_t kid_len = sizeof kid;
	if (gnutls_x509_crt_set_basic_constraints(crt, 0, -1) < 0 ||
	    gnutls_x509_crt_set_key_usage(crt, GNUTLS_KEY_DIGITAL_SIGNATURE) < 0 ||
	    gnutls_x509_crt_set_key_purpose_oid(crt, GNUTLS_KP_TLS_WWW_SERVER, 0) < 0 ||
	    gnutls_x509_crt_get_key_id(crt, 0, kid, &kid_len) < 0 ||
	    gnutls_x509_crt_set_subject_key_id(crt, kid, kid_len) < 0)
		goto fail;
	step = "signing the certificate";
	if (gnutls_x509_crt_sign2(crt, crt, key, GNUTLS_DIG_SHA256, 0) < 0)
		goto fail;
	step = "exporting";
	if (gnutls_x509_crt_export2(crt, GNUTLS_X509_FMT_PEM, &crt_pem) < 0 ||
	    gnutls_x509_privkey_export2_pkcs8(key, GNUTLS_X509_FMT_PEM, NULL, GNUTLS_PKCS_PLAIN, &key_pem) < 0)
		goto fail;

	err = write_new(key_path, key_pem.data, key_pem.size, 0600, errbuf, errlen);
	if (err)
		goto out;
	key_written = 1;
	err = write_new(cert_path, crt_pem.data, crt_pem.size, 0644, errbuf, errlen);
	if (err)
		goto out;
	err = SF_OK;
	goto out;
fail:
	err = SF_ERR_CRYPTO;
	snprintf(errbuf, errlen, "TLS certificate: failed while %s", step);
out:
	if (err && key_written)
		unlink(key_path);
	if (key_pem.data) {
		sodium_memzero(key_pem.data, key_pem.size);
		gnutls_free(key_pem.data);
	}
	if (crt_pem.data)
		gnutls_free(crt_pem.data);
	if (crt)
		gnutls_x509_crt_deinit(crt);
	if (key)
		gnutls_x509_privkey_deinit(key);
	return err;
}

enum sf_err sf_tls_load_pem(const char *path, char **pem)
{
	enum sf_err err = SF_OK;
	char *buf = NULL;
	*pem = NULL;
	if (sodium_init() < 0)
		return SF_ERR_CRYPTO;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return SF_ERR_IO;
	struct stat st;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		err = SF_ERR_IO;
		goto out;
	}
	if (st.st_size < 0 || (unsigned long long)st.st_size > SF_TLS_PEM_MAX) {
		err = SF_ERR_TOO_LARGE;
		goto out;
	}
	size_t size = (size_t)st.st_size;
	buf = sodium_malloc(size + 1);
	if (!buf) {
		err = SF_ERR_NOMEM;
		goto out;
	}
	size_t got = 0;
	while (got < size) {
		ssize_t r = read(fd, buf + got, size - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			err = SF_ERR_IO;
			goto out;
		}
		if (r == 0)
			break; /* shrank while reading: take what is there */
		got += (size_t)r;
	}
	buf[got] = '\0';
	if (!strstr(buf, "-----BEGIN ")) {
		err = SF_ERR_INVALID;
		goto out;
	}
	*pem = buf;
	buf = NULL;
out:
	if (buf)
		sodium_free(buf);
	close(fd);
	return err;
}

void sf_tls_free_pem(char *pem)
{
	if (pem)
		sodium_free(pem); /* sodium_free wipes before unmapping */
}
