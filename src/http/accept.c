/*
 * accept.c — the accept loop in front of libmicrohttpd.
 *
 * storefort owns its listening sockets instead of letting libmicrohttpd
 * accept, for two reasons:
 *
 *   PROXY protocol.  A load balancer that passes TLS through (or terminates
 *   it) can only tell us the client's address in a PROXY header before the
 *   connection's own bytes.  libmicrohttpd cannot read one, so this loop does,
 *   and hands the connection over with the client's address
 *   (MHD_add_connection), which is then what the ban check, the per-address
 *   connection cap, rate limits, the WAF, the audit trail and the logs see.
 *   The header is read only from peers the edge calls trusted proxies
 *   (hooks.expect_proxy); anyone else's bytes are never looked at, so a
 *   client cannot claim an address by sending a header itself.
 *
 *   Even spread.  When libmicrohttpd's pool threads accept for themselves,
 *   whichever thread wakes first takes the connection, and keep-alive
 *   clients that connect together often end up on one thread while another
 *   idles.  MHD_add_connection places a connection on worker
 *   (socket number % workers), which spreads a burst of connections evenly.
 *
 * One thread: epoll over the listening socket, an eventfd to stop, and the
 * sockets whose PROXY header is still awaited (at most PENDING_MAX, each with
 * a deadline of HEADER_TIMEOUT_MS; the header is peeked, then exactly its
 * bytes are consumed, so the TLS or HTTP stream behind it stays intact).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "core/log.h"
#include "core/util.h"
#include "http/internal.h"

#define PENDING_MAX 256
#define HEADER_TIMEOUT_MS 5000
#define ACCEPT_BATCH 64

struct pending {
	int fd; /* -1: free slot */
	long long deadline_ms;
	char peer[INET6_ADDRSTRLEN];
};

struct sf_http_acceptor {
	struct sf_http_listener *ln;
	int lfd, epfd, evfd;
	pthread_t thread;
	int running;
	struct pending pend[PENDING_MAX];
	size_t npend;
};

void sf_http_addr_text(const struct sockaddr *sa, char *ip, size_t iplen, uint16_t *port)
{
	ip[0] = '\0';
	if (port)
		*port = 0;
	if (!sa)
		return;
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)(const void *)sa;
		inet_ntop(AF_INET, &in->sin_addr, ip, (socklen_t)iplen);
		if (port)
			*port = ntohs(in->sin_port);
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)(const void *)sa;
		if (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr))
			inet_ntop(AF_INET, &in6->sin6_addr.s6_addr[12], ip, (socklen_t)iplen);
		else
			inet_ntop(AF_INET6, &in6->sin6_addr, ip, (socklen_t)iplen);
		if (port)
			*port = ntohs(in6->sin6_port);
	}
}

/* Give the connection to libmicrohttpd; it closes the socket when it
 * refuses (limits, ban, no memory). */
static void hand_over(struct sf_http_acceptor *ac, int fd, const struct sockaddr *sa, socklen_t len)
{
	(void)MHD_add_connection(ac->ln->daemon, fd, sa, len);
}

static void pending_drop(struct sf_http_acceptor *ac, struct pending *p, int close_it)
{
	epoll_ctl(ac->epfd, EPOLL_CTL_DEL, p->fd, NULL);
	if (close_it)
		close(p->fd);
	p->fd = -1;
	ac->npend--;
}

static void pending_add(struct sf_http_acceptor *ac, int fd, const char *peer)
{
	struct pending *slot = NULL;
	for (size_t i = 0; i < PENDING_MAX && !slot; i++)
		if (ac->pend[i].fd < 0)
			slot = &ac->pend[i];
	struct epoll_event ev = { .events = EPOLLIN, .data.fd = fd };
	if (!slot || epoll_ctl(ac->epfd, EPOLL_CTL_ADD, fd, &ev) != 0) {
		sf_log(SF_LOG_WARN, "proxy_protocol", "too many connections awaiting a PROXY header; closing one from %s",
		       peer);
		close(fd);
		return;
	}
	slot->fd = fd;
	slot->deadline_ms = sf_time_mono_ms() + HEADER_TIMEOUT_MS;
	snprintf(slot->peer, sizeof slot->peer, "%s", peer);
	ac->npend++;
}

