/*
 * admin_staff.c — the staff, roles and security settings pages and the
 * inventory overview of the back office (admin_pages.h).  The staff domain
 * (accounts, roles, policies) belongs to src/auth/staff.h, which audits
 * every change; these handlers only validate the form, ask for a fresh
 * re-authentication (role, access and security changes are sensitive) and
 * render.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "auth/form.h"
#include "auth/rbac.h"
#include "auth/staff.h"
#include "core/app.h"
#include "core/config.h"
#include "shop/backoffice.h"
#include "web/admin_pages.h"
#include "web/admin_util.h"

/* Role names checked in the form: fields "role_<name>" = "1". */
static size_t form_roles(struct sf_req *req, json_t *roles, const char **out, size_t max)
{
	size_t i, n = 0;
	json_t *r;
	json_array_foreach(roles, i, r) {
		const char *name = json_string_value(json_object_get(r, "name"));
		char key[SF_STAFF_ROLE_MAX + 8];
		if (!name)
			continue;
		snprintf(key, sizeof key, "role_%s", name);
		const char *v = sf_form_get(req, key);
		if (v && !strcmp(v, "1") && n < max)
			out[n++] = name;
	}
	return n;
}

/* The roles list with "checked" set for the names in have (an array of strings). */
static void mark_roles(json_t *roles, json_t *have)
{
	size_t i, j;
	json_t *r, *h;
	json_array_foreach(roles, i, r) {
		int on = 0;
		json_array_foreach(have, j, h) {
			on |= json_is_string(h) && !strcmp(json_string_value(h), json_string_value(json_object_get(r, "name")));
		}
		json_object_set_new(r, "checked", json_boolean(on));
	}
}

/* ==== Staff list and creation ==== */

static enum sf_err staff_page(struct sf_req *req, struct sf_resp *resp, unsigned status, enum sf_err why,
			      const char *why_text, const char *link)
{
	struct sf_app *app = req->app;
	json_t *list = NULL, *roles = NULL;
	enum sf_err err = sf_staff_list_json(app, &list);
	if (!err)
		err = sf_staff_roles_json(app, &roles);
	json_t *ctx = err ? NULL : sf_admin_ctx(req, resp, "Staff & roles", "staff");
	if (!ctx) {
		json_decref(list);
		json_decref(roles);
		return err ? err : SF_ERR_NOMEM;
	}
	json_t *perms = json_array();
	for (int i = 0; perms && i < SF_RBAC_NPERM; i++) {
		char key[40];
		snprintf(key, sizeof key, "p_%s", sf_rbac_name(i));
		json_array_append_new(perms, json_pack("{s:s,s:s}", "name", sf_rbac_name(i), "field", key));
	}
	sf_admin_times(list, "created_at");
	json_object_set_new(ctx, "list", list);
	json_object_set_new(ctx, "roles", roles);
	json_object_set_new(ctx, "permissions", perms);
	if (link)
		json_object_set_new(ctx, "enroll_link", json_string(link));
	sf_admin_error(ctx, why, why_text);
	return sf_admin_render(req, resp, why ? sf_err_status(why) : status, "admin_staff", ctx);
}

enum sf_err sf_web_admin_staff(struct sf_req *req, struct sf_resp *resp)
{
	return staff_page(req, resp, 200, SF_OK, NULL, NULL);
}

enum sf_err sf_web_admin_staff_create(struct sf_req *req, struct sf_resp *resp)
{
	struct sf_app *app = req->app;
	int detour;
	enum sf_err err = sf_admin_fresh(req, resp, "/admin/staff", &detour);
	if (err || detour)
		return err;
	json_t *roles = NULL;
	err = sf_form_parse(req);
	if (!err)
		err = sf_staff_roles_json(app, &roles);
	if (err)
		return err;
	const char *picked[SF_STAFF_MAX_ROLES];
	size_t n = form_roles(req, roles, picked, SF_STAFF_MAX_ROLES);
	struct sf_staff_actor a;
	sf_staff_actor_of(req, &a);
	char link[SF_STAFF_LINK_MAX];
	const char *why = "Choose at least one role.";
	int64_t id;
	err = n ? sf_staff_add(app, &a, sf_form_get(req, "email"), sf_form_get(req, "name"), picked, n, &id, link, &why)
		: SF_ERR_BAD_PARAM;
	json_decref(roles);
	if (err == SF_ERR_EXISTS)
		why = "An account with this e-mail exists already.";
	if (!err) /* the link is shown once, to the person who created the account */
		return staff_page(req, resp, 201, SF_OK, NULL, link);
	return sf_admin_user_error(err) || err == SF_ERR_FORBIDDEN ? staff_page(req, resp, 0, err, why, NULL) : err;
}

