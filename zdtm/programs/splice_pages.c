/*
 * splice_pages: a target for the splice collector's test. 512 anonymous pages, page p holding 0x1000 + p in
 * its first word and ~p in its last, page 100 without PROT_READ (vmsplice cannot take it). Writes the
 * address of the first page to DIR/layout, its pid to DIR/ready, then sleeps until it is killed.
 * Driven by a module test, not by the zdtm runner (so not zdtmlib.h).
 *
 * usage: splice_pages DIR
 */
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>

#include "pdlib.h"

#define PAGES 512
#define PAGE 4096

int main(int argc, char **argv)
{
	if (argc < 2)
		return 2;
	snprintf(dir, sizeof(dir), "%s", argv[1]);
	uint64_t *m = mmap(NULL, PAGES * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (m == MAP_FAILED)
		return 1;
	for (uint64_t p = 0; p < PAGES; p++) {
		m[p * PAGE / 8] = 0x1000 + p;
		m[(p + 1) * PAGE / 8 - 1] = ~p;
	}
	if (mprotect((char *)m + 100 * PAGE, PAGE, PROT_NONE) < 0)
		return 1;
	char text[64];
	snprintf(text, sizeof(text), "%lx\n", (unsigned long)m);
	put("layout", text);
	snprintf(text, sizeof(text), "%d\n", getpid());
	put("ready", text);
	for (;;)
		pause();
}