/* Bytes arrived on a connection awaiting its PROXY header. */
static void pending_read(struct sf_http_acceptor *ac, struct pending *p)
{
	uint8_t buf[SF_PROXY_MAX_HEADER];
	ssize_t n = recv(p->fd, buf, sizeof buf, MSG_PEEK);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
		return;
	if (n <= 0) {
		pending_drop(ac, p, 1); /* closed or failed before a header */
		return;
	}
	struct sockaddr_storage client;
	socklen_t clen = 0;
	size_t used = 0;
	enum sf_proxy_result r = sf_proxy_parse(buf, (size_t)n, &client, &clen, &used);
	if (r == SF_PROXY_MORE)
		return;
	if (r == SF_PROXY_INVALID) {
		sf_log(SF_LOG_WARN, "proxy_protocol", "no valid PROXY header from trusted proxy %s; connection closed",
		       p->peer);
		pending_drop(ac, p, 1);
		return;
	}
	/* Consume exactly the header: what follows belongs to TLS or HTTP. */
	ssize_t got = recv(p->fd, buf, used, 0);
	int fd = p->fd;
	pending_drop(ac, p, 0);
	if (got != (ssize_t)used) {
		close(fd);
		return;
	}
	if (r == SF_PROXY_LOCAL) {
		struct sockaddr_storage peer;
		socklen_t plen = sizeof peer;
		if (getpeername(fd, (struct sockaddr *)&peer, &plen) != 0) {
			close(fd);
			return;
		}
		hand_over(ac, fd, (struct sockaddr *)&peer, plen);
		return;
	}
	hand_over(ac, fd, (struct sockaddr *)&client, clen);
}

static void pending_expire(struct sf_http_acceptor *ac)
{
	long long now = sf_time_mono_ms();
	for (size_t i = 0; i < PENDING_MAX && ac->npend; i++) {
		struct pending *p = &ac->pend[i];
		if (p->fd >= 0 && now >= p->deadline_ms) {
			sf_log(SF_LOG_WARN, "proxy_protocol", "no PROXY header from trusted proxy %s within %d ms; "
			       "connection closed", p->peer, HEADER_TIMEOUT_MS);
			pending_drop(ac, p, 1);
		}
	}
}

static void accept_some(struct sf_http_acceptor *ac)
{
	struct sf_http_server *srv = ac->ln->srv;
	for (int k = 0; k < ACCEPT_BATCH; k++) {
		struct sockaddr_storage ss;
		socklen_t sl = sizeof ss;
		int fd = accept4(ac->lfd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
				sf_log(SF_LOG_WARN, "http_accept", "accept failed: %s", strerror(errno));
				struct timespec ts = { 0, 20 * 1000 * 1000 };
				nanosleep(&ts, NULL); /* let connections finish before retrying */
			}
			return; /* EAGAIN: drained */
		}
		if (srv->hooks.expect_proxy) {
			char peer[INET6_ADDRSTRLEN];
			sf_http_addr_text((struct sockaddr *)&ss, peer, sizeof peer, NULL);
			if (srv->hooks.expect_proxy(srv->app, peer)) {
				pending_add(ac, fd, peer);
				continue;
			}
		}
		hand_over(ac, fd, (struct sockaddr *)&ss, sl);
	}
}

