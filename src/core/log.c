/*
 * log.c — the one redacting writer behind every log line (see log.h).
 *
 * Redaction happens here, on the way out, so no caller can forget it:
 * secret-named members are replaced, card-like digit runs are scrubbed from
 * every string, and each line is written with a single write(2) to a file
 * opened O_APPEND so concurrent threads never interleave.
 */
#include "core/log.h"
#include "core/util.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static int app_fd = 2;
static int access_fd = -1;
static enum sf_log_level min_level = SF_LOG_INFO;
/* Writers of log lines share it (each line is one write(2) to an O_APPEND
 * file, which the kernel keeps whole); reopening and closing take it alone.
 * A mutex here made the worker threads queue on every access log line.
 * Writer-preferring, so a reopen (SIGHUP) is not starved by a busy server. */
static pthread_rwlock_t reopen_lock = PTHREAD_RWLOCK_WRITER_NONRECURSIVE_INITIALIZER_NP;

static void flusher_stop(void);

static const char *const level_names[] = {"debug", "info", "warn", "error"};

/* ==== Card numbers ==== */

static int luhn_ok(const char *digits, size_t n)
{
	int sum = 0;
	for (size_t i = 0; i < n; i++) {
		int d = digits[n - 1 - i] - '0';
		if (i % 2 == 1) {
			d *= 2;
			if (d > 9)
				d -= 9;
		}
		sum += d;
	}
	return sum % 10 == 0;
}

