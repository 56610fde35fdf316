/*
 * audit.c — appending to and verifying the hash-chained audit trail.
 *
 * Event hash (BLAKE2b-256 keyed with the audit data key, via
 * sf_keyring_mac):
 *   "sf-audit-event-v1" | prev_hash[32] | field(id as 8 bytes i64be) |
 *   field(ts) | field(actor_type) | field(actor_id) | field(ip) |
 *   field(action) | field(object_type) | field(object_id) | field(outcome) |
 *   field(request_id) | field(detail)
 * where field(x) = u32be length | bytes, and a NULL field is the length
 * 0xffffffff with no bytes (so NULL and "" hash differently).
 *
 * Head MAC: "sf-audit-head-v1" | last_id i64be | last_hash[32] | count i64be.
 * The two domain strings keep an event hash from ever passing as a head MAC.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit/audit.h"
#include "core/util.h"
#include "crypto/keyring.h"
#include "db/db.h"

#define HASH_LEN SF_MAC_LEN
#define VERIFY_PAGE 1000
#define FIELD_NULL 0xffffffffu
#define N_TEXT_FIELDS 10

static const char EVENT_DOMAIN[] = "sf-audit-event-v1";
static const char HEAD_DOMAIN[] = "sf-audit-head-v1";

/* One event as stored: text fields are (pointer, length), NULL for SQL NULL. */
struct rec {
	int64_t id;
	const char *f[N_TEXT_FIELDS]; /* ts .. detail, in column order */
	size_t n[N_TEXT_FIELDS];
	const unsigned char *prev;
	size_t prev_len;
	const unsigned char *hash;
	size_t hash_len;
};

/* ==== Hashing ==== */

static void put_u32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)(v >> 24);
	p[1] = (unsigned char)(v >> 16);
	p[2] = (unsigned char)(v >> 8);
	p[3] = (unsigned char)v;
}

static void put_i64(unsigned char *p, int64_t sv)
{
	uint64_t v = (uint64_t)sv;
	for (int i = 7; i >= 0; i--) {
		p[i] = (unsigned char)v;
		v >>= 8;
	}
}

static enum sf_err event_hash(const struct sf_keyring *kr, const unsigned char prev[HASH_LEN], const struct rec *r,
			      unsigned char out[HASH_LEN])
{
	size_t total = sizeof(EVENT_DOMAIN) - 1 + HASH_LEN + 4 + 8;
	unsigned char *buf, *p;
	enum sf_err err;

	for (int i = 0; i < N_TEXT_FIELDS; i++) {
		if (r->f[i] && r->n[i] >= FIELD_NULL)
			return SF_ERR_TOO_LARGE;
		total += 4 + (r->f[i] ? r->n[i] : 0);
	}
	buf = malloc(total);
	if (!buf)
		return SF_ERR_NOMEM;
	p = buf;
	memcpy(p, EVENT_DOMAIN, sizeof(EVENT_DOMAIN) - 1);
	p += sizeof(EVENT_DOMAIN) - 1;
	memcpy(p, prev, HASH_LEN);
	p += HASH_LEN;
	put_u32(p, 8);
	put_i64(p + 4, r->id);
	p += 12;
	for (int i = 0; i < N_TEXT_FIELDS; i++) {
		if (!r->f[i]) {
			put_u32(p, FIELD_NULL);
			p += 4;
			continue;
		}
		put_u32(p, (uint32_t)r->n[i]);
		p += 4;
		if (r->n[i]) {
			memcpy(p, r->f[i], r->n[i]);
			p += r->n[i];
		}
	}
	err = sf_keyring_mac(kr, SF_KEY_AUDIT, buf, (size_t)(p - buf), out);
	free(buf);
	return err;
}

