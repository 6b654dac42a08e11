package dev.cryo.syscalls;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.Test;

/** The one parser of /proc/PID/maps and smaps, on text of known shape and on this process's own mappings. */
class ProcMapsTest {
    private static final int SELF = Math.toIntExact(ProcessHandle.current().pid());
    /** AT_SYSINFO_EHDR (linux/auxvec.h): where the kernel put the vDSO. */
    private static final long AT_SYSINFO_EHDR = 33;

    @Test
    void mapsAndSmapsLinesParseWithTheirNamesAndDetails() {
        String smaps = """
                00400000-00452000 r-xp 00000000 08:02 173521                             /usr/bin/a name with spaces
                Size:                328 kB
                Rss:                  12 kB
                7f1e2a400000-7f1e2a421000 rw-p 00000000 00:00 0\s
                VmFlags: rd wr mr mw me ac
                7f00deadb000-7f00deadc000 rw-s 00003000 00:01 42                         /memfd:shm (deleted)
                ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0                  [vsyscall]
                """;
        List<String> details = new ArrayList<>();
        List<ProcMaps.Mapping> maps = ProcMaps.parse(smaps, (m, k, v) -> details.add(Long.toHexString(m.start()) + " " + k + "=" + v));
        assertThat(maps).containsExactly(
                new ProcMaps.Mapping(0x400000, 0x452000, "r-xp", 0, "08:02", 173521, "/usr/bin/a name with spaces"),
                new ProcMaps.Mapping(0x7f1e2a400000L, 0x7f1e2a421000L, "rw-p", 0, "00:00", 0, ""),
                new ProcMaps.Mapping(0x7f00deadb000L, 0x7f00deadc000L, "rw-s", 0x3000, "00:01", 42, "/memfd:shm (deleted)"),
                new ProcMaps.Mapping(0xffffffffff600000L, 0xffffffffff601000L, "--xp", 0, "00:00", 0, "[vsyscall]"));
        assertThat(details).containsExactly("400000 Size=328 kB", "400000 Rss=12 kB", "7f1e2a400000 VmFlags=rd wr mr mw me ac");
        ProcMaps.Mapping text = maps.getFirst();
        assertThat(List.of(text.readable(), text.writable(), text.executable(), text.shared())).containsExactly(true, false, true, false);
        assertThat(maps.get(2).shared()).isTrue();
        assertThat(text.size()).isEqualTo(0x52000);
        assertThat(ProcMaps.at(maps, 0x451fff)).isEqualTo(text);
        assertThat(ProcMaps.at(maps, 0x452000)).isNull();
        assertThat(ProcMaps.named(maps, "[vsyscall]")).isEqualTo(maps.getLast());
        assertThat(ProcMaps.parse(smaps, null)).as("without a consumer the details are passed over").isEqualTo(maps);
        assertThatThrownBy(() -> ProcMaps.parse("1000-2000 rw-p 0\n", null)).hasMessage("not a maps line: 1000-2000 rw-p 0");
    }

    @Test
    void aKeyPicksTheDetailLinesGivenAndNoOthers() {
        String smaps = """
                00400000-00452000 r-xp 00000000 08:02 173521                             /usr/bin/true
                AnonHugePages:         0 kB
                VmFlagsNot: no
                VmFlags: rd ex mr mw me
                7f1e2a400000-7f1e2a421000 rw-p 00000000 00:00 0
                Anonymous:             8 kB
                VmFlags: rd wr mr mw me ac
                """;
        List<String> details = new ArrayList<>();
        List<ProcMaps.Mapping> maps = ProcMaps.parse(smaps, "VmFlags", (m, k, v) -> details.add(Long.toHexString(m.start()) + " " + k + "=" + v));
        assertThat(maps).extracting(ProcMaps.Mapping::start).containsExactly(0x400000L, 0x7f1e2a400000L);
        assertThat(details).containsExactly("400000 VmFlags=rd ex mr mw me", "7f1e2a400000 VmFlags=rd wr mr mw me ac");
    }

    @Test
    void theVdsoIsWhereTheAuxiliaryVectorSaysAndAMappingOfOursIsFound() {
        ByteBuffer auxv = ByteBuffer.wrap(Proc.readBytes(SELF, "auxv")).order(ByteOrder.nativeOrder());
        long vdso = 0;
        while (auxv.remaining() >= 16) {
            long type = auxv.getLong(), value = auxv.getLong();
            if (type == AT_SYSINFO_EHDR) {
                vdso = value;
            }
        }
        try (Mapping mine = Mapping.anonymous(5 * 4096)) {
            List<ProcMaps.Mapping> maps = ProcMaps.of(SELF);
            assertThat(ProcMaps.named(maps, "[vdso]")).isNotNull().extracting(ProcMaps.Mapping::start).isEqualTo(vdso);
            ProcMaps.Mapping m = ProcMaps.at(maps, mine.address() + 4 * 4096);
            assertThat(m).isNotNull();
            assertThat(m.contains(mine.address(), mine.address() + mine.length())).isTrue();
            assertThat(m.perms()).isEqualTo("rw-p");
            assertThat(m.inode()).isZero();
            assertThat(maps).isSortedAccordingTo((a, b) -> Long.compareUnsigned(a.start(), b.start())); // [vsyscall] is above 2^63
        }
    }

    /** smaps read line by line gives what the whole text gives: of a process that stands still (a sleep). */
    @Test
    void smapsStreamedParsesAsTheWholeText() throws Exception {
        Process sleep = new ProcessBuilder("sleep", "60").start();
        try {
            int pid = Math.toIntExact(sleep.pid());
            // once it sleeps, its mappings no longer change
            while (!Proc.read(pid, "wchan").contains("nanosleep")) {
                Thread.onSpinWait();
            }
            List<String> streamed = new ArrayList<>();
            List<ProcMaps.Mapping> maps = ProcMaps.read(pid, "smaps", "VmFlags", (m, k, v) -> streamed.add(m.start() + " " + v));
            List<String> whole = new ArrayList<>();
            assertThat(maps).isNotEmpty().isEqualTo(ProcMaps.parse(Proc.read(pid, "smaps"), "VmFlags", (m, k, v) -> whole.add(m.start() + " " + v)));
            assertThat(streamed).hasSameSizeAs(maps).isEqualTo(whole);
            List<ProcMaps.Mapping> oneByOne = new ArrayList<>();
            List<String> values = new ArrayList<>();
            ProcMaps.each(pid, "smaps", "VmFlags", (m, v) -> {
                oneByOne.add(m);
                values.add(m.start() + " " + v);
            });
            assertThat(oneByOne).as("each mapping handed over one by one").isEqualTo(maps);
            assertThat(values).isEqualTo(whole);
            for (ProcMaps.Mapping m : maps) {
                assertThat(ProcMaps.at(maps, m.start())).isEqualTo(m);
                assertThat(ProcMaps.at(maps, m.end() - 1)).isEqualTo(m);
            }
        } finally {
            sleep.destroyForcibly().waitFor();
        }
        assertThatThrownBy(() -> ProcMaps.read(Integer.MAX_VALUE, "smaps", null, null)).isInstanceOf(Proc.TaskGoneException.class);
    }
}
