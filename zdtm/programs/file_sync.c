/* file_sync: a file open with O_SYNC (and one with O_DSYNC) keeps its flags and offset. */
#include "zdtmlib.h"

int main(int argc, char **argv)
{
	test_init(argc, argv);
	int s = open(test_path("sync"), O_RDWR | O_CREAT | O_TRUNC | O_SYNC, 0644);
	int d = open(test_path("dsync"), O_RDWR | O_CREAT | O_TRUNC | O_DSYNC, 0644);
	SETUP(s >= 0 && d >= 0, "open");
	SETUP(write(s, "sync", 4) == 4 && write(d, "dsync", 5) == 5, "write");
	test_ready();
	test_wait();
	CHECK((fcntl(s, F_GETFL) & O_SYNC) == O_SYNC, "O_SYNC lost: flags %#x", fcntl(s, F_GETFL));
	CHECK((fcntl(d, F_GETFL) & O_SYNC) == O_DSYNC, "O_DSYNC changed: flags %#x", fcntl(d, F_GETFL));
	CHECK(lseek(s, 0, SEEK_CUR) == 4 && lseek(d, 0, SEEK_CUR) == 5, "offsets are %lld %lld",
	      (long long)lseek(s, 0, SEEK_CUR), (long long)lseek(d, 0, SEEK_CUR));
	return pass();
}
