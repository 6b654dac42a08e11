/*
 * broken_starttime: broken on purpose, and left out of the suite. It checks a state that no restore can
 * bring back: the process's start time (field 22 of /proc/self/stat) is set by the kernel at fork. It passes
 * when nothing happens to it and must fail after a dump and restore; the runner's own test proves that a
 * state that was not restored fails the test.
 */
#include "zdtmlib.h"

static unsigned long long start_time(void)
{
	char buf[1024];
	int fd = open("/proc/self/stat", O_RDONLY);
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	buf[n > 0 ? n : 0] = 0;
	char *p = strrchr(buf, ')');
	unsigned long long t = 0;
	/* after ")": state is field 3; starttime is field 22 */
	if (p)
		sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d %*d %*d %*d %llu", &t);
	return t;
}

int main(int argc, char **argv)
{
	test_init(argc, argv);
	unsigned long long before = start_time();
	SETUP(before > 0, "read starttime");
	sleep(1); /* so that a process started later (a restored one) has another start time */
	test_ready();
	test_wait();
	unsigned long long after = start_time();
	CHECK(after == before, "starttime is %llu, was %llu", after, before);
	return pass();
}
