/*
 * tcp_server: a small TCP server for the server test. It listens on ADDRESS (127.0.0.1 when not given; a port
 * the kernel picks, written to DIR/port), and serves every client it accepts in one epoll loop (the listener and every client
 * watched by one epoll instance, with the client's slot as the event's data): each line a client sends
 * is a number, which must be the one after the client's last; the server answers "e<number>". A client may
 * end its stream; a connection reset fails the server. On SIGTERM
 * it writes its verdict to DIR/result: "PASS clients=C lines=L", or the first line that came out of order.
 *
 * usage: tcp_server DIR [ADDRESS]
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <sys/epoll.h>
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
	if (argc > 2 && inet_pton(AF_INET, argv[2], &a.sin_addr) != 1) {
		fprintf(stderr, "tcp_server: not an IPv4 address: %s\n", argv[2]);
		return 2;
	}
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
	int ep = epoll_create1(EPOLL_CLOEXEC);
	struct epoll_event ev = {.events = EPOLLIN, .data.u32 = MAX_CLIENTS}; /* MAX_CLIENTS: the listener */
	if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, l, &ev)) {
		perror("epoll");
		return 1;
	}
	while (!stop) {
		struct epoll_event ready[MAX_CLIENTS + 1];
		int k = epoll_wait(ep, ready, MAX_CLIENTS + 1, -1);
		if (k < 0)
			continue; /* EINTR: SIGTERM */
		for (int j = 0; j < k; j++) {
			unsigned slot = ready[j].data.u32;
			if (slot == MAX_CLIENTS) {
				int fd = n < MAX_CLIENTS ? accept(l, NULL, NULL) : -1;
				if (fd >= 0) {
					ev = (struct epoll_event){.events = EPOLLIN, .data.u32 = n};
					if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) == 0) {
						c[n++] = (struct client){.fd = fd, .next = 0};
						accepted++;
					}
				}
				continue;
			}
			struct client *cl = &c[slot];
			if (cl->fd < 0)
				continue;
			char buf[4096];
			ssize_t r = read(cl->fd, buf, sizeof(buf));
			if (r <= 0) {
				/* a client that ends its stream is done (it checks its answers itself); a reset is a failure */
				if (r < 0 && errno == EAGAIN)
					continue;
				if (r < 0 && !*failure)
					snprintf(failure, sizeof(failure), "client %u: %s after %ld lines", slot, strerror(errno), cl->next);
				epoll_ctl(ep, EPOLL_CTL_DEL, cl->fd, NULL);
				close(cl->fd);
				cl->fd = -1;
				continue;
			}
			for (ssize_t b = 0; b < r; b++) {
				if (buf[b] != '\n') {
					if (cl->len < sizeof(cl->line) - 1)
						cl->line[cl->len++] = buf[b];
					continue;
				}
				cl->line[cl->len] = 0;
				cl->len = 0;
				long got = strtol(cl->line, NULL, 10);
				if (got != cl->next && !*failure)
					snprintf(failure, sizeof(failure), "client %u sent %ld after %ld", slot, got, cl->next - 1);
				cl->next = got + 1;
				lines++;
				int m = snprintf(text, sizeof(text), "e%ld\n", got);
				if (write(cl->fd, text, m) != m && !*failure)
					snprintf(failure, sizeof(failure), "answer to client %u: %s", slot, strerror(errno));
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
