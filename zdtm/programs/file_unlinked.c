/* file_unlinked: a file unlinked while open keeps its contents and offset behind its fd, and stays unlinked. */
#include "zdtmlib.h"

int main(int argc, char **argv)
{
	test_init(argc, argv);
	char path[4096];
	snprintf(path, sizeof(path), "%s", test_path("gone"));
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
	SETUP(fd >= 0, "open");
	static uint8_t buf[50000];
	test_fill(buf, sizeof(buf), 12);
	SETUP(write(fd, buf, sizeof(buf)) == sizeof(buf), "write");
	SETUP(lseek(fd, 777, SEEK_SET) == 777 && unlink(path) == 0, "unlink");
	test_ready();
	test_wait();
	CHECK(access(path, F_OK) != 0, "%s exists again", path);
	struct stat st;
	CHECK(fstat(fd, &st) == 0 && st.st_nlink == 0 && st.st_size == sizeof(buf), "fd has nlink %ld size %lld",
	      (long)st.st_nlink, (long long)st.st_size);
	CHECK(lseek(fd, 0, SEEK_CUR) == 777, "offset is %lld", (long long)lseek(fd, 0, SEEK_CUR));
	static uint8_t got[sizeof(buf)];
	CHECK(pread(fd, got, sizeof(got), 0) == sizeof(got) && test_verify(got, sizeof(got), 12) < 0, "contents changed");
	return pass();
}
