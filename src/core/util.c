/* util.c — the helpers declared in util.h. */
#include "core/util.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

enum sf_err sf_parse_i64(const char *s, int64_t min, int64_t max, int64_t *out)
{
	if (!s || !*s)
		return SF_ERR_INVALID;
	const char *p = s;
	int neg = 0;
	if (*p == '-') {
		if (min >= 0)
			return SF_ERR_INVALID;
		neg = 1;
		p++;
	}
	if (!*p || (p[0] == '0' && p[1]) || strlen(p) > 19)
		return SF_ERR_INVALID;
	uint64_t v = 0;
	for (; *p; p++) {
		if (*p < '0' || *p > '9')
			return SF_ERR_INVALID;
		uint64_t d = (uint64_t)(*p - '0');
		if (v > (UINT64_MAX - d) / 10)
			return SF_ERR_INVALID;
		v = v * 10 + d;
	}
	int64_t r;
	if (neg) {
		if (v > (uint64_t)INT64_MAX + 1)
			return SF_ERR_INVALID;
		r = v == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)v;
	} else {
		if (v > (uint64_t)INT64_MAX)
			return SF_ERR_INVALID;
		r = (int64_t)v;
	}
	if (r < min || r > max)
		return SF_ERR_INVALID;
	*out = r;
	return SF_OK;
}

int sf_utf8_valid(const char *str, size_t n, int no_ctl)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0;
	while (i < n) {
		unsigned c = s[i];
		if (c < 0x80) {
			if (no_ctl && ((c < 0x20 && (no_ctl == SF_UTF8_LINE || (c != '\t' && c != '\n' && c != '\r'))) ||
				       c == 0x7f))
				return 0;
			i++;
			continue;
		}
		size_t len;
		unsigned cp, min;
		if ((c & 0xe0) == 0xc0) {
			len = 2;
			cp = c & 0x1f;
			min = 0x80;
		} else if ((c & 0xf0) == 0xe0) {
			len = 3;
			cp = c & 0x0f;
			min = 0x800;
		} else if ((c & 0xf8) == 0xf0) {
			len = 4;
			cp = c & 0x07;
			min = 0x10000;
		} else {
			return 0;
		}
		if (n - i < len)
			return 0;
		for (size_t k = 1; k < len; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return 0;
			cp = (cp << 6) | (s[i + k] & 0x3f);
		}
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return 0;
		/* C1 controls: U+009B is a terminal's CSI, and no text holds them
		 * but text decoded with the wrong charset. */
		if (no_ctl && cp >= 0x80 && cp <= 0x9f)
			return 0;
		i += len;
	}
	return 1;
}

size_t sf_utf8_chars(const char *s)
{
	size_t n = 0;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if ((*p & 0xC0) != 0x80)
			n++;
	return n;
}

int sf_utf8_line_fits(const char *s, size_t max)
{
	size_t n = strnlen(s, 4 * max + 1);
	return n <= 4 * max && sf_utf8_valid(s, n, SF_UTF8_LINE) && sf_utf8_chars(s) <= max;
}

size_t sf_utf8_clip(char *s)
{
	size_t n = strlen(s), i = n, cont = 0;
	while (i > 0 && cont < 3 && ((unsigned char)s[i - 1] & 0xC0) == 0x80) {
		i--;
		cont++;
	}
	if (i == 0)
		return n;
	unsigned char lead = (unsigned char)s[i - 1];
	size_t need = (lead & 0xE0) == 0xC0 ? 2 : (lead & 0xF0) == 0xE0 ? 3 : (lead & 0xF8) == 0xF0 ? 4 : 1;
	if (cont + 1 < need) {
		n = i - 1;
		s[n] = '\0';
	}
	return n;
}

void sf_time_iso(char *out, size_t n)
{
	/* Every access line carries one: the date and time of day are formatted
	 * once per second per thread, the milliseconds each time. */
	static _Thread_local time_t tl_sec = (time_t)-1;
	static _Thread_local char tl_day[24];
	static _Thread_local size_t tl_day_len;
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	if (ts.tv_sec != tl_sec) {
		struct tm tm;
		gmtime_r(&ts.tv_sec, &tm);
		tl_day_len = strftime(tl_day, sizeof tl_day, "%Y-%m-%dT%H:%M:%S", &tm);
		tl_sec = ts.tv_sec;
	}
	char buf[32];
	size_t l = tl_day_len;
	memcpy(buf, tl_day, l);
	unsigned ms = (unsigned)(ts.tv_nsec / 1000000);
	buf[l++] = '.';
	buf[l++] = (char)('0' + ms / 100);
	buf[l++] = (char)('0' + ms / 10 % 10);
	buf[l++] = (char)('0' + ms % 10);
	buf[l++] = 'Z';
	buf[l] = '\0';
	if (n)
		sf_strlcpy(out, buf, n);
}

