/* fifo_data: a FIFO in DIR, open for reading and writing, with data queued; path, data and ends stay. */
// zdtm: skip pidns: the FIFO is one object, by path, for the original beside and the restored copy: restoring its data queues it twice
// zdtm: skip migrate: the FIFO is one object, by path, for the frozen original (one machine) and the restored copy: restoring its data queues it twice
#include "zdtmlib.h"
#include <sys/ioctl.h>

int main(int argc, char **argv)
{
	test_init(argc, argv);
	char path[4096];
	snprintf(path, sizeof(path), "%s", test_path("fifo"));
	SETUP(mkfifo(path, 0600) == 0, "mkfifo");
	int rw = open(path, O_RDWR);
	int w = open(path, O_WRONLY);
	SETUP(rw >= 0 && w >= 0, "open fifo");
	const char msg[] = "through the fifo, across a checkpoint";
	SETUP(write(w, msg, sizeof(msg)) == sizeof(msg), "write");
	test_ready();
	test_wait();
	char link[4200];
	snprintf(link, sizeof(link), "/proc/self/fd/%d", rw);
	char target[4200];
	ssize_t n = readlink(link, target, sizeof(target) - 1);
	target[n > 0 ? n : 0] = 0;
	CHECK(strcmp(target, path) == 0, "fd %d is %s, not %s", rw, target, path);
	int queued = -1;
	CHECK(ioctl(rw, FIONREAD, &queued) == 0 && queued == sizeof(msg), "%d bytes queued, not %zu", queued, sizeof(msg));
	char got[sizeof(msg)];
	CHECK(read(rw, got, sizeof(got)) == sizeof(msg) && memcmp(got, msg, sizeof(msg)) == 0, "the fifo's data changed");
	CHECK(write(w, "y", 1) == 1 && read(rw, got, 1) == 1 && got[0] == 'y', "the two fds are no longer one fifo");
	return pass();
}
