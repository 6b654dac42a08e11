/*
 * map_holes: pages dropped with madvise(MADV_DONTNEED) read as zero and are not resident after the dump
 * (a restore must not fill them); the pages around them keep their data.
 */
#include "zdtmlib.h"

#define PAGES 256

int main(int argc, char **argv)
{
	test_init(argc, argv);
	size_t page = 4096, len = PAGES * page;
	uint8_t *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	SETUP(p != MAP_FAILED, "mmap");
	test_fill(p, len, 8);
	for (int i = 0; i < PAGES; i += 3)
		SETUP(madvise(p + i * page, page, MADV_DONTNEED) == 0, "madvise");
	test_ready();
	test_wait();
	unsigned char vec[PAGES];
	CHECK(mincore(p, len, vec) == 0, "mincore: %s", strerror(errno));
	for (int i = 0; i < PAGES; i++) {
		if (i % 3 == 0) {
			CHECK(!(vec[i] & 1), "hole page %d is resident", i);
			for (size_t j = 0; j < page; j++)
				CHECK(p[i * page + j] == 0, "hole page %d byte %zu is %#x", i, j, p[i * page + j]);
		} else {
			for (size_t j = 0; j < page; j++)
				CHECK(p[i * page + j] == test_pattern(8, i * page + j), "page %d byte %zu changed", i, j);
		}
	}
	return pass();
}
