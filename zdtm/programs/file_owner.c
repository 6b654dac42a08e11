/*
 * file_owner: the owner, group and mode of files that exist only as open fds come back: an unlinked file owned
 * by nobody:nogroup with mode 0640 (and its contents), and a memfd given to nobody with mode 0604.
 */
#include "zdtmlib.h"
#include <sys/mman.h>

#define NOBODY 65534

static int has(int fd, uid_t uid, gid_t gid, mode_t mode, char *why, size_t len)
{
	struct stat st;
	if (fstat(fd, &st) != 0)
		return snprintf(why, len, "fstat: %s", strerror(errno)), 0;
	if (st.st_uid != uid || st.st_gid != gid || (st.st_mode & 07777) != mode)
		return snprintf(why, len, "owner %d:%d mode 0%o, not %d:%d 0%o", st.st_uid, st.st_gid, st.st_mode & 07777,
				uid, gid, mode), 0;
	return 1;
}

int main(int argc, char **argv)
{
	test_init(argc, argv);
	int f = open(test_path("gone"), O_RDWR | O_CREAT | O_TRUNC, 0600);
	SETUP(f >= 0 && write(f, "contents", 8) == 8, "file");
	SETUP(fchown(f, NOBODY, NOBODY) == 0 && fchmod(f, 0640) == 0 && unlink(test_path("gone")) == 0, "chown, chmod, unlink");
	int m = memfd_create("owned", MFD_CLOEXEC);
	SETUP(m >= 0 && write(m, "memfd", 5) == 5, "memfd");
	SETUP(fchown(m, NOBODY, NOBODY) == 0 && fchmod(m, 0604) == 0, "memfd chown, chmod");
	test_ready();
	test_wait();
	char why[256], buf[16] = "";
	CHECK(has(f, NOBODY, NOBODY, 0640, why, sizeof(why)), "the unlinked file: %s", why);
	CHECK(pread(f, buf, sizeof(buf), 0) == 8 && memcmp(buf, "contents", 8) == 0, "the unlinked file lost its contents");
	CHECK(has(m, NOBODY, NOBODY, 0604, why, sizeof(why)), "the memfd: %s", why);
	CHECK(pread(m, buf, sizeof(buf), 0) == 5 && memcmp(buf, "memfd", 5) == 0, "the memfd lost its contents");
	return pass();
}
