/*
 * bigtree: a big tree for the big-tree benchmark (scripts/bench-big): THREADS threads (64 KiB stacks, asleep)
 * and MAPPINGS one-page anonymous mappings (alternating protections keep them apart, each page written).
 * Writes its pid to DIR/ready, then sleeps until it is killed. Driven by a benchmark, not by the zdtm
 * runner (so not zdtmlib.h).
 *
 * usage: bigtree DIR THREADS MAPPINGS
 */
#include <pthread.h>
#include <stdlib.h>
#include <sys/mman.h>

#include "pdlib.h"

static void *sleeper(void *arg)
{
	(void)arg;
	for (;;)
		pause();
	return NULL;
}

int main(int argc, char **argv)
{
	if (argc < 4)
		return 2;
	snprintf(dir, sizeof(dir), "%s", argv[1]);
	int threads = atoi(argv[2]), maps = atoi(argv[3]);
	pthread_attr_t attr;
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, 64 * 1024);
	for (int i = 1; i < threads; i++) {
		pthread_t t;
		if (pthread_create(&t, &attr, sleeper, NULL) != 0)
			return 1;
	}
	if (maps > 0) {
		char *p = mmap(NULL, (size_t)maps * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED)
			return 1;
		for (int i = 0; i < maps; i++)
			p[(size_t)i * 4096] = (char)i;
		for (int i = 0; i < maps; i += 2)
			if (mprotect(p + (size_t)i * 4096, 4096, PROT_READ) != 0)
				return 1;
	}
	char text[32];
	snprintf(text, sizeof(text), "%d\n", getpid());
	put("ready", text);
	for (;;)
		pause();
}
