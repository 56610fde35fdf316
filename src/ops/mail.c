/*
 * mail.c — the e-mail outbox and its sender (mail.h).
 */
#include "ops/mail.h"

#include <curl/curl.h>
#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/config.h"
#include "core/log.h"
#include "core/ticker.h"
#include "core/util.h"
#include "crypto/keyring.h"
#include "db/db.h"

#define T_OUTBOX "mail_outbox"
#define BATCH 32
#define POLL_MS 500
#define PASSWORD_MAX 1024

static const struct sf_keyring *outbox_kr;

void sf_mail_set_keyring(const struct sf_keyring *kr)
{
	__atomic_store_n(&outbox_kr, kr, __ATOMIC_RELEASE);
}

/* ==== Enqueue ==== */

static int addr_ok(const char *a)
{
	size_t n = strlen(a);
	if (n < 3 || n > SF_MAIL_ADDR_MAX || !sf_utf8_valid(a, n, 1) || strpbrk(a, "\r\n\t"))
		return 0;
	const char *at = strchr(a, '@');
	if (!at || at == a || strchr(at + 1, '@') || !at[1])
		return 0;
	for (const char *p = a; *p; p++)
		if (*p == ' ' || *p == '<' || *p == '>' || *p == ',' || *p == '"' || *p == '\\')
			return 0;
	return 1;
}

static enum sf_err seal_col(const struct sf_keyring *kr, const char *col, int64_t id, const char *v,
			    unsigned char **out, size_t *n)
{
	return sf_seal(kr, T_OUTBOX, col, id, v, strlen(v), out, n);
}

enum sf_err sf_mail_enqueue(struct sf_db_conn *c, const char *to, const char *subject, const char *text_body)
{
	const struct sf_keyring *kr = __atomic_load_n(&outbox_kr, __ATOMIC_ACQUIRE);
	if (!to || !subject || !text_body || !addr_ok(to))
		return SF_ERR_INVALID;
	size_t sl = strlen(subject), bl = strlen(text_body);
	if (sl > SF_MAIL_SUBJECT_MAX || !sf_utf8_valid(subject, sl, 1) || strpbrk(subject, "\r\n\t") ||
	    bl > SF_MAIL_BODY_MAX ||
	    !sf_utf8_valid(text_body, bl, 0))
		return SF_ERR_INVALID;
	if (!kr)
		return SF_ERR_KEY;
	int64_t now = (int64_t)time(NULL);
	struct sf_db_param p[] = {SF_DB_INT(now)};
	enum sf_db_status st = sf_db_exec(c, SF_STMT_MAIL_INSERT, p, 1, NULL);
	if (st != SF_DB_OK)
		return sf_db_err(st);
	int64_t id = sf_db_last_id(c);
	unsigned char *r = NULL, *s = NULL, *b = NULL;
	size_t rn = 0, sn = 0, bn = 0;
	enum sf_err err = seal_col(kr, "recipient", id, to, &r, &rn);
	if (!err)
		err = seal_col(kr, "subject", id, subject, &s, &sn);
	if (!err)
		err = seal_col(kr, "body", id, text_body, &b, &bn);
	if (!err) {
		struct sf_db_param q[] = {SF_DB_INT(id), SF_DB_BLOB(r, rn), SF_DB_BLOB(s, sn), SF_DB_BLOB(b, bn)};
		st = sf_db_exec(c, SF_STMT_MAIL_SET_SEALED, q, 4, NULL);
		err = st == SF_DB_OK ? SF_OK : sf_db_err(st);
	}
	free(r);
	free(s);
	free(b);
	return err;
}

int64_t sf_mail_backoff(int attempts)
{
	int64_t d = 30;
	for (int i = 1; i < attempts && d < 3600; i++)
		d *= 2;
	return d > 3600 ? 3600 : d;
}

/* ==== The mailer ==== */

