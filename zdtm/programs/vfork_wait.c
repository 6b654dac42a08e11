/*
 * vfork_wait: a parent that cannot stop. Writes its pid to DIR/ready, then vforks: the parent sleeps
 * uninterruptibly (in the kernel's wait for its vfork child, which PTRACE_INTERRUPT cannot end) until the
 * child exits. The child writes its pid to DIR/child and sleeps an hour in a raw nanosleep (a vfork child
 * may only make system calls). Once the child is gone the parent writes "after" to DIR/after and exits.
 *
 * usage: vfork_wait DIR
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static char path[4200], child_path[4200], text[32];

int main(int argc, char **argv)
{
	if (argc < 2)
		return 2;
	snprintf(path, sizeof(path), "%s/ready", argv[1]);
	snprintf(child_path, sizeof(child_path), "%s/child", argv[1]);
	snprintf(text, sizeof(text), "%d\n", getpid());
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0 || write(fd, text, strlen(text)) < 0)
		return 1;
	close(fd);
	pid_t child = vfork();
	if (child == 0) {
		/* only raw system calls here: the parent's stack and memory are borrowed */
		char buf[16];
		long me = syscall(SYS_getpid);
		int n = 0;
		char digits[16];
		do {
			digits[n++] = (char)('0' + me % 10);
			me /= 10;
		} while (me > 0);
		for (int i = 0; i < n; i++)
			buf[i] = digits[n - 1 - i];
		long cfd = syscall(SYS_open, child_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		syscall(SYS_write, cfd, buf, n);
		syscall(SYS_close, cfd);
		struct timespec hour = { 3600, 0 };
		syscall(SYS_nanosleep, &hour, NULL);
		syscall(SYS_exit, 0);
	}
	snprintf(path, sizeof(path), "%s/after", argv[1]);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd >= 0) {
		if (write(fd, "after\n", 6) < 0)
			perror("write");
		close(fd);
	}
	return 0;
}
