package dev.cryo.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicInteger;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.cryo.parasite.StopPoints;
import dev.cryo.syscalls.NetNamespace;
import dev.cryo.testkit.ImageDaemonProcess;
import dev.cryo.testkit.Target;
import dev.cryo.testkit.TwoHosts;

/**
 * {@code cryo migrate} when the link between the hosts is cut (the veth down) before the point of no return:
 * during pre-copy, and during the final dump with the tree frozen. The source (in one network namespace) and the
 * migration server (in the other) each take the silent peer for gone after {@code --timeout 3}: the source says in
 * one line that the tree runs on here, and the tree does, untraced and intact; the server drops what it received
 * and ends with a failure, having restored nothing. After the point of no return (post-copy, the destination's
 * lazy-pages daemon connected), the link cut or the destination killed: the source says in one line that the tree
 * is past that point, nothing is left frozen, and no copy of the tree runs on anywhere.
 */
class MigrateLinkCutTest {
    private static final String PORT = "27400";

    @TempDir
    Path work;

    @AfterEach
    void stopWatching() {
        StopPoints.watch(null);
    }

    @Test
    void theLinkCutDuringPreCopyLeavesTheTreeRunningHereAndNothingThere() throws Exception {
        try (TwoHosts hosts = TwoHosts.create("lc");
             ImageDaemonProcess s = server(hosts);
             Target target = Target.start("dumpee", work.resolve("t"), "64", "2")) {
            AtomicInteger released = new AtomicInteger();
            // the second pre-dump released (the warm-up's decoy and the first round, or the first two rounds): a round is due
            StopPoints.watch(point -> {
                if (point.equals("released") && released.incrementAndGet() == 2) {
                    hosts.cutLink();
                }
            });
            MainTest.Run migrate = migrate(hosts, target, "--pre-copy", "3");
            StopPoints.watch(null);
            assertThat(released.get()).as("pre-dumps released").isGreaterThanOrEqualTo(2);
            assertRunsOnHereAndNothingThere(target, migrate, s);
        }
    }

    @Test
    void theLinkCutDuringTheFinalDumpLeavesTheTreeRunningHereAndNothingThere() throws Exception {
        try (TwoHosts hosts = TwoHosts.create("lc");
             ImageDaemonProcess s = server(hosts);
             Target target = Target.start("dumpee", work.resolve("t"), "64", "2")) {
            AtomicInteger pages = new AtomicInteger();
            // after the first process's pages of the final dump, the tree frozen (not the warm-up's decoy: the tree is traced)
            StopPoints.watch(point -> {
                if (point.equals("pages") && MigrateFaultTestSupport.tracer(target.pid()) != 0 && pages.incrementAndGet() == 1) {
                    hosts.cutLink();
                }
            });
            MainTest.Run migrate = migrate(hosts, target, "--pre-copy", "1");
            StopPoints.watch(null);
            assertThat(pages.get()).as("the final dump reached its pages").isPositive();
            assertRunsOnHereAndNothingThere(target, migrate, s);
        }
    }

    @Test
    void theLinkCutDuringPostCopySaysTheTreeIsPastThePointOfNoReturnAndLeavesNothingFrozen() throws Exception {
        try (TwoHosts hosts = TwoHosts.create("lc");
             ImageDaemonProcess s = server(hosts);
             Target target = Target.start("dumpee", work.resolve("t"), "64", "2")) {
            AtomicInteger serving = new AtomicInteger();
            // the destination's daemon connected (the point of no return), the source about to serve its pages
            StopPoints.watch(point -> {
                if (point.equals("lazy-serving") && serving.incrementAndGet() == 1) {
                    hosts.cutLink();
                }
            });
            MainTest.Run migrate = migrate(hosts, target, "--pre-copy", "0", "--post-copy");
            StopPoints.watch(null);
            assertThat(serving.get()).as("the source served lazily").isEqualTo(1);
            assertThat(migrate.exit()).as(migrate.out() + migrate.err()).isEqualTo(1);
            assertThat(migrate.errLines()).singleElement().asString()
                    .startsWith("cryo: cannot migrate pid " + target.pid() + ": ").contains("past the point of no return");
            assertThat(target.awaitExit(30)).as("the source's tree, frozen and committed, is gone").isTrue();
            String ended = s.awaitEnd(60);
            assertThat(ended).as("the server's end").isNotNull().startsWith("the migration server exited with 1: ");
        }
    }