struct sf_mailer {
	struct sf_db *db;
	const struct sf_keyring *kr;
	char smtp_url[512];
	char from[256];      /* header form: "Name <addr>" or "addr" */
	char from_addr[256]; /* envelope: addr */
	char from_env[260];  /* envelope as SMTP wants it: <addr> */
	char username[256];
	char *password;      /* guarded memory, or NULL */
	char ca_file[SF_CFG_PATH_MAX]; /* [mail] ca_file (resolved by the config), or "" */
	char dir[SF_CFG_PATH_MAX];
	struct sf_ticker *ticker; /* sf_mailer_start, or NULL */
	/* An outcome that could not be written (a full disk, say): written
	 * before anything else is sent, so that its mail is not sent again. */
	struct unrecorded {
		int64_t id;
		int attempts, set;
		enum sf_err err;
		char why[512];
	} unrec;
};

/* The envelope address of a From value: what is inside <...>, or all. */
static int from_address(const char *from, char *out, size_t n)
{
	const char *lt = strrchr(from, '<');
	if (lt) {
		const char *gt = strchr(lt, '>');
		if (!gt || gt[1])
			return 0;
		size_t len = (size_t)(gt - lt - 1);
		if (len == 0 || len >= n)
			return 0;
		memcpy(out, lt + 1, len);
		out[len] = '\0';
	} else if (sf_strlcpy(out, from, n) < 0) {
		return 0;
	}
	return addr_ok(out);
}

static enum sf_err read_password(struct sf_mailer *m, const struct sf_config *cfg, char *errbuf, size_t errlen)
{
	if (!cfg->mail_password_file[0])
		return SF_OK;
	const char *path = cfg->mail_password_file; /* made absolute by sf_config_load */
	char *data = NULL;
	size_t len = 0;
	if (sf_file_read(path, PASSWORD_MAX, &data, &len) != SF_OK) {
		snprintf(errbuf, errlen, "[mail] password_file %s: cannot read it: %s", path, strerror(errno));
		return SF_ERR_CONFIG;
	}
	while (len && (data[len - 1] == '\n' || data[len - 1] == '\r'))
		len--;
	m->password = sodium_malloc(len + 1);
	if (m->password) {
		memcpy(m->password, data, len);
		m->password[len] = '\0';
	}
	sodium_memzero(data, len);
	free(data);
	return m->password ? SF_OK : SF_ERR_NOMEM;
}

enum sf_err sf_mailer_new(struct sf_db *db, const struct sf_keyring *kr, const struct sf_config *cfg,
			  struct sf_mailer **out, char *errbuf, size_t errlen)
{
	*out = NULL;
	struct sf_mailer *m = calloc(1, sizeof *m);
	if (!m)
		return SF_ERR_NOMEM;
	m->db = db;
	m->kr = kr;
	sf_strlcpy(m->smtp_url, cfg->mail_smtp_url, sizeof m->smtp_url);
	sf_strlcpy(m->from, cfg->mail_from, sizeof m->from);
	sf_strlcpy(m->username, cfg->mail_username, sizeof m->username);
	sf_strlcpy(m->dir, cfg->mail_dir, sizeof m->dir);
	sf_strlcpy(m->ca_file, cfg->mail_ca_file, sizeof m->ca_file);
	enum sf_err err = SF_OK;
	if (strchr(m->from, '\r') || strchr(m->from, '\n') || !from_address(m->from, m->from_addr, sizeof m->from_addr)) {
		snprintf(errbuf, errlen, "[mail] from: '%s' is not an address (\"Name <user@host>\" or user@host)",
			 cfg->mail_from);
		err = SF_ERR_CONFIG;
	}
	snprintf(m->from_env, sizeof m->from_env, "<%s>", m->from_addr);
	if (!err && m->ca_file[0] && access(m->ca_file, R_OK) != 0) {
		snprintf(errbuf, errlen, "[mail] ca_file %s: cannot read it: %s", m->ca_file, strerror(errno));
		err = SF_ERR_CONFIG;
	}
	if (!err)
		err = read_password(m, cfg, errbuf, errlen);
	if (err) {
		sf_mailer_stop(m);
		return err;
	}
	sf_mail_set_keyring(kr);
	*out = m;
	return SF_OK;
}

