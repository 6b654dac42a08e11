/*
 * fds_state: per-task kernel state that restore sets from inside the task, checked on SIGUSR1 (result
 * into DIR/check: PASS or the first difference): umask 027, cwd DIR/sub, RLIMIT_NOFILE 300/400,
 * RLIMIT_CORE 0/0, ITIMER_REAL armed (interval 50 s, value <= 100 s), supplementary groups {5, 7},
 * SIGUSR2 pending to the thread and SIGRTMIN (value 77) pending to the process, both blocked; a second
 * thread with SIGRTMIN+1 pending to it alone; exactly SIGUSR1, SIGTERM (checklib.h), SIGUSR2, SIGALRM, SIGRTMIN
 * and SIGRTMIN+1 blocked.
 *
 * usage: fds_state DIR
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <grp.h>
#include <pthread.h>
#include <time.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <unistd.h>

#include "checklib.h"

static volatile int ask, answer;
static pid_t worker_tid;

/* The second thread: blocks SIGRTMIN+1, which is pending to it; tells main whether it still is. */
static void *worker(void *arg)
{
	(void)arg;
	worker_tid = syscall(SYS_gettid);
	for (;;) {
		if (ask) {
			sigset_t p;
			sigpending(&p);
			answer = sigismember(&p, SIGRTMIN + 1) ? 1 : 2;
			ask = 0;
		}
		struct timespec ts = { 0, 5 * 1000 * 1000 };
		nanosleep(&ts, NULL);
	}
	return NULL;
}
static char dir[4096];

#define EXPECT(cond, ...) do { if (!(cond)) { snprintf(why, len, __VA_ARGS__); return 0; } } while (0)

static int check(char *why, size_t len)
{
	mode_t m = umask(0);
	umask(m);
	EXPECT(m == 027, "umask is 0%o, expected 027", m);
	char cwd[4200], want[4200];
	snprintf(want, sizeof(want), "%s/sub", dir);
	EXPECT(getcwd(cwd, sizeof(cwd)) && strcmp(cwd, want) == 0, "cwd is %.200s, expected %.200s", cwd, want);
	struct rlimit r;
	getrlimit(RLIMIT_NOFILE, &r);
	EXPECT(r.rlim_cur == 300 && r.rlim_max == 400, "RLIMIT_NOFILE is %lu/%lu", (unsigned long)r.rlim_cur, (unsigned long)r.rlim_max);
	getrlimit(RLIMIT_CORE, &r);
	EXPECT(r.rlim_cur == 0 && r.rlim_max == 0, "RLIMIT_CORE is %lu/%lu", (unsigned long)r.rlim_cur, (unsigned long)r.rlim_max);
	struct itimerval it;
	getitimer(ITIMER_REAL, &it);
	EXPECT(it.it_interval.tv_sec == 50 && it.it_value.tv_sec > 0 && it.it_value.tv_sec <= 100,
	       "ITIMER_REAL is interval %ld value %ld", (long)it.it_interval.tv_sec, (long)it.it_value.tv_sec);
	gid_t groups[16];
	int n = getgroups(16, groups);
	EXPECT(n == 2 && groups[0] == 5 && groups[1] == 7, "%d supplementary groups, expected 5 and 7", n);
	sigset_t pending;
	sigpending(&pending);
	EXPECT(sigismember(&pending, SIGUSR2), "SIGUSR2 is not pending");
	EXPECT(sigismember(&pending, SIGRTMIN), "SIGRTMIN is not pending");
	sigset_t rt;
	sigemptyset(&rt);
	sigaddset(&rt, SIGRTMIN);
	siginfo_t si;
	struct timespec zero = { 0, 0 };
	EXPECT(sigtimedwait(&rt, &si, &zero) == SIGRTMIN && si.si_value.sival_int == 77 && si.si_pid == getpid(),
	       "SIGRTMIN came with value %d from pid %d", si.si_value.sival_int, si.si_pid);
	answer = 0;
	ask = 1;
	for (int i = 0; i < 2000 && !answer; i++) { /* 10 s at least for the worker to answer */
		struct timespec ts = { 0, 5 * 1000 * 1000 };
		nanosleep(&ts, NULL);
	}
	EXPECT(answer == 1, "the second thread %s", answer ? "lost its pending SIGRTMIN+1" : "does not answer");
	sigset_t blocked, expected;
	sigprocmask(SIG_BLOCK, NULL, &blocked);
	sigemptyset(&expected);
	int wanted[] = { SIGUSR1, SIGTERM, SIGUSR2, SIGALRM, SIGRTMIN, SIGRTMIN + 1 };
	for (size_t i = 0; i < sizeof(wanted) / sizeof(wanted[0]); i++)
		sigaddset(&expected, wanted[i]);
	for (int sig = 1; sig < NSIG; sig++)
		EXPECT(sigismember(&blocked, sig) == sigismember(&expected, sig), "signal %d is %sblocked", sig,
		       sigismember(&blocked, sig) == 1 ? "" : "not ");
	return 1;
}

int main(int argc, char **argv)
{
	if (argc < 2)
		return 2;
	snprintf(dir, sizeof(dir), "%s", argv[1]);
	char path[4200];
	snprintf(path, sizeof(path), "%s/sub", dir);
	mkdir(path, 0755);
	if (chdir(path))
		return 1;
	umask(027);
	struct rlimit r = { 300, 400 };
	setrlimit(RLIMIT_NOFILE, &r);
	struct rlimit c = { 0, 0 };
	setrlimit(RLIMIT_CORE, &c);
	gid_t groups[2] = { 5, 7 };
	if (setgroups(2, groups))
		return 1;
	catch_checks();
	struct sigaction sa = { .sa_handler = on_request };
	sigaction(SIGALRM, &sa, NULL);
	sigset_t block;
	sigemptyset(&block);
	sigaddset(&block, SIGUSR2);
	sigaddset(&block, SIGRTMIN);
	sigaddset(&block, SIGALRM);
	sigaddset(&block, SIGRTMIN + 1);
	sigprocmask(SIG_BLOCK, &block, NULL);
	pthread_t th;
	pthread_create(&th, NULL, worker, NULL);
	while (!worker_tid)
		usleep(1000);
	syscall(SYS_tgkill, getpid(), worker_tid, SIGRTMIN + 1);
	syscall(SYS_tgkill, getpid(), syscall(SYS_gettid), SIGUSR2);
	union sigval v = { .sival_int = 77 };
	sigqueue(getpid(), SIGRTMIN, v);
	struct itimerval it = { { 50, 0 }, { 100, 0 } };
	setitimer(ITIMER_REAL, &it, NULL);

	snprintf(path, sizeof(path), "%s/ready.tmp", dir);
	FILE *f = fopen(path, "w");
	fprintf(f, "%d\n", getpid());
	fclose(f);
	char ready[4200];
	snprintf(ready, sizeof(ready), "%s/ready", dir);
	rename(path, ready);

	serve_checks(dir, check);
	return 0;
}
