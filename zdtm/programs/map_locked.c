/*
 * map_locked: an mlock()ed anonymous mapping (VM_LOCKED), half of a file mapping locked with mlock(), and an
 * unlocked neighbour come back with their contents, locked and unlocked as they were: smaps shows "lo" in
 * VmFlags and Locked equal to the size for the locked ones, neither for the other.
 */
#include "zdtmlib.h"

/* Whether smaps shows the mapping at ADDR locked ("lo") and how many kB it says are Locked. */
static int locked(const void *addr, long *locked_kb)
{
	char line[1024];
	int in = 0, lo = 0;
	*locked_kb = -1;
	FILE *f = fopen("/proc/self/smaps", "re");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		unsigned long a, b;
		if (sscanf(line, "%lx-%lx ", &a, &b) == 2 && strchr(line, '-') < strchr(line, ' ')) {
			in = (unsigned long)addr >= a && (unsigned long)addr < b;
			continue;
		}
		if (!in)
			continue;
		if (strncmp(line, "Locked:", 7) == 0)
			*locked_kb = atol(line + 7);
		if (strncmp(line, "VmFlags:", 8) == 0)
			lo = strstr(line, " lo") != NULL;
	}
	fclose(f);
	return lo;
}

int main(int argc, char **argv)
{
	test_init(argc, argv);
	size_t len = 64 * 4096;
	uint8_t *anon = mmap(NULL, 3 * len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	SETUP(anon != MAP_FAILED, "mmap");
	test_fill(anon, 3 * len, 7);
	SETUP(mlock(anon, len) == 0, "mlock"); /* the first third: split from the rest */
	int fd = open(test_path("data"), O_RDWR | O_CREAT | O_TRUNC, 0600);
	SETUP(fd >= 0 && ftruncate(fd, len) == 0, "file");
	uint8_t *file = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	SETUP(file != MAP_FAILED, "mmap file");
	test_fill(file, len, 8);
	SETUP(mlock(file + len / 2, len / 2) == 0, "mlock file");
	test_ready();
	test_wait();
	long kb;
	CHECK(locked(anon, &kb) == 1 && kb == (long)(len / 1024), "the locked anonymous mapping: lo %d, Locked %ld kB", locked(anon, &kb), kb);
	CHECK(locked(anon + len, &kb) == 0 && kb == 0, "its unlocked neighbour: lo %d, Locked %ld kB", locked(anon + len, &kb), kb);
	CHECK(locked(file + len / 2, &kb) == 1 && kb == (long)(len / 2 / 1024), "the locked half of the file mapping: Locked %ld kB", kb);
	CHECK(locked(file, &kb) == 0, "the unlocked half of the file mapping is locked");
	CHECK(test_verify(anon, 3 * len, 7) < 0, "anonymous memory differs");
	CHECK(test_verify(file, len, 8) < 0, "the file mapping differs");
	return pass();
}
