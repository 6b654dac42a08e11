/* sigaltstack: an alternate signal stack stays set, and a SA_ONSTACK handler runs on it after the dump. */
#include "zdtmlib.h"

#define STACK (64 * 1024)
static uint8_t *stack;
static volatile int on_alt;

static void on_usr1(int sig)
{
	(void)sig;
	uint8_t here;
	on_alt = &here >= stack && &here < stack + STACK;
}

int main(int argc, char **argv)
{
	test_init(argc, argv);
	stack = mmap(NULL, STACK, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	SETUP(stack != MAP_FAILED, "mmap");
	stack_t ss = {.ss_sp = stack, .ss_size = STACK, .ss_flags = 0};
	SETUP(sigaltstack(&ss, NULL) == 0, "sigaltstack");
	struct sigaction sa = {.sa_handler = on_usr1, .sa_flags = SA_ONSTACK};
	sigemptyset(&sa.sa_mask);
	SETUP(sigaction(SIGUSR1, &sa, NULL) == 0, "sigaction");
	test_ready();
	test_wait();
	stack_t got;
	CHECK(sigaltstack(NULL, &got) == 0, "sigaltstack: %s", strerror(errno));
	CHECK(got.ss_sp == stack && got.ss_size == STACK && got.ss_flags == 0, "alt stack is %p+%zu flags %d, not %p+%d",
	      got.ss_sp, got.ss_size, got.ss_flags, (void *)stack, STACK);
	raise(SIGUSR1);
	CHECK(on_alt, "the SA_ONSTACK handler did not run on the alternate stack");
	return pass();
}