static int is_hex(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static int is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* Hex identifiers are at least this many hex digits in a row with a letter
 * among them, or a UUID. */
#define HEX_ID_MIN 24

/* Whether s[i..] is a UUID (8-4-4-4-12 hex digits, one of them a letter)
 * not followed by more hex digits.  Reads at most 37 bytes. */
static int is_uuid(const char *s, size_t n, size_t i)
{
	size_t letters = 0;
	if (n - i < 36 || (n - i > 36 && is_hex(s[i + 36])))
		return 0;
	for (size_t k = 0; k < 36; k++) {
		char c = s[i + k];
		if (k == 8 || k == 13 || k == 18 || k == 23) {
			if (c != '-')
				return 0;
		} else if (!is_hex(c)) {
			return 0;
		} else {
			letters += c > '9';
		}
	}
	return letters > 0;
}

/*
 * The hex token starting at s[i]: a UUID, or the hex digits up to the first
 * other byte.  Returns its end; *is_id tells whether it is a hex identifier
 * (UUID, hash, trace id, ETag): a UUID, or at least HEX_ID_MIN hex digits in
 * a row, one of them a letter.  A dash ends a token: "4111111111111111-
 * deadbeef" is a card number beside a word, not an identifier.
 */
static size_t hex_token(const char *s, size_t n, size_t i, int *is_id)
{
	size_t j = i, letters = 0;
	for (; j < n && is_hex(s[j]); j++)
		letters += s[j] > '9';
	if (j - i == 8 && is_uuid(s, n, i)) {
		*is_id = 1;
		return i + 36;
	}
	*is_id = j - i >= HEX_ID_MIN && letters > 0;
	return j;
}

/*
 * The length in bytes of the separator at s[j], 0 when there is none: what
 * people put between the groups of a card number, typed or pasted — space,
 * dash, dot, slash, underscore, and the Unicode spaces and dashes a word
 * processor or a PDF brings along (U+00A0, U+2000–U+200A, U+2010–U+2015,
 * U+202F, U+2212).
 */
static size_t sep_len(const char *s, size_t n, size_t j)
{
	const unsigned char *u = (const unsigned char *)s + j;
	if (u[0] == ' ' || u[0] == '-' || u[0] == '.' || u[0] == '/' || u[0] == '_')
		return 1;
	if (u[0] == 0xc2 && n - j >= 2 && u[1] == 0xa0)
		return 2;
	if (u[0] == 0xe2 && n - j >= 3 &&
	    ((u[1] == 0x80 && ((u[2] >= 0x80 && u[2] <= 0x8a) || (u[2] >= 0x90 && u[2] <= 0x95) || u[2] == 0xaf)) ||
	     (u[1] == 0x88 && u[2] == 0x92)))
		return 3;
	return 0;
}

/* At most this many separators in a row between two groups of digits. */
#define SEP_MAX 3

/*
 * Find the next card-like run in s[from..n): digits in groups joined by
 * separators.  A single space or dash joins any two groups (how card numbers
 * are printed, and how a pasted one breaks).  Any other joint — another
 * separator, or up to SEP_MAX of them — joins a group of 4 or more digits to
 * one of 3 or more: every way of writing a card number (4-4-4-4, 4-6-5,
 * 4-4-4-4-3) has such groups, while dates (21.11.2026), times, amounts
 * (12.50), IP addresses and paths (2026/11/21) do not.  A run of 13–19
 * digits counts when it passes Luhn; in a longer run any 13–19 digit window
 * that passes counts (a card number glued to other digits is still a card
 * number).  Digits inside a hex identifier do not count: a random UUID has a
 * Luhn-valid run of 13+ digits once in ~400, and nobody writes a card number
 * glued into 24 hex digits.  Each byte is looked at a bounded number of
 * times, so hostile input costs linear time.  On a hit, start and end
 * delimit the whole run in s.
 */
static int next_card(const char *s, size_t n, size_t from, size_t *start, size_t *end)
{
	size_t i = from, tok_end = from;
	while (i < n) {
		if (i >= tok_end && is_hex(s[i])) {
			int is_id;
			tok_end = hex_token(s, n, i, &is_id);
			if (is_id) {
				i = tok_end;
				continue;
			}
		}
		if (!is_digit(s[i])) {
			i++;
			continue;
		}
		char digits[256];
		size_t nd = 0, j = i, last_digit = i, group = 0;
		while (j < n) {
			if (is_digit(s[j])) {
				if (nd < sizeof digits)
					digits[nd++] = s[j];
				last_digit = j;
				group++;
				j++;
				continue;
			}
			size_t k = j, seps = 0, len;
			while (seps < SEP_MAX && k < n && (len = sep_len(s, n, k)) > 0) {
				k += len;
				seps++;
			}
			if (k == j || k >= n || !is_digit(s[k]))
				break;
			if (!(k == j + 1 && (s[j] == ' ' || s[j] == '-'))) {
				size_t next = 0;
				while (next < 3 && k + next < n && is_digit(s[k + next]))
					next++;
				if (group < 4 || next < 3)
					break;
			}
			group = 0;
			j = k;
		}
		if (nd >= 13 && nd <= 19 && luhn_ok(digits, nd)) {
			*start = i;
			*end = last_digit + 1;
			return 1;
		}
		if (nd > 19) {
			/* A longer run may hide a card number glued to other digits. */
			for (size_t off = 0; off + 13 <= nd; off++)
				for (size_t len = 13; len <= 19 && off + len <= nd; len++)
					if (luhn_ok(digits + off, len)) {
						*start = i;
						*end = last_digit + 1;
						return 1;
					}
		}
		i = j > i ? j : i + 1;
	}
	return 0;
}

int sf_log_has_card(const char *s, size_t n)
{
	size_t a, b;
	return next_card(s, n, 0, &a, &b);
}

size_t sf_log_scrub_cards(char *s)
{
	static const char mark[] = "[card]";
	size_t n = strlen(s), from = 0, count = 0, a, b;
	while (next_card(s, n, from, &a, &b)) {
		/* A run is at least 13 bytes, so "[card]" always fits in place. */
		memcpy(s + a, mark, sizeof mark - 1);
		memmove(s + a + sizeof mark - 1, s + b, n - b + 1);
		n -= (b - a) - (sizeof mark - 1);
		from = a + sizeof mark - 1;
		count++;
	}
	return count;
}

/* ==== Secret keys ==== */

int sf_log_key_is_secret(const char *key)
{
#define W(s) { s, sizeof s - 1 }
	static const struct {
		const char *w;
		size_t n;
	} words[] = {
		W("authorization"), W("cookie"), W("password"), W("passwd"), W("token"), W("secret"), W("key"),
		W("otp"), W("card"), W("pan"), W("cvc"), W("cvv"), W("session"), W("csrf"), W("signature"),
		W("credential"), W("totp"), W("recovery"), W("pin"), W("iban"), W("ssn"),
	};
#undef W
	char low[128];
	size_t n = strlen(key);
	if (n >= sizeof low)
		return 1; /* absurdly long names are not worth the risk */
	for (size_t i = 0; i <= n; i++)
		low[i] = (char)((key[i] >= 'A' && key[i] <= 'Z') ? key[i] + 32 : key[i]);
	/* Every word at every position (one pass; this runs for every field of
	 * every log line, and 21 strstr calls per key were 2% of a cached
	 * catalog answer's CPU). */
	for (size_t i = 0; i < n; i++)
		for (size_t j = 0; j < sizeof words / sizeof words[0]; j++)
			if (words[j].w[0] == low[i] && words[j].n <= n - i && !memcmp(low + i, words[j].w, words[j].n))
				return 1;
	/* "code" alone (OTP / reset codes) but not e.g. "status_code". */
	return strcmp(low, "code") == 0;
}

void sf_log_redact_json(json_t *obj)
{
	if (json_is_object(obj)) {
		const char *k;
		json_t *v;
		void *tmp;
		json_object_foreach_safe(obj, tmp, k, v)
		{
			if (sf_log_key_is_secret(k) && !json_is_null(v))
				json_object_set_new(obj, k, json_string("[redacted]"));
			else
				sf_log_redact_json(v);
		}
	} else if (json_is_array(obj)) {
		size_t i;
		json_t *v;
		json_array_foreach(obj, i, v) sf_log_redact_json(v);
	} else if (json_is_string(obj)) {
		const char *s = json_string_value(obj);
		size_t n = json_string_length(obj);
		if (sf_log_has_card(s, n)) {
			char *copy = strndup(s, n);
			if (!copy) {
				json_string_set(obj, "[unloggable]");
				return;
			}
			sf_log_scrub_cards(copy);
			json_string_set(obj, copy);
			free(copy);
		}
	}
}

char *sf_log_redact_query(const char *query)
{
	size_t n = strlen(query);
	/* Worst case every value becomes "[redacted]" (10 bytes) — bounded by
	 * 10 bytes per '&'-separated argument beyond its original length. */
	size_t args = 1;
	for (size_t i = 0; i < n; i++)
		args += query[i] == '&';
	char *out = malloc(n + args * 12 + 1);
	if (!out)
		return NULL;
	size_t o = 0, i = 0;
	while (i <= n) {
		size_t end = i;
		while (end < n && query[end] != '&')
			end++;
		size_t eq = i;
		while (eq < end && query[eq] != '=')
			eq++;
		char name[128];
		size_t nl = eq - i < sizeof name - 1 ? eq - i : sizeof name - 1;
		memcpy(name, query + i, nl);
		name[nl] = '\0';
		memcpy(out + o, query + i, eq - i);
		o += eq - i;
		if (eq < end) {
			out[o++] = '=';
			if (sf_log_key_is_secret(name)) {
				memcpy(out + o, "[redacted]", 10);
				o += 10;
			} else {
				memcpy(out + o, query + eq + 1, end - eq - 1);
				o += end - eq - 1;
			}
		}
		if (end < n)
			out[o++] = '&';
		i = end + 1;
	}
	out[o] = '\0';
	sf_log_scrub_cards(out);
	return out;
}

/* ==== Writing ==== */

static int open_log(const char *dir, const char *name)
{
	char path[4096];
	int n = snprintf(path, sizeof path, "%s/%s", dir, name);
	if (n < 0 || (size_t)n >= sizeof path) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0640);
}

