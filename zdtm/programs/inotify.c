/*
 * inotify: watches come back on their paths with their masks and their numbers, with nothing queued: wd 1 on a
 * directory (IN_CREATE | IN_DELETE), wd 2 added and removed (its IN_IGNORED read), wd 3 on a file (IN_MODIFY).
 * After restore the queue is empty, a file created in the directory is reported as IN_CREATE on wd 1 with its
 * name, and a write to the file as IN_MODIFY on wd 3.
 */
#include "zdtmlib.h"
#include <sys/inotify.h>

static char buf[4096] __attribute__((aligned(8)));

int main(int argc, char **argv)
{
	test_init(argc, argv);
	char dir[4096], other[4096], file[4096], made[4096];
	snprintf(dir, sizeof(dir), "%s/watched", test_dir);
	snprintf(other, sizeof(other), "%s/other", test_dir);
	snprintf(file, sizeof(file), "%s/watched/file", test_dir);
	snprintf(made, sizeof(made), "%s/watched/made", test_dir);
	SETUP(mkdir(dir, 0700) == 0 && mkdir(other, 0700) == 0, "mkdir");
	int f = open(file, O_WRONLY | O_CREAT, 0600);
	SETUP(f >= 0, "open");
	int in = inotify_init1(IN_NONBLOCK);
	SETUP(in >= 0, "inotify_init1");
	int w1 = inotify_add_watch(in, dir, IN_CREATE | IN_DELETE);
	int w2 = inotify_add_watch(in, other, IN_CREATE);
	SETUP(w1 == 1 && w2 == 2 && inotify_rm_watch(in, w2) == 0, "watches 1 and 2");
	int w3 = inotify_add_watch(in, file, IN_MODIFY);
	SETUP(w3 == 3, "watch 3");
	while (read(in, buf, sizeof(buf)) > 0) /* IN_IGNORED of watch 2 */
		;
	test_ready();
	test_wait();
	ssize_t n = read(in, buf, sizeof(buf));
	CHECK(n < 0 && errno == EAGAIN, "events queued after restore (%zd bytes; the first on wd %d mask 0x%x)", n,
	      n > 0 ? ((struct inotify_event *)buf)->wd : 0, n > 0 ? ((struct inotify_event *)buf)->mask : 0);
	int g = open(made, O_WRONLY | O_CREAT, 0600);
	CHECK(g >= 0, "create");
	close(g);
	n = read(in, buf, sizeof(buf));
	struct inotify_event *e = (struct inotify_event *)buf;
	CHECK(n > 0 && e->wd == 1 && (e->mask & IN_CREATE) && strcmp(e->name, "made") == 0,
	      "creating a file gave %zd bytes: wd %d mask 0x%x name '%s'", n, n > 0 ? e->wd : 0, n > 0 ? e->mask : 0, n > 0 ? e->name : "");
	CHECK(write(f, "x", 1) == 1, "write");
	n = read(in, buf, sizeof(buf));
	CHECK(n > 0 && e->wd == 3 && (e->mask & IN_MODIFY), "writing the file gave %zd bytes: wd %d mask 0x%x", n, n > 0 ? e->wd : 0,
	      n > 0 ? e->mask : 0);
	return pass();
}
