/*
 * ticker.h — a background thread that runs one job every interval, or at
 * once when kicked.
 *
 * For storefort's background work (the mailer, the webhook sender, the
 * order reaper, the refunds to send): the job runs at SF_BACKGROUND_NICE,
 * never twice at a time; a kick during a run makes one more run right
 * after it, so nothing kicked waits for the next interval, and a job that
 * says it has more to do (a full batch) runs again at once.
 */
#ifndef SF_CORE_TICKER_H
#define SF_CORE_TICKER_H

#include "core/err.h"

struct sf_ticker;

/* The work of one run: > 0 when there is more to do at once. */
typedef int (*sf_ticker_job)(void *arg);

/* Start a thread that calls job(arg) at once, then every interval_ms
 * milliseconds (at least 1), after each kick and, while it returns > 0,
 * again at once, until stopped.  SF_OK and *out, or SF_ERR_NOMEM /
 * SF_ERR_INTERNAL (thread creation). */
enum sf_err sf_ticker_start(sf_ticker_job job, void *arg, long interval_ms, struct sf_ticker **out) SF_WARN_UNUSED;
/* Run the job again as soon as the thread is free.  NULL accepted. */
void sf_ticker_kick(struct sf_ticker *t);
/* Wake the thread, wait for a run in progress to end, join, free.  NULL
 * accepted. */
void sf_ticker_stop(struct sf_ticker *t);

#endif