/* ==== Building a message ==== */

/* RFC 2047 encoded-word for a non-ASCII header value (base64). */
static void put_header_text(struct sf_buf *b, const char *v)
{
	int ascii = 1;
	for (const unsigned char *p = (const unsigned char *)v; *p; p++)
		if (*p >= 0x80)
			ascii = 0;
	if (ascii) {
		sf_buf_puts(b, v);
		return;
	}
	size_t n = strlen(v);
	size_t cap = sodium_base64_ENCODED_LEN(n, sodium_base64_VARIANT_ORIGINAL);
	char *enc = malloc(cap);
	if (!enc) {
		b->bf_err = SF_ERR_NOMEM;
		return;
	}
	sodium_bin2base64(enc, cap, (const unsigned char *)v, n, sodium_base64_VARIANT_ORIGINAL);
	sf_buf_printf(b, "=?UTF-8?B?%s?=", enc);
	free(enc);
}

/* The whole message (CRLF line ends) into b. */
static void build_message(const struct sf_mailer *m, int64_t id, const char *to, const char *subject,
			  const char *body, struct sf_buf *b)
{
	char date[64];
	time_t t = time(NULL);
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S +0000", &tm);
	char rnd[17];
	sf_rand_base32(rnd, sizeof rnd - 1);
	const char *host = strchr(m->from_addr, '@');
	sf_buf_printf(b, "Date: %s\r\nFrom: %s\r\nTo: %s\r\nSubject: ", date, m->from, to);
	put_header_text(b, subject);
	sf_buf_printf(b, "\r\nMessage-ID: <%lld.%s%s>\r\nMIME-Version: 1.0\r\n"
			 "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n",
		      (long long)id, rnd, host ? host : "@storefort");
	for (const char *p = body; *p; p++) {
		if (*p == '\r')
			continue;
		if (*p == '\n')
			sf_buf_puts(b, "\r\n");
		else
			sf_buf_putc(b, *p);
	}
	sf_buf_puts(b, "\r\n");
}

/* ==== Delivery ==== */

static enum sf_err deliver_file(const struct sf_mailer *m, int64_t id, const struct sf_buf *msg, char *why,
				size_t whylen)
{
	char path[SF_CFG_PATH_MAX + 64];
	snprintf(path, sizeof path, "%s/%lld.eml", m->dir, (long long)id);
	enum sf_err err = sf_file_write_atomic(path, msg->bf_data, msg->bf_len, 0600);
	if (err && errno == ENOENT) { /* the folder is made on first use, and again if it was removed */
		if (sf_mkdirs(m->dir, 0700) != SF_OK) {
			snprintf(why, whylen, "cannot create the mail folder: %s", strerror(errno));
			return SF_ERR_IO;
		}
		err = sf_file_write_atomic(path, msg->bf_data, msg->bf_len, 0600);
	}
	if (err) {
		snprintf(why, whylen, "cannot write the .eml file: %s", strerror(errno));
		return SF_ERR_IO;
	}
	return SF_OK;
}

struct upload {
	const char *p;
	size_t left;
};

static size_t read_cb(char *dst, size_t size, size_t nmemb, void *arg)
{
	struct upload *u = arg;
	size_t n = size * nmemb;
	if (n > u->left)
		n = u->left;
	memcpy(dst, u->p, n);
	u->p += n;
	u->left -= n;
	return n;
}

/*
 * One SMTP session for a whole batch: the handle is made with the first SMTP
 * mail of a batch and kept until the batch ends, so libcurl sends every mail
 * of the batch over the same connection (one TCP and TLS handshake, one trust
 * store load, one login, instead of one each per mail) and then says QUIT.
 * A failed transfer is no harm to the next: libcurl reconnects when it must.
 */