enum sf_err sf_log_open(const char *dir, enum sf_log_level level)
{
	min_level = level;
	if (!dir) {
		sf_log_close();
		return SF_OK;
	}
	if (mkdir(dir, 0750) != 0 && errno != EEXIST)
		return SF_ERR_IO;
	int a = open_log(dir, "app.log");
	if (a < 0)
		return SF_ERR_IO;
	int b = open_log(dir, "access.log");
	if (b < 0) {
		close(a);
		return SF_ERR_IO;
	}
	sf_log_flush(); /* buffered lines belong to the file they were made for */
	pthread_rwlock_wrlock(&reopen_lock);
	int old_a = app_fd, old_b = access_fd;
	app_fd = a;
	access_fd = b;
	pthread_rwlock_unlock(&reopen_lock);
	if (old_a > 2)
		close(old_a);
	if (old_b >= 0)
		close(old_b);
	return SF_OK;
}

void sf_log_close(void)
{
	flusher_stop();
	sf_log_flush();
	pthread_rwlock_wrlock(&reopen_lock);
	if (app_fd > 2)
		close(app_fd);
	if (access_fd >= 0)
		close(access_fd);
	app_fd = 2;
	access_fd = -1;
	pthread_rwlock_unlock(&reopen_lock);
}

/* One finished line (newline included) with one write(2).  Writers share
 * the lock; stderr (no log directory) may be a pipe, where only writes up
 * to PIPE_BUF stay whole, so those lines go one at a time. */
