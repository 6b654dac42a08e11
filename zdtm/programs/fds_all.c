/*
 * fds_all: one of every kind of fd cryo dumps and restores, each checked on SIGUSR1 (result into
 * DIR/check: PASS or the first difference).
 *
 *   3  DIR/append.txt, O_RDWR|O_APPEND, 100 bytes, offset 37
 *   4  the same open file description as 3 (dup): shares its offset
 *   5, 6  a pipe (read, write) holding "pipe data 1234"
 *   7  eventfd with counter 42, O_NONBLOCK
 *   8  /dev/null, O_WRONLY
 *   9  DIR/sync.bin, O_RDONLY|O_SYNC... offset 3 (fd flags FD_CLOEXEC)
 * with "more": also
 *   10 DIR/fifo read end (O_RDONLY|O_NONBLOCK) holding "fifo data", 11 its write end
 *   12, 13 a SOCK_STREAM socketpair, "stream bytes" queued on 12, "back" on 13
 *   14, 15 a SOCK_DGRAM socketpair, datagrams "one" and "two" queued on 14
 *   16 DIR/gone.txt, unlinked, holding "ghost contents", offset 6
 *   17 memfd "cryo-test": "memfd contents" at 0, "tail" at 5000, offset 3, sealed against shrinking
 *   18 DIR/direct.bin, O_WRONLY|O_DIRECT|O_DSYNC, offset 4096
 *   19, 20 a SOCK_STREAM socketpair with 1 MiB buffers and 600000 patterned bytes queued on 19
 *   22 a semaphore eventfd (EFD_SEMAPHORE|EFD_NONBLOCK) holding 3
 *   23, 24 a SOCK_STREAM socketpair: 24 wrote "last words" and shut its sending side
 * with "big": also fd 1000, a second opening of DIR/append.txt at offset 11
 * with "fork": a child that shares fd 3's description (and offset) with its parent.
 * with "tty=PATH": fd 21 is the terminal PATH (O_RDWR|O_NOCTTY); the check writes "tty ok" to it
 * with "named": a unix stream socket listening at DIR/sk (backlog 1)
 * with "dense": fds 10-61 are dups of fd 8, and 62, 63 a pipe (write, read) holding "dense": every
 *   number below 64 is taken, so a restorer temporary above 63 would grow the fd table (FDSize 64 -> 128).
 *
 * usage: fds_all DIR [more] [big] [fork]
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "checklib.h"

static char dir[4096];
static int more, big, forked, dense, named;
static const char *tty;

static void die(const char *what)
{
	fprintf(stderr, "fds_all: %s: %s\n", what, strerror(errno));
	exit(1);
}

static void put(int fd, const char *s)
{
	if (write(fd, s, strlen(s)) != (ssize_t)strlen(s))
		die("write");
}

#define EXPECT(cond, ...) do { if (!(cond)) { snprintf(why, len, __VA_ARGS__); return 0; } } while (0)

static int expect_read(int fd, const char *want, char *why, size_t len, const char *what)
{
	char buf[256] = { 0 };
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	EXPECT(n == (ssize_t)strlen(want) && memcmp(buf, want, n) == 0, "%s: read %zd bytes '%s', expected '%s' (%s)",
	       what, n, n > 0 ? buf : "", want, n < 0 ? strerror(errno) : "");
	return 1;
}

static int check(char *why, size_t len)
{
	off_t off = lseek(3, 0, SEEK_CUR);
	EXPECT(off == 37, "fd 3 offset is %ld, expected 37", (long)off);
	EXPECT(fcntl(3, F_GETFL) & O_APPEND, "fd 3 lost O_APPEND");
	EXPECT((fcntl(3, F_GETFL) & O_ACCMODE) == O_RDWR, "fd 3 is not O_RDWR");
	if (lseek(4, 40, SEEK_SET) != 40 || lseek(3, 0, SEEK_CUR) != 40)
		EXPECT(0, "fds 3 and 4 do not share one offset");
	lseek(3, 37, SEEK_SET);
	EXPECT(fcntl(5, F_GETFL) & O_NONBLOCK, "pipe read end lost O_NONBLOCK");
	if (!expect_read(5, "pipe data 1234", why, len, "pipe"))
		return 0;
	put(6, "x");
	if (!expect_read(5, "x", why, len, "pipe after a write"))
		return 0;
	uint64_t v = 0;
	EXPECT(read(7, &v, 8) == 8 && v == 42, "eventfd counter is %llu, expected 42", (unsigned long long)v);
	EXPECT(read(7, &v, 8) < 0 && errno == EAGAIN, "eventfd is not O_NONBLOCK or not reset");
	EXPECT(write(8, "abc", 3) == 3, "/dev/null does not take writes");
	char link[256] = { 0 };
	readlink("/proc/self/fd/8", link, sizeof(link) - 1);
	EXPECT(strcmp(link, "/dev/null") == 0, "fd 8 is %s, not /dev/null", link);
	EXPECT(lseek(9, 0, SEEK_CUR) == 3, "fd 9 offset is not 3");
	EXPECT(fcntl(9, F_GETFL) & O_SYNC, "fd 9 lost O_SYNC");
	EXPECT(fcntl(9, F_GETFD) & FD_CLOEXEC, "fd 9 lost FD_CLOEXEC");
	EXPECT(!(fcntl(3, F_GETFD) & FD_CLOEXEC), "fd 3 got FD_CLOEXEC");
	if (more) {
		if (!expect_read(10, "fifo data", why, len, "fifo"))
			return 0;
		put(11, "y");
		if (!expect_read(10, "y", why, len, "fifo after a write"))
			return 0;
		if (!expect_read(12, "stream bytes", why, len, "stream socket 12"))
			return 0;
		if (!expect_read(13, "back", why, len, "stream socket 13"))
			return 0;
		put(13, "z");
		if (!expect_read(12, "z", why, len, "stream socket after a write"))
			return 0;
		if (!expect_read(14, "one", why, len, "datagram 1"))
			return 0;
		if (!expect_read(14, "two", why, len, "datagram 2"))
			return 0;
		int type = 0;
		socklen_t tl = sizeof(type);
		getsockopt(14, SOL_SOCKET, SO_TYPE, &type, &tl);
		EXPECT(type == SOCK_DGRAM, "fd 14 is socket type %d, not SOCK_DGRAM", type);
		EXPECT(lseek(16, 0, SEEK_CUR) == 6, "unlinked file offset is not 6");
		if (!expect_read(16, "contents", why, len, "unlinked file"))
			return 0;
		readlink("/proc/self/fd/16", link, sizeof(link) - 1);
		EXPECT(strstr(link, "(deleted)"), "fd 16 is %s, not a deleted file", link);
		EXPECT(lseek(17, 0, SEEK_CUR) == 3, "memfd offset is not 3");
		char head[12] = { 0 };
		EXPECT(read(17, head, 11) == 11 && strcmp(head, "fd contents") == 0, "memfd holds '%s' at 3", head);
		char tail[5] = { 0 };
		EXPECT(pread(17, tail, 4, 5000) == 4 && strcmp(tail, "tail") == 0, "memfd holds '%s' at 5000", tail);
		EXPECT(fcntl(17, F_GET_SEALS) == F_SEAL_SHRINK, "memfd seals are %d", fcntl(17, F_GET_SEALS));
		memset(link, 0, sizeof(link));
		readlink("/proc/self/fd/17", link, sizeof(link) - 1);
		EXPECT(strncmp(link, "/memfd:cryo-test", 16) == 0, "fd 17 is %s", link);
		static unsigned char big_in[600000];
		size_t got = 0;
		fcntl(19, F_SETFL, O_NONBLOCK);
		while (got < sizeof(big_in)) {
			ssize_t n = read(19, big_in + got, sizeof(big_in) - got);
			if (n <= 0)
				break;
			got += n;
		}
		EXPECT(got == sizeof(big_in), "socket 19 held %zu bytes, expected %zu", got, sizeof(big_in));
		for (int i = 0; i < (int)sizeof(big_in); i++)
			EXPECT(big_in[i] == (unsigned char)(i * 7 + i / 4096), "socket 19 byte %d differs", i);
		if (!expect_read(23, "last words", why, len, "socket 23"))
			return 0;
		char eof;
		EXPECT(read(23, &eof, 1) == 0, "socket 23 is not at end of file after its peer shut its sending side");
		uint64_t one = 0;
		EXPECT(read(22, &one, 8) == 8 && one == 1, "semaphore eventfd read gave %llu, expected 1", (unsigned long long)one);
		int fl = fcntl(18, F_GETFL);
		EXPECT((fl & O_DIRECT) && (fl & O_DSYNC) && (fl & O_ACCMODE) == O_WRONLY, "fd 18 flags are 0%o", fl);
		EXPECT(lseek(18, 0, SEEK_CUR) == 4096, "fd 18 offset is not 4096");
	}
	if (dense) {
		if (!expect_read(63, "dense", why, len, "pipe at 63"))
			return 0;
	}
	if (tty) {
		EXPECT(isatty(21), "fd 21 is not a terminal");
		EXPECT(write(21, "tty ok\n", 7) == 7, "cannot write to the terminal at fd 21");
	}
	if (big) {
		EXPECT(lseek(1000, 0, SEEK_CUR) == 11, "fd 1000 offset is not 11");
	}
	return 1;
}

int main(int argc, char **argv)
{
	if (argc < 2)
		return 2;
	snprintf(dir, sizeof(dir), "%s", argv[1]);
	for (int i = 2; i < argc; i++) {
		more |= strcmp(argv[i], "more") == 0;
		big |= strcmp(argv[i], "big") == 0;
		forked |= strcmp(argv[i], "fork") == 0;
		dense |= strcmp(argv[i], "dense") == 0;
		named |= strcmp(argv[i], "named") == 0;
		if (strncmp(argv[i], "tty=", 4) == 0)
			tty = argv[i] + 4;
	}
	char path[4200];
	for (int fd = 3; fd < 64; fd++)
		close(fd);

	snprintf(path, sizeof(path), "%s/append.txt", dir);
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_APPEND, 0644);
	if (fd != 3)
		die("open append.txt at 3");
	for (int i = 0; i < 10; i++)
		put(3, "0123456789");
	lseek(3, 37, SEEK_SET);
	if (dup(3) != 4)
		die("dup to 4");
	int p[2];
	if (pipe2(p, O_NONBLOCK) || p[0] != 5)
		die("pipe at 5");
	put(6, "pipe data 1234");
	if (eventfd(42, EFD_NONBLOCK) != 7)
		die("eventfd at 7");
	if (open("/dev/null", O_WRONLY) != 8)
		die("/dev/null at 8");
	snprintf(path, sizeof(path), "%s/sync.bin", dir);
	int s = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
	put(s, "0123456789");
	close(s);
	if (open(path, O_RDONLY | O_SYNC | O_CLOEXEC) != 9)
		die("sync.bin at 9");
	lseek(9, 3, SEEK_SET);
	if (more) {
		snprintf(path, sizeof(path), "%s/fifo", dir);
		unlink(path);
		if (mkfifo(path, 0600))
			die("mkfifo");
		if (open(path, O_RDONLY | O_NONBLOCK) != 10 || open(path, O_WRONLY) != 11)
			die("fifo at 10, 11");
		put(11, "fifo data");
		int sp[2];
		if (socketpair(AF_UNIX, SOCK_STREAM, 0, sp) || sp[0] != 12)
			die("stream socketpair at 12");
		put(13, "stream bytes");
		put(12, "back");
		if (socketpair(AF_UNIX, SOCK_DGRAM, 0, sp) || sp[0] != 14)
			die("dgram socketpair at 14");
		put(15, "one");
		put(15, "two");
		snprintf(path, sizeof(path), "%s/gone.txt", dir);
		if (open(path, O_RDWR | O_CREAT | O_TRUNC, 0640) != 16)
			die("gone.txt at 16");
		put(16, "ghost contents");
		lseek(16, 6, SEEK_SET);
		unlink(path);
		if (memfd_create("cryo-test", MFD_ALLOW_SEALING) != 17)
			die("memfd at 17");
		put(17, "memfd contents");
		if (pwrite(17, "tail", 4, 5000) != 4)
			die("pwrite memfd");
		lseek(17, 3, SEEK_SET);
		if (fcntl(17, F_ADD_SEALS, F_SEAL_SHRINK))
			die("seal memfd");
		snprintf(path, sizeof(path), "%s/direct.bin", dir);
		if (open(path, O_WRONLY | O_CREAT | O_DIRECT | O_DSYNC, 0644) != 18)
			die("direct.bin at 18");
		lseek(18, 4096, SEEK_SET);
		int bp[2];
		if (socketpair(AF_UNIX, SOCK_STREAM, 0, bp) || bp[0] != 19)
			die("big socketpair at 19");
		int mib = 1 << 20;
		setsockopt(19, SOL_SOCKET, SO_RCVBUF, &mib, sizeof(mib));
		setsockopt(20, SOL_SOCKET, SO_SNDBUF, &mib, sizeof(mib));
		setsockopt(20, SOL_SOCKET, SO_RCVBUF, &mib, sizeof(mib));
		setsockopt(19, SOL_SOCKET, SO_SNDBUF, &mib, sizeof(mib));
		static unsigned char big_out[600000];
		for (int i = 0; i < (int)sizeof(big_out); i++)
			big_out[i] = (unsigned char)(i * 7 + i / 4096);
		if (fcntl(20, F_SETFL, O_NONBLOCK) || write(20, big_out, sizeof(big_out)) != sizeof(big_out))
			die("queue 600000 bytes on 19");
		int lw[2];
		if (socketpair(AF_UNIX, SOCK_STREAM, 0, lw) || dup2(lw[0], 23) != 23 || dup2(lw[1], 24) != 24)
			die("socketpair at 23, 24");
		close(lw[0]);
		close(lw[1]);
		put(24, "last words");
		shutdown(24, SHUT_WR);
		int sem = eventfd(3, EFD_SEMAPHORE | EFD_NONBLOCK);
		if (sem < 0 || dup2(sem, 22) != 22)
			die("semaphore eventfd at 22");
		close(sem);
	}
	if (tty) {
		int t = open(tty, O_RDWR | O_NOCTTY);
		if (t < 0 || dup2(t, 21) != 21)
			die("terminal at 21");
		close(t);
	}
	if (named) {
		struct sockaddr_un sun = { .sun_family = AF_UNIX };
		snprintf(sun.sun_path, sizeof(sun.sun_path), "%.100s/sk", dir);
		int l = socket(AF_UNIX, SOCK_STREAM, 0);
		if (l < 0 || bind(l, (struct sockaddr *)&sun, sizeof(sun)) || listen(l, 1))
			die("listening socket");
	}
	if (dense) {
		int dp[2];
		if (pipe(dp))
			die("pipe");
		if (dup2(dp[1], 62) != 62 || dup2(dp[0], 63) != 63)
			die("dup2 pipe to 62, 63");
		close(dp[0]);
		close(dp[1]);
		put(62, "dense");
		for (int n = 10; n <= 60; n++)
			if (dup2(8, n) != n)
				die("dup2 /dev/null");
		/* the ready file's content is written while 61 is still free: once full, any open grows the table */
		snprintf(path, sizeof(path), "%s/ready.tmp", dir);
		FILE *r = fopen(path, "w");
		fprintf(r, "%d\n", getpid());
		fclose(r);
		if (dup2(8, 61) != 61)
			die("dup2 /dev/null to 61");
	}
	if (big) {
		snprintf(path, sizeof(path), "%s/append.txt", dir);
		int b = open(path, O_RDONLY);
		if (dup2(b, 1000) != 1000)
			die("dup2 to 1000");
		close(b);
		lseek(1000, 11, SEEK_SET);
	}
	pid_t child = 0;
	if (forked) {
		child = fork();
		if (child == 0) {
			for (;;)
				pause();
		}
	}

	catch_checks();
	snprintf(path, sizeof(path), "%s/ready.tmp", dir);
	FILE *f;
	if (!dense) {
		f = fopen(path, "w");
		fprintf(f, "%d\n", getpid());
		fclose(f);
	}
	char ready[4200];
	snprintf(ready, sizeof(ready), "%s/ready", dir);
	rename(path, ready);

	serve_checks(dir, check);
	if (child > 0)
		kill(child, SIGKILL);
	return 0;
}