static enum sf_err head_mac(const struct sf_keyring *kr, int64_t last_id, const unsigned char last_hash[HASH_LEN],
			    int64_t count, unsigned char out[HASH_LEN])
{
	unsigned char buf[sizeof(HEAD_DOMAIN) - 1 + 8 + HASH_LEN + 8];
	unsigned char *p = buf;

	memcpy(p, HEAD_DOMAIN, sizeof(HEAD_DOMAIN) - 1);
	p += sizeof(HEAD_DOMAIN) - 1;
	put_i64(p, last_id);
	p += 8;
	memcpy(p, last_hash, HASH_LEN);
	p += HASH_LEN;
	put_i64(p, count);
	return sf_keyring_mac(kr, SF_KEY_AUDIT, buf, sizeof(buf), out);
}

/* ==== The head ==== */

struct head {
	int present;
	int malformed; /* wrong blob lengths */
	int64_t last_id, count;
	unsigned char last_hash[HASH_LEN];
	unsigned char mac[HASH_LEN];
};

static void read_head(struct sf_db_cursor *cur, void *ctx)
{
	struct head *h = ctx;
	size_t hl = 0, ml = 0;
	const void *lh = sf_db_col_blob(cur, 1, &hl);
	const void *mac = sf_db_col_blob(cur, 3, &ml);

	h->present = 1;
	h->last_id = sf_db_col_int(cur, 0);
	h->count = sf_db_col_int(cur, 2);
	if (!lh || !mac || hl != HASH_LEN || ml != HASH_LEN) {
		h->malformed = 1;
		return;
	}
	memcpy(h->last_hash, lh, HASH_LEN);
	memcpy(h->mac, mac, HASH_LEN);
}

static enum sf_err head_get(struct sf_db_conn *c, struct head *h)
{
	enum sf_db_status st;

	memset(h, 0, sizeof(*h));
	st = sf_db_query_one(c, SF_STMT_AUDIT_HEAD_GET, NULL, 0, read_head, h);
	return sf_db_err(st);
}

/* ==== Append ==== */

enum sf_err sf_audit_append(struct sf_db_conn *c, const struct sf_keyring *kr, const struct sf_audit_event *ev)
{
	struct head h;
	struct rec r;
	unsigned char prev[HASH_LEN] = {0}, hash[HASH_LEN], mac[HASH_LEN];
	char ts[32];
	enum sf_db_status st;
	enum sf_err err;

	if (!c || !kr || !ev || !ev->actor_type || !ev->action || !ev->outcome)
		return SF_ERR_INVALID;
	err = head_get(c, &h);
	if (err)
		return err;
	if (h.present) {
		unsigned char want[HASH_LEN];

		/* Never extend a head we did not write: that would launder a
		 * truncated or forged trail into a valid-looking one. */
		if (h.malformed || h.last_id < 0 || h.count != h.last_id)
			return SF_ERR_AUDIT_BROKEN;
		err = head_mac(kr, h.last_id, h.last_hash, h.count, want);
		if (err)
			return err;
		if (sf_ct_compare(want, h.mac, HASH_LEN) != 0)
			return SF_ERR_AUDIT_BROKEN;
		memcpy(prev, h.last_hash, HASH_LEN);
	}
	sf_time_iso(ts, sizeof(ts));
	const char *vals[N_TEXT_FIELDS] = {ts,	       ev->actor_type, ev->actor_id, ev->ip,	     ev->action,
					   ev->object_type, ev->object_id, ev->outcome, ev->request_id, ev->detail};
	memset(&r, 0, sizeof(r));
	r.id = h.present ? h.last_id + 1 : 1;
	for (int i = 0; i < N_TEXT_FIELDS; i++) {
		r.f[i] = vals[i];
		r.n[i] = vals[i] ? strlen(vals[i]) : 0;
	}
	err = event_hash(kr, prev, &r, hash);
	if (err)
		return err;
	{
		struct sf_db_param p[13];
		p[0] = SF_DB_INT(r.id);
		for (int i = 0; i < N_TEXT_FIELDS; i++)
			p[1 + i] = SF_DB_TEXT_OR_NULL(vals[i]);
		p[11] = SF_DB_BLOB(prev, HASH_LEN);
		p[12] = SF_DB_BLOB(hash, HASH_LEN);
		st = sf_db_exec(c, SF_STMT_AUDIT_INSERT, p, 13, NULL);
	}
	/* The id is taken: someone appended concurrently (a backend without a
	 * write lock at BEGIN).  Retrying the transaction reads the new head. */
	if (st == SF_DB_CONSTRAINT)
		return SF_ERR_DB_CONFLICT;
	if (st != SF_DB_OK)
		return sf_db_err(st) ? sf_db_err(st) : SF_ERR_DB;
	err = head_mac(kr, r.id, hash, r.id, mac);
	if (err)
		return err;
	{
		struct sf_db_param p[4] = {SF_DB_INT(r.id), SF_DB_BLOB(hash, HASH_LEN), SF_DB_INT(r.id),
					   SF_DB_BLOB(mac, HASH_LEN)};
		st = sf_db_exec(c, SF_STMT_AUDIT_HEAD_SET, p, 4, NULL);
	}
	if (st != SF_DB_OK)
		return sf_db_err(st) ? sf_db_err(st) : SF_ERR_DB;
	return SF_OK;
}

