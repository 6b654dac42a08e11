package dev.cryo.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.cryo.syscalls.Kernel;
import dev.cryo.syscalls.Signals;
import dev.cryo.testkit.Target;

/**
 * pycriu, CRIU's own Python client from Debian's criu package, drives cryo as it would drive CRIU: through a
 * running {@code cryo service} (its {@code use_sk}) and through {@code cryo swrk FD} started for each
 * request (its {@code use_binary}, pointed at a script that runs cryo). Each checks, has an option
 * refused, pre-dumps a tree twice, dumps it on top, and restores it; the tree then checks its own memory.
 */
class PycriuTest {
    private static final Path PYTHON = Path.of("/usr/bin/python3");

    @TempDir
    Path work;

    @Test
    void pycriuDrivesARunningCryoService() throws Exception {
        Path socket = work.resolve("cryo.sock");
        Process service = CryoProcess.cryo(work.resolve("service.out"), "-v", "service", "--address", socket.toString()).start();
        try {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            while (!Files.exists(socket)) {
                assertThat(service.isAlive()).as("the service runs; it said: %s", read(work.resolve("service.out"))).isTrue();
                assertThat(System.nanoTime()).as("the service listens within 60 s").isLessThan(deadline);
                Thread.sleep(10);
            }
            roundTrip("sk", socket);
        } finally {
            new ProcessBuilder("kill", "-TERM", Long.toString(service.pid())).start().waitFor();
            assertThat(service.waitFor(90, TimeUnit.SECONDS)).as("the service ends on SIGTERM").isTrue();
        }
        assertThat(socket).as("the socket, once the service ended").doesNotExist();
        assertThat(read(work.resolve("service.out"))).contains("DUMP done", "RESTORE done");
    }

    @Test
    void pycriuDrivesCryoSwrkAsItsCriuBinary() throws Exception {
        // what pycriu execs as "PATH swrk FD", with stdin, stdout and stderr closed (cryo's launcher puts /dev/null there too)
        Path criu = work.resolve("criu");
        Files.writeString(criu, "#!/bin/sh\nexec </dev/null >/dev/null 2>>" + work.resolve("swrk.err") + "\nexec "
                + String.join(" ", CryoProcess.java().stream().map(a -> "'" + a + "'").toList()) + " \"$@\"\n");
        Files.setPosixFilePermissions(criu, PosixFilePermissions.fromString("rwx------"));
        roundTrip("binary", criu);
    }

    private void roundTrip(String mode, Path where) throws Exception {
        Path dir = work.resolve("t");
        Path client = work.resolve("pycriu_client.py");
        try (InputStream in = getClass().getResourceAsStream("pycriu_client.py")) {
            Files.copy(in, client);
        }
        List<Integer> restored = new ArrayList<>();
        try (Target target = Target.start("rst_tree", dir, "32", "2")) {
            Process python = new ProcessBuilder(PYTHON.toString(), client.toString(), mode, where.toString(),
                    Integer.toString(target.pid()), work.toString()).redirectErrorStream(true).start();
            String out = new String(python.getInputStream().readAllBytes());
            assertThat(python.waitFor(120, TimeUnit.SECONDS)).isTrue();
            Map<String, String> said = new LinkedHashMap<>();
            out.lines().filter(l -> l.contains("=")).forEach(l -> said.put(l.substring(0, l.indexOf('=')), l.substring(l.indexOf('=') + 1)));
            if (said.containsKey("pid")) {
                restored.add(Integer.parseInt(said.get("pid")));
                for (String p : Files.readString(dir.resolve("family")).trim().split(" ")) {
                    restored.add(Integer.parseInt(p));
                }
            }

            assertThat(said).as("what pycriu said:%n%s%ndump.log:%n%s%nrestore.log:%n%s%nswrk.err:%n%s", out,
                    read(work.resolve("dump/dump.log")), read(work.resolve("dump/restore.log")), read(work.resolve("swrk.err")))
                    .containsExactly(Map.entry("check", "ok"), Map.entry("refused", Integer.toString(Kernel.EBADRQC)),
                            Map.entry("pre1", "ok"), Map.entry("pre2", "ok"), Map.entry("restored", "False"),
                            Map.entry("pid", Integer.toString(target.pid())));
            assertThat(Files.readSymbolicLink(work.resolve("dump/parent"))).isEqualTo(Path.of("../pre2"));
            assertThat(target.check()).as("the restored tree checks its memory, threads and child").isEqualTo("PASS");
        } finally {
            for (int p : restored) {
                if (Signals.exists(p)) {
                    Signals.kill(p, Kernel.SIGKILL);
                }
            }
        }
    }

    private static String read(Path file) throws IOException {
        return Files.exists(file) ? Files.readString(file) : "(no " + file.getFileName() + ")";
    }
}
