/* test_tlsout.c — the TLS push function that sends an answer's header record
 * with its body record: a held record goes out only with the next one and in
 * order; partial sends and a full socket lose and repeat nothing (a random
 * run against a slow reader, with GnuTLS's retry rule); a closed peer is an
 * error, not a SIGPIPE; and over a real GnuTLS session the header is not on
 * the wire until the body goes, then both arrive. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "http/tls.h"
#include "http/tlsout.h"

static void pair(int sv[2], int sndbuf)
{
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	for (int i = 0; i < 2; i++)
		assert_int_equal(fcntl(sv[i], F_SETFL, fcntl(sv[i], F_GETFL) | O_NONBLOCK), 0);
	if (sndbuf)
		assert_int_equal(setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf), 0);
}

/* A loopback TCP connection (partial sends at any byte, unlike AF_UNIX). */
static void tcp_pair(int sv[2], int sndbuf)
{
	int l = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(l >= 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t al = sizeof a;
	assert_int_equal(bind(l, (struct sockaddr *)&a, sizeof a), 0);
	assert_int_equal(listen(l, 1), 0);
	assert_int_equal(getsockname(l, (struct sockaddr *)&a, &al), 0);
	sv[1] = socket(AF_INET, SOCK_STREAM, 0);
	int small = 4096;
	assert_int_equal(setsockopt(sv[1], SOL_SOCKET, SO_RCVBUF, &small, sizeof small), 0);
	assert_int_equal(connect(sv[1], (struct sockaddr *)&a, sizeof a), 0);
	sv[0] = accept(l, NULL, NULL);
	assert_true(sv[0] >= 0);
	close(l);
	for (int i = 0; i < 2; i++)
		assert_int_equal(fcntl(sv[i], F_SETFL, fcntl(sv[i], F_GETFL) | O_NONBLOCK), 0);
	assert_int_equal(setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf), 0);
}

static ssize_t push1(struct sf_tls_out *o, const void *p, size_t n)
{
	giovec_t v = { (void *)(uintptr_t)p, n };
	return sf_tls_out_push(o, &v, 1);
}

static size_t drain(int fd, unsigned char *out, size_t cap)
{
	size_t got = 0;
	for (;;) {
		ssize_t r = recv(fd, out + got, cap - got, MSG_DONTWAIT);
		if (r <= 0)
			return got;
		got += (size_t)r;
	}
}

static void test_pass_through(void **state)
{
	(void)state;
	int sv[2];
	pair(sv, 0);
	struct sf_tls_out o = { .fd = sv[0] };
	assert_int_equal(push1(&o, "abc", 3), 3);
	unsigned char b[16];
	assert_int_equal(drain(sv[1], b, sizeof b), 3);
	assert_memory_equal(b, "abc", 3);
	close(sv[0]);
	close(sv[1]);
}

static void test_hold_then_flush(void **state)
{
	(void)state;
	int sv[2];
	pair(sv, 0);
	struct sf_tls_out o = { .fd = sv[0] };
	sf_tls_out_hold_next(&o);
	/* Two iovecs, as GnuTLS may pass a record header and its payload. */
	giovec_t hv[2] = { { "HEAD", 4 }, { "ER", 2 } };
	assert_int_equal(sf_tls_out_push(&o, hv, 2), 6);
	unsigned char b[64];
	assert_int_equal(drain(sv[1], b, sizeof b), 0); /* nothing on the wire yet */
	assert_int_equal(push1(&o, "body", 4), 4);    /* counts only its own bytes */
	assert_int_equal(drain(sv[1], b, sizeof b), 10);
	assert_memory_equal(b, "HEADERbody", 10);
	/* Holding is for one record only: the next goes at once. */
	assert_int_equal(push1(&o, "x", 1), 1);
	assert_int_equal(drain(sv[1], b, sizeof b), 1);
	close(sv[0]);
	close(sv[1]);
}

static void test_large_not_held(void **state)
{
	(void)state;
	int sv[2];
	pair(sv, 0);
	struct sf_tls_out o = { .fd = sv[0] };
	static unsigned char big[SF_TLS_OUT_HOLD_MAX + 1], b[sizeof big];
	memset(big, 'z', sizeof big);
	sf_tls_out_hold_next(&o);
	assert_int_equal(push1(&o, big, sizeof big), (ssize_t)sizeof big);
	assert_int_equal(drain(sv[1], b, sizeof b), sizeof big);
	assert_int_equal(o.hold, 0);
	assert_int_equal(o.held, 0);
	close(sv[0]);
	close(sv[1]);
}

