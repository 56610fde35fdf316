/*
 * driver.c — runs a libFuzzer target without libFuzzer, so every fuzz target
 * is also a regression test in `make test` (gcc, ASan+UBSan).
 *
 * It feeds the target every file of the corpus folders given on the command
 * line, then a fixed number of deterministic mutations of them (byte flips,
 * insertions, deletions, splices, repeats; a fixed-seed xorshift, so a failure
 * reproduces).  Real coverage-guided fuzzing: `make fuzz` (clang + libFuzzer).
 * Prints one TAP line: "not ok" (exit 1) when no seed was loaded, since
 * mutations of nothing exercise little more than the empty input.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define SF_FUZZ_MAX_INPUT (256 * 1024)
#define MAX_SEEDS 512

static uint64_t state = 0x9e3779b97f4a7c15ull;

static uint64_t next(void)
{
	state ^= state << 13;
	state ^= state >> 7;
	state ^= state << 17;
	return state;
}

struct seed {
	uint8_t *data;
	size_t len;
};

static struct seed seeds[MAX_SEEDS];
static size_t nseeds;

static void load_dir(const char *dir)
{
	DIR *d = opendir(dir);
	if (!d)
		return;
	struct dirent *e;
	while ((e = readdir(d)) && nseeds < MAX_SEEDS) {
		if (e->d_name[0] == '.')
			continue;
		char path[4096];
		snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
		FILE *f = fopen(path, "rb");
		if (!f)
			continue;
		uint8_t *buf = malloc(SF_FUZZ_MAX_INPUT);
		size_t n = buf ? fread(buf, 1, SF_FUZZ_MAX_INPUT, f) : 0;
		fclose(f);
		if (!buf)
			continue;
		seeds[nseeds].data = buf;
		seeds[nseeds].len = n;
		nseeds++;
	}
	closedir(d);
}

static size_t mutate(uint8_t *buf, size_t len, size_t cap)
{
	int rounds = 1 + (int)(next() % 8);
	for (int r = 0; r < rounds; r++) {
		switch (next() % 7) {
		case 0: /* flip a byte */
			if (len)
				buf[next() % len] ^= (uint8_t)(1u << (next() % 8));
			break;
		case 1: /* random byte */
			if (len)
				buf[next() % len] = (uint8_t)next();
			break;
		case 2: /* insert bytes */
			if (len < cap - 16) {
				size_t at = len ? next() % len : 0, n = 1 + next() % 8;
				memmove(buf + at + n, buf + at, len - at);
				for (size_t i = 0; i < n; i++)
					buf[at + i] = (uint8_t)"\"\\,\n\r{}%#&=/.;\0\xff\xc3"[next() % 18];
				len += n;
			}
			break;
		case 3: /* delete a span */
			if (len) {
				size_t at = next() % len, n = 1 + next() % (len - at);
				memmove(buf + at, buf + at + n, len - at - n);
				len -= n;
			}
			break;
		case 4: /* splice another seed */
			if (nseeds) {
				struct seed *s = &seeds[next() % nseeds];
				if (s->len) {
					size_t from = next() % s->len, n = 1 + next() % (s->len - from);
					size_t at = len ? next() % len : 0;
					if (at + n < cap) {
						memcpy(buf + at, s->data + from, n);
						if (at + n > len)
							len = at + n;
					}
				}
			}
			break;
		case 5: /* repeat a span (long inputs) */
			if (len && len * 2 < cap) {
				size_t at = next() % len, n = 1 + next() % (len - at);
				size_t times = 1 + next() % 64;
				for (size_t t = 0; t < times && len + n < cap; t++) {
					memmove(buf + at + n, buf + at, len - at);
					len += n;
				}
			}
			break;
		default: /* truncate */
			if (len)
				len = next() % len;
		}
	}
	return len;
}

int main(int argc, char **argv)
{
	long iterations = 20000;
	const char *env = getenv("SF_FUZZ_ITERATIONS");
	if (env)
		iterations = strtol(env, NULL, 10);
	for (int i = 1; i < argc; i++)
		load_dir(argv[i]);
	if (nseeds == 0) {
		/* A renamed or emptied corpus folder must not pass as a fuzz run. */
		printf("1..1\nnot ok 1 - %s: no seeds in the corpus folders given\n", argc > 0 ? argv[0] : "fuzz");
		return 1;
	}
	uint8_t *buf = malloc(SF_FUZZ_MAX_INPUT);
	if (!buf)
		return 1;
	long runs = 0;
	for (size_t i = 0; i < nseeds; i++, runs++)
		LLVMFuzzerTestOneInput(seeds[i].data, seeds[i].len);
	LLVMFuzzerTestOneInput((const uint8_t *)"", 0);
	for (long it = 0; it < iterations; it++, runs++) {
		size_t len = 0;
		if (nseeds) {
			struct seed *s = &seeds[next() % nseeds];
			memcpy(buf, s->data, s->len);
			len = s->len;
		}
		len = mutate(buf, len, SF_FUZZ_MAX_INPUT / 2);
		/* Exact-size heap copy so ASan sees any overread. */
		uint8_t *in = malloc(len ? len : 1);
		memcpy(in, buf, len);
		LLVMFuzzerTestOneInput(in, len);
		free(in);
	}
	printf("1..1\nok 1 - %s: %ld inputs from %zu seeds\n", argc > 0 ? argv[0] : "fuzz", runs, nseeds);
	for (size_t i = 0; i < nseeds; i++)
		free(seeds[i].data);
	free(buf);
	return 0;
}
