/*
 * pd_fork: forks between pre-dumps. Fills 8 MiB, writes its pid to DIR/ready, sleeps. On SIGUSR2 it forks a
 * child (which inherits every fd, cryo's write tracker included, and sleeps) and writes the child's pid to
 * DIR/forked. On SIGUSR1 it writes "PASS CHILD CHECKSUM" to DIR/check when the child lives, else the reason.
 *
 * usage: pd_fork DIR
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "pdlib.h"

#define WORDS (8 << 20) / 8

static uint64_t *mem;
static pid_t child;

int main(int argc, char **argv)
{
	if (argc < 2)
		return 2;
	snprintf(dir, sizeof(dir), "%s", argv[1]);
	mem = mmap(NULL, WORDS * 8, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	for (size_t i = 0; i < WORDS; i++)
		mem[i] = i * 0x9e3779b97f4a7c15ULL;
	catch_pd_requests();
	char text[256];
	snprintf(text, sizeof(text), "%d\n", getpid());
	put("ready", text);
	for (;;) {
		await_request();
		if (got_usr2) {
			got_usr2 = 0;
			child = fork();
			if (child == 0) {
				for (;;)
					pause();
			}
			for (size_t i = 0; i < WORDS; i += 512)
				mem[i] ^= 1; /* the parent writes after the fork: copy-on-write */
			snprintf(text, sizeof(text), "%d\n", child);
			put("forked", text);
		}
		if (got_usr1) {
			got_usr1 = 0;
			uint64_t h = 0xcbf29ce484222325ULL;
			for (size_t i = 0; i < WORDS; i++)
				h = (h ^ mem[i]) * 0x100000001b3ULL;
			if (child > 0 && kill(child, 0) == 0)
				snprintf(text, sizeof(text), "PASS %d %016llx\n", child, (unsigned long long)h);
			else
				snprintf(text, sizeof(text), "FAIL: no child\n");
			put("check", text);
		}
	}
}
