/*
 * workpool.c — see workpool.h.  One mutex and condition variable guard a
 * ring of jobs; a thread that finds the ring empty sleeps on the condition.
 */
#include "core/workpool.h"

#include <pthread.h>
#include <stdlib.h>

#include "core/util.h"

struct job {
	void (*fn)(void *arg);
	void *arg;
};

struct sf_workpool {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct job *ring;
	size_t cap, head, count;
	int stop;
	int nice_value;
	unsigned nthreads;
	pthread_t *threads;
};

static void *worker(void *arg)
{
	struct sf_workpool *p = arg;
	sf_thread_nice(p->nice_value);
	pthread_mutex_lock(&p->mu);
	for (;;) {
		while (!p->count && !p->stop)
			pthread_cond_wait(&p->cv, &p->mu);
		if (!p->count)
			break; /* stopping and drained */
		struct job j = p->ring[p->head];
		p->head = (p->head + 1) % p->cap;
		p->count--;
		pthread_mutex_unlock(&p->mu);
		j.fn(j.arg);
		pthread_mutex_lock(&p->mu);
	}
	pthread_mutex_unlock(&p->mu);
	return NULL;
}

struct sf_workpool *sf_workpool_new(unsigned threads, int nice_value, size_t max_queue)
{
	if (threads == 0 || max_queue == 0)
		return NULL;
	struct sf_workpool *p = calloc(1, sizeof *p);
	if (!p)
		return NULL;
	p->ring = calloc(max_queue, sizeof *p->ring);
	p->threads = calloc(threads, sizeof *p->threads);
	if (!p->ring || !p->threads) {
		free(p->ring);
		free(p->threads);
		free(p);
		return NULL;
	}
	p->cap = max_queue;
	p->nice_value = nice_value < 0 ? 0 : nice_value > 19 ? 19 : nice_value;
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->cv, NULL);
	for (unsigned i = 0; i < threads; i++) {
		if (pthread_create(&p->threads[i], NULL, worker, p) != 0) {
			sf_workpool_free(p);
			return NULL;
		}
		p->nthreads++;
	}
	return p;
}

int sf_workpool_submit(struct sf_workpool *p, void (*fn)(void *arg), void *arg)
{
	if (!p || !fn)
		return 0;
	pthread_mutex_lock(&p->mu);
	if (p->stop || p->count == p->cap) {
		pthread_mutex_unlock(&p->mu);
		return 0;
	}
	p->ring[(p->head + p->count) % p->cap] = (struct job){ fn, arg };
	p->count++;
	pthread_mutex_unlock(&p->mu);
	/* Signalled after the unlock: a thread woken under the mutex would
	 * only block on it again.  The pool outlives every submit. */
	pthread_cond_signal(&p->cv);
	return 1;
}

void sf_workpool_free(struct sf_workpool *p)
{
	if (!p)
		return;
	pthread_mutex_lock(&p->mu);
	p->stop = 1;
	pthread_cond_broadcast(&p->cv);
	pthread_mutex_unlock(&p->mu);
	for (unsigned i = 0; i < p->nthreads; i++)
		pthread_join(p->threads[i], NULL);
	pthread_cond_destroy(&p->cv);
	pthread_mutex_destroy(&p->mu);
	free(p->threads);
	free(p->ring);
	free(p);
}
