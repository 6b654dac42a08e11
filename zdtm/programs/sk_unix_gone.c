/*
 * sk_unix_gone: sockets whose peer has closed. A stream socket holds data its peer wrote before it closed; a
 * datagram socket holds datagrams from a peer that closed. After restore the data is there, in order, and
 * then the stream reads its end (0).
 */
#include "sklib.h"

int main(int argc, char **argv)
{
	test_init(argc, argv);
	int st[2], dg[2];
	SETUP(socketpair(AF_UNIX, SOCK_STREAM, 0, st) == 0 && socketpair(AF_UNIX, SOCK_DGRAM, 0, dg) == 0, "pairs");
	SETUP(write(st[1], "last words", 10) == 10 && send(dg[1], "d1", 2, 0) == 2 && send(dg[1], "d22", 3, 0) == 3, "data");
	close(st[1]);
	close(dg[1]);
	test_ready();
	test_wait();

	char b[16];
	CHECK(sk_read_exact(st[0], b, 10) == 10 && memcmp(b, "last words", 10) == 0, "the stream lost its data");
	CHECK(read(st[0], b, sizeof(b)) == 0, "the stream does not end");
	CHECK(recv(dg[0], b, sizeof(b), MSG_DONTWAIT) == 2 && memcmp(b, "d1", 2) == 0, "first datagram lost");
	CHECK(recv(dg[0], b, sizeof(b), MSG_DONTWAIT) == 3 && memcmp(b, "d22", 3) == 0, "second datagram lost");
	return pass();
}
