/*
 * sleeping: a process asleep in nanosleep for an hour. Only SIGTERM may end the sleep: its handler gives the
 * verdict and exits there, so that a SIGTERM that comes before the restored task is back in its (restarted)
 * nanosleep is not lost; if nanosleep ever returns, something else woke it, and that fails the test.
 */
#include "zdtmlib.h"

static struct timespec started;

static void on_term(int sig)
{
	(void)sig;
	/* the only other code is the nanosleep this interrupts: stdio is free to use */
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	if (now.tv_sec - started.tv_sec >= 3600)
		_exit(fail("slept %ld s: nanosleep(3600 s) ended and slept again", (long)(now.tv_sec - started.tv_sec)));
	_exit(pass());
}

int main(int argc, char **argv)
{
	test_init(argc, argv);
	struct sigaction sa = {.sa_handler = on_term};
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	clock_gettime(CLOCK_MONOTONIC, &started);
	test_ready();
	struct timespec want = {3600, 0}, left = {0, 0};
	int r = nanosleep(&want, &left);
	return fail("nanosleep returned %d (%s) with %ld s left, before SIGTERM", r, r ? strerror(errno) : "no error",
		    (long)left.tv_sec);
}
