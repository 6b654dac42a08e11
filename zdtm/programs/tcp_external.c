/*
 * tcp_external: a TCP connection to a peer outside the tree. A helper outside it listens on 127.0.0.1 and
 * echoes every line it reads back with "echo: " in front; the program connects, and the helper has sent a
 * greeting the program has not read yet. Dumped with --tcp-established (the peer is locked out meanwhile),
 * restored connected: the greeting is there, and lines go both ways over the same connection.
 */
// zdtm: dump-opts --tcp-established
// zdtm: restore-opts --tcp-established
// zdtm: skip pidns: restored beside its running original in one network namespace, the connection's addresses and ports are the original's
// zdtm: skip migrate: on one machine the frozen original still holds the connection's addresses and ports, in the tree's network namespace, until its copy runs
#include "sklib.h"

static void echo_outside(void *arg)
{
	(void)arg;
	int l = sk_tcp_listener(AF_INET, 1);
	if (l < 0)
		return;
	char port[16];
	snprintf(port, sizeof(port), "%d\n", sk_port(l));
	test_write_file("port", port);
	int s = accept(l, NULL, NULL);
	close(l);
	if (s < 0 || !sk_send(s, "greeting\n"))
		return;
	char line[256];
	size_t n = 0;
	for (;;) {
		ssize_t r = read(s, line + n, 1);
		if (r <= 0)
			return;
		if (line[n] != '\n' && n < sizeof(line) - 16) {
			n++;
			continue;
		}
		line[n] = 0;
		if (strcmp(line, "bye") == 0)
			return;
		char out[300];
		snprintf(out, sizeof(out), "echo: %s\n", line);
		if (!sk_send(s, out))
			return;
		n = 0;
	}
}

int main(int argc, char **argv)
{
	test_init(argc, argv);
	SETUP(sk_outside("helper", echo_outside, NULL) > 0, "helper outside the tree");
	long port = sk_await_file("port");
	SETUP(port > 0, "the helper's port");
	int c = sk_tcp_connect(AF_INET, port);
	SETUP(c >= 0, "connect to the helper");
	int q = 0;
	for (int i = 0; i < 2000 && q < 9; i++) {
		ioctl(c, FIONREAD, &q);
		usleep(1000);
	}
	SETUP(q == 9, "the greeting");
	test_ready();
	test_wait();

	CHECK(sk_expect(c, "greeting\n"), "the greeting that waited is gone");
	for (int i = 0; i < 3; i++) {
		char line[32], echo[48];
		snprintf(line, sizeof(line), "line %d\n", i);
		snprintf(echo, sizeof(echo), "echo: line %d\n", i);
		CHECK(sk_send(c, line), "send to the peer outside: %s", strerror(errno));
		CHECK(sk_expect(c, echo), "no echo of line %d from the peer outside the tree", i);
	}
	sk_send(c, "bye\n");
	return pass();
}
