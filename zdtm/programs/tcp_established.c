/*
 * tcp_established: TCP connections inside the tree, over 127.0.0.1 and [::1], with data waiting at both ends
 * (written, not read) and options set (TCP_NODELAY, SO_KEEPALIVE with its timings). Dumped with
 * --tcp-established, restored connected: each end reads what waited for it, in order, and the connection
 * carries data both ways; the listener accepts a new connection.
 */
// zdtm: dump-opts --tcp-established
// zdtm: restore-opts --tcp-established
// zdtm: skip pidns: restored beside its running original in one network namespace, the connections' addresses and ports are the original's
// zdtm: skip migrate: on one machine the frozen original still holds the connections' addresses and ports, in the tree's network namespace, until its copy runs
#include "sklib.h"

static int option(int fd, int level, int name)
{
	int v = -1;
	socklen_t len = sizeof(v);
	getsockopt(fd, level, name, &v, &len);
	return v;
}

int main(int argc, char **argv)
{
	test_init(argc, argv);
	int l4 = sk_tcp_listener(AF_INET, 4), l6 = sk_tcp_listener(AF_INET6, 4);
	SETUP(l4 >= 0 && l6 >= 0, "listeners");
	int c4 = sk_tcp_connect(AF_INET, sk_port(l4)), c6 = sk_tcp_connect(AF_INET6, sk_port(l6));
	int s4 = accept(l4, NULL, NULL), s6 = accept(l6, NULL, NULL);
	SETUP(c4 >= 0 && c6 >= 0 && s4 >= 0 && s6 >= 0, "connections");
	int one = 1, idle = 77;
	SETUP(setsockopt(c4, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) == 0
	      && setsockopt(s4, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one)) == 0
	      && setsockopt(s4, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof(idle)) == 0, "options");
	/* a large queue one way, a small one the other */
	static char big[200000];
	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = 'a' + i % 26;
	size_t sent = 0;
	while (sent < sizeof(big)) {
		ssize_t w = send(c4, big + sent, sizeof(big) - sent, MSG_DONTWAIT);
		SETUP(w > 0 || errno == EAGAIN, "send");
		if (w <= 0)
			break;
		sent += w;
	}
	SETUP(sk_send(s4, "to the client") && sk_send(c6, "six") && sk_send(s6, "xis"), "small queues");
	/* wait until the server's receive queue stops growing: what does not fit stays in the client's send
	 * queue, unacknowledged or not sent yet (the window is shut) */
	int q = 0, last = -1, same = 0;
	for (int i = 0; i < 5000 && q < (int)sent && same < 50; i++) {
		ioctl(s4, FIONREAD, &q);
		same = q == last ? same + 1 : 0;
		last = q;
		usleep(1000);
	}
	test_ready();
	test_wait();

	static char back[200000];
	CHECK(sk_read_exact(s4, back, sent) == (ssize_t)sent && memcmp(back, big, sent) == 0, "the %zu bytes queued at the server are not all there", sent);
	CHECK(sk_expect(c4, "to the client"), "the client's queue is lost");
	CHECK(sk_expect(s6, "six") && sk_expect(c6, "xis"), "the IPv6 queues are lost");
	CHECK(sk_send(c4, "ping") && sk_expect(s4, "ping") && sk_send(s4, "pong") && sk_expect(c4, "pong"), "the IPv4 connection is broken");
	CHECK(sk_send(c6, "ping6") && sk_expect(s6, "ping6") && sk_send(s6, "pong6") && sk_expect(c6, "pong6"), "the IPv6 connection is broken");
	CHECK(option(c4, IPPROTO_TCP, TCP_NODELAY) == 1, "TCP_NODELAY is lost");
	CHECK(option(s4, SOL_SOCKET, SO_KEEPALIVE) == 1 && option(s4, IPPROTO_TCP, TCP_KEEPIDLE) == 77, "the keepalive settings are lost");
	int c = sk_tcp_connect(AF_INET, sk_port(l4));
	int s = c >= 0 && sk_readable(l4, SK_TIMEOUT_MS) ? accept(l4, NULL, NULL) : -1;
	CHECK(s >= 0 && sk_send(c, "new") && sk_expect(s, "new"), "the listener does not accept a new connection");
	return pass();
}
