/*
 * dumpable: a process that dropped root for nobody, with a second thread made after, comes back as nobody in
 * both threads and as dumpable as it was: PR_SET_DUMPABLE 1 by default (its owner may read its
 * /proc/PID/maps and ptrace it, as for a process started as nobody), or 0 when the second argument is 0.
 * A restorer that changes a root puppet's uids must set the flag after them (the change resets it).
 *
 * usage: dumpable DIR [0|1]
 */
#include "zdtmlib.h"
#include <dirent.h>
#include <grp.h>
#include <pthread.h>
#include <sys/prctl.h>

#define NOBODY 65534

static void *sleeper(void *arg)
{
	(void)arg;
	for (;;)
		pause(); /* every signal is blocked here: ends with the process */
	return NULL;
}

/* Fails with the first thread whose /proc status line KEY is not WANT. */
static int threads_have(const char *key, const char *want)
{
	DIR *d = opendir("/proc/self/task");
	if (!d)
		return fail("cannot list /proc/self/task: %s", strerror(errno));
	for (struct dirent *e; (e = readdir(d)) != NULL;) {
		if (e->d_name[0] == '.')
			continue;
		char path[128], line[512];
		snprintf(path, sizeof(path), "/proc/self/task/%s/status", e->d_name);
		FILE *f = fopen(path, "re");
		const char *value = "";
		while (f && fgets(line, sizeof(line), f)) {
			if (strncmp(line, key, strlen(key)) == 0) {
				value = line + strlen(key);
				while (*value == ' ' || *value == '\t')
					value++;
				line[strcspn(line, "\n")] = 0;
				break;
			}
		}
		if (f)
			fclose(f);
		if (strcmp(value, want) != 0) {
			closedir(d);
			return fail("thread %s has %s '%s', not '%s'", e->d_name, key, value, want);
		}
	}
	closedir(d);
	return 0;
}

int main(int argc, char **argv)
{
	test_init(argc, argv);
	int want = argc > 2 ? atoi(argv[2]) : 1;
	/* DIR is the runner's; nobody must write its verdict there */
	SETUP(chown(test_dir, NOBODY, NOBODY) == 0, "chown DIR");
	SETUP(setgroups(0, NULL) == 0, "setgroups");
	SETUP(setresgid(NOBODY, NOBODY, NOBODY) == 0, "setresgid");
	SETUP(setresuid(NOBODY, NOBODY, NOBODY) == 0, "setresuid");
	SETUP(prctl(PR_SET_DUMPABLE, want) == 0, "PR_SET_DUMPABLE");
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	pthread_t t;
	SETUP(pthread_create(&t, NULL, sleeper, NULL) == 0, "pthread_create");
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	test_ready();
	test_wait();
	int dumpable = prctl(PR_GET_DUMPABLE);
	CHECK(dumpable == want, "dumpable is %d, not %d", dumpable, want);
	uid_t r, e, s;
	getresuid(&r, &e, &s);
	CHECK(r == NOBODY && e == NOBODY && s == NOBODY, "uids are %d %d %d", r, e, s);
	CHECK(getgroups(0, NULL) == 0, "%d supplementary groups", getgroups(0, NULL));
	int bad = threads_have("Uid:", "65534\t65534\t65534\t65534");
	if (!bad)
		bad = threads_have("Gid:", "65534\t65534\t65534\t65534");
	if (!bad)
		bad = threads_have("CapEff:", "0000000000000000");
	if (bad)
		return bad;
	CHECK(strcmp(test_status("Threads:"), "2") == 0, "%s threads", test_status("Threads:"));
	return pass();
}
