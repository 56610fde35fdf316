/*
 * err.h — the one error registry of storefort.
 *
 * Every function that can fail returns an enum sf_err; SF_OK is 0 so that
 * `if (err) goto out;` reads naturally.  Each code carries its HTTP status,
 * a stable string code used in JSON error bodies ("not_found") and a one-line
 * description that is safe to show to a client (it never holds internal
 * detail).  Ranges per module keep the list easy to scan.
 */
#ifndef SF_CORE_ERR_H
#define SF_CORE_ERR_H

/* X(name, value, http_status, code_string, description) */
#define SF_ERR_LIST(X)                                                                  \
	X(SF_OK, 0, 200, "ok", "Success.")                                                 \
	/* 1xx: generic */                                                                 \
	X(SF_ERR_NOMEM, 100, 503, "out_of_memory", "The server is out of memory.")         \
	X(SF_ERR_INTERNAL, 101, 500, "internal", "An internal error occurred.")            \
	X(SF_ERR_IO, 102, 500, "io_error", "A storage operation failed.")                  \
	X(SF_ERR_INVALID, 103, 400, "invalid_argument", "An argument is invalid.")         \
	X(SF_ERR_TOO_LARGE, 104, 413, "too_large", "The input is too large.")              \
	X(SF_ERR_NOT_FOUND, 105, 404, "not_found", "The resource was not found.")          \
	X(SF_ERR_EXISTS, 106, 409, "already_exists", "The resource already exists.")       \
	X(SF_ERR_LIMIT, 107, 413, "limit_exceeded", "A hard size limit was reached.")      \
	X(SF_ERR_USAGE, 108, 400, "usage", "The command line is not valid.")               \
	X(SF_ERR_UNAVAILABLE, 109, 503, "unavailable", "The service is not ready.")        \
	/* 2xx: configuration */                                                           \
	X(SF_ERR_CONFIG, 200, 500, "config", "The configuration is not valid.")            \
	X(SF_ERR_CONFIG_UNSAFE, 201, 500, "config_unsafe",                                 \
	  "The configuration is not safe for this environment.")                           \
	/* 3xx: HTTP and input */                                                          \
	X(SF_ERR_BAD_REQUEST, 300, 400, "bad_request", "The request is malformed.")        \
	X(SF_ERR_BAD_ENCODING, 301, 400, "bad_encoding",                                   \
	  "The request contains malformed percent-encoding or UTF-8.")                     \
	X(SF_ERR_BAD_PARAM, 302, 400, "bad_parameter", "A query or form parameter is invalid.") \
	X(SF_ERR_BAD_JSON, 303, 400, "bad_json", "The JSON body is malformed.")            \
	X(SF_ERR_METHOD, 304, 405, "method_not_allowed", "The method is not allowed here.") \
	X(SF_ERR_URI_TOO_LONG, 305, 414, "uri_too_long", "The request URI is too long.")   \
	X(SF_ERR_BODY_TOO_LARGE, 306, 413, "body_too_large", "The request body is too large.") \
	X(SF_ERR_HEADERS_TOO_LARGE, 307, 431, "headers_too_large",                         \
	  "The request headers are too large.")                                            \
	X(SF_ERR_UNSUPPORTED_MEDIA, 308, 415, "unsupported_media_type",                    \
	  "The request body has an unsupported content type.")                             \
	X(SF_ERR_FORBIDDEN, 309, 403, "forbidden", "Access is denied.")                    \
	X(SF_ERR_UNAUTHORIZED, 310, 401, "unauthorized", "Authentication is required.")    \
	X(SF_ERR_RATE_LIMITED, 311, 429, "rate_limited", "Too many requests.")             \
	X(SF_ERR_CARD_DATA, 312, 400, "card_data_refused",                                 \
	  "Card numbers are never accepted; pay through the payment provider.")            \
	X(SF_ERR_TOO_MANY_CONNECTIONS, 313, 503, "too_many_connections",                   \
	  "Too many connections from your address or in total; retry shortly.")            \
	/* 4xx: database */                                                                \
	X(SF_ERR_DB, 400, 500, "db_error", "A database operation failed.")                 \
	X(SF_ERR_DB_CONFLICT, 401, 503, "db_conflict", "The database is busy; retry.")     \
	X(SF_ERR_DB_SCHEMA, 402, 503, "db_schema", "The database schema is not current.")  \
	X(SF_ERR_DB_CONSTRAINT, 403, 409, "conflict", "The change conflicts with existing data.") \
	/* 5xx: crypto */                                                                  \
	X(SF_ERR_CRYPTO, 500, 500, "crypto", "A cryptographic operation failed.")          \
	X(SF_ERR_KEY, 501, 500, "key_error", "A key is missing or not valid.")             \
	X(SF_ERR_TAMPERED, 502, 500, "tampered", "Protected data failed authentication.")  \
	/* 6xx: audit */                                                                   \
	X(SF_ERR_AUDIT_BROKEN, 600, 500, "audit_broken", "The audit chain is broken.")     \
	/* 86x: edge (WAF, rate limits, bans) */                                           \
	X(SF_ERR_WAF_BLOCKED, 860, 403, "request_blocked",                                 \
	  "The request was blocked by the web application firewall.")                      \
	X(SF_ERR_BANNED, 861, 403, "address_banned",                                       \
	  "Your address is temporarily blocked after repeated abuse.")                     \
	/* 7xx: domain */                                                                  \
	X(SF_ERR_CSV, 700, 400, "csv_invalid", "The CSV input is not valid.")              \
	/* 80x: auth and customer accounts */                                              \
	X(SF_ERR_CSRF, 800, 403, "csrf_failed",                                            \
	  "The form or request is missing a valid CSRF token, or came from another site.") \
	X(SF_ERR_LOGIN_FAILED, 801, 401, "login_failed",                                   \
	  "The e-mail address or password is not correct, or the account is locked.")      \
	X(SF_ERR_WEAK_PASSWORD, 802, 400, "weak_password", "The password is not acceptable.") \
	X(SF_ERR_TOKEN_INVALID, 803, 400, "token_invalid",                                 \
	  "The link is not valid, was already used, or has expired.")                      \
	/* 804 (email_unverified) retired: an unconfirmed address answers login_failed */ \
	/* 81x: staff access (src/auth/staff.c) */                                       \
	X(SF_ERR_REAUTH, 810, 403, "reauth_required",                                      \
	  "Confirm your password and authenticator code again to continue.")               \
	X(SF_ERR_ACCESS_POLICY, 811, 403, "access_policy",                                 \
	  "The back office cannot be used from this address or at this time.")             \
	X(SF_ERR_LAST_OWNER, 812, 409, "last_owner",                                       \
	  "The last active owner cannot lose the owner role or be deactivated.")           \
	/* 82x-83x: cart, checkout, orders, coupons */                                     \
	X(SF_ERR_OUT_OF_STOCK, 820, 409, "out_of_stock",                                   \
	  "Not enough stock for the requested quantity.")                                  \
	X(SF_ERR_QUANTITY, 821, 400, "invalid_quantity",                                   \
	  "The quantity must be a whole number within the allowed range.")                 \
	X(SF_ERR_CART_EMPTY, 822, 409, "cart_empty", "The cart is empty.")                 \
	X(SF_ERR_CART_FULL, 823, 409, "cart_full", "The cart holds too many lines.")      \
	X(SF_ERR_CURRENCY_MIX, 824, 409, "currency_mismatch",                              \
	  "Items priced in different currencies cannot share a cart.")                     \
	X(SF_ERR_COUPON_INVALID, 825, 400, "coupon_invalid", "The coupon code is not valid.") \
	X(SF_ERR_COUPON_EXPIRED, 826, 400, "coupon_expired",                               \
	  "The coupon is not valid at this time.")                                         \
	X(SF_ERR_COUPON_USED_UP, 827, 409, "coupon_used_up",                               \
	  "The coupon has reached its usage limit.")                                       \
	X(SF_ERR_COUPON_MIN_ORDER, 828, 400, "coupon_minimum_not_met",                     \
	  "The order does not reach the coupon's minimum amount.")                         \
	X(SF_ERR_COUPON_LOGIN, 829, 400, "coupon_requires_login",                          \
	  "This coupon can only be used when signed in.")                                  \
	X(SF_ERR_IDEMPOTENCY_KEY, 830, 400, "idempotency_key_required",                    \
	  "A valid Idempotency-Key header (8 to 128 visible characters) is required.")    \
	X(SF_ERR_IDEMPOTENCY, 831, 409, "idempotency_conflict",                            \
	  "This Idempotency-Key was already used with a different request.")               \
	X(SF_ERR_ORDER_STATE, 832, 409, "invalid_order_state",                             \
	  "The order cannot make this change in its current state.")                       \
	X(SF_ERR_ORDER_EXPIRED, 833, 409, "order_expired",                                 \
	  "The order's reservation has expired.")                                          \
	X(SF_ERR_AMOUNT_MISMATCH, 834, 409, "amount_mismatch",                             \
	  "The amount or currency does not match the order.")                              \
	X(SF_ERR_SHIPPING_METHOD, 835, 400, "invalid_shipping_method",                     \
	  "Choose one of the offered shipping methods.")                                   \
	X(SF_ERR_ADDRESS, 836, 400, "invalid_address",                                     \
	  "The shipping address is incomplete or not valid.")                             \
	X(SF_ERR_CART_CHANGED, 837, 409, "cart_changed",                                   \
	  "Your cart changed since you reviewed it: please check the order again.")       \
	X(SF_ERR_TOTAL_CHANGED, 838, 409, "total_mismatch",                                \
	  "The order's total is not the expected_total: the cart, its prices, coupon or shipping changed.") \
	/* 84x: payments and webhooks */                                                   \
	X(SF_ERR_SIGNATURE, 840, 400, "signature_invalid",                                 \
	  "The request signature is missing or does not verify.")                          \
	X(SF_ERR_SIGNATURE_EXPIRED, 841, 400, "signature_expired",                         \
	  "The signed timestamp is outside the allowed tolerance.")                         \
	X(SF_ERR_PAYMENT_PROVIDER, 842, 502, "payment_provider_error",                     \
	  "The payment provider could not be reached or refused the request.")             \
	X(SF_ERR_PAYMENT_SESSION, 843, 409, "payment_session_closed",                      \
	  "This payment session is already completed.")                                    \
	X(SF_ERR_WEBHOOK_URL, 844, 400, "webhook_url_invalid",                             \
	  "The webhook URL must be an absolute http(s) URL.")                              \
	X(SF_ERR_WEBHOOK_EVENT, 845, 400, "webhook_event_unknown",                         \
	  "An event name is not one storefort emits.")                                     \
	X(SF_ERR_REFUND_PROVIDER, 846, 409, "refund_not_possible",                         \
	  "This payment cannot be refunded through its provider: refund it there and record the refund.")       \
	X(SF_ERR_AMOUNT_TOO_SMALL, 847, 409, "amount_too_small",                           \
	  "The order's total is below the smallest amount the payment provider accepts.")

enum sf_err {
#define SF_ERR_ENUM(name, value, status, code, desc) name = value,
	SF_ERR_LIST(SF_ERR_ENUM)
#undef SF_ERR_ENUM
};

/* The stable machine-readable code, e.g. "not_found".  Never NULL. */
const char *sf_err_code(enum sf_err err);
/* A one-line description that is safe to show to a client.  Never NULL. */
const char *sf_err_desc(enum sf_err err);
/* The HTTP status that the code maps to (500 for unknown values). */
unsigned sf_err_status(enum sf_err err);

#define SF_WARN_UNUSED __attribute__((warn_unused_result))

#endif
