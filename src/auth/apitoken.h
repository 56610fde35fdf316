/*
 * apitoken.h — API tokens for integrations: "Authorization: Bearer sfat_..."
 * on SF_AUTH_TOKEN routes.
 *
 * A token is "sfat_" + 43 base64url characters (256 random bits), shown
 * once at creation; the database keeps only its BLAKE2b-256 hash.  Each
 * token belongs to the staff member who made it, carries a scope (a set of
 * permissions that member held at creation), expires, and can be revoked.
 * On every use the token acts with its scope intersected with its owner's
 * rights as they are now (a deactivated or locked owner stops the token),
 * only from addresses on [admin] allow, and the use is an audit event
 * (api_token.use, success or denied) with its last_used_at in the same
 * transaction.
 */
#ifndef SF_AUTH_APITOKEN_H
#define SF_AUTH_APITOKEN_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "http/http.h"

struct sf_app;
struct sf_staff_actor;

#define SF_APITOKEN_PREFIX "sfat_"
#define SF_APITOKEN_LEN (5 + 64)
#define SF_APITOKEN_NAME_MAX 100
#define SF_APITOKEN_MAX_DAYS 365

/* Create a token for staff_id (the actor, normally the same member) named
 * name with scopes (each a permission staff_id holds now), valid for
 * days (1..SF_APITOKEN_MAX_DAYS).  Writes the token (shown once) into
 * token and its id into *id.  SF_OK, SF_ERR_BAD_PARAM (*why),
 * SF_ERR_CARD_DATA (a card number in the name; never stored), or an error. */
enum sf_err sf_apitoken_create(struct sf_app *app, const struct sf_staff_actor *a, int64_t staff_id,
			       const char *name, const char *const *scopes, size_t nscopes, int64_t days,
			       char token[SF_APITOKEN_LEN + 1], int64_t *id, const char **why) SF_WARN_UNUSED;

/* Revoke token id (audited).  SF_OK, SF_ERR_NOT_FOUND (no such live token). */
enum sf_err sf_apitoken_revoke(struct sf_app *app, const struct sf_staff_actor *a, int64_t id) SF_WARN_UNUSED;

/* Every token (never the secret): [{"id","name","staff_id","scopes":[...],
 * "created_at","expires_at","revoked_at","last_used_at","state"}] with
 * state "active", "expired" or "revoked".  *out is a new reference. */
enum sf_err sf_apitoken_list_json(struct sf_app *app, json_t **out) SF_WARN_UNUSED;

/* The SF_AUTH_TOKEN resolver (registered by sf_staff_init): 401 without a
 * valid, live token; 403 (audited) when the route's permission is outside
 * the token's effective scope or the address is not on [admin] allow. */
enum sf_err sf_apitoken_authorize(struct sf_req *req, struct sf_resp *resp);

#endif
