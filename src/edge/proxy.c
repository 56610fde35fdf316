/*
 * proxy.c — address lists (trusted proxies, the ban allow list) and the
 * client address behind trusted proxies.
 *
 * X-Forwarded-For is a comma-separated list of hops, each appended by the
 * proxy that received the request from it.  Only hops added by proxies we
 * trust are believable, so the list is walked from the right: while the
 * current sender is a trusted proxy, the hop it reported becomes the sender;
 * the first sender that is not trusted is the client.  A peer that is not a
 * trusted proxy is the client, whatever X-Forwarded-For says.
 *
 * The PROXY protocol is not supported: libmicrohttpd reads the socket
 * itself from the first byte, so a PROXY header would have to be consumed
 * before the connection is handed to it (MHD_add_connection with an
 * external accept loop) — see docs/SECURITY.md.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "core/util.h"
#include "edge/edge_int.h"

int sf_edge_addr_parse(const char *ip, int *family, uint8_t addr[16])
{
	memset(addr, 0, 16);
	if (!ip || !*ip)
		return 0;
	struct in_addr a4;
	struct in6_addr a6;
	if (inet_pton(AF_INET, ip, &a4) == 1) {
		*family = AF_INET;
		memcpy(addr, &a4, 4);
		return 1;
	}
	if (inet_pton(AF_INET6, ip, &a6) == 1) {
		if (IN6_IS_ADDR_V4MAPPED(&a6)) {
			*family = AF_INET;
			memcpy(addr, &a6.s6_addr[12], 4);
		} else {
			*family = AF_INET6;
			memcpy(addr, &a6, 16);
		}
		return 1;
	}
	return 0;
}

static int prefix_match(const uint8_t *a, const uint8_t *net, unsigned bits)
{
	unsigned whole = bits / 8, rest = bits % 8;
	if (memcmp(a, net, whole) != 0)
		return 0;
	if (!rest)
		return 1;
	uint8_t mask = (uint8_t)(0xffu << (8 - rest));
	return (a[whole] & mask) == (net[whole] & mask);
}

/* Parse one "addr" or "addr/bits" item.  Returns 1 on success. */
static int cidr_parse(const char *item, struct sf_cidr *out)
{
	char host[64];
	const char *slash = strchr(item, '/');
	size_t hl = slash ? (size_t)(slash - item) : strlen(item);
	if (hl == 0 || hl >= sizeof host)
		return 0;
	memcpy(host, item, hl);
	host[hl] = '\0';
	if (!sf_edge_addr_parse(host, &out->family, out->addr))
		return 0;
	unsigned max = out->family == AF_INET ? 32 : 128;
	out->bits = max;
	if (slash) {
		const char *b = slash + 1;
		if (!*b || strlen(b) > 3 || strspn(b, "0123456789") != strlen(b))
			return 0;
		unsigned v = 0;
		for (; *b; b++)
			v = v * 10 + (unsigned)(*b - '0');
		if (v > max)
			return 0;
		out->bits = v;
	}
	/* Host bits must be zero: "10.1.2.3/8" is a typo, not a network. */
	for (unsigned i = out->bits; i < max; i++)
		if (out->addr[i / 8] & (0x80u >> (i % 8)))
			return 0;
	return 1;
}

enum sf_err sf_cidr_list_parse(const char *text, struct sf_cidr_list *out, char *bad, size_t badlen)
{
	out->v = NULL;
	out->n = 0;
	if (badlen)
		bad[0] = '\0';
	size_t cap = 0;
	const char *p = text ? text : "";
	while (*p) {
		p += strspn(p, ", \t");
		if (!*p)
			break;
		size_t n = strcspn(p, ", \t");
		char item[80];
		struct sf_cidr c;
		int ok = n < sizeof item;
		if (ok) {
			memcpy(item, p, n);
			item[n] = '\0';
			ok = cidr_parse(item, &c);
		}
		if (!ok) {
			snprintf(bad, badlen, "%.*s", (int)(n < 64 ? n : 64), p);
			sf_cidr_list_free(out);
			return SF_ERR_INVALID;
		}
		if (out->n == cap) {
			size_t nc = cap ? cap * 2 : 4;
			struct sf_cidr *v = realloc(out->v, nc * sizeof *v);
			if (!v) {
				sf_cidr_list_free(out);
				return SF_ERR_NOMEM;
			}
			out->v = v;
			cap = nc;
		}
		out->v[out->n++] = c;
		p += n;
	}
	return SF_OK;
}

void sf_cidr_list_free(struct sf_cidr_list *l)
{
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

int sf_cidr_list_match(const struct sf_cidr_list *l, const char *ip)
{
	int fam;
	uint8_t a[16];
	if (!l || !l->n || !sf_edge_addr_parse(ip, &fam, a))
		return 0;
	for (size_t i = 0; i < l->n; i++)
		if (l->v[i].family == fam && prefix_match(a, l->v[i].addr, l->v[i].bits))
			return 1;
	return 0;
}

/* Copy hop [s, s+n) trimmed into out as a canonical address; 1 when valid.
 * "[v6]" brackets and a ":port" after an IPv4 address are accepted. */
static int hop_addr(const char *s, size_t n, char *out, size_t outlen)
{
	while (n && (*s == ' ' || *s == '\t')) {
		s++;
		n--;
	}
	while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		n--;
	char tmp[64];
	if (n == 0 || n >= sizeof tmp)
		return 0;
	memcpy(tmp, s, n);
	tmp[n] = '\0';
	char *h = tmp;
	if (h[0] == '[') {
		char *close = strchr(h, ']');
		if (!close)
			return 0;
		*close = '\0';
		h++;
	} else {
		char *colon = strchr(h, ':');
		if (colon && !strchr(colon + 1, ':'))
			*colon = '\0'; /* IPv4:port */
	}
	int fam;
	uint8_t a[16];
	if (!sf_edge_addr_parse(h, &fam, a))
		return 0;
	if (!inet_ntop(fam, a, out, (socklen_t)outlen))
		return 0;
	return 1;
}

int sf_edge_client_addr(const struct sf_cidr_list *trusted, const char *peer, const char *xff, char *out,
			size_t outlen)
{
	sf_strlcpy(out, peer ? peer : "", outlen);
	if (!xff || !*xff || !sf_cidr_list_match(trusted, peer))
		return 0;
	int from_xff = 0;
	size_t end = strlen(xff);
	char hop[46];
	while (end > 0) {
		size_t start = end;
		while (start > 0 && xff[start - 1] != ',')
			start--;
		if (!hop_addr(xff + start, end - start, hop, sizeof hop))
			break; /* garbage: the last good sender is the client */
		sf_strlcpy(out, hop, outlen);
		from_xff = 1;
		if (!sf_cidr_list_match(trusted, hop))
			break; /* the first untrusted hop: the client */
		end = start ? start - 1 : 0;
	}
	return from_xff;
}
