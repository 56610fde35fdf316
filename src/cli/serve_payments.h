/*
 * serve_payments.h — `serve`'s payment provider and outgoing-webhook
 * sender: built from [payments] / [webhooks] once the listener is up (the
 * sandbox notifies this server on its real port) and torn down at stop.
 */
#ifndef SF_CLI_SERVE_PAYMENTS_H
#define SF_CLI_SERVE_PAYMENTS_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

struct sf_config;
struct sf_db;
struct sf_keyring;
struct sf_payments;
struct sf_webhook_sender;

/* Start both.  https_port / http_port: the ports actually bound.  A
 * Stripe provider whose key files are missing starts "not ready" with a
 * warning on stderr and in the log.  SF_OK with *pay and *snd, or
 * SF_ERR_CONFIG (a secret file unreadable) / SF_ERR_NOMEM /
 * SF_ERR_INTERNAL with the reason in errbuf. */
enum sf_err sf_serve_payments_start(const struct sf_config *cfg, struct sf_db *db, const struct sf_keyring *kr,
				    uint16_t https_port, uint16_t http_port, struct sf_payments **pay,
				    struct sf_webhook_sender **snd, char *errbuf, size_t errlen) SF_WARN_UNUSED;
/* Stop the sender (finishing its batch) and free the provider.  NULLs accepted. */
void sf_serve_payments_stop(struct sf_payments *pay, struct sf_webhook_sender *snd);

#endif
