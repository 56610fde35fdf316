/*
 * serve_payments.c — payment provider and webhook sender for `serve`
 * (serve_payments.h).
 */
#include "cli/serve_payments.h"

#include <stdio.h>
#include <string.h>

#include "core/config.h"
#include "core/log.h"
#include "core/util.h"
#include "shop/payment.h"
#include "shop/webhook.h"

enum sf_err sf_serve_payments_start(const struct sf_config *cfg, struct sf_db *db, const struct sf_keyring *kr,
				    uint16_t https_port, uint16_t http_port, struct sf_payments **pay,
				    struct sf_webhook_sender **snd, char *errbuf, size_t errlen)
{
	char base[300], self[128];
	*pay = NULL;
	*snd = NULL;
	/* Return links: [payments] public_base, else the mail links' base. */
	if (cfg->pay_public_base[0])
		snprintf(base, sizeof base, "%s", cfg->pay_public_base);
	else if (cfg->mail_link_base[0])
		snprintf(base, sizeof base, "%s", cfg->mail_link_base);
	else if (cfg->public_host[0])
		snprintf(base, sizeof base, "https://%s", cfg->public_host);
	else
		snprintf(base, sizeof base, "https://localhost:%u", https_port);
	size_t bl = strlen(base);
	while (bl && base[bl - 1] == '/')
		base[--bl] = '\0';
	int tls = cfg->tls && https_port;
	uint16_t port = tls ? https_port : http_port;
	snprintf(self, sizeof self, "%s://localhost:%u", tls ? "https" : "http", port);
	struct sf_pay_options po = {
		.provider = !strcmp(cfg->pay_provider, "stripe") ? SF_PAY_STRIPE : SF_PAY_SANDBOX,
		.sandbox_secret_file = cfg->pay_sandbox_secret_file, /* absolute: sf_config_load */
		.stripe_key_file = cfg->pay_stripe_secret_key_file,
		.stripe_whsec_file = cfg->pay_stripe_webhook_secret_file,
		.stripe_api_base = cfg->pay_stripe_api_base,
		.public_base = base,
		.self_url = self,
		.delayed_hold_s = cfg->pay_delayed_hold_hours * 3600,
	};
	enum sf_err err = sf_payments_new(&po, pay, errbuf, errlen);
	if (err)
		return err;
	if (!sf_pay_ready(*pay)) {
		fprintf(stderr, "storefort: warning: payments are off until configured: %s\n", errbuf);
		sf_log(SF_LOG_WARN, "payments.not_ready", "%s", errbuf);
		errbuf[0] = '\0';
	}
	/* The sandbox reaches this server on loopback, trusting its own certificate. */
	char addr[64], entry[128];
	const char *b = cfg->bind;
	if (!strcmp(b, "0.0.0.0") || !b[0])
		b = "127.0.0.1";
	else if (!strcmp(b, "::"))
		b = "::1";
	snprintf(addr, sizeof addr, "%s", b);
	snprintf(entry, sizeof entry, strchr(addr, ':') ? "localhost:%u:[%s]" : "localhost:%u:%s", port, addr);
	size_t slen = 0;
	const unsigned char *secret = sf_pay_sandbox_secret(*pay, &slen);
	struct sf_webhook_sender_opts wo = {
		.timeout_s = (int)cfg->webhook_timeout_s,
		.max_attempts = (int)cfg->webhook_max_attempts,
		.internal_secret = secret,
		.internal_secret_len = slen,
		.internal_ca_file = tls ? cfg->tls_cert : NULL,
		.internal_resolve = entry,
		.allow_private = cfg->webhook_allow_private,
	};
	err = sf_webhook_sender_start(db, kr, &wo, snd);
	if (err)
		snprintf(errbuf, errlen, "cannot start the webhook sender thread");
	/* Refunds to send — payments that came too late, and staff's refunds
	 * that a first attempt did not settle: at once when kicked, and every
	 * minute for retries. */
	if (!err && (err = sf_pay_refunder_start(*pay, db, kr, 60)) != SF_OK) {
		snprintf(errbuf, errlen, "cannot start the refund thread");
		sf_webhook_sender_stop(*snd);
		*snd = NULL;
	}
	if (err) {
		sf_payments_free(*pay);
		*pay = NULL;
	}
	return err;
}

void sf_serve_payments_stop(struct sf_payments *pay, struct sf_webhook_sender *snd)
{
	sf_webhook_sender_stop(snd);
	sf_payments_free(pay);
}
