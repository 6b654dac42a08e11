/* map_readonly: anonymous memory filled, then made read-only; contents and protection stay, and writes still fault. */
#include "zdtmlib.h"
#include <setjmp.h>

static sigjmp_buf env;

static void on_segv(int sig)
{
	(void)sig;
	siglongjmp(env, 1);
}

int main(int argc, char **argv)
{
	test_init(argc, argv);
	size_t len = 1ul << 20;
	uint8_t *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	SETUP(p != MAP_FAILED, "mmap");
	test_fill(p, len, 5);
	SETUP(mprotect(p, len, PROT_READ) == 0, "mprotect");
	test_ready();
	test_wait();
	CHECK(strcmp(test_perms(p), "r--p") == 0, "mapping is %s, not r--p", test_perms(p));
	long bad = test_verify(p, len, 5);
	CHECK(bad < 0, "byte %ld changed", bad);
	struct sigaction sa = {.sa_handler = on_segv};
	sigaction(SIGSEGV, &sa, NULL);
	if (sigsetjmp(env, 1) == 0) {
		*(volatile uint8_t *)p = 1;
		return fail("a write to the read-only mapping succeeded");
	}
	return pass();
}
