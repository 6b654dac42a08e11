/*
 * map_anon_shared: a shared anonymous mapping keeps its contents and stays shared between parent and child:
 * after the dump the child writes into it and the parent sees the write.
 */
#include "zdtmlib.h"

#define LEN (4ul << 20)

int main(int argc, char **argv)
{
	test_init(argc, argv);
	uint8_t *p = mmap(NULL, LEN, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	SETUP(p != MAP_FAILED, "mmap");
	test_fill(p, LEN - 4096, 2);
	volatile uint32_t *flag = (uint32_t *)(p + LEN - 4096);
	pid_t child = fork();
	SETUP(child >= 0, "fork");
	if (child == 0) {
		test_wait();
		if (test_verify(p, LEN - 4096, 2) >= 0)
			_exit(3);
		*flag = 0xC0FFEE;
		_exit(0);
	}
	test_ready();
	test_wait();
	long bad = test_verify(p, LEN - 4096, 2);
	CHECK(bad < 0, "byte %ld of the shared mapping changed", bad);
	kill(child, SIGTERM);
	int st;
	CHECK(waitpid(child, &st, 0) == child, "waitpid: %s", strerror(errno));
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "the child found the shared mapping changed (status 0x%x)", st);
	CHECK(*flag == 0xC0FFEE, "the child's write is not seen by the parent: the mapping is no longer shared");
	return pass();
}
