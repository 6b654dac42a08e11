/*
 * sigpending: blocked signals pending at dump: a standard one (SIGUSR2), a real-time one queued three times with
 * values, and one sent to the process (shared queue); each is still pending, with its siginfo, after the dump.
 */
#include "zdtmlib.h"
#include <sys/syscall.h>

int main(int argc, char **argv)
{
	test_init(argc, argv);
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGUSR2);
	sigaddset(&set, SIGRTMIN + 3);
	sigaddset(&set, SIGWINCH);
	SETUP(sigprocmask(SIG_BLOCK, &set, NULL) == 0, "sigprocmask");
	/* thread-directed: tgkill; process-directed: kill and sigqueue */
	SETUP(syscall(SYS_tgkill, getpid(), getpid(), SIGUSR2) == 0, "tgkill");
	for (int i = 1; i <= 3; i++) {
		union sigval v = {.sival_int = 100 + i};
		SETUP(sigqueue(getpid(), SIGRTMIN + 3, v) == 0, "sigqueue");
	}
	SETUP(kill(getpid(), SIGWINCH) == 0, "kill");
	test_ready();
	test_wait();
	sigset_t pending;
	sigpending(&pending);
	CHECK(sigismember(&pending, SIGUSR2) && sigismember(&pending, SIGRTMIN + 3) && sigismember(&pending, SIGWINCH),
	      "pending: SIGUSR2 %d, SIGRTMIN+3 %d, SIGWINCH %d", sigismember(&pending, SIGUSR2),
	      sigismember(&pending, SIGRTMIN + 3), sigismember(&pending, SIGWINCH));
	struct timespec now = {0, 0};
	siginfo_t si;
	/* SIGUSR2 waits in the thread's own queue, the others in the process's shared queue */
	unsigned long long own = strtoull(test_status("SigPnd:"), NULL, 16), shared = strtoull(test_status("ShdPnd:"), NULL, 16);
	CHECK(own == 1ull << (SIGUSR2 - 1), "the thread's own pending set is %llx", own);
	CHECK(shared == (1ull << (SIGWINCH - 1) | 1ull << (SIGRTMIN + 3 - 1)), "the shared pending set is %llx", shared);
	CHECK(sigtimedwait(&set, &si, &now) == SIGUSR2 && si.si_pid == getpid(), "SIGUSR2 lost or changed (pid %d)", si.si_pid);
	CHECK(sigtimedwait(&set, &si, &now) == SIGWINCH && si.si_code == SI_USER, "SIGWINCH lost");
	for (int i = 1; i <= 3; i++) {
		int s = sigtimedwait(&set, &si, &now);
		CHECK(s == SIGRTMIN + 3 && si.si_code == SI_QUEUE && si.si_value.sival_int == 100 + i,
		      "queued signal %d: got %d with value %d", i, s, si.si_value.sival_int);
	}
	CHECK(sigtimedwait(&set, &si, &now) < 0 && errno == EAGAIN, "more signals pending than were sent");
	return pass();
}
