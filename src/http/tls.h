/*
 * tls.h — certificates for the HTTPS listener: a self-signed development
 * certificate made with GnuTLS (storefort init), and reading PEM files.
 */
#ifndef SF_HTTP_TLS_H
#define SF_HTTP_TLS_H

#include <stddef.h>

#include "core/err.h"

/* Make an ECDSA P-256 key and a self-signed certificate for common_name
 * (SAN: DNS localhost, IP 127.0.0.1 and ::1; valid 825 days from now;
 * random 128-bit serial; server-auth key purpose) and write them as PEM.
 * The key file is created 0600 with O_EXCL (an existing file is never
 * overwritten); so is the certificate (0644).  On failure nothing is left
 * behind.  Returns SF_OK, SF_ERR_EXISTS (a file is already there), SF_ERR_IO
 * (cannot write) or SF_ERR_CRYPTO; errbuf says which file or step. */
enum sf_err sf_tls_make_self_signed(const char *cert_path, const char *key_path, const char *common_name,
				    char *errbuf, size_t errlen) __attribute__((warn_unused_result));

/* Read a PEM file (a regular file of at most 1 MiB) into guarded memory,
 * NUL-terminated.  *pem is set on SF_OK only; the caller releases it with
 * sf_tls_free_pem (it may hold a private key).  Returns SF_OK, SF_ERR_IO
 * (missing, unreadable or not a regular file), SF_ERR_TOO_LARGE,
 * SF_ERR_INVALID (no "-----BEGIN " marker) or SF_ERR_NOMEM. */
enum sf_err sf_tls_load_pem(const char *path, char **pem) __attribute__((warn_unused_result));

/* Wipe and free what sf_tls_load_pem returned.  NULL accepted. */
void sf_tls_free_pem(char *pem);

#define SF_TLS_PEM_MAX (1024u * 1024u)

#endif
