/* map_guard: PROT_NONE guard regions on both sides of a buffer stay inaccessible, the buffer keeps its data. */
#include "zdtmlib.h"
#include <setjmp.h>

static sigjmp_buf env;

static void on_segv(int sig)
{
	(void)sig;
	siglongjmp(env, 1);
}

static int faults(volatile uint8_t *addr)
{
	if (sigsetjmp(env, 1) == 0) {
		(void)*addr;
		return 0;
	}
	return 1;
}

int main(int argc, char **argv)
{
	test_init(argc, argv);
	size_t page = 4096, len = 16 * page;
	uint8_t *p = mmap(NULL, len + 2 * page, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	SETUP(p != MAP_FAILED, "mmap");
	uint8_t *buf = p + page;
	SETUP(mprotect(buf, len, PROT_READ | PROT_WRITE) == 0, "mprotect");
	test_fill(buf, len, 6);
	test_ready();
	test_wait();
	CHECK(strcmp(test_perms(p), "---p") == 0, "low guard is %s", test_perms(p));
	CHECK(strcmp(test_perms(buf + len), "---p") == 0, "high guard is %s", test_perms(buf + len));
	CHECK(strcmp(test_perms(buf), "rw-p") == 0, "buffer is %s", test_perms(buf));
	CHECK(test_verify(buf, len, 6) < 0, "the buffer changed");
	struct sigaction sa = {.sa_handler = on_segv};
	sigaction(SIGSEGV, &sa, NULL);
	CHECK(faults(p), "the low guard page is readable");
	CHECK(faults(buf + len), "the high guard page is readable");
	return pass();
}
