/* tls: thread-local variables of the main thread and of a second thread, and each thread's FS base, stay the same. */
#include "zdtmlib.h"
#include <asm/prctl.h>
#include <pthread.h>
#include <sys/syscall.h>

static __thread uint64_t tls_value = 0x1122334455667788ull;
static __thread char tls_text[64];

static unsigned long fs_base(void)
{
	unsigned long fs = 0;
	syscall(SYS_arch_prctl, ARCH_GET_FS, &fs);
	return fs;
}

static volatile int done;
static volatile unsigned long worker_fs;
static volatile int worker_ok = -1;

static void *worker(void *arg)
{
	(void)arg;
	tls_value = 0xABCDEF;
	snprintf(tls_text, sizeof(tls_text), "worker");
	worker_fs = fs_base();
	while (!done)
		usleep(1000);
	worker_ok = tls_value == 0xABCDEF && strcmp(tls_text, "worker") == 0 && worker_fs == fs_base();
	return NULL;
}

int main(int argc, char **argv)
{
	test_init(argc, argv);
	sigset_t term, old;
	sigemptyset(&term);
	sigaddset(&term, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &term, &old);
	pthread_t t;
	SETUP(pthread_create(&t, NULL, worker, NULL) == 0, "pthread_create");
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	while (!worker_fs)
		usleep(1000);
	tls_value += 1;
	snprintf(tls_text, sizeof(tls_text), "main thread");
	unsigned long fs = fs_base();
	test_ready();
	test_wait();
	CHECK(fs_base() == fs, "FS base is %#lx, not %#lx", fs_base(), fs);
	CHECK(tls_value == 0x1122334455667789ull, "TLS value is %#llx", (unsigned long long)tls_value);
	CHECK(strcmp(tls_text, "main thread") == 0, "TLS text is '%s'", tls_text);
	done = 1;
	pthread_join(t, NULL);
	CHECK(worker_ok == 1, "the worker's TLS or FS base changed");
	return pass();
}
