/*
 * auth_int.h — what the files of src/auth/ share (and their unit tests):
 * the per-request auth state behind req->auth, and the policies in force.
 */
#ifndef SF_AUTH_AUTH_INT_H
#define SF_AUTH_AUTH_INT_H

#include "auth/auth.h"
#include "auth/session.h"

#define SF_PRESESSION_COOKIE "__Host-sf_pre"

struct sf_auth_state {
	struct sf_principal p;
	int has_session;                            /* p came from a live session */
	unsigned char sess_hash[SF_SESSION_HASH_LEN]; /* its token hash (CSRF binding) */
	const char *pre;                            /* pre-session cookie value, or NULL */
	int pre_set;                                /* a new pre-session cookie was added to resp */
	void *staff;                                /* staff.c / rbac.c: the staff member's request state */
	/* the parsed form body (form.c) */
	int form_done;
	enum sf_err form_err;
	struct sf_kv *form;
	size_t nform;
	struct sf_part *files;  /* multipart file parts (form.c) */
	size_t nfiles;
};

/* This request's state, created (zeroed, anonymous) on first use; NULL
 * when the arena is exhausted. */
struct sf_auth_state *sf_auth_state(struct sf_req *req);

#endif
