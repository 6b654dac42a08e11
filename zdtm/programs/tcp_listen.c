/*
 * tcp_listen: TCP listeners on 127.0.0.1 (SO_REUSEADDR, SO_KEEPALIVE, backlog 5) and on [::1] (IPV6_V6ONLY),
 * each on a port the kernel picked; an unbound TCP socket; a TCP socket bound but not listening. After restore
 * each listener is on its port with its options and accepts a new connection that carries data both ways.
 */
// zdtm: skip pidns: restored beside its running original in one network namespace, the ports are the original's
// zdtm: skip migrate: on one machine the frozen original still holds the ports, in the tree's network namespace, until its copy runs
#include "sklib.h"

static int accepts(int l, int family)
{
	int c = sk_tcp_connect(family, sk_port(l));
	if (c < 0)
		return 0;
	int s = sk_readable(l, SK_TIMEOUT_MS) ? accept(l, NULL, NULL) : -1;
	int ok = s >= 0 && sk_send(c, "hello") && sk_expect(s, "hello") && sk_send(s, "hi") && sk_expect(c, "hi");
	close(c);
	if (s >= 0)
		close(s);
	return ok;
}

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
	int one = 1;
	int l4 = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_storage ss;
	socklen_t len = sk_loopback(AF_INET, 0, &ss);
	SETUP(l4 >= 0 && setsockopt(l4, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) == 0
	      && setsockopt(l4, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one)) == 0
	      && bind(l4, (struct sockaddr *)&ss, len) == 0 && listen(l4, 5) == 0, "IPv4 listener");
	int l6 = socket(AF_INET6, SOCK_STREAM, 0);
	len = sk_loopback(AF_INET6, 0, &ss);
	SETUP(l6 >= 0 && setsockopt(l6, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) == 0
	      && bind(l6, (struct sockaddr *)&ss, len) == 0 && listen(l6, 3) == 0, "IPv6 listener");
	int bare = socket(AF_INET, SOCK_STREAM, 0);
	int bound = socket(AF_INET, SOCK_STREAM, 0);
	len = sk_loopback(AF_INET, 0, &ss);
	SETUP(bare >= 0 && bound >= 0 && bind(bound, (struct sockaddr *)&ss, len) == 0, "bare and bound sockets");
	int p4 = sk_port(l4), p6 = sk_port(l6), pb = sk_port(bound);
	test_ready();
	test_wait();

	CHECK(sk_port(l4) == p4 && sk_port(l6) == p6, "a listener moved: ports %d and %d, were %d and %d", sk_port(l4), sk_port(l6), p4, p6);
	CHECK(option(l4, SOL_SOCKET, SO_REUSEADDR) == 1 && option(l4, SOL_SOCKET, SO_KEEPALIVE) == 1, "the IPv4 listener lost its options");
	CHECK(option(l6, IPPROTO_IPV6, IPV6_V6ONLY) == 1 && option(l6, SOL_SOCKET, SO_REUSEADDR) == 0, "the IPv6 listener lost its options");
	CHECK(option(l4, SOL_SOCKET, SO_ACCEPTCONN) == 1 && option(l6, SOL_SOCKET, SO_ACCEPTCONN) == 1, "a listener does not listen");
	CHECK(accepts(l4, AF_INET), "the IPv4 listener does not accept a connection");
	CHECK(accepts(l6, AF_INET6), "the IPv6 listener does not accept a connection");
	CHECK(sk_port(bound) == pb && option(bound, SOL_SOCKET, SO_ACCEPTCONN) == 0, "the bound socket moved or listens");
	CHECK(sk_port(bare) == 0, "the bare socket is bound");
	len = sk_loopback(AF_INET, p4, &ss);
	CHECK(connect(bare, (struct sockaddr *)&ss, len) == 0, "the bare socket cannot connect: %s", strerror(errno));
	return pass();
}
