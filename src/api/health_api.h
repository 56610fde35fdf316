/* health_api.h — GET /healthz (alive) and GET /readyz (ready to serve). */
#ifndef SF_API_HEALTH_API_H
#define SF_API_HEALTH_API_H

#include "http/http.h"

enum sf_err sf_api_healthz(struct sf_req *req, struct sf_resp *resp);
enum sf_err sf_api_readyz(struct sf_req *req, struct sf_resp *resp);

#endif
