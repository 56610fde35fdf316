/*
 * media.h — product images uploaded through the back office.
 *
 * An upload is accepted only when all of these agree: the declared content
 * type is one of image/png, image/jpeg, image/gif, image/webp; the file's
 * magic bytes name that same type; its structure ends where the format says
 * it ends (PNG IEND chunk, JPEG EOI marker, GIF trailer, RIFF length) with
 * nothing appended; no markup or archive signature hides inside it (HTML,
 * script, PHP, SVG, ZIP/JAR: polyglots); and it is 1 byte to SF_MEDIA_MAX
 * bytes.  SVG is never accepted from staff (it can carry script).
 *
 * Accepted files are stored under a fresh random name (32 hex characters +
 * the type's extension) in <media dir>/products/ — outside the templates,
 * served by /media/ with its own CSP — created with O_EXCL|O_NOFOLLOW, never
 * under the uploaded name.
 */
#ifndef SF_SHOP_MEDIA_H
#define SF_SHOP_MEDIA_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "shop/commerce.h"

struct sf_db;
struct sf_keyring;

#define SF_MEDIA_MAX (2u * 1024u * 1024u)
#define SF_MEDIA_NAME_MAX 48 /* "<32 hex>.jpeg" + NUL fits */

enum sf_media_kind { SF_MEDIA_PNG, SF_MEDIA_JPEG, SF_MEDIA_GIF, SF_MEDIA_WEBP };

/* Check an upload as described above.  Returns SF_OK with *kind,
 * SF_ERR_TOO_LARGE (empty or over SF_MEDIA_MAX), SF_ERR_UNSUPPORTED_MEDIA
 * (type not allowed, or magic bytes of another type), or SF_ERR_BAD_PARAM
 * (malformed or polyglot file); *why gets a static client-safe sentence. */
enum sf_err sf_media_check(const void *data, size_t len, const char *content_type, enum sf_media_kind *kind,
			   const char **why) SF_WARN_UNUSED;

/* The file extension of kind ("png", "jpg", "gif", "webp"). */
const char *sf_media_ext(enum sf_media_kind kind);

/* Check data (sf_media_check), write it to media_dir/products/<random>.<ext>
 * and make it product_id's image, with an "product.image" audit event and
 * a catalog version bump in the same transaction (the file is removed
 * again when that fails).  name_out (SF_MEDIA_NAME_MAX bytes) gets the
 * stored file name.  Returns SF_OK, sf_media_check's errors, SF_ERR_NOT_FOUND
 * (no such product), SF_ERR_IO (cannot write), or a database error. */
enum sf_err sf_media_product_image(struct sf_db *db, const struct sf_keyring *kr, const char *media_dir,
				   int64_t product_id, const void *data, size_t len, const char *content_type,
				   const struct sf_shop_actor *actor, char name_out[SF_MEDIA_NAME_MAX],
				   const char **why) SF_WARN_UNUSED;

#endif
