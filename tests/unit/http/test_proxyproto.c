/* test_proxyproto.c — the PROXY protocol header parser (HAProxy's
 * proxy-protocol.txt, v1 text and v2 binary): the spec's examples, every
 * prefix of a valid header (more, never invalid), and the hostile forms
 * (bad signature, version, command, family, lengths, ports, addresses,
 * missing CRLF, oversized) rejected. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

#include "http/internal.h"

static enum sf_proxy_result parse(const void *buf, size_t len, char *ip, uint16_t *port, size_t *used)
{
	struct sockaddr_storage ss;
	socklen_t sl = 0;
	memset(&ss, 0, sizeof ss);
	enum sf_proxy_result r = sf_proxy_parse(buf, len, &ss, &sl, used);
	ip[0] = '\0';
	*port = 0;
	if (r == SF_PROXY_OK) {
		assert_true(sl == sizeof(struct sockaddr_in) || sl == sizeof(struct sockaddr_in6));
		sf_http_addr_text((struct sockaddr *)&ss, ip, INET6_ADDRSTRLEN, port);
	}
	return r;
}

/* Every strict prefix of a valid header asks for more. */
static void assert_prefixes_more(const uint8_t *h, size_t n)
{
	char ip[INET6_ADDRSTRLEN];
	uint16_t port;
	size_t used;
	for (size_t i = 0; i < n; i++)
		if (parse(h, i, ip, &port, &used) != SF_PROXY_MORE)
			fail_msg("prefix of %zu of %zu bytes not 'more'", i, n);
}

