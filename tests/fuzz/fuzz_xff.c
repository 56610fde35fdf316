/* fuzz_xff.c — the edge's parsers of outside input that run before the WAF:
 * X-Forwarded-For (the client address behind trusted proxies) and CIDR
 * lists.  The input's first line is a CIDR list, the rest an XFF value.
 * Invariants: no crash; the resolved address is the peer or a valid
 * canonical address from the header; an untrusted peer is never replaced. */
#include <arpa/inet.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "edge/edge_int.h"
#include "fuzz_require.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1);
	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	char *nl = strchr(text, '\n');
	const char *xff = "";
	if (nl) {
		*nl = '\0';
		xff = nl + 1;
	}
	struct sf_cidr_list l, fixed;
	char bad[80];
	if (sf_cidr_list_parse(text, &l, bad, sizeof bad) != SF_OK)
		memset(&l, 0, sizeof l);
	if (sf_cidr_list_parse("10.0.0.0/8, 2001:db8::/32", &fixed, bad, sizeof bad) != SF_OK)
		abort();
	char out[46];
	int fam;
	uint8_t a[16];
	/* A trusted peer: the result is the peer or a parseable address. */
	int from = sf_edge_client_addr(&fixed, "10.1.2.3", xff, out, sizeof out);
	SF_FUZZ_REQUIRE(sf_edge_addr_parse(out, &fam, a));
	SF_FUZZ_REQUIRE(from || !strcmp(out, "10.1.2.3"));
	/* An untrusted peer: never replaced. */
	SF_FUZZ_REQUIRE(sf_edge_client_addr(&fixed, "203.0.113.1", xff, out, sizeof out) == 0);
	SF_FUZZ_REQUIRE(!strcmp(out, "203.0.113.1"));
	/* The fuzzed list against the header's hops. */
	(void)sf_edge_client_addr(&l, "192.0.2.1", xff, out, sizeof out);
	(void)sf_cidr_list_match(&l, xff);
	sf_cidr_list_free(&l);
	sf_cidr_list_free(&fixed);
	free(text);
	return 0;
}
