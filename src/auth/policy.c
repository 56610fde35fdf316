/*
 * policy.c — address lists, access windows and the TZif reader (policy.h).
 */
#include "auth/policy.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/util.h"
#include "edge/edge_int.h"

#define TZDIR "/usr/share/zoneinfo/"
#define TZFILE_MAX (256u * 1024u)
#define ZONE_CACHE 64

/* ==== TZif reader ==== */

struct zone {
	char name[SF_POLICY_ZONE_MAX];
	size_t n;       /* transitions */
	int64_t *at;    /* transition instants, ascending */
	int32_t *off;   /* offset in force from at[i] */
	int32_t first;  /* offset before the first transition */
};

static pthread_mutex_t zone_lock = PTHREAD_MUTEX_INITIALIZER;
static struct zone *zones[ZONE_CACHE];
static size_t nzones;

static int zone_name_ok(const char *z)
{
	size_t n = z ? strlen(z) : 0;
	if (n == 0 || n >= SF_POLICY_ZONE_MAX || !((z[0] >= 'A' && z[0] <= 'Z') || (z[0] >= 'a' && z[0] <= 'z')))
		return 0;
	for (size_t i = 0; i < n; i++) {
		char c = z[i];
		int ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
			 c == '-' || c == '+' || c == '/';
		if (!ok || (c == '/' && (z[i + 1] == '/' || z[i + 1] == '.' || z[i + 1] == '\0')))
			return 0;
	}
	return 1;
}

static uint32_t be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int64_t be64(const unsigned char *p)
{
	return (int64_t)((uint64_t)be32(p) << 32 | be32(p + 4));
}

/* Parse a TZif file's image into z.  Returns 0, or -1 when malformed. */
static int tzif_parse(const unsigned char *b, size_t len, struct zone *z)
{
	if (len < 44 || memcmp(b, "TZif", 4) != 0)
		return -1;
	int v2 = b[4] >= '2';
	size_t tsz = 4;
	const unsigned char *h = b;
	for (int pass = 0; pass < 2; pass++) {
		if ((size_t)(h - b) + 44 > len || memcmp(h, "TZif", 4) != 0)
			return -1;
		uint32_t isut = be32(h + 20), isstd = be32(h + 24), leap = be32(h + 28), timecnt = be32(h + 32),
			 typecnt = be32(h + 36), charcnt = be32(h + 40);
		if (typecnt == 0 || typecnt > 256 || timecnt > 4096 || charcnt > 4096 || leap > 4096 ||
		    isut > 256 || isstd > 256)
			return -1;
		size_t body = timecnt * tsz + timecnt + typecnt * 6u + charcnt + leap * (tsz + 4) + isstd + isut;
		const unsigned char *d = h + 44;
		if ((size_t)(d - b) + body > len)
			return -1;
		if (pass == 0 && v2) {
			h = d + body;
			tsz = 8;
			continue;
		}
		const unsigned char *idx = d + timecnt * tsz, *tt = idx + timecnt;
		z->n = timecnt;
		z->at = calloc(timecnt ? timecnt : 1, sizeof *z->at);
		z->off = calloc(timecnt ? timecnt : 1, sizeof *z->off);
		if (!z->at || !z->off)
			return -1;
		for (uint32_t i = 0; i < timecnt; i++) {
			z->at[i] = tsz == 8 ? be64(d + i * 8u) : (int64_t)(int32_t)be32(d + i * 4u);
			if (idx[i] >= typecnt || (i && z->at[i] <= z->at[i - 1]))
				return -1;
			z->off[i] = (int32_t)be32(tt + idx[i] * 6u);
		}
		z->first = (int32_t)be32(tt); /* local time type 0 (RFC 8536) */
		return 0;
	}
	return -1;
}

static void zone_free(struct zone *z)
{
	if (z) {
		free(z->at);
		free(z->off);
		free(z);
	}
}

