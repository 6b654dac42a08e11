/*
 * sysv_shm: SysV shared memory in an IPC namespace of the tree's own (the program unshares one before it forks):
 * a named segment owned by nobody, attached read-write, which the child attaches once more elsewhere; a private
 * segment of 10000 bytes (not whole pages) attached read-only; one attached twice; one whose attachment mprotect
 * split in three; one attached in part (its first page unmapped); one attached by nobody, holding data; one marked
 * for removal while attached; a 64 MiB one of which two pages were ever touched. After restore each attachment is
 * at its address with its contents and protection, a write through one shows through the others (the child's too),
 * and each segment has its id, key, size, owner, mode and number of attachments; the sparse one is still sparse.
 */
#include "zdtmlib.h"
#include <sched.h>
#include <sys/ipc.h>
#include <sys/shm.h>

#define PAGE 4096ul
#define NSEG 8
#define BIG (64ul << 20)

struct seg {
	const char *name;
	key_t key;
	size_t size;
	int id;
	struct shmid_ds ds; /* as at setup, once every attachment is made */
};

static struct seg segs[NSEG] = {
	{"named", 0x5e6d0001, 64 * PAGE, 0, {}},
	{"private read-only", IPC_PRIVATE, 10000, 0, {}},
	{"attached twice", 0x5e6d0003, 16 * PAGE, 0, {}},
	{"split", IPC_PRIVATE, 5 * PAGE, 0, {}},
	{"attached in part", IPC_PRIVATE, 4 * PAGE, 0, {}},
	{"unattached", 0x5e6d0006, 16 * PAGE, 0, {}},
	{"removed", IPC_PRIVATE, 2 * PAGE, 0, {}},
	{"sparse", IPC_PRIVATE, BIG, 0, {}},
};

/* The segment's resident bytes, from /proc/sysvipc/shm of our namespace (its "rss" column), or -1. */
static long resident(int id)
{
	FILE *f = fopen("/proc/sysvipc/shm", "re");
	char line[512];
	long rss = -1;
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		int key, shmid;
		long r;
		/* key shmid perms size cpid lpid nattch uid gid cuid cgid atime dtime ctime rss swap */
		if (sscanf(line, "%d %d %*o %*u %*d %*d %*u %*u %*u %*u %*u %*d %*d %*d %ld", &key, &shmid, &r) == 3 && shmid == id)
			rss = r;
	}
	fclose(f);
	return rss;
}

/* IPC_STAT by index (SHM_STAT) of segment ID, which has no key to find it by once removed; -1 if it is gone. */
static int stat_by_index(int id, struct shmid_ds *out)
{
	struct shm_info info;
	int max = shmctl(0, SHM_INFO, (struct shmid_ds *)&info);
	for (int i = 0; i <= max; i++)
		if (shmctl(i, SHM_STAT, out) == id)
			return 0;
	return -1;
}

/* The first offset from FROM to LEN of P that differs from pattern SEED, or -1. */
static long verify_from(const uint8_t *p, size_t from, size_t len, uint64_t seed)
{
	for (size_t i = from; i < len; i++)
		if (p[i] != test_pattern(seed, i))
			return (long)i;
	return -1;
}

static int check_ds(struct seg *s, struct shmid_ds *now)
{
	if (now->shm_segsz != s->ds.shm_segsz)
		return fail("segment %s: size %zu, not %zu", s->name, (size_t)now->shm_segsz, (size_t)s->ds.shm_segsz);
	if (now->shm_perm.__key != s->ds.shm_perm.__key)
		return fail("segment %s: key %#x, not %#x", s->name, now->shm_perm.__key, s->ds.shm_perm.__key);
	if (now->shm_perm.mode != s->ds.shm_perm.mode)
		return fail("segment %s: mode %#o, not %#o", s->name, now->shm_perm.mode, s->ds.shm_perm.mode);
	if (now->shm_perm.uid != s->ds.shm_perm.uid || now->shm_perm.gid != s->ds.shm_perm.gid)
		return fail("segment %s: owner %u:%u, not %u:%u", s->name, now->shm_perm.uid, now->shm_perm.gid,
			    s->ds.shm_perm.uid, s->ds.shm_perm.gid);
	if (now->shm_nattch != s->ds.shm_nattch)
		return fail("segment %s: %lu attachments, not %lu", s->name, (unsigned long)now->shm_nattch,
			    (unsigned long)s->ds.shm_nattch);
	return 0;
}

