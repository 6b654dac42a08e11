/*
 * map_file_private: a private mapping of a file, with some pages written (copied on write) and others not;
 * written pages keep what was written, the others still show the file, and the file is unchanged.
 */
#include "zdtmlib.h"

#define PAGES 64

int main(int argc, char **argv)
{
	test_init(argc, argv);
	size_t len = PAGES * 4096ul;
	int fd = open(test_path("data"), O_RDWR | O_CREAT | O_TRUNC, 0644);
	SETUP(fd >= 0, "open");
	uint8_t *buf = malloc(len);
	test_fill(buf, len, 3);
	SETUP(write(fd, buf, len) == (ssize_t)len, "write");
	uint8_t *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	SETUP(p != MAP_FAILED, "mmap");
	close(fd);
	for (int i = 0; i < PAGES; i += 2)
		memset(p + i * 4096ul, 0x5A, 4096);
	test_ready();
	test_wait();
	for (int i = 0; i < PAGES; i++) {
		for (int j = 0; j < 4096; j++) {
			uint8_t want = i % 2 == 0 ? 0x5A : buf[i * 4096 + j];
			CHECK(p[i * 4096 + j] == want, "page %d byte %d is %#x, not %#x", i, j, p[i * 4096 + j], want);
		}
	}
	fd = open(test_path("data"), O_RDONLY);
	CHECK(fd >= 0, "reopen: %s", strerror(errno));
	uint8_t *again = malloc(len);
	CHECK(read(fd, again, len) == (ssize_t)len, "read back");
	CHECK(test_verify(again, len, 3) < 0, "the private writes reached the file");
	CHECK(strstr(test_maps_line(p), "/data") != NULL, "the mapping is no longer of the file: %s", test_maps_line(p));
	return pass();
}
