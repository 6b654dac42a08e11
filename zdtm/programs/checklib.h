/*
 * checklib.h: what the programs the restore tests ask to check themselves share (dumpee, fds_all, fds_state).
 * SIGUSR1 asks for a check, whose verdict the program writes to DIR/check; SIGTERM ends it. Like pdlib.h,
 * not included by zdtm suite tests.
 *
 * Both signals stay blocked in every thread except the one sleeping in serve_checks(), and there only inside
 * sigsuspend. So a request goes to the thread that waits for it (an unblocked thread that only ticks would
 * take it and leave the waiter asleep), and one sent before a restored task has re-entered its sleep stays
 * pending for that sleep instead of being handled before it and then waited for again.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>

static volatile sig_atomic_t got_usr1, got_term;

static void on_check_signal(int sig)
{
	if (sig == SIGUSR1)
		got_usr1 = 1;
	else
		got_term = 1;
}

/* Installs the handlers and blocks both signals; call it before making any thread, which inherits the mask. */
static inline void catch_checks(void)
{
	struct sigaction sa = { 0 };
	sa.sa_handler = on_check_signal;
	sigaction(SIGUSR1, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigset_t block;
	sigemptyset(&block);
	sigaddset(&block, SIGUSR1);
	sigaddset(&block, SIGTERM);
	sigprocmask(SIG_BLOCK, &block, NULL);
}

/*
 * Answers each SIGUSR1 with CHECK's verdict in DIR/check ("PASS", or what it wrote to WHY), through a
 * temporary renamed into place so that the test never reads half of it. Returns once SIGTERM has come.
 */
static inline void serve_checks(const char *dir, int (*check)(char *why, size_t len))
{
	sigset_t sleeping;
	sigprocmask(SIG_BLOCK, NULL, &sleeping);
	sigdelset(&sleeping, SIGUSR1);
	sigdelset(&sleeping, SIGTERM);
	while (!got_term) {
		while (!got_usr1 && !got_term)
			sigsuspend(&sleeping);
		if (!got_usr1)
			break;
		got_usr1 = 0;
		char why[512] = "PASS";
		int ok = check(why, sizeof(why));
		char path[4200], tmp[4300];
		snprintf(path, sizeof(path), "%s/check", dir);
		snprintf(tmp, sizeof(tmp), "%s.tmp", path);
		FILE *f = fopen(tmp, "w");
		if (f == NULL) {
			perror(tmp);
			continue;
		}
		fprintf(f, "%s\n", ok ? "PASS" : why);
		fclose(f);
		rename(tmp, path);
	}
}
