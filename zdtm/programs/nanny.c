/*
 * nanny: runs a test program as its child and reaps every descendant that is orphaned to it.
 *
 * Test targets must not be the JVM's own children (the JVM's process reaper would steal their ptrace
 * stops), and PID 1 on this machine does not reap orphans, so this small subreaper sits between them.
 * It exits, with the target's status, once the target and all orphans below it are gone.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: nanny PROGRAM [ARGS...]\n");
		return 2;
	}
	if (prctl(PR_SET_CHILD_SUBREAPER, 1) < 0) {
		perror("nanny: PR_SET_CHILD_SUBREAPER");
		return 2;
	}
	pid_t target = fork();
	if (target < 0) {
		perror("nanny: fork");
		return 2;
	}
	if (target == 0) {
		execv(argv[1], argv + 1);
		perror("nanny: execv");
		_exit(127);
	}
	int result = 0;
	for (;;) {
		int status;
		pid_t pid = waitpid(-1, &status, __WALL);
		if (pid < 0) {
			if (errno == EINTR)
				continue;
			break; /* ECHILD: nothing left to reap */
		}
		if (pid == target)
			result = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	}
	return result;
}
