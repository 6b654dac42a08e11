/*
 * personality: an execution domain with flags (ADDR_NO_RANDOMIZE, UNAME26) stays, in both threads
 * (each has its copy), and still acts: uname reports a 2.6 kernel.
 */
#include "zdtmlib.h"
#include <pthread.h>
#include <sys/personality.h>
#include <sys/utsname.h>

#define PERSONA (PER_LINUX | ADDR_NO_RANDOMIZE | UNAME26)

static volatile int thread_persona = -1;
static volatile int check_now;

static void *worker(void *arg)
{
	(void)arg;
	while (!check_now)
		pause(); /* SIGUSR1 wakes it */
	thread_persona = personality(0xffffffff);
	return NULL;
}

static void wake(int sig)
{
	(void)sig;
}

int main(int argc, char **argv)
{
	test_init(argc, argv);
	SETUP(personality(PERSONA) != -1, "personality");
	signal(SIGUSR1, wake);
	sigset_t term, old;
	sigemptyset(&term);
	sigaddset(&term, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &term, &old);
	pthread_t t;
	SETUP(pthread_create(&t, NULL, worker, NULL) == 0, "pthread_create");
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	test_ready();
	test_wait();
	int now = personality(0xffffffff);
	CHECK(now == PERSONA, "personality is 0x%x, not 0x%x", now, PERSONA);
	check_now = 1;
	pthread_kill(t, SIGUSR1);
	pthread_join(t, NULL);
	CHECK(thread_persona == PERSONA, "the second thread's personality is 0x%x, not 0x%x", thread_persona, PERSONA);
	struct utsname u;
	uname(&u);
	CHECK(strncmp(u.release, "2.6.", 4) == 0, "uname says release %s, not 2.6.x (UNAME26)", u.release);
	return pass();
}
