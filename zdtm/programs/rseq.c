/*
 * rseq: glibc's rseq registration survives: the area still gets the current CPU, and registering the same area
 * again fails with EBUSY (it is registered already) rather than succeeding.
 */
#include "zdtmlib.h"
#include <sched.h>
#include <sys/rseq.h>
#include <sys/syscall.h>

int main(int argc, char **argv)
{
	test_init(argc, argv);
	SETUP(__rseq_size > 0, "glibc did not register rseq (glibc.pthread.rseq=0?)");
	struct rseq *rs = (struct rseq *)((char *)__builtin_thread_pointer() + __rseq_offset);
	SETUP((int)rs->cpu_id >= 0, "rseq cpu_id");
	test_ready();
	test_wait();
	/* glibc registers the whole struct (32 bytes); __rseq_size is the part with features (20) */
	long r = syscall(SYS_rseq, rs, sizeof(struct rseq), 0, RSEQ_SIG);
	CHECK(r < 0 && errno == EBUSY, "registering the same rseq area again gave %ld (%s): it was not registered", r,
	      r < 0 ? strerror(errno) : "success");
	/* the kernel writes the CPU on return to user space; move between CPUs to see it update */
	for (int i = 0; i < 20; i++) {
		sched_yield();
		int cpu = sched_getcpu();
		int seen = (int)rs->cpu_id;
		if (seen == cpu)
			return pass();
	}
	return fail("rseq cpu_id is %d, sched_getcpu() says %d", (int)rs->cpu_id, sched_getcpu());
}
