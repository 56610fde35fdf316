/* fuzz_proxy.c — the PROXY protocol header parser, which reads bytes from
 * the network before anything else does.  Invariants: no crash or read past
 * the input; a complete header never claims more bytes than it was given
 * nor more than SF_PROXY_MAX_HEADER; an address is IPv4 or IPv6 with the
 * matching length; and the answer is stable under arrival order: every
 * strict prefix of a complete header is "more", and the header's own bytes
 * alone give the same answer and address. */
#include <netinet/in.h>
#include <stdint.h>
#include <string.h>

#include "fuzz_require.h"
#include "http/internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sockaddr_storage a, b;
	socklen_t al = 0, bl = 0;
	size_t used = 0, used2 = 0;
	memset(&a, 0, sizeof a);
	memset(&b, 0, sizeof b);
	enum sf_proxy_result r = sf_proxy_parse(data, size, &a, &al, &used);
	if (r != SF_PROXY_OK && r != SF_PROXY_LOCAL)
		return 0;
	SF_FUZZ_REQUIRE(used > 0 && used <= size && used <= SF_PROXY_MAX_HEADER);
	if (r == SF_PROXY_OK)
		SF_FUZZ_REQUIRE((a.ss_family == AF_INET && al == sizeof(struct sockaddr_in)) ||
				(a.ss_family == AF_INET6 && al == sizeof(struct sockaddr_in6)));
	SF_FUZZ_REQUIRE(sf_proxy_parse(data, used, &b, &bl, &used2) == r);
	SF_FUZZ_REQUIRE(used2 == used);
	if (r == SF_PROXY_OK)
		SF_FUZZ_REQUIRE(bl == al && memcmp(&a, &b, al) == 0);
	for (size_t i = 0; i < used; i++)
		SF_FUZZ_REQUIRE(sf_proxy_parse(data, i, &b, &bl, &used2) == SF_PROXY_MORE);
	return 0;
}
