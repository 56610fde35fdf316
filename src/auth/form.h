/*
 * form.h — request bodies for handlers: HTML form fields and JSON.
 *
 * Forms: application/x-www-form-urlencoded, decoded strictly by the http
 * layer's query decoder (sf_http_parse_query: malformed %xx, bad UTF-8 and
 * control characters other than tab/CR/LF are refused; at most 64 fields),
 * or multipart/form-data (sf_multipart_parse; text parts under the same
 * rules, file parts through sf_form_file).  Either way the auth stage reads
 * csrf_token from the body, so upload forms are protected like any other.  The body is parsed once per request (the auth stage may already
 * have done so to read csrf_token) and kept in the request arena.
 *
 * JSON: application/json bodies of at most SF_JSON_BODY_MAX bytes, nesting
 * at most SF_JSON_MAX_DEPTH, duplicate keys refused, must be an object.
 */
#ifndef SF_AUTH_FORM_H
#define SF_AUTH_FORM_H

#include <jansson.h>
#include <stddef.h>

#include "core/err.h"
#include "http/http.h"

#define SF_JSON_BODY_MAX (64u * 1024u)
#define SF_FORM_MAX_PARTS 16
#define SF_JSON_MAX_DEPTH 16

/* Parse the form body (idempotent).  Returns SF_OK (an empty or missing
 * body is an empty form), SF_ERR_UNSUPPORTED_MEDIA (a body with another
 * Content-Type), SF_ERR_BAD_ENCODING, SF_ERR_BAD_PARAM (too many fields, an
 * empty name) or SF_ERR_NOMEM. */
enum sf_err sf_form_parse(struct sf_req *req) SF_WARN_UNUSED;

/* A form field's value (first occurrence; arena string) or NULL when absent
 * or when the body did not parse (handlers call sf_form_parse first to tell
 * the two apart). */
const char *sf_form_get(struct sf_req *req, const char *name);

/* v as a refused form may show it again (docs/SECURITY.md): v itself, or ""
 * for NULL and for any value that holds a card number, whatever error the
 * form got (a card number in a field that failed another check first must
 * not come back in the page).  Pages echo posted values only through this. */
const char *sf_form_echo(const char *v);

/* A file part of a multipart/form-data body by field name (data points into
 * the request body), or NULL when absent or the body did not parse. */
const struct sf_part *sf_form_file(struct sf_req *req, const char *name);

/* Parse the JSON body into *out (caller decrefs).  Returns SF_OK,
 * SF_ERR_UNSUPPORTED_MEDIA (not application/json), SF_ERR_TOO_LARGE,
 * SF_ERR_BAD_JSON (malformed, too deep, duplicate keys, not an object, or
 * empty). */
enum sf_err sf_json_body(struct sf_req *req, json_t **out) SF_WARN_UNUSED;

/* The pure parts, for tests: the JSON nesting depth of text[0..n) (strings
 * skipped), and the form decoder on a raw body. */
size_t sf_json_depth(const char *text, size_t n);
enum sf_err sf_form_decode(struct sf_arena *a, const char *body, size_t n, struct sf_kv **kv,
			   size_t *nkv) SF_WARN_UNUSED;

#endif
