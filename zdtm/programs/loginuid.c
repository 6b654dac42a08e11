/*
 * loginuid: the audit login uid set for this process (4242) stays: only the task itself may write it, so a
 * restorer must write it from inside. Passes at once where the kernel has no audit support.
 */
#include "zdtmlib.h"

#define LOGINUID 4242u

static long read_loginuid(void)
{
	FILE *f = fopen("/proc/self/loginuid", "re");
	unsigned long v;
	if (!f)
		return -1;
	int n = fscanf(f, "%lu", &v);
	fclose(f);
	return n == 1 ? (long)v : -2;
}

int main(int argc, char **argv)
{
	test_init(argc, argv);
	int audit = access("/proc/self/loginuid", F_OK) == 0;
	if (audit) {
		FILE *f = fopen("/proc/self/loginuid", "we");
		SETUP(f != NULL, "open /proc/self/loginuid");
		fprintf(f, "%u", LOGINUID);
		SETUP(fclose(f) == 0, "write /proc/self/loginuid");
		SETUP(read_loginuid() == LOGINUID, "read back the loginuid");
	}
	test_ready();
	test_wait();
	if (audit)
		CHECK(read_loginuid() == LOGINUID, "loginuid is %ld, not %u", read_loginuid(), LOGINUID);
	return pass();
}