static void deadline(clockid_t clock, struct timespec *ts, long ms)
{
	clock_gettime(clock, ts);
	ts->tv_sec += ms / 1000;
	ts->tv_nsec += (ms % 1000) * 1000000L;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

void sf_time_deadline(struct timespec *ts, long ms)
{
	deadline(CLOCK_REALTIME, ts, ms);
}

void sf_time_deadline_mono(struct timespec *ts, long ms)
{
	deadline(CLOCK_MONOTONIC, ts, ms);
}

int64_t sf_time_mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int sf_strlcpy(char *dst, const char *src, size_t n)
{
	if (n == 0)
		return -1;
	size_t l = strlen(src);
	if (l >= n) {
		memcpy(dst, src, n - 1);
		dst[n - 1] = '\0';
		return -1;
	}
	memcpy(dst, src, l + 1);
	return 0;
}

enum sf_err sf_file_read(const char *path, size_t max, char **out, size_t *len)
{
	enum sf_err err = SF_OK;
	char *buf = NULL;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return SF_ERR_IO;
	struct stat st;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		err = SF_ERR_IO;
		goto out;
	}
	if ((uint64_t)st.st_size > max) {
		err = SF_ERR_TOO_LARGE;
		goto out;
	}
	size_t cap = (size_t)st.st_size + 1, n = 0;
	buf = malloc(cap);
	if (!buf) {
		err = SF_ERR_NOMEM;
		goto out;
	}
	for (;;) {
		if (n + 1 >= cap) {
			if (cap > max) {
				err = SF_ERR_TOO_LARGE;
				goto out;
			}
			char *nb = realloc(buf, cap * 2);
			if (!nb) {
				err = SF_ERR_NOMEM;
				goto out;
			}
			buf = nb;
			cap *= 2;
		}
		ssize_t r = read(fd, buf + n, cap - n - 1);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			err = SF_ERR_IO;
			goto out;
		}
		if (r == 0)
			break;
		n += (size_t)r;
		if (n > max) {
			err = SF_ERR_TOO_LARGE;
			goto out;
		}
	}
	buf[n] = '\0';
	*out = buf;
	if (len)
		*len = n;
	buf = NULL;
out:
	free(buf);
	int saved = errno;
	close(fd);
	errno = saved;
	return err;
}

enum sf_err sf_file_write_atomic(const char *path, const void *data, size_t len, unsigned mode)
{
	char tmp[4096];
	int n = snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
	if (n < 0 || (size_t)n >= sizeof tmp)
		return SF_ERR_INVALID;
	int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode);
	if (fd < 0)
		return SF_ERR_IO;
	const char *p = data;
	size_t left = len;
	while (left) {
		ssize_t w = write(fd, p, left);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			goto fail;
		}
		p += w;
		left -= (size_t)w;
	}
	if (fsync(fd) != 0)
		goto fail;
	close(fd);
	if (rename(tmp, path) != 0) {
		unlink(tmp);
		return SF_ERR_IO;
	}
	return SF_OK;
fail:
	close(fd);
	unlink(tmp);
	return SF_ERR_IO;
}

enum sf_err sf_mkdirs(const char *path, unsigned mode)
{
	char buf[4096];
	if (sf_strlcpy(buf, path, sizeof buf) != 0)
		return SF_ERR_INVALID;
	size_t n = strlen(buf);
	for (size_t i = 1; i <= n; i++) {
		if (buf[i] == '/' || buf[i] == '\0') {
			char c = buf[i];
			buf[i] = '\0';
			if (mkdir(buf, mode) != 0 && errno != EEXIST)
				return SF_ERR_IO;
			buf[i] = c;
		}
	}
	struct stat st;
	if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode))
		return SF_ERR_IO;
	return SF_OK;
}

void sf_hex(const void *p, size_t n, char *out)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *b = p;
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = hex[b[i] >> 4];
		out[2 * i + 1] = hex[b[i] & 15];
	}
	out[2 * n] = '\0';
}

void sf_thread_nice(int nice_value)
{
	if (nice_value > 0)
		(void)setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), nice_value);
}

void sf_token_text(const void *p, size_t n, char *out)
{
	static const char abc[] = SF_TOKEN_ALPHABET;
	const unsigned char *b = p;
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = abc[b[i] >> 4];
		out[2 * i + 1] = abc[b[i] & 15];
	}
	out[2 * n] = '\0';
}
