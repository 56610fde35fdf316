/* health_api.c — the health endpoints; JSON, never cached. */
#include "api/health_api.h"

#include "core/app.h"
#include "core/config.h"
#include "ops/health.h"

enum sf_err sf_api_healthz(struct sf_req *req, struct sf_resp *resp)
{
	return sf_resp_json(req, resp, 200, json_pack("{s:s}", "status", "alive"));
}

enum sf_err sf_api_readyz(struct sf_req *req, struct sf_resp *resp)
{
	struct sf_app *app = req->app;
	struct sf_health_opts opts = {
		.data_dir = app->data_dir,
		.min_free_disk_mb = app->cfg->min_free_disk_mb,
	};
	json_t *out = NULL;
	int ready = sf_health_ready(app->db, &opts, &out);
	return sf_resp_json(req, resp, ready ? 200 : 503, out);
}
