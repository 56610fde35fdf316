/*
 * commerce.h — types shared by the cart, checkout, order and coupon code:
 * the shop's rules (from [shop] in the configuration), who acts (for order
 * events and the audit trail), and the e-mail integration point.
 */
#ifndef SF_SHOP_COMMERCE_H
#define SF_SHOP_COMMERCE_H

#include <jansson.h>
#include <stdint.h>

#include "core/err.h"

struct sf_config;
struct sf_db_conn;

struct sf_shop_rules {
	int prices_include_tax;  /* catalog prices and shipping rates contain the tax */
	int64_t reservation_s;   /* how long an unpaid order holds its stock */
	int64_t max_line_qty;    /* 1..max units of one variant per cart line */
	int64_t max_lines;       /* lines per cart */
};

/* Rules from cfg's [shop] section; the built-in defaults when cfg is NULL
 * (prices include tax, 30 minutes, 20 per line, 50 lines). */
void sf_shop_rules_init(struct sf_shop_rules *r, const struct sf_config *cfg);

/* Who acts.  type is an audit actor type ("customer", "anonymous",
 * "staff", "system", "provider", "cli"); the others may be NULL. */
struct sf_shop_actor {
	const char *type;
	const char *id;
	const char *ip;
	const char *request_id;
};

/* ==== E-mail integration point ====
 * The shop layer sits below ops (src/ops/mail.c holds the outbox), so it
 * cannot call sf_mail_enqueue directly.  The program installs it once at
 * start-up (cmd_serve: sf_shop_set_mailer(sf_mail_enqueue)); order
 * confirmation, "shipped" and refund mails are then enqueued inside the
 * order's own transaction, so a mail exists exactly when its event
 * committed.  Without a mailer nothing is sent (tests, CLI). */
typedef enum sf_err (*sf_shop_mail_fn)(struct sf_db_conn *c, const char *to, const char *subject,
				       const char *text_body);
void sf_shop_set_mailer(sf_shop_mail_fn fn);
/* Enqueue through the installed mailer (SF_OK when none is installed). */
enum sf_err sf_shop_mail(struct sf_db_conn *c, const char *to, const char *subject, const char *body) SF_WARN_UNUSED;

/* JSON building with one sticky out-of-memory flag: o[k] = v / append v
 * (references stolen); a NULL v or a failed set sets *oom. */
void sf_json_put(int *oom, json_t *o, const char *k, json_t *v);
void sf_json_push(int *oom, json_t *arr, json_t *v);

/* The current time in unix seconds; tests may shift it with
 * sf_shop_clock_offset (added to the real clock). */
int64_t sf_shop_now(void);
void sf_shop_clock_offset(int64_t seconds);

#endif
