/*
 * media.c — checked, randomly named product image uploads (media.h).
 */
#include "shop/media.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "audit/audit.h"
#include "core/util.h"
#include "db/db.h"
#include "shop/catalog_cache.h"

static const char *const exts[] = {"png", "jpg", "gif", "webp"};
static const char *const types[] = {"image/png", "image/jpeg", "image/gif", "image/webp"};

const char *sf_media_ext(enum sf_media_kind kind)
{
	return (unsigned)kind <= SF_MEDIA_WEBP ? exts[kind] : "bin";
}

static uint32_t be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint32_t le32(const unsigned char *p)
{
	return (uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 | p[0];
}

/* The kind the magic bytes name; -1 for none. */
static int sniff(const unsigned char *d, size_t n)
{
	if (n >= 8 && !memcmp(d, "\x89PNG\r\n\x1a\n", 8))
		return SF_MEDIA_PNG;
	if (n >= 3 && d[0] == 0xff && d[1] == 0xd8 && d[2] == 0xff)
		return SF_MEDIA_JPEG;
	if (n >= 6 && (!memcmp(d, "GIF87a", 6) || !memcmp(d, "GIF89a", 6)))
		return SF_MEDIA_GIF;
	if (n >= 12 && !memcmp(d, "RIFF", 4) && !memcmp(d + 8, "WEBP", 4))
		return SF_MEDIA_WEBP;
	return -1;
}

/* Does the file end exactly where its format says? */
static int structure_ok(enum sf_media_kind k, const unsigned char *d, size_t n)
{
	switch (k) {
	case SF_MEDIA_PNG: {
		size_t off = 8;
		int first = 1;
		while (off + 12 <= n) {
			uint32_t len = be32(d + off);
			const unsigned char *type = d + off + 4;
			if (len > n - off - 12)
				return 0;
			if (first && memcmp(type, "IHDR", 4))
				return 0;
			first = 0;
			off += 12 + (size_t)len;
			if (!memcmp(type, "IEND", 4))
				return len == 0 && off == n;
		}
		return 0;
	}
	case SF_MEDIA_JPEG:
		return n >= 6 && d[n - 2] == 0xff && d[n - 1] == 0xd9;
	case SF_MEDIA_GIF:
		return n >= 14 && d[n - 1] == 0x3b;
	case SF_MEDIA_WEBP:
		return n >= 20 && (uint64_t)le32(d + 4) + 8 == n && n % 2 == 0;
	}
	return 0;
}

/* Markup or archive signatures that make an image a polyglot. */
static int has_payload(const unsigned char *d, size_t n)
{
	static const char *const text[] = {"<script", "<html", "<?php", "<svg", "<!doctype", "<iframe",
					   "<body", "<?xml", "javascript:", "<object", "<embed"};
	for (size_t i = 0; i < n; i++) {
		if (d[i] == 'P' && i + 4 <= n && d[i + 1] == 'K' &&
		    ((d[i + 2] == 3 && d[i + 3] == 4) || (d[i + 2] == 5 && d[i + 3] == 6)))
			return 1;
		if (d[i] != '<' && d[i] != 'j' && d[i] != 'J')
			continue;
		for (size_t t = 0; t < sizeof text / sizeof text[0]; t++) {
			size_t tl = strlen(text[t]);
			if (i + tl <= n && !strncasecmp((const char *)d + i, text[t], tl))
				return 1;
		}
	}
	return 0;
}

enum sf_err sf_media_check(const void *data, size_t len, const char *content_type, enum sf_media_kind *kind,
			   const char **why)
{
	const unsigned char *d = data;
	*why = NULL;
	if (!d || len == 0 || len > SF_MEDIA_MAX) {
		*why = "The image must be between 1 byte and 2 MiB.";
		return SF_ERR_TOO_LARGE;
	}
	int declared = -1;
	size_t tl = content_type ? strcspn(content_type, "; \t") : 0;
	for (int i = 0; i <= SF_MEDIA_WEBP && tl; i++) {
		if (strlen(types[i]) == tl && !strncasecmp(content_type, types[i], tl))
			declared = i;
	}
	int actual = sniff(d, len);
	if (declared < 0 || actual != declared) {
		*why = "Only PNG, JPEG, GIF and WebP images are accepted, and the file must be what it claims to be.";
		return SF_ERR_UNSUPPORTED_MEDIA;
	}
	if (!structure_ok((enum sf_media_kind)actual, d, len) || has_payload(d, len)) {
		*why = "The image is malformed or carries other content.";
		return SF_ERR_BAD_PARAM;
	}
	*kind = (enum sf_media_kind)actual;
	return SF_OK;
}

struct img {
	const struct sf_keyring *kr;
	int64_t product_id;
	const char *name;
	const struct sf_shop_actor *actor;
	enum sf_err err;
};

static void found_fn(struct sf_db_cursor *cur, void *ctx)
{
	(void)cur;
	*(int *)ctx = 1;
}

static enum sf_db_status img_txn(struct sf_db_conn *c, void *ctx)
{
	struct img *m = ctx;
	int found = 0;
	struct sf_db_param id[] = {SF_DB_INT(m->product_id)};
	enum sf_db_status st = sf_db_query_one(c, SF_STMT_BO_PRODUCT_GET, id, 1, found_fn, &found);
	if (st == SF_DB_NO_ROWS) {
		m->err = SF_ERR_NOT_FOUND;
		return SF_DB_HARD;
	}
	if (st != SF_DB_OK)
		return st;
	struct sf_db_param up[] = {SF_DB_INT(m->product_id), SF_DB_TEXT(m->name), SF_DB_INT(sf_shop_now())};
	st = sf_db_exec(c, SF_STMT_BO_PRODUCT_SET_IMAGE, up, 3, NULL);
	if (st != SF_DB_OK)
		return st;
	char oid[24], detail[96];
	snprintf(oid, sizeof oid, "%" PRId64, m->product_id);
	snprintf(detail, sizeof detail, "{\"file\":\"%s\"}", m->name); /* hex + extension: nothing to escape */
	struct sf_audit_event ev = {
		.actor_type = m->actor->type, .actor_id = m->actor->id, .ip = m->actor->ip,
		.action = "product.image", .object_type = "product", .object_id = oid,
		.outcome = "success", .request_id = m->actor->request_id, .detail = detail,
	};
	enum sf_err err = sf_audit_append(c, m->kr, &ev);
	if (err) {
		m->err = err == SF_ERR_DB_CONFLICT ? SF_OK : err;
		return sf_db_status_from_err(err);
	}
	return sf_catalog_touch(c);
}

static enum sf_err write_new(const char *path, const void *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0640);
	if (fd < 0)
		return SF_ERR_IO;
	const unsigned char *p = data;
	size_t done = 0;
	while (done < len) {
		ssize_t w = write(fd, p + done, len - done);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			close(fd);
			unlink(path);
			return SF_ERR_IO;
		}
		done += (size_t)w;
	}
	if (fsync(fd) || close(fd)) {
		unlink(path);
		return SF_ERR_IO;
	}
	return SF_OK;
}

