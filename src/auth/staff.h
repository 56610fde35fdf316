/*
 * staff.h — staff accounts and the back office's access control: login
 * (password, then TOTP), enrollment, password policy and history, lockout
 * and per-address throttling, where-and-when policy on every request, staff
 * sessions with a login stage and re-authentication, roles, and the
 * resolvers registered with the auth stage for SF_AUTH_STAFF and
 * SF_AUTH_TOKEN routes (API tokens: apitoken.h).
 *
 * Every request to an SF_AUTH_STAFF route is checked in full, with nothing
 * cached between requests: the session (idle and absolute timeouts), the
 * account (active, not locked), the address ([admin] allow, the account's
 * deny and allow lists), the access windows, the login stage and the route's
 * permission against the roles as they are now.  A refusal by address or
 * time is 403, an audit event (staff.access_denied) and a counter.
 *
 * Route permissions (rbac.h): "resource.action", SF_RBAC_SELF, SF_RBAC_LOGIN
 * and SF_RBAC_LOGIN_STEP; anything else is denied.
 *
 * Login stages of a staff session: "totp" (password accepted, code due),
 * "enroll" (no second factor yet: set one up), "password" (the password is
 * older than its maximum age: change it), "full".  Only "full" sessions pass
 * routes other than SF_RBAC_LOGIN_STEP ones.  Each stage change makes a new
 * session token.  Every failure of the password or the code counts towards
 * the account lock ([auth] max_failures, then [auth] lock_minutes) and the
 * per-address throttle ([admin] ip_max_failures per [admin] ip_window), and
 * answers SF_ERR_LOGIN_FAILED whatever went wrong.
 *
 * Audit actions: staff.login, staff.2fa, staff.lock, staff.unlock,
 * staff.access_denied, staff.enroll, staff.password_change, staff.reauth,
 * staff.2fa_reset, staff.create, staff.roles, staff.activate,
 * staff.deactivate, staff.access_policy, staff.password_policy,
 * staff.session_revoke, staff.sessions_revoke, staff.logout, role.save,
 * role.delete.  Events carry ids and reasons, never secrets.
 */
#ifndef SF_AUTH_STAFF_H
#define SF_AUTH_STAFF_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "auth/rbac.h"
#include "auth/session.h"
#include "auth/totp.h"
#include "core/err.h"
#include "db/db.h"
#include "http/http.h"

struct sf_app;
struct sf_config;

#define SF_STAFF_EMAIL_MAX 254
#define SF_STAFF_NAME_MAX 100
#define SF_STAFF_LINK_MAX 512
#define SF_STAFF_ROLE_MAX 64
#define SF_STAFF_MAX_ROLES 16
#define SF_STAFF_COOKIE "__Host-sf_staff"

/* The staff member of this request (arena-owned; set by the resolvers). */
struct sf_staff_viewer {
	int64_t id;            /* staff id */
	int64_t session_id;    /* 0 for an API token */
	int64_t token_id;      /* API token id, 0 for a session */
	const char *email;
	const char *name;
	char stage[12];        /* "totp", "enroll", "password", "full" ("" for a token) */
	int64_t fresh_until;   /* re-authenticated until (seconds since the epoch) */
	int is_owner;
	int perms_set;
	struct sf_rbac_set perms; /* for a token: its scopes within its owner's rights */
};

/* This request's viewer, or NULL when no staff member is signed in. */
const struct sf_staff_viewer *sf_staff_viewer(const struct sf_req *req);
/* The same, created (zeroed) when missing; NULL when the arena is full.
 * For the resolvers (staff.c, apitoken.c, rbac.c). */
struct sf_staff_viewer *sf_staff_viewer_mut(struct sf_req *req);

/* ==== Start-up ==== */

/* Check the [admin] settings of app->cfg (path shape, the allow list),
 * register the staff session policy (cookie SF_STAFF_COOKIE, SameSite
 * Strict, [admin] idle_timeout and absolute_timeout) and the resolvers for
 * SF_AUTH_STAFF and SF_AUTH_TOKEN routes.  Call once before serving.
 * Returns SF_OK, or SF_ERR_CONFIG with a line naming the setting in errbuf. */
