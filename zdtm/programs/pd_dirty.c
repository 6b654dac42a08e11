/*
 * pd_dirty: the pre-dump issue's test program. Maps MEM_MIB of anonymous memory and fills every page;
 * writes its pid to DIR/ready; then sleeps. On SIGUSR2 it writes PERMILLE per mille of its pages
 * (a different set each time), then writes the generation to DIR/dirtied. On SIGUSR1 it writes
 * "GENERATION CHECKSUM" of all its memory to DIR/check. Single-threaded, no fds kept open, so that
 * restore can bring it back. It pins itself to CPU 0: the kernel rewrites the rseq area's cpu_id each
 * time the task resumes, and on one CPU that word keeps its value, so an idle pd_dirty's memory is stable.
 *
 * usage: pd_dirty DIR MEM_MIB PERMILLE
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "pdlib.h"

#define PAGE 4096

static uint64_t *mem;
static size_t pages;
static long permille;
static uint64_t generation;

static uint64_t checksum(void)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	size_t words = pages * (PAGE / 8);
	for (size_t i = 0; i < words; i++)
		h = (h ^ mem[i]) * 0x100000001b3ULL;
	return h;
}

static void dirty(void)
{
	generation++;
	size_t step = permille >= 1000 ? 1 : (size_t)(1000 / permille);
	for (size_t p = generation % step; p < pages; p += step) {
		uint64_t *w = mem + p * (PAGE / 8);
		w[0] = generation;
		w[1 + generation % 500] ^= p * 0x9e3779b97f4a7c15ULL + generation;
	}
}

int main(int argc, char **argv)
{
	if (argc < 4) {
		fprintf(stderr, "usage: pd_dirty DIR MEM_MIB PERMILLE\n");
		return 2;
	}
	snprintf(dir, sizeof(dir), "%s", argv[1]);
	cpu_set_t cpu;
	CPU_ZERO(&cpu);
	CPU_SET(0, &cpu);
	sched_setaffinity(0, sizeof(cpu), &cpu);
	pages = (size_t)atol(argv[2]) * 256;
	permille = atol(argv[3]);
	if (permille <= 0)
		permille = 10;
	mem = mmap(NULL, pages * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED) {
		perror("mmap");
		return 1;
	}
	/*
	 * 4 KiB pages whatever the system's THP setting: this program writes a share of pages spread over the
	 * buffer, and soft-dirty tracks a transparent huge page as one, so one write would mark 512 pages.
	 */
	madvise(mem, pages * PAGE, MADV_NOHUGEPAGE);
	for (size_t i = 0; i < pages * (PAGE / 8); i++)
		mem[i] = (i * 0x9e3779b97f4a7c15ULL) ^ 0x5eed;

	catch_pd_requests();

	char text[64];
	/* where the buffer is: a kernel may merge it with a neighbouring mapping, so its size does not find it */
	snprintf(text, sizeof(text), "%lx\n", (unsigned long)mem);
	put("buffer", text);
	snprintf(text, sizeof(text), "%d\n", getpid());
	put("ready", text);
	for (;;) {
		await_request();
		if (got_usr2) {
			got_usr2 = 0;
			dirty();
			snprintf(text, sizeof(text), "%llu\n", (unsigned long long)generation);
			put("dirtied", text);
		}
		if (got_usr1) {
			got_usr1 = 0;
			snprintf(text, sizeof(text), "%llu %016llx\n", (unsigned long long)generation, (unsigned long long)checksum());
			put("check", text);
		}
	}
}
