/* procstate.h: a process's state letter (R, S, Z...) as /proc/PID/stat shows it; 'X' when it is gone. */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

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
	/* the state follows the command name, which may itself hold ')' */
	char *p = strrchr(buf, ')');
	return p && p[1] ? p[2] : '?';
}
