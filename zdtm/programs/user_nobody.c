/*
 * user_nobody: a process of another user: it drops to nobody (uid and gid 65534, no groups, no capabilities, as
 * setpriv --reuid=nobody --regid=nogroup --clear-groups does) with limits of its own, a child, a pipe and an
 * eventfd, then waits. cryo, root without CAP_SYS_RESOURCE here, must read its limits from inside it. After
 * restore: the same ids and limits, no capability, and its pipe, eventfd, child and memory as they were.
 */
#include "zdtmlib.h"
#include <grp.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <linux/capability.h>
#include <sys/syscall.h>

#define NOBODY 65534

int main(int argc, char **argv)
{
	test_init(argc, argv);
	SETUP(chmod(test_dir, 0777) == 0, "chmod DIR"); /* nobody writes its verdict there */
	int p[2];
	SETUP(pipe(p) == 0 && write(p[1], "queued", 6) == 6, "pipe");
	int e = eventfd(7, 0);
	SETUP(e >= 0, "eventfd");
	struct rlimit nofile = {.rlim_cur = 200, .rlim_max = 300}, core = {.rlim_cur = 0, .rlim_max = 4096};
	SETUP(setrlimit(RLIMIT_NOFILE, &nofile) == 0 && setrlimit(RLIMIT_CORE, &core) == 0, "setrlimit");
	SETUP(setgroups(0, NULL) == 0 && setresgid(NOBODY, NOBODY, NOBODY) == 0 && setresuid(NOBODY, NOBODY, NOBODY) == 0,
	      "drop to nobody");
	size_t len = 4 << 20;
	uint8_t *mem = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	SETUP(mem != MAP_FAILED, "mmap");
	test_fill(mem, len, 65534);
	pid_t child = fork();
	SETUP(child >= 0, "fork");
	if (child == 0) {
		for (;;)
			pause();
	}
	test_ready();
	test_wait();
	uid_t r, ef, s;
	gid_t gr, ge, gs;
	getresuid(&r, &ef, &s);
	getresgid(&gr, &ge, &gs);
	CHECK(r == NOBODY && ef == NOBODY && s == NOBODY, "uids %d %d %d", r, ef, s);
	CHECK(gr == NOBODY && ge == NOBODY && gs == NOBODY, "gids %d %d %d", gr, ge, gs);
	CHECK(getgroups(0, NULL) == 0, "%d supplementary groups", getgroups(0, NULL));
	struct __user_cap_header_struct h = {.version = _LINUX_CAPABILITY_VERSION_3};
	struct __user_cap_data_struct d[2];
	CHECK(syscall(SYS_capget, &h, d) == 0, "capget");
	CHECK(d[0].effective == 0 && d[0].permitted == 0 && d[1].effective == 0 && d[1].permitted == 0,
	      "capabilities %x/%x", d[0].effective, d[0].permitted);
	struct rlimit got;
	CHECK(getrlimit(RLIMIT_NOFILE, &got) == 0 && got.rlim_cur == 200 && got.rlim_max == 300, "RLIMIT_NOFILE %llu/%llu",
	      (unsigned long long)got.rlim_cur, (unsigned long long)got.rlim_max);
	CHECK(getrlimit(RLIMIT_CORE, &got) == 0 && got.rlim_cur == 0 && got.rlim_max == 4096, "RLIMIT_CORE %llu/%llu",
	      (unsigned long long)got.rlim_cur, (unsigned long long)got.rlim_max);
	char buf[16] = "";
	CHECK(read(p[0], buf, sizeof(buf)) == 6 && memcmp(buf, "queued", 6) == 0, "the pipe lost its data");
	uint64_t v = 0;
	CHECK(read(e, &v, 8) == 8 && v == 7, "eventfd counter %llu", (unsigned long long)v);
	long bad = test_verify(mem, len, 65534);
	CHECK(bad < 0, "memory differs at offset %ld", bad);
	CHECK(kill(child, 0) == 0, "the child is gone");
	kill(child, SIGKILL);
	int status;
	CHECK(waitpid(child, &status, 0) == child && WIFSIGNALED(status), "the child was not ours to reap");
	return pass();
}
