/*
 * fd_owner: status flags and SIGIO owners of open files come back: a pipe's read end O_NONBLOCK|O_ASYNC owned by
 * this process with F_SETSIG SIGUSR2, its write end O_NONBLOCK only, a socketpair end O_ASYNC owned by the main
 * thread (F_OWNER_TID) with SIGIO, and a regular file O_APPEND|O_NONBLOCK. After restore, each fd shows the same
 * flags, owner and signal, and data written into the pipe and the socket raises the owner's signal again.
 */
#include "zdtmlib.h"
#include <sys/socket.h>
#include <sys/syscall.h>

static int flags_of(int fd)
{
	return fcntl(fd, F_GETFL) & (O_NONBLOCK | O_ASYNC | O_APPEND);
}

int main(int argc, char **argv)
{
	test_init(argc, argv);
	sigset_t io;
	sigemptyset(&io);
	sigaddset(&io, SIGUSR2);
	sigaddset(&io, SIGIO);
	sigprocmask(SIG_BLOCK, &io, NULL); /* taken with sigtimedwait at check time */
	int p[2], s[2];
	SETUP(pipe(p) == 0 && socketpair(AF_UNIX, SOCK_STREAM, 0, s) == 0, "pipe, socketpair");
	int f = open(test_path("appended"), O_WRONLY | O_CREAT | O_APPEND | O_NONBLOCK, 0600);
	SETUP(f >= 0, "open");
	pid_t tid = (pid_t)syscall(SYS_gettid);
	struct f_owner_ex proc = {.type = F_OWNER_PID, .pid = getpid()}, thread = {.type = F_OWNER_TID, .pid = tid};
	SETUP(fcntl(p[0], F_SETOWN_EX, &proc) == 0 && fcntl(p[0], F_SETSIG, SIGUSR2) == 0, "pipe owner");
	SETUP(fcntl(p[0], F_SETFL, O_NONBLOCK | O_ASYNC) == 0 && fcntl(p[1], F_SETFL, O_NONBLOCK) == 0, "pipe flags");
	SETUP(fcntl(s[0], F_SETOWN_EX, &thread) == 0 && fcntl(s[0], F_SETFL, O_ASYNC) == 0, "socket owner");
	test_ready();
	test_wait();
	CHECK(flags_of(p[0]) == (O_NONBLOCK | O_ASYNC), "pipe read end flags 0%o", flags_of(p[0]));
	CHECK(flags_of(p[1]) == O_NONBLOCK, "pipe write end flags 0%o", flags_of(p[1]));
	CHECK(flags_of(s[0]) == O_ASYNC, "socket flags 0%o", flags_of(s[0]));
	CHECK(flags_of(s[1]) == 0, "the socket's peer flags 0%o", flags_of(s[1]));
	CHECK(flags_of(f) == (O_APPEND | O_NONBLOCK), "file flags 0%o", flags_of(f));
	struct f_owner_ex got;
	CHECK(fcntl(p[0], F_GETOWN_EX, &got) == 0 && got.type == F_OWNER_PID && got.pid == getpid(),
	      "pipe owner is type %d pid %d", got.type, got.pid);
	CHECK(fcntl(p[0], F_GETSIG) == SIGUSR2, "pipe signal is %d, not SIGUSR2", fcntl(p[0], F_GETSIG));
	CHECK(fcntl(s[0], F_GETOWN_EX, &got) == 0 && got.type == F_OWNER_TID && got.pid == tid,
	      "socket owner is type %d pid %d, not thread %d", got.type, got.pid, tid);
	CHECK(fcntl(s[0], F_GETSIG) == 0, "socket signal is %d, not 0 (SIGIO)", fcntl(s[0], F_GETSIG));
	CHECK(fcntl(p[1], F_GETOWN) == 0, "the pipe's write end has an owner");
	struct timespec wait = {.tv_sec = 5};
	siginfo_t si;
	CHECK(write(p[1], "x", 1) == 1, "write to the pipe");
	CHECK(sigtimedwait(&io, &si, &wait) == SIGUSR2 && si.si_fd == p[0], "no SIGUSR2 for fd %d after data came into the pipe", p[0]);
	CHECK(write(s[1], "y", 1) == 1, "write to the socket");
	CHECK(sigtimedwait(&io, &si, &wait) == SIGIO, "no SIGIO after data came into the socket");
	return pass();
}