static void test_v1_examples(void **state)
{
	(void)state;
	char ip[INET6_ADDRSTRLEN];
	uint16_t port;
	size_t used;
	const char *h4 = "PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\n";
	char buf[256];
	snprintf(buf, sizeof buf, "%s\x16\x03\x01", h4); /* a ClientHello follows */
	assert_int_equal(parse(buf, strlen(buf), ip, &port, &used), SF_PROXY_OK);
	assert_string_equal(ip, "192.168.0.1");
	assert_int_equal(port, 56324);
	assert_int_equal(used, strlen(h4));
	assert_prefixes_more((const uint8_t *)h4, strlen(h4));

	const char *h6 = "PROXY TCP6 2001:db8::1 2001:db8::2 65535 8443\r\nGET / HTTP/1.1\r\n";
	assert_int_equal(parse(h6, strlen(h6), ip, &port, &used), SF_PROXY_OK);
	assert_string_equal(ip, "2001:db8::1");
	assert_int_equal(port, 65535);
	assert_int_equal(used, strlen("PROXY TCP6 2001:db8::1 2001:db8::2 65535 8443\r\n"));

	const char *u = "PROXY UNKNOWN\r\n";
	assert_int_equal(parse(u, strlen(u), ip, &port, &used), SF_PROXY_LOCAL);
	assert_int_equal(used, strlen(u));
	const char *u2 = "PROXY UNKNOWN ffff:f...f:ffff ffff:f...f:ffff 65535 65535\r\n";
	assert_int_equal(parse(u2, strlen(u2), ip, &port, &used), SF_PROXY_LOCAL);
	assert_int_equal(used, strlen(u2));

	/* The longest line the spec allows (107 bytes) is accepted. */
	const char *lng = "PROXY TCP6 ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff "
			  "65535 65535\r\n";
	assert_int_equal(strlen(lng), 104);
	assert_int_equal(parse(lng, strlen(lng), ip, &port, &used), SF_PROXY_OK);
	assert_string_equal(ip, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff");
}

static void test_v1_hostile(void **state)
{
	(void)state;
	static const char *bad[] = {
		"GET / HTTP/1.1\r\n",                                      /* no header at all */
		"\x16\x03\x01\x02\x00",                                    /* a TLS ClientHello */
		"proxy TCP4 1.2.3.4 5.6.7.8 1 2\r\n",                      /* case */
		"PROXY TCP4 1.2.3.4 5.6.7.8 1 2\n",                        /* LF without CR */
		"PROXY TCP4 1.2.3.4 5.6.7.8 1 2\rX",                       /* CR without LF */
		"PROXY TCP4  1.2.3.4 5.6.7.8 1 2\r\n",                     /* double space */
		"PROXY TCP4 1.2.3.4 5.6.7.8 1 2 \r\n",                     /* trailing space */
		"PROXY TCP4 1.2.3.4 5.6.7.8 1\r\n",                        /* missing port */
		"PROXY TCP4 1.2.3.4 5.6.7.8 1 2 3\r\n",                    /* extra field */
		"PROXY TCP4 1.2.3.4 5.6.7.8 65536 2\r\n",                  /* port range */
		"PROXY TCP4 1.2.3.4 5.6.7.8 01 2\r\n",                     /* leading zero */
		"PROXY TCP4 1.2.3.4 5.6.7.8 -1 2\r\n",                     /* sign */
		"PROXY TCP4 1.2.3.4 5.6.7.8 1a 2\r\n",                     /* not digits */
		"PROXY TCP4 1.2.3 5.6.7.8 1 2\r\n",                        /* short address */
		"PROXY TCP4 01.2.3.4 5.6.7.8 1 2\r\n",                     /* octal-looking */
		"PROXY TCP4 0x1.2.3.4 5.6.7.8 1 2\r\n",                    /* hex */
		"PROXY TCP4 2001:db8::1 5.6.7.8 1 2\r\n",                  /* family mismatch */
		"PROXY TCP6 1.2.3.4 2001:db8::2 1 2\r\n",                  /* family mismatch */
		"PROXY UDP4 1.2.3.4 5.6.7.8 1 2\r\n",                      /* protocol */
		"PROXY \r\n",                                              /* nothing */
		"PROXY TCP4 1.2.3.4\x00 5.6.7.8 1 2\r\n",                  /* NUL */
		"PROXY TCP4 1.2.3.4\t5.6.7.8 1 2\r\n",                     /* control */
		"PROXY TCP4 1.2.3.4 5.6.7.8 1 2\xc3\xa9\r\n",              /* non-ASCII */
	};
	char ip[INET6_ADDRSTRLEN];
	uint16_t port;
	size_t used;
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		size_t n = strlen(bad[i]);
		if (i == 20)
			n = strlen("PROXY TCP4 1.2.3.4") + 1 + strlen(" 5.6.7.8 1 2\r\n");
		if (parse(bad[i], n, ip, &port, &used) != SF_PROXY_INVALID)
			fail_msg("should refuse #%zu '%s'", i, bad[i]);
	}
	/* No CRLF within 107 bytes: refused, not waited for forever. */
	char lng[200];
	memset(lng, '1', sizeof lng);
	memcpy(lng, "PROXY TCP4 ", 11);
	assert_int_equal(parse(lng, 106, ip, &port, &used), SF_PROXY_MORE);
	assert_int_equal(parse(lng, 107, ip, &port, &used), SF_PROXY_INVALID);
	assert_int_equal(parse(lng, sizeof lng, ip, &port, &used), SF_PROXY_INVALID);
	/* A line whose CRLF would end past 107 bytes. */
	char over[120];
	memset(over, ' ', sizeof over);
	memcpy(over, "PROXY UNKNOWN", 13);
	over[106] = '\r';
	over[107] = '\n';
	assert_int_equal(parse(over, 108, ip, &port, &used), SF_PROXY_INVALID);
}

static const uint8_t sig[12] = { 0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A };

static size_t v2(uint8_t *out, uint8_t ver_cmd, uint8_t fam, const uint8_t *body, uint16_t blen)
{
	memcpy(out, sig, 12);
	out[12] = ver_cmd;
	out[13] = fam;
	out[14] = (uint8_t)(blen >> 8);
	out[15] = (uint8_t)blen;
	if (blen)
		memcpy(out + 16, body, blen);
	return 16 + (size_t)blen;
}

