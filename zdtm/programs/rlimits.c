/* rlimits: lowered soft and hard limits (NOFILE, CORE, STACK, NPROC, MEMLOCK, MSGQUEUE) are the same after the dump. */
#include "zdtmlib.h"
#include <sys/resource.h>

static const int kinds[] = {RLIMIT_NOFILE, RLIMIT_CORE, RLIMIT_STACK, RLIMIT_NPROC, RLIMIT_MEMLOCK, RLIMIT_MSGQUEUE};
#define N (sizeof(kinds) / sizeof(kinds[0]))

int main(int argc, char **argv)
{
	test_init(argc, argv);
	struct rlimit want[N];
	for (size_t i = 0; i < N; i++) {
		SETUP(getrlimit(kinds[i], &want[i]) == 0, "getrlimit");
		rlim_t hard = want[i].rlim_max == RLIM_INFINITY ? (1u << 30) : want[i].rlim_max;
		want[i].rlim_max = hard - 1 - i;
		want[i].rlim_cur = want[i].rlim_max / 2 + i;
		if (kinds[i] == RLIMIT_NOFILE && want[i].rlim_cur < 64)
			want[i].rlim_cur = 64;
		SETUP(setrlimit(kinds[i], &want[i]) == 0, "setrlimit");
	}
	test_ready();
	test_wait();
	for (size_t i = 0; i < N; i++) {
		struct rlimit got;
		getrlimit(kinds[i], &got);
		CHECK(got.rlim_cur == want[i].rlim_cur && got.rlim_max == want[i].rlim_max,
		      "limit %d is %llu/%llu, not %llu/%llu", kinds[i], (unsigned long long)got.rlim_cur,
		      (unsigned long long)got.rlim_max, (unsigned long long)want[i].rlim_cur, (unsigned long long)want[i].rlim_max);
	}
	return pass();
}
