/* env: an environment variable set before the dump is in getenv() and /proc/self/environ after it. */
#include "zdtmlib.h"

static int environ_has(const char *entry)
{
	static char buf[1 << 20];
	int fd = open("/proc/self/environ", O_RDONLY);
	if (fd < 0)
		return 0;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	for (ssize_t i = 0; i < n; i += strlen(buf + i) + 1)
		if (strcmp(buf + i, entry) == 0)
			return 1;
	return 0;
}

int main(int argc, char **argv)
{
	test_init(argc, argv);
	if (!getenv("ZDTM_EXEC_ENV")) { /* exec again, with a variable in the initial environment */
		setenv("ZDTM_EXEC_ENV", "from-exec", 1);
		execv("/proc/self/exe", argv);
		SETUP(0, "execv");
	}
	SETUP(setenv("ZDTM_ENV", "cryo keeps me", 1) == 0, "setenv");
	test_ready();
	test_wait();
	const char *v = getenv("ZDTM_ENV");
	CHECK(v && strcmp(v, "cryo keeps me") == 0, "getenv(ZDTM_ENV) is %s", v ? v : "unset");
	/* the environment given at exec lives on the initial stack, which /proc/self/environ shows */
	CHECK(environ_has("ZDTM_EXEC_ENV=from-exec"), "/proc/self/environ lost ZDTM_EXEC_ENV=from-exec");
	return pass();
}
