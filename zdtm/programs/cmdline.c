/* cmdline: /proc/self/cmdline and argv read the same after the dump as before it. */
#include "zdtmlib.h"

static ssize_t read_cmdline(char *buf, size_t len)
{
	int fd = open("/proc/self/cmdline", O_RDONLY);
	if (fd < 0)
		return -1;
	ssize_t n = read(fd, buf, len);
	close(fd);
	return n;
}

int main(int argc, char **argv)
{
	static char before[8192], after[8192];
	test_init(argc, argv);
	if (argc == 2) { /* exec again with one more argument, holding a space */
		char *args[] = {argv[0], argv[1], "--zdtm-arg", "two words", NULL};
		execv("/proc/self/exe", args);
		SETUP(0, "execv");
	}
	ssize_t n = read_cmdline(before, sizeof(before));
	SETUP(n > 0, "read /proc/self/cmdline");
	test_ready();
	test_wait();
	ssize_t m = read_cmdline(after, sizeof(after));
	CHECK(m == n && memcmp(before, after, n) == 0, "/proc/self/cmdline changed (%zd bytes, was %zd)", m, n);
	CHECK(argc == 4 && strcmp(argv[2], "--zdtm-arg") == 0 && strcmp(argv[3], "two words") == 0, "argv has %d entries", argc);
	return pass();
}
