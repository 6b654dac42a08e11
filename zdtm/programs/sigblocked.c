/* sigblocked: a blocked signal mask (standard and real-time signals) is the same after the dump, in the main thread. */
#include "zdtmlib.h"

int main(int argc, char **argv)
{
	test_init(argc, argv);
	sigset_t set, got;
	sigemptyset(&set);
	int sigs[] = {SIGUSR1, SIGUSR2, SIGHUP, SIGPIPE, SIGALRM, SIGCHLD, SIGRTMIN + 1, SIGRTMAX - 1};
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		sigaddset(&set, sigs[i]);
	SETUP(sigprocmask(SIG_SETMASK, &set, NULL) == 0, "sigprocmask");
	char before[64];
	snprintf(before, sizeof(before), "%s", test_status("SigBlk:"));
	test_ready();
	test_wait();
	sigprocmask(SIG_SETMASK, NULL, &got);
	for (int s = 1; s < SIGRTMAX; s++)
		if (s != SIGKILL && s != SIGSTOP && (s < 32 || s >= SIGRTMIN))
			CHECK(sigismember(&got, s) == sigismember(&set, s), "signal %d is %sblocked", s, sigismember(&got, s) ? "" : "not ");
	CHECK(strcmp(test_status("SigBlk:"), before) == 0, "SigBlk is %s, was %s", test_status("SigBlk:"), before);
	return pass();
}
