/* file_append: a file open with O_APPEND keeps the flag: a write after the dump lands at the end. */
#include "zdtmlib.h"

int main(int argc, char **argv)
{
	test_init(argc, argv);
	int fd = open(test_path("log"), O_WRONLY | O_CREAT | O_TRUNC | O_APPEND, 0644);
	SETUP(fd >= 0, "open");
	SETUP(write(fd, "before\n", 7) == 7, "write");
	int other = open(test_path("log"), O_WRONLY);
	SETUP(other >= 0 && write(other, "BEFORE\n", 7) == 7 && close(other) == 0, "overwrite");
	test_ready();
	test_wait();
	CHECK(fcntl(fd, F_GETFL) & O_APPEND, "O_APPEND lost: flags %#x", fcntl(fd, F_GETFL));
	CHECK(write(fd, "after\n", 6) == 6, "write: %s", strerror(errno));
	char got[64] = "";
	int r = open(test_path("log"), O_RDONLY);
	ssize_t n = read(r, got, sizeof(got) - 1);
	got[n > 0 ? n : 0] = 0;
	CHECK(strcmp(got, "BEFORE\nafter\n") == 0, "the file reads '%s'", got);
	return pass();
}