static struct zone *zone_load(const char *name)
{
	struct zone *z = calloc(1, sizeof *z);
	if (!z)
		return NULL;
	sf_strlcpy(z->name, name, sizeof z->name);
	if (!strcmp(name, "UTC")) /* also without a tz database */
		return z;
	char path[sizeof TZDIR + SF_POLICY_ZONE_MAX];
	memcpy(path, TZDIR, sizeof TZDIR - 1);
	sf_strlcpy(path + sizeof TZDIR - 1, name, sizeof path - (sizeof TZDIR - 1));
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0 && errno == ELOOP) /* zoneinfo may hold symlinked aliases */
		fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	unsigned char *buf = NULL;
	int ok = fd >= 0 && fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0 &&
		 (size_t)st.st_size <= TZFILE_MAX && (buf = malloc((size_t)st.st_size));
	size_t got = 0;
	while (ok && got < (size_t)st.st_size) {
		ssize_t r = read(fd, buf + got, (size_t)st.st_size - got);
		if (r <= 0)
			ok = 0;
		else
			got += (size_t)r;
	}
	if (fd >= 0)
		close(fd);
	if (!ok || tzif_parse(buf, got, z) != 0) {
		free(buf);
		zone_free(z);
		return NULL;
	}
	free(buf);
	return z;
}

static int32_t zone_offset(const struct zone *z, int64_t t)
{
	if (z->n == 0 || t < z->at[0])
		return z->first;
	size_t lo = 0, hi = z->n; /* the last at[i] <= t */
	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;
		if (z->at[mid] <= t)
			lo = mid;
		else
			hi = mid;
	}
	return z->off[lo];
}

enum sf_err sf_tz_offset(const char *zone, int64_t t, int32_t *offset)
{
	*offset = 0;
	if (!zone_name_ok(zone))
		return SF_ERR_BAD_PARAM;
	pthread_mutex_lock(&zone_lock);
	struct zone *z = NULL;
	for (size_t i = 0; i < nzones && !z; i++)
		if (!strcmp(zones[i]->name, zone))
			z = zones[i];
	int cached = z != NULL;
	if (!z) {
		/* Parsed once per zone; a full cache (many distinct zones) answers
		 * from a zone loaded for this call only. */
		z = zone_load(zone);
		if (z && nzones < ZONE_CACHE) {
			zones[nzones++] = z;
			cached = 1;
		}
	}
	if (z)
		*offset = zone_offset(z, t);
	if (z && !cached)
		zone_free(z);
	pthread_mutex_unlock(&zone_lock);
	return z ? SF_OK : SF_ERR_NOT_FOUND;
}

/* ==== Access windows ==== */

static const char *const day_names[] = {"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"};

static int day_of(const char *s, size_t n)
{
	for (int i = 0; i < 7; i++)
		if (n == 3 && !strncasecmp(s, day_names[i], 3))
			return i;
	return -1;
}

/* "Mon", "Mon-Fri", "Mon,Wed", "Daily" -> bit mask; 0 when malformed. */
static uint8_t days_parse(const char *s, size_t n)
{
	if ((n == 5 && !strncasecmp(s, "Daily", 5)) || (n == 1 && s[0] == '*'))
		return 0x7f;
	uint8_t mask = 0;
	size_t i = 0;
	while (i < n) {
		size_t j = i;
		while (j < n && s[j] != ',')
			j++;
		const char *item = s + i;
		size_t len = j - i;
		const char *dash = memchr(item, '-', len);
		if (dash) {
			int a = day_of(item, (size_t)(dash - item));
			int b = day_of(dash + 1, len - (size_t)(dash - item) - 1);
			if (a < 0 || b < 0)
				return 0;
			for (int d = a;; d = (d + 1) % 7) {
				mask |= (uint8_t)(1u << d);
				if (d == b)
					break;
			}
		} else {
			int a = day_of(item, len);
			if (a < 0)
				return 0;
			mask |= (uint8_t)(1u << a);
		}
		i = j + 1;
		if (j < n && j + 1 == n)
			return 0; /* trailing comma */
	}
	return mask;
}

