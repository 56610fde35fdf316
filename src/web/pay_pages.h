/*
 * pay_pages.h — the storefront's payment pages (no JavaScript, CSP-clean,
 * every form CSRF-protected).
 *
 *   POST /orders/{id}/pay      the pay step on the order page: creates the
 *                              provider session -> 303 to its page
 *   GET  /orders/{id}/return   back from the provider: "confirming" while
 *                              the notification is on its way, then "thank you"
 *   GET  /sandbox-pay/{session}   the sandbox provider's hosted page:
 *                              approve or decline (no card fields at all)
 *   POST /sandbox-pay/{session}   decision=approve|decline -> the signed
 *                              notification is queued -> 303 back to the order
 */
#ifndef SF_WEB_PAY_PAGES_H
#define SF_WEB_PAY_PAGES_H

#include "core/err.h"
#include "http/http.h"

enum sf_err sf_web_order_pay(struct sf_req *req, struct sf_resp *resp);
enum sf_err sf_web_order_return(struct sf_req *req, struct sf_resp *resp);
enum sf_err sf_web_sandbox_pay(struct sf_req *req, struct sf_resp *resp);
enum sf_err sf_web_sandbox_decide(struct sf_req *req, struct sf_resp *resp);

#endif
