/* map_thp: a 2 MiB-aligned region with MADV_HUGEPAGE keeps its data and its hugepage advice (VmFlags hg). */
#include "zdtmlib.h"

#define HUGE (2ul << 20)
#define LEN (8 * HUGE)

/* Whether the smaps entry of the mapping at ADDR has VmFlags FLAG. */
static int vmflag(void *addr, const char *flag)
{
	char line[512], start[32];
	snprintf(start, sizeof(start), "%lx-", (unsigned long)addr);
	FILE *f = fopen("/proc/self/smaps", "r");
	int in = 0, found = 0;
	while (f && fgets(line, sizeof(line), f)) {
		if (strncmp(line, start, strlen(start)) == 0)
			in = 1;
		else if (in && strncmp(line, "VmFlags:", 8) == 0) {
			char word[8];
			snprintf(word, sizeof(word), " %s", flag);
			found = strstr(line, word) != NULL;
			break;
		}
	}
	if (f)
		fclose(f);
	return found;
}

int main(int argc, char **argv)
{
	test_init(argc, argv);
	uint8_t *raw = mmap(NULL, LEN + HUGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	SETUP(raw != MAP_FAILED, "mmap");
	uint8_t *p = (uint8_t *)(((uintptr_t)raw + HUGE - 1) & ~(HUGE - 1));
	if (p > raw)
		munmap(raw, p - raw);
	munmap(p + LEN, raw + LEN + HUGE - (p + LEN));
	SETUP(madvise(p, LEN, MADV_HUGEPAGE) == 0, "madvise(MADV_HUGEPAGE)");
	test_fill(p, LEN, 9);
	SETUP(vmflag(p, "hg"), "VmFlags hg");
	test_ready();
	test_wait();
	CHECK(vmflag(p, "hg"), "the mapping lost MADV_HUGEPAGE (no hg in VmFlags)");
	long bad = test_verify(p, LEN, 9);
	CHECK(bad < 0, "byte %ld changed", bad);
	return pass();
}