enum sf_err sf_staff_init(struct sf_app *app, char *errbuf, size_t errlen) SF_WARN_UNUSED;

/* The staff session policy for cfg (NULL: defaults). */
void sf_staff_session_policy(const struct sf_config *cfg, struct sf_session_policy *out);

/* Is path an acceptable [admin] path ("/admin", "/back-office-7f3a"): a
 * leading '/', then 1..62 of [a-z0-9-_] in segments, no trailing '/', and
 * not a storefront prefix (/api, /static, /media, /account, ...)? */
int sf_staff_admin_path_ok(const char *path);

/* The back-office path of this request's app ("/admin" by default). */
const char *sf_staff_admin_path(const struct sf_req *req);

/* The resolvers (registered by sf_staff_init; exposed for tests). */
enum sf_err sf_staff_authorize(struct sf_req *req, struct sf_resp *resp);

/* The route decision of the resolvers, on its own (the permission matrix
 * test runs it for every row and role): a staff session at stage (a token:
 * "full") holding perms may use route?  SF_OK; SF_ERR_UNAUTHORIZED (stage
 * not "full" on a route that is not SF_RBAC_LOGIN_STEP); SF_ERR_FORBIDDEN
 * (not a staff/token route, undeclared or unknown permission, or not held). */
enum sf_err sf_staff_route_decision(const struct sf_route *route, const char *stage,
				    const struct sf_rbac_set *perms) SF_WARN_UNUSED;

/* For the handlers of SF_RBAC_LOGIN routes (login and enrollment pages):
 * the [admin] allow check that SF_AUTH_STAFF routes get from the resolver.
 * Returns SF_OK or SF_ERR_ACCESS_POLICY (audited and counted). */
enum sf_err sf_staff_gate(struct sf_req *req) SF_WARN_UNUSED;

/* Sensitive operations (roles, security settings, revealing protected data,
 * exports, key operations) call this first: SF_OK when the session was
 * re-authenticated (password and code) within [admin] reauth_minutes,
 * SF_ERR_REAUTH otherwise (the page sends the user to
 * <admin>/reauth?next=<path>), SF_ERR_UNAUTHORIZED without a staff session.
 * An API token never counts as fresh. */
enum sf_err sf_staff_require_fresh(struct sf_req *req) SF_WARN_UNUSED;

/* Counters since start (for metrics). */
struct sf_staff_stats {
	uint64_t refused_policy; /* requests refused by address or time */
	uint64_t refused_perm;   /* requests refused for a missing permission */
	uint64_t logins_failed;  /* failed passwords and codes */
	uint64_t logins_ok;      /* completed logins */
};
void sf_staff_stats(struct sf_staff_stats *out);

/* The rights of staff_id as they are now: its permission set (the union of
 * its roles), whether it is an owner, and whether it may act at all (exists,
 * active, not locked).  SF_OK or a storage error. */
enum sf_err sf_staff_rights(struct sf_app *app, int64_t staff_id, int64_t now, struct sf_rbac_set *perms, int *owner,
			    int *usable) SF_WARN_UNUSED;

/* Audit a refused request (staff.access_denied, with the route and why)
 * and count it; returns err (SF_ERR_ACCESS_POLICY counts as a policy
 * refusal, anything else as a permission refusal). */
enum sf_err sf_staff_refuse(struct sf_req *req, int64_t staff_id, const char *why, enum sf_err err);

/* ==== Who acts (audit) ==== */

struct sf_staff_actor {
	const char *type;       /* "staff", "cli" or "anonymous" */
	int64_t staff_id;       /* the acting staff member (type "staff") */
	const char *ip;         /* may be NULL */
	const char *request_id; /* may be NULL */
	int64_t now;
};

struct sf_db_conn;
/* Append an audit event for actor a inside the caller's transaction:
 * object (object_type, object_id; none when object_id is 0), detail (a JSON
 * object, stolen; may be NULL; never secrets).  Returns the status for the
 * transaction function. */
