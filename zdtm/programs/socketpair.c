/* socketpair: a unix stream pair and a datagram pair with data queued both ways keep data and message bounds. */
#include "zdtmlib.h"
#include <sys/socket.h>

int main(int argc, char **argv)
{
	test_init(argc, argv);
	int st[2], dg[2];
	SETUP(socketpair(AF_UNIX, SOCK_STREAM, 0, st) == 0 && socketpair(AF_UNIX, SOCK_DGRAM, 0, dg) == 0, "socketpair");
	SETUP(write(st[0], "ping", 4) == 4 && write(st[1], "pong!", 5) == 5, "write stream");
	SETUP(write(dg[0], "one", 3) == 3 && write(dg[0], "two-two", 7) == 7, "write dgram");
	test_ready();
	test_wait();
	char b[64];
	CHECK(read(st[1], b, sizeof(b)) == 4 && memcmp(b, "ping", 4) == 0, "stream 0->1 lost its data");
	CHECK(read(st[0], b, sizeof(b)) == 5 && memcmp(b, "pong!", 5) == 0, "stream 1->0 lost its data");
	CHECK(recv(dg[1], b, sizeof(b), MSG_DONTWAIT) == 3 && memcmp(b, "one", 3) == 0, "first datagram lost");
	CHECK(recv(dg[1], b, sizeof(b), MSG_DONTWAIT) == 7 && memcmp(b, "two-two", 7) == 0, "second datagram lost");
	CHECK(write(st[1], "z", 1) == 1 && read(st[0], b, 1) == 1 && b[0] == 'z', "the stream ends are no longer connected");
	return pass();
}