static CURL *smtp_session(const struct sf_mailer *m, char *errb)
{
	CURL *h = curl_easy_init();
	if (!h)
		return NULL;
	curl_easy_setopt(h, CURLOPT_URL, m->smtp_url);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
	curl_easy_setopt(h, CURLOPT_USE_SSL, (long)CURLUSESSL_ALL); /* STARTTLS or fail */
	curl_easy_setopt(h, CURLOPT_MAIL_FROM, m->from_env);
	curl_easy_setopt(h, CURLOPT_READFUNCTION, read_cb);
	curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, 10L);
	curl_easy_setopt(h, CURLOPT_TIMEOUT, 60L);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errb);
	if (m->ca_file[0]) {
		curl_easy_setopt(h, CURLOPT_CAINFO, m->ca_file);
		curl_easy_setopt(h, CURLOPT_CAPATH, NULL);
	}
	if (m->username[0])
		curl_easy_setopt(h, CURLOPT_USERNAME, m->username);
	if (m->password)
		curl_easy_setopt(h, CURLOPT_PASSWORD, m->password);
	return h;
}

/* The batch's SMTP session, made at its first SMTP mail. */
struct smtp_batch {
	CURL *h;
	char errb[CURL_ERROR_SIZE];
};

static enum sf_err deliver_smtp(const struct sf_mailer *m, struct smtp_batch *sb, const char *to,
				const struct sf_buf *msg, char *why, size_t whylen)
{
	if (!sb->h && !(sb->h = smtp_session(m, sb->errb))) {
		snprintf(why, whylen, "libcurl could not start");
		return SF_ERR_NOMEM;
	}
	CURL *h = sb->h;
	char *errb = sb->errb;
	char rcpt_addr[SF_MAIL_ADDR_MAX + 3];
	snprintf(rcpt_addr, sizeof rcpt_addr, "<%s>", to);
	struct curl_slist *rcpt = curl_slist_append(NULL, rcpt_addr);
	struct upload u = {msg->bf_data, msg->bf_len};
	errb[0] = '\0';
	curl_easy_setopt(h, CURLOPT_MAIL_RCPT, rcpt);
	curl_easy_setopt(h, CURLOPT_READDATA, &u);
	curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, (curl_off_t)msg->bf_len);
	CURLcode rc = rcpt ? curl_easy_perform(h) : CURLE_OUT_OF_MEMORY;
	curl_easy_setopt(h, CURLOPT_MAIL_RCPT, NULL);
	curl_easy_setopt(h, CURLOPT_READDATA, NULL);
	curl_slist_free_all(rcpt);
	if (rc != CURLE_OK) {
		snprintf(why, whylen, "smtp: %s", errb[0] ? errb : curl_easy_strerror(rc));
		sf_log_scrub_cards(why);
		return SF_ERR_IO;
	}
	return SF_OK;
}

struct due {
	int64_t id;
	int attempts;
	unsigned char *blob[3];
	size_t n[3];
};

struct due_list {
	struct due items[BATCH];
	size_t n;
	int oom;
};

static void collect(struct due_list *l, struct sf_db_cursor *cur)
{
	struct due *d = &l->items[l->n];
	memset(d, 0, sizeof *d);
	d->id = sf_db_col_int(cur, 0);
	d->attempts = (int)sf_db_col_int(cur, 4);
	for (int i = 0; i < 3; i++) {
		size_t n = 0;
		const void *p = sf_db_col_blob(cur, i + 1, &n);
		d->blob[i] = malloc(n ? n : 1);
		if (!d->blob[i]) {
			l->oom = 1;
			continue;
		}
		if (n)
			memcpy(d->blob[i], p, n);
		d->n[i] = n;
	}
	l->n++;
}

static void due_free(struct due_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		for (int j = 0; j < 3; j++)
			free(l->items[i].blob[j]);
	l->n = 0;
}

