/* test_ticker.c — the periodic background thread (src/core/ticker.c): it
 * runs its job at once, again when kicked (also when kicked during a run:
 * one more run after it, never two at a time), not before its interval
 * otherwise, at the background nice value; stop waits for a run in
 * progress and returns long before the interval; a job with more to do
 * runs again at once. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "core/ticker.h"
#include "core/util.h"

static atomic_int runs, running, overlap, nice_seen, in_run;
static atomic_int hold; /* while set, a run waits */

static int job(void *arg)
{
	(void)arg;
	if (atomic_fetch_add(&running, 1) != 0)
		atomic_store(&overlap, 1);
	errno = 0;
	atomic_store(&nice_seen, getpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid)));
	atomic_store(&in_run, 1);
	while (atomic_load(&hold))
		usleep(1000);
	atomic_fetch_add(&runs, 1);
	atomic_store(&in_run, 0);
	atomic_fetch_sub(&running, 1);
	return 0;
}

/* Wait up to 5 s for runs to reach n. */
static int wait_runs(int n)
{
	for (int i = 0; i < 5000 && atomic_load(&runs) < n; i++)
		usleep(1000);
	return atomic_load(&runs);
}

static void *release_later(void *arg)
{
	(void)arg;
	usleep(100 * 1000);
	atomic_store(&hold, 0);
	return NULL;
}

static double now_s(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void test_ticker(void **state)
{
	(void)state;
	errno = 0;
	int base = getpriority(PRIO_PROCESS, 0);
	struct sf_ticker *t = NULL;
	assert_int_equal(sf_ticker_start(job, NULL, 3600 * 1000L, &t), SF_OK);
	assert_int_equal(wait_runs(1), 1); /* at once */
	usleep(50 * 1000);
	assert_int_equal(atomic_load(&runs), 1); /* not again before the hour */
	int expect = base + SF_BACKGROUND_NICE > 19 ? 19 : base + SF_BACKGROUND_NICE;
	assert_int_equal(atomic_load(&nice_seen), expect);
	sf_ticker_kick(t);
	assert_int_equal(wait_runs(2), 2);
	/* kicked twice during a run: one more run after it, not two, none at once */
	atomic_store(&hold, 1);
	sf_ticker_kick(t);
	for (int i = 0; i < 5000 && !atomic_load(&in_run); i++)
		usleep(1000);
	assert_true(atomic_load(&in_run));
	sf_ticker_kick(t);
	sf_ticker_kick(t);
	atomic_store(&hold, 0);
	assert_int_equal(wait_runs(4), 4);
	usleep(50 * 1000);
	assert_int_equal(atomic_load(&runs), 4);
	assert_int_equal(atomic_load(&overlap), 0);
	/* stop: waits for a run in progress, returns without waiting the hour */
	atomic_store(&hold, 1);
	sf_ticker_kick(t);
	for (int i = 0; i < 5000 && !atomic_load(&in_run); i++)
		usleep(1000);
	double t0 = now_s();
	pthread_t releaser;
	assert_int_equal(pthread_create(&releaser, NULL, release_later, NULL), 0);
	sf_ticker_stop(t); /* returns only once the held run has ended */
	pthread_join(releaser, NULL);
	assert_true(now_s() - t0 < 5.0);
	assert_int_equal(atomic_load(&runs), 5);
	assert_int_equal(atomic_load(&running), 0);
	sf_ticker_kick(NULL);
	sf_ticker_stop(NULL);
}

static atomic_int batches;

/* A job with three full batches waiting, then none. */
static int batch_job(void *arg)
{
	(void)arg;
	return atomic_fetch_add(&batches, 1) < 3;
}

/* A job that says it has more to do runs again at once, not after the
 * interval; once it has none it waits. */
static void test_ticker_more(void **state)
{
	(void)state;
	struct sf_ticker *t = NULL;
	assert_int_equal(sf_ticker_start(batch_job, NULL, 3600 * 1000L, &t), SF_OK);
	for (int i = 0; i < 5000 && atomic_load(&batches) < 4; i++)
		usleep(1000);
	usleep(50 * 1000);
	assert_int_equal(atomic_load(&batches), 4);
	sf_ticker_stop(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ticker),
		cmocka_unit_test(test_ticker_more),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
