/*
 * lazy_fork: memory that is still due when the restored process forks. After SIGTERM a thread reads through
 * one area while the main thread forks children one after another; each child checks both areas (a lazy
 * restore's daemon must serve it through the userfaultfd the fork gave it, from its parent's pages), writes
 * into them and exits; the parent then checks that it still sees its own data, not its children's writes.
 */
#include <pthread.h>
#include "zdtmlib.h"

#define LEN (16ul << 20)
#define CHILDREN 4

static uint8_t *a, *b;
static volatile long reader_bad = -2;

static void *reader(void *arg)
{
	(void)arg;
	reader_bad = test_verify(b, LEN, 7); /* faults through b while the main thread forks */
	return NULL;
}

/* In the child: both areas as they were, then written over. Exit status 0, or 1 + which check failed. */
static int child(void)
{
	if (test_verify(a, LEN, 6) >= 0)
		return 1;
	if (test_verify(b, LEN, 7) >= 0)
		return 2;
	memset(a, 0x5a, LEN / 2);
	memset(b + LEN / 2, 0xa5, LEN / 2);
	return 0;
}

int main(int argc, char **argv)
{
	test_init(argc, argv);
	a = mmap(NULL, LEN, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	b = mmap(NULL, LEN, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	SETUP(a != MAP_FAILED && b != MAP_FAILED, "mmap");
	test_fill(a, LEN, 6);
	test_fill(b, LEN, 7);
	test_ready();
	test_wait();
	pthread_t t;
	CHECK(pthread_create(&t, NULL, reader, NULL) == 0, "pthread_create: %s", strerror(errno));
	for (int i = 0; i < CHILDREN; i++) {
		/* a page of a in the parent first: the rest of a is still due when the child is made */
		volatile uint8_t touch = a[i * 4096 * 17];
		(void)touch;
		pid_t pid = fork();
		CHECK(pid >= 0, "fork: %s", strerror(errno));
		if (pid == 0)
			_exit(child());
		int status;
		CHECK(waitpid(pid, &status, 0) == pid, "waitpid: %s", strerror(errno));
		CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child %d found %s", i,
		      WIFEXITED(status) ? (WEXITSTATUS(status) == 1 ? "area a changed" : "area b changed") : "its end by a signal");
	}
	pthread_join(t, NULL);
	CHECK(reader_bad == -1, "byte %ld of area b changed (read while forking)", reader_bad);
	long bad = test_verify(a, LEN, 6);
	CHECK(bad < 0, "byte %ld of area a changed after the children wrote theirs", bad);
	bad = test_verify(b, LEN, 7);
	CHECK(bad < 0, "byte %ld of area b changed after the children wrote theirs", bad);
	return pass();
}
