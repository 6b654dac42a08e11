/*
 * sklib.h: what the socket programs share. Loopback listeners and connections, reads and writes bounded in
 * time (10 s: a restored peer's retransmission may take a few), unix socket addresses, and a helper process
 * outside the tree: a peer for a connection that reaches out of it.
 */
#ifndef SKLIB_H
#define SKLIB_H

#include "zdtmlib.h"
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stddef.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>

#define SK_TIMEOUT_MS 10000

/* Waits (SK_TIMEOUT_MS at most) until FD has something to read; returns 1 if it has. */
static __attribute__((unused)) int sk_readable(int fd, int ms)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};
	int n;
	do
		n = poll(&p, 1, ms);
	while (n < 0 && errno == EINTR);
	return n == 1;
}

/* Reads exactly N bytes (SK_TIMEOUT_MS in all); returns how many came (less: timeout, end, error). */
static __attribute__((unused)) ssize_t sk_read_exact(int fd, void *buf, size_t n)
{
	size_t got = 0;
	while (got < n) {
		if (!sk_readable(fd, SK_TIMEOUT_MS))
			break;
		ssize_t r = recv(fd, (char *)buf + got, n - got, MSG_DONTWAIT);
		if (r < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (r <= 0)
			break;
		got += r;
	}
	return got;
}

/* Whether FD reads TEXT next (exactly, within the timeout). */
static __attribute__((unused)) int sk_expect(int fd, const char *text)
{
	char buf[4096];
	size_t n = strlen(text);
	if (n > sizeof(buf))
		return 0;
	return sk_read_exact(fd, buf, n) == (ssize_t)n && memcmp(buf, text, n) == 0;
}

static __attribute__((unused)) int sk_send(int fd, const char *text)
{
	size_t n = strlen(text), done = 0;
	while (done < n) {
		ssize_t w = send(fd, text + done, n - done, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return 0;
		done += w;
	}
	return 1;
}

/* A loopback address (127.0.0.1 or ::1) of FAMILY with PORT, in SS; returns its length. */
static __attribute__((unused)) socklen_t sk_loopback(int family, int port, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (family == AF_INET6) {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)ss;
		a->sin6_family = AF_INET6;
		a->sin6_port = htons(port);
		a->sin6_addr = in6addr_loopback;
		return sizeof(*a);
	}
	struct sockaddr_in *a = (struct sockaddr_in *)ss;
	a->sin_family = AF_INET;
	a->sin_port = htons(port);
	a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	return sizeof(*a);
}

static __attribute__((unused)) int sk_port(int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0)
		return -1;
	return ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port : ((struct sockaddr_in *)&ss)->sin_port);
}

/* A TCP listener on loopback, a port the kernel picks; -1 on failure. */
static __attribute__((unused)) int sk_tcp_listener(int family, int backlog)
{
	struct sockaddr_storage ss;
	socklen_t len = sk_loopback(family, 0, &ss);
	int fd = socket(family, SOCK_STREAM, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&ss, len) < 0 || listen(fd, backlog) < 0)
		return -1;
	return fd;
}

static __attribute__((unused)) int sk_tcp_connect(int family, int port)
{
	struct sockaddr_storage ss;
	socklen_t len = sk_loopback(family, port, &ss);
	int fd = socket(family, SOCK_STREAM, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&ss, len) < 0)
		return -1;
	return fd;
}

/* A sockaddr_un for PATH (or, starting with '@', the abstract name after it); returns its length. */
static __attribute__((unused)) socklen_t sk_unix_addr(struct sockaddr_un *a, const char *name)
{
	memset(a, 0, sizeof(*a));
	a->sun_family = AF_UNIX;
	size_t n = strlen(name);
	if (n >= sizeof(a->sun_path))
		n = sizeof(a->sun_path) - 1;
	memcpy(a->sun_path, name, n);
	if (name[0] == '@')
		a->sun_path[0] = 0;
	return offsetof(struct sockaddr_un, sun_path) + n + (name[0] == '@' ? 0 : 1);
}

/* Waits (SK_TIMEOUT_MS at most) until DIR/NAME exists; returns its first number, or -1. */
static __attribute__((unused)) long sk_await_file(const char *name)
{
	for (int i = 0; i < SK_TIMEOUT_MS / 5; i++) {
		FILE *f = fopen(test_path(name), "re");
		if (f) {
			long v = -1;
			int ok = fscanf(f, "%ld", &v);
			fclose(f);
			if (ok == 1)
				return v;
		}
		usleep(5000);
	}
	return -1;
}

/*
 * Starts FN(ARG) in a process outside the tree: a child forks it and exits, so that it is an orphan of the
 * reaper above (the nanny), in a session of its own (a restored root's setsid finds no group of its pid).
 * Returns its pid, which it also writes to DIR/NAME, or -1.
 */
static __attribute__((unused)) pid_t sk_outside(const char *name, void (*fn)(void *), void *arg)
{
	int pipefd[2];
	if (pipe(pipefd) < 0)
		return -1;
	pid_t child = fork();
	if (child < 0)
		return -1;
	if (child == 0) {
		pid_t helper = fork();
		if (helper == 0) {
			/* nothing of the tree's: a socket the helper held too would outlive the tree's end */
			for (int fd = 3; fd < 1024; fd++)
				if (fd != pipefd[1])
					close(fd);
			setsid();
			pid_t me = getpid();
			if (write(pipefd[1], &me, sizeof(me)) != sizeof(me))
				_exit(1);
			close(pipefd[1]);
			fn(arg);
			_exit(0);
		}
		_exit(helper < 0);
	}
	close(pipefd[1]);
	pid_t helper = -1;
	if (read(pipefd[0], &helper, sizeof(helper)) != sizeof(helper))
		helper = -1;
	close(pipefd[0]);
	waitpid(child, NULL, 0);
	if (helper > 0) {
		char text[32];
		snprintf(text, sizeof(text), "%d\n", helper);
		test_write_file(name, text);
	}
	return helper;
}

#endif