/* Write the outcome of mail id's attempt (attempts before it).  0, or -1
 * (logged). */
static int record(struct sf_db_conn *c, int64_t id, int attempts, enum sf_err err, const char *why, int64_t now)
{
	enum sf_db_status st;
	int64_t next = now + sf_mail_backoff(attempts + 1);
	if (!err) {
		struct sf_db_param p[] = {SF_DB_INT(id), SF_DB_INT(now)};
		st = sf_db_exec(c, SF_STMT_MAIL_SENT, p, 2, NULL);
	} else if (attempts + 1 >= SF_MAIL_MAX_ATTEMPTS) {
		struct sf_db_param p[] = {SF_DB_INT(id), SF_DB_INT(attempts + 1), SF_DB_TEXT(why)};
		st = sf_db_exec(c, SF_STMT_MAIL_FAILED, p, 3, NULL);
	} else {
		struct sf_db_param p[] = {SF_DB_INT(id), SF_DB_INT(attempts + 1), SF_DB_INT(next), SF_DB_TEXT(why)};
		st = sf_db_exec(c, SF_STMT_MAIL_RETRY, p, 4, NULL);
	}
	if (st < 0) {
		sf_log(SF_LOG_ERROR, "mail.record", "outbox mail %lld: cannot record the outcome: %s", (long long)id,
		       sf_db_errmsg(c));
		return -1;
	}
	if (err && attempts + 1 >= SF_MAIL_MAX_ATTEMPTS)
		sf_log(SF_LOG_ERROR, "mail.failed", "outbox mail %lld given up after %d attempts: %s", (long long)id,
		       attempts + 1, why);
	else if (err)
		sf_log(SF_LOG_WARN, "mail.retry", "outbox mail %lld attempt %d failed (next in %llds): %s",
		       (long long)id, attempts + 1, (long long)(next - now), why);
	return 0;
}

/*
 * Open the three sealed fields into heap buffers of the sealed size (the
 * plaintext is shorter), wiped by close_due.  Not sf_unseal's guarded
 * memory: its mmap, mprotect and munmap per field were a sixth of the
 * mailer's CPU, for plaintexts that live a few microseconds.
 */
static enum sf_err open_due(const struct sf_mailer *m, const struct due *d, char *pt[3], size_t ptn[3])
{
	static const char *const cols[3] = {"recipient", "subject", "body"};
	for (int i = 0; i < 3; i++) {
		pt[i] = malloc(d->n[i] + 1);
		if (!pt[i])
			return SF_ERR_NOMEM;
		enum sf_err err = sf_unseal_to(m->kr, T_OUTBOX, cols[i], d->id, d->blob[i], d->n[i], pt[i],
					       d->n[i] + 1, &ptn[i]);
		if (err)
			return err;
	}
	return SF_OK;
}

static void close_due(const struct due *d, char *pt[3])
{
	for (int i = 0; i < 3; i++)
		if (pt[i]) {
			sodium_memzero(pt[i], d->n[i] + 1);
			free(pt[i]);
		}
}

/* Send d and record the outcome: 1 sent, 0 not, -1 the outcome could not be
 * written (kept in m->unrec). */
