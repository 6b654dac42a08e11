/*
 * checklib.h: what the programs the restore tests ask to check themselves share (dumpee, fds_all, fds_state).
 * SIGUSR1 asks for a check, whose verdict the program writes to DIR/check; SIGTERM ends it. Like pdlib.h,
 * not included by zdtm suite tests.
 */
#include <stdio.h>

#include "requests.h"

/* SIGUSR1 asks for a check, SIGTERM for the end (requests.h). */
static inline void catch_checks(void)
{
	catch_requests(SIGTERM);
}

/*
 * Answers each SIGUSR1 with CHECK's verdict in DIR/check ("PASS", or what it wrote to WHY), through a
 * temporary renamed into place so that the test never reads half of it. Returns once SIGTERM has come.
 */
static inline void serve_checks(const char *dir, int (*check)(char *why, size_t len))
{
	while (!got_term) {
		await_request();
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
