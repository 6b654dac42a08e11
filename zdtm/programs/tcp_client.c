/*
 * tcp_client: a client for the server test, outside the dumped tree. It connects to ADDRESS:PORT (ADDRESS
 * 127.0.0.1 when not given) and
 * keeps sending numbered lines (0, 1, 2, ... one every millisecond, up to 5000 unanswered: it goes on sending
 * for seconds while its server is away), checking that the answers ("e<number>") come back in order, none missing; DIR/count holds the answers so far. It never
 * reconnects: a reset or an end of stream fails it. On SIGTERM it stops sending, waits (10 s at most) for
 * the answers still due, and writes its verdict to DIR/result: "PASS sent=S answered=A", or what went wrong.
 *
 * usage: tcp_client DIR PORT [ADDRESS]
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
#include <time.h>
#include <unistd.h>

#define IN_FLIGHT 5000

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

static long now_ms(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

int main(int argc, char **argv)
{
	if (argc < 3)
		return 2;
	dir = argv[1];
	setsid();
	struct sigaction sa = {.sa_handler = on_term};
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(atoi(argv[2])), .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	if (argc > 3 && inet_pton(AF_INET, argv[3], &a.sin_addr) != 1) {
		fprintf(stderr, "tcp_client: not an IPv4 address: %s\n", argv[3]);
		return 2;
	}
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a))) {
		perror("connect");
		return 1;
	}
	char text[256];
	snprintf(text, sizeof(text), "%d\n", getpid());
	put("ready", text);

	long sent = 0, answered = 0, longest_wait = 0, last_answer = now_ms();
	char line[64];
	size_t len = 0;
	char failure[200] = "";
	long deadline = -1;
	while (!*failure) {
		if (stop && deadline < 0)
			deadline = now_ms() + 10000;
		if (deadline >= 0 && (answered == sent || now_ms() > deadline))
			break;
		if (!stop && sent - answered < IN_FLIGHT) {
			int m = snprintf(text, sizeof(text), "%ld\n", sent);
			if (send(fd, text, m, MSG_NOSIGNAL) != m) {
				snprintf(failure, sizeof(failure), "send of line %ld: %s", sent, strerror(errno));
				break;
			}
			sent++;
		}
		struct pollfd p = {.fd = fd, .events = POLLIN};
		if (poll(&p, 1, sent - answered < IN_FLIGHT && !stop ? 1 : 50) <= 0)
			continue;
		char buf[4096];
		ssize_t r = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (r < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (r <= 0) {
			snprintf(failure, sizeof(failure), "the connection ended after %ld answers (%s)", answered,
				 r == 0 ? "end of stream" : strerror(errno));
			break;
		}
		for (ssize_t k = 0; k < r; k++) {
			if (buf[k] != '\n') {
				if (len < sizeof(line) - 1)
					line[len++] = buf[k];
				continue;
			}
			line[len] = 0;
			len = 0;
			long got = line[0] == 'e' ? strtol(line + 1, NULL, 10) : -1;
			if (got != answered) {
				snprintf(failure, sizeof(failure), "answer '%s' where e%ld was due", line, answered);
				break;
			}
			answered++;
			long t = now_ms();
			if (t - last_answer > longest_wait)
				longest_wait = t - last_answer;
			last_answer = t;
			if (answered % 20 == 0) {
				snprintf(text, sizeof(text), "%ld\n", answered);
				put("count", text);
			}
		}
	}
	if (!*failure && answered != sent)
		snprintf(failure, sizeof(failure), "%ld of %ld lines were never answered", sent - answered, sent);
	if (*failure)
		snprintf(text, sizeof(text), "FAIL: %s\n", failure);
	else
		snprintf(text, sizeof(text), "PASS sent=%ld answered=%ld longest-wait-ms=%ld\n", sent, answered, longest_wait);
	put("result", text);
	return *failure ? 1 : 0;
}