/* ==== Verify ==== */

struct vctx {
	const struct sf_keyring *kr;
	struct sf_audit_report *rep;
	void (*progress)(int64_t checked, void *ctx);
	void *pctx;
	enum sf_err err; /* a non-database failure inside the walk */
	int broken;
};

static void broken(struct vctx *v, int64_t id, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void broken(struct vctx *v, int64_t id, const char *fmt, ...)
{
	va_list ap;

	v->broken = 1;
	v->rep->first_broken = id;
	va_start(ap, fmt);
	vsnprintf(v->rep->reason, sizeof(v->rep->reason), fmt, ap);
	va_end(ap);
}

static void rec_from_row(struct sf_db_cursor *cur, struct rec *r)
{
	memset(r, 0, sizeof(*r));
	r->id = sf_db_col_int(cur, 0);
	for (int i = 0; i < N_TEXT_FIELDS; i++) {
		if (sf_db_col_is_null(cur, 1 + i)) {
			r->f[i] = NULL;
			r->n[i] = 0;
		} else {
			r->f[i] = sf_db_col_text(cur, 1 + i, &r->n[i]);
		}
	}
	r->prev = sf_db_col_blob(cur, 11, &r->prev_len);
	r->hash = sf_db_col_blob(cur, 12, &r->hash_len);
}

/* Check one event against the running chain state; returns 0 when it links,
 * -1 when broken (report filled) or on a crypto failure (v->err set). */
static int check_event(struct vctx *v, const struct rec *r, int64_t prev_id, const unsigned char prev[HASH_LEN],
		       unsigned char out_hash[HASH_LEN])
{
	unsigned char want[HASH_LEN];
	enum sf_err err;

	if (r->id != prev_id + 1) {
		if (prev_id == 0)
			broken(v, r->id, "event %lld: the trail does not start at event 1 (missing or reordered events)",
			       (long long)r->id);
		else
			broken(v, r->id, "event %lld: does not follow event %lld (missing or reordered events)",
			       (long long)r->id, (long long)prev_id);
		return -1;
	}
	if (!r->prev || r->prev_len != HASH_LEN || !r->hash || r->hash_len != HASH_LEN) {
		broken(v, r->id, "event %lld: stored hash has the wrong length", (long long)r->id);
		return -1;
	}
	if (sf_ct_compare(r->prev, prev, HASH_LEN) != 0) {
		if (prev_id == 0)
			broken(v, r->id, "event %lld: does not start the chain (events before it removed or reordered)",
			       (long long)r->id);
		else
			broken(v, r->id, "event %lld: does not follow event %lld (missing or reordered events)",
			       (long long)r->id, (long long)prev_id);
		return -1;
	}
	err = event_hash(v->kr, prev, r, want);
	if (err) {
		v->err = err;
		return -1;
	}
	if (sf_ct_compare(want, r->hash, HASH_LEN) != 0) {
		broken(v, r->id, "event %lld: hash does not match its contents", (long long)r->id);
		return -1;
	}
	memcpy(out_hash, r->hash, HASH_LEN);
	return 0;
}

static enum sf_db_status verify_txn(struct sf_db_conn *c, void *vp)
{
	struct vctx *v = vp;
	struct head h;
	unsigned char prev[HASH_LEN] = {0};
	int64_t prev_id = 0;
	enum sf_err err;
	enum sf_db_status st;

	/* This function may run again after a retry: start clean. */
	v->err = SF_OK;
	v->broken = 0;
	memset(v->rep, 0, sizeof(*v->rep));

	for (;;) {
		struct sf_db_param p[2] = {SF_DB_INT(prev_id), SF_DB_INT(VERIFY_PAGE)};
		struct sf_db_cursor *cur = NULL;
		int64_t in_page = 0;

		st = sf_db_query(c, SF_STMT_AUDIT_SCAN, p, 2, &cur);
		if (st != SF_DB_OK)
			return st;
		while ((st = sf_db_next(cur)) == SF_DB_OK) {
			struct rec r;

			in_page++;
			rec_from_row(cur, &r);
			if (check_event(v, &r, prev_id, prev, prev) != 0) {
				sf_db_cursor_close(cur);
				return v->err ? SF_DB_HARD : SF_DB_OK;
			}
			prev_id = r.id;
			v->rep->verified++;
		}
		sf_db_cursor_close(cur);
		if (st != SF_DB_NO_ROWS)
			return st;
		if (v->progress && in_page)
			v->progress(v->rep->verified, v->pctx);
		if (in_page < VERIFY_PAGE)
			break;
	}

	err = head_get(c, &h);
	if (err)
		return sf_db_status_from_err(err) == SF_DB_RETRY ? SF_DB_RETRY : SF_DB_HARD;
	if (!h.present) {
		if (prev_id != 0)
			broken(v, 0, "the audit head is missing but %lld events exist", (long long)prev_id);
		return SF_DB_OK;
	}
	if (h.malformed) {
		broken(v, 0, "head MAC invalid (malformed head row)");
		return SF_DB_OK;
	}
	{
		unsigned char want[HASH_LEN];

		err = head_mac(v->kr, h.last_id, h.last_hash, h.count, want);
		if (err) {
			v->err = err;
			return SF_DB_HARD;
		}
		if (sf_ct_compare(want, h.mac, HASH_LEN) != 0) {
			broken(v, 0, "head MAC invalid");
			return SF_DB_OK;
		}
	}
	if (prev_id < h.count || prev_id < h.last_id) {
		broken(v, prev_id + 1, "chain ends at event %lld but the head records %lld events (events removed from the end)",
		       (long long)prev_id, (long long)h.count);
		return SF_DB_OK;
	}
	if (prev_id > h.last_id || prev_id > h.count) {
		broken(v, h.last_id + 1, "event %lld: not recorded in the head, which ends at event %lld (appended without the audit key)",
		       (long long)(h.last_id + 1), (long long)h.last_id);
		return SF_DB_OK;
	}
	if (sf_ct_compare(prev, h.last_hash, HASH_LEN) != 0) {
		broken(v, prev_id, "event %lld: does not match the last hash recorded in the head", (long long)prev_id);
		return SF_DB_OK;
	}
	return SF_DB_OK;
}

enum sf_err sf_audit_verify(struct sf_db *db, const struct sf_keyring *kr, struct sf_audit_report *rep,
			    void (*progress)(int64_t checked, void *ctx), void *ctx)
{
	struct vctx v = {.kr = kr, .rep = rep, .progress = progress, .pctx = ctx};
	enum sf_db_status st;

	memset(rep, 0, sizeof(*rep));
	if (!db || !kr)
		return SF_ERR_INVALID;
	/* One read snapshot: appends that commit meanwhile are simply not seen,
	 * so the head and the chain always agree unless tampered with. */
	st = sf_db_txn_read(db, verify_txn, &v, 5);
	if (v.err)
		return v.err;
	if (st != SF_DB_OK && st != SF_DB_NO_ROWS)
		return sf_db_err(st);
	if (v.broken)
		return SF_ERR_AUDIT_BROKEN;
	return SF_OK;
}
