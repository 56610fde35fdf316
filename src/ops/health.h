/*
 * health.h — liveness and readiness facts for /healthz and /readyz (and
 * later the metrics endpoint and `storefort doctor`).
 */
#ifndef SF_OPS_HEALTH_H
#define SF_OPS_HEALTH_H

#include <jansson.h>
#include <stdint.h>

struct sf_db;

struct sf_health_opts {
	const char *data_dir;       /* where free disk space is measured */
	int64_t min_free_disk_mb;   /* below this the instance is not ready */
};

/* Run the readiness checks: database reachable (a real query), migrations
 * current, free disk above the threshold.  *out is a new object
 * {"status":"ready"|"not_ready","checks":{"database":{...},"migrations":{...},
 * "disk":{...}}}; returns 1 when ready, 0 when not. */
int sf_health_ready(struct sf_db *db, const struct sf_health_opts *opts, json_t **out);

#endif
