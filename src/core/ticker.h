/*
 * ticker.h — a background thread that runs one job every interval, or at
 * once when kicked.
 *
 * For the periodic work of the shop (the order reaper, the refunds of
 * payments that came too late): the job runs at SF_BACKGROUND_NICE, never
 * twice at a time, and a kick during a run makes one more run right after
 * it, so nothing kicked waits for the next interval.
 */
#ifndef SF_CORE_TICKER_H
#define SF_CORE_TICKER_H

#include "core/err.h"

struct sf_ticker;

/* Start a thread that calls job(arg) at once, then every interval_s seconds
 * (at least 1) and after each kick, until stopped.  SF_OK and *out, or
 * SF_ERR_NOMEM / SF_ERR_INTERNAL (thread creation). */
enum sf_err sf_ticker_start(void (*job)(void *arg), void *arg, int interval_s, struct sf_ticker **out) SF_WARN_UNUSED;
/* Run the job again as soon as the thread is free.  NULL accepted. */
void sf_ticker_kick(struct sf_ticker *t);
/* Wake the thread, wait for a run in progress to end, join, free.  NULL
 * accepted. */
void sf_ticker_stop(struct sf_ticker *t);

#endif
