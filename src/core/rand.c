/* rand.c — unpredictable randomness, from libsodium only. */
#include <sodium.h>

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
