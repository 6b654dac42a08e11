/* bigfd: fds at 1000 and 5000 (NOFILE raised) keep their numbers and files, and FDSize stays what it was. */
#include "zdtmlib.h"
#include <sys/resource.h>

int main(int argc, char **argv)
{
	test_init(argc, argv);
	struct rlimit r = {8192, 8192};
	SETUP(setrlimit(RLIMIT_NOFILE, &r) == 0, "setrlimit");
	int fd = open(test_path("big"), O_RDWR | O_CREAT | O_TRUNC, 0644);
	SETUP(fd >= 0 && write(fd, "big", 3) == 3, "open");
	SETUP(dup2(fd, 1000) == 1000 && dup2(fd, 5000) == 5000 && close(fd) == 0, "dup2");
	char fdsize[64];
	snprintf(fdsize, sizeof(fdsize), "%s", test_status("FDSize:"));
	test_ready();
	test_wait();
	CHECK(strcmp(test_status("FDSize:"), fdsize) == 0, "FDSize is %s, was %s", test_status("FDSize:"), fdsize);
	CHECK(fcntl(fd, F_GETFD) < 0, "fd %d is open again", fd);
	char b[4] = "";
	CHECK(pread(1000, b, 3, 0) == 3 && memcmp(b, "big", 3) == 0, "fd 1000 lost its file");
	CHECK(lseek(5000, 0, SEEK_CUR) == 3, "fd 5000 is at %lld, not 3 (no longer sharing fd 1000's file)",
	      (long long)lseek(5000, 0, SEEK_CUR));
	return pass();
}
