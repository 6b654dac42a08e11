/*
 * tcp_server: a small TCP server for the server test. It listens on 127.0.0.1 (a port the kernel picks,
 * written to DIR/port), and serves every client it accepts in one poll(2) loop: each line a client sends
 * is a number, which must be the one after the client's last; the server answers "e<number>". A client may
 * end its stream; a connection reset fails the server. On SIGTERM
 * it writes its verdict to DIR/result: "PASS clients=C lines=L", or the first line that came out of order.
 *
 * usage: tcp_server DIR
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_CLIENTS 8

static volatile sig_atomic_t stop;
static const char *dir;

static void on_term(int sig)
{
	(void)sig;
	stop = 1;
}

static void put(const char *name, const char *text)
{
	char path[4200], tmp[4300];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	FILE *f = fopen(tmp, "w");
	if (!f)
		return;
	fputs(text, f);
	fclose(f);
	rename(tmp, path);
}

struct client {
	int fd;
	long next;
	char line[64];
	size_t len;
};

int main(int argc, char **argv)
{
	if (argc < 2)
		return 2;
	dir = argv[1];
	setsid();
	struct sigaction sa = {.sa_handler = on_term};
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t alen = sizeof(a);
	int l = socket(AF_INET, SOCK_STREAM, 0), one = 1;
	if (l < 0 || setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) || bind(l, (struct sockaddr *)&a, alen)
	    || listen(l, MAX_CLIENTS) || getsockname(l, (struct sockaddr *)&a, &alen)) {
		perror("listener");
		return 1;
	}
	char text[128];
	snprintf(text, sizeof(text), "%d\n", ntohs(a.sin_port));
	put("port", text);
	snprintf(text, sizeof(text), "%d\n", getpid());
	put("ready", text);

	struct client c[MAX_CLIENTS];
	int n = 0, accepted = 0;
	long lines = 0;
	char failure[256] = "";
	while (!stop) {
		struct pollfd p[MAX_CLIENTS + 1];
		p[0] = (struct pollfd){.fd = l, .events = POLLIN};
		for (int i = 0; i < n; i++)
			p[i + 1] = (struct pollfd){.fd = c[i].fd, .events = POLLIN};
		if (poll(p, n + 1, -1) < 0)
			continue; /* EINTR: SIGTERM */
		if ((p[0].revents & POLLIN) && n < MAX_CLIENTS) {
			int fd = accept(l, NULL, NULL);
			if (fd >= 0) {
				c[n++] = (struct client){.fd = fd, .next = 0};
				accepted++;
			}
		}
		for (int i = 0; i < n; i++) {
			if (!(p[i + 1].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			char buf[4096];
			ssize_t r = read(c[i].fd, buf, sizeof(buf));
			if (r <= 0) {
				/* a client that ends its stream is done (it checks its answers itself); a reset is a failure */
				if (r < 0 && !*failure)
					snprintf(failure, sizeof(failure), "client %d: %s after %ld lines", i, strerror(errno), c[i].next);
				close(c[i].fd);
				c[i] = c[--n];
				i--;
				continue;
			}
			for (ssize_t k = 0; k < r; k++) {
				if (buf[k] != '\n') {
					if (c[i].len < sizeof(c[i].line) - 1)
						c[i].line[c[i].len++] = buf[k];
					continue;
				}
				c[i].line[c[i].len] = 0;
				c[i].len = 0;
				long got = strtol(c[i].line, NULL, 10);
				if (got != c[i].next && !*failure)
					snprintf(failure, sizeof(failure), "client %d sent %ld after %ld", i, got, c[i].next - 1);
				c[i].next = got + 1;
				lines++;
				int m = snprintf(text, sizeof(text), "e%ld\n", got);
				if (write(c[i].fd, text, m) != m && !*failure)
					snprintf(failure, sizeof(failure), "answer to client %d: %s", i, strerror(errno));
			}
		}
	}
	if (*failure)
		snprintf(text, sizeof(text), "FAIL: %s\n", failure);
	else
		snprintf(text, sizeof(text), "PASS clients=%d lines=%ld\n", accepted, lines);
	put("result", text);
	return *failure ? 1 : 0;
}