static void write_line(enum sf_log_stream stream, const char *p, size_t n)
{
	if (stream == SF_LOG_APP && app_fd == 2)
		pthread_rwlock_wrlock(&reopen_lock);
	else
		pthread_rwlock_rdlock(&reopen_lock);
	int fd = stream == SF_LOG_ACCESS ? access_fd : app_fd;
	if (fd >= 0) {
		ssize_t w = write(fd, p, n);
		(void)w; /* a failed log write must not fail the request */
	}
	pthread_rwlock_unlock(&reopen_lock);
}

/* ==== Buffered access lines ====
 *
 * With [log] access_flush_ms > 0 each thread that writes access lines keeps
 * them in its own buffer (its own mutex, so the flusher and the thread are
 * the only ones ever to take it) and writes the buffer with one write(2)
 * when it is full, when its oldest line is access_flush_ms old (checked on
 * every line, and by a flusher thread for threads that went quiet), at a
 * reopen and at close.  One write per request was about a tenth of a
 * cached catalog answer's cost (docs/PERFORMANCE.md).  Lines of different
 * threads may therefore reach the file slightly out of time order; each
 * carries its "ts".  Buffers are reused after their thread ends. */

#define ABUF_CAP (32u * 1024u)

struct abuf {
	pthread_mutex_t mu;
	struct abuf *next;
	int in_use;        /* held by a live thread (guarded by abufs_mu) */
	size_t n;
	int64_t first_ms;  /* when the oldest buffered line came */
	char data[ABUF_CAP];
};

static struct abuf *abufs;
static pthread_mutex_t abufs_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_key_t abuf_key;
static pthread_once_t abuf_once = PTHREAD_ONCE_INIT;
static int abuf_key_ok;
static _Thread_local struct abuf *tl_abuf;
static _Atomic unsigned access_flush_ms;

static struct {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	pthread_t th;
	int running, stop;
} flusher = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0, 0 };

/* Not inlined: GCC 12 at -O2 with the sanitizers misreads b->data as empty
 * when inlined into the thread destructor (-Wstringop-overread). */
__attribute__((noinline)) static void abuf_flush_locked(struct abuf *b)
{
	if (b->n) {
		write_line(SF_LOG_ACCESS, b->data, b->n);
		b->n = 0;
	}
}

static void abuf_release(void *p)
{
	struct abuf *b = p;
	pthread_mutex_lock(&b->mu);
	abuf_flush_locked(b);
	pthread_mutex_unlock(&b->mu);
	pthread_mutex_lock(&abufs_mu);
	b->in_use = 0;
	pthread_mutex_unlock(&abufs_mu);
}

static void abuf_key_make(void)
{
	abuf_key_ok = pthread_key_create(&abuf_key, abuf_release) == 0;
}

/* This thread's buffer, or NULL (then lines are written one by one). */
static struct abuf *abuf_mine(void)
{
	if (tl_abuf)
		return tl_abuf;
	pthread_once(&abuf_once, abuf_key_make);
	if (!abuf_key_ok)
		return NULL;
	pthread_mutex_lock(&abufs_mu);
	struct abuf *b = abufs;
	while (b && b->in_use)
		b = b->next;
	if (!b) {
		b = calloc(1, sizeof *b);
		if (b) {
			pthread_mutex_init(&b->mu, NULL);
			b->next = abufs;
			abufs = b;
		}
	}
	if (b)
		b->in_use = 1;
	pthread_mutex_unlock(&abufs_mu);
	if (b && pthread_setspecific(abuf_key, b) != 0) {
		pthread_mutex_lock(&abufs_mu);
		b->in_use = 0;
		pthread_mutex_unlock(&abufs_mu);
		return NULL;
	}
	tl_abuf = b;
	return b;
}

/* Write every buffered line now (older_than_ms > 0: only buffers whose
 * oldest line is at least that old). */
static void abuf_flush_all(int64_t older_than_ms)
{
	int64_t now = sf_time_mono_ms();
	pthread_mutex_lock(&abufs_mu);
	struct abuf *head = abufs; /* buffers are only ever added at the head */
	pthread_mutex_unlock(&abufs_mu);
	for (struct abuf *b = head; b; b = b->next) {
		pthread_mutex_lock(&b->mu);
		if (b->n && (older_than_ms <= 0 || now - b->first_ms >= older_than_ms))
			abuf_flush_locked(b);
		pthread_mutex_unlock(&b->mu);
	}
}

void sf_log_flush(void)
{
	abuf_flush_all(0);
}

