/* vdso_time: the vDSO stays where it was, and its clock_gettime agrees with the system call after the dump. */
#include "zdtmlib.h"
#include <sys/auxv.h>
#include <sys/syscall.h>

static int64_t ns(struct timespec t)
{
	return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

int main(int argc, char **argv)
{
	test_init(argc, argv);
	unsigned long vdso = getauxval(AT_SYSINFO_EHDR);
	SETUP(vdso != 0, "no vDSO");
	char before[512];
	snprintf(before, sizeof(before), "%s", test_maps_line((void *)vdso));
	struct timespec mono0;
	clock_gettime(CLOCK_MONOTONIC, &mono0);
	test_ready();
	test_wait();
	CHECK(strcmp(test_maps_line((void *)vdso), before) == 0, "vDSO mapping is '%s', was '%s'",
	      test_maps_line((void *)vdso), before);
	CHECK(strstr(before, "[vdso]") != NULL, "AT_SYSINFO_EHDR is not [vdso]: %s", before);
	int clocks[] = {CLOCK_REALTIME, CLOCK_MONOTONIC, CLOCK_BOOTTIME};
	for (int i = 0; i < 3; i++) {
		struct timespec a, b, c;
		syscall(SYS_clock_gettime, clocks[i], &a);
		clock_gettime(clocks[i], &b); /* through the vDSO */
		syscall(SYS_clock_gettime, clocks[i], &c);
		CHECK(ns(a) <= ns(b) && ns(b) <= ns(c), "clock %d: vDSO says %lld, the kernel %lld..%lld", clocks[i],
		      (long long)ns(b), (long long)ns(a), (long long)ns(c));
	}
	struct timespec mono1;
	clock_gettime(CLOCK_MONOTONIC, &mono1);
	CHECK(ns(mono1) > ns(mono0), "CLOCK_MONOTONIC went back");
	return pass();
}
