/*
 * routes.h — the one static route table of storefort (api/routes.c).
 * Every route declares method, path pattern, handler, auth mode, permission,
 * CSRF policy and route class; later issues add their rows there.
 */
#ifndef SF_API_ROUTES_H
#define SF_API_ROUTES_H

#include <stddef.h>

#include "http/http.h"

/* The table and its length. */
const struct sf_route *sf_routes(size_t *n);

#endif
