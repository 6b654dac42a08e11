/*
 * sk_unix_listen: a stream listener bound to a path (mode 0600), with a connection it accepted (data queued
 * both ways) and one it has not accepted yet; a seqpacket pair. After restore the listener keeps its name and
 * mode, the waiting connection is accepted, a new client connects, and every connection carries data both ways.
 */
#include "sklib.h"

int main(int argc, char **argv)
{
	test_init(argc, argv);
	char path[4096];
	snprintf(path, sizeof(path), "%s", test_path("listen.sock"));
	struct sockaddr_un a;
	socklen_t alen = sk_unix_addr(&a, path);
	int l = socket(AF_UNIX, SOCK_STREAM, 0);
	SETUP(l >= 0 && bind(l, (struct sockaddr *)&a, alen) == 0 && chmod(path, 0600) == 0 && listen(l, 5) == 0, "listener");
	int c1 = socket(AF_UNIX, SOCK_STREAM, 0);
	SETUP(c1 >= 0 && connect(c1, (struct sockaddr *)&a, alen) == 0, "first client");
	int s1 = accept(l, NULL, NULL);
	SETUP(s1 >= 0, "accept");
	int c2 = socket(AF_UNIX, SOCK_STREAM, 0);
	SETUP(c2 >= 0 && connect(c2, (struct sockaddr *)&a, alen) == 0, "waiting client");
	SETUP(sk_send(c1, "to the server") && sk_send(s1, "to the client"), "queue data");
	int sp[2];
	SETUP(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sp) == 0, "seqpacket pair");
	SETUP(send(sp[0], "one", 3, 0) == 3 && send(sp[0], "two!", 4, 0) == 4, "seqpacket messages");
	test_ready();
	test_wait();

	struct stat st;
	CHECK(stat(path, &st) == 0 && S_ISSOCK(st.st_mode) && (st.st_mode & 0777) == 0600, "the socket file %s lost its mode", path);
	struct sockaddr_un got;
	socklen_t glen = sizeof(got);
	CHECK(getsockname(l, (struct sockaddr *)&got, &glen) == 0 && strcmp(got.sun_path, path) == 0, "the listener lost its name");
	int acc;
	socklen_t olen = sizeof(acc);
	CHECK(getsockopt(l, SOL_SOCKET, SO_ACCEPTCONN, &acc, &olen) == 0 && acc == 1, "the listener does not listen");
	CHECK(sk_expect(s1, "to the server"), "the accepted connection lost its queued data");
	CHECK(sk_expect(c1, "to the client"), "the client lost its queued data");
	CHECK(sk_readable(l, SK_TIMEOUT_MS), "the waiting connection is gone");
	int s2 = accept(l, NULL, NULL);
	CHECK(s2 >= 0, "accept of the waiting connection: %s", strerror(errno));
	CHECK(sk_send(c2, "late") && sk_expect(s2, "late") && sk_send(s2, "welcome") && sk_expect(c2, "welcome"),
	      "the waiting connection carries no data");
	int c3 = socket(AF_UNIX, SOCK_STREAM, 0);
	CHECK(c3 >= 0 && connect(c3, (struct sockaddr *)&a, alen) == 0, "a new client cannot connect: %s", strerror(errno));
	int s3 = accept(l, NULL, NULL);
	CHECK(s3 >= 0 && sk_send(c3, "new") && sk_expect(s3, "new"), "the new connection carries no data");
	CHECK(sk_send(c1, "again") && sk_expect(s1, "again") && sk_send(s1, "back") && sk_expect(c1, "back"),
	      "the first connection is broken");
	char b[8];
	CHECK(recv(sp[1], b, sizeof(b), MSG_DONTWAIT) == 3 && memcmp(b, "one", 3) == 0, "first seqpacket message lost");
	CHECK(recv(sp[1], b, sizeof(b), MSG_DONTWAIT) == 4 && memcmp(b, "two!", 4) == 0, "second seqpacket message lost");
	unlink(path);
	return pass();
}
