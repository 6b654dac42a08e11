/*
 * zombie_child: a child that exited with status 42 stays a zombie through the dump; waitpid then reaps it.
 * That it is a zombie is asked of the kernel with waitid(WNOWAIT), which does not reap and works in any pid
 * namespace; /proc is looked at too, when it is this pid namespace's (not in the pidns cycle, where the restored
 * tree sees the host's /proc, in which its pids are other processes).
 */
#include "zdtmlib.h"
#include "procstate.h"

/* Whether /proc shows this pid namespace: /proc/self names our own pid. */
static int proc_is_ours(void)
{
	char self[32];
	ssize_t n = readlink("/proc/self", self, sizeof(self) - 1);
	if (n <= 0)
		return 0;
	self[n] = 0;
	return atoi(self) == getpid();
}

/* Whether CHILD has ended and waits to be reaped, with its wait status in *STATUS; nothing is reaped. */
static int is_zombie(pid_t child, int *status)
{
	siginfo_t si = {0};
	if (waitid(P_PID, child, &si, WEXITED | WNOHANG | WNOWAIT) != 0 || si.si_pid != child)
		return 0;
	*status = si.si_code == CLD_EXITED ? si.si_status << 8 : si.si_status;
	return 1;
}

int main(int argc, char **argv)
{
	test_init(argc, argv);
	pid_t child = fork();
	SETUP(child >= 0, "fork");
	if (child == 0)
		_exit(42);
	int status = 0;
	while (!is_zombie(child, &status) || (proc_is_ours() && state_of(child) != 'Z'))
		usleep(1000);
	test_ready();
	test_wait();
	CHECK(is_zombie(child, &status), "child %d is not waiting to be reaped (waitid: %s)", child, strerror(errno));
	CHECK(status == 42 << 8, "child %d ended with status 0x%x, not exit 42 (waitid)", child, status);
	if (proc_is_ours())
		CHECK(state_of(child) == 'Z', "child %d is in state %c, not a zombie", child, state_of(child));
	pid_t r = waitpid(child, &status, WNOHANG);
	CHECK(r == child, "waitpid(%d) returned %d (%s)", child, r, strerror(errno));
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 42, "child status is 0x%x, not exit 42", status);
	return pass();
}
