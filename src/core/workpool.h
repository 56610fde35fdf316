/*
 * workpool.h — a small pool of threads running queued jobs, in order of
 * submission, at a chosen nice value.
 *
 * The HTTP layer runs requests that may write or hash on one (see
 * src/http/server.c, "deferred requests"); nothing in it knows about HTTP.
 */
#ifndef SF_CORE_WORKPOOL_H
#define SF_CORE_WORKPOOL_H

#include <stddef.h>

struct sf_workpool;

/* Start threads (>= 1) that run jobs at the given nice value (0..19; the
 * threads lower their own priority, never raise it) with at most max_queue
 * jobs waiting.  NULL when a thread cannot be started or out of memory. */
struct sf_workpool *sf_workpool_new(unsigned threads, int nice_value, size_t max_queue);

/* Queue fn(arg).  Returns 1 when queued, 0 when the queue is full or the
 * pool is stopping (the caller then runs the job itself). */
int sf_workpool_submit(struct sf_workpool *p, void (*fn)(void *arg), void *arg);

/* Run every queued job, stop the threads and free the pool. NULL accepted. */
void sf_workpool_free(struct sf_workpool *p);

#endif