enum sf_err sf_media_product_image(struct sf_db *db, const struct sf_keyring *kr, const char *media_dir,
				   int64_t product_id, const void *data, size_t len, const char *content_type,
				   const struct sf_shop_actor *actor, char name_out[SF_MEDIA_NAME_MAX],
				   const char **why)
{
	enum sf_media_kind kind;
	enum sf_err err = sf_media_check(data, len, content_type, &kind, why);
	if (err)
		return err;
	if (!media_dir || !*media_dir)
		return SF_ERR_IO;
	char dir[1024], path[1100], hex[33];
	unsigned char rnd[16];
	if ((size_t)snprintf(dir, sizeof dir, "%s/products", media_dir) >= sizeof dir)
		return SF_ERR_IO;
	err = sf_mkdirs(dir, 0750);
	if (err)
		return err;
	sf_rand_bytes(rnd, sizeof rnd);
	sf_hex(rnd, sizeof rnd, hex);
	snprintf(name_out, SF_MEDIA_NAME_MAX, "%s.%s", hex, sf_media_ext(kind));
	snprintf(path, sizeof path, "%s/%s", dir, name_out);
	err = write_new(path, data, len);
	if (err)
		return err;
	struct img m = {.kr = kr, .product_id = product_id, .name = name_out, .actor = actor};
	enum sf_db_status st = sf_db_txn(db, img_txn, &m, 5);
	err = m.err ? m.err : st < 0 ? sf_db_err(st) : SF_OK;
	if (err)
		unlink(path);
	return err;
}
