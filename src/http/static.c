/*
 * static.c — the two file-serving route handlers: embedded static assets
 * (/static/...) and uploaded media below media_dir (/media/...).
 *
 * Paths are checked twice: by the strict decoder (no dot segments, no "//",
 * no backslash) and here again, so a handler mounted under another pattern
 * stays safe.  Media files are opened one segment at a time with openat and
 * O_NOFOLLOW, so neither ".." nor a symlink can lead outside media_dir.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/assets.h"
#include "http/internal.h"

int sf_http_static_path_ok(const char *p)
{
	if (!p || !*p || *p == '/')
		return 0;
	int seg_start = 1;
	for (const char *s = p; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c < 0x20 || c == 0x7f || c == '\\')
			return 0;
		if (seg_start && (c == '.' || c == '/'))
			return 0; /* dot segment, hidden file or empty segment */
		seg_start = c == '/';
	}
	return !seg_start; /* no trailing slash */
}

const char *sf_http_media_type(const char *name)
{
	static const struct {
		const char *ext;
		const char *type;
	} types[] = {
		{ "svg", "image/svg+xml" }, { "png", "image/png" },   { "jpg", "image/jpeg" },
		{ "jpeg", "image/jpeg" },   { "webp", "image/webp" }, { "gif", "image/gif" },
	};
	const char *dot = name ? strrchr(name, '.') : NULL;
	if (!dot || strchr(dot, '/'))
		return NULL;
	for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
		if (strcasecmp(dot + 1, types[i].ext) == 0)
			return types[i].type;
	return NULL;
}

static const char *tail_param(const struct sf_req *req)
{
	const char *p = sf_req_param(req, "path");
	if (!p && req->nparams)
		p = req->params[req->nparams - 1].v;
	return p;
}

static int not_modified(struct sf_req *req, const char *etag)
{
	const char *inm = sf_req_header(req, "If-None-Match");
	return inm && sf_http_etag_match(inm, etag);
}

enum sf_err sf_http_static_asset(struct sf_req *req, struct sf_resp *resp)
{
	const char *p = tail_param(req);
	if (!p)
		return SF_ERR_NOT_FOUND;
	if (!sf_http_static_path_ok(p))
		return SF_ERR_BAD_REQUEST;
	char *name = sf_arena_printf(req->arena, "static/%s", p);
	if (!name)
		return SF_ERR_NOMEM;
	const struct sf_asset *a = sf_asset_find(name);
	if (!a)
		return SF_ERR_NOT_FOUND;
	enum sf_err err = sf_resp_header(req, resp, "ETag", a->etag);
	if (!err)
		err = sf_resp_header(req, resp, "Cache-Control", "public, max-age=31536000, immutable");
	if (err)
		return err;
	if (not_modified(req, a->etag)) {
		sf_resp_body(resp, 304, NULL, NULL, 0, NULL);
		return SF_OK;
	}
	sf_resp_body(resp, 200, a->content_type, a->data, a->len, NULL);
	return SF_OK;
}

/* Open p (checked) below dirfd segment by segment without following links.
 * Returns an fd or -1 with errno set. */
static int open_below(int dirfd, const char *p)
{
	char seg[256];
	int cur = dirfd;
	const char *s = p;
	for (;;) {
		const char *slash = strchr(s, '/');
		size_t n = slash ? (size_t)(slash - s) : strlen(s);
		if (n == 0 || n >= sizeof seg) {
			if (cur != dirfd)
				close(cur);
			errno = ENOENT;
			return -1;
		}
		memcpy(seg, s, n);
		seg[n] = '\0';
		int flags = O_RDONLY | O_CLOEXEC | O_NOFOLLOW | (slash ? O_DIRECTORY : O_NONBLOCK);
		int fd = openat(cur, seg, flags);
		int saved = errno;
		if (cur != dirfd)
			close(cur);
		if (fd < 0) {
			errno = saved;
			return -1;
		}
		if (!slash)
			return fd;
		cur = fd;
		s = slash + 1;
	}
}

enum sf_err sf_http_static_media(struct sf_req *req, struct sf_resp *resp)
{
	const struct sf_http_server *srv = sf_http_req_server(req);
	const char *dir = srv ? srv->opt.media_dir : NULL;
	const char *p = tail_param(req);
	if (!dir || !p)
		return SF_ERR_NOT_FOUND;
	if (!sf_http_static_path_ok(p))
		return SF_ERR_BAD_REQUEST;
	const char *type = sf_http_media_type(p);
	if (!type)
		return SF_ERR_NOT_FOUND;
	enum sf_err err = SF_OK;
	char *data = NULL;
	int fd = -1;
	int dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0)
		return SF_ERR_NOT_FOUND;
	fd = open_below(dirfd, p);
	if (fd < 0) {
		err = (errno == ENOMEM) ? SF_ERR_NOMEM : SF_ERR_NOT_FOUND;
		goto out;
	}
	struct stat st;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size < 0 ||
	    (unsigned long long)st.st_size > SF_HTTP_MEDIA_MAX) {
		err = SF_ERR_NOT_FOUND;
		goto out;
	}
	char *etag = sf_arena_printf(req->arena, "\"%llx-%llx-%lx\"", (unsigned long long)st.st_size,
				     (unsigned long long)st.st_mtim.tv_sec, (long)st.st_mtim.tv_nsec);
	if (!etag) {
		err = SF_ERR_NOMEM;
		goto out;
	}
	err = sf_resp_header(req, resp, "ETag", etag);
	if (!err)
		err = sf_resp_header(req, resp, "Cache-Control", "public, max-age=3600");
	if (!err && strcmp(type, "image/svg+xml") == 0)
		err = sf_resp_header(req, resp, "Content-Security-Policy", SF_HTTP_SVG_CSP);
	if (err)
		goto out;
	if (not_modified(req, etag)) {
		sf_resp_body(resp, 304, NULL, NULL, 0, NULL);
		goto out;
	}
	size_t size = (size_t)st.st_size;
	data = malloc(size ? size : 1);
	if (!data) {
		err = SF_ERR_NOMEM;
		goto out;
	}
	size_t got = 0;
	while (got < size) {
		ssize_t r = read(fd, data + got, size - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			err = SF_ERR_IO;
			goto out;
		}
		got += (size_t)r;
	}
	sf_resp_body(resp, 200, type, data, size, free);
	data = NULL;
out:
	free(data);
	if (fd >= 0)
		close(fd);
	close(dirfd);
	return err;
}
