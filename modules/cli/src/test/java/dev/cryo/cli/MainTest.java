package dev.cryo.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;

import dev.cryo.syscalls.KernelFeatures;
import dev.cryo.syscalls.Signals;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class MainTest {
    /** One run of {@code cryo ARGS}: what it printed and how it exited. */
    record Run(int exit, String out, String err) {
        List<String> errLines() {
            return err.lines().toList();
        }
    }

    static Run cryo(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int exit = Main.run(args, new PrintWriter(out, true), new PrintWriter(err, true));
        return new Run(exit, out.toString(), err.toString());
    }

    @Test
    void checkListsEveryKernelFeatureWithItsState() {
        Run run = cryo("check");

        assertThat(run.out()).contains("PAGEMAP_SCAN ioctl", "PROCMAP_QUERY ioctl", "soft-dirty bit",
                "userfaultfd WP_ASYNC", "pidfd_open + pidfd_getfd", "process_vm_readv", "clone3",
                "ptrace (PTRACE_SEIZE)", "cgroup2 freezer", "vDSO layout");
        for (KernelFeatures.Feature f : KernelFeatures.Feature.values()) {
            boolean present = KernelFeatures.has(f);
            assertThat(run.out().lines().filter(l -> l.startsWith(f.title())).findFirst()).as(f.title())
                    .hasValueSatisfying(l -> assertThat(l).contains(present ? "yes" : f.required() ? "MISSING" : "no"));
        }
        boolean allRequired = Arrays.stream(KernelFeatures.Feature.values()).allMatch(f -> !f.required() || KernelFeatures.has(f));
        assertThat(run.exit()).isEqualTo(allRequired ? 0 : 1);
    }

    @Test
    void showOfMissingFileIsOneLineAndExitOne(@TempDir Path dir) {
        Path missing = dir.resolve("core-1.img");

        Run run = cryo("show", missing.toString());

        assertThat(run.exit()).isEqualTo(1);
        assertThat(run.errLines()).containsExactly("cryo: " + missing + ": no such file");
        assertThat(run.out()).isEmpty();
    }

    @Test
    void restoreFromADirectoryWithoutADumpIsOneLineAndExitOne(@TempDir Path dir) {
        Run run = cryo("restore", "-D", dir.toString(), "-d");

        assertThat(run.exit()).isEqualTo(1);
        assertThat(run.errLines()).hasSize(1);
        assertThat(run.errLines().getFirst()).startsWith("cryo: cannot restore from " + dir).contains("inventory.img");
    }

    /** An inventory.img with no entry (the magic alone) is refused with one line naming it, before anything starts. */
    @Test
    void restoreOfAnInventoryWithoutEntryIsOneLineAndExitOne(@TempDir Path dir) throws IOException {
        Files.write(dir.resolve("inventory.img"), new byte[] {0x16, 0x31, 0x31, 0x58}); // INVENTORY's magic, 0x58313116

        Run run = cryo("restore", "-D", dir.toString(), "-d");

        assertThat(run.exit()).isEqualTo(1);
        assertThat(run.errLines()).singleElement().asString()
                .isEqualTo("cryo: cannot restore from " + dir + ": reading images: inventory.img: no entry at offset 4 (expected one InventoryEntry)");
    }

    @Test
    void showOfGarbageNamesTheImage(@TempDir Path dir) throws IOException {
        Path garbage = dir.resolve("garbage.img");
        Files.write(garbage, new byte[] {1, 2, 3, 4, 5, 6, 7, 8, 9});

        Run run = cryo("show", garbage.toString());

        assertThat(run.exit()).isEqualTo(1);
        assertThat(run.errLines()).hasSize(1);
        assertThat(run.errLines().getFirst()).startsWith("cryo: garbage.img").doesNotContain("Exception");
    }

    @Test
    void verboseAddsTheStackTraceWhereverItIsGiven(@TempDir Path dir) {
        String missing = dir.resolve("x.img").toString();

        assertThat(cryo("-v", "show", missing).errLines()).hasSizeGreaterThan(1)
                .first().isEqualTo("cryo: " + missing + ": no such file");
        assertThat(cryo("show", "-v", missing).errLines()).hasSizeGreaterThan(1);
    }

    @Test
    void usageErrorsExitTwoWithOneLine() {
        Run unknown = cryo("dump", "-t", "1", "-D", "/tmp", "--frobnicate");
        assertThat(unknown.exit()).isEqualTo(2);
        assertThat(unknown.errLines()).hasSize(1);
        assertThat(unknown.errLines().getFirst()).startsWith("cryo: ").contains("--frobnicate", "cryo dump --help");

        Run noTree = cryo("dump", "-D", "/tmp");
        assertThat(noTree.exit()).isEqualTo(2);
        assertThat(noTree.errLines()).singleElement().asString().contains("--tree");

        assertThat(cryo().exit()).isEqualTo(2);
        assertThat(cryo("frobnicate").exit()).isEqualTo(2);
        assertThat(cryo("dump", "-t", "notapid", "-D", "/tmp").exit()).isEqualTo(2);
    }

    @Test
    void helpListsTheCommands() {
        Run run = cryo("--help");

        assertThat(run.exit()).isZero();
        assertThat(run.out()).contains("check", "dump", "show", "demo");
    }

    /** A command line gets only the verb it names (CryoCommand.addVerbs); `help VERB` still finds every verb. */
    @Test
    void helpOfAVerbIsThatVerbsUsage() {
        Run run = cryo("help", "restore");

        assertThat(run.exit()).isZero();
        assertThat(run.out()).startsWith("Usage: cryo restore ").isEqualTo(cryo("restore", "--help").out());
    }

    @Test
    void dumpOfNoSuchPidFailsWithOneLine(@TempDir Path dir) throws IOException {
        int pid = Integer.parseInt(Files.readString(Path.of("/proc/sys/kernel/pid_max")).trim()) - 1;
        while (Signals.exists(pid)) {
            pid--;
        }

        Run run = cryo("dump", "-t", Integer.toString(pid), "-D", dir.toString());

        assertThat(run.exit()).isEqualTo(1);
        assertThat(run.errLines()).singleElement().asString().startsWith("cryo: ").contains(Integer.toString(pid));
        assertThat(dir).isEmptyDirectory();
    }
}
