/* comm: a process name set with prctl(PR_SET_NAME) is the same after the dump, in prctl and /proc/self/comm. */
#include "zdtmlib.h"
#include <sys/prctl.h>

int main(int argc, char **argv)
{
	test_init(argc, argv);
	SETUP(prctl(PR_SET_NAME, "zdtm-renamed") == 0, "prctl");
	test_ready();
	test_wait();
	char name[32] = "";
	prctl(PR_GET_NAME, name);
	CHECK(strcmp(name, "zdtm-renamed") == 0, "name is '%s'", name);
	int fd = open("/proc/self/comm", O_RDONLY);
	ssize_t n = read(fd, name, sizeof(name) - 1);
	name[n > 0 ? n : 0] = 0;
	CHECK(strcmp(name, "zdtm-renamed\n") == 0, "/proc/self/comm is '%s'", name);
	return pass();
}