static int deliver_one(struct sf_mailer *m, struct sf_db_conn *c, const struct due *d, struct smtp_batch *sb,
		       int64_t now)
{
	char *pt[3] = {NULL, NULL, NULL};
	size_t ptn[3] = {0, 0, 0};
	char why[512] = "";
	struct sf_buf msg;
	sf_buf_init(&msg, SF_MAIL_BODY_MAX * 2 + 4096);
	enum sf_err err = open_due(m, d, pt, ptn);
	if (err) {
		snprintf(why, sizeof why, "the sealed mail does not open (%s)", sf_err_code(err));
	} else {
		build_message(m, d->id, pt[0], pt[1], pt[2], &msg);
		if (msg.bf_err) {
			err = msg.bf_err;
			snprintf(why, sizeof why, "cannot build the message (%s)", sf_err_code(err));
		} else if (m->smtp_url[0]) {
			err = deliver_smtp(m, sb, pt[0], &msg, why, sizeof why);
		} else {
			err = deliver_file(m, d->id, &msg, why, sizeof why);
		}
	}
	if (msg.bf_data)
		sodium_memzero(msg.bf_data, msg.bf_len);
	sf_buf_free(&msg);
	close_due(d, pt);
	if (record(c, d->id, d->attempts, err, why, now) != 0) {
		m->unrec = (struct unrecorded){.id = d->id, .attempts = d->attempts, .set = 1, .err = err};
		sf_strlcpy(m->unrec.why, why, sizeof m->unrec.why);
		return -1;
	}
	return err == SF_OK;
}

int sf_mailer_run_once(struct sf_mailer *m, int64_t now)
{
	struct sf_db_conn *c = sf_db_conn_get(m->db);
	if (!c)
		return 0;
	if (m->unrec.set) {
		if (record(c, m->unrec.id, m->unrec.attempts, m->unrec.err, m->unrec.why, now) != 0)
			return 0; /* nothing sent until it is written: try again at the next poll */
		m->unrec.set = 0;
	}
	struct due_list l = {.n = 0};
	struct sf_db_cursor *cur = NULL;
	struct sf_db_param p[] = {SF_DB_INT(now), SF_DB_INT(BATCH)};
	if (sf_db_query(c, SF_STMT_MAIL_DUE, p, 2, &cur) != SF_DB_OK)
		return 0;
	while (l.n < BATCH && sf_db_next(cur) == SF_DB_OK)
		collect(&l, cur);
	sf_db_cursor_close(cur);
	int sent = 0;
	struct smtp_batch sb = {.h = NULL};
	for (size_t i = 0; i < l.n && !l.oom; i++) {
		int r = deliver_one(m, c, &l.items[i], &sb, now);
		if (r < 0) {
			sent = 0; /* no "more to do": wait for the next poll */
			break;
		}
		sent += r;
	}
	if (sb.h)
		curl_easy_cleanup(sb.h); /* QUIT */
	due_free(&l);
	return sent;
}

/* One run of the sender thread: after a batch it looks again at once
 * (under load mail arrives faster than one batch per POLL_MS). */
static int mail_job(void *arg)
{
	return sf_mailer_run_once(arg, (int64_t)time(NULL));
}

enum sf_err sf_mailer_start(struct sf_db *db, const struct sf_keyring *kr, const struct sf_config *cfg,
			    struct sf_mailer **out, char *errbuf, size_t errlen)
{
	enum sf_err err = sf_mailer_new(db, kr, cfg, out, errbuf, errlen);
	if (err)
		return err;
	if (sf_ticker_start(mail_job, *out, POLL_MS, &(*out)->ticker) != SF_OK) {
		sf_mailer_stop(*out);
		*out = NULL;
		snprintf(errbuf, errlen, "mail: cannot start the sender thread");
		return SF_ERR_NOMEM;
	}
	if (!cfg->mail_smtp_url[0])
		sf_log(SF_LOG_INFO, "mail.files", "[mail] smtp_url is empty: mails are written as .eml files to %s",
		       cfg->mail_dir);
	return SF_OK;
}

void sf_mailer_kick(struct sf_mailer *m)
{
	if (m)
		sf_ticker_kick(m->ticker);
}

void sf_mailer_stop(struct sf_mailer *m)
{
	if (!m)
		return;
	sf_ticker_stop(m->ticker);
	if (m->password)
		sodium_free(m->password);
	free(m);
}

enum sf_err sf_mail_prune(struct sf_db *db, int64_t now, int keep_days, int limit, int64_t *n)
{
	return sf_db_prune(db, SF_STMT_MAIL_OLD, SF_STMT_MAIL_DROP, now - (int64_t)keep_days * 86400, limit, n);
}
