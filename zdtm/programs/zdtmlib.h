/*
 * zdtmlib.h: the shape every zdtm test program shares.
 *
 *     int main(int argc, char **argv)
 *     {
 *         test_init(argc, argv);      // DIR from argv[1]; SIGTERM ends the wait
 *         ... set up the state ...
 *         test_ready();               // DIR/ready gets our pid: the runner may dump now
 *         test_wait();                // until SIGTERM (the restored process gets it too)
 *         CHECK(x == 42, "x is %d, not 42", x);
 *         return pass();
 *     }
 *
 * The verdict, "PASS" or "FAIL: reason", goes to DIR/result (opened by path when written, since a restore
 * may leave stdout elsewhere) and to stdout; the exit status is 0 or 1. DIR is an absolute path.
 */
#ifndef ZDTMLIB_H
#define ZDTMLIB_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const char *test_dir;
static volatile sig_atomic_t test_stop;

static __attribute__((unused)) void test_on_term(int sig)
{
	(void)sig;
	test_stop = 1;
}

/* Writes TEXT to DIR/NAME through a temporary name, so that a reader never sees half of it. */
static __attribute__((unused)) void test_write_file(const char *name, const char *text)
{
	char path[4096], tmp[4096];
	snprintf(path, sizeof(path), "%s/%s", test_dir, name);
	snprintf(tmp, sizeof(tmp), "%s/.%s.%d.tmp", test_dir, name, getpid());
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return;
	ssize_t n = write(fd, text, strlen(text));
	close(fd);
	if (n == (ssize_t)strlen(text))
		rename(tmp, path);
}

/* DIR/NAME as a path, in a static buffer per call site's needs (copy it if you keep two). */
static __attribute__((unused)) const char *test_path(const char *name)
{
	static char path[4096];
	snprintf(path, sizeof(path), "%s/%s", test_dir, name);
	return path;
}

static __attribute__((unused)) void test_init(int argc, char **argv)
{
	if (argc < 2 || argv[1][0] != '/') {
		fprintf(stderr, "usage: %s /ABSOLUTE/DIR [ARGS...]\n", argv[0]);
		exit(2);
	}
	test_dir = argv[1];
	/* like CRIU's zdtm tests: a session of its own, so the tree holds its session and is no shell job */
	if (getsid(0) != getpid())
		setsid();
	struct sigaction sa = {.sa_handler = test_on_term}; /* no SA_RESTART: SIGTERM interrupts waits */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
}

static __attribute__((unused)) void test_ready(void)
{
	char text[32];
	snprintf(text, sizeof(text), "%d\n", getpid());
	test_write_file("ready", text);
}

/*
 * Sleeps until SIGTERM, keeping every other signal blocked as it was. SIGTERM is blocked but inside
 * sigsuspend: one that comes between the check of test_stop and the sleep waits for the sleep instead of
 * being lost in that window, which a restored task (resumed just before its restarted sigsuspend) has wide open.
 */
static __attribute__((unused)) void test_wait(void)
{
	sigset_t term, old, mask;
	sigemptyset(&term);
	sigaddset(&term, SIGTERM);
	sigprocmask(SIG_BLOCK, &term, &old);
	mask = old;
	sigdelset(&mask, SIGTERM);
	while (!test_stop)
		sigsuspend(&mask);
	sigprocmask(SIG_SETMASK, &old, NULL);
}

static __attribute__((unused)) int test_verdict(const char *text)
{
	char line[4200];
	snprintf(line, sizeof(line), "%s\n", text);
	test_write_file("result", line);
	fputs(line, stdout);
	fflush(stdout);
	return strncmp(text, "PASS", 4) == 0 ? 0 : 1;
}

static __attribute__((unused)) int pass(void)
{
	return test_verdict("PASS");
}

static __attribute__((unused, format(printf, 1, 2))) int fail(const char *fmt, ...)
{
	char text[4096];
	va_list ap;
	va_start(ap, fmt);
	int n = snprintf(text, sizeof(text), "FAIL: ");
	vsnprintf(text + n, sizeof(text) - n, fmt, ap);
	va_end(ap);
	return test_verdict(text);
}

#define CHECK(cond, ...)                                                                                     \
	do {                                                                                                 \
		if (!(cond))                                                                                 \
			return fail(__VA_ARGS__);                                                            \
	} while (0)

/* Fails the setup: the program exits before it is ready, with "SETUP FAILED: what: errno" in DIR/result. */
#define SETUP(cond, what)                                                                                    \
	do {                                                                                                 \
		if (!(cond)) {                                                                               \
			char setup_why_[512];                                                                \
			snprintf(setup_why_, sizeof(setup_why_), "SETUP FAILED: %s: %s", what, strerror(errno)); \
			test_verdict(setup_why_);                                                            \
			exit(2);                                                                             \
		}                                                                                            \
	} while (0)

/* A pattern byte for offset I of area SEED: different in every page and every area. */
static __attribute__((unused)) inline uint8_t test_pattern(uint64_t seed, uint64_t i)
{
	uint64_t x = (seed * 0x9E3779B97F4A7C15ull) ^ (i * 2654435761ull);
	return (uint8_t)(x >> 17);
}

static __attribute__((unused)) void test_fill(void *p, size_t len, uint64_t seed)
{
	for (size_t i = 0; i < len; i++)
		((uint8_t *)p)[i] = test_pattern(seed, i);
}

/* The first offset in P that differs from the pattern, or -1. */
static __attribute__((unused)) long test_verify(const void *p, size_t len, uint64_t seed)
{
	for (size_t i = 0; i < len; i++)
		if (((const uint8_t *)p)[i] != test_pattern(seed, i))
			return (long)i;
	return -1;
}

/* The line of /proc/self/status that starts with KEY (e.g. "FDSize:"), without the key, or "". */
static __attribute__((unused)) const char *test_status(const char *key)
{
	static char value[512];
	char line[512];
	value[0] = 0;
	FILE *f = fopen("/proc/self/status", "re");
	if (!f)
		return value;
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, key, strlen(key)) == 0) {
			char *v = line + strlen(key);
			while (*v == ' ' || *v == '\t')
				v++;
			v[strcspn(v, "\n")] = 0;
			snprintf(value, sizeof(value), "%s", v);
			break;
		}
	}
	fclose(f);
	return value;
}

/* The /proc/self/maps line of the mapping that holds ADDR, without its newline, or "" (static buffer). */
static __attribute__((unused)) const char *test_maps_line(const void *addr)
{
	static char found[512];
	char line[512];
	found[0] = 0;
	FILE *f = fopen("/proc/self/maps", "re");
	if (!f)
		return found;
	while (fgets(line, sizeof(line), f)) {
		unsigned long lo, hi;
		if (sscanf(line, "%lx-%lx", &lo, &hi) == 2 && (unsigned long)addr >= lo && (unsigned long)addr < hi) {
			line[strcspn(line, "\n")] = 0;
			snprintf(found, sizeof(found), "%s", line);
			break;
		}
	}
	fclose(f);
	return found;
}

/* The permissions ("rw-p", ...) of the mapping that holds ADDR, or "none". */
static __attribute__((unused)) const char *test_perms(const void *addr)
{
	static char perms[8];
	const char *line = test_maps_line(addr);
	if (!*line || sscanf(line, "%*s %4s", perms) != 1)
		snprintf(perms, sizeof(perms), "none");
	return perms;
}

#endif