enum sf_db_status sf_staff_audit(struct sf_db_conn *c, const struct sf_app *app, const struct sf_staff_actor *a,
				 const char *action, const char *object_type, int64_t object_id, const char *outcome,
				 json_t *detail);

/* The actor of a request: its staff viewer, or anonymous. */
void sf_staff_actor_of(struct sf_req *req, struct sf_staff_actor *out);

/* ==== Login ==== */

/* Check e-mail and password.  Returns SF_OK with *staff_id and *stage (the
 * next login stage: "totp", "enroll", "password" or "full"), or
 * SF_ERR_LOGIN_FAILED for every kind of refusal (unknown address, wrong
 * password, locked or inactive account, not enrolled, address throttled,
 * refused by the account's address list or access window), or a storage
 * error.  A hash made with weaker parameters is upgraded. */
enum sf_err sf_staff_login_password(struct sf_app *app, const struct sf_staff_actor *a, const char *email,
				    const char *password, int64_t *staff_id, const char **stage) SF_WARN_UNUSED;

/* The second step: code is a 6-digit TOTP code (each time step once) or an
 * unused recovery code.  Returns SF_OK with *stage ("password" or "full"),
 * SF_ERR_LOGIN_FAILED (wrong, replayed, locked), or an error. */
enum sf_err sf_staff_login_code(struct sf_app *app, const struct sf_staff_actor *a, int64_t staff_id,
				const char *code, const char **stage) SF_WARN_UNUSED;

/* Start the staff session for stage on resp (a new token; the request's
 * previous staff session ends).  "full" sessions start fresh.  Audited as
 * staff.login with the stage.  Returns SF_OK or an error. */
enum sf_err sf_staff_session_begin(struct sf_req *req, struct sf_resp *resp, int64_t staff_id,
				   const char *stage) SF_WARN_UNUSED;

/* Log out: end the session (audited). */
enum sf_err sf_staff_logout(struct sf_req *req, struct sf_resp *resp) SF_WARN_UNUSED;

/* Re-authenticate the current session with password and code: the session
 * becomes fresh for [admin] reauth_minutes under a new token.  SF_OK,
 * SF_ERR_LOGIN_FAILED (counts towards the lock), or an error. */
enum sf_err sf_staff_reauth(struct sf_req *req, struct sf_resp *resp, const char *password,
			    const char *code) SF_WARN_UNUSED;

/* ==== Enrollment and passwords ==== */

/* Is token a live enrollment link?  SF_OK with *staff_id and (when
 * has_password is not NULL) whether the account already has a password;
 * SF_ERR_TOKEN_INVALID otherwise. */
enum sf_err sf_staff_enroll_check(struct sf_app *app, const char *token, int64_t *staff_id,
				  int *has_password) SF_WARN_UNUSED;

/* Use an enrollment link: set the first password (policy applies) and use
 * the link up.  SF_OK with *staff_id, SF_ERR_TOKEN_INVALID,
 * SF_ERR_WEAK_PASSWORD (*why), or an error. */
enum sf_err sf_staff_enroll_password(struct sf_app *app, const struct sf_staff_actor *a, const char *token,
				     const char *password, int64_t *staff_id, const char **why) SF_WARN_UNUSED;

/* Make a new pending TOTP seed for staff_id (sealed in the account until
 * confirmed) and describe it for the set-up page: base32 key (grouped),
 * key URI and the QR code data (sf_totp_qr_json).  *qr is a new reference.
 * The key texts are secrets: the caller wipes them. */
enum sf_err sf_staff_totp_begin(struct sf_app *app, int64_t staff_id, char key[SF_TOTP_B32_MAX], char *uri,
				size_t urilen, json_t **qr) SF_WARN_UNUSED;

/* Confirm the pending seed with a code from the app: it becomes the
 * account's second factor, SF_RECOVERY_CODES new recovery codes replace the
 * old ones and are written to codes (shown once), and *stage is the next
 * login stage ("password" when the password has expired, else "full").
 * SF_OK, SF_ERR_LOGIN_FAILED (wrong code or nothing pending), or an error. */
