/* eventfd: an eventfd holding 42 (non-blocking) and a semaphore eventfd holding 3 keep counters and flags. */
#include "zdtmlib.h"
#include <sys/eventfd.h>

int main(int argc, char **argv)
{
	test_init(argc, argv);
	int e = eventfd(42, EFD_NONBLOCK);
	int s = eventfd(3, EFD_SEMAPHORE | EFD_NONBLOCK);
	SETUP(e >= 0 && s >= 0, "eventfd");
	test_ready();
	test_wait();
	CHECK(fcntl(e, F_GETFL) & O_NONBLOCK, "O_NONBLOCK lost");
	uint64_t v = 0;
	CHECK(read(e, &v, 8) == 8 && v == 42, "counter is %llu, not 42", (unsigned long long)v);
	CHECK(read(e, &v, 8) < 0 && errno == EAGAIN, "a second read did not find the counter empty");
	for (int i = 0; i < 3; i++)
		CHECK(read(s, &v, 8) == 8 && v == 1, "semaphore read %d gave %llu (EFD_SEMAPHORE lost?)", i, (unsigned long long)v);
	CHECK(read(s, &v, 8) < 0 && errno == EAGAIN, "the semaphore held more than 3");
	return pass();
}
