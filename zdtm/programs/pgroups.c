/*
 * pgroups: a root that leads its own process group (and session), one child in that group and one child in a group of its
 * own; every group id and parent is the same after the dump.
 */
#include "zdtmlib.h"

static pid_t spawn(int own_group)
{
	pid_t c = fork();
	if (c == 0) {
		if (own_group)
			setpgid(0, 0);
		test_wait();
		_exit(0);
	}
	if (c > 0 && own_group)
		setpgid(c, c); /* both sides, so that there is no race */
	return c;
}

int main(int argc, char **argv)
{
	test_init(argc, argv);
	SETUP(getpgid(0) == getpid(), "the root leads its group (zdtmlib made it a session leader)");
	pid_t same = spawn(0), own = spawn(1);
	SETUP(same > 0 && own > 0, "fork");
	while (getpgid(own) != own)
		usleep(1000);
	pid_t me = getpid();
	test_ready();
	test_wait();
	CHECK(getpgid(0) == me, "root's group is %d, not %d", getpgid(0), me);
	CHECK(getpgid(same) == me, "child %d is in group %d, not %d", same, getpgid(same), me);
	CHECK(getpgid(own) == own, "child %d is in group %d, not its own", own, getpgid(own));
	kill(same, SIGTERM);
	kill(own, SIGTERM);
	int st;
	CHECK(waitpid(same, &st, 0) == same, "child %d is not mine: %s", same, strerror(errno));
	CHECK(waitpid(own, &st, 0) == own, "child %d is not mine: %s", own, strerror(errno));
	return pass();
}
