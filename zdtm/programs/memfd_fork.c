/*
 * memfd_fork: a memfd created, sealed and mapped shared before fork, so that parent and child hold it by one
 * fd (one open file description) and one mapping each. After restore it is still one memfd: what the child
 * writes through its mapping and its fd, the parent reads through its mapping and its fd, and the shared
 * offset that the child moves is the parent's too.
 */
#include "zdtmlib.h"

#define LEN (1ul << 20)
#define FLAG (LEN - 4096)

int main(int argc, char **argv)
{
	test_init(argc, argv);
	int fd = memfd_create("zdtm-memfd-fork", MFD_ALLOW_SEALING);
	SETUP(fd >= 0 && ftruncate(fd, LEN) == 0, "memfd_create");
	uint8_t *p = mmap(NULL, LEN, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	SETUP(p != MAP_FAILED, "mmap");
	test_fill(p, FLAG, 21);
	SETUP(fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW) == 0, "seal");
	SETUP(lseek(fd, 10, SEEK_SET) == 10, "lseek");
	pid_t child = fork();
	SETUP(child >= 0, "fork");
	if (child == 0) {
		test_wait();
		if (test_verify(p, FLAG, 21) >= 0)
			_exit(3);
		if (fcntl(fd, F_GET_SEALS) != (F_SEAL_SHRINK | F_SEAL_GROW))
			_exit(4);
		*(volatile uint32_t *)(p + FLAG) = 0xC0FFEE;
		if (pwrite(fd, "child", 5, FLAG + 8) != 5 || lseek(fd, 100, SEEK_SET) != 100)
			_exit(5);
		_exit(0);
	}
	test_ready();
	test_wait();
	long bad = test_verify(p, FLAG, 21);
	CHECK(bad < 0, "byte %ld of the mapping changed", bad);
	CHECK(fcntl(fd, F_GET_SEALS) == (F_SEAL_SHRINK | F_SEAL_GROW), "seals are %#x", fcntl(fd, F_GET_SEALS));
	CHECK(lseek(fd, 0, SEEK_CUR) == 10, "the offset is %ld, not 10", (long)lseek(fd, 0, SEEK_CUR));
	kill(child, SIGTERM);
	int st;
	CHECK(waitpid(child, &st, 0) == child, "waitpid: %s", strerror(errno));
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "the child found its memfd changed (status 0x%x)", st);
	uint32_t flag = 0;
	CHECK(pread(fd, &flag, 4, FLAG) == 4 && flag == 0xC0FFEE, "the child's write through its mapping is not in the parent's memfd");
	CHECK(memcmp(p + FLAG + 8, "child", 5) == 0, "the child's write through its fd is not in the parent's mapping");
	CHECK(lseek(fd, 0, SEEK_CUR) == 100, "the child's lseek did not move the parent's offset: the fds are no longer one description");
	return pass();
}
