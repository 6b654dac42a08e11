/*
 * counter: a single-threaded restore target. Counts in anonymous memory, sleeping 10 ms between counts
 * (nanosleep), and on SIGUSR1 writes "COUNTER CHECKSUM" to DIR/check, the checksum being over a 16 MiB
 * buffer filled with a pattern at start. Writes its pid to DIR/ready when set up.
 */
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define BUF_SIZE (16u << 20)

static volatile sig_atomic_t asked;

static void on_usr1(int sig)
{
	(void)sig;
	asked = 1;
}

static uint64_t checksum(const uint8_t *buf, size_t len)
{
	uint64_t h = 1469598103934665603ull;
	for (size_t i = 0; i < len; i++)
		h = (h ^ buf[i]) * 1099511628211ull;
	return h;
}

static void write_file(const char *dir, const char *name, const char *text)
{
	char path[4096], tmp[4096];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	snprintf(tmp, sizeof(tmp), "%s/.%s.tmp", dir, name);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0)
		return;
	if (write(fd, text, strlen(text)) < 0) {
		close(fd);
		return;
	}
	close(fd);
	rename(tmp, path);
}

int main(int argc, char **argv)
{
	if (argc < 2)
		return 2;
	const char *dir = argv[1];
	uint64_t *counter = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	uint8_t *buf = mmap(NULL, BUF_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (counter == MAP_FAILED || buf == MAP_FAILED)
		return 3;
	for (size_t i = 0; i < BUF_SIZE; i++)
		buf[i] = (uint8_t)((i * 2654435761u) >> 13);
	struct sigaction sa = {.sa_handler = on_usr1};
	sigemptyset(&sa.sa_mask);
	sigaction(SIGUSR1, &sa, NULL);

	char text[128];
	snprintf(text, sizeof(text), "%d\n", getpid());
	write_file(dir, "ready", text);
	for (;;) {
		struct timespec ts = {0, 10 * 1000 * 1000};
		nanosleep(&ts, NULL);
		(*counter)++;
		if (asked) {
			asked = 0;
			snprintf(text, sizeof(text), "%llu %016llx\n", (unsigned long long)*counter,
				 (unsigned long long)checksum(buf, BUF_SIZE));
			write_file(dir, "check", text);
		}
	}
}
