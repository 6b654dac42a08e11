/*
 * sysv_sem_msg: SysV semaphores and message queues in an IPC namespace of the tree's own (the program unshares one
 * before it forks), and the namespace's limits: a named set of three semaphores with their values, a private set on
 * which a child sleeps in semop; a named queue holding four messages (one empty, one of 7000 bytes) under a lowered
 * byte limit, and a private queue on which another child sleeps in msgrcv; kernel.msgmnb and kernel.sem changed,
 * kernel.msg_next_id set. After restore each object has its id, key, owner and mode, the values and the messages
 * (read back in order, and by type), the limits and the next id are as they were, and both children wake up when
 * the parent posts the semaphore and sends the message they wait for.
 */
#include "zdtmlib.h"
#include <sched.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/syscall.h>

#define LONG_TEXT 7000

struct message {
	long mtype;
	char text[8192];
};

static const char *sem_limits = "250\t32000\t64\t128";

static int read_sysctl(const char *name, char *out, size_t len)
{
	char path[256];
	snprintf(path, sizeof(path), "/proc/sys/kernel/%s", name);
	FILE *f = fopen(path, "re");
	if (!f)
		return -1;
	int ok = fgets(out, (int)len, f) != NULL;
	fclose(f);
	if (!ok)
		return -1;
	out[strcspn(out, "\n")] = 0;
	return 0;
}

static int write_sysctl(const char *name, const char *value)
{
	char path[256];
	snprintf(path, sizeof(path), "/proc/sys/kernel/%s", name);
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t n = write(fd, value, strlen(value));
	close(fd);
	return n == (ssize_t)strlen(value) ? 0 : -1;
}

/* Whether process PID sleeps in system call NR (/proc/PID/syscall starts with its number). */
static int in_syscall(pid_t pid, long nr)
{
	char path[64], line[256];
	snprintf(path, sizeof(path), "/proc/%d/syscall", pid);
	FILE *f = fopen(path, "re");
	if (!f)
		return 0;
	int found = fgets(line, sizeof(line), f) && strtol(line, NULL, 10) == nr;
	fclose(f);
	return found;
}

static int send(int q, long type, const void *text, size_t len)
{
	struct message m = {.mtype = type};
	memcpy(m.text, text, len);
	return msgsnd(q, &m, len, IPC_NOWAIT);
}

