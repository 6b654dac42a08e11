/* map_mprotect_split: one mapping split by mprotect into 8 VMAs of alternating protection; each keeps protection and data. */
#include "zdtmlib.h"

#define PARTS 8

int main(int argc, char **argv)
{
	test_init(argc, argv);
	size_t part = 4 * 4096;
	uint8_t *p = mmap(NULL, PARTS * part, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	SETUP(p != MAP_FAILED, "mmap");
	test_fill(p, PARTS * part, 7);
	static const int prots[] = {PROT_READ, PROT_READ | PROT_WRITE, PROT_READ | PROT_EXEC, PROT_READ | PROT_WRITE};
	static const char *names[] = {"r--p", "rw-p", "r-xp", "rw-p"};
	for (int i = 0; i < PARTS; i += 2)
		SETUP(mprotect(p + i * part, part, prots[(i / 2) % 4]) == 0, "mprotect");
	char before[PARTS][512];
	for (int i = 0; i < PARTS; i++)
		snprintf(before[i], sizeof(before[i]), "%s", test_maps_line(p + i * part));
	test_ready();
	test_wait();
	for (int i = 0; i < PARTS; i++) {
		const char *want = i % 2 ? "rw-p" : names[(i / 2) % 4];
		CHECK(strcmp(test_perms(p + i * part), want) == 0, "part %d is %s, not %s", i, test_perms(p + i * part), want);
		CHECK(strcmp(test_maps_line(p + i * part), before[i]) == 0, "part %d is '%s', was '%s'", i,
		      test_maps_line(p + i * part), before[i]);
	}
	CHECK(test_verify(p, PARTS * part, 7) < 0, "the data changed");
	return pass();
}
