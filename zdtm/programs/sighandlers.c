/* sighandlers: handlers with their flags and masks, an ignored signal and a default one, as set before the dump; raised, each handler runs. */
#include "zdtmlib.h"

static volatile sig_atomic_t hits[65];

static void on_sig(int sig)
{
	hits[sig]++;
}

static void on_info(int sig, siginfo_t *si, void *uc)
{
	(void)uc;
	hits[sig] += si->si_value.sival_int;
}

int main(int argc, char **argv)
{
	test_init(argc, argv);
	struct sigaction a = {.sa_handler = on_sig, .sa_flags = SA_RESTART};
	sigemptyset(&a.sa_mask);
	sigaddset(&a.sa_mask, SIGUSR2);
	sigaddset(&a.sa_mask, SIGRTMIN + 5);
	struct sigaction b = {.sa_sigaction = on_info, .sa_flags = SA_SIGINFO | SA_NODEFER};
	sigemptyset(&b.sa_mask);
	struct sigaction ign = {.sa_handler = SIG_IGN};
	SETUP(sigaction(SIGUSR1, &a, NULL) == 0 && sigaction(SIGRTMIN + 2, &b, NULL) == 0 && sigaction(SIGHUP, &ign, NULL) == 0,
	      "sigaction");
	test_ready();
	test_wait();
	struct sigaction got;
	sigaction(SIGUSR1, NULL, &got);
	CHECK(got.sa_handler == on_sig, "SIGUSR1 handler is %p, not %p", (void *)got.sa_handler, (void *)on_sig);
	CHECK((got.sa_flags & (SA_RESTART | SA_SIGINFO | SA_NODEFER)) == SA_RESTART, "SIGUSR1 flags are %#x", got.sa_flags);
	CHECK(sigismember(&got.sa_mask, SIGUSR2) && sigismember(&got.sa_mask, SIGRTMIN + 5) && !sigismember(&got.sa_mask, SIGINT),
	      "SIGUSR1's mask changed");
	sigaction(SIGRTMIN + 2, NULL, &got);
	CHECK(got.sa_sigaction == on_info && (got.sa_flags & (SA_SIGINFO | SA_NODEFER)) == (SA_SIGINFO | SA_NODEFER),
	      "SIGRTMIN+2's action changed (flags %#x)", got.sa_flags);
	sigaction(SIGHUP, NULL, &got);
	CHECK(got.sa_handler == SIG_IGN, "SIGHUP is no longer ignored");
	sigaction(SIGUSR2, NULL, &got);
	CHECK(got.sa_handler == SIG_DFL, "SIGUSR2 is no longer default");
	raise(SIGUSR1);
	union sigval v = {.sival_int = 7};
	sigqueue(getpid(), SIGRTMIN + 2, v);
	raise(SIGHUP);
	CHECK(hits[SIGUSR1] == 1 && hits[SIGRTMIN + 2] == 7, "handlers ran %d and %d times", hits[SIGUSR1], hits[SIGRTMIN + 2]);
	return pass();
}
