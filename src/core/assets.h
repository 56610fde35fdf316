/*
 * assets.h — files compiled into the binary (tools/embed.py): templates,
 * static assets and migrations.  Names are "static/app.css",
 * "templates/home.html", "migrations/sqlite/0001_init.sql".  Data is
 * NUL-terminated (the NUL is not counted in len).
 */
#ifndef SF_CORE_ASSETS_H
#define SF_CORE_ASSETS_H

#include <stddef.h>

struct sf_asset {
	const char *name;
	const unsigned char *data;
	size_t len;
	const char *content_type;
	const char *etag; /* quoted strong ETag */
};

extern const struct sf_asset sf_assets_table[]; /* sorted by name */
extern const size_t sf_assets_count;

/* The asset with exactly this name, or NULL. */
const struct sf_asset *sf_asset_find(const char *name);
/* Call fn for each asset whose name starts with prefix, in name order. */
void sf_asset_each(const char *prefix, void (*fn)(const struct sf_asset *a, void *ctx), void *ctx);

#endif
