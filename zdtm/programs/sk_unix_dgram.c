/*
 * sk_unix_dgram: a datagram socket bound to a path with three datagrams waiting, sent by an unbound socket
 * connected to it (datagram sockets on abstract names are sk_unix_abstract's). After restore the datagrams
 * arrive in order with their bounds, and the sender is still connected.
 */
#include "sklib.h"

int main(int argc, char **argv)
{
	test_init(argc, argv);
	char path[4096];
	snprintf(path, sizeof(path), "%s", test_path("dgram.sock"));
	struct sockaddr_un a;
	socklen_t alen = sk_unix_addr(&a, path);
	int r = socket(AF_UNIX, SOCK_DGRAM, 0);
	SETUP(r >= 0 && bind(r, (struct sockaddr *)&a, alen) == 0, "bound receiver");
	int s = socket(AF_UNIX, SOCK_DGRAM, 0);
	SETUP(s >= 0 && connect(s, (struct sockaddr *)&a, alen) == 0, "connected sender");
	SETUP(send(s, "first", 5, 0) == 5 && send(s, "second!", 7, 0) == 7 && send(s, "3", 1, 0) == 1, "datagrams");
	test_ready();
	test_wait();

	char buf[16];
	CHECK(recv(r, buf, sizeof(buf), MSG_DONTWAIT) == 5 && memcmp(buf, "first", 5) == 0, "first datagram lost");
	CHECK(recv(r, buf, sizeof(buf), MSG_DONTWAIT) == 7 && memcmp(buf, "second!", 7) == 0, "second datagram lost");
	CHECK(recv(r, buf, sizeof(buf), MSG_DONTWAIT) == 1 && buf[0] == '3', "third datagram lost");
	CHECK(recv(r, buf, sizeof(buf), MSG_DONTWAIT) < 0 && errno == EAGAIN, "a datagram too many");
	struct sockaddr_un peer;
	socklen_t plen = sizeof(peer);
	CHECK(getpeername(s, (struct sockaddr *)&peer, &plen) == 0 && strcmp(peer.sun_path, path) == 0, "the sender is no longer connected");
	CHECK(send(s, "after", 5, 0) == 5 && sk_readable(r, SK_TIMEOUT_MS) && recv(r, buf, sizeof(buf), 0) == 5,
	      "a datagram sent after the restore does not arrive");
	unlink(path);
	return pass();
}
