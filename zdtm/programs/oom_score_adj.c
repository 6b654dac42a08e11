/*
 * oom_score_adj: raised OOM score adjustments stay, per process: 500 here, 700 in a child (raising needs no
 * privilege; lowering needs CAP_SYS_RESOURCE, which a container may lack). Each reads its own, through
 * /proc/self (a restore into a new pid namespace leaves /proc showing other pids).
 */
#include "zdtmlib.h"
#include <sys/prctl.h>

static int set_adj(int v)
{
	FILE *f = fopen("/proc/self/oom_score_adj", "we");
	if (!f)
		return -1;
	int ok = fprintf(f, "%d", v) > 0;
	return fclose(f) == 0 && ok ? 0 : -1;
}

static int get_adj(void)
{
	FILE *f = fopen("/proc/self/oom_score_adj", "re");
	int v = 12345;
	if (f) {
		if (fscanf(f, "%d", &v) != 1)
			v = 12345;
		fclose(f);
	}
	return v;
}


int main(int argc, char **argv)
{
	test_init(argc, argv);
	SETUP(set_adj(500) == 0, "oom_score_adj 500");
	int up[2], down[2];
	SETUP(pipe(up) == 0 && pipe(down) == 0, "pipe");
	pid_t child = fork();
	SETUP(child >= 0, "fork");
	if (child == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL); /* a parent that fails its setup takes the child along */
		int v = set_adj(700) == 0 ? 700 : -1;
		(void)!write(up[1], &v, sizeof(v));
		char c;
		/* the parent writes a byte after the checkpoint; then the child reports what it has */
		if (read(down[0], &c, 1) == 1) {
			v = get_adj();
			(void)!write(up[1], &v, sizeof(v));
		}
		_exit(0);
	}
	int v = 0;
	SETUP(read(up[0], &v, sizeof(v)) == sizeof(v) && v == 700, "the child's oom_score_adj 700");
	test_ready();
	test_wait();
	int mine = get_adj();
	(void)!write(down[1], "?", 1);
	int theirs = 12345;
	if (read(up[0], &theirs, sizeof(theirs)) != sizeof(theirs))
		theirs = 12345;
	waitpid(child, NULL, 0);
	CHECK(mine == 500, "oom_score_adj is %d, not 500", mine);
	CHECK(theirs == 700, "the child's oom_score_adj is %d, not 700", theirs);
	return pass();
}
