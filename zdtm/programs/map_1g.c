/* map_1g: a 1 GiB private anonymous mapping, every page written with its own index and a pattern; all of it survives. */
#include "zdtmlib.h"

#define LEN (1ul << 30)

int main(int argc, char **argv)
{
	test_init(argc, argv);
	uint8_t *p = mmap(NULL, LEN, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	SETUP(p != MAP_FAILED, "mmap");
	for (size_t off = 0; off < LEN; off += 4096) {
		((uint64_t *)(p + off))[0] = off / 4096;
		((uint64_t *)(p + off))[511] = ~(off / 4096) * 0x9E3779B97F4A7C15ull;
	}
	test_ready();
	test_wait();
	for (size_t off = 0; off < LEN; off += 4096) {
		uint64_t a = ((uint64_t *)(p + off))[0], b = ((uint64_t *)(p + off))[511];
		CHECK(a == off / 4096 && b == ~(off / 4096) * 0x9E3779B97F4A7C15ull, "page %zu changed (%llx %llx)",
		      off / 4096, (unsigned long long)a, (unsigned long long)b);
	}
	return pass();
}
