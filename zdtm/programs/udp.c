/*
 * udp: UDP sockets over 127.0.0.1 and [::1]: one bound to a port, one connected to it, one unbound. After
 * restore the bound one is on its port, the connected one is connected to it, and a datagram sent between
 * them arrives. (Datagrams that wait in a UDP socket at dump are dropped, as CRIU drops them: none wait here.)
 */
// zdtm: skip pidns: restored beside its running original in one network namespace, the ports are the original's
// zdtm: skip migrate: on one machine the frozen original still holds the ports, in the tree's network namespace, until its copy runs
#include "sklib.h"

static int pair_works(int family)
{
	struct sockaddr_storage ss;
	socklen_t len = sk_loopback(family, 0, &ss);
	int r = socket(family, SOCK_DGRAM, 0);
	if (r < 0 || bind(r, (struct sockaddr *)&ss, len) < 0)
		return -1;
	return r;
}

int main(int argc, char **argv)
{
	test_init(argc, argv);
	int r4 = pair_works(AF_INET), r6 = pair_works(AF_INET6);
	SETUP(r4 >= 0 && r6 >= 0, "bound sockets");
	struct sockaddr_storage ss;
	socklen_t len = sk_loopback(AF_INET, sk_port(r4), &ss);
	int s4 = socket(AF_INET, SOCK_DGRAM, 0);
	SETUP(s4 >= 0 && connect(s4, (struct sockaddr *)&ss, len) == 0, "IPv4 connected socket");
	len = sk_loopback(AF_INET6, sk_port(r6), &ss);
	int s6 = socket(AF_INET6, SOCK_DGRAM, 0);
	SETUP(s6 >= 0 && connect(s6, (struct sockaddr *)&ss, len) == 0, "IPv6 connected socket");
	int bare = socket(AF_INET, SOCK_DGRAM, 0);
	SETUP(bare >= 0, "unbound socket");
	int p4 = sk_port(r4), p6 = sk_port(r6), ps4 = sk_port(s4);
	test_ready();
	test_wait();

	CHECK(sk_port(r4) == p4 && sk_port(r6) == p6, "a bound socket moved");
	CHECK(sk_port(s4) == ps4, "the connected socket's own port changed");
	char b[8];
	CHECK(send(s4, "four", 4, 0) == 4 && sk_readable(r4, SK_TIMEOUT_MS) && recv(r4, b, sizeof(b), 0) == 4 && !memcmp(b, "four", 4),
	      "no datagram over IPv4");
	CHECK(send(s6, "six", 3, 0) == 3 && sk_readable(r6, SK_TIMEOUT_MS) && recv(r6, b, sizeof(b), 0) == 3 && !memcmp(b, "six", 3),
	      "no datagram over IPv6");
	len = sizeof(ss);
	CHECK(getpeername(bare, (struct sockaddr *)&ss, &len) < 0 && errno == ENOTCONN && sk_port(bare) == 0, "the unbound socket is bound or connected");
	len = sk_loopback(AF_INET, p4, &ss);
	CHECK(sendto(bare, "bare", 4, 0, (struct sockaddr *)&ss, len) == 4 && sk_readable(r4, SK_TIMEOUT_MS) && recv(r4, b, sizeof(b), 0) == 4,
	      "the unbound socket cannot send");
	return pass();
}
