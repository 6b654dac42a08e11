/*
 * signalfd: a non-blocking signalfd for SIGUSR2 and SIGRTMIN+1, with both blocked and pending (the real-time
 * one queued twice with values), comes back with its mask and flags and reads the same signals, values and all,
 * in order; a second signalfd for SIGUSR1 only reads nothing.
 */
#include "zdtmlib.h"
#include <sys/signalfd.h>

int main(int argc, char **argv)
{
	test_init(argc, argv);
	sigset_t mask, usr1;
	sigemptyset(&mask);
	sigaddset(&mask, SIGUSR2);
	sigaddset(&mask, SIGRTMIN + 1);
	sigemptyset(&usr1);
	sigaddset(&usr1, SIGUSR1);
	SETUP(sigprocmask(SIG_BLOCK, &mask, NULL) == 0 && sigprocmask(SIG_BLOCK, &usr1, NULL) == 0, "sigprocmask");
	int fd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC), other = signalfd(-1, &usr1, SFD_NONBLOCK);
	SETUP(fd >= 0 && other >= 0, "signalfd");
	SETUP(kill(getpid(), SIGUSR2) == 0, "kill");
	SETUP(sigqueue(getpid(), SIGRTMIN + 1, (union sigval){.sival_int = 41}) == 0
	      && sigqueue(getpid(), SIGRTMIN + 1, (union sigval){.sival_int = 42}) == 0, "sigqueue");
	test_ready();
	test_wait();
	CHECK(fcntl(fd, F_GETFL) & O_NONBLOCK, "O_NONBLOCK lost");
	struct signalfd_siginfo si;
	CHECK(read(other, &si, sizeof(si)) < 0 && errno == EAGAIN, "the SIGUSR1 signalfd reads a signal");
	CHECK(read(fd, &si, sizeof(si)) == sizeof(si) && si.ssi_signo == SIGUSR2, "first read: signal %d, not SIGUSR2", si.ssi_signo);
	CHECK(read(fd, &si, sizeof(si)) == sizeof(si) && si.ssi_signo == (uint32_t)SIGRTMIN + 1 && si.ssi_int == 41,
	      "second read: signal %d value %d", si.ssi_signo, si.ssi_int);
	CHECK(read(fd, &si, sizeof(si)) == sizeof(si) && si.ssi_signo == (uint32_t)SIGRTMIN + 1 && si.ssi_int == 42,
	      "third read: signal %d value %d", si.ssi_signo, si.ssi_int);
	CHECK(read(fd, &si, sizeof(si)) < 0 && errno == EAGAIN, "a fourth signal");
	/* the mask is the signalfd's own: SIGUSR1 sent now is not read through it */
	CHECK(kill(getpid(), SIGUSR1) == 0 && read(fd, &si, sizeof(si)) < 0 && errno == EAGAIN, "SIGUSR1 read through the SIGUSR2 signalfd");
	CHECK(read(other, &si, sizeof(si)) == sizeof(si) && si.ssi_signo == SIGUSR1, "the SIGUSR1 signalfd misses SIGUSR1");
	return pass();
}
