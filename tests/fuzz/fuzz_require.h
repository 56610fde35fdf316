/* fuzz_require.h — invariant checks for the fuzz targets that hold in every
 * build.  assert() vanishes under NDEBUG, and with it any call written inside
 * it, so a target built that way would pass whatever the parser did. */
#ifndef SF_FUZZ_REQUIRE_H
#define SF_FUZZ_REQUIRE_H

#include <stdio.h>
#include <stdlib.h>

/* Abort (a crash to the driver and to libFuzzer) when cond is false. */
#define SF_FUZZ_REQUIRE(cond)                                                                      \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__, #cond); \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

#endif