/* GnuTLS's rule: a record a push did not take whole is offered again (its
 * unsent rest) until it has gone.  Random record sizes, random holds and a
 * reader that drains a little at a time; the reader must see exactly the
 * records' concatenation.  One run with the given seed; *eagain counts the
 * pushes that found the socket full, *partial_held those that left a held
 * record partly sent. */
static void random_run(unsigned seed, size_t *eagain, size_t *partial_held)
{
	int sv[2];
	tcp_pair(sv, 4096);
	struct sf_tls_out o = { .fd = sv[0] };
	enum { TOTAL = 2 * 1024 * 1024 };
	unsigned char *sent = malloc(TOTAL), *got = malloc(TOTAL + 65536);
	assert_non_null(sent);
	assert_non_null(got);
	for (size_t i = 0; i < TOTAL; i++)
		sent[i] = (unsigned char)(rand_r(&seed) & 0xff);
	size_t off = 0, ngot = 0;
	*eagain = *partial_held = 0;
	while (off < TOTAL) {
		size_t n = 1 + (size_t)rand_r(&seed) % 5000;
		if (n > TOTAL - off)
			n = TOTAL - off;
		if (rand_r(&seed) % 3 == 0)
			sf_tls_out_hold_next(&o);
		size_t done = 0;
		while (done < n) {
			size_t before = o.held;
			ssize_t w = push1(&o, sent + off + done, n - done);
			if (w < 0) {
				assert_int_equal(errno, EAGAIN);
				++*eagain;
				if (o.held && o.held < before)
					++*partial_held;
				/* The reader takes some, never all at once. */
				unsigned char tmp[3000];
				ssize_t r = recv(sv[1], tmp, 1 + (size_t)rand_r(&seed) % sizeof tmp, MSG_DONTWAIT);
				if (r > 0) {
					memcpy(got + ngot, tmp, (size_t)r);
					ngot += (size_t)r;
				}
				continue;
			}
			assert_true(w > 0);
			done += (size_t)w;
		}
		off += n;
	}
	/* A last record flushes anything held. */
	while (o.held) {
		ssize_t w = sf_tls_out_push(&o, NULL, 0);
		(void)w;
		ngot += drain(sv[1], got + ngot, TOTAL + 65536 - ngot);
	}
	ngot += drain(sv[1], got + ngot, TOTAL + 65536 - ngot);
	int same = ngot == TOTAL && memcmp(got, sent, TOTAL) == 0;
	free(sent);
	free(got);
	assert_int_equal(ngot, TOTAL);
	assert_true(same);
	close(sv[0]);
	close(sv[1]);
}

static void test_random_against_slow_reader(void **state)
{
	(void)state;
	/* Whether a held record is caught partly sent depends on how the
	 * kernel fills the socket, which varies with the machine's load: every
	 * run must deliver the bytes exactly, and some run within 20 seeds must
	 * have exercised a full socket and a partly sent held record. */
	size_t eagain = 0, partial_held = 0;
	int exercised = 0;
	for (unsigned seed = 7; seed < 27 && !exercised; seed++) {
		random_run(seed, &eagain, &partial_held);
		exercised = eagain > 100 && partial_held > 0;
	}
	assert_true(exercised);
}

static void test_closed_peer(void **state)
{
	(void)state;
	int sv[2];
	pair(sv, 0);
	struct sf_tls_out o = { .fd = sv[0] };
	close(sv[1]);
	sf_tls_out_hold_next(&o);
	assert_int_equal(push1(&o, "hdr", 3), 3); /* held */
	errno = 0;
	assert_int_equal(push1(&o, "body", 4), -1); /* no SIGPIPE: the test lives on */
	assert_int_equal(errno, EPIPE);
	close(sv[0]);
}

/* ---- a real GnuTLS session over a socket pair ---- */