enum sf_err sf_staff_totp_confirm(struct sf_app *app, const struct sf_staff_actor *a, int64_t staff_id,
				  const char *code, char codes[SF_RECOVERY_CODES][SF_RECOVERY_CODE_LEN + 1],
				  const char **stage) SF_WARN_UNUSED;

/* Change the password: current must match (counts towards the lock when
 * not), new_pw must satisfy the policy of the account and its roles
 * (minimum length, libpwquality, not one of the last [admin]
 * password_history passwords).  SF_OK, SF_ERR_LOGIN_FAILED,
 * SF_ERR_WEAK_PASSWORD (*why), or an error. */
enum sf_err sf_staff_password_change(struct sf_app *app, const struct sf_staff_actor *a, int64_t staff_id,
				     const char *current, const char *new_pw, const char **why) SF_WARN_UNUSED;

/* ==== Administration (the CLI and the back office) ==== */

/* Create a staff member with roles (built-in or custom names) and write a
 * one-time enrollment link (valid [admin] enroll_link_hours) into link.
 * Granting "owner" needs an owner or the CLI.  SF_OK with *staff_id,
 * SF_ERR_BAD_PARAM (*why: e-mail, name, role), SF_ERR_CARD_DATA, SF_ERR_EXISTS,
 * SF_ERR_FORBIDDEN, or an error. */
enum sf_err sf_staff_add(struct sf_app *app, const struct sf_staff_actor *a, const char *email, const char *name,
			 const char *const *roles, size_t nroles, int64_t *staff_id, char link[SF_STAFF_LINK_MAX],
			 const char **why) SF_WARN_UNUSED;

/* A new enrollment link for an existing account (older links die). */
enum sf_err sf_staff_enroll_link(struct sf_app *app, const struct sf_staff_actor *a, int64_t staff_id,
				 char link[SF_STAFF_LINK_MAX]) SF_WARN_UNUSED;

/* The id of the account with this e-mail.  SF_OK or SF_ERR_NOT_FOUND. */
enum sf_err sf_staff_find(struct sf_app *app, const char *email, int64_t *staff_id) SF_WARN_UNUSED;

/* Replace the roles of staff_id.  Only an owner (or the CLI) may give or
 * take "owner" or change an owner's roles; the last active owner keeps the
 * role (SF_ERR_LAST_OWNER).  Takes effect on the account's next request.
 * SF_OK, SF_ERR_BAD_PARAM (*why: unknown role), SF_ERR_FORBIDDEN,
 * SF_ERR_NOT_FOUND, SF_ERR_LAST_OWNER, or an error. */
enum sf_err sf_staff_set_roles(struct sf_app *app, const struct sf_staff_actor *a, int64_t staff_id,
			       const char *const *roles, size_t nroles, const char **why) SF_WARN_UNUSED;

/* Activate or deactivate (sessions end at once).  Same owner rules. */
enum sf_err sf_staff_set_active(struct sf_app *app, const struct sf_staff_actor *a, int64_t staff_id,
				int active) SF_WARN_UNUSED;

/* Lock (until unlocked; sessions end) or unlock (failures cleared). */
enum sf_err sf_staff_lock(struct sf_app *app, const struct sf_staff_actor *a, int64_t staff_id,
			  int lock) SF_WARN_UNUSED;

/* Remove the second factor and recovery codes of staff_id (an owner or the
 * CLI; the caller requires a fresh session first); its sessions end and its
 * next login goes through TOTP set-up.  SF_OK, SF_ERR_FORBIDDEN,
 * SF_ERR_NOT_FOUND, or an error. */
enum sf_err sf_staff_reset_2fa(struct sf_app *app, const struct sf_staff_actor *a, int64_t staff_id) SF_WARN_UNUSED;

/* Set the account's address lists and access windows (policy.h syntax).
 * SF_OK, SF_ERR_BAD_PARAM (*why), SF_ERR_FORBIDDEN, SF_ERR_NOT_FOUND. */
