/* stack_deep: 2000 nested calls, each with its own frame data, wait at the bottom; every frame is intact on the way back. */
#include "zdtmlib.h"

static int depth_fail = -1;

__attribute__((noinline)) static int descend(int n)
{
	volatile uint64_t frame[16];
	for (int i = 0; i < 16; i++)
		frame[i] = (uint64_t)n * 1000 + i;
	if (n == 0) {
		test_ready();
		test_wait();
	} else if (descend(n - 1)) {
		return 1;
	}
	for (int i = 0; i < 16; i++)
		if (frame[i] != (uint64_t)n * 1000 + i) {
			depth_fail = n;
			return 1;
		}
	return 0;
}

int main(int argc, char **argv)
{
	test_init(argc, argv);
	if (descend(2000))
		return fail("the frame at depth %d changed", depth_fail);
	return pass();
}
