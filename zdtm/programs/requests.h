/*
 * requests.h: requests a test sends a program by signal, for the programs the module tests drive (pdlib.h,
 * checklib.h). SIGUSR1 asks for a check; the other request is SIGUSR2 (the pre-dump targets' next step) or
 * SIGTERM (the end). Each handler only sets its flag.
 *
 * catch_requests() keeps both signals blocked in every thread made after it, and await_request() unblocks
 * them only inside sigsuspend: a request goes to the thread that waits for it (an unblocked thread that only
 * ticks would take it and leave the waiter asleep), and one sent before a restored task has re-entered its
 * sleep, or while it looks at its flags, stays pending for the sleep instead of being handled first and then
 * waited for again.
 */
#include <signal.h>

static volatile sig_atomic_t got_usr1, got_usr2, got_term;
static int other_request;

static void on_request(int sig)
{
	if (sig == SIGUSR1)
		got_usr1 = 1;
	else if (sig == SIGUSR2)
		got_usr2 = 1;
	else
		got_term = 1;
}

/* Catches SIGUSR1 and OTHER, both blocked from now on; call it before making any thread (threads inherit the mask). */
static inline void catch_requests(int other)
{
	other_request = other;
	struct sigaction sa = { 0 };
	sa.sa_handler = on_request;
	sigaction(SIGUSR1, &sa, NULL);
	sigaction(other, &sa, NULL);
	sigset_t block;
	sigemptyset(&block);
	sigaddset(&block, SIGUSR1);
	sigaddset(&block, other);
	sigprocmask(SIG_BLOCK, &block, NULL);
}

/* Sleeps until a request has come, with the signals blocked now (other than the two requests) still blocked. */
static inline void await_request(void)
{
	sigset_t sleeping;
	sigprocmask(SIG_BLOCK, NULL, &sleeping);
	sigdelset(&sleeping, SIGUSR1);
	sigdelset(&sleeping, other_request);
	while (!got_usr1 && !got_usr2 && !got_term)
		sigsuspend(&sleeping);
}
