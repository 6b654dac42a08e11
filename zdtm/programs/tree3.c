/*
 * tree3: a process tree three levels deep (root -> child -> grandchild); each keeps its pid and its parent.
 * SIGTERM travels down; each level checks itself and reports up through its exit status.
 */
#include "zdtmlib.h"

/* Runs level LEVEL (0 = root) of the tree; returns 0 when it and every level below it passed. */
static int level(int n, pid_t parent, char *why, size_t len)
{
	pid_t me = getpid();
	pid_t child = 0;
	int pipefd[2];
	if (n < 2) {
		if (pipe(pipefd) < 0)
			return snprintf(why, len, "pipe: %s", strerror(errno)), 1;
		child = fork();
		if (child < 0)
			return snprintf(why, len, "fork: %s", strerror(errno)), 1;
		if (child == 0) {
			close(pipefd[0]);
			char sub[512] = "";
			int bad = level(n + 1, me, sub, sizeof(sub));
			if (bad && write(pipefd[1], sub, strlen(sub)) < 0)
				bad = 2;
			_exit(bad);
		}
		close(pipefd[1]);
		/* wait until the level below is set up */
		char below[32];
		snprintf(below, sizeof(below), "ready-%d", n + 1);
		while (access(test_path(below), F_OK) != 0)
			usleep(1000);
	}
	if (n == 0) {
		test_ready();
	} else {
		char name[32];
		snprintf(name, sizeof(name), "ready-%d", n);
		test_write_file(name, "up\n");
	}
	test_wait();
	if (getpid() != me)
		return snprintf(why, len, "level %d: pid %d became %d", n, me, getpid()), 1;
	if (n > 0 && getppid() != parent)
		return snprintf(why, len, "level %d: parent %d became %d", n, parent, getppid()), 1;
	if (child) {
		kill(child, SIGTERM);
		int status;
		if (waitpid(child, &status, 0) != child)
			return snprintf(why, len, "level %d: waitpid(%d): %s", n, child, strerror(errno)), 1;
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
			ssize_t r = read(pipefd[0], why, len - 1);
			why[r > 0 ? r : 0] = 0;
			if (!*why)
				snprintf(why, len, "level %d: child %d ended with status 0x%x", n + 1, child, status);
			return 1;
		}
	}
	return 0;
}

int main(int argc, char **argv)
{
	char why[512] = "";
	test_init(argc, argv);
	if (level(0, getppid(), why, sizeof(why)))
		return fail("%s", why);
	return pass();
}
