/*
 * session: a child that leads a session of its own, and its child in a group of its own within that session;
 * each keeps its session and group ids. The root reports what its children found.
 */
#include "zdtmlib.h"

static void report(const char *what)
{
	test_write_file("child-fail", what);
	_exit(1);
}

int main(int argc, char **argv)
{
	test_init(argc, argv);
	pid_t leader = fork();
	SETUP(leader >= 0, "fork");
	if (leader == 0) {
		if (setsid() < 0)
			report("setsid failed");
		pid_t member = fork();
		if (member == 0) {
			if (setpgid(0, 0) < 0)
				report("setpgid failed");
			test_write_file("member-ready", "1\n");
			test_wait();
			char why[256];
			pid_t me = getpid();
			if (getsid(0) != getppid() || getpgid(0) != me) {
				snprintf(why, sizeof(why), "member %d: sid %d pgid %d, expected sid %d pgid %d", me, getsid(0),
					 getpgid(0), getppid(), me);
				report(why);
			}
			_exit(0);
		}
		while (access(test_path("member-ready"), F_OK) != 0)
			usleep(1000);
		test_write_file("leader-ready", "1\n");
		test_wait();
		pid_t me = getpid();
		char why[256];
		if (getsid(0) != me || getpgid(0) != me || getsid(member) != me || getpgid(member) != member) {
			snprintf(why, sizeof(why), "leader %d: sid %d pgid %d, member %d sid %d pgid %d", me, getsid(0),
				 getpgid(0), member, getsid(member), getpgid(member));
			report(why);
		}
		kill(member, SIGTERM);
		int st;
		waitpid(member, &st, 0);
		_exit(WIFEXITED(st) ? WEXITSTATUS(st) : 1);
	}
	while (access(test_path("leader-ready"), F_OK) != 0)
		usleep(1000);
	pid_t sid = getsid(0), pgid = getpgid(0);
	test_ready();
	test_wait();
	CHECK(getsid(0) == sid && getpgid(0) == pgid, "root: sid %d pgid %d, was %d %d", getsid(0), getpgid(0), sid, pgid);
	CHECK(getsid(leader) == leader, "leader %d is in session %d", leader, getsid(leader));
	kill(leader, SIGTERM);
	int st;
	CHECK(waitpid(leader, &st, 0) == leader, "waitpid(%d): %s", leader, strerror(errno));
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		char why[512] = "";
		int fd = open(test_path("child-fail"), O_RDONLY);
		if (fd >= 0) {
			ssize_t n = read(fd, why, sizeof(why) - 1);
			why[n > 0 ? n : 0] = 0;
			close(fd);
		}
		return fail("%s", *why ? why : "a child failed");
	}
	return pass();
}
