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
	/* 7xx: domain */                                                                  \
	X(SF_ERR_CSV, 700, 400, "csv_invalid", "The CSV input is not valid.")

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
