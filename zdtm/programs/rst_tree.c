/*
 * rst_tree: a restore target without files. A session leader with patterned anonymous memory, THREADS
 * ticking threads (nanosleep + clock_gettime through the vDSO), a child in a process group of its own
 * that changed part of the memory it shares copy-on-write with its parent, and a grandchild in the
 * child's group. Writes "CHILD GRANDCHILD" to DIR/family, then its pid to DIR/ready when set up.
 *
 * On SIGUSR1 the parent checks its memory, that the child is still its child, that every thread ticks,
 * that the monotonic clock moves, that rseq is registered (the kernel updates cpu_id) and that a
 * MAP_SHARED|MAP_ANONYMOUS page is still shared with the child (the child's SIGUSR2 handler copies a
 * token the parent wrote), and writes PASS or the reason to DIR/check; the child does the same for its own memory into DIR/check-child.
 *
 * usage: rst_tree DIR MEM_MIB THREADS
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/rseq.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define CHILD_MIB 1

static volatile sig_atomic_t got_usr1;
static uint64_t *mem;
static size_t mem_words;
static int nthreads;
static volatile uint64_t *thread_ticks;
static volatile uint64_t *thread_clock_ok;
static volatile uint64_t *shared;
static char dir[4096];

static uint64_t pattern(size_t i, uint64_t salt)
{
	return (i * 0x9e3779b97f4a7c15ULL) ^ salt;
}

static void on_usr1(int sig)
{
	(void)sig;
	got_usr1 = 1;
}

static void on_usr2(int sig)
{
	(void)sig;
	shared[1] = shared[0];
}

/*
 * The main loops look at their flag every 10 ms rather than after pause(): a signal delivered just before
 * a (restarted) pause() would otherwise wait for the next one, and a restore releases a task stopped in
 * pause() exactly at the restart.
 */
static void nap(void)
{
	struct timespec ts = { 0, 10 * 1000 * 1000 };
	nanosleep(&ts, NULL);
}

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void *ticker(void *arg)
{
	long n = (long)arg;
	uint64_t last = now_ns();
	for (;;) {
		struct timespec ts = { 0, 10 * 1000 * 1000 };
		nanosleep(&ts, NULL);
		uint64_t t = now_ns();
		thread_clock_ok[n] = t >= last;
		last = t;
		thread_ticks[n]++;
	}
	return NULL;
}

/* The first CHILD_MIB MiB differ in the child (salt 2): pages that COW had to copy. */
static uint64_t expected(size_t i, int is_child)
{
	return pattern(i, is_child && i < CHILD_MIB * 1024 * 1024 / 8 ? 2 : 1);
}

static int check_memory(int is_child, char *why, size_t len)
{
	for (size_t i = 0; i < mem_words; i++)
		if (mem[i] != expected(i, is_child)) {
			snprintf(why, len, "memory differs at word %zu", i);
			return 0;
		}
	return 1;
}

static int check_rseq(char *why, size_t len)
{
	if (__rseq_size == 0) {
		snprintf(why, len, "glibc did not register rseq");
		return 0;
	}
	volatile struct rseq *rs = (struct rseq *)((char *)__builtin_thread_pointer() + __rseq_offset);
	rs->cpu_id = (uint32_t)-1; /* the kernel writes it again when it returns to a registered thread */
	for (int i = 0; i < 100 && rs->cpu_id == (uint32_t)-1; i++) {
		struct timespec ts = { 0, 1000 * 1000 };
		nanosleep(&ts, NULL);
	}
	if ((int32_t)rs->cpu_id < 0) {
		snprintf(why, len, "rseq is not registered (cpu_id %d)", (int32_t)rs->cpu_id);
		return 0;
	}
	return 1;
}