static void handshake(gnutls_session_t s, gnutls_session_t c)
{
	int rs = GNUTLS_E_AGAIN, rc = GNUTLS_E_AGAIN;
	for (int i = 0; i < 10000 && (rs != 0 || rc != 0); i++) {
		if (rs != 0) {
			rs = gnutls_handshake(s);
			if (rs < 0 && !gnutls_error_is_fatal(rs))
				rs = GNUTLS_E_AGAIN;
		}
		if (rc != 0) {
			rc = gnutls_handshake(c);
			if (rc < 0 && !gnutls_error_is_fatal(rc))
				rc = GNUTLS_E_AGAIN;
		}
		assert_true(rs == 0 || rs == GNUTLS_E_AGAIN);
		assert_true(rc == 0 || rc == GNUTLS_E_AGAIN);
	}
	assert_int_equal(rs, 0);
	assert_int_equal(rc, 0);
}

static int readable(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	return poll(&p, 1, 0) == 1;
}

static void test_gnutls_session(void **state)
{
	(void)state;
	char dir[] = "/tmp/sf-tlsout-XXXXXX", cert[64], key[64], err[256];
	assert_non_null(mkdtemp(dir));
	snprintf(cert, sizeof cert, "%s/c.pem", dir);
	snprintf(key, sizeof key, "%s/k.pem", dir);
	assert_int_equal(sf_tls_make_self_signed(cert, key, "localhost", err, sizeof err), SF_OK);
	gnutls_certificate_credentials_t sc, cc;
	assert_int_equal(gnutls_certificate_allocate_credentials(&sc), 0);
	assert_int_equal(gnutls_certificate_set_x509_key_file(sc, cert, key, GNUTLS_X509_FMT_PEM), 0);
	assert_int_equal(gnutls_certificate_allocate_credentials(&cc), 0);

	int sv[2];
	pair(sv, 0);
	gnutls_session_t s, c;
	assert_int_equal(gnutls_init(&s, GNUTLS_SERVER | GNUTLS_NONBLOCK), 0);
	assert_int_equal(gnutls_init(&c, GNUTLS_CLIENT | GNUTLS_NONBLOCK), 0);
	assert_int_equal(gnutls_set_default_priority(s), 0);
	assert_int_equal(gnutls_set_default_priority(c), 0);
	assert_int_equal(gnutls_credentials_set(s, GNUTLS_CRD_CERTIFICATE, sc), 0);
	assert_int_equal(gnutls_credentials_set(c, GNUTLS_CRD_CERTIFICATE, cc), 0);
	gnutls_transport_set_int(c, sv[1]);
	struct sf_tls_out o;
	memset(&o, 0, sizeof o);
	sf_tls_out_attach(&o, s, sv[0]); /* from the start: the handshake goes through it too */
	handshake(s, c);
	char buf[256];
	while (gnutls_record_recv(c, buf, sizeof buf) > 0) /* session tickets, if any */
		;

	for (int round = 0; round < 3; round++) {
		sf_tls_out_hold_next(&o);
		assert_int_equal(gnutls_record_send(s, "HTTP/1.1 200 OK\r\n\r\n", 19), 19);
		assert_false(readable(sv[1])); /* the header waits for its body */
		assert_int_equal(gnutls_record_send(s, "{\"ok\":true}", 11), 11);
		assert_true(readable(sv[1]));
		size_t got = 0;
		while (got < 30) {
			ssize_t r = gnutls_record_recv(c, buf + got, sizeof buf - got);
			assert_true(r > 0);
			got += (size_t)r;
		}
		assert_int_equal(got, 30);
		assert_memory_equal(buf, "HTTP/1.1 200 OK\r\n\r\n{\"ok\":true}", 30);
	}
	/* Without a hold, a record goes at once. */
	assert_int_equal(gnutls_record_send(s, "late", 4), 4);
	assert_true(readable(sv[1]));
	assert_int_equal(gnutls_record_recv(c, buf, sizeof buf), 4);

	gnutls_deinit(s);
	gnutls_deinit(c);
	gnutls_certificate_free_credentials(sc);
	gnutls_certificate_free_credentials(cc);
	close(sv[0]);
	close(sv[1]);
	unlink(cert);
	unlink(key);
	rmdir(dir);
}

int main(void)
{
	signal(SIGPIPE, SIG_DFL); /* a SIGPIPE would end the test */
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pass_through),
		cmocka_unit_test(test_hold_then_flush),
		cmocka_unit_test(test_large_not_held),
		cmocka_unit_test(test_random_against_slow_reader),
		cmocka_unit_test(test_closed_peer),
		cmocka_unit_test(test_gnutls_session),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
