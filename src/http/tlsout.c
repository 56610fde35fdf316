/*
 * tlsout.c — GnuTLS push function that sends an answer's header record with
 * its body record (see tlsout.h).
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>

#include "http/tlsout.h"

#define IOV_MAX_HERE 16

void sf_tls_out_attach(struct sf_tls_out *o, gnutls_session_t s, int fd)
{
	o->fd = fd;
	o->hold = 0;
	o->held = 0;
	/* Pull keeps reading the socket (receive pointer = fd, GnuTLS's own
	 * read); push comes here. */
	gnutls_transport_set_ptr2(s, (gnutls_transport_ptr_t)(intptr_t)fd, o);
	gnutls_transport_set_vec_push_function(s, sf_tls_out_push);
}

void sf_tls_out_hold_next(struct sf_tls_out *o)
{
	o->hold = 1;
}

void sf_tls_out_hold_cancel(struct sf_tls_out *o)
{
	o->hold = 0;
}

static size_t iov_total(const giovec_t *iov, int iovcnt)
{
	size_t n = 0;
	for (int i = 0; i < iovcnt; i++)
		n += iov[i].iov_len;
	return n;
}

ssize_t sf_tls_out_push(gnutls_transport_ptr_t ptr, const giovec_t *iov, int iovcnt)
{
	struct sf_tls_out *o = ptr;
	size_t total = iov_total(iov, iovcnt);

	if (o->hold && o->held == 0 && total <= sizeof o->buf) {
		/* Keep this record for the next push. */
		o->hold = 0;
		for (int i = 0; i < iovcnt; i++) {
			memcpy(o->buf + o->held, iov[i].iov_base, iov[i].iov_len);
			o->held += iov[i].iov_len;
		}
		return (ssize_t)total;
	}
	o->hold = 0;

	/* A sendmsg may take less than all: past IOV_MAX_HERE entries the rest
	 * is simply left for GnuTLS's next call. */
	struct iovec v[IOV_MAX_HERE];
	int n = 0;
	if (o->held) {
		v[n].iov_base = o->buf;
		v[n].iov_len = o->held;
		n++;
	}
	for (int i = 0; i < iovcnt && n < IOV_MAX_HERE; i++) {
		v[n].iov_base = iov[i].iov_base;
		v[n].iov_len = iov[i].iov_len;
		n++;
	}
	struct msghdr m = { .msg_iov = v, .msg_iovlen = (size_t)n };
	ssize_t w;
	do
		w = sendmsg(o->fd, &m, MSG_NOSIGNAL);
	while (w < 0 && errno == EINTR);
	if (w < 0)
		return -1; /* errno from sendmsg; the held record stays */
	size_t sent = (size_t)w;
	if (sent < o->held) {
		/* Only part of the held record went: keep the rest, in order,
		 * and tell GnuTLS to come back with this record later. */
		memmove(o->buf, o->buf + sent, o->held - sent);
		o->held -= sent;
		errno = EAGAIN;
		return -1;
	}
	sent -= o->held;
	o->held = 0;
	if (sent == 0 && total != 0) {
		errno = EAGAIN;
		return -1;
	}
	return (ssize_t)sent;
}
