/*
 * memfd: a memfd with data, sealed against shrinking, mapped shared; fd, seals, mapping and data all stay, and
 * the fd and the mapping stay one memfd: a write through either is seen through the other.
 */
#include "zdtmlib.h"

#define LEN (2ul << 20)

int main(int argc, char **argv)
{
	test_init(argc, argv);
	int fd = memfd_create("zdtm-memfd", MFD_ALLOW_SEALING);
	SETUP(fd >= 0 && ftruncate(fd, LEN) == 0, "memfd_create");
	uint8_t *p = mmap(NULL, LEN, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	SETUP(p != MAP_FAILED, "mmap");
	test_fill(p, LEN, 13);
	SETUP(fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK) == 0, "seal");
	test_ready();
	test_wait();
	long bad = test_verify(p, LEN, 13);
	CHECK(bad < 0, "byte %ld of the mapping changed", bad);
	CHECK(fcntl(fd, F_GET_SEALS) == F_SEAL_SHRINK, "seals are %#x", fcntl(fd, F_GET_SEALS));
	CHECK(ftruncate(fd, LEN / 2) < 0 && errno == EPERM, "the memfd shrank despite F_SEAL_SHRINK");
	uint8_t b = 0;
	p[4242] = 0x77;
	CHECK(pread(fd, &b, 1, 4242) == 1 && b == 0x77, "a write through the mapping is not seen through the fd");
	b = 0x55;
	CHECK(pwrite(fd, &b, 1, LEN - 1) == 1 && p[LEN - 1] == 0x55, "a write through the fd is not seen through the mapping");
	CHECK(strstr(test_maps_line(p), "/memfd:zdtm-memfd") != NULL, "mapping is %s", test_maps_line(p));
	return pass();
}
