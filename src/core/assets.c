/* assets.c — lookups in the embedded asset table (sorted by name). */
#include "core/assets.h"

#include <string.h>

const struct sf_asset *sf_asset_find(const char *name)
{
	size_t lo = 0, hi = sf_assets_count;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(name, sf_assets_table[mid].name);
		if (c == 0)
			return &sf_assets_table[mid];
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

void sf_asset_each(const char *prefix, void (*fn)(const struct sf_asset *a, void *ctx), void *ctx)
{
	size_t n = strlen(prefix);
	for (size_t i = 0; i < sf_assets_count; i++)
		if (strncmp(sf_assets_table[i].name, prefix, n) == 0)
			fn(&sf_assets_table[i], ctx);
}
