/*
 * waf_msg.cc — the one piece of C++ in storefort: libmodsecurity hands
 * matched-rule reports to the server either as a formatted text line (which
 * mixes request bytes with the rule's fields, so a request could forge
 * "[id ...]" parts) or as its C++ RuleMessage object.  This file reads the
 * object's fields into a plain C struct and calls back into waf.c.
 */
#include <modsecurity/modsecurity.h>
#include <modsecurity/rule_message.h>

extern "C" {
#include "edge/waf_msg.h"
}

static sf_waf_msg_fn g_fn;

static void on_rule_message(void *data, const void *msg)
{
	if (!data || !msg || !g_fn)
		return;
	const auto *rm = static_cast<const modsecurity::RuleMessage *>(msg);
	struct sf_waf_msg m;
	m.rule_id = rm->m_ruleId;
	m.phase = rm->m_phase;
	m.severity = rm->m_severity;
	m.disruptive = rm->m_isDisruptive ? 1 : 0;
	m.message = rm->m_message.c_str();
	m.data = rm->m_data.c_str();
	m.match = rm->m_match.c_str();
	g_fn(data, &m);
}

extern "C" void sf_waf_msg_install(void *ms, sf_waf_msg_fn fn)
{
	g_fn = fn;
	static_cast<modsecurity::ModSecurity *>(ms)->setServerLogCb(on_rule_message,
								    modsecurity::RuleMessageLogProperty);
}
