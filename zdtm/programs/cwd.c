/* cwd: the working directory, a subdirectory of DIR, is the same after the dump. */
#include "zdtmlib.h"

int main(int argc, char **argv)
{
	char want[4096], got[4096];
	test_init(argc, argv);
	snprintf(want, sizeof(want), "%s/cwd-here", test_dir);
	SETUP(mkdir(want, 0755) == 0 || errno == EEXIST, "mkdir");
	SETUP(chdir(want) == 0, "chdir");
	SETUP(realpath(".", want) != NULL, "realpath");
	test_ready();
	test_wait();
	CHECK(getcwd(got, sizeof(got)) != NULL, "getcwd: %s", strerror(errno));
	CHECK(strcmp(got, want) == 0, "cwd is %s, not %s", got, want);
	struct stat st;
	CHECK(stat("../ready", &st) == 0, "../ready not found from the cwd");
	return pass();
}
