/*
 * lazy_thp: transparent huge pages (MADV_HUGEPAGE, 2 MiB-aligned) read and written right after the restore:
 * the data is as it was and a write lands (map_thp checks the advice). A lazy restore fills them
 * 4 KiB at a time.
 */
#include "zdtmlib.h"

#define HUGE (2ul << 20)
#define LEN (8 * HUGE)

int main(int argc, char **argv)
{
	test_init(argc, argv);
	uint8_t *raw = mmap(NULL, LEN + HUGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	SETUP(raw != MAP_FAILED, "mmap");
	uint8_t *p = (uint8_t *)(((uintptr_t)raw + HUGE - 1) & ~(HUGE - 1));
	SETUP(madvise(p, LEN, MADV_HUGEPAGE) == 0, "madvise(MADV_HUGEPAGE)");
	test_fill(p, LEN, 31);
	test_ready();
	test_wait();
	/* writes first, in every huge page, then reads of all */
	for (size_t h = 0; h < LEN; h += HUGE)
		p[h + HUGE / 2] = (uint8_t)~test_pattern(31, h + HUGE / 2);
	for (size_t i = 0; i < LEN; i++) {
		uint8_t want = test_pattern(31, i);
		if (i % HUGE == HUGE / 2)
			want = (uint8_t)~want;
		CHECK(p[i] == want, "byte %zu is %d, not %d", i, p[i], want);
	}
	return pass();
}
