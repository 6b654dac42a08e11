/*
 * sk_unix_abstract: a seqpacket listener bound to an abstract name, and a connection it accepted with
 * messages queued both ways; a datagram socket bound to an abstract name with a datagram waiting. After
 * restore both have their names, the messages keep their bounds, and a new client connects.
 */
// zdtm: skip pidns: restored beside its running original in one network namespace, the abstract name is the original's
// zdtm: skip migrate: on one machine the frozen original still holds the abstract name, in the tree's network namespace, until its copy runs
#include "sklib.h"

int main(int argc, char **argv)
{
	test_init(argc, argv);
	char name[64];
	snprintf(name, sizeof(name), "@cryo-zdtm-abstract-%d", getpid());
	struct sockaddr_un a;
	socklen_t alen = sk_unix_addr(&a, name);
	int l = socket(AF_UNIX, SOCK_SEQPACKET, 0);
	SETUP(l >= 0 && bind(l, (struct sockaddr *)&a, alen) == 0 && listen(l, 3) == 0, "listener");
	int c = socket(AF_UNIX, SOCK_SEQPACKET, 0);
	SETUP(c >= 0 && connect(c, (struct sockaddr *)&a, alen) == 0, "client");
	int s = accept(l, NULL, NULL);
	SETUP(s >= 0, "accept");
	SETUP(send(c, "ab", 2, 0) == 2 && send(c, "cde", 3, 0) == 3 && send(s, "xyz!", 4, 0) == 4, "messages");
	char dname[64];
	snprintf(dname, sizeof(dname), "@cryo-zdtm-dgram-%d", getpid());
	struct sockaddr_un d;
	socklen_t dlen = sk_unix_addr(&d, dname);
	int r = socket(AF_UNIX, SOCK_DGRAM, 0), sender = socket(AF_UNIX, SOCK_DGRAM, 0);
	SETUP(r >= 0 && bind(r, (struct sockaddr *)&d, dlen) == 0 && sender >= 0
	      && sendto(sender, "abstract", 8, 0, (struct sockaddr *)&d, dlen) == 8, "datagram to an abstract name");
	test_ready();
	test_wait();

	struct sockaddr_un got;
	socklen_t glen = sizeof(got);
	CHECK(getsockname(l, (struct sockaddr *)&got, &glen) == 0 && glen == alen && memcmp(&got, &a, alen) == 0,
	      "the listener lost its abstract name");
	char b[8];
	CHECK(recv(s, b, sizeof(b), MSG_DONTWAIT) == 2 && memcmp(b, "ab", 2) == 0, "first message lost");
	CHECK(recv(s, b, sizeof(b), MSG_DONTWAIT) == 3 && memcmp(b, "cde", 3) == 0, "second message lost");
	CHECK(recv(c, b, sizeof(b), MSG_DONTWAIT) == 4 && memcmp(b, "xyz!", 4) == 0, "message to the client lost");
	char db[16];
	CHECK(recv(r, db, sizeof(db), MSG_DONTWAIT) == 8 && memcmp(db, "abstract", 8) == 0, "the datagram to the abstract name is lost");
	glen = sizeof(got);
	CHECK(getsockname(r, (struct sockaddr *)&got, &glen) == 0 && glen == dlen && memcmp(&got, &d, dlen) == 0,
	      "the datagram socket lost its abstract name");
	CHECK(sendto(sender, "again", 5, 0, (struct sockaddr *)&d, dlen) == 5 && sk_readable(r, SK_TIMEOUT_MS)
	      && recv(r, db, sizeof(db), 0) == 5, "the abstract name no longer reaches the datagram socket");
	int c2 = socket(AF_UNIX, SOCK_SEQPACKET, 0);
	CHECK(c2 >= 0 && connect(c2, (struct sockaddr *)&a, alen) == 0, "a new client cannot connect: %s", strerror(errno));
	int s2 = accept(l, NULL, NULL);
	CHECK(s2 >= 0 && send(c2, "hi", 2, 0) == 2 && sk_readable(s2, SK_TIMEOUT_MS) && recv(s2, b, sizeof(b), 0) == 2,
	      "the new connection carries no message");
	CHECK(send(s, "ok", 2, 0) == 2 && sk_readable(c, SK_TIMEOUT_MS) && recv(c, b, sizeof(b), 0) == 2, "the old connection is broken");
	return pass();
}
