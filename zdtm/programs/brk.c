/* brk: the heap grown with sbrk keeps its end and data, and can grow on after the dump. */
#include "zdtmlib.h"

#define GROW (3ul << 20)

int main(int argc, char **argv)
{
	test_init(argc, argv);
	uint8_t *start = sbrk(0);
	SETUP(sbrk(GROW) == start, "sbrk");
	test_fill(start, GROW, 16);
	uint8_t *end = sbrk(0);
	test_ready();
	test_wait();
	/* before any stdio, whose malloc may move the break */
	uint8_t *now = sbrk(0), *grown = sbrk(1 << 20);
	CHECK(now == end, "brk is %p, not %p", (void *)now, (void *)end);
	CHECK(grown == end, "the heap cannot grow: %s", strerror(errno));
	end[(1 << 20) - 1] = 1;
	CHECK(test_verify(start, GROW, 16) < 0, "heap data changed");
	CHECK(strstr(test_maps_line(start), "[heap]") != NULL, "the heap is '%s'", test_maps_line(start));
	return pass();
}
