/*
 * sk_unix_ext: a datagram socket connected to a named socket outside the tree (as a program's to /dev/log).
 * A helper outside the tree binds DIR/ext.sock and writes what it receives to DIR/heard. After restore
 * (with --ext-unix-sk) the socket is connected to that name again: what it sends reaches the helper.
 */
// zdtm: dump-opts --ext-unix-sk
// zdtm: restore-opts --ext-unix-sk
#include "sklib.h"

static void listen_outside(void *arg)
{
	(void)arg;
	struct sockaddr_un a;
	socklen_t alen = sk_unix_addr(&a, test_path("ext.sock"));
	int s = socket(AF_UNIX, SOCK_DGRAM, 0);
	if (s < 0 || bind(s, (struct sockaddr *)&a, alen) < 0)
		return;
	test_write_file("bound", "1\n");
	char buf[64];
	for (;;) {
		ssize_t n = recv(s, buf, sizeof(buf) - 2, 0);
		if (n <= 0 || (n == 3 && memcmp(buf, "bye", 3) == 0))
			return;
		buf[n] = '\n';
		buf[n + 1] = 0;
		test_write_file("heard", buf);
	}
}

int main(int argc, char **argv)
{
	test_init(argc, argv);
	SETUP(sk_outside("helper", listen_outside, NULL) > 0 && sk_await_file("bound") == 1, "helper outside the tree");
	struct sockaddr_un a;
	socklen_t alen = sk_unix_addr(&a, test_path("ext.sock"));
	int s = socket(AF_UNIX, SOCK_DGRAM, 0);
	SETUP(s >= 0 && connect(s, (struct sockaddr *)&a, alen) == 0, "connect to the helper");
	test_ready();
	test_wait();

	char text[32];
	snprintf(text, sizeof(text), "%d", getpid());
	CHECK(send(s, text, strlen(text), 0) == (ssize_t)strlen(text), "send to the helper: %s", strerror(errno));
	CHECK(sk_await_file("heard") == getpid(), "the helper outside the tree did not hear the restored socket");
	send(s, "bye", 3, 0);
	return pass();
}
