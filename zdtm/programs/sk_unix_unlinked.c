/*
 * sk_unix_unlinked: sockets whose bound file was unlinked. A stream listener, with a connection it accepted,
 * and a datagram socket with a sender connected to it, both bound in a directory that is then removed. After
 * restore they keep their names (getsockname), no file is back at those paths, the directory is still gone,
 * and the connection and the sender still reach them.
 */
#include "sklib.h"

int main(int argc, char **argv)
{
	test_init(argc, argv);
	char dir[4096], lpath[4200], dpath[4200];
	snprintf(dir, sizeof(dir), "%s", test_path("gone"));
	snprintf(lpath, sizeof(lpath), "%s/listen.sock", dir);
	snprintf(dpath, sizeof(dpath), "%s/dgram.sock", dir);
	SETUP(mkdir(dir, 0755) == 0, "mkdir");
	struct sockaddr_un la, da;
	socklen_t llen = sk_unix_addr(&la, lpath), dlen = sk_unix_addr(&da, dpath);
	int l = socket(AF_UNIX, SOCK_STREAM, 0);
	SETUP(l >= 0 && bind(l, (struct sockaddr *)&la, llen) == 0 && listen(l, 2) == 0, "listener");
	int c = socket(AF_UNIX, SOCK_STREAM, 0);
	SETUP(c >= 0 && connect(c, (struct sockaddr *)&la, llen) == 0, "client");
	int s = accept(l, NULL, NULL);
	SETUP(s >= 0, "accept");
	int d = socket(AF_UNIX, SOCK_DGRAM, 0);
	SETUP(d >= 0 && bind(d, (struct sockaddr *)&da, dlen) == 0, "datagram socket");
	int sender = socket(AF_UNIX, SOCK_DGRAM, 0);
	SETUP(sender >= 0 && connect(sender, (struct sockaddr *)&da, dlen) == 0, "sender");
	SETUP(send(sender, "queued", 6, 0) == 6, "datagram");
	SETUP(unlink(lpath) == 0 && unlink(dpath) == 0 && rmdir(dir) == 0, "unlink");
	test_ready();
	test_wait();

	struct sockaddr_un got;
	socklen_t glen = sizeof(got);
	CHECK(getsockname(l, (struct sockaddr *)&got, &glen) == 0 && strcmp(got.sun_path, lpath) == 0, "the listener lost its name");
	glen = sizeof(got);
	CHECK(getsockname(d, (struct sockaddr *)&got, &glen) == 0 && strcmp(got.sun_path, dpath) == 0, "the datagram socket lost its name");
	CHECK(access(dir, F_OK) < 0 && errno == ENOENT, "%s is back", dir);
	CHECK(sk_send(c, "ping") && sk_expect(s, "ping") && sk_send(s, "pong") && sk_expect(c, "pong"), "the connection is broken");
	char b[8];
	CHECK(recv(d, b, sizeof(b), MSG_DONTWAIT) == 6 && memcmp(b, "queued", 6) == 0, "the queued datagram is gone");
	CHECK(send(sender, "more", 4, 0) == 4 && sk_readable(d, SK_TIMEOUT_MS) && recv(d, b, sizeof(b), 0) == 4,
	      "the sender no longer reaches the datagram socket");
	return pass();
}