static void *flusher_main(void *arg)
{
	(void)arg;
	sf_thread_nice(SF_BACKGROUND_NICE);
	pthread_mutex_lock(&flusher.mu);
	while (!flusher.stop) {
		unsigned ms = atomic_load(&access_flush_ms);
		unsigned half = ms / 2 ? ms / 2 : 1;
		struct timespec wake;
		sf_time_deadline(&wake, (long)half);
		pthread_cond_timedwait(&flusher.cv, &flusher.mu, &wake);
		if (flusher.stop)
			break;
		pthread_mutex_unlock(&flusher.mu);
		abuf_flush_all(ms ? (int64_t)ms : 1);
		pthread_mutex_lock(&flusher.mu);
	}
	pthread_mutex_unlock(&flusher.mu);
	return NULL;
}

static void flusher_stop(void)
{
	pthread_mutex_lock(&flusher.mu);
	int running = flusher.running;
	flusher.stop = 1;
	pthread_cond_broadcast(&flusher.cv);
	pthread_mutex_unlock(&flusher.mu);
	if (running)
		pthread_join(flusher.th, NULL);
	pthread_mutex_lock(&flusher.mu);
	flusher.running = 0;
	flusher.stop = 0;
	pthread_mutex_unlock(&flusher.mu);
}

enum sf_err sf_log_access_buffer(unsigned flush_ms)
{
	if (flush_ms > SF_LOG_ACCESS_FLUSH_MAX_MS)
		return SF_ERR_INVALID;
	if (flush_ms == 0) {
		flusher_stop();
		atomic_store(&access_flush_ms, 0u);
		sf_log_flush();
		return SF_OK;
	}
	atomic_store(&access_flush_ms, flush_ms);
	pthread_mutex_lock(&flusher.mu);
	enum sf_err err = SF_OK;
	if (!flusher.running) {
		if (pthread_create(&flusher.th, NULL, flusher_main, NULL) == 0)
			flusher.running = 1;
		else
			err = SF_ERR_NOMEM;
	}
	pthread_mutex_unlock(&flusher.mu);
	if (err != SF_OK)
		atomic_store(&access_flush_ms, 0u);
	return err;
}

/* An access line: into this thread's buffer, or straight out. */
static void access_put(const char *p, size_t n)
{
	unsigned ms = atomic_load_explicit(&access_flush_ms, memory_order_relaxed);
	struct abuf *b = ms ? abuf_mine() : NULL;
	if (!b) {
		write_line(SF_LOG_ACCESS, p, n);
		return;
	}
	int64_t now = sf_time_mono_ms();
	pthread_mutex_lock(&b->mu);
	if (b->n + n > ABUF_CAP)
		abuf_flush_locked(b);
	if (n > ABUF_CAP) {
		write_line(SF_LOG_ACCESS, p, n);
	} else {
		if (b->n == 0)
			b->first_ms = now;
		memcpy(b->data + b->n, p, n);
		b->n += n;
		if (now - b->first_ms >= (int64_t)ms)
			abuf_flush_locked(b);
	}
	pthread_mutex_unlock(&b->mu);
}

