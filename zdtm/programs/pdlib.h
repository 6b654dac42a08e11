/*
 * pdlib.h: what the pre-dump targets (pd_*.c) share. They are driven by module tests and benchmarks, not by
 * the zdtm runner, so they do not include zdtmlib.h (the runner takes every program that does for a suite test).
 */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* The directory the test gave as the first argument: the program's files go there. */
static char dir[4000];

/* Writes TEXT as DIR/NAME through a temporary renamed into place, so that a reader never sees half of it. */
static void put(const char *name, const char *text)
{
	char path[4096], tmp[4096];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	snprintf(tmp, sizeof(tmp), "%s/.%s.tmp", dir, name);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return;
	if (write(fd, text, strlen(text)) < 0)
		perror("write");
	close(fd);
	rename(tmp, path);
}

/*
 * Requests from the test: SIGUSR1 asks for a check, SIGUSR2 for the program's next step; each only sets its
 * flag. catch_requests() keeps both blocked except inside await_request(), so none comes between a look at
 * the flags and the sleep.
 */
static volatile sig_atomic_t got_usr1, got_usr2;
static sigset_t awaiting;

static void on_request(int sig)
{
	if (sig == SIGUSR1)
		got_usr1 = 1;
	else
		got_usr2 = 1;
}

static inline void catch_requests(void)
{
	struct sigaction sa = { 0 };
	sa.sa_handler = on_request;
	sigaction(SIGUSR1, &sa, NULL);
	sigaction(SIGUSR2, &sa, NULL);
	sigset_t block;
	sigemptyset(&block);
	sigaddset(&block, SIGUSR1);
	sigaddset(&block, SIGUSR2);
	sigprocmask(SIG_BLOCK, &block, &awaiting);
}

/* Sleeps until a request has come. */
static inline void await_request(void)
{
	while (!got_usr1 && !got_usr2)
		sigsuspend(&awaiting);
}
