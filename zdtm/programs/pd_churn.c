/*
 * pd_churn: changes its mappings in a tight loop, for pre-dumps that copy memory while the task runs.
 * Keeps 16 MiB of patterned memory that never changes and 16 slots, each a mapping whose every page
 * holds (tag, page index); each turn picks a slot and munmaps+mmaps it anew, grows it with mremap
 * (which may move it), flips it between read-only and read-write with mprotect, or rewrites it with a
 * new tag. Writes its pid to DIR/ready; on SIGUSR1 (seen between turns) checks every slot and the
 * patterned memory and writes "PASS TURNS" or the first difference to DIR/check. Single-threaded, no
 * fds kept open, so that restore can bring it back.
 *
 * usage: pd_churn DIR
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

#define PAGE 4096
#define SLOTS 16
#define STABLE_PAGES 4096

struct slot {
	uint64_t *addr;
	size_t pages;
	uint64_t tag;
	int readonly;
};

static struct slot slots[SLOTS];
static uint64_t *stable;
static uint64_t rng = 0x2545f4914f6cdd1dULL;
static uint64_t turns, next_tag = 1;

static uint64_t next(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static void fill(struct slot *s, size_t from)
{
	for (size_t p = from; p < s->pages; p++) {
		uint64_t *w = s->addr + p * (PAGE / 8);
		w[0] = s->tag;
		w[1] = p;
		w[PAGE / 8 - 1] = s->tag ^ p;
	}
}

static void writable(struct slot *s)
{
	if (s->readonly) {
		mprotect(s->addr, s->pages * PAGE, PROT_READ | PROT_WRITE);
		s->readonly = 0;
	}
}

static void fresh(struct slot *s)
{
	if (s->addr)
		munmap(s->addr, s->pages * PAGE);
	s->pages = 1 + next() % 64;
	s->addr = mmap(NULL, s->pages * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (s->addr == MAP_FAILED) {
		perror("mmap");
		exit(1);
	}
	s->readonly = 0;
	s->tag = next_tag++;
	fill(s, 0);
}

static void turn(void)
{
	struct slot *s = &slots[next() % SLOTS];
	switch (next() % 4) {
	case 0:
		fresh(s);
		break;
	case 1: {
		if (s->pages > 256) {
			fresh(s);
			break;
		}
		writable(s);
		size_t more = 1 + next() % 8;
		void *to = mremap(s->addr, s->pages * PAGE, (s->pages + more) * PAGE, MREMAP_MAYMOVE);
		if (to == MAP_FAILED) {
			perror("mremap");
			exit(1);
		}
		s->addr = to;
		size_t old = s->pages;
		s->pages += more;
		fill(s, old);
		break;
	}
	case 2:
		if (mprotect(s->addr, s->pages * PAGE, s->readonly ? PROT_READ | PROT_WRITE : PROT_READ) == 0)
			s->readonly = !s->readonly;
		break;
	default:
		writable(s);
		s->tag = next_tag++;
		fill(s, 0);
	}
	turns++;
}

static int check(char *why, size_t len)
{
	for (size_t i = 0; i < STABLE_PAGES * (PAGE / 8); i++)
		if (stable[i] != ((i * 0x9e3779b97f4a7c15ULL) ^ 0x5eed)) {
			snprintf(why, len, "patterned memory differs at word %zu", i);
			return 0;
		}
	for (int k = 0; k < SLOTS; k++) {
		struct slot *s = &slots[k];
		for (size_t p = 0; p < s->pages; p++) {
			uint64_t *w = s->addr + p * (PAGE / 8);
			if (w[0] != s->tag || w[1] != p || w[PAGE / 8 - 1] != (s->tag ^ p)) {
				snprintf(why, len, "slot %d page %zu of %zu at %p: tag %llu page %llu, expected %llu %zu", k, p, s->pages,
					 (void *)w, (unsigned long long)w[0], (unsigned long long)w[1], (unsigned long long)s->tag, p);
				return 0;
			}
		}
	}
	return 1;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: pd_churn DIR\n");
		return 2;
	}
	snprintf(dir, sizeof(dir), "%s", argv[1]);
	stable = mmap(NULL, STABLE_PAGES * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (stable == MAP_FAILED) {
		perror("mmap");
		return 1;
	}
	for (size_t i = 0; i < STABLE_PAGES * (PAGE / 8); i++)
		stable[i] = (i * 0x9e3779b97f4a7c15ULL) ^ 0x5eed;
	for (int k = 0; k < SLOTS; k++)
		fresh(&slots[k]);
	struct sigaction sa = { 0 };
	sa.sa_handler = on_request;
	sigaction(SIGUSR1, &sa, NULL);

	char text[4096];
	snprintf(text, sizeof(text), "%d\n", getpid());
	put("ready", text);
	for (;;) {
		if (got_usr1) {
			got_usr1 = 0;
			char why[1024];
			if (check(why, sizeof(why)))
				snprintf(text, sizeof(text), "PASS %llu\n", (unsigned long long)turns);
			else
				snprintf(text, sizeof(text), "FAIL after %llu turns: %s\n", (unsigned long long)turns, why);
			put("check", text);
		}
		turn();
	}
}