int main(int argc, char **argv)
{
	test_init(argc, argv);
	SETUP(unshare(CLONE_NEWIPC) == 0, "unshare(CLONE_NEWIPC)");
	for (int i = 0; i < NSEG; i++) {
		segs[i].id = shmget(segs[i].key, segs[i].size, IPC_CREAT | IPC_EXCL | (i == 0 ? 0640 : 0600));
		SETUP(segs[i].id >= 0, "shmget");
	}
	struct shmid_ds ds;
	SETUP(shmctl(segs[0].id, IPC_STAT, &ds) == 0, "IPC_STAT");
	ds.shm_perm.uid = 65534;
	ds.shm_perm.gid = 65534;
	SETUP(shmctl(segs[0].id, IPC_SET, &ds) == 0, "IPC_SET");

	uint8_t *named = shmat(segs[0].id, NULL, 0);
	SETUP(named != (void *)-1, "shmat named");
	test_fill(named, segs[0].size, 1);

	uint8_t *w = shmat(segs[1].id, NULL, 0);
	SETUP(w != (void *)-1, "shmat private");
	test_fill(w, segs[1].size, 2);
	SETUP(shmdt(w) == 0, "shmdt");
	uint8_t *ro = shmat(segs[1].id, NULL, SHM_RDONLY);
	SETUP(ro != (void *)-1, "shmat read-only");

	uint8_t *twice1 = shmat(segs[2].id, NULL, 0), *twice2 = shmat(segs[2].id, NULL, 0);
	SETUP(twice1 != (void *)-1 && twice2 != (void *)-1, "shmat twice");
	test_fill(twice1, segs[2].size, 3);

	uint8_t *split = shmat(segs[3].id, NULL, 0);
	SETUP(split != (void *)-1, "shmat split");
	test_fill(split, segs[3].size, 4);
	SETUP(mprotect(split + 2 * PAGE, PAGE, PROT_READ) == 0, "mprotect");

	uint8_t *part = shmat(segs[4].id, NULL, 0);
	SETUP(part != (void *)-1, "shmat part");
	test_fill(part, segs[4].size, 5);
	SETUP(munmap(part, PAGE) == 0, "munmap the first page");

	uint8_t *u = shmat(segs[5].id, NULL, 0);
	SETUP(u != (void *)-1, "shmat unattached");
	test_fill(u, segs[5].size, 6);
	SETUP(shmdt(u) == 0, "shmdt unattached");

	uint8_t *removed = shmat(segs[6].id, NULL, 0);
	SETUP(removed != (void *)-1, "shmat removed");
	test_fill(removed, segs[6].size, 7);
	SETUP(shmctl(segs[6].id, IPC_RMID, NULL) == 0, "IPC_RMID");

	uint8_t *sparse = shmat(segs[7].id, NULL, 0);
	SETUP(sparse != (void *)-1, "shmat sparse");
	memcpy(sparse + 5 * PAGE, "five", 5);
	memcpy(sparse + BIG - PAGE, "last", 5);

	int ready[2];
	SETUP(pipe(ready) == 0, "pipe");
	pid_t child = fork();
	SETUP(child >= 0, "fork");
	if (child == 0) {
		/* everything inherited, and the named segment once more of its own */
		uint8_t *mine = shmat(segs[0].id, NULL, 0);
		if (mine == (void *)-1 || write(ready[1], &mine, sizeof(mine)) != sizeof(mine))
			_exit(2);
		test_wait();
		if (test_verify(mine, segs[0].size - PAGE, 1) >= 0)
			_exit(3);
		if (memcmp(mine + segs[0].size - PAGE, "parent", 7) != 0)
			_exit(4); /* written by the parent after restore */
		memcpy(mine + segs[0].size - 2 * PAGE, "child", 6);
		if (verify_from(twice2, PAGE, segs[2].size, 3) >= 0)
			_exit(5);
		_exit(0);
	}
	uint8_t *childs;
	SETUP(read(ready[0], &childs, sizeof(childs)) == sizeof(childs), "the child's attachment");
	close(ready[0]);
	close(ready[1]);
	for (int i = 0; i < NSEG; i++)
		if (i != 6)
			SETUP(shmctl(segs[i].id, IPC_STAT, &segs[i].ds) == 0, "IPC_STAT");
	/* the removed segment has no key any more: found by its index */
	SETUP(stat_by_index(segs[6].id, &segs[6].ds) == 0, "SHM_STAT of the removed segment");
	SETUP(segs[6].ds.shm_perm.mode & SHM_DEST, "the removed segment is marked SHM_DEST");
	char part_line[512];
	snprintf(part_line, sizeof(part_line), "%s", test_maps_line(part + PAGE)); /* offset 0x1000 of its segment */
	SETUP(strstr(part_line, " 00001000 ") != NULL, "the attachment in part starts at offset 0x1000");
	char split_perms[8];
	snprintf(split_perms, sizeof(split_perms), "%s", test_perms(split + 2 * PAGE));

	test_ready();
	test_wait();

	for (int i = 0; i < NSEG; i++) {
		struct shmid_ds now;
		CHECK((i == 6 ? stat_by_index(segs[i].id, &now) : shmctl(segs[i].id, IPC_STAT, &now)) == 0,
		      "segment %s: id %d is gone", segs[i].name, segs[i].id);
		if (check_ds(&segs[i], &now))
			return 1;
		if (segs[i].key != IPC_PRIVATE)
			CHECK(shmget(segs[i].key, 0, 0) == segs[i].id, "key %#x finds id %d, not %d", segs[i].key,
			      shmget(segs[i].key, 0, 0), segs[i].id);
	}
	long bad;
	CHECK((bad = test_verify(named, segs[0].size, 1)) < 0, "named segment: byte %ld changed", bad);
	CHECK((bad = test_verify(ro, segs[1].size, 2)) < 0, "private read-only segment: byte %ld changed", bad);
	CHECK(strcmp(test_perms(ro), "r--s") == 0, "the read-only attachment is %s", test_perms(ro));
	CHECK((bad = test_verify(twice2, segs[2].size, 3)) < 0, "second attachment: byte %ld differs", bad);
	CHECK((bad = test_verify(split, segs[3].size, 4)) < 0, "split attachment: byte %ld changed", bad);
	CHECK(strcmp(test_perms(split + 2 * PAGE), split_perms) == 0 && strcmp(test_perms(split), "rw-s") == 0,
	      "split attachment: %s and %s, not rw-s and %s", test_perms(split), test_perms(split + 2 * PAGE), split_perms);
	CHECK((bad = verify_from(part, PAGE, segs[4].size, 5)) < 0, "attachment in part: byte %ld changed", bad);
	CHECK(strcmp(test_maps_line(part + PAGE), part_line) == 0, "the attachment in part is \"%s\", not \"%s\"",
	      test_maps_line(part + PAGE), part_line);
	uint8_t *u2 = shmat(segs[5].id, NULL, SHM_RDONLY);
	CHECK(u2 != (void *)-1, "shmat of the unattached segment: %s", strerror(errno));
	CHECK((bad = test_verify(u2, segs[5].size, 6)) < 0, "unattached segment: byte %ld changed", bad);
	shmdt(u2);
	CHECK((bad = test_verify(removed, segs[6].size, 7)) < 0, "removed segment: byte %ld changed", bad);
	CHECK(memcmp(sparse + 5 * PAGE, "five", 5) == 0 && memcmp(sparse + BIG - PAGE, "last", 5) == 0, "sparse segment changed");
	long rss = resident(segs[7].id);
	CHECK(rss >= 0 && rss <= (long)(16 * PAGE), "the sparse segment has %ld bytes resident: its holes were filled", rss);

	/* one segment, seen through every attachment, the child's too */
	memcpy(twice1, "shared", 7);
	CHECK(memcmp(twice2, "shared", 7) == 0, "a write through one attachment does not show through the other");
	memcpy(named + segs[0].size - PAGE, "parent", 7);
	kill(child, SIGTERM);
	int st;
	CHECK(waitpid(child, &st, 0) == child, "waitpid: %s", strerror(errno));
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "the child found its attachments changed (status 0x%x)", st);
	CHECK(memcmp(named + segs[0].size - 2 * PAGE, "child", 6) == 0, "the child's write is not in the parent's segment");
	return pass();
}
