/*
 * lazy_mremap: memory moved, grown and shrunk with mremap after the restore, while a lazy restore's pages are
 * still due: whatever moved must arrive at its new address (EVENT_REMAP), whatever was cut off must not come
 * back, and the part grown in reads as zeroes.
 */
#include "zdtmlib.h"

#define PAGE 4096ul
#define LEN (8ul << 20)

int main(int argc, char **argv)
{
	test_init(argc, argv);
	uint8_t *a = mmap(NULL, LEN, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	uint8_t *b = mmap(NULL, LEN, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	uint8_t *c = mmap(NULL, LEN, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	SETUP(a != MAP_FAILED && b != MAP_FAILED && c != MAP_FAILED, "mmap");
	/* a landing place for a, reserved now so that the move is to a known free range */
	uint8_t *to = mmap(NULL, LEN, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	SETUP(to != MAP_FAILED, "mmap(landing)");
	test_fill(a, LEN, 11);
	test_fill(b, LEN, 12);
	test_fill(c, LEN, 13);
	test_ready();
	test_wait();
	/* a moves whole, one page of it read first */
	CHECK(a[PAGE * 3] == test_pattern(11, PAGE * 3), "a's page 3 changed before the move");
	uint8_t *moved = mremap(a, LEN, LEN, MREMAP_MAYMOVE | MREMAP_FIXED, to);
	CHECK(moved == to, "mremap(a): %s", strerror(errno));
	long bad = test_verify(moved, LEN, 11);
	CHECK(bad < 0, "byte %ld of a changed in its move", bad);
	/* b shrinks to half: its second half is gone, the first stays */
	CHECK(mremap(b, LEN, LEN / 2, 0) == b, "mremap(b, shrink): %s", strerror(errno));
	bad = test_verify(b, LEN / 2, 12);
	CHECK(bad < 0, "byte %ld of b changed when it shrank", bad);
	/* c grows where it can, moving if it must: the old part keeps its data, the new part reads as zeroes */
	uint8_t *grown = mremap(c, LEN, 2 * LEN, MREMAP_MAYMOVE);
	CHECK(grown != MAP_FAILED, "mremap(c, grow): %s", strerror(errno));
	bad = test_verify(grown, LEN, 13);
	CHECK(bad < 0, "byte %ld of c changed when it grew", bad);
	for (size_t i = LEN; i < 2 * LEN; i += 512)
		CHECK(grown[i] == 0, "byte %zu of c's grown part is %d, not 0", i, grown[i]);
	return pass();
}
