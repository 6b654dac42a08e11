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

#include "requests.h"

/* SIGUSR1 asks for a check, SIGUSR2 for the program's next step (requests.h). */
static inline void catch_pd_requests(void)
{
	catch_requests(SIGUSR2);
}
