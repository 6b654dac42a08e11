/* threads.h: the body of threads2.c and threads64.c: NTHREADS threads, each keeping its tid and its own counter through the dump. */
#include "zdtmlib.h"
#include <pthread.h>
#include <sys/syscall.h>


struct worker {
	pthread_t thread;
	pid_t tid;
	volatile uint64_t count;
	volatile int started;
	volatile int tid_kept;
};

static struct worker workers[NTHREADS - 1];
static volatile int done;

static void *work(void *arg)
{
	struct worker *w = arg;
	w->tid = (pid_t)syscall(SYS_gettid);
	w->started = 1;
	while (!done) {
		w->count++;
		struct timespec ts = {0, 2 * 1000 * 1000};
		nanosleep(&ts, NULL);
	}
	w->tid_kept = w->tid == (pid_t)syscall(SYS_gettid);
	return NULL;
}

int main(int argc, char **argv)
{
	test_init(argc, argv);
	/* SIGTERM belongs to the main thread: the others block it */
	sigset_t term, old;
	sigemptyset(&term);
	sigaddset(&term, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &term, &old);
	for (int i = 0; i < NTHREADS - 1; i++)
		SETUP(pthread_create(&workers[i].thread, NULL, work, &workers[i]) == 0, "pthread_create");
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	for (int i = 0; i < NTHREADS - 1; i++)
		while (!workers[i].started)
			usleep(1000);
	char want[16];
	snprintf(want, sizeof(want), "%d", NTHREADS);
	SETUP(strcmp(test_status("Threads:"), want) == 0, "thread count");
	test_ready();
	test_wait();
	uint64_t seen[NTHREADS - 1];
	for (int i = 0; i < NTHREADS - 1; i++)
		seen[i] = workers[i].count;
	CHECK(strcmp(test_status("Threads:"), want) == 0, "%s threads, not %s", test_status("Threads:"), want);
	/* each thread counts on: waited for (10 s at most on a busy machine), not assumed of a fixed 100 ms */
	for (int i = 0, naps = 0; i < NTHREADS - 1; ) {
		if (workers[i].count > seen[i]) {
			i++;
			continue;
		}
		CHECK(naps++ < 10000, "thread %d (tid %d) stopped counting at %llu", i + 1, workers[i].tid,
		      (unsigned long long)seen[i]);
		usleep(1000);
	}
	done = 1;
	for (int i = 0; i < NTHREADS - 1; i++) {
		pthread_join(workers[i].thread, NULL);
		CHECK(workers[i].tid_kept, "thread %d lost its tid %d", i + 1, workers[i].tid);
	}
	return pass();
}
