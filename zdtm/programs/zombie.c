/*
 * zombie: children that end and stay unreaped (zombies) while the parent sleeps. Each HOW makes one child:
 * "exit:N" (it calls _exit(N)) or "signal:S" (it kills itself with S), either with ":group" after it to move the
 * child to a process group of its own first; no HOW means one "exit:0". Once every child is a zombie, writes their
 * pids (in HOW order, on one line) to DIR/zombie, then its own pid to DIR/ready.
 *
 * On SIGUSR1 the parent reaps each child with waitpid(WNOHANG) and writes what it found, one word per child, to
 * DIR/check: "exited:N", "killed:S", "unreaped" (still running) or "error:ERRNO"; then "sigchld:N", the number of
 * SIGCHLD its handler has seen (one per child that ended: a restore must not send more).
 *
 * usage: zombie DIR [HOW...]
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "procstate.h"

static volatile sig_atomic_t asked;
static volatile sig_atomic_t sigchld;

static void on_usr1(int sig)
{
	(void)sig;
	asked = 1;
}

static void on_chld(int sig)
{
	(void)sig;
	sigchld++;
}

static void write_file(const char *dir, const char *name, const char *text)
{
	char path[4200], tmp[4300];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	FILE *f = fopen(tmp, "w");
	if (!f)
		exit(3);
	fputs(text, f);
	fclose(f);
	rename(tmp, path); /* whole, never half-written */
}

int main(int argc, char **argv)
{
	int n = argc > 2 ? argc - 2 : 1;
	pid_t kids[n];
	struct sigaction sa = {.sa_handler = on_usr1};
	sigaction(SIGUSR1, &sa, NULL);
	struct sigaction chld = {.sa_handler = on_chld, .sa_flags = SA_RESTART};
	sigaction(SIGCHLD, &chld, NULL);
	sigset_t usr1, old;
	sigemptyset(&usr1);
	sigaddset(&usr1, SIGUSR1);
	sigprocmask(SIG_BLOCK, &usr1, &old);

	for (int i = 0; i < n; i++) {
		const char *how = argc > 2 ? argv[i + 2] : "exit:0";
		char kind[16] = "", group[16] = "";
		int num = 0;
		if (sscanf(how, "%15[a-z]:%d:%15s", kind, &num, group) < 2
		    || (strcmp(kind, "exit") && strcmp(kind, "signal")) || (group[0] && strcmp(group, "group"))) {
			fprintf(stderr, "zombie: cannot read HOW \"%s\"\n", how);
			return 2;
		}
		pid_t c = fork();
		if (c < 0) {
			perror("fork");
			return 1;
		}
		if (c == 0) {
			if (group[0])
				setpgid(0, 0);
			if (!strcmp(kind, "signal")) {
				signal(num, SIG_DFL);
				sigprocmask(SIG_SETMASK, &old, NULL);
				kill(getpid(), num);
			}
			_exit(num);
		}
		kids[i] = c;
		/* one child at a time: each SIGCHLD is handled before the next child ends (two pending would be one) */
		while (state_of(c) != 'Z')
			usleep(1000);
		while (sigchld < i + 1)
			usleep(1000);
	}

	char text[4096];
	int len = 0;
	for (int i = 0; i < n; i++)
		len += snprintf(text + len, sizeof(text) - len, "%s%d", i ? " " : "", kids[i]);
	snprintf(text + len, sizeof(text) - len, "\n");
	write_file(argv[1], "zombie", text);
	snprintf(text, sizeof(text), "%d\n", getpid());
	write_file(argv[1], "ready", text);

	for (;;) {
		sigsuspend(&old);
		if (!asked)
			continue;
		asked = 0;
		len = 0;
		for (int i = 0; i < n; i++) {
			int status;
			pid_t r = waitpid(kids[i], &status, WNOHANG);
			const char *sep = i ? " " : "";
			if (r == kids[i] && WIFEXITED(status))
				len += snprintf(text + len, sizeof(text) - len, "%sexited:%d", sep, WEXITSTATUS(status));
			else if (r == kids[i] && WIFSIGNALED(status))
				len += snprintf(text + len, sizeof(text) - len, "%skilled:%d", sep, WTERMSIG(status));
			else if (r == 0)
				len += snprintf(text + len, sizeof(text) - len, "%sunreaped", sep);
			else
				len += snprintf(text + len, sizeof(text) - len, "%serror:%s", sep, strerrorname_np(errno));
		}
		snprintf(text + len, sizeof(text) - len, " sigchld:%d\n", (int)sigchld);
		write_file(argv[1], "check", text);
	}
}
