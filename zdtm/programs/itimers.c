/* itimers: ITIMER_REAL and ITIMER_VIRTUAL armed with long intervals keep their intervals and run on, without firing early. */
#include "zdtmlib.h"
#include <sys/time.h>

static volatile sig_atomic_t fired;

static void on_alarm(int sig)
{
	(void)sig;
	fired++;
}

int main(int argc, char **argv)
{
	test_init(argc, argv);
	struct sigaction sa = {.sa_handler = on_alarm};
	sigaction(SIGALRM, &sa, NULL);
	sigaction(SIGVTALRM, &sa, NULL);
	struct itimerval real = {{1000, 0}, {1000, 0}}, virt = {{2000, 500000}, {2000, 500000}};
	SETUP(setitimer(ITIMER_REAL, &real, NULL) == 0 && setitimer(ITIMER_VIRTUAL, &virt, NULL) == 0, "setitimer");
	test_ready();
	test_wait();
	struct itimerval r, v;
	getitimer(ITIMER_REAL, &r);
	getitimer(ITIMER_VIRTUAL, &v);
	CHECK(r.it_interval.tv_sec == 1000 && r.it_interval.tv_usec == 0, "ITIMER_REAL interval is %ld.%06ld",
	      (long)r.it_interval.tv_sec, (long)r.it_interval.tv_usec);
	CHECK(r.it_value.tv_sec > 900 && r.it_value.tv_sec < 1000, "ITIMER_REAL has %ld s left", (long)r.it_value.tv_sec);
	CHECK(v.it_interval.tv_sec == 2000 && v.it_interval.tv_usec == 500000, "ITIMER_VIRTUAL interval is %ld.%06ld",
	      (long)v.it_interval.tv_sec, (long)v.it_interval.tv_usec);
	CHECK(v.it_value.tv_sec >= 1990 && v.it_value.tv_sec <= 2000, "ITIMER_VIRTUAL has %ld s left", (long)v.it_value.tv_sec);
	CHECK(fired == 0, "a timer fired %d times", fired);
	return pass();
}
