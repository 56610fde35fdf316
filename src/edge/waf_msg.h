/*
 * waf_msg.h — the plain C view of one libmodsecurity rule message, shared by
 * waf.c and the C++ reader waf_msg.cc (which includes only this header).
 */
#ifndef SF_EDGE_WAF_MSG_H
#define SF_EDGE_WAF_MSG_H

#include <stdint.h>

struct sf_waf_msg {
	int64_t rule_id;
	int phase;            /* 1..5 as in SecLang */
	int severity;
	int disruptive;
	const char *message;  /* the rule's msg */
	const char *data;     /* the rule's logdata (holds matched values) */
	const char *match;    /* "Matched ... against variable `NAME' (Value: ...)" */
};

typedef void (*sf_waf_msg_fn)(void *txn_ctx, const struct sf_waf_msg *m);
/* Have libmodsecurity report every matched rule of engine ms (a
 * ModSecurity *) to fn, with the context given to msc_new_transaction_with_id. */
void sf_waf_msg_install(void *ms, sf_waf_msg_fn fn);

#endif