static void test_v2(void **state)
{
	(void)state;
	char ip[INET6_ADDRSTRLEN];
	uint16_t port;
	size_t used;
	uint8_t h[2048];
	/* TCP over IPv4: 203.0.113.7:40000 -> 192.0.2.1:443, with a TLV (0x04 NOOP) after the addresses. */
	uint8_t b4[12 + 5] = { 203, 0, 113, 7, 192, 0, 2, 1, 0x9c, 0x40, 0x01, 0xbb, 0x04, 0x00, 0x02, 0xAA, 0xBB };
	size_t n = v2(h, 0x21, 0x11, b4, sizeof b4);
	h[n] = 0x16; /* the stream that follows */
	assert_int_equal(parse(h, n + 1, ip, &port, &used), SF_PROXY_OK);
	assert_string_equal(ip, "203.0.113.7");
	assert_int_equal(port, 40000);
	assert_int_equal(used, n);
	assert_prefixes_more(h, n);

	/* TCP over IPv6. */
	uint8_t b6[36] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 0x07, [16] = 0x20, [17] = 0x01, [18] = 0x0d, [19] = 0xb8,
			   [31] = 0x01, [32] = 0x30, [33] = 0x39, [34] = 0x01, [35] = 0xbb };
	n = v2(h, 0x21, 0x21, b6, sizeof b6);
	assert_int_equal(parse(h, n, ip, &port, &used), SF_PROXY_OK);
	assert_string_equal(ip, "2001:db8::7");
	assert_int_equal(port, 12345);

	/* LOCAL (a health check by the proxy itself): the address block is ignored. */
	n = v2(h, 0x20, 0x00, NULL, 0);
	assert_int_equal(parse(h, n, ip, &port, &used), SF_PROXY_LOCAL);
	assert_int_equal(used, 16);
	n = v2(h, 0x20, 0x11, b4, 12);
	assert_int_equal(parse(h, n, ip, &port, &used), SF_PROXY_LOCAL);
	assert_int_equal(used, 28);
	/* PROXY with AF_UNSPEC: the connection's own endpoints stand. */
	n = v2(h, 0x21, 0x00, NULL, 0);
	assert_int_equal(parse(h, n, ip, &port, &used), SF_PROXY_LOCAL);
}

static void test_v2_hostile(void **state)
{
	(void)state;
	char ip[INET6_ADDRSTRLEN];
	uint16_t port;
	size_t used;
	uint8_t h[2048];
	uint8_t b4[12] = { 203, 0, 113, 7, 192, 0, 2, 1, 0x9c, 0x40, 0x01, 0xbb };
	uint8_t b6[36] = { 0 };
	size_t n;
	n = v2(h, 0x11, 0x11, b4, 12); /* version 1 in the binary form */
	assert_int_equal(parse(h, n, ip, &port, &used), SF_PROXY_INVALID);
	n = v2(h, 0x31, 0x11, b4, 12); /* version 3 */
	assert_int_equal(parse(h, 13, ip, &port, &used), SF_PROXY_INVALID);
	n = v2(h, 0x22, 0x11, b4, 12); /* command 2 */
	assert_int_equal(parse(h, n, ip, &port, &used), SF_PROXY_INVALID);
	n = v2(h, 0x21, 0x11, b4, 11); /* IPv4 block too short */
	assert_int_equal(parse(h, n, ip, &port, &used), SF_PROXY_INVALID);
	n = v2(h, 0x21, 0x21, b6, 35); /* IPv6 block too short */
	assert_int_equal(parse(h, n, ip, &port, &used), SF_PROXY_INVALID);
	n = v2(h, 0x21, 0x12, b4, 12); /* UDP */
	assert_int_equal(parse(h, n, ip, &port, &used), SF_PROXY_INVALID);
	n = v2(h, 0x21, 0x31, b4, 12); /* UNIX stream */
	assert_int_equal(parse(h, n, ip, &port, &used), SF_PROXY_INVALID);
	/* A length beyond the cap is refused as soon as it is known, before the bytes arrive. */
	memcpy(h, sig, 12);
	h[12] = 0x21;
	h[13] = 0x11;
	h[14] = 0xff;
	h[15] = 0xff;
	assert_int_equal(parse(h, 16, ip, &port, &used), SF_PROXY_INVALID);
	h[14] = (uint8_t)((SF_PROXY_MAX_HEADER - 16) >> 8);
	h[15] = (uint8_t)(SF_PROXY_MAX_HEADER - 16);
	assert_int_equal(parse(h, 16, ip, &port, &used), SF_PROXY_MORE);
	h[15]++;
	assert_int_equal(parse(h, 16, ip, &port, &used), SF_PROXY_INVALID);
	/* A corrupted signature byte anywhere. */
	for (size_t i = 0; i < 12; i++) {
		n = v2(h, 0x21, 0x11, b4, 12);
		h[i] ^= 0x40;
		if (parse(h, n, ip, &port, &used) != SF_PROXY_INVALID)
			fail_msg("signature byte %zu corrupted but accepted", i);
	}
	assert_int_equal(parse(h, 0, ip, &port, &used), SF_PROXY_MORE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_v1_examples),
		cmocka_unit_test(test_v1_hostile),
		cmocka_unit_test(test_v2),
		cmocka_unit_test(test_v2_hostile),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
