/*
 * sk_refused: sockets a dump refuses, for the refusal tests. What it holds, by argv[2]:
 *
 *   netlink        a NETLINK_ROUTE socket
 *   packet         an AF_PACKET socket
 *   tcp-netlink    an established TCP connection over 127.0.0.1, both ends, "queued" waiting at the server
 *                  end, then (at a higher fd) a netlink socket: a dump with --tcp-established gets as far as
 *                  putting the connection into repair mode and locking it before it refuses the netlink socket
 *   unix-to PATH   a unix stream socket connected to PATH, a listener outside the tree
 *
 * Writes its pid to DIR/ready and the refused socket's fd to DIR/fd; answers SIGUSR1 with its check in
 * DIR/check (tcp-netlink: the connection still carries data both ways, the queued bytes first); ends on SIGTERM.
 *
 * usage: sk_refused DIR netlink|packet|tcp-netlink|unix-to PATH
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_ether.h>
#include <linux/netlink.h>
#include <netinet/in.h>
#include <poll.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "checklib.h"

static int client = -1, server = -1;

static void put(const char *dir, const char *name, int value)
{
	char path[4200], tmp[4300];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	FILE *f = fopen(tmp, "w");
	if (!f)
		return;
	fprintf(f, "%d\n", value);
	fclose(f);
	rename(tmp, path);
}

static int sk_send(int fd, const char *text)
{
	return send(fd, text, strlen(text), MSG_NOSIGNAL) == (ssize_t)strlen(text);
}

/* Whether FD reads TEXT next, within 10 s. */
static int sk_expect(int fd, const char *text)
{
	char buf[64];
	size_t n = strlen(text), got = 0;
	struct pollfd p = {.fd = fd, .events = POLLIN};
	while (got < n && poll(&p, 1, 10000) == 1) {
		ssize_t r = recv(fd, buf + got, n - got, MSG_DONTWAIT);
		if (r <= 0)
			return 0;
		got += r;
	}
	return got == n && memcmp(buf, text, n) == 0;
}

static int check(char *why, size_t len)
{
	if (client < 0)
		return 1;
	if (!sk_expect(server, "queued")) {
		snprintf(why, len, "the queued bytes are gone");
		return 0;
	}
	if (!sk_send(client, "ping") || !sk_expect(server, "ping") || !sk_send(server, "pong") || !sk_expect(client, "pong")) {
		snprintf(why, len, "the connection carries no data");
		return 0;
	}
	return 1;
}

int main(int argc, char **argv)
{
	if (argc < 3)
		return 2;
	setsid();
	catch_checks();
	const char *kind = argv[2];
	int fd = -1;
	if (strcmp(kind, "tcp-netlink") == 0) {
		struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
		socklen_t alen = sizeof(a);
		int l = socket(AF_INET, SOCK_STREAM, 0);
		if (l < 0 || bind(l, (struct sockaddr *)&a, alen) || listen(l, 1) || getsockname(l, (struct sockaddr *)&a, &alen))
			return 1;
		client = socket(AF_INET, SOCK_STREAM, 0);
		if (client < 0 || connect(client, (struct sockaddr *)&a, alen))
			return 1;
		server = accept(l, NULL, NULL);
		if (server < 0 || !sk_send(client, "queued"))
			return 1;
		close(l);
	}
	if (strcmp(kind, "packet") == 0) {
		fd = socket(AF_PACKET, SOCK_RAW, 0);
	} else if (strcmp(kind, "unix-to") == 0 && argc > 3) {
		struct sockaddr_un a = {.sun_family = AF_UNIX};
		snprintf(a.sun_path, sizeof(a.sun_path), "%s", argv[3]);
		fd = socket(AF_UNIX, SOCK_STREAM, 0);
		if (fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0)
			fd = -1;
	} else {
		fd = socket(AF_NETLINK, SOCK_RAW, NETLINK_ROUTE);
	}
	if (fd < 0) {
		perror(kind);
		return 1;
	}
	put(argv[1], "fd", fd);
	put(argv[1], "ready", getpid());
	serve_checks(argv[1], check);
	return 0;
}
