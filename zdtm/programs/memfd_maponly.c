/*
 * memfd_maponly: a memfd whose fd was closed after mmap, kept by its mappings alone: one shared and writable,
 * one shared and read-only, one private with a page copied on write. After restore the memfd holds its data
 * and name, the two shared mappings are still one memfd (a write through one is seen through the other), the
 * private mapping keeps its own page and still shows the memfd elsewhere, the read-only one may still be made
 * writable (it was mapped from a writable opening), and no fd of the memfd appeared.
 */
#include "zdtmlib.h"

#define LEN (256ul << 10)

int main(int argc, char **argv)
{
	test_init(argc, argv);
	int fd = memfd_create("zdtm-memfd-maponly", 0);
	SETUP(fd >= 0 && ftruncate(fd, LEN) == 0, "memfd_create");
	uint8_t *rw = mmap(NULL, LEN, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	uint8_t *ro = mmap(NULL, LEN, PROT_READ, MAP_SHARED, fd, 0);
	uint8_t *priv = mmap(NULL, LEN, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	SETUP(rw != MAP_FAILED && ro != MAP_FAILED && priv != MAP_FAILED, "mmap");
	SETUP(close(fd) == 0, "close");
	test_fill(rw, LEN, 17);
	memset(priv, 0xAB, 4096); /* the private mapping's first page is its own from here on */
	test_ready();
	test_wait();
	long bad = test_verify(rw, LEN, 17);
	CHECK(bad < 0, "byte %ld of the writable mapping changed", bad);
	bad = test_verify(ro, LEN, 17);
	CHECK(bad < 0, "byte %ld of the read-only mapping changed", bad);
	for (int i = 0; i < 4096; i++)
		CHECK(priv[i] == 0xAB, "byte %d of the private page is %#x, not 0xab", i, priv[i]);
	for (size_t i = 4096; i < LEN; i++)
		CHECK(priv[i] == test_pattern(17, i), "byte %zu past the private page does not show the memfd", i);
	rw[100] = 0x5A;
	rw[8192] = 0x33;
	CHECK(ro[100] == 0x5A, "a write through one shared mapping is not seen through the other");
	CHECK(priv[8192] == 0x33, "the private mapping no longer shows the memfd where it has no page of its own");
	CHECK(strstr(test_maps_line(rw), "/memfd:zdtm-memfd-maponly") != NULL, "mapping is %s", test_maps_line(rw));
	CHECK(strstr(test_maps_line(ro), " r--s ") != NULL, "read-only mapping is %s", test_maps_line(ro));
	CHECK(strstr(test_maps_line(priv), " rw-p ") != NULL, "private mapping is %s", test_maps_line(priv));
	/* mapped from a writable opening, as the one at dump was: it may be made writable, and is the memfd still */
	CHECK(mprotect(ro, LEN, PROT_READ | PROT_WRITE) == 0, "the read-only shared mapping cannot be made writable: %s",
	      strerror(errno));
	ro[300] = 0x44;
	CHECK(rw[300] == 0x44, "a write through the once read-only mapping is not seen through the other");
	char link[256];
	for (int n = 0; n < 1024; n++) {
		char path[64];
		snprintf(path, sizeof(path), "/proc/self/fd/%d", n);
		ssize_t len = readlink(path, link, sizeof(link) - 1);
		if (len > 0) {
			link[len] = 0;
			CHECK(strstr(link, "memfd:") == NULL, "fd %d is %s: the restore left an fd of the memfd", n, link);
		}
	}
	return pass();
}
