/*
 * lazy_exit: processes that exit while a lazy restore still has their pages in flight. The tree has a child
 * with memory of its own, blocked on a pipe: at SIGTERM the parent closes the pipe, and the child reads one
 * page of its memory and exits at once; the parent also forks short-lived children that touch a page and
 * exit. The daemon must drop each of them cleanly and serve the rest: the parent then checks all its memory.
 */
#include "zdtmlib.h"

#define LEN (32ul << 20)
#define SHORT_LIVED 8

int main(int argc, char **argv)
{
	test_init(argc, argv);
	uint8_t *mine = mmap(NULL, LEN, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	SETUP(mine != MAP_FAILED, "mmap");
	test_fill(mine, LEN, 41);
	int go[2];
	SETUP(pipe(go) == 0, "pipe");
	pid_t kid = fork();
	SETUP(kid >= 0, "fork");
	if (kid == 0) {
		close(go[1]);
		uint8_t *its = mmap(NULL, LEN, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (its == MAP_FAILED)
			_exit(3);
		test_fill(its, LEN, 42);
		char c;
		while (read(go[0], &c, 1) < 0 && errno == EINTR)
			;
		/* one page of its own, then gone: the rest of its memory is still due */
		_exit(its[LEN / 2] == test_pattern(42, LEN / 2) ? 0 : 1);
	}
	close(go[0]);
	test_ready();
	test_wait();
	close(go[1]);
	for (int i = 0; i < SHORT_LIVED; i++) {
		pid_t p = fork();
		CHECK(p >= 0, "fork: %s", strerror(errno));
		if (p == 0)
			_exit(mine[(size_t)i * (LEN / SHORT_LIVED)] == test_pattern(41, (size_t)i * (LEN / SHORT_LIVED)) ? 0 : 1);
		int st;
		CHECK(waitpid(p, &st, 0) == p && WIFEXITED(st) && WEXITSTATUS(st) == 0, "short-lived child %d saw wrong data", i);
	}
	int st;
	CHECK(waitpid(kid, &st, 0) == kid, "waitpid(child): %s", strerror(errno));
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "the child with memory of its own %s", WIFEXITED(st)
	      ? (WEXITSTATUS(st) == 1 ? "read wrong data" : "failed") : "was killed");
	long bad = test_verify(mine, LEN, 41);
	CHECK(bad < 0, "byte %ld of the parent's memory changed", bad);
	return pass();
}
