/*
 * rbac.c — permission names, the built-in roles' permission sets and the
 * per-request permission check (rbac.h).
 *
 * A permission is an index r * SF_RBAC_NACT + a into a 96-bit set; the names
 * come from the X-macros of rbac.h, so a resource or action added there is
 * known here at once.  Built-in roles are defined in code (not editable);
 * custom roles are read from the database by staff.c, which hands this file
 * the union of the staff member's roles for the request.
 */
#include "auth/rbac.h"

#include <string.h>

#include "auth/auth_int.h"
#include "auth/staff.h"

#define NAME(x) #x,
static const char *const resources[] = {SF_RBAC_RESOURCES(NAME)};
static const char *const actions[] = {SF_RBAC_ACTIONS(NAME)};
#undef NAME

_Static_assert(sizeof resources / sizeof resources[0] == SF_RBAC_NRES, "SF_RBAC_NRES");
_Static_assert(sizeof actions / sizeof actions[0] == SF_RBAC_NACT, "SF_RBAC_NACT");
_Static_assert(SF_RBAC_NPERM <= 128, "struct sf_rbac_set holds 128 bits");

/* "catalog.read" ... built once from the tables above (constant data). */
#define MAXNAME 24
static char names[SF_RBAC_NPERM][MAXNAME];
static int names_ready;

static void names_init(void)
{
	if (__atomic_load_n(&names_ready, __ATOMIC_ACQUIRE))
		return;
	for (int r = 0; r < SF_RBAC_NRES; r++)
		for (int a = 0; a < SF_RBAC_NACT; a++) {
			char *o = names[r * SF_RBAC_NACT + a];
			size_t rl = strlen(resources[r]), al = strlen(actions[a]);
			memcpy(o, resources[r], rl);
			o[rl] = '.';
			memcpy(o + rl + 1, actions[a], al + 1);
		}
	/* Racing initialisers write identical bytes; the flag only saves work. */
	__atomic_store_n(&names_ready, 1, __ATOMIC_RELEASE);
}

static int find(const char *const *list, size_t n, const char *s, size_t len)
{
	for (size_t i = 0; i < n; i++)
		if (strlen(list[i]) == len && !memcmp(list[i], s, len))
			return (int)i;
	return -1;
}

int sf_rbac_index(const char *permission)
{
	if (!permission)
		return -1;
	const char *dot = strchr(permission, '.');
	if (!dot || strchr(dot + 1, '.'))
		return -1;
	int r = find(resources, SF_RBAC_NRES, permission, (size_t)(dot - permission));
	int a = find(actions, SF_RBAC_NACT, dot + 1, strlen(dot + 1));
	return r < 0 || a < 0 ? -1 : r * SF_RBAC_NACT + a;
}

const char *sf_rbac_name(int i)
{
	if (i < 0 || i >= SF_RBAC_NPERM)
		return NULL;
	names_init();
	return names[i];
}

int sf_rbac_valid(const char *permission)
{
	return sf_rbac_index(permission) >= 0;
}

static void set_bit(struct sf_rbac_set *s, int i)
{
	s->w[i / 64] |= (uint64_t)1 << (i % 64);
}

static int has_bit(const struct sf_rbac_set *s, int i)
{
	return (int)((s->w[i / 64] >> (i % 64)) & 1u);
}

void sf_rbac_set_add(struct sf_rbac_set *s, const char *permission)
{
	int i = sf_rbac_index(permission);
	if (i >= 0)
		set_bit(s, i);
}

int sf_rbac_set_has(const struct sf_rbac_set *s, const char *permission)
{
	int i = sf_rbac_index(permission);
	return i >= 0 && has_bit(s, i);
}

void sf_rbac_set_union(struct sf_rbac_set *s, const struct sf_rbac_set *other)
{
	s->w[0] |= other->w[0];
	s->w[1] |= other->w[1];
}

/* ==== Built-in roles ==== */

static const char *const builtin_roles[] = {"owner",	      "administrator", "catalog_manager", "order_operator",
					    "customer_support", "analyst",	      "privacy_officer"};

