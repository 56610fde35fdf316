/*
 * tlsout.h — one send for an answer's header and body on a TLS connection.
 *
 * libmicrohttpd 0.9.75 hands a TLS answer to GnuTLS in two calls, header
 * then body, so each answer left as two TLS records in two sendmsg calls
 * (two TCP segments, two wake-ups of the client).  This is the connection's
 * GnuTLS push function instead: told that an answer with a body is about to
 * go (sf_tls_out_hold_next), it keeps the next record (the header) and sends
 * it with the record after it (the body) in one sendmsg.  Any record after a
 * held one flushes it first, so order is kept whatever GnuTLS sends; a held
 * record never waits for anything but the next push on the same connection,
 * which libmicrohttpd makes at once (the body follows the header in the same
 * call on non-blocking sockets).
 */
#ifndef SF_HTTP_TLSOUT_H
#define SF_HTTP_TLSOUT_H

#include <gnutls/gnutls.h>
#include <stddef.h>
#include <sys/types.h>
#include <sys/uio.h>

/* Records larger than this are never held (a header record is ~0.7 KB). */
#define SF_TLS_OUT_HOLD_MAX 2048u

struct sf_tls_out {
	int fd;
	int hold;      /* keep the next record back */
	size_t held;   /* bytes in buf not yet on the socket */
	unsigned char buf[SF_TLS_OUT_HOLD_MAX];
};

/* Send through o on session s (socket fd): GnuTLS's push goes to
 * sf_tls_out_push, its pull stays the plain socket read. */
void sf_tls_out_attach(struct sf_tls_out *o, gnutls_session_t s, int fd);

/* The next record is an answer's header and its body follows at once;
 * _cancel: it will not come after all (the answer was not queued). */
void sf_tls_out_hold_next(struct sf_tls_out *o);
void sf_tls_out_hold_cancel(struct sf_tls_out *o);

/* The push function (gnutls_vec_push_func): returns bytes of iov written,
 * or -1 with errno (EAGAIN when nothing of iov went out, including when
 * only part of a held record did).  Exposed for the unit tests. */
ssize_t sf_tls_out_push(gnutls_transport_ptr_t ptr, const giovec_t *iov, int iovcnt);

#endif
