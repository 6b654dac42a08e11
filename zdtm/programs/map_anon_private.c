/* map_anon_private: 64 MiB of private anonymous memory filled with a pattern is the same after the dump. */
#include "zdtmlib.h"

#define LEN (64ul << 20)

int main(int argc, char **argv)
{
	test_init(argc, argv);
	uint8_t *p = mmap(NULL, LEN, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	SETUP(p != MAP_FAILED, "mmap");
	test_fill(p, LEN, 1);
	char before[512];
	snprintf(before, sizeof(before), "%s", test_maps_line(p));
	test_ready();
	test_wait();
	long bad = test_verify(p, LEN, 1);
	CHECK(bad < 0, "byte %ld of the mapping changed", bad);
	CHECK(strcmp(test_maps_line(p), before) == 0, "mapping is now '%s', was '%s'", test_maps_line(p), before);
	return pass();
}