/* Grants as "resource.action" or "resource.*"; NULL-terminated. */
static const char *const g_catalog_manager[] = {"catalog.*", "inventory.*", "reports.read", NULL};
static const char *const g_order_operator[] = {"orders.read",	  "orders.update",  "orders.export",
					       "customers.read", "inventory.read", NULL};
static const char *const g_customer_support[] = {"customers.read", "customers.update", "orders.read",
						 "orders.update", NULL};
static const char *const g_analyst[] = {"reports.read", "reports.export", "orders.read", "catalog.read", NULL};
static const char *const g_privacy_officer[] = {"customers.read",   "customers.reveal", "customers.export",
						"customers.delete", "audit.read",	    "audit.export",
						NULL};

static void grant(struct sf_rbac_set *s, const char *g)
{
	size_t len = strlen(g);
	if (len > 2 && !strcmp(g + len - 2, ".*")) {
		int r = find(resources, SF_RBAC_NRES, g, len - 2);
		for (int a = 0; r >= 0 && a < SF_RBAC_NACT; a++)
			set_bit(s, r * SF_RBAC_NACT + a);
		return;
	}
	sf_rbac_set_add(s, g);
}

const char *const *sf_rbac_builtin_roles(size_t *n)
{
	*n = sizeof builtin_roles / sizeof builtin_roles[0];
	return builtin_roles;
}

int sf_rbac_builtin_set(const char *role, struct sf_rbac_set *out)
{
	memset(out, 0, sizeof *out);
	if (!role)
		return 0;
	if (!strcmp(role, "owner") || !strcmp(role, "administrator")) {
		int keys = find(resources, SF_RBAC_NRES, "keys", 4);
		for (int i = 0; i < SF_RBAC_NPERM; i++)
			if (!strcmp(role, "owner") || i / SF_RBAC_NACT != keys)
				set_bit(out, i);
		return 1;
	}
	const char *const *g = NULL;
	if (!strcmp(role, "catalog_manager"))
		g = g_catalog_manager;
	else if (!strcmp(role, "order_operator"))
		g = g_order_operator;
	else if (!strcmp(role, "customer_support"))
		g = g_customer_support;
	else if (!strcmp(role, "analyst"))
		g = g_analyst;
	else if (!strcmp(role, "privacy_officer"))
		g = g_privacy_officer;
	if (!g)
		return 0;
	for (; *g; g++)
		grant(out, *g);
	return 1;
}

int sf_rbac_role_can(const char *role, const char *permission)
{
	struct sf_rbac_set s;
	return sf_rbac_builtin_set(role, &s) && sf_rbac_set_has(&s, permission);
}

int sf_rbac_route_permission_ok(enum sf_auth_mode mode, const char *permission)
{
	if (!permission)
		return 0;
	if (!strcmp(permission, SF_RBAC_LOGIN))
		return mode == SF_AUTH_NONE;
	if (!strcmp(permission, SF_RBAC_SELF) || !strcmp(permission, SF_RBAC_LOGIN_STEP))
		return mode == SF_AUTH_STAFF || (mode == SF_AUTH_TOKEN && !strcmp(permission, SF_RBAC_SELF));
	return (mode == SF_AUTH_STAFF || mode == SF_AUTH_TOKEN) && sf_rbac_valid(permission);
}

/* ==== Per request ==== */

int sf_rbac_set_request(struct sf_req *req, const struct sf_rbac_set *set)
{
	struct sf_staff_viewer *v = sf_staff_viewer_mut(req);
	if (!v)
		return -1;
	v->perms = *set;
	v->perms_set = 1;
	return 0;
}

const struct sf_rbac_set *sf_rbac_request_set(const struct sf_req *req)
{
	const struct sf_staff_viewer *v = sf_staff_viewer(req);
	return v && v->perms_set ? &v->perms : NULL;
}

int sf_rbac_can(const struct sf_req *req, const char *permission)
{
	const struct sf_principal *p = sf_auth_principal(req);
	if (p->kind != SF_PRINCIPAL_STAFF && p->kind != SF_PRINCIPAL_TOKEN)
		return 0;
	const struct sf_rbac_set *s = sf_rbac_request_set(req);
	return s && sf_rbac_set_has(s, permission);
}
