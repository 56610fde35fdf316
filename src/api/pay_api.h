/*
 * pay_api.h — payments in the JSON API, the providers' webhook endpoints,
 * and the OpenAPI document.
 *
 *   POST /api/v1/orders/{id}/pay             the caller's pending order -> 201
 *                                            {"redirect_url"}: send the shopper
 *                                            there (CSRF: X-CSRF-Token)
 *   POST /api/v1/payments/sandbox/webhook    the sandbox's signed notification
 *                                            (Storefort-Timestamp / -Event-Id /
 *                                            -Signature headers)
 *   POST /api/v1/payments/stripe/webhook     Stripe events (Stripe-Signature)
 *   GET  /api/v1/openapi.json                the OpenAPI 3 document of /api/v1
 * Webhooks answer 200 {"received":true} (also for a replay already
 * processed, {"received":true,"replayed":true}), or a 4xx error code; they
 * carry no session and no CSRF token: the signature is the credential.
 */
#ifndef SF_API_PAY_API_H
#define SF_API_PAY_API_H

#include "core/err.h"
#include "http/http.h"

#define SF_PAY_WEBHOOK_BODY_MAX 65536

enum sf_err sf_api_order_pay(struct sf_req *req, struct sf_resp *resp);
enum sf_err sf_api_pay_webhook_sandbox(struct sf_req *req, struct sf_resp *resp);
enum sf_err sf_api_pay_webhook_stripe(struct sf_req *req, struct sf_resp *resp);
enum sf_err sf_api_openapi(struct sf_req *req, struct sf_resp *resp);

/* Shared with the pay pages: start paying order {id} for this request's
 * owner; *url (arena) is where to send the shopper.  Errors as
 * sf_pay_start. */
enum sf_err sf_pay_req_start(struct sf_req *req, struct sf_resp *resp, const char **url) SF_WARN_UNUSED;

#endif