/* ==== One staff member ==== */

static enum sf_err member_page(struct sf_req *req, struct sf_resp *resp, int64_t id, enum sf_err why,
			       const char *why_text)
{
	struct sf_app *app = req->app;
	json_t *m = NULL, *roles = NULL;
	enum sf_err err = sf_staff_get_json(app, id, &m);
	if (!err)
		err = sf_staff_roles_json(app, &roles);
	char title[64];
	snprintf(title, sizeof title, "Staff #%" PRId64, id);
	json_t *ctx = err ? NULL : sf_admin_ctx(req, resp, title, "staff");
	if (!ctx) {
		json_decref(m);
		json_decref(roles);
		return err ? err : SF_ERR_NOMEM;
	}
	mark_roles(roles, json_object_get(m, "roles"));
	json_object_set_new(ctx, "member", m);
	/* not "roles": inside {{#member}} that name is the member's own list
	 * of role names, which the form's checkboxes would iterate instead */
	json_object_set_new(ctx, "role_list", roles);
	sf_admin_error(ctx, why, why_text);
	return sf_admin_render(req, resp, why ? sf_err_status(why) : 200, "admin_staff_member", ctx);
}

enum sf_err sf_web_admin_staff_member(struct sf_req *req, struct sf_resp *resp)
{
	int64_t id;
	enum sf_err err = sf_admin_path_id(req, "id", &id);
	return err ? err : member_page(req, resp, id, SF_OK, NULL);
}

enum member_op { OP_ROLES, OP_ACTIVE, OP_ACCESS };

static enum sf_err member_change(struct sf_req *req, struct sf_resp *resp, enum member_op op)
{
	struct sf_app *app = req->app;
	int64_t id;
	enum sf_err err = sf_admin_path_id(req, "id", &id);
	if (err)
		return err;
	char back[64];
	snprintf(back, sizeof back, "/admin/staff/%" PRId64, id);
	int detour;
	err = sf_admin_fresh(req, resp, back, &detour);
	if (err || detour)
		return err;
	err = sf_form_parse(req);
	if (err)
		return err;
	struct sf_staff_actor a;
	sf_staff_actor_of(req, &a);
	const char *why = NULL;
	if (op == OP_ROLES) {
		json_t *roles = NULL;
		const char *picked[SF_STAFF_MAX_ROLES];
		err = sf_staff_roles_json(app, &roles);
		size_t n = err ? 0 : form_roles(req, roles, picked, SF_STAFF_MAX_ROLES);
		if (!err)
			err = sf_staff_set_roles(app, &a, id, picked, n, &why);
		json_decref(roles);
	} else if (op == OP_ACTIVE) {
		int64_t on;
		err = sf_admin_int(req, "active", 0, 0, 1, -1, &on);
		if (!err && on < 0)
			err = SF_ERR_BAD_PARAM;
		if (!err)
			err = sf_staff_set_active(app, &a, id, (int)on);
	} else {
		const char *allow = sf_form_get(req, "allow_ips"), *deny = sf_form_get(req, "deny_ips");
		const char *win = sf_form_get(req, "access_windows");
		err = sf_staff_set_access(app, &a, id, allow ? allow : "", deny ? deny : "", win ? win : "", &why);
	}
	if (err == SF_ERR_LAST_OWNER)
		why = "The last active owner keeps the owner role.";
	if (!err)
		return sf_resp_redirect(req, resp, 303, back);
	if (err == SF_ERR_NOT_FOUND)
		return err;
	return sf_admin_user_error(err) || err == SF_ERR_FORBIDDEN ? member_page(req, resp, id, err, why) : err;
}

enum sf_err sf_web_admin_staff_roles(struct sf_req *req, struct sf_resp *resp)
{
	return member_change(req, resp, OP_ROLES);
}

enum sf_err sf_web_admin_staff_active(struct sf_req *req, struct sf_resp *resp)
{
	return member_change(req, resp, OP_ACTIVE);
}

enum sf_err sf_web_admin_staff_access(struct sf_req *req, struct sf_resp *resp)
{
	return member_change(req, resp, OP_ACCESS);
}

/* ==== Custom roles ==== */

