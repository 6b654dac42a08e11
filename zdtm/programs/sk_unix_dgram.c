/*
 * sk_unix_dgram: a datagram socket bound to a path with three datagrams waiting, sent by an unbound socket
 * connected to it; a datagram socket bound to an abstract name, with one waiting. After restore the
 * datagrams arrive in order with their bounds, and the sender is still connected.
 */
// zdtm: skip pidns: restored beside its running original in one network namespace, the abstract name is the original's
#include "sklib.h"

int main(int argc, char **argv)
{
	test_init(argc, argv);
	char path[4096];
	snprintf(path, sizeof(path), "%s", test_path("dgram.sock"));
	struct sockaddr_un a, b;
	socklen_t alen = sk_unix_addr(&a, path);
	char name[64];
	snprintf(name, sizeof(name), "@cryo-zdtm-dgram-%d", getpid());
	socklen_t blen = sk_unix_addr(&b, name);
	int r = socket(AF_UNIX, SOCK_DGRAM, 0);
	SETUP(r >= 0 && bind(r, (struct sockaddr *)&a, alen) == 0, "bound receiver");
	int s = socket(AF_UNIX, SOCK_DGRAM, 0);
	SETUP(s >= 0 && connect(s, (struct sockaddr *)&a, alen) == 0, "connected sender");
	SETUP(send(s, "first", 5, 0) == 5 && send(s, "second!", 7, 0) == 7 && send(s, "3", 1, 0) == 1, "datagrams");
	int r2 = socket(AF_UNIX, SOCK_DGRAM, 0);
	SETUP(r2 >= 0 && bind(r2, (struct sockaddr *)&b, blen) == 0, "abstract receiver");
	int s2 = socket(AF_UNIX, SOCK_DGRAM, 0);
	SETUP(s2 >= 0 && sendto(s2, "abstract", 8, 0, (struct sockaddr *)&b, blen) == 8, "datagram to the abstract name");
	test_ready();
	test_wait();

	char buf[16];
	CHECK(recv(r, buf, sizeof(buf), MSG_DONTWAIT) == 5 && memcmp(buf, "first", 5) == 0, "first datagram lost");
	CHECK(recv(r, buf, sizeof(buf), MSG_DONTWAIT) == 7 && memcmp(buf, "second!", 7) == 0, "second datagram lost");
	CHECK(recv(r, buf, sizeof(buf), MSG_DONTWAIT) == 1 && buf[0] == '3', "third datagram lost");
	CHECK(recv(r, buf, sizeof(buf), MSG_DONTWAIT) < 0 && errno == EAGAIN, "a datagram too many");
	CHECK(recv(r2, buf, sizeof(buf), MSG_DONTWAIT) == 8 && memcmp(buf, "abstract", 8) == 0, "abstract datagram lost");
	struct sockaddr_un peer;
	socklen_t plen = sizeof(peer);
	CHECK(getpeername(s, (struct sockaddr *)&peer, &plen) == 0 && strcmp(peer.sun_path, path) == 0, "the sender is no longer connected");
	CHECK(send(s, "after", 5, 0) == 5 && sk_readable(r, SK_TIMEOUT_MS) && recv(r, buf, sizeof(buf), 0) == 5,
	      "a datagram sent after the restore does not arrive");
	unlink(path);
	return pass();
}