int main(int argc, char **argv)
{
	test_init(argc, argv);
	SETUP(unshare(CLONE_NEWIPC) == 0, "unshare(CLONE_NEWIPC)");
	SETUP(write_sysctl("sem", "250 32000 64 128") == 0, "kernel.sem");
	SETUP(write_sysctl("msgmnb", "20000") == 0, "kernel.msgmnb");

	int sems = semget(0x5e3a0001, 3, IPC_CREAT | IPC_EXCL | 0640);
	SETUP(sems >= 0, "semget named");
	unsigned short values[3] = {0, 7, 32767};
	SETUP(semctl(sems, 0, SETALL, values) == 0, "SETALL");
	struct semid_ds sds;
	SETUP(semctl(sems, 0, IPC_STAT, &sds) == 0, "IPC_STAT");
	sds.sem_perm.uid = 65534;
	SETUP(semctl(sems, 0, IPC_SET, &sds) == 0, "IPC_SET");
	int gate = semget(IPC_PRIVATE, 1, IPC_CREAT | 0600);
	SETUP(gate >= 0, "semget private");

	int q = msgget(0x3e55a9e0, IPC_CREAT | IPC_EXCL | 0620);
	SETUP(q >= 0, "msgget named");
	struct msqid_ds qds;
	SETUP(msgctl(q, IPC_STAT, &qds) == 0, "IPC_STAT");
	SETUP(qds.msg_qbytes == 20000, "the queue takes kernel.msgmnb as its limit");
	qds.msg_qbytes = 12000;
	SETUP(msgctl(q, IPC_SET, &qds) == 0, "IPC_SET");
	char long_text[LONG_TEXT];
	test_fill(long_text, LONG_TEXT, 9);
	SETUP(send(q, 1, "first", 6) == 0, "msgsnd first");
	SETUP(send(q, 2, "", 0) == 0, "msgsnd empty");
	SETUP(send(q, 1, long_text, LONG_TEXT) == 0, "msgsnd long");
	SETUP(send(q, 5, "last", 5) == 0, "msgsnd last");
	int mailbox = msgget(IPC_PRIVATE, IPC_CREAT | 0600);
	SETUP(mailbox >= 0, "msgget private");

	pid_t waiter = fork(); /* sleeps in semop until the parent posts the gate */
	SETUP(waiter >= 0, "fork");
	if (waiter == 0) {
		struct sembuf down = {.sem_num = 0, .sem_op = -1};
		while (semop(gate, &down, 1) != 0)
			if (errno != EINTR)
				_exit(2);
		_exit(0);
	}
	pid_t reader = fork(); /* sleeps in msgrcv until the parent sends type 9 */
	SETUP(reader >= 0, "fork");
	if (reader == 0) {
		struct message m;
		ssize_t n;
		while ((n = msgrcv(mailbox, &m, sizeof(m.text), 9, 0)) < 0)
			if (errno != EINTR)
				_exit(2);
		_exit(n == 6 && memcmp(m.text, "wake!", 6) == 0 ? 0 : 3);
	}
	/* both asleep in their calls before the dump: the semaphore counts its sleeper, the reader is in msgrcv */
	for (int i = 0; i < 10000 && !(semctl(gate, 0, GETNCNT) == 1 && in_syscall(reader, SYS_msgrcv)); i++)
		usleep(1000);
	SETUP(write_sysctl("msg_next_id", "4242") == 0, "kernel.msg_next_id");
	SETUP(msgctl(q, IPC_STAT, &qds) == 0, "IPC_STAT");

	test_ready();
	test_wait();

	char value[128];
	CHECK(read_sysctl("sem", value, sizeof(value)) == 0 && strcmp(value, sem_limits) == 0, "kernel.sem is \"%s\"", value);
	CHECK(read_sysctl("msgmnb", value, sizeof(value)) == 0 && strcmp(value, "20000") == 0, "kernel.msgmnb is %s", value);
	CHECK(read_sysctl("msg_next_id", value, sizeof(value)) == 0 && strcmp(value, "4242") == 0, "kernel.msg_next_id is %s", value);

	CHECK(semget(0x5e3a0001, 0, 0) == sems, "key 0x5e3a0001 finds semaphore set %d, not %d", semget(0x5e3a0001, 0, 0), sems);
	struct semid_ds snow;
	CHECK(semctl(sems, 0, IPC_STAT, &snow) == 0, "semaphore set %d is gone: %s", sems, strerror(errno));
	CHECK(snow.sem_nsems == 3 && snow.sem_perm.uid == 65534 && (snow.sem_perm.mode & 0777) == 0640,
	      "semaphore set: %lu semaphores, owner %u, mode %#o", (unsigned long)snow.sem_nsems, snow.sem_perm.uid, snow.sem_perm.mode);
	unsigned short now[3];
	CHECK(semctl(sems, 0, GETALL, now) == 0 && now[0] == 0 && now[1] == 7 && now[2] == 32767, "semaphore values %u %u %u",
	      now[0], now[1], now[2]);
	struct sembuf take7 = {.sem_num = 1, .sem_op = -7, .sem_flg = IPC_NOWAIT};
	CHECK(semop(sems, &take7, 1) == 0, "semop -7: %s", strerror(errno));
	CHECK(semop(sems, &take7, 1) == -1 && errno == EAGAIN, "a second semop -7 did not block");

	CHECK(msgget(0x3e55a9e0, 0) == q, "key 0x3e55a9e0 finds queue %d, not %d", msgget(0x3e55a9e0, 0), q);
	struct msqid_ds qnow;
	CHECK(msgctl(q, IPC_STAT, &qnow) == 0, "queue %d is gone: %s", q, strerror(errno));
	CHECK(qnow.msg_qnum == 4 && qnow.msg_qbytes == 12000 && qnow.__msg_cbytes == qds.__msg_cbytes,
	      "queue: %lu messages, %lu bytes of %lu, not 4, %lu of 12000", (unsigned long)qnow.msg_qnum,
	      (unsigned long)qnow.__msg_cbytes, (unsigned long)qnow.msg_qbytes, (unsigned long)qds.__msg_cbytes);
	CHECK((qnow.msg_perm.mode & 0777) == 0620, "queue mode %#o", qnow.msg_perm.mode);
	struct message m;
	ssize_t n = msgrcv(q, &m, sizeof(m.text), 5, IPC_NOWAIT);
	CHECK(n == 5 && m.mtype == 5 && strcmp(m.text, "last") == 0, "the type 5 message is lost (%zd)", n);
	n = msgrcv(q, &m, sizeof(m.text), 0, IPC_NOWAIT);
	CHECK(n == 6 && m.mtype == 1 && strcmp(m.text, "first") == 0, "the first message is not first (%zd, type %ld)", n, m.mtype);
	n = msgrcv(q, &m, sizeof(m.text), 0, IPC_NOWAIT);
	CHECK(n == 0 && m.mtype == 2, "the empty message is not second (%zd, type %ld)", n, m.mtype);
	n = msgrcv(q, &m, sizeof(m.text), 0, IPC_NOWAIT);
	CHECK(n == LONG_TEXT && m.mtype == 1 && memcmp(m.text, long_text, LONG_TEXT) == 0, "the long message is not third (%zd)", n);
	CHECK(msgrcv(q, &m, sizeof(m.text), 0, IPC_NOWAIT) == -1 && errno == ENOMSG, "the queue holds more than it did");
	int next = msgget(IPC_PRIVATE, IPC_CREAT | 0600);
	CHECK(next == 4242, "a new queue got id %d, not kernel.msg_next_id's 4242", next);

	struct sembuf up = {.sem_num = 0, .sem_op = 1};
	CHECK(semop(gate, &up, 1) == 0, "semop +1: %s", strerror(errno));
	CHECK(send(mailbox, 9, "wake!", 6) == 0, "msgsnd: %s", strerror(errno));
	int st;
	CHECK(waitpid(waiter, &st, 0) == waiter && WIFEXITED(st) && WEXITSTATUS(st) == 0,
	      "the child sleeping in semop did not wake as it should (status 0x%x)", st);
	CHECK(waitpid(reader, &st, 0) == reader && WIFEXITED(st) && WEXITSTATUS(st) == 0,
	      "the child sleeping in msgrcv did not get the message (status 0x%x)", st);
	return pass();
}
