/* health.c — readiness checks (see health.h). */
#include "ops/health.h"

#include <sys/statvfs.h>

#include "db/db.h"

static json_t *check(int ok, const char *detail)
{
	return json_pack("{s:s,s:s}", "status", ok ? "ok" : "fail", "detail", detail);
}

int sf_health_ready(struct sf_db *db, const struct sf_health_opts *opts, json_t **out)
{
	json_t *checks = json_object();
	int ready = 1;

	struct sf_db_conn *c = sf_db_conn_get(db);
	int db_ok = c && sf_db_query_one(c, SF_STMT_PING, NULL, 0, NULL, NULL) == SF_DB_OK;
	json_object_set_new(checks, "database", check(db_ok, db_ok ? "reachable" : "not reachable"));
	ready &= db_ok;

	int cur = 0, latest = 0;
	int mig_ok = db_ok && sf_db_schema_status(db, &cur, &latest) == SF_OK && cur == latest;
	json_t *mig = check(mig_ok, mig_ok ? "current" : "migrations pending or unreadable");
	json_object_set_new(mig, "version", json_integer(cur));
	json_object_set_new(mig, "latest", json_integer(latest));
	json_object_set_new(checks, "migrations", mig);
	ready &= mig_ok;

	struct statvfs vfs;
	int disk_ok = 0;
	int64_t free_mb = -1;
	if (statvfs(opts->data_dir, &vfs) == 0) {
		free_mb = (int64_t)((uint64_t)vfs.f_bavail * vfs.f_frsize / (1024 * 1024));
		disk_ok = free_mb >= opts->min_free_disk_mb;
	}
	json_t *disk = check(disk_ok, disk_ok ? "enough free space" : "free space below the threshold");
	json_object_set_new(disk, "free_mb", json_integer(free_mb));
	json_object_set_new(disk, "min_free_mb", json_integer(opts->min_free_disk_mb));
	json_object_set_new(checks, "disk", disk);
	ready &= disk_ok;

	*out = json_pack("{s:s,s:o}", "status", ready ? "ready" : "not_ready", "checks", checks);
	return ready;
}
