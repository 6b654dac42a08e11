/* file_offset: a regular file open read-write at offset 12345; offset, flags and contents stay. */
#include "zdtmlib.h"

int main(int argc, char **argv)
{
	test_init(argc, argv);
	int fd = open(test_path("data"), O_RDWR | O_CREAT | O_TRUNC, 0644);
	SETUP(fd >= 0, "open");
	static uint8_t buf[100000];
	test_fill(buf, sizeof(buf), 11);
	SETUP(write(fd, buf, sizeof(buf)) == sizeof(buf), "write");
	SETUP(lseek(fd, 12345, SEEK_SET) == 12345, "lseek");
	test_ready();
	test_wait();
	off_t off = lseek(fd, 0, SEEK_CUR);
	CHECK(off == 12345, "offset is %lld, not 12345", (long long)off);
	CHECK((fcntl(fd, F_GETFL) & O_ACCMODE) == O_RDWR, "flags are %#x", fcntl(fd, F_GETFL));
	uint8_t b[16];
	CHECK(read(fd, b, sizeof(b)) == sizeof(b) && memcmp(b, buf + 12345, sizeof(b)) == 0, "data at 12345 changed");
	struct stat a, s;
	CHECK(fstat(fd, &a) == 0 && stat(test_path("data"), &s) == 0 && a.st_ino == s.st_ino, "fd is not DIR/data");
	return pass();
}
