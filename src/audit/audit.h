/*
 * audit.h — the tamper-evident audit trail.
 *
 * Events are appended to audit_events and chained:
 *   hash_n = BLAKE2b-256 keyed with the audit data key over
 *            (hash_{n-1} | id | ts | actor_type | actor_id | ip | action |
 *             object_type | object_id | outcome | request_id | detail)
 * (each field length-prefixed as u32be length | bytes, NULL as length
 * 0xffffffff so that NULL and "" differ; id as 8 bytes big-endian; a domain
 * string in front, see audit.c).  The first event's hash_0 is 32 zero bytes;
 * ids run 1, 2, 3, ... without gaps.  Editing, deleting, inserting or reordering
 * any event breaks the chain at that event.  A single-row head
 * (audit_head: last id, last hash, count, MAC over them) is updated with
 * every append in the same transaction; it serialises appends and lets
 * verify notice events removed from the end.
 *
 * Appends happen inside the caller's transaction, so an action and its record
 * commit or roll back together.
 */
#ifndef SF_AUDIT_AUDIT_H
#define SF_AUDIT_AUDIT_H

#include <stdint.h>

#include "core/err.h"

struct sf_db;
struct sf_db_conn;
struct sf_keyring;

struct sf_audit_event {
	const char *actor_type;  /* "system", "cli", "staff", "customer", "anonymous", "provider" */
	const char *actor_id;    /* may be NULL */
	const char *ip;          /* may be NULL */
	const char *action;      /* "catalog.import", "product.create", "staff.login", ... */
	const char *object_type; /* may be NULL */
	const char *object_id;   /* may be NULL */
	const char *outcome;     /* "success" | "failure" | "denied" */
	const char *request_id;  /* may be NULL */
	const char *detail;      /* JSON text or NULL; never holds secrets or sealed plaintext */
};

/* Append ev inside the current transaction on c (the caller runs it in
 * sf_db_txn; map the result with sf_db_status_from_err).  ts is set here (UTC
 * ISO-8601 with milliseconds).  Returns SF_OK, or SF_ERR_DB_CONFLICT (the
 * caller's transaction runner retries) / SF_ERR_DB / SF_ERR_CRYPTO /
 * SF_ERR_KEY (no audit key loaded), SF_ERR_INVALID when actor_type, action or
 * outcome is NULL, and SF_ERR_AUDIT_BROKEN when the head's MAC does not check
 * out (appending would otherwise launder a tampered trail). */
enum sf_err sf_audit_append(struct sf_db_conn *c, const struct sf_keyring *kr,
			    const struct sf_audit_event *ev) SF_WARN_UNUSED;

struct sf_audit_report {
	int64_t verified;     /* events whose link checked out */
	int64_t first_broken; /* id of the first bad event; 0 if none, or if only
	                         the head row is bad ("head MAC invalid") */
	char reason[160];     /* what is wrong with it */
};

/* Walk the whole chain (in pages of 1000, inside one read snapshot, so
 * concurrent appends are not mistaken for tampering), then check the head.
 * progress (may be NULL) is called after each page with the number checked
 * so far.  An empty trail verifies with 0 events.  Returns SF_OK when intact,
 * SF_ERR_AUDIT_BROKEN with the report filled in (reasons such as "event 17:
 * hash does not match its contents", "event 18: does not follow event 16
 * (missing or reordered events)", "chain ends at event 40 but the head
 * records 42 events (events removed from the end)", "head MAC invalid"), or a
 * database/crypto error. */
enum sf_err sf_audit_verify(struct sf_db *db, const struct sf_keyring *kr, struct sf_audit_report *rep,
			    void (*progress)(int64_t checked, void *ctx), void *ctx) SF_WARN_UNUSED;

#endif