enum sf_err sf_web_admin_role_save(struct sf_req *req, struct sf_resp *resp)
{
	struct sf_app *app = req->app;
	int detour;
	enum sf_err err = sf_admin_fresh(req, resp, "/admin/staff", &detour);
	if (err || detour)
		return err;
	err = sf_form_parse(req);
	if (err)
		return err;
	const char *perms[SF_RBAC_NPERM];
	size_t n = 0;
	for (int i = 0; i < SF_RBAC_NPERM; i++) {
		char key[40];
		snprintf(key, sizeof key, "p_%s", sf_rbac_name(i));
		const char *v = sf_form_get(req, key);
		if (v && !strcmp(v, "1"))
			perms[n++] = sf_rbac_name(i);
	}
	struct sf_staff_actor a;
	sf_staff_actor_of(req, &a);
	const char *why = "Name the role (a-z, 0-9, _) and tick at least one permission.";
	int64_t min_len = 0, max_age = 0;
	err = sf_admin_int(req, "pw_min_length", 0, 0, 128, 0, &min_len);
	if (!err)
		err = sf_admin_int(req, "pw_max_age_days", 0, 0, 3650, 0, &max_age);
	if (!err)
		err = n ? sf_staff_role_save(app, &a, sf_form_get(req, "name"), sf_form_get(req, "description"), perms, n,
					     min_len, max_age, &why)
			: SF_ERR_BAD_PARAM;
	if (!err)
		return sf_resp_redirect(req, resp, 303, "/admin/staff");
	return sf_admin_user_error(err) || err == SF_ERR_FORBIDDEN ? staff_page(req, resp, 0, err, why, NULL) : err;
}

/* ==== Security settings ==== */

enum sf_err sf_web_admin_security(struct sf_req *req, struct sf_resp *resp)
{
	struct sf_app *app = req->app;
	const struct sf_config *cfg = app->cfg;
	json_t *list = NULL;
	enum sf_err err = sf_staff_list_json(app, &list);
	json_t *ctx = err ? NULL : sf_admin_ctx(req, resp, "Security", "security");
	if (!ctx) {
		json_decref(list);
		return err ? err : SF_ERR_NOMEM;
	}
	/* per-account lists and windows: one read per account (a back office has few) */
	size_t i;
	json_t *s;
	json_array_foreach(list, i, s) {
		json_t *one = NULL;
		if (!sf_staff_get_json(app, json_integer_value(json_object_get(s, "id")), &one)) {
			static const char *const keys[] = {"allow_ips", "deny_ips", "access_windows", "pw_min_length",
							   "pw_max_age_days"};
			for (int k = 0; k < 5; k++)
				json_object_set(s, keys[k], json_object_get(one, keys[k]));
		}
		json_decref(one);
	}
	json_object_set_new(ctx, "list", list);
	json_object_set_new(ctx, "settings",
			    json_pack("{s:s,s:s,s:b,s:I,s:I,s:I,s:I,s:I,s:I}", "path", cfg ? cfg->admin_path : "",
				      "allow", cfg && cfg->admin_allow[0] ? cfg->admin_allow : "(any address)",
				      "require_2fa", cfg ? cfg->admin_require_2fa : 1, "idle_min",
				      (json_int_t)(cfg ? cfg->admin_idle_s / 60 : 15), "absolute_h",
				      (json_int_t)(cfg ? cfg->admin_absolute_s / 3600 : 8), "reauth_min",
				      (json_int_t)(cfg ? cfg->admin_reauth_minutes : 5), "pw_min",
				      (json_int_t)(cfg ? cfg->admin_pw_min_length : 12), "pw_age",
				      (json_int_t)(cfg ? cfg->admin_pw_max_age_days : 90), "pw_history",
				      (json_int_t)(cfg ? cfg->admin_pw_history : 4)));
	return sf_admin_render(req, resp, 200, "admin_security", ctx);
}

/* ==== Inventory overview ==== */

enum sf_err sf_web_admin_inventory(struct sf_req *req, struct sf_resp *resp)
{
	struct sf_app *app = req->app;
	int64_t threshold;
	json_t *low = NULL;
	enum sf_err err = sf_admin_int(req, "below", 1, 0, 1000000, 5, &threshold);
	if (!err)
		err = sf_bo_low_stock(app->db, threshold, 200, &low);
	json_t *ctx = err ? NULL : sf_admin_ctx(req, resp, "Inventory", "inventory");
	if (!ctx) {
		json_decref(low);
		return err ? err : SF_ERR_NOMEM;
	}
	json_object_set_new(ctx, "low", low);
	json_object_set_new(ctx, "below", json_integer(threshold));
	return sf_admin_render(req, resp, 200, "admin_inventory", ctx);
}
