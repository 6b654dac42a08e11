package dev.cryo.syscalls;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;

import org.junit.jupiter.api.Test;

import dev.cryo.bindings.Linux;

/** Descriptors: pipes and tee, pidfds and the fds they take, kcmp, memfds and their seals, mappings. */
class FdsTest {
    private static final int SELF = Math.toIntExact(ProcessHandle.current().pid());
    /** linux/fcntl.h; not in bindings' header list (the production code needs none of them by name). */
    private static final int F_SEAL_SEAL = 0x1, F_SEAL_SHRINK = 0x2, F_SEAL_GROW = 0x4, F_SEAL_WRITE = 0x8;

    private static String text(MemorySegment s, long n) {
        return new String(s.asSlice(0, n).toArray(ValueLayout.JAVA_BYTE), StandardCharsets.UTF_8);
    }

    @Test
    void teeCopiesAPipesBytesWithoutTakingThemAndAnEmptyPipeSaysEAGAIN() {
        try (Arena arena = Arena.ofConfined(); Io.Pipe a = Io.pipe(Linux.O_NONBLOCK()); Io.Pipe b = Io.pipe(Linux.O_NONBLOCK())) {
            String link = Io.readlink("/proc/self/fd/" + a.read().fd());
            assertThat(link).matches("pipe:\\[\\d+]").isEqualTo(Io.readlink("/proc/self/fd/" + a.write().fd()));
            Io.writeFully(a.write().fd(), arena.allocateFrom("cryo", StandardCharsets.UTF_8).asSlice(0, 4));
            assertThat(Io.tee(a.read().fd(), b.write().fd(), 100, 0)).isEqualTo(4);
            MemorySegment buf = arena.allocate(100);
            assertThat(text(buf, Io.read(b.read().fd(), buf))).isEqualTo("cryo");
            assertThat(text(buf, Io.read(a.read().fd(), buf))).as("still in the first pipe").isEqualTo("cryo");
            assertThatThrownBy(() -> Io.read(a.read().fd(), buf))
                    .isInstanceOfSatisfying(ErrnoException.class, e -> assertThat(e.is(Errno.EAGAIN)).isTrue())
                    .hasMessageStartingWith("read(" + a.read().fd() + ", 0x");
        }
    }

    @Test
    void aPidfdTakesAnotherDescriptionOfTheSameOpenFileAndKcmpSaysSo() {
        try (Fd pidfd = Pidfd.open(SELF); Fd mine = Io.open("/dev/null", Linux.O_RDONLY());
             Fd taken = Pidfd.getFd(pidfd, mine.fd()); Fd other = Io.open("/dev/null", Linux.O_RDONLY())) {
            assertThat(Io.readlink("/proc/self/fd/" + pidfd.fd())).isEqualTo("anon_inode:[pidfd]");
            assertThat(Proc.read(SELF, "fdinfo/" + pidfd.fd())).contains("Pid:\t" + SELF + "\n");
            assertThat(taken.fd()).isNotEqualTo(mine.fd());
            assertThat(Kcmp.sameFile(SELF, mine.fd(), SELF, taken.fd())).as("one open file description").isTrue();
            assertThat(Kcmp.sameFile(SELF, mine.fd(), SELF, other.fd())).as("the same file opened twice").isFalse();
            assertThat(Proc.read(SELF, "fdinfo/" + taken.fd())).as("pidfd_getfd sets close-on-exec").contains("flags:\t02");
            assertThatThrownBy(() -> Pidfd.getFd(pidfd, Integer.MAX_VALUE))
                    .hasMessageStartingWith("pidfd_getfd(2147483647)(").hasMessageEndingWith("bad file descriptor (EBADF)");
        }
    }

    private static Fd memfd(String name, int flags) {
        return Memfd.create(name, flags | Linux.MFD_CLOEXEC());
    }