/* "HH:MM" -> minutes; max 1440 only when end is set.  -1 when malformed. */
static int hhmm(const char *s, size_t n, int end)
{
	if (n != 5 || s[2] != ':')
		return -1;
	for (int i = 0; i < 5; i++)
		if (i != 2 && (s[i] < '0' || s[i] > '9'))
			return -1;
	int h = (s[0] - '0') * 10 + (s[1] - '0'), m = (s[3] - '0') * 10 + (s[4] - '0');
	if (m > 59 || h > 24 || (h == 24 && (m || !end)))
		return -1;
	return h * 60 + m;
}

/* Split the next whitespace-separated word of [*p, end). */
static int word(const char **p, const char *end, const char **w, size_t *n)
{
	while (*p < end && (**p == ' ' || **p == '\t'))
		(*p)++;
	if (*p >= end)
		return 0;
	*w = *p;
	while (*p < end && **p != ' ' && **p != '\t')
		(*p)++;
	*n = (size_t)(*p - *w);
	return 1;
}

static enum sf_err window_parse(const char *s, const char *end, struct sf_window *out, const char **why)
{
	const char *w[4];
	size_t n[4], k = 0;
	while (k < 4 && word(&s, end, &w[k], &n[k]))
		k++;
	const char *rest;
	size_t rn;
	if (k < 2 || k > 3 || word(&s, end, &rest, &rn)) {
		*why = "Write each access window as DAYS HH:MM-HH:MM ZONE, e.g. Mon-Fri 08:00-19:00 Asia/Tokyo.";
		return SF_ERR_BAD_PARAM;
	}
	memset(out, 0, sizeof *out);
	out->days = days_parse(w[0], n[0]);
	if (!out->days) {
		*why = "Access window days must be Mon..Sun, a range such as Mon-Fri, a list or Daily.";
		return SF_ERR_BAD_PARAM;
	}
	const char *dash = memchr(w[1], '-', n[1]);
	out->start_min = dash ? hhmm(w[1], (size_t)(dash - w[1]), 0) : -1;
	out->end_min = dash ? hhmm(dash + 1, n[1] - (size_t)(dash - w[1]) - 1, 1) : -1;
	if (out->start_min < 0 || out->end_min < 0 || out->end_min == out->start_min) {
		*why = "Access window times must be HH:MM-HH:MM (24-hour clock) and not empty.";
		return SF_ERR_BAD_PARAM;
	}
	if (k == 3) {
		if (n[2] >= SF_POLICY_ZONE_MAX) {
			*why = "Unknown time zone in an access window.";
			return SF_ERR_BAD_PARAM;
		}
		memcpy(out->zone, w[2], n[2]);
		out->zone[n[2]] = '\0';
	} else {
		sf_strlcpy(out->zone, "UTC", sizeof out->zone);
	}
	int32_t off;
	if (sf_tz_offset(out->zone, 0, &off) != SF_OK) {
		*why = "Unknown time zone in an access window (use a name such as Europe/Berlin or UTC).";
		return SF_ERR_BAD_PARAM;
	}
	return SF_OK;
}

enum sf_err sf_windows_parse(const char *text, struct sf_windows *out, const char **why)
{
	memset(out, 0, sizeof *out);
	*why = NULL;
	if (!text)
		return SF_OK;
	size_t len = strlen(text);
	if (len > SF_POLICY_TEXT_MAX || !sf_utf8_valid(text, len, 0)) {
		*why = "The access windows are too long.";
		return SF_ERR_BAD_PARAM;
	}
	const char *p = text, *end = text + len;
	while (p < end) {
		const char *e = p;
		while (e < end && *e != ';' && *e != '\n')
			e++;
		const char *q = p, *w;
		size_t wn;
		if (word(&q, e, &w, &wn)) {
			if (out->n == SF_POLICY_MAX_WINDOWS) {
				*why = "At most 8 access windows per account.";
				return SF_ERR_BAD_PARAM;
			}
			enum sf_err err = window_parse(p, e, &out->v[out->n], why);
			if (err)
				return err;
			out->n++;
		}
		p = e + (e < end);
	}
	return SF_OK;
}

