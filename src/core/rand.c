/* rand.c — unpredictable randomness, from libsodium only. */
#include <sodium.h>
#include <time.h>

#include "core/util.h"

void sf_rand_bytes(void *p, size_t n)
{
	randombytes_buf(p, n);
}

void sf_rand_base32(char *out, size_t len)
{
	static const char alphabet[] = "abcdefghijklmnopqrstuvwxyz234567";
	unsigned char raw[64];
	while (len) {
		size_t chunk = len < sizeof raw ? len : sizeof raw;
		randombytes_buf(raw, chunk);
		for (size_t i = 0; i < chunk; i++)
			*out++ = alphabet[raw[i] & 31];
		len -= chunk;
	}
	*out = '\0';
	sodium_memzero(raw, sizeof raw);
}

void sf_rand_base32_timed(char *out, size_t len)
{
	/* The same 32 characters as sf_rand_base32, in ASCII order, so that
	 * later times compare greater as strings. */
	static const char sorted[] = "234567abcdefghijklmnopqrstuvwxyz";
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	uint64_t ms = (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
	for (size_t i = SF_RAND_TIME_CHARS; i-- > 0;) {
		out[i] = sorted[ms & 31];
		ms >>= 5;
	}
	sf_rand_base32(out + SF_RAND_TIME_CHARS, len - SF_RAND_TIME_CHARS);
}
