/*
 * file_locks: an flock (shared with a child, which inherited the fd), a POSIX write lock on bytes 0-99 and a
 * POSIX read lock on 200-299 of a second file, and an OFD write lock to EOF on a third are all held after
 * restore: a process of another tree (a fresh fork at check time) cannot take any of them, and each POSIX lock
 * still names this process. Needs --file-locks, as with CRIU.
 */
// zdtm: dump-opts --file-locks
// zdtm: skip pidns: the original, left running beside the restored tree, still holds the locks it would need
// zdtm: skip migrate: on one machine the frozen original still holds the locks until its copy runs, and the copy needs them first
#include "zdtmlib.h"
#include <sys/file.h>

static int open_file(const char *name)
{
	return open(test_path(name), O_RDWR | O_CREAT, 0600);
}

/* In a fresh child (another process): 0 when every lock conflicts as it should, else which did not. */
static int others_are_kept_out(pid_t owner, char *why, size_t len)
{
	int fl = open_file("flock.f"), px = open_file("posix.f"), ofd = open_file("ofd.f");
	if (fl < 0 || px < 0 || ofd < 0)
		return snprintf(why, len, "cannot open the files: %s", strerror(errno)), 1;
	if (flock(fl, LOCK_SH | LOCK_NB) == 0 || errno != EWOULDBLOCK)
		return snprintf(why, len, "another process took a shared flock (the exclusive one is gone)"), 1;
	struct flock q = {.l_type = F_RDLCK, .l_whence = SEEK_SET, .l_start = 10, .l_len = 1};
	if (fcntl(px, F_GETLK, &q) < 0 || q.l_type != F_WRLCK || q.l_pid != owner || q.l_start != 0 || q.l_len != 100)
		return snprintf(why, len, "POSIX write lock on 0-99: F_GETLK says type %d pid %d range %lld+%lld", q.l_type,
				q.l_pid, (long long)q.l_start, (long long)q.l_len), 1;
	struct flock r = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 250, .l_len = 1};
	if (fcntl(px, F_GETLK, &r) < 0 || r.l_type != F_RDLCK || r.l_pid != owner || r.l_start != 200 || r.l_len != 100)
		return snprintf(why, len, "POSIX read lock on 200-299: F_GETLK says type %d pid %d range %lld+%lld", r.l_type,
				r.l_pid, (long long)r.l_start, (long long)r.l_len), 1;
	struct flock free_range = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 100, .l_len = 100};
	if (fcntl(px, F_GETLK, &free_range) < 0 || free_range.l_type != F_UNLCK)
		return snprintf(why, len, "bytes 100-199 are locked (type %d), which they never were", free_range.l_type), 1;
	struct flock o = {.l_type = F_RDLCK, .l_whence = SEEK_SET, .l_start = 4096, .l_len = 1};
	if (fcntl(ofd, F_OFD_SETLK, &o) == 0 || (errno != EAGAIN && errno != EACCES))
		return snprintf(why, len, "another process took an OFD read lock (the OFD write lock is gone): %s",
				strerror(errno)), 1;
	return 0;
}

int main(int argc, char **argv)
{
	test_init(argc, argv);
	int fl = open_file("flock.f"), px = open_file("posix.f"), ofd = open_file("ofd.f");
	SETUP(fl >= 0 && px >= 0 && ofd >= 0, "open");
	SETUP(flock(fl, LOCK_EX | LOCK_NB) == 0, "flock");
	struct flock w = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 100};
	struct flock r = {.l_type = F_RDLCK, .l_whence = SEEK_SET, .l_start = 200, .l_len = 100};
	SETUP(fcntl(px, F_SETLK, &w) == 0 && fcntl(px, F_SETLK, &r) == 0, "F_SETLK");
	struct flock o = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 0};
	SETUP(fcntl(ofd, F_OFD_SETLK, &o) == 0, "F_OFD_SETLK");
	pid_t sharer = fork(); /* holds the flock's file too, as a forked worker does */
	SETUP(sharer >= 0, "fork");
	if (sharer == 0) {
		for (;;)
			pause();
	}
	test_ready();
	test_wait();
	kill(sharer, SIGKILL);
	waitpid(sharer, NULL, 0);
	pid_t owner = getpid();
	int pipefd[2];
	SETUP(pipe(pipefd) == 0, "pipe");
	pid_t checker = fork();
	if (checker == 0) {
		char why[512] = "";
		int bad = others_are_kept_out(owner, why, sizeof(why));
		if (write(pipefd[1], why, strlen(why) + 1) < 0)
			_exit(2);
		_exit(bad);
	}
	close(pipefd[1]);
	char why[512] = "";
	ssize_t n = read(pipefd[0], why, sizeof(why) - 1);
	int status = 0;
	waitpid(checker, &status, 0);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "%s", n > 0 && why[0] ? why : "the checker failed");
	return pass();
}
