/*
 * sk_unix_scm: fds in flight. Over a stream pair go a pipe's read end (the pipe holding data) and a file open
 * at an offset, both closed by the sender; over a datagram pair goes one end of another stream pair, whose
 * other end the program keeps. After restore each message brings its fds: the pipe still holds its data, the
 * file reads on from its offset, and the socket that came through the queue talks to the end that stayed.
 */
#include "sklib.h"

int main(int argc, char **argv)
{
	test_init(argc, argv);
	int st[2], dg[2], inner[2], p[2];
	SETUP(socketpair(AF_UNIX, SOCK_STREAM, 0, st) == 0 && socketpair(AF_UNIX, SOCK_DGRAM, 0, dg) == 0
	      && socketpair(AF_UNIX, SOCK_STREAM, 0, inner) == 0 && pipe(p) == 0, "sockets and pipe");
	SETUP(write(p[1], "in the pipe", 11) == 11, "pipe data");
	int f = open(test_path("file"), O_RDWR | O_CREAT | O_TRUNC, 0644);
	SETUP(f >= 0 && write(f, "0123456789", 10) == 10 && lseek(f, 4, SEEK_SET) == 4, "file");
	union {
		char buf[CMSG_SPACE(2 * sizeof(int))];
		struct cmsghdr align;
	} u;
	struct iovec iov = {.iov_base = "fds", .iov_len = 3};
	struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof(u.buf)};
	struct cmsghdr *c = CMSG_FIRSTHDR(&m);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(2 * sizeof(int));
	int two[2] = {p[0], f};
	memcpy(CMSG_DATA(c), two, sizeof(two));
	SETUP(sendmsg(st[0], &m, 0) == 3, "sendmsg with a pipe and a file");
	SETUP(write(st[0], "plain", 5) == 5, "stream bytes after the fds");
	close(p[0]);
	close(f);
	m.msg_controllen = CMSG_SPACE(sizeof(int));
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &inner[1], sizeof(int));
	iov.iov_base = "sock";
	iov.iov_len = 4;
	SETUP(sendmsg(dg[0], &m, 0) == 4, "sendmsg with a socket");
	close(inner[1]);
	test_ready();
	test_wait();

	char data[16];
	int got[2] = {-1, -1};
	iov.iov_base = data;
	iov.iov_len = 3;
	m.msg_controllen = sizeof(u.buf);
	CHECK(recvmsg(st[1], &m, MSG_DONTWAIT) == 3 && memcmp(data, "fds", 3) == 0, "the message with fds is gone");
	c = CMSG_FIRSTHDR(&m);
	CHECK(c && c->cmsg_type == SCM_RIGHTS && c->cmsg_len == CMSG_LEN(2 * sizeof(int)), "the fds did not come with it");
	memcpy(got, CMSG_DATA(c), sizeof(got));
	CHECK(read(got[0], data, 11) == 11 && memcmp(data, "in the pipe", 11) == 0, "the pipe lost its data");
	CHECK(write(p[1], "x", 1) == 1 && read(got[0], data, 1) == 1 && data[0] == 'x', "the pipe's ends are apart");
	CHECK(read(got[1], data, 6) == 6 && memcmp(data, "456789", 6) == 0, "the file is not at its offset");
	CHECK(sk_read_exact(st[1], data, 5) == 5 && memcmp(data, "plain", 5) == 0, "the stream bytes after the fds are gone");
	iov.iov_len = 4;
	m.msg_controllen = sizeof(u.buf);
	CHECK(recvmsg(dg[1], &m, MSG_DONTWAIT) == 4 && memcmp(data, "sock", 4) == 0, "the datagram with a socket is gone");
	c = CMSG_FIRSTHDR(&m);
	CHECK(c && c->cmsg_type == SCM_RIGHTS, "the socket did not come with it");
	int s;
	memcpy(&s, CMSG_DATA(c), sizeof(int));
	CHECK(sk_send(s, "through") && sk_expect(inner[0], "through") && sk_send(inner[0], "back") && sk_expect(s, "back"),
	      "the socket that came through the queue is not connected to the end that stayed");
	return pass();
}
