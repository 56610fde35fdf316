/*
 * fuzz_unseal.c — libFuzzer target for the two parsers of src/crypto/
 * keyring.c that see outside bytes: sealed values (sf_unseal,
 * sf_sealed_key) and master key file text (parse_key_file, reached by
 * including keyring.c).
 *
 * The first input byte picks the parser; the rest is the input.  Invariants
 * checked: nothing crashes or reads out of bounds; unseal of arbitrary bytes
 * never succeeds unless they are exactly a value this ring sealed for that
 * row; a value the ring seals always opens again, and never with one byte
 * changed.  Build: clang -fsanitize=fuzzer,address,undefined -Isrc
 * tests/fuzz/fuzz_unseal.c -lsodium -lpthread.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "crypto/keyring.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct sf_keyring *ring;

static struct sf_keyring *fuzz_ring(void)
{
	char path[] = "/tmp/sf-fuzz-mk-XXXXXX";
	unsigned char *w = NULL;
	size_t wlen = 0;
	int fd;

	if (ring)
		return ring;
	fd = mkstemp(path);
	if (fd < 0)
		abort();
	close(fd);
	unlink(path);
	if (sf_master_key_create(path, 1) != SF_OK || sf_keyring_open(path, &ring, NULL, 0) != SF_OK)
		abort();
	unlink(path);
	for (uint32_t p = SF_KEY_FIELD; p <= SF_KEY_AUDIT; p++) {
		if (sf_keyring_generate(ring, (enum sf_key_purpose)p, p, 1, 1, &w, &wlen) != SF_OK)
			abort();
		free(w);
	}
	return ring;
}

static void fuzz_sealed(struct sf_keyring *kr, const uint8_t *data, size_t size)
{
	char *pt = NULL;
	size_t ptlen = 0;
	uint32_t id, version;
	unsigned char *ct = NULL;
	size_t ctlen = 0;

	enum sf_err kerr = sf_sealed_key(data, size, &id, &version);
	(void)kerr;
	/* Random bytes never authenticate. */
	if (sf_unseal(kr, "t", "c", 1, data, size, &pt, &ptlen) == SF_OK)
		abort();
	/* Seal the input as plaintext; it must open, and not after a change. */
	if (size > 4096)
		size = 4096;
	if (sf_seal(kr, "t", "c", (int64_t)size, data, size, &ct, &ctlen) != SF_OK)
		abort();
	if (sf_unseal(kr, "t", "c", (int64_t)size, ct, ctlen, &pt, &ptlen) != SF_OK || ptlen != size ||
	    (size && memcmp(pt, data, size) != 0))
		abort();
	sf_unsealed_free(pt, ptlen);
	pt = NULL;
	ct[size % ctlen] ^= 0x5a;
	if (sf_unseal(kr, "t", "c", (int64_t)size, ct, ctlen, &pt, &ptlen) == SF_OK)
		abort();
	free(ct);
}

static void fuzz_key_file(const uint8_t *data, size_t size)
{
	unsigned char *master = sodium_malloc(SF_MASTER_KEY_LEN);
	char err[256];
	int dev = -1;

	if (!master)
		abort();
	if (parse_key_file("fuzz", (const char *)data, size, master, &dev, err, sizeof err) == SF_OK) {
		if (dev != 0 && dev != 1)
			abort();
	}
	sodium_free(master);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sf_keyring *kr = fuzz_ring();

	if (size == 0)
		return 0;
	if (data[0] & 1)
		fuzz_key_file(data + 1, size - 1);
	else
		fuzz_sealed(kr, data + 1, size - 1);
	return 0;
}