    @Test
    void theDestinationKilledDuringPostCopyLeavesNoCopyOfTheTreeAnywhere() throws Exception {
        Path t = work.resolve("t");
        try (TwoHosts hosts = TwoHosts.create("lc");
             ImageDaemonProcess s = server(hosts);
             Target target = Target.start("dumpee", t, "64", "2")) {
            AtomicInteger serving = new AtomicInteger();
            StopPoints.watch(point -> {
                if (point.equals("lazy-serving") && serving.incrementAndGet() == 1) {
                    ProcessHandle.of(s.pid()).ifPresent(ProcessHandle::destroyForcibly); // SIGKILL: the destination dies
                }
            });
            MainTest.Run migrate = migrate(hosts, target, "--pre-copy", "0", "--post-copy");
            StopPoints.watch(null);
            assertThat(serving.get()).as("the source served lazily").isEqualTo(1);
            assertThat(migrate.exit()).as(migrate.out() + migrate.err()).isEqualTo(1);
            assertThat(migrate.errLines()).singleElement().asString()
                    .startsWith("cryo: cannot migrate pid " + target.pid() + ": ").contains("past the point of no return");
            assertThat(target.awaitExit(30)).as("the source's tree, frozen and committed, is gone").isTrue();
            // and no restored copy runs on with holes where its pages had not come: dumpee's command line names its directory
            long deadline = System.nanoTime() + java.util.concurrent.TimeUnit.SECONDS.toNanos(20);
            java.util.List<Long> copies;
            do {
                copies = ProcessHandle.allProcesses().filter(p -> p.info().commandLine().orElse("").contains(t.toString()))
                        .map(ProcessHandle::pid).toList();
            } while (!copies.isEmpty() && System.nanoTime() < deadline && sleep());
            assertThat(copies).as("processes of a restored copy of the tree").isEmpty();
        }
    }

    private static boolean sleep() {
        try {
            Thread.sleep(50);
            return true;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    /** A migration server in the hosts' server namespace, quick to take a silent source for gone. */
    private ImageDaemonProcess server(TwoHosts hosts) throws Exception {
        ImageDaemonProcess s = ImageDaemonProcess.migrateServer(hosts.inServer(), TwoHosts.SERVER_ADDRESS, Integer.parseInt(PORT),
                Files.createDirectories(work.resolve("dst")), work.resolve("server.out"), "--pidns", "--timeout", "3");
        s.ready();
        return s;
    }

    /** {@code cryo migrate} from the hosts' client namespace (a thread that joins it; its threads inherit it). */
    private static MainTest.Run migrate(TwoHosts hosts, Target target, String... options) throws InterruptedException {
        java.util.List<String> args = new java.util.ArrayList<>(java.util.List.of("migrate", "-t", Integer.toString(target.pid()),
                "--to", TwoHosts.SERVER_ADDRESS + ":" + PORT, "--timeout", "3", "-j"));
        args.addAll(java.util.List.of(options));
        MainTest.Run[] run = new MainTest.Run[1];
        Thread t = new Thread(() -> {
            NetNamespace.enter(hosts.clientNamespace());
            run[0] = MainTest.cryo(args.toArray(String[]::new));
        }, "cryo-migrate-in-client");
        t.start();
        t.join();
        return run[0];
    }

    private static void assertRunsOnHereAndNothingThere(Target target, MainTest.Run migrate, ImageDaemonProcess s) throws Exception {
        assertThat(migrate.exit()).as(migrate.out() + migrate.err()).isEqualTo(1);
        assertThat(migrate.errLines()).singleElement().asString()
                .startsWith("cryo: cannot migrate pid " + target.pid() + ": ")
                .endsWith("; pid " + target.pid() + " runs on here");
        assertThat(MigrateFaultTestSupport.tracer(target.pid())).as("nobody traces the tree").isZero();
        assertThat(target.check()).as("the tree's own check").isEqualTo("PASS");
        String ended = s.awaitEnd(30);
        assertThat(ended).as("the server's end").isNotNull().startsWith("the migration server exited with 1: ");
        assertThat(s.output()).as("the server restored nothing").doesNotContain("restored pid");
    }
}
