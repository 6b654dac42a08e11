/*
 * lazy_madvise: madvise(MADV_DONTNEED) over memory whose pages a lazy restore has yet to place. The dropped
 * pages read as zeroes from then on (the daemon must never place the dump's data there: EVENT_REMOVE), the
 * others keep their data, and a page written after the drop keeps what was written.
 */
#include "zdtmlib.h"

#define PAGE 4096ul
#define LEN (16ul << 20)

int main(int argc, char **argv)
{
	test_init(argc, argv);
	uint8_t *p = mmap(NULL, LEN, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	SETUP(p != MAP_FAILED, "mmap");
	test_fill(p, LEN, 21);
	test_ready();
	test_wait();
	/* one page of the first quarter read before: the drop covers placed and unplaced pages alike */
	CHECK(p[PAGE] == test_pattern(21, PAGE), "page 1 changed before the drop");
	uint8_t *drop = p + LEN / 4;
	CHECK(madvise(p, LEN / 4, MADV_DONTNEED) == 0, "madvise(first quarter): %s", strerror(errno));
	CHECK(madvise(drop + LEN / 4, LEN / 8, MADV_DONTNEED) == 0, "madvise(middle): %s", strerror(errno));
	p[2 * PAGE + 5] = 0x77; /* written after its drop */
	for (size_t i = 0; i < LEN / 4; i += 256)
		CHECK(p[i] == 0, "byte %zu of the dropped first quarter is %d, not 0", i, p[i]);
	CHECK(p[2 * PAGE + 5] == 0x77, "a byte written after the drop reads %d", p[2 * PAGE + 5]);
	for (size_t i = LEN / 2; i < LEN / 2 + LEN / 8; i += 256)
		CHECK(p[i] == 0, "byte %zu of the dropped middle is %d, not 0", i, p[i]);
	for (size_t i = LEN / 4; i < LEN / 2; i++)
		CHECK(p[i] == test_pattern(21, i), "byte %zu (kept) changed", i);
	for (size_t i = LEN / 2 + LEN / 8; i < LEN; i++)
		CHECK(p[i] == test_pattern(21, i), "byte %zu (kept) changed", i);
	return pass();
}