    @Test
    void aMemfdTakesItsSizeAndBytesAtAnOffsetUntilItIsSealed() {
        try (Arena arena = Arena.ofConfined(); Fd fd = memfd("cryo-test", Linux.MFD_ALLOW_SEALING())) {
            assertThat(Io.readlink("/proc/self/fd/" + fd.fd())).isEqualTo("/memfd:cryo-test (deleted)");
            Memfd.truncate(fd, 3 * 4096);
            assertThat(Io.lseek(fd.fd(), 0, Linux.SEEK_END())).isEqualTo(3 * 4096);
            MemorySegment data = arena.allocate(5000);
            for (int i = 0; i < data.byteSize(); i++) {
                data.set(ValueLayout.JAVA_BYTE, i, (byte) (i * 7));
            }
            Memfd.pwriteFully(fd, data, 100);
            MemorySegment back = arena.allocate(5000);
            assertThat(Io.pread(fd.fd(), back, 100)).isEqualTo(5000);
            assertThat(back.mismatch(data)).isEqualTo(-1);

            assertThat(Memfd.seals(fd)).isZero();
            Memfd.addSeals(fd, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE);
            assertThat(Memfd.seals(fd)).isEqualTo(F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE);
            assertThatThrownBy(() -> Memfd.pwriteFully(fd, data, 0)).hasMessageStartingWith("pwrite64(" + fd.fd() + ", 0x")
                    .hasMessageEndingWith("operation not permitted (EPERM)");
            assertThatThrownBy(() -> Memfd.truncate(fd, 4096)).hasMessageStartingWith("ftruncate(4096)(")
                    .hasMessageEndingWith("operation not permitted (EPERM)");
            assertThat(Io.lseek(fd.fd(), 0, Linux.SEEK_END())).isEqualTo(3 * 4096);
        }
        assertThatThrownBy(() -> Memfd.create("cryo-test", 0x4000_0000)).as("an unknown flag")
                .hasMessageStartingWith("memfd_create(cryo-test)(0x").hasMessageEndingWith(", 0x40000000): invalid argument (EINVAL)");
        try (Fd unsealable = memfd("cryo-test", 0)) {
            assertThat(Memfd.seals(unsealable)).as("without MFD_ALLOW_SEALING").isEqualTo(F_SEAL_SEAL);
            assertThatThrownBy(() -> Memfd.addSeals(unsealable, F_SEAL_WRITE)).hasMessageStartingWith("fcntl(F_ADD_SEALS, 8)(")
                    .hasMessageEndingWith("operation not permitted (EPERM)");
        }
    }

    @Test
    void anAnonymousMappingIsPageAlignedReadWriteAndShowsInMaps() {
        try (Mapping m = Mapping.anonymous(3 * 4096)) {
            assertThat(m.address() % 4096).isZero();
            assertThat(m.length()).isEqualTo(3 * 4096);
            m.segment().set(ValueLayout.JAVA_LONG, 2 * 4096, 0x1234_5678_9abcL);
            assertThat(m.segment().get(ValueLayout.JAVA_LONG, 2 * 4096)).isEqualTo(0x1234_5678_9abcL);
            long start = m.address(), end = start + m.length();
            assertThat(Proc.read(SELF, "maps").lines().filter(l -> {
                String[] r = l.split(" ")[0].split("-");
                return Long.parseUnsignedLong(r[0], 16) <= start && end <= Long.parseUnsignedLong(r[1], 16);
            }).toList()).as("the mapping that holds it").singleElement().asString().contains(" rw-p ");
        }
        assertThatThrownBy(() -> Mapping.map(0, 4096, Linux.PROT_READ(), Linux.MAP_PRIVATE(), -1, 0)).as("a file mapping without a file")
                .hasMessageStartingWith("mmap(0, 4096, 1, 2, -1, 0): bad file descriptor (EBADF)");
    }

    @Test
    void aSliceOfAClosedMappingFailsWithAnExceptionInsteadOfTouchingFreedMemory() {
        MemorySegment slice;
        try (Mapping m = Mapping.anonymous(2 * 4096)) {
            slice = m.segment().asSlice(4096, 4096);
            slice.set(ValueLayout.JAVA_LONG, 0, 42);
        }
        assertThatThrownBy(() -> slice.get(ValueLayout.JAVA_LONG, 0)).isInstanceOf(IllegalStateException.class);
    }
}
