/*
 * ticker.c — see ticker.h.
 */
#include "core/ticker.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#include "core/util.h"

struct sf_ticker {
	sf_ticker_job job;
	void *arg;
	long interval_ms;
	int stop, kicked;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	pthread_t th;
};

static void *ticker_main(void *vt)
{
	struct sf_ticker *t = vt;
	sf_thread_nice(SF_BACKGROUND_NICE);
	pthread_mutex_lock(&t->mu);
	while (!t->stop) {
		t->kicked = 0;
		pthread_mutex_unlock(&t->mu);
		int more = t->job(t->arg);
		pthread_mutex_lock(&t->mu);
		if (more > 0)
			continue;
		struct timespec until;
		sf_time_deadline_mono(&until, t->interval_ms);
		while (!t->stop && !t->kicked && pthread_cond_timedwait(&t->cv, &t->mu, &until) != ETIMEDOUT) {
		}
	}
	pthread_mutex_unlock(&t->mu);
	return NULL;
}

enum sf_err sf_ticker_start(sf_ticker_job job, void *arg, long interval_ms, struct sf_ticker **out)
{
	*out = NULL;
	struct sf_ticker *t = calloc(1, sizeof *t);
	if (!t)
		return SF_ERR_NOMEM;
	t->job = job;
	t->arg = arg;
	t->interval_ms = interval_ms > 0 ? interval_ms : 1;
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&t->cv, &ca);
	pthread_condattr_destroy(&ca);
	pthread_mutex_init(&t->mu, NULL);
	if (pthread_create(&t->th, NULL, ticker_main, t) != 0) {
		pthread_mutex_destroy(&t->mu);
		pthread_cond_destroy(&t->cv);
		free(t);
		return SF_ERR_INTERNAL;
	}
	*out = t;
	return SF_OK;
}

void sf_ticker_kick(struct sf_ticker *t)
{
	if (!t)
		return;
	pthread_mutex_lock(&t->mu);
	t->kicked = 1;
	pthread_mutex_unlock(&t->mu);
	pthread_cond_signal(&t->cv);
}

void sf_ticker_stop(struct sf_ticker *t)
{
	if (!t)
		return;
	pthread_mutex_lock(&t->mu);
	t->stop = 1;
	pthread_mutex_unlock(&t->mu);
	pthread_cond_signal(&t->cv);
	pthread_join(t->th, NULL);
	pthread_mutex_destroy(&t->mu);
	pthread_cond_destroy(&t->cv);
	free(t);
}
