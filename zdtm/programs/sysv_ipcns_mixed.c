/*
 * sysv_ipcns_mixed [nested|foreign]: trees whose IPC namespaces cryo refuses to dump. nested: the root stays in
 * the namespace it was started in, its child unshares one of its own (CRIU refuses it too: one IPC namespace per
 * tree). foreign: the root attaches a segment of the namespace it was started in, then unshares one of its own:
 * the mapping belongs to no namespace the dump holds. The segments are marked for removal at once, so nothing is
 * left when the program ends.
 */
// zdtm: skip host,pidns,predump,cgroup,pageserver,lazy,remote-lazy,remote,migrate,migrate-lazy: refused on purpose (DumpRefusalsTest)
#include "zdtmlib.h"
#include <sched.h>
#include <sys/ipc.h>
#include <sys/shm.h>

int main(int argc, char **argv)
{
	test_init(argc, argv);
	int nested = argc > 2 && strcmp(argv[2], "nested") == 0;
	uint8_t *p = NULL;
	pid_t child = -1;
	if (nested) {
		int ready[2];
		SETUP(pipe(ready) == 0, "pipe");
		child = fork();
		SETUP(child >= 0, "fork");
		if (child == 0) {
			if (unshare(CLONE_NEWIPC) != 0 || write(ready[1], "u", 1) != 1)
				_exit(2);
			test_wait();
			_exit(0);
		}
		char c;
		SETUP(read(ready[0], &c, 1) == 1, "the child's unshare");
		close(ready[0]);
		close(ready[1]);
	} else {
		int id = shmget(IPC_PRIVATE, 8192, IPC_CREAT | 0600);
		SETUP(id >= 0, "shmget");
		p = shmat(id, NULL, 0);
		SETUP(p != (void *)-1, "shmat");
		SETUP(shmctl(id, IPC_RMID, NULL) == 0, "IPC_RMID");
		test_fill(p, 8192, 3);
		SETUP(unshare(CLONE_NEWIPC) == 0, "unshare(CLONE_NEWIPC)");
	}
	test_ready();
	test_wait();
	if (nested) {
		kill(child, SIGTERM);
		int st;
		CHECK(waitpid(child, &st, 0) == child && WIFEXITED(st) && WEXITSTATUS(st) == 0, "the child failed (0x%x)", st);
	} else {
		CHECK(test_verify(p, 8192, 3) < 0, "the segment changed");
	}
	return pass();
}
