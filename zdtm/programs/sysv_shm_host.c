/*
 * sysv_shm_host: a SysV shared memory segment attached in the host's IPC namespace, which other processes may
 * share: cryo refuses to dump it (restored as plain shared memory it would be cut off from them). The segment
 * is marked for removal at once, so nothing is left when the program ends.
 */
// zdtm: skip host,pidns,predump,cgroup,pageserver,lazy,remote-lazy,remote,migrate,migrate-lazy: a segment of the host's IPC namespace is refused on purpose (DumpRefusalsTest)
#include "zdtmlib.h"
#include <sys/ipc.h>
#include <sys/shm.h>

int main(int argc, char **argv)
{
	test_init(argc, argv);
	int id = shmget(IPC_PRIVATE, 65536, IPC_CREAT | 0600);
	SETUP(id >= 0, "shmget");
	uint8_t *p = shmat(id, NULL, 0);
	SETUP(p != (void *)-1, "shmat");
	SETUP(shmctl(id, IPC_RMID, NULL) == 0, "IPC_RMID");
	test_fill(p, 65536, 42);
	test_ready();
	test_wait();
	CHECK(test_verify(p, 65536, 42) < 0, "the segment changed");
	return pass();
}
