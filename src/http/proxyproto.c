/*
 * proxyproto.c — the PROXY protocol header (HAProxy's proxy-protocol.txt,
 * versions 1 and 2) that a trusted load balancer puts in front of the bytes
 * of a connection to tell the server who the client is.
 *
 * The parser is strict and pure: it reads a byte prefix (what recv with
 * MSG_PEEK returned so far) and says whether a complete, valid header is
 * there, how long it is and which address it names.  The acceptor (accept.c)
 * only asks it about connections from trusted peers; for anyone else the
 * bytes are never looked at.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

#include "http/internal.h"

static const uint8_t v2_sig[12] = { 0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A };
#define V1_PREFIX "PROXY "
#define V1_MAX 107 /* the whole line, CRLF included (the spec's limit) */

/* A decimal port: 1 to 5 digits, no leading zero (except "0"), <= 65535. */
static int parse_port(const char *s, size_t n, uint16_t *out)
{
	if (n == 0 || n > 5 || (n > 1 && s[0] == '0'))
		return 0;
	unsigned v = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return 0;
		v = v * 10 + (unsigned)(s[i] - '0');
	}
	if (v > 65535)
		return 0;
	*out = (uint16_t)v;
	return 1;
}

/* Split line[0..n) (no CRLF) on single spaces into at most max fields. */
static size_t split_fields(const char *line, size_t n, const char **f, size_t *fl, size_t max)
{
	size_t k = 0, start = 0;
	for (size_t i = 0; i <= n; i++) {
		if (i < n && line[i] != ' ')
			continue;
		if (k == max)
			return max + 1;
		f[k] = line + start;
		fl[k] = i - start;
		k++;
		start = i + 1;
	}
	return k;
}

static int v1_addr(int family, const char *s, size_t n, void *dst)
{
	char tmp[INET6_ADDRSTRLEN];
	if (n == 0 || n >= sizeof tmp)
		return 0;
	memcpy(tmp, s, n);
	tmp[n] = '\0';
	return inet_pton(family, tmp, dst) == 1;
}

static enum sf_proxy_result parse_v1(const uint8_t *buf, size_t len, struct sockaddr_storage *addr,
				     socklen_t *addrlen, size_t *consumed)
{
	size_t plen = sizeof V1_PREFIX - 1;
	size_t cmp = len < plen ? len : plen;
	if (memcmp(buf, V1_PREFIX, cmp) != 0)
		return SF_PROXY_INVALID;
	const uint8_t *cr = NULL;
	size_t lim = len < V1_MAX ? len : V1_MAX;
	for (size_t i = 0; i < lim; i++) {
		if (buf[i] == '\r') {
			cr = buf + i;
			break;
		}
		if (buf[i] < 0x20 || buf[i] > 0x7e)
			return SF_PROXY_INVALID;
	}
	if (!cr)
		return len >= V1_MAX ? SF_PROXY_INVALID : SF_PROXY_MORE;
	size_t n = (size_t)(cr - buf);
	if (n + 1 >= len)
		return n + 2 > V1_MAX ? SF_PROXY_INVALID : SF_PROXY_MORE;
	if (cr[1] != '\n' || n + 2 > V1_MAX)
		return SF_PROXY_INVALID;
	*consumed = n + 2;
	const char *line = (const char *)buf + plen;
	n -= plen;
	const char *f[6];
	size_t fl[6];
	size_t k = split_fields(line, n, f, fl, 6);
	if (k >= 1 && fl[0] == 7 && !memcmp(f[0], "UNKNOWN", 7))
		return SF_PROXY_LOCAL; /* the rest of the line is to be ignored */
	if (k != 5)
		return SF_PROXY_INVALID;
	int family;
	if (fl[0] == 4 && !memcmp(f[0], "TCP4", 4))
		family = AF_INET;
	else if (fl[0] == 4 && !memcmp(f[0], "TCP6", 4))
		family = AF_INET6;
	else
		return SF_PROXY_INVALID;
	uint8_t src[16], dst[16];
	uint16_t sport, dport;
	if (!v1_addr(family, f[1], fl[1], src) || !v1_addr(family, f[2], fl[2], dst) ||
	    !parse_port(f[3], fl[3], &sport) || !parse_port(f[4], fl[4], &dport))
		return SF_PROXY_INVALID;
	memset(addr, 0, sizeof *addr);
	if (family == AF_INET) {
		struct sockaddr_in *in = (struct sockaddr_in *)addr;
		in->sin_family = AF_INET;
		memcpy(&in->sin_addr, src, 4);
		in->sin_port = htons(sport);
		*addrlen = sizeof *in;
	} else {
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)addr;
		in6->sin6_family = AF_INET6;
		memcpy(&in6->sin6_addr, src, 16);
		in6->sin6_port = htons(sport);
		*addrlen = sizeof *in6;
	}
	return SF_PROXY_OK;
}

static enum sf_proxy_result parse_v2(const uint8_t *buf, size_t len, struct sockaddr_storage *addr,
				     socklen_t *addrlen, size_t *consumed)
{
	size_t cmp = len < sizeof v2_sig ? len : sizeof v2_sig;
	if (memcmp(buf, v2_sig, cmp) != 0)
		return SF_PROXY_INVALID;
	if (len >= 13 && (buf[12] & 0xF0) != 0x20)
		return SF_PROXY_INVALID; /* version 2 only */
	if (len >= 13 && (buf[12] & 0x0F) > 1)
		return SF_PROXY_INVALID; /* LOCAL or PROXY only */
	if (len < 16)
		return SF_PROXY_MORE;
	size_t body = (size_t)buf[14] << 8 | buf[15];
	if (16 + body > SF_PROXY_MAX_HEADER)
		return SF_PROXY_INVALID;
	if (len < 16 + body)
		return SF_PROXY_MORE;
	*consumed = 16 + body;
	if ((buf[12] & 0x0F) == 0)
		return SF_PROXY_LOCAL; /* the proxy's own connection (health check): the address block is ignored */
	const uint8_t *a = buf + 16;
	memset(addr, 0, sizeof *addr);
	switch (buf[13]) {
	case 0x00: /* AF_UNSPEC: the real connection's endpoints stand */
		return SF_PROXY_LOCAL;
	case 0x11: { /* TCP over IPv4 */
		if (body < 12)
			return SF_PROXY_INVALID;
		struct sockaddr_in *in = (struct sockaddr_in *)addr;
		in->sin_family = AF_INET;
		memcpy(&in->sin_addr, a, 4);
		memcpy(&in->sin_port, a + 8, 2);
		*addrlen = sizeof *in;
		return SF_PROXY_OK;
	}
	case 0x21: { /* TCP over IPv6 */
		if (body < 36)
			return SF_PROXY_INVALID;
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)addr;
		in6->sin6_family = AF_INET6;
		memcpy(&in6->sin6_addr, a, 16);
		memcpy(&in6->sin6_port, a + 32, 2);
		*addrlen = sizeof *in6;
		return SF_PROXY_OK;
	}
	default: /* UDP or UNIX sockets: not a client of an HTTPS server */
		return SF_PROXY_INVALID;
	}
}

enum sf_proxy_result sf_proxy_parse(const uint8_t *buf, size_t len, struct sockaddr_storage *addr, socklen_t *addrlen,
				    size_t *consumed)
{
	*consumed = 0;
	if (len == 0)
		return SF_PROXY_MORE;
	if (buf[0] == 'P')
		return parse_v1(buf, len, addr, addrlen, consumed);
	if (buf[0] == 0x0D)
		return parse_v2(buf, len, addr, addrlen, consumed);
	return SF_PROXY_INVALID;
}
