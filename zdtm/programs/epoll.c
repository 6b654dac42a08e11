/*
 * epoll: watches come back with their events and data, and epoll_wait returns the same ready set. One
 * level-triggered instance watches a pipe holding data, an eventfd holding a count, an empty pipe, an armed
 * one-shot watch on a second eventfd, and a second epoll instance (nested) that itself watches the data pipe;
 * a one-shot watch that fired before the dump stays disarmed; an edge-triggered instance that never waited
 * reports its ready pipe once. After restore each wait gives exactly the expected set, with the dumped data.
 */
#include "zdtmlib.h"
#include <sys/epoll.h>
#include <sys/eventfd.h>

enum { DATA_PIPE = 101, COUNT = 102, EMPTY_PIPE = 103, ONESHOT = 104, INNER = 105, FIRED = 106, EDGE = 107 };

static int add(int ep, int fd, uint32_t events, uint64_t data)
{
	struct epoll_event ev = {.events = events, .data.u64 = data};
	return epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
}

/* The data of the ready watches of EP as a bit set (bit data-100), with each one's events checked. */
static int ready(int ep, char *why, size_t len)
{
	struct epoll_event evs[16];
	int n = epoll_wait(ep, evs, 16, 0), set = 0;
	if (n < 0)
		return snprintf(why, len, "epoll_wait: %s", strerror(errno)), -1;
	for (int i = 0; i < n; i++) {
		if (evs[i].data.u64 < 100 || evs[i].data.u64 > 131)
			return snprintf(why, len, "a watch came back with data %llu", (unsigned long long)evs[i].data.u64), -1;
		if (!(evs[i].events & EPOLLIN))
			return snprintf(why, len, "watch %llu ready with events %x", (unsigned long long)evs[i].data.u64, evs[i].events), -1;
		set |= 1 << (evs[i].data.u64 - 100);
	}
	return set;
}

#define BIT(d) (1 << ((d) - 100))

int main(int argc, char **argv)
{
	test_init(argc, argv);
	int data[2], empty[2], edge[2];
	SETUP(pipe(data) == 0 && pipe(empty) == 0 && pipe(edge) == 0, "pipe");
	SETUP(write(data[1], "data", 4) == 4 && write(edge[1], "edge", 4) == 4, "write");
	int count = eventfd(5, EFD_NONBLOCK), armed = eventfd(1, 0), fired = eventfd(1, 0);
	SETUP(count >= 0 && armed >= 0 && fired >= 0, "eventfd");
	int ep = epoll_create1(EPOLL_CLOEXEC), inner = epoll_create1(0), done = epoll_create1(0), et = epoll_create1(0);
	SETUP(ep >= 0 && inner >= 0 && done >= 0 && et >= 0, "epoll_create1");
	SETUP(add(inner, data[0], EPOLLIN, 1) == 0, "inner watch");
	SETUP(add(ep, data[0], EPOLLIN, DATA_PIPE) == 0 && add(ep, count, EPOLLIN, COUNT) == 0
	      && add(ep, empty[0], EPOLLIN, EMPTY_PIPE) == 0 && add(ep, armed, EPOLLIN | EPOLLONESHOT, ONESHOT) == 0
	      && add(ep, inner, EPOLLIN, INNER) == 0, "watches");
	SETUP(add(done, fired, EPOLLIN | EPOLLONESHOT, FIRED) == 0, "one-shot watch");
	char why[256];
	SETUP(ready(done, why, sizeof(why)) == BIT(FIRED), "the one-shot watch fires once before the dump");
	SETUP(add(et, edge[0], EPOLLIN | EPOLLET, EDGE) == 0, "edge-triggered watch");
	test_ready();
	test_wait();
	int want = BIT(DATA_PIPE) | BIT(COUNT) | BIT(ONESHOT) | BIT(INNER);
	int got = ready(ep, why, sizeof(why));
	CHECK(got >= 0, "%s", why);
	CHECK(got == want, "ready set 0x%x, not 0x%x (bit n: data 100+n)", got, want);
	got = ready(ep, why, sizeof(why));
	CHECK(got == (want & ~BIT(ONESHOT)), "second wait: ready set 0x%x: the one-shot watch did not disarm", got);
	CHECK(ready(done, why, sizeof(why)) == 0, "the one-shot watch that fired before the dump is armed again");
	struct epoll_event rearm = {.events = EPOLLIN | EPOLLONESHOT, .data.u64 = FIRED};
	CHECK(epoll_ctl(done, EPOLL_CTL_MOD, fired, &rearm) == 0 && ready(done, why, sizeof(why)) == BIT(FIRED),
	      "the disarmed watch does not fire once re-armed");
	CHECK(ready(et, why, sizeof(why)) == BIT(EDGE), "the edge-triggered watch did not report its ready pipe");
	CHECK(ready(et, why, sizeof(why)) == 0, "the edge-triggered watch reports twice");
	CHECK(write(empty[1], "x", 1) == 1 && (ready(ep, why, sizeof(why)) & BIT(EMPTY_PIPE)), "data into the empty pipe is not seen");
	uint64_t v;
	CHECK(read(count, &v, 8) == 8 && v == 5 && !(ready(ep, why, sizeof(why)) & BIT(COUNT)), "the eventfd watch does not follow its count");
	return pass();
}
