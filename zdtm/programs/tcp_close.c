/*
 * tcp_close: an established TCP connection inside the tree, dumped and restored with --tcp-close: it comes
 * back as a socket with no connection (not connected, reads nothing), as CRIU's option does; the unix pair
 * beside it is untouched.
 */
// zdtm: dump-opts --tcp-close
// zdtm: restore-opts --tcp-close
// zdtm: skip none: only a restore with --tcp-close closes the connection, which the program checks
#include "sklib.h"

int main(int argc, char **argv)
{
	test_init(argc, argv);
	int l = sk_tcp_listener(AF_INET, 1);
	SETUP(l >= 0, "listener");
	int c = sk_tcp_connect(AF_INET, sk_port(l));
	int s = accept(l, NULL, NULL);
	SETUP(c >= 0 && s >= 0 && sk_send(c, "lost"), "connection");
	close(l); /* no port of the tree's is left listening: the restore beside the original has nothing to take */
	int up[2];
	SETUP(socketpair(AF_UNIX, SOCK_STREAM, 0, up) == 0 && sk_send(up[0], "kept"), "unix pair");
	test_ready();
	test_wait();

	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	CHECK(getpeername(c, (struct sockaddr *)&ss, &len) < 0 && errno == ENOTCONN, "the client is still connected");
	len = sizeof(ss);
	CHECK(getpeername(s, (struct sockaddr *)&ss, &len) < 0 && errno == ENOTCONN, "the server end is still connected");
	char b[8];
	CHECK(recv(s, b, sizeof(b), MSG_DONTWAIT) <= 0, "the closed connection still reads");
	CHECK(sk_expect(up[1], "kept"), "the unix pair lost its data");
	return pass();
}
