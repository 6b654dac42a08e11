/*
 * timerfd: timers come back on their clocks with the time they had left, their interval, their unread
 * expirations and their flags: a 50 ms periodic CLOCK_MONOTONIC timer (non-blocking) fires every 50 ms; a
 * one-shot that expired once, unread, still reads 1; a CLOCK_BOOTTIME timer 1000 s out still has nearly that
 * left; an absolute CLOCK_REALTIME timer (cancel on set) an hour out still expires at that time; a disarmed
 * timer stays disarmed.
 */
#include "zdtmlib.h"
#include <sys/timerfd.h>

static double now(clockid_t c)
{
	struct timespec t;
	clock_gettime(c, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}

static double left(int fd, double *interval)
{
	struct itimerspec its;
	if (timerfd_gettime(fd, &its) != 0)
		return -1;
	if (interval)
		*interval = its.it_interval.tv_sec + its.it_interval.tv_nsec / 1e9;
	return its.it_value.tv_sec + its.it_value.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	test_init(argc, argv);
	int tick = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	int once = timerfd_create(CLOCK_MONOTONIC, 0);
	int boot = timerfd_create(CLOCK_BOOTTIME, 0);
	int abs_ = timerfd_create(CLOCK_REALTIME, 0);
	int off = timerfd_create(CLOCK_MONOTONIC, 0);
	SETUP(tick >= 0 && once >= 0 && boot >= 0 && abs_ >= 0 && off >= 0, "timerfd_create");
	struct itimerspec t50 = {.it_interval = {0, 50000000}, .it_value = {0, 50000000}};
	struct itimerspec t1ms = {.it_value = {0, 1000000}};
	struct itimerspec t1000 = {.it_value = {1000, 0}};
	double deadline = now(CLOCK_REALTIME) + 3600;
	struct itimerspec tabs = {.it_value = {(time_t)deadline, 0}};
	SETUP(timerfd_settime(tick, 0, &t50, NULL) == 0 && timerfd_settime(once, 0, &t1ms, NULL) == 0
	      && timerfd_settime(boot, 0, &t1000, NULL) == 0
	      && timerfd_settime(abs_, TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET, &tabs, NULL) == 0, "timerfd_settime");
	struct timespec ms5 = {0, 5000000};
	while (left(once, NULL) > 0)
		nanosleep(&ms5, NULL);
	test_ready();
	test_wait();
	uint64_t n = 0;
	CHECK(read(once, &n, 8) == 8 && n == 1, "the expired one-shot reads %llu, not 1", (unsigned long long)n);
	CHECK(left(once, NULL) == 0, "the one-shot timer is armed again");
	double interval;
	double b = left(boot, &interval);
	CHECK(b > 900 && b <= 1000 && interval == 0, "the CLOCK_BOOTTIME timer has %.3f s left (interval %.3f)", b, interval);
	double a = left(abs_, NULL);
	double expect = deadline - now(CLOCK_REALTIME);
	CHECK(a > expect - 2 && a < expect + 2, "the absolute timer has %.3f s left, not %.3f", a, expect);
	CHECK(left(off, &interval) == 0 && interval == 0, "the disarmed timer is armed");
	CHECK(fcntl(tick, F_GETFL) & O_NONBLOCK, "the periodic timer lost O_NONBLOCK");
	CHECK(fcntl(tick, F_GETFD) & FD_CLOEXEC, "the periodic timer lost FD_CLOEXEC");
	left(tick, &interval);
	CHECK(interval > 0.0499 && interval < 0.0501, "the periodic timer's interval is %.4f s", interval);
	/* it fires every 50 ms: count expirations over 500 ms */
	while (read(tick, &n, 8) == 8)
		;
	fcntl(tick, F_SETFL, 0);
	double start = now(CLOCK_MONOTONIC);
	uint64_t total = 0;
	while (now(CLOCK_MONOTONIC) - start < 0.5) {
		CHECK(read(tick, &n, 8) == 8, "read: %s", strerror(errno));
		total += n;
	}
	CHECK(total >= 8 && total <= 12, "the periodic timer fired %llu times in 500 ms, not about 10", (unsigned long long)total);
	return pass();
}
