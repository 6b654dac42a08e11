/*
 * memfd_seals: seals that forbid what a restore does before it applies them. One memfd is sealed F_SEAL_WRITE
 * and then mapped read-only (no write may follow, and no writable mapping); another F_SEAL_FUTURE_WRITE after it
 * was mapped writable (that mapping may still write, nothing new may). After restore both hold their data,
 * their seals and their mappings, and the seals still forbid what they forbade.
 */
#include "zdtmlib.h"

#ifndef F_SEAL_FUTURE_WRITE
#define F_SEAL_FUTURE_WRITE 0x0010
#endif

#define LEN (64ul << 10)

int main(int argc, char **argv)
{
	test_init(argc, argv);
	int sealed = memfd_create("zdtm-memfd-write-sealed", MFD_ALLOW_SEALING);
	SETUP(sealed >= 0 && ftruncate(sealed, LEN) == 0, "memfd_create");
	uint8_t *data = malloc(LEN);
	test_fill(data, LEN, 31);
	SETUP(pwrite(sealed, data, LEN, 0) == (ssize_t)LEN, "pwrite");
	SETUP(fcntl(sealed, F_ADD_SEALS, F_SEAL_WRITE | F_SEAL_SEAL) == 0, "F_SEAL_WRITE");
	/* mapped after the seal: the kernel takes VM_MAYWRITE away, so the mapping can never write */
	uint8_t *ro = mmap(NULL, LEN, PROT_READ, MAP_SHARED, sealed, 0);
	SETUP(ro != MAP_FAILED, "mmap read-only");

	int future = memfd_create("zdtm-memfd-future-sealed", MFD_ALLOW_SEALING);
	SETUP(future >= 0 && ftruncate(future, LEN) == 0, "memfd_create");
	uint8_t *rw = mmap(NULL, LEN, PROT_READ | PROT_WRITE, MAP_SHARED, future, 0);
	SETUP(rw != MAP_FAILED, "mmap writable");
	test_fill(rw, LEN, 32);
	SETUP(fcntl(future, F_ADD_SEALS, F_SEAL_FUTURE_WRITE) == 0, "F_SEAL_FUTURE_WRITE");
	test_ready();
	test_wait();

	long bad = test_verify(ro, LEN, 31);
	CHECK(bad < 0, "byte %ld of the write-sealed memfd changed", bad);
	CHECK(fcntl(sealed, F_GET_SEALS) == (F_SEAL_WRITE | F_SEAL_SEAL), "write-sealed memfd has seals %#x",
	      fcntl(sealed, F_GET_SEALS));
	CHECK(pwrite(sealed, "x", 1, 0) < 0 && errno == EPERM, "the write-sealed memfd takes a write");
	CHECK(mmap(NULL, LEN, PROT_READ | PROT_WRITE, MAP_SHARED, sealed, 0) == MAP_FAILED, "the write-sealed memfd maps writable");
	CHECK(mprotect(ro, LEN, PROT_READ | PROT_WRITE) < 0, "the mapping of the write-sealed memfd can be made writable");

	bad = test_verify(rw, LEN, 32);
	CHECK(bad < 0, "byte %ld of the future-write-sealed memfd changed", bad);
	CHECK(fcntl(future, F_GET_SEALS) == F_SEAL_FUTURE_WRITE, "future-write-sealed memfd has seals %#x",
	      fcntl(future, F_GET_SEALS));
	rw[7] = 0x99;
	uint8_t b = 0;
	CHECK(pread(future, &b, 1, 7) == 1 && b == 0x99, "the mapping made before F_SEAL_FUTURE_WRITE no longer writes the memfd");
	CHECK(pwrite(future, "x", 1, 0) < 0 && errno == EPERM, "the future-write-sealed memfd takes a write");
	return pass();
}
