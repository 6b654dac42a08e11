/* busyloop: a process that never sleeps; two counters advanced in lock-step stay in step through the dump. */
#include "zdtmlib.h"

int main(int argc, char **argv)
{
	test_init(argc, argv);
	volatile uint64_t a = 0, b = 0, h = 1469598103934665603ull;
	test_ready();
	while (!test_stop) {
		a++;
		h = (h ^ a) * 1099511628211ull;
		b += 2;
	}
	CHECK(b == 2 * a, "counters out of step: a=%llu b=%llu", (unsigned long long)a, (unsigned long long)b);
	CHECK(a > 1000, "the loop ran only %llu times", (unsigned long long)a);
	/* recompute the hash chain: memory and registers carried the loop state exactly */
	uint64_t g = 1469598103934665603ull;
	for (uint64_t i = 1; i <= a; i++)
		g = (g ^ i) * 1099511628211ull;
	CHECK(g == h, "hash after %llu rounds is %llx, expected %llx", (unsigned long long)a,
	      (unsigned long long)h, (unsigned long long)g);
	return pass();
}
