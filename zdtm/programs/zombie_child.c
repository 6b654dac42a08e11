/* zombie_child: a child that exited with status 42 stays a zombie through the dump; waitpid then reaps it. */
// zdtm: skip host,pidns,predump: dump of a zombie child is not built yet (PTRACE_SEIZE of the zombie fails with EPERM)
#include "zdtmlib.h"

static char state_of(pid_t pid)
{
	char path[64], buf[512];
	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	int fd = open(path, O_RDONLY);
	if (fd < 0)
		return 'X';
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 'X';
	buf[n] = 0;
	char *p = strrchr(buf, ')');
	return p && p[1] ? p[2] : '?';
}

int main(int argc, char **argv)
{
	test_init(argc, argv);
	pid_t child = fork();
	SETUP(child >= 0, "fork");
	if (child == 0)
		_exit(42);
	while (state_of(child) != 'Z')
		usleep(1000);
	test_ready();
	test_wait();
	CHECK(state_of(child) == 'Z', "child %d is in state %c, not a zombie", child, state_of(child));
	int status;
	pid_t r = waitpid(child, &status, WNOHANG);
	CHECK(r == child, "waitpid(%d) returned %d (%s)", child, r, strerror(errno));
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 42, "child status is 0x%x, not exit 42", status);
	return pass();
}