static int check_parent(pid_t child, char *why, size_t len)
{
	if (!check_memory(0, why, len))
		return 0;
	int st;
	pid_t w = waitpid(child, &st, WNOHANG);
	if (w != 0) {
		snprintf(why, len, "child %d is not a live child (waitpid %d, errno %d)", child, w, errno);
		return 0;
	}
	uint64_t before[64];
	for (int t = 0; t < nthreads; t++)
		before[t] = thread_ticks[t];
	uint64_t t0 = now_ns();
	struct timespec ts = { 0, 200 * 1000 * 1000 };
	nanosleep(&ts, NULL);
	uint64_t t1 = now_ns();
	if (t1 - t0 < 150 * 1000 * 1000ull || t1 - t0 > 20ull * 1000 * 1000 * 1000) {
		snprintf(why, len, "the monotonic clock moved %llu ns over a 200 ms sleep", (unsigned long long)(t1 - t0));
		return 0;
	}
	/* every thread ticks again: waited for (10 ms naps, 10 s at most on a busy machine), not assumed of the 200 ms */
	for (int t = 0, naps = 0; t < nthreads; ) {
		if (thread_ticks[t] != before[t]) {
			t++;
			continue;
		}
		if (naps++ == 1000) {
			snprintf(why, len, "thread %d stopped ticking", t);
			return 0;
		}
		nap();
	}
	for (int t = 0; t < nthreads; t++) {
		if (!thread_clock_ok[t]) {
			snprintf(why, len, "thread %d saw the clock go back", t);
			return 0;
		}
	}
	if (!check_rseq(why, len))
		return 0;
	shared[0] = now_ns() | 1;
	kill(child, SIGUSR2);
	/* the child's handler copies the token: waited for, 10 s at most */
	for (uint64_t t0 = now_ns(); shared[1] != shared[0] && now_ns() - t0 < 10ull * 1000 * 1000 * 1000; ) {
		struct timespec ms = { 0, 1000 * 1000 };
		nanosleep(&ms, NULL);
	}
	if (shared[1] != shared[0]) {
		snprintf(why, len, "the shared anonymous page is not shared with the child any more");
		return 0;
	}
	return 1;
}

static void answer(const char *name, int ok, const char *why)
{
	char path[4200], tmp[4300];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	FILE *f = fopen(tmp, "w");
	if (!f)
		return;
	fprintf(f, "%s\n", ok ? "PASS" : why);
	fclose(f);
	rename(tmp, path);
}

static void install_usr1(void)
{
	struct sigaction sa = { 0 };
	sa.sa_handler = on_usr1;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGUSR1, &sa, NULL);
}

int main(int argc, char **argv)
{
	if (argc < 4) {
		fprintf(stderr, "usage: rst_tree DIR MEM_MIB THREADS\n");
		return 2;
	}
	snprintf(dir, sizeof(dir), "%s", argv[1]);
	size_t mib = strtoul(argv[2], NULL, 10);
	if (mib < CHILD_MIB)
		mib = CHILD_MIB;
	nthreads = atoi(argv[3]);
	if (nthreads > 64)
		nthreads = 64;
	if (setsid() < 0) {
		perror("setsid");
		return 1;
	}
	install_usr1();
	mem_words = mib * 1024 * 1024 / 8;
	mem = mmap(NULL, mem_words * 8, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	thread_ticks = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	thread_clock_ok = thread_ticks + 64;
	shared = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED || thread_ticks == MAP_FAILED || shared == MAP_FAILED) {
		perror("mmap");
		return 1;
	}
	for (size_t i = 0; i < mem_words; i++)
		mem[i] = pattern(i, 1);

	int sync[2];
	if (pipe(sync) < 0)
		return 1;
	pid_t child = fork();
	if (child == 0) {
		struct sigaction sa = { 0 };
		sa.sa_handler = on_usr2;
		sigaction(SIGUSR2, &sa, NULL);
		setpgid(0, 0);
		for (size_t i = 0; i < CHILD_MIB * 1024 * 1024 / 8; i++)
			mem[i] = pattern(i, 2);
		pid_t grandchild = fork();
		if (grandchild == 0) {
			for (;;)
				pause();
		}
		char line[64];
		int n = snprintf(line, sizeof(line), "%d\n", grandchild);
		if (write(sync[1], line, n) != n)
			_exit(1);
		close(sync[0]);
		close(sync[1]);
		char why[256];
		for (;;) {
			nap();
			if (got_usr1) {
				got_usr1 = 0;
				int ok = check_memory(1, why, sizeof(why)) && check_rseq(why, sizeof(why));
				answer("check-child", ok, why);
			}
		}
	}
	char line[64] = { 0 };
	if (read(sync[0], line, sizeof(line) - 1) <= 0)
		return 1;
	close(sync[0]);
	close(sync[1]);
	pid_t grandchild = atoi(line);

	for (long t = 0; t < nthreads; t++) {
		pthread_t th;
		pthread_create(&th, NULL, ticker, (void *)t);
	}
	struct timespec ts = { 0, 50 * 1000 * 1000 };
	nanosleep(&ts, NULL);

	char path[4200], tmp[4300];
	snprintf(path, sizeof(path), "%s/family", dir);
	FILE *f = fopen(path, "w");
	fprintf(f, "%d %d\n", child, grandchild);
	fclose(f);
	snprintf(path, sizeof(path), "%s/ready", dir);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	f = fopen(tmp, "w");
	fprintf(f, "%d\n", getpid());
	fclose(f);
	rename(tmp, path);

	char why[256];
	for (;;) {
		nap();
		if (got_usr1) {
			got_usr1 = 0;
			answer("check", check_parent(child, why, sizeof(why)), why);
		}
	}
}
