/*
 * report.h — sales reports for the back office: net sales by day, week or
 * month, top products, average order value and checkout conversion.
 *
 * Definitions (docs/COMMERCE.md, "Reports"):
 *   period      [from, to) in unix seconds, buckets in UTC; a week starts
 *               on Monday and is labelled by that Monday's date.
 *   placed      orders created in the period (every checkout that
 *               completed, paid or not).
 *   sold        placed orders whose payment went through: every status
 *               except pending_payment and cancelled (a refunded order
 *               still counts as sold; its refund lowers net sales).
 *   net sales   sum over sold orders of paid - refunded (minor units).
 *   AOV         net sales / sold orders, rounded half up (0 without orders).
 *   conversion  sold / placed in basis points (checkout-to-payment
 *               conversion: storefort keeps no visitor tracking, so the
 *               visit-to-order rate is not measured).
 * Each report is for one currency: amounts in different currencies are
 * never added up.  Reads only, no audit event (exports are audited by the
 * handler that writes the file).
 */
#ifndef SF_SHOP_REPORT_H
#define SF_SHOP_REPORT_H

#include <jansson.h>
#include <stdint.h>

#include "core/err.h"

struct sf_db;

enum sf_report_period { SF_REPORT_DAY, SF_REPORT_WEEK, SF_REPORT_MONTH };

#define SF_REPORT_MAX_SPAN (3660LL * 86400) /* ten years */
#define SF_REPORT_TOP_MAX 100

struct sf_report_query {
	int64_t from, to;            /* [from, to), unix seconds, to > from, span <= SF_REPORT_MAX_SPAN */
	enum sf_report_period period;
	char currency[4];            /* "EUR" */
	int64_t top;                 /* top products to list, 1..SF_REPORT_TOP_MAX */
};

/* "day" / "week" / "month" <-> enum.  parse: 0 or -1. */
const char *sf_report_period_name(enum sf_report_period p);
int sf_report_period_parse(const char *s, enum sf_report_period *out);

/* The report as a new JSON object:
 *   {"currency","period","from","to" (unix s),
 *    "placed","sold","net_sales","aov","conversion_bp",
 *    "series":[{"bucket":"2026-01-05","orders":n,"net_sales":minor}] (every
 *    bucket of the period, zeros included, oldest first; at most 400),
 *    "top":[{"sku","name","units","revenue"}]}
 * Returns SF_OK, SF_ERR_INVALID (bad range, currency or top; too many
 * buckets), SF_ERR_UNAVAILABLE (no connection), SF_ERR_NOMEM or a database
 * error.  Reads inside one snapshot. */
enum sf_err sf_report_sales(struct sf_db *db, const struct sf_report_query *q, json_t **out) SF_WARN_UNUSED;

/* The shop's currency into out (4 bytes): the newest order's, else the
 * catalog's first variant's, else "".  SF_OK or a database error. */
enum sf_err sf_report_default_currency(struct sf_db *db, char out[4]) SF_WARN_UNUSED;

/* The bucket label of unix time t for period ("2026-01-31", the Monday
 * "2026-01-26", "2026-01") into out (at least 11 bytes), and the start of
 * the next bucket.  Exposed for tests. */
int64_t sf_report_bucket(enum sf_report_period p, int64_t t, char *out, size_t n);

#endif
