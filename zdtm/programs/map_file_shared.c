/* map_file_shared: a shared mapping of a file written through the mapping; file and mapping agree, and a write after the dump reaches the file. */
#include "zdtmlib.h"

#define LEN (1ul << 20)

int main(int argc, char **argv)
{
	test_init(argc, argv);
	int fd = open(test_path("data"), O_RDWR | O_CREAT | O_TRUNC, 0644);
	SETUP(fd >= 0 && ftruncate(fd, LEN) == 0, "create");
	uint8_t *p = mmap(NULL, LEN, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	SETUP(p != MAP_FAILED, "mmap");
	close(fd);
	test_fill(p, LEN, 4);
	test_ready();
	test_wait();
	long bad = test_verify(p, LEN, 4);
	CHECK(bad < 0, "byte %ld of the mapping changed", bad);
	p[100] = 0xAB;
	CHECK(msync(p, LEN, MS_SYNC) == 0, "msync: %s", strerror(errno));
	fd = open(test_path("data"), O_RDONLY);
	uint8_t b = 0;
	CHECK(fd >= 0 && pread(fd, &b, 1, 100) == 1, "read the file: %s", strerror(errno));
	CHECK(b == 0xAB, "a write through the mapping did not reach the file (byte is %#x): not shared", b);
	CHECK(strstr(test_maps_line(p), "rw-s") != NULL, "mapping is %s", test_maps_line(p));
	return pass();
}
