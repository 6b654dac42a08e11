/* sleeping: a process asleep in nanosleep for an hour; only SIGTERM wakes it, and the time left is sane. */
// zdtm: skip predump: a pre-dump cuts a nanosleep short: it returns EINTR once the task is released
#include "zdtmlib.h"

int main(int argc, char **argv)
{
	test_init(argc, argv);
	test_ready();
	struct timespec want = {3600, 0}, left = {0, 0};
	int r = nanosleep(&want, &left);
	int err = errno;
	CHECK(r == -1 && err == EINTR, "nanosleep returned %d (%s) before SIGTERM", r, strerror(err));
	CHECK(test_stop, "nanosleep was interrupted, but not by SIGTERM");
	CHECK(left.tv_sec > 3000 && left.tv_sec <= 3600, "nanosleep left %ld s of 3600", (long)left.tv_sec);
	return pass();
}
