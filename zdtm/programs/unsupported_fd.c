/*
 * unsupported_fd: a pidfd, a kind of file cryo does not dump: the dump refuses, naming the pid, the fd and what
 * it is, and the tree runs on (DumpRefusalsTest).
 */
// zdtm: skip host,pidns,predump,cgroup,pageserver,lazy,remote-lazy,remote,migrate,migrate-lazy: cryo does not dump pidfds (refused: DumpRefusalsTest)
#include "zdtmlib.h"
#include <sys/syscall.h>

int main(int argc, char **argv)
{
	test_init(argc, argv);
	int fd = (int)syscall(SYS_pidfd_open, getpid(), 0);
	SETUP(fd == 3, "pidfd_open at fd 3");
	test_ready();
	test_wait();
	CHECK(fcntl(fd, F_GETFD) >= 0, "the pidfd is gone");
	return pass();
}