void sf_log_emit(enum sf_log_stream stream, enum sf_log_level level, json_t *obj)
{
	if (!obj)
		return;
	if (level < min_level || (stream == SF_LOG_ACCESS && access_fd < 0)) {
		json_decref(obj);
		return;
	}
	char ts[40];
	sf_time_iso(ts, sizeof ts);
	sf_log_redact_json(obj);
	json_object_set_new(obj, "ts", json_string(ts));
	if (stream == SF_LOG_APP)
		json_object_set_new(obj, "level", json_string(level_names[level]));
	char *line = json_dumps(obj, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(obj);
	if (!line)
		return;
	size_t n = strlen(line);
	line[n] = '\n';
	write_line(stream, line, n + 1);
	free(line);
}

/* ==== The access line, written directly ==== */

struct line {
	char *p;
	size_t n, cap;
	int heap, oom;
};

static void line_put(struct line *l, const char *s, size_t n)
{
	if (l->oom)
		return;
	if (l->n + n + 2 > l->cap) { /* room for the newline and a NUL, always */
		size_t cap = l->cap * 2 > l->n + n + 2 ? l->cap * 2 : l->n + n + 2;
		char *q = l->heap ? realloc(l->p, cap) : malloc(cap);
		if (!q) {
			l->oom = 1;
			return;
		}
		if (!l->heap)
			memcpy(q, l->p, l->n);
		l->p = q;
		l->cap = cap;
		l->heap = 1;
	}
	memcpy(l->p + l->n, s, n);
	l->n += n;
}

static void line_lit(struct line *l, const char *s)
{
	line_put(l, s, strlen(s));
}

/* s as a JSON string (escaped as jansson does), cards scrubbed, "[invalid]"
 * when it is not UTF-8. */
static void line_str(struct line *l, const char *s)
{
	size_t n = strlen(s);
	char *copy = NULL;
	if (!sf_utf8_valid(s, n, 0)) {
		s = "[invalid]";
		n = strlen(s);
	} else if (sf_log_has_card(s, n)) {
		copy = strndup(s, n);
		if (!copy) {
			s = "[unloggable]";
		} else {
			sf_log_scrub_cards(copy);
			s = copy;
		}
		n = strlen(s);
	}
	line_put(l, "\"", 1);
	size_t run = 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c >= 0x20 && c != '"' && c != '\\')
			continue;
		line_put(l, s + run, i - run);
		run = i + 1;
		char esc[8];
		switch (c) {
		case '"': line_put(l, "\\\"", 2); break;
		case '\\': line_put(l, "\\\\", 2); break;
		case '\n': line_put(l, "\\n", 2); break;
		case '\r': line_put(l, "\\r", 2); break;
		case '\t': line_put(l, "\\t", 2); break;
		case '\b': line_put(l, "\\b", 2); break;
		case '\f': line_put(l, "\\f", 2); break;
		default:
			snprintf(esc, sizeof esc, "\\u%04x", c);
			line_put(l, esc, 6);
		}
	}
	line_put(l, s + run, n - run);
	line_put(l, "\"", 1);
	free(copy);
}

static void line_key_str(struct line *l, const char *key, const char *v)
{
	line_lit(l, key);
	line_str(l, v);
}

static char *put_lit(char *p, const char *lit)
{
	size_t n = strlen(lit);
	memcpy(p, lit, n);
	return p + n;
}

static char *put_u64(char *p, uint64_t v)
{
	char tmp[20];
	int n = 0;
	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	while (n)
		*p++ = tmp[--n];
	return p;
}

int sf_log_access_on(void)
{
	return SF_LOG_INFO >= min_level && access_fd >= 0;
}

void sf_log_access(const struct sf_log_access_line *a)
{
	if (!sf_log_access_on())
		return;
	char stack[4096], num[96];
	struct line l = { stack, 0, sizeof stack, 0, 0 };
	line_key_str(&l, "{\"request_id\":", a->request_id ? a->request_id : "");
	line_key_str(&l, ",\"ip\":", a->ip ? a->ip : "");
	line_key_str(&l, ",\"method\":", a->method ? a->method : "-");
	line_key_str(&l, ",\"path\":", a->path ? a->path : "-");
	if (a->query)
		line_key_str(&l, ",\"query\":", a->query);
	double ms = a->duration_ms >= 0 && a->duration_ms < 1e12 ? a->duration_ms : 0;
	/* By hand: snprintf's number formatting was a third of this line's cost. */
	uint64_t us = (uint64_t)(ms * 1000.0 + 0.5);
	char *q = num;
	q = put_lit(q, ",\"status\":");
	q = put_u64(q, a->status);
	q = put_lit(q, ",\"bytes\":");
	q = put_u64(q, a->bytes);
	q = put_lit(q, ",\"duration_ms\":");
	q = put_u64(q, us / 1000);
	*q++ = '.';
	*q++ = (char)('0' + us % 1000 / 100);
	*q++ = (char)('0' + us % 100 / 10);
	*q++ = (char)('0' + us % 10);
	*q = '\0';
	line_lit(&l, num);
	if (a->user_agent)
		line_key_str(&l, ",\"user_agent\":", a->user_agent);
	line_lit(&l, a->tls ? ",\"tls\":true" : ",\"tls\":false");
	char ts[40];
	sf_time_iso(ts, sizeof ts);
	line_key_str(&l, ",\"ts\":", ts);
	line_put(&l, "}\n", 2);
	if (!l.oom)
		access_put(l.p, l.n);
	if (l.heap)
		free(l.p);
}

void sf_log(enum sf_log_level level, const char *event, const char *fmt, ...)
{
	if (level < min_level)
		return;
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	json_t *o = json_object();
	if (!o)
		return;
	json_object_set_new(o, "event", json_string(event));
	json_t *m = json_string(msg);
	if (!m) /* not UTF-8: keep the event, drop the text */
		m = json_string("[invalid utf-8]");
	json_object_set_new(o, "msg", m);
	sf_log_emit(SF_LOG_APP, level, o);
}
