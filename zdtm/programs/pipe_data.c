/* pipe_data: a pipe with 64 KiB queued in it (a full default pipe) keeps the data, in order, and both ends. */
#include "zdtmlib.h"
#include <sys/ioctl.h>

static int ioctl_fionread(int fd, int *n)
{
	return ioctl(fd, FIONREAD, n);
}

#define LEN 65536

int main(int argc, char **argv)
{
	test_init(argc, argv);
	int p[2];
	SETUP(pipe(p) == 0, "pipe");
	static uint8_t buf[LEN];
	test_fill(buf, LEN, 10);
	SETUP(write(p[1], buf, LEN) == LEN, "write");
	test_ready();
	test_wait();
	CHECK((fcntl(p[0], F_GETFL) & O_ACCMODE) == O_RDONLY && (fcntl(p[1], F_GETFL) & O_ACCMODE) == O_WRONLY, "pipe ends have flags %#x %#x",
	      fcntl(p[0], F_GETFL), fcntl(p[1], F_GETFL));
	int queued = -1;
	CHECK(ioctl_fionread(p[0], &queued) == 0 && queued == LEN, "%d bytes queued, not %d", queued, LEN);
	memset(buf, 0, LEN);
	size_t got = 0;
	while (got < LEN) {
		ssize_t n = read(p[0], buf + got, LEN - got);
		CHECK(n > 0, "read after %zu bytes: %s", got, strerror(errno));
		got += n;
	}
	CHECK(test_verify(buf, LEN, 10) < 0, "the pipe's data changed");
	CHECK(write(p[1], "x", 1) == 1 && read(p[0], buf, 1) == 1 && buf[0] == 'x', "the two ends are no longer one pipe");
	return pass();
}