enum sf_err sf_staff_set_access(struct sf_app *app, const struct sf_staff_actor *a, int64_t staff_id,
				const char *allow, const char *deny, const char *windows,
				const char **why) SF_WARN_UNUSED;

/* Set an account's password policy (0: inherit from its roles / [admin]):
 * min_length 12..128, max_age_days 0..3650. */
enum sf_err sf_staff_set_password_policy(struct sf_app *app, const struct sf_staff_actor *a, int64_t staff_id,
					 int64_t min_length, int64_t max_age_days, const char **why) SF_WARN_UNUSED;

/* Create or replace a custom role (name [a-z0-9_]{1,64}, not a built-in
 * one) with permissions (each a valid "resource.action"), and its password
 * policy (0: inherit).  SF_OK, SF_ERR_BAD_PARAM (*why), or an error. */
enum sf_err sf_staff_role_save(struct sf_app *app, const struct sf_staff_actor *a, const char *name,
			       const char *description, const char *const *perms, size_t nperms, int64_t min_length,
			       int64_t max_age_days, const char **why) SF_WARN_UNUSED;

/* Delete a custom role (members lose it).  SF_OK, SF_ERR_NOT_FOUND,
 * SF_ERR_FORBIDDEN (a built-in role). */
enum sf_err sf_staff_role_delete(struct sf_app *app, const struct sf_staff_actor *a, const char *name) SF_WARN_UNUSED;

/* End one of the account's sessions (session_id), or all of them but
 * keep_id (session_id 0).  Ending another account's sessions needs an owner
 * or the CLI.  SF_OK, SF_ERR_NOT_FOUND, SF_ERR_FORBIDDEN. */
enum sf_err sf_staff_end_sessions(struct sf_app *app, const struct sf_staff_actor *a, int64_t staff_id,
				  int64_t session_id, int64_t keep_id) SF_WARN_UNUSED;

/* Read models (new references):
 *   list:  [{"id","email","name","active","locked","enrolled","created_at","roles":[...]}]
 *   one:   {"id","email","name","active","locked","locked_until","enrolled","roles":[...],
 *           "allow_ips","deny_ips","access_windows","pw_min_length","pw_max_age_days",
 *           "password_changed_at","recovery_codes_left","created_at"}
 *   roles: [{"id","name","builtin","description","permissions":[...],"members",
 *            "pw_min_length","pw_max_age_days"}]
 *   sessions: [{"id","created_at","last_seen_at","expires_at","ip","stage","user_agent","current"}] */
enum sf_err sf_staff_list_json(struct sf_app *app, json_t **out) SF_WARN_UNUSED;
enum sf_err sf_staff_get_json(struct sf_app *app, int64_t staff_id, json_t **out) SF_WARN_UNUSED;
enum sf_err sf_staff_roles_json(struct sf_app *app, json_t **out) SF_WARN_UNUSED;
enum sf_err sf_staff_sessions_json(struct sf_app *app, int64_t staff_id, int64_t current, json_t **out) SF_WARN_UNUSED;

/* One JSON array element per row of statement id (row returns a new
 * reference; NULL counts as out of memory).  *out is a new reference.
 * SF_OK, SF_ERR_NOMEM or a storage error.  (Also used by apitoken.c.) */
struct sf_db_cursor;
typedef json_t *(*sf_staff_row_fn)(struct sf_db_cursor *cur, void *ctx);
enum sf_err sf_staff_json_rows(struct sf_app *app, enum sf_stmt id, const struct sf_db_param *params, size_t n,
			       sf_staff_row_fn row, void *ctx, json_t **out) SF_WARN_UNUSED;

/* Normalise an e-mail address (trim, lower-case ASCII) into out; 0 when
 * it is not an acceptable address. */
int sf_staff_email_norm(const char *in, char *out, size_t n);

/* Housekeeping: delete at most limit enrollment links that have expired
 * (used or not); *n = how many. */
enum sf_err sf_staff_tokens_prune(struct sf_db *db, int64_t now, int limit, int64_t *n) SF_WARN_UNUSED;

#endif
