/*
 * rst_sink: the restore benchmark's baseline target. Maps MEM_MIB of anonymous memory without touching
 * it (as a restore maps it), writes the address to DIR/addr and its pid to DIR/ready, and sleeps.
 *
 * usage: rst_sink DIR MEM_MIB
 */
#include <stdio.h>
#include <stdlib.h>
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
