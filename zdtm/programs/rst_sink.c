/*
 * rst_sink: the restore benchmark's baseline target. Maps MEM_MIB of anonymous memory without touching
 * it (as a restore maps it), writes the address to DIR/addr and its pid to DIR/ready, and sleeps. With
 * "fill", fills the memory with a pattern first: a single-process target to dump and restore.
 *
 * usage: rst_sink DIR MEM_MIB [fill]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc < 3)
		return 2;
	size_t len = strtoull(argv[2], NULL, 10) << 20;
	void *mem = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (mem == MAP_FAILED)
		return 1;
	if (argc > 3 && strcmp(argv[3], "fill") == 0)
		for (size_t i = 0; i < len / 8; i++)
			((unsigned long *)mem)[i] = i * 0x9e3779b97f4a7c15UL;
	char path[4200], tmp[4300];
	snprintf(path, sizeof(path), "%s/addr", argv[1]);
	FILE *f = fopen(path, "w");
	fprintf(f, "%lx\n", (unsigned long)mem);
	fclose(f);
	snprintf(path, sizeof(path), "%s/ready", argv[1]);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	f = fopen(tmp, "w");
	fprintf(f, "%d\n", getpid());
	fclose(f);
	rename(tmp, path);
	for (;;)
		pause();
}