int sf_windows_allow(const struct sf_windows *w, int64_t now)
{
	if (!w || w->n == 0)
		return 1;
	for (size_t i = 0; i < w->n; i++) {
		const struct sf_window *x = &w->v[i];
		int32_t off;
		if (sf_tz_offset(x->zone, now, &off) != SF_OK)
			continue;
		int64_t local = now + off;
		int64_t days = local >= 0 ? local / 86400 : -((-local + 86399) / 86400);
		int minute = (int)((local - days * 86400) / 60);
		int wd = (int)(((days + 3) % 7 + 7) % 7); /* 1970-01-01 was a Thursday; Monday = 0 */
		int yd = (wd + 6) % 7;
		if (x->end_min > x->start_min) {
			if ((x->days >> wd & 1) && minute >= x->start_min && minute < x->end_min)
				return 1;
		} else if (((x->days >> wd & 1) && minute >= x->start_min) ||
			   ((x->days >> yd & 1) && minute < x->end_min)) {
			return 1;
		}
	}
	return 0;
}

/* ==== Address lists and the decision ==== */

enum sf_err sf_iplist_check(const char *text, const char **why)
{
	struct sf_cidr_list l;
	char bad[64];
	*why = NULL;
	if (text && strlen(text) > SF_POLICY_TEXT_MAX) {
		*why = "The address list is too long.";
		return SF_ERR_BAD_PARAM;
	}
	enum sf_err err = sf_cidr_list_parse(text ? text : "", &l, bad, sizeof bad);
	sf_cidr_list_free(&l);
	if (err == SF_ERR_INVALID) {
		*why = "Each address must be an IPv4 or IPv6 address or a CIDR block such as 192.0.2.0/24.";
		return SF_ERR_BAD_PARAM;
	}
	return err;
}

/* -1: the list does not parse; 0: empty; 1: ip matches; 2: no match. */
static int list_match(const char *text, const char *ip)
{
	if (!text || !*text)
		return 0;
	struct sf_cidr_list l;
	char bad[64];
	if (sf_cidr_list_parse(text, &l, bad, sizeof bad) != SF_OK)
		return -1;
	int r = l.n == 0 ? 0 : sf_cidr_list_match(&l, ip) ? 1 : 2;
	sf_cidr_list_free(&l);
	return r;
}

enum sf_policy_verdict sf_policy_check(const struct sf_cidr_list *global, const char *allow, const char *deny,
				       const char *windows, const char *ip, int64_t now)
{
	if (!ip)
		ip = "";
	if (global && global->n && !sf_cidr_list_match(global, ip))
		return SF_POLICY_GLOBAL_IP;
	int d = list_match(deny, ip);
	if (d == 1 || d < 0)
		return SF_POLICY_DENY_IP;
	int a = list_match(allow, ip);
	if (a == 2 || a < 0)
		return SF_POLICY_ALLOW_IP;
	if (windows && *windows) {
		struct sf_windows w;
		const char *why;
		if (sf_windows_parse(windows, &w, &why) != SF_OK || !sf_windows_allow(&w, now))
			return SF_POLICY_WINDOW;
	}
	return SF_POLICY_OK;
}

const char *sf_policy_reason(enum sf_policy_verdict v)
{
	switch (v) {
	case SF_POLICY_OK:
		return "ok";
	case SF_POLICY_GLOBAL_IP:
		return "address_not_in_admin_allow";
	case SF_POLICY_DENY_IP:
		return "address_denied";
	case SF_POLICY_ALLOW_IP:
		return "address_not_allowed";
	case SF_POLICY_WINDOW:
		return "outside_access_window";
	}
	return "unknown";
}
