/*
 * commerce.c — shop rules, the mailer hook and the clock (commerce.h).
 */
#include "shop/commerce.h"

#include <stdatomic.h>
#include <stddef.h>
#include <time.h>

#include "core/config.h"

static _Atomic(sf_shop_mail_fn) mailer;
static _Atomic int64_t clock_offset;

void sf_shop_rules_init(struct sf_shop_rules *r, const struct sf_config *cfg)
{
	r->prices_include_tax = cfg ? cfg->shop_prices_include_tax : 1;
	r->reservation_s = (cfg ? cfg->shop_reservation_minutes : 30) * 60;
	r->max_line_qty = cfg ? cfg->shop_max_line_quantity : 20;
	r->max_lines = cfg ? cfg->shop_max_cart_lines : 50;
}

void sf_shop_set_mailer(sf_shop_mail_fn fn)
{
	atomic_store(&mailer, fn);
}

enum sf_err sf_shop_mail(struct sf_db_conn *c, const char *to, const char *subject, const char *body)
{
	sf_shop_mail_fn fn = atomic_load(&mailer);
	return fn ? fn(c, to, subject, body) : SF_OK;
}

int64_t sf_shop_now(void)
{
	return (int64_t)time(NULL) + atomic_load(&clock_offset);
}

void sf_shop_clock_offset(int64_t seconds)
{
	atomic_store(&clock_offset, seconds);
}

void sf_json_put(int *oom, json_t *o, const char *k, json_t *v)
{
	if (!v || !o || json_object_set_new(o, k, v))
		*oom = 1;
}

void sf_json_push(int *oom, json_t *arr, json_t *v)
{
	if (!v || !arr || json_array_append_new(arr, v))
		*oom = 1;
}
