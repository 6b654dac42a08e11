/*
 * pty: a pseudo-terminal held as a terminal multiplexer holds it. The parent keeps the master (packet mode on)
 * and a slave fd; a child leads a session of its own with the slave as its controlling terminal on fds 0-2, in
 * the foreground, echoing each line it reads. The terminal has termios of its own (no echo, no output
 * processing, ^G as VINTR) and a 33x111 window. After restore: the same index, termios, window, packet mode
 * and unlocked state; the child still controls it (session and foreground group); a line written to the master
 * comes back through the child.
 */
// zdtm: skip pidns: the original, left running beside the restored tree, holds the pty index the restored tree needs
// zdtm: skip remote-lazy: it reads /proc/CHILD by its pid, which in the pid namespace beside the frozen original (it holds its pids until the daemon is done) names the original
// zdtm: skip migrate,migrate-lazy: on one machine the frozen original holds the pty index (migrate), and the program reads /proc/CHILD by its pid, which in the pid namespace beside the frozen original names the original (both)
#include "zdtmlib.h"
#include <poll.h>
#include <sys/ioctl.h>
#include <termios.h>

static int echo_lines(void)
{
	char line[256];
	for (;;) {
		ssize_t n = read(0, line, sizeof(line));
		if (n <= 0)
			return 0;
		char out[300];
		int m = snprintf(out, sizeof(out), "echo:%.*s", (int)n, line);
		if (write(1, out, m) != m)
			return 1;
	}
}

/* Reads from the master until it has LEN bytes of data (packet mode: each read starts with a status byte). */
static int read_data(int master, char *buf, size_t len)
{
	size_t got = 0;
	while (got < len) {
		struct pollfd p = {.fd = master, .events = POLLIN};
		if (poll(&p, 1, 5000) != 1)
			return -1;
		char pkt[512];
		ssize_t n = read(master, pkt, sizeof(pkt));
		if (n <= 0)
			return -1;
		if (pkt[0] != TIOCPKT_DATA)
			continue; /* a status packet (flush, start/stop) */
		size_t take = (size_t)n - 1 < len - got ? (size_t)n - 1 : len - got;
		memcpy(buf + got, pkt + 1, take);
		got += take;
	}
	return 0;
}

int main(int argc, char **argv)
{
	test_init(argc, argv);
	int master = posix_openpt(O_RDWR | O_NOCTTY);
	SETUP(master >= 0 && grantpt(master) == 0 && unlockpt(master) == 0, "posix_openpt");
	int index;
	SETUP(ioctl(master, TIOCGPTN, &index) == 0, "TIOCGPTN");
	char name[64];
	snprintf(name, sizeof(name), "/dev/pts/%d", index);
	int slave = open(name, O_RDWR | O_NOCTTY);
	SETUP(slave >= 0, "open the slave");
	struct termios t;
	SETUP(tcgetattr(slave, &t) == 0, "tcgetattr");
	t.c_lflag &= ~(ECHO | ECHOE | ECHOK | ECHONL);
	t.c_oflag &= ~OPOST;
	t.c_cc[VINTR] = 7;
	SETUP(tcsetattr(slave, TCSANOW, &t) == 0, "tcsetattr");
	struct winsize ws = {.ws_row = 33, .ws_col = 111, .ws_xpixel = 5, .ws_ypixel = 7};
	SETUP(ioctl(master, TIOCSWINSZ, &ws) == 0, "TIOCSWINSZ");
	int one = 1;
	SETUP(ioctl(master, TIOCPKT, &one) == 0, "TIOCPKT");
	int ready[2];
	SETUP(pipe(ready) == 0, "pipe");
	pid_t child = fork();
	SETUP(child >= 0, "fork");
	if (child == 0) {
		close(master);
		close(ready[0]);
		setsid();
		int tty = open(name, O_RDWR); /* a session leader's first terminal: its controlling one */
		if (tty < 0 || dup2(tty, 0) < 0 || dup2(tty, 1) < 0 || dup2(tty, 2) < 0 || tcsetpgrp(0, getpid()) != 0)
			_exit(2);
		if (tty > 2)
			close(tty);
		close(slave);
		close(ready[1]);
		_exit(echo_lines());
	}
	close(ready[1]);
	char c;
	SETUP(read(ready[0], &c, 1) == 0, "the child's terminal");
	close(ready[0]);
	test_ready();
	test_wait();
	int now;
	CHECK(ioctl(master, TIOCGPTN, &now) == 0 && now == index, "the pty's index is %d, not %d", now, index);
	struct termios got;
	CHECK(tcgetattr(slave, &got) == 0, "tcgetattr: %s", strerror(errno));
	CHECK(got.c_iflag == t.c_iflag && got.c_oflag == t.c_oflag && got.c_cflag == t.c_cflag && got.c_lflag == t.c_lflag,
	      "termios flags %o %o %o %o, not %o %o %o %o", got.c_iflag, got.c_oflag, got.c_cflag, got.c_lflag, t.c_iflag, t.c_oflag,
	      t.c_cflag, t.c_lflag);
	CHECK(memcmp(got.c_cc, t.c_cc, NCCS) == 0 && got.c_cc[VINTR] == 7, "control characters differ (VINTR %d)", got.c_cc[VINTR]);
	struct winsize w;
	CHECK(ioctl(slave, TIOCGWINSZ, &w) == 0 && w.ws_row == 33 && w.ws_col == 111 && w.ws_xpixel == 5 && w.ws_ypixel == 7,
	      "window %dx%d (%dx%d px)", w.ws_row, w.ws_col, w.ws_xpixel, w.ws_ypixel);
	int pkt = 0, locked = 1;
	CHECK(ioctl(master, TIOCGPKT, &pkt) == 0 && pkt == 1, "packet mode is off");
	CHECK(ioctl(master, TIOCGPTLCK, &locked) == 0 && locked == 0, "the pty is locked");
	pid_t sid = 0, fg = 0;
	CHECK(ioctl(master, TIOCGSID, &sid) == 0 && sid == child, "the terminal's session is %d, not the child's %d", sid, child);
	CHECK(ioctl(master, TIOCGPGRP, &fg) == 0 && fg == child, "the foreground group is %d, not %d", fg, child);
	char stat[512], path[64];
	snprintf(path, sizeof(path), "/proc/%d/stat", child);
	FILE *f = fopen(path, "r");
	CHECK(f && fgets(stat, sizeof(stat), f), "the child is gone");
	fclose(f);
	int tty_nr = 0;
	CHECK(sscanf(strrchr(stat, ')') + 2, "%*c %*d %*d %*d %d", &tty_nr) == 1, "cannot read the child's stat");
	struct stat st;
	CHECK(fstat(slave, &st) == 0 && (dev_t)tty_nr == st.st_rdev, "the child's controlling terminal is %x, not %lx", tty_nr,
	      (unsigned long)st.st_rdev);
	CHECK(write(master, "ping\n", 5) == 5, "write to the master");
	char reply[16] = "";
	CHECK(read_data(master, reply, 10) == 0 && memcmp(reply, "echo:ping\n", 10) == 0, "the child answered '%.10s'", reply);
	kill(child, SIGKILL);
	waitpid(child, NULL, 0);
	return pass();
}
