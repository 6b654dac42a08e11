/*
 * sched: each thread keeps its scheduling: the main thread SCHED_BATCH at nice 7, a second thread
 * SCHED_IDLE, a third SCHED_OTHER at nice 3 (Linux keeps policy and nice per thread).
 */
#include "zdtmlib.h"
#include <pthread.h>
#include <sched.h>
#include <sys/resource.h>
#include <sys/syscall.h>

struct setting {
	int policy;
	int nice;
	volatile pid_t tid;
};

static struct setting settings[3] = {{SCHED_BATCH, 7, 0}, {SCHED_IDLE, 0, 0}, {SCHED_OTHER, 3, 0}};

static int apply(struct setting *s)
{
	struct sched_param p = {0};
	s->tid = (pid_t)syscall(SYS_gettid);
	if (sched_setscheduler(0, s->policy, &p) != 0)
		return -1;
	return setpriority(PRIO_PROCESS, 0, s->nice);
}

static void *worker(void *arg)
{
	if (apply(arg) != 0)
		((struct setting *)arg)->tid = -1;
	for (;;)
		pause(); /* every signal is blocked here: ends with the process */
	return NULL;
}

int main(int argc, char **argv)
{
	test_init(argc, argv);
	SETUP(apply(&settings[0]) == 0, "main thread's scheduling");
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	pthread_t t[2];
	for (int i = 1; i < 3; i++)
		SETUP(pthread_create(&t[i - 1], NULL, worker, &settings[i]) == 0, "pthread_create");
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	for (int i = 1; i < 3; i++) {
		while (settings[i].tid == 0)
			usleep(1000);
		errno = EINVAL;
		SETUP(settings[i].tid > 0, "a thread's scheduling");
	}
	test_ready();
	test_wait();
	for (int i = 0; i < 3; i++) {
		int policy = sched_getscheduler(settings[i].tid);
		CHECK(policy == settings[i].policy, "thread %d has policy %d, not %d", settings[i].tid, policy, settings[i].policy);
		errno = 0;
		int nice = getpriority(PRIO_PROCESS, settings[i].tid);
		CHECK(errno == 0 && nice == settings[i].nice, "thread %d has nice %d, not %d", settings[i].tid, nice, settings[i].nice);
	}
	return pass();
}
