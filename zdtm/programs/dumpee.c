/*
 * dumpee: the dump issue's test program. Sets up patterned anonymous memory, a private and a shared
 * file mapping, a regular file open at an offset, a pipe holding unread data, threads and one child;
 * writes its pid to the ready file; then checks all of it on SIGUSR1 (result into DIR/check) and on
 * SIGTERM (PASS or FAIL on stdout, then exit).
 *
 * usage: dumpee DIR MEM_MIB THREADS
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "checklib.h"

#define PIPE_TEXT "data left in the pipe"
#define REG_OFFSET 1234
#define FILE_SIZE (1 << 20)

static uint64_t *mem;
static size_t mem_words;
static unsigned char *priv_map, *shared_map;
static int reg_fd, pipe_rd;
static pid_t child;
static int nthreads;
static volatile uint64_t *thread_ticks;
static char dir[4096];

static uint64_t pattern(size_t i)
{
	return (i * 0x9e3779b97f4a7c15ULL) ^ 0x5eed;
}

static void *ticker(void *arg)
{
	long n = (long)arg;
	for (;;) {
		struct timespec ts = { 0, 10 * 1000 * 1000 };
		nanosleep(&ts, NULL);
		thread_ticks[n]++;
	}
	return NULL;
}

static int check(char *why, size_t len)
{
	for (size_t i = 0; i < mem_words; i++)
		if (mem[i] != pattern(i)) {
			snprintf(why, len, "anonymous memory differs at word %zu", i);
			return 0;
		}
	for (size_t i = 0; i < FILE_SIZE; i += 4096)
		if (priv_map[i] != (unsigned char)(i / 4096 * 7 + 1)) {
			snprintf(why, len, "private file mapping differs at %zu", i);
			return 0;
		}
	for (size_t i = 0; i < FILE_SIZE; i += 4096)
		if (shared_map[i] != (unsigned char)(i / 4096 + 3)) {
			snprintf(why, len, "shared file mapping differs at %zu", i);
			return 0;
		}
	off_t off = lseek(reg_fd, 0, SEEK_CUR);
	if (off != REG_OFFSET) {
		snprintf(why, len, "regular file offset is %ld, expected %d", (long)off, REG_OFFSET);
		return 0;
	}
	int queued = -1;
	if (ioctl(pipe_rd, FIONREAD, &queued) < 0 || queued != (int)strlen(PIPE_TEXT)) {
		snprintf(why, len, "pipe holds %d bytes, expected %zu", queued, strlen(PIPE_TEXT));
		return 0;
	}
	if (kill(child, 0) < 0) {
		snprintf(why, len, "child %d is gone", child);
		return 0;
	}
	/* every thread ticks again: waited for (10 ms naps, 10 s at most on a busy machine), not assumed of a fixed sleep */
	uint64_t before[64];
	for (int t = 0; t < nthreads; t++)
		before[t] = thread_ticks[t];
	for (int t = 0, naps = 0; t < nthreads; ) {
		if (thread_ticks[t] != before[t]) {
			t++;
			continue;
		}
		if (naps++ == 1000) {
			snprintf(why, len, "thread %d stopped ticking", t);
			return 0;
		}
		struct timespec ts = { 0, 10 * 1000 * 1000 };
		nanosleep(&ts, NULL);
	}
	return 1;
}

static unsigned char *map_file(const char *name, int flags, int seed)
{
	char path[4200];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || ftruncate(fd, FILE_SIZE) < 0) {
		perror(path);
		exit(1);
	}
	unsigned char *p = mmap(NULL, FILE_SIZE, PROT_READ | PROT_WRITE, flags, fd, 0);
	if (p == MAP_FAILED) {
		perror("mmap file");
		exit(1);
	}
	close(fd);
	for (size_t i = 0; i < FILE_SIZE; i += 4096)
		p[i] = (unsigned char)(i / 4096 * seed + (seed == 7 ? 1 : 3));
	return p;
}

int main(int argc, char **argv)
{
	if (argc < 4) {
		fprintf(stderr, "usage: dumpee DIR MEM_MIB THREADS\n");
		return 2;
	}
	snprintf(dir, sizeof(dir), "%s", argv[1]);
	size_t mib = strtoul(argv[2], NULL, 10);
	nthreads = atoi(argv[3]);
	if (nthreads > 64)
		nthreads = 64;

	mem_words = mib * 1024 * 1024 / 8;
	mem = mmap(NULL, mem_words * 8, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED) {
		perror("mmap");
		return 1;
	}
	for (size_t i = 0; i < mem_words; i++)
		mem[i] = pattern(i);
	priv_map = map_file("private.dat", MAP_PRIVATE, 7);
	shared_map = map_file("shared.dat", MAP_SHARED, 1);

	char path[4200];
	snprintf(path, sizeof(path), "%s/regular.dat", dir);
	reg_fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	char block[4096];
	memset(block, 'r', sizeof(block));
	if (reg_fd < 0 || write(reg_fd, block, sizeof(block)) != sizeof(block) || lseek(reg_fd, REG_OFFSET, SEEK_SET) != REG_OFFSET) {
		perror("regular file");
		return 1;
	}
	int p[2];
	if (pipe(p) < 0 || write(p[1], PIPE_TEXT, strlen(PIPE_TEXT)) != (ssize_t)strlen(PIPE_TEXT)) {
		perror("pipe");
		return 1;
	}
	pipe_rd = p[0];

	child = fork();
	if (child == 0) {
		for (;;)
			pause();
	}

	catch_checks();

	thread_ticks = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	for (long t = 0; t < nthreads; t++) {
		pthread_t th;
		pthread_create(&th, NULL, ticker, (void *)t);
	}

	snprintf(path, sizeof(path), "%s/ready", dir);
	FILE *f = fopen(path, "w");
	fprintf(f, "%d\n", getpid());
	fclose(f);

	serve_checks(dir, check);
	char why[512];
	int ok = check(why, sizeof(why));
	printf("%s%s\n", ok ? "PASS" : "FAIL: ", ok ? "" : why);
	kill(child, SIGKILL);
	return ok ? 0 : 1;
}