static void *acceptor_main(void *arg)
{
	struct sf_http_acceptor *ac = arg;
	struct epoll_event evs[32];
	for (;;) {
		int timeout = ac->npend ? 250 : -1;
		int n = epoll_wait(ac->epfd, evs, 32, timeout);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			sf_log(SF_LOG_ERROR, "http_accept", "epoll_wait failed: %s", strerror(errno));
			break;
		}
		for (int i = 0; i < n; i++) {
			int fd = evs[i].data.fd;
			if (fd == ac->evfd)
				return NULL;
			if (fd == ac->lfd) {
				accept_some(ac);
				continue;
			}
			for (size_t j = 0; j < PENDING_MAX; j++)
				if (ac->pend[j].fd == fd) {
					pending_read(ac, &ac->pend[j]);
					break;
				}
		}
		if (ac->npend)
			pending_expire(ac);
	}
	return NULL;
}

static int listen_socket(const struct sockaddr *addr, socklen_t addrlen, char *errbuf, size_t errlen)
{
	int fd = socket(addr->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(errbuf, errlen, "socket: %s", strerror(errno));
		return -1;
	}
	int one = 1, zero = 0;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	if (addr->sa_family == AF_INET6 &&
	    IN6_IS_ADDR_UNSPECIFIED(&((const struct sockaddr_in6 *)addr)->sin6_addr))
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof zero); /* "::" takes IPv4 too */
	if (bind(fd, addr, addrlen) != 0 || listen(fd, SOMAXCONN) != 0) {
		snprintf(errbuf, errlen, "%s", strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

enum sf_err sf_http_acceptor_start(struct sf_http_listener *ln, const struct sockaddr *addr, socklen_t addrlen,
				   struct sf_http_acceptor **out, char *errbuf, size_t errlen)
{
	*out = NULL;
	struct sf_http_acceptor *ac = calloc(1, sizeof *ac);
	if (!ac)
		return SF_ERR_NOMEM;
	ac->ln = ln;
	ac->epfd = ac->evfd = -1;
	for (size_t i = 0; i < PENDING_MAX; i++)
		ac->pend[i].fd = -1;
	ac->lfd = listen_socket(addr, addrlen, errbuf, errlen);
	if (ac->lfd < 0) {
		free(ac);
		return SF_ERR_CONFIG;
	}
	struct sockaddr_storage bound;
	socklen_t bl = sizeof bound;
	if (getsockname(ac->lfd, (struct sockaddr *)&bound, &bl) == 0)
		ln->port = ntohs(bound.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&bound)->sin6_port
							     : ((struct sockaddr_in *)&bound)->sin_port);
	ac->epfd = epoll_create1(EPOLL_CLOEXEC);
	ac->evfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	struct epoll_event ev = { .events = EPOLLIN, .data.fd = ac->lfd };
	struct epoll_event stop = { .events = EPOLLIN, .data.fd = ac->evfd };
	if (ac->epfd < 0 || ac->evfd < 0 || epoll_ctl(ac->epfd, EPOLL_CTL_ADD, ac->lfd, &ev) != 0 ||
	    epoll_ctl(ac->epfd, EPOLL_CTL_ADD, ac->evfd, &stop) != 0 ||
	    pthread_create(&ac->thread, NULL, acceptor_main, ac) != 0) {
		snprintf(errbuf, errlen, "cannot start the accept thread: %s", strerror(errno));
		sf_http_acceptor_stop(ac);
		return SF_ERR_INTERNAL;
	}
	ac->running = 1;
	*out = ac;
	return SF_OK;
}

void sf_http_acceptor_stop(struct sf_http_acceptor *ac)
{
	if (!ac)
		return;
	if (ac->running) {
		uint64_t one = 1;
		if (write(ac->evfd, &one, sizeof one) != (ssize_t)sizeof one)
			sf_log(SF_LOG_ERROR, "http_accept", "cannot signal the accept thread: %s", strerror(errno));
		pthread_join(ac->thread, NULL);
	}
	for (size_t i = 0; i < PENDING_MAX; i++)
		if (ac->pend[i].fd >= 0)
			close(ac->pend[i].fd);
	if (ac->lfd >= 0)
		close(ac->lfd);
	if (ac->epfd >= 0)
		close(ac->epfd);
	if (ac->evfd >= 0)
		close(ac->evfd);
	free(ac);
}
