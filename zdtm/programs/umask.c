/* umask: a umask of 027 stays: the mask is the same, and files are created with it. */
#include "zdtmlib.h"

int main(int argc, char **argv)
{
	test_init(argc, argv);
	umask(027);
	test_ready();
	test_wait();
	mode_t m = umask(0);
	CHECK(m == 027, "umask is %03o, not 027", m);
	umask(m);
	int fd = open(test_path("made"), O_CREAT | O_WRONLY, 0777);
	struct stat st;
	CHECK(fd >= 0 && fstat(fd, &st) == 0 && (st.st_mode & 0777) == 0750, "new file has mode %03o", st.st_mode & 0777);
	CHECK(strcmp(test_status("Umask:"), "0027") == 0, "/proc/self/status Umask is %s", test_status("Umask:"));
	return pass();
}
