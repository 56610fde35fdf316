/*
 * app.h — the application context handed to every handler (req->app).
 *
 * It only holds pointers to the long-lived objects each layer owns; core
 * knows their names, not their insides.  Built by `storefort serve`
 * (src/cli/serve.c) and torn down there.
 */
#ifndef SF_CORE_APP_H
#define SF_CORE_APP_H

struct sf_config;
struct sf_db;
struct sf_keyring;
struct sf_tmpl_set;
struct sf_catalog_cache;

struct sf_app {
	const struct sf_config *cfg;
	struct sf_db *db;
	struct sf_keyring *keys;
	const struct sf_tmpl_set *tmpl;
	struct sf_catalog_cache *catalog_cache;
	const char *data_dir;
};

#endif
