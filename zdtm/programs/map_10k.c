/* map_10k: 10,000 one-page VMAs (alternating protections keep them apart), each with its own data. */
#include "zdtmlib.h"

#define N 10000

int main(int argc, char **argv)
{
	test_init(argc, argv);
	size_t page = 4096;
	uint8_t *p = mmap(NULL, N * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	SETUP(p != MAP_FAILED, "mmap");
	for (int i = 0; i < N; i++)
		*(uint32_t *)(p + i * page) = 0xA0000000u + i;
	for (int i = 0; i < N; i += 2)
		SETUP(mprotect(p + i * page, page, PROT_READ) == 0, "mprotect");
	test_ready();
	test_wait();
	for (int i = 0; i < N; i++) {
		const char *want = i % 2 ? "rw-p" : "r--p";
		CHECK(*(uint32_t *)(p + i * page) == 0xA0000000u + i, "VMA %d lost its data", i);
		if (i % 500 == 0)
			CHECK(strcmp(test_perms(p + i * page), want) == 0, "VMA %d is %s, not %s", i, test_perms(p + i * page), want);
	}
	int vmas = 0;
	char line[512];
	FILE *f = fopen("/proc/self/maps", "r");
	while (f && fgets(line, sizeof(line), f))
		vmas++;
	if (f)
		fclose(f);
	CHECK(vmas >= N, "only %d VMAs in /proc/self/maps", vmas);
	return pass();
}
