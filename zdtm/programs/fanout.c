/*
 * fanout: the page-server benchmark's tree (seed 000: many processes, a little memory each). The program
 * forks NPROC - 1 children; every process, itself too, fills KIB KiB of private anonymous memory with a
 * pattern of its own (nothing shared copy-on-write, so each one's pages are its own), then waits. It
 * writes its pid to DIR/ready once every child has its memory; on SIGUSR1 it checks its own memory and that
 * every child still runs (DIR/check); on SIGTERM it kills the children and exits.
 *
 * usage: fanout DIR NPROC KIB
 */
#define _GNU_SOURCE
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "checklib.h"

static uint64_t *mem;
static size_t words;
static pid_t *children;
static int nchildren;

static void fill(uint64_t seed)
{
	mem = mmap(NULL, words * 8, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED) {
		perror("mmap");
		exit(1);
	}
	for (size_t i = 0; i < words; i++)
		mem[i] = (i + 1) * 0x9e3779b97f4a7c15ULL ^ seed;
}

static int check(char *why, size_t len)
{
	for (size_t i = 0; i < words; i++) {
		if (mem[i] != ((i + 1) * 0x9e3779b97f4a7c15ULL ^ (uint64_t)getpid())) {
			snprintf(why, len, "FAIL: word %zu of the root's memory changed", i);
			return 0;
		}
	}
	for (int c = 0; c < nchildren; c++) {
		if (kill(children[c], 0) != 0) {
			snprintf(why, len, "FAIL: child %d is gone", children[c]);
			return 0;
		}
	}
	return 1;
}

int main(int argc, char **argv)
{
	if (argc != 4) {
		fprintf(stderr, "usage: fanout DIR NPROC KIB\n");
		return 2;
	}
	const char *dir = argv[1];
	int nproc = atoi(argv[2]);
	words = (size_t)atol(argv[3]) * 1024 / 8;
	catch_checks();
	int ready[2];
	if (pipe(ready) != 0) {
		perror("pipe");
		return 1;
	}
	nchildren = nproc - 1;
	children = calloc(nchildren > 0 ? nchildren : 1, sizeof(pid_t));
	for (int c = 0; c < nchildren; c++) {
		pid_t pid = fork();
		if (pid < 0) {
			perror("fork");
			return 1;
		}
		if (pid == 0) {
			prctl(PR_SET_PDEATHSIG, SIGKILL);
			close(ready[0]);
			fill((uint64_t)getpid());
			char one = 1;
			if (write(ready[1], &one, 1) != 1)
				_exit(1);
			close(ready[1]);
			for (;;)
				pause();
		}
		children[c] = pid;
	}
	close(ready[1]);
	fill((uint64_t)getpid());
	for (int c = 0; c < nchildren; c++) {
		char one;
		if (read(ready[0], &one, 1) != 1) {
			fprintf(stderr, "a child died before it was ready\n");
			return 1;
		}
	}
	close(ready[0]);
	char path[4200];
	snprintf(path, sizeof(path), "%s/ready.tmp", dir);
	FILE *f = fopen(path, "w");
	if (f == NULL) {
		perror(path);
		return 1;
	}
	fprintf(f, "%d\n", getpid());
	fclose(f);
	char ready_path[4200];
	snprintf(ready_path, sizeof(ready_path), "%s/ready", dir);
	rename(path, ready_path);
	serve_checks(dir, check);
	for (int c = 0; c < nchildren; c++)
		kill(children[c], SIGKILL);
	return 0;
}
