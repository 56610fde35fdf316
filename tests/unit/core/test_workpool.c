/* test_workpool.c — the request pool's thread pool (src/core/workpool.c):
 * every queued job runs exactly once, on a pool thread at the asked nice
 * value; a full queue refuses (the caller runs the job itself); freeing the
 * pool runs what is still queued; bad arguments are refused. */
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

#include "core/workpool.h"

static atomic_int ran[1000];
static atomic_int wrong_nice;
static pthread_mutex_t gate_mu = PTHREAD_MUTEX_INITIALIZER;

static void job(void *arg)
{
	int i = (int)(intptr_t)arg;
	errno = 0;
	int n = getpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid));
	if (n != 7)
		atomic_fetch_add(&wrong_nice, 1);
	atomic_fetch_add(&ran[i], 1);
}

static void gated(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&gate_mu); /* held by the test: the worker waits here */
	pthread_mutex_unlock(&gate_mu);
}

static void test_runs_every_job_once(void **state)
{
	(void)state;
	errno = 0;
	const int before = getpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid)); /* 0, or the nice it runs under */
	assert_int_equal(errno, 0);
	struct sf_workpool *p = sf_workpool_new(3, 7, 1000);
	assert_non_null(p);
	for (int i = 0; i < 1000; i++)
		assert_int_equal(sf_workpool_submit(p, job, (void *)(intptr_t)i), 1);
	sf_workpool_free(p); /* drains the queue */
	for (int i = 0; i < 1000; i++)
		assert_int_equal(atomic_load(&ran[i]), 1);
	assert_int_equal(atomic_load(&wrong_nice), 0);
	/* The caller's own priority is untouched. */
	assert_int_equal(getpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid)), before);
}

static void test_full_queue_refuses(void **state)
{
	(void)state;
	struct sf_workpool *p = sf_workpool_new(1, 0, 2);
	assert_non_null(p);
	pthread_mutex_lock(&gate_mu);
	assert_int_equal(sf_workpool_submit(p, gated, NULL), 1); /* taken by the one thread */
	struct timespec ts = { 0, 100 * 1000 * 1000 };
	nanosleep(&ts, NULL);
	assert_int_equal(sf_workpool_submit(p, gated, NULL), 1);
	assert_int_equal(sf_workpool_submit(p, gated, NULL), 1);
	assert_int_equal(sf_workpool_submit(p, gated, NULL), 0); /* two waiting: full */
	pthread_mutex_unlock(&gate_mu);
	sf_workpool_free(p);
}

static void test_bad_arguments(void **state)
{
	(void)state;
	assert_null(sf_workpool_new(0, 0, 10));
	assert_null(sf_workpool_new(1, 0, 0));
	assert_int_equal(sf_workpool_submit(NULL, job, NULL), 0);
	struct sf_workpool *p = sf_workpool_new(1, 99, 4); /* nice clamped to 19 */
	assert_non_null(p);
	assert_int_equal(sf_workpool_submit(p, NULL, NULL), 0);
	sf_workpool_free(p);
	sf_workpool_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_runs_every_job_once),
		cmocka_unit_test(test_full_queue_refuses),
		cmocka_unit_test(test_bad_arguments),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
