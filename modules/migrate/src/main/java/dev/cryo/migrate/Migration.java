package dev.cryo.migrate;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;

import dev.cryo.dump.DumpException;
import dev.cryo.dump.DumpListener;
import dev.cryo.dump.DumpOptions;
import dev.cryo.dump.DumpStats;
import dev.cryo.dump.Dumper;
import dev.cryo.dump.PreDumpMode;
import dev.cryo.images.remote.ImageDaemon;
import dev.cryo.images.remote.RemoteImageException;
import dev.cryo.migrate.internal.ControlChannel;
import dev.cryo.migrate.proto.Control;
import dev.cryo.migrate.proto.Hello;
import dev.cryo.migrate.proto.Restored;
import dev.cryo.parasite.Cancellation;
import dev.cryo.pagexfer.TcpStream;
import dev.cryo.pagexfer.Tls;
import dev.cryo.syscalls.CryoFailure;

/**
 * Live migration, the source's side ({@code cryo migrate}): moves the running tree rooted at a pid to a
 * {@link MigrationServer}. Pre-copy rounds (read-mode pre-dumps, each on top of the one before) go through an
 * {@link ImageProxy} to the destination's image cache while the tree runs; the final dump freezes the tree and
 * sends what changed since; the destination restores from its cache, and only once it says the copy runs is the
 * tree here killed. Any failure before that releases the tree running here, and the destination drops what it
 * received.
 *
 * <pre>{@code
 * Migration.Stats s = Migration.run(new Migration.Options(pid, address, 27000, null, PreCopy.auto(), Network.NONE, false),
 *         listener, new Cancellation());
 * }</pre>
 */
public final class Migration {
    /** How long the destination may stay silent on the control connection (its restore included). */
    public static final Duration STALL = Duration.ofSeconds(60);
    private static final int VERSION = 1;

    private Migration() {}

    /**
     * @param pid       the tree's root
     * @param to        the migration server's address (its image cache listens there too)
     * @param port      the migration server's control port
     * @param tls       TLS for both connections, or null
     * @param preCopy   the pre-copy rounds
     * @param network   connections, as for a dump (the destination restores them the same way)
     * @param fileLocks dump the file locks the tree holds
     * @param postCopy  leave the private anonymous memory in the frozen tree and serve it to the destination's lazy
     *                  restore; the point of no return is then the destination's lazy-pages daemon connecting
     * @param shellJob  the tree is a shell job (its session leader outside it), restored into the destination cryo's session
     */
    public record Options(int pid, InetAddress to, int port, Tls tls, PreCopy preCopy, DumpOptions.Network network,
                          boolean fileLocks, boolean postCopy, boolean shellJob, Duration stall) {
        public Options(int pid, InetAddress to, int port, Tls tls, PreCopy preCopy, DumpOptions.Network network,
                       boolean fileLocks, boolean postCopy, boolean shellJob) {
            this(pid, to, port, tls, preCopy, network, fileLocks, postCopy, shellJob, STALL);
        }
    }

    /** Hears how the migration goes. Called from the migrating thread. */
    public interface Listener {
        /** A phase begins: "pre-copy round 2", "final dump", "restore on the destination". */
        default void phase(String what) {}

        /** {@code done} of {@code total} pages of the current round or dump sent. */
        default void pages(long done, long total) {}

        /** A pre-copy round has ended. */
        default void round(Round r) {}

        /** A detail, for {@code -v}. */
        default void log(String message) {}
    }

    /** A pre-copy round, or the final dump (number 0). */
    public record Round(int number, long pages, long bytes, long nanos) {}

    /**
     * What the migration did.
     *
     * @param rounds        the pre-copy rounds, in order
     * @param finalDump     the final dump's pages, bytes and time (the tree frozen from its start)
     * @param frozenNanos   how long the tree was frozen on the source (until it was killed)
     * @param downtimeNanos from the freeze until the destination said its copy runs
     * @param restoreNanos  the destination's restore
     * @param restorePages  pages the destination's restore wrote itself (with post-copy, the rest came later, lazily)
     * @param totalNanos    the whole migration
     * @param wireBytes     images sent to the destination's cache
     * @param treeBytes     the tree's private memory (pages present at the final dump)
     * @param remotePid     the copy's root pid on the destination (as its host sees it)
     * @param postCopy      post-copy only: from the destination's first process handed over until all its memory was
     *                      resident, and the pages that came lazily from here; null without post-copy
     */
    public record Stats(List<Round> rounds, Round finalDump, long frozenNanos, long downtimeNanos, long restoreNanos,
                        long restorePages, long totalNanos, long wireBytes, long treeBytes, int remotePid, PostCopy postCopy) {}

    /**
     * Post-copy's figures: until every page was resident on the destination, the pages that came lazily from here
     * (the destination's count), the faults it answered, the bytes this side served, and the pages the final dump
     * left here for it (the pre-copied ones came from the destination's own cache: these alone cross the link).
     */
    public record PostCopy(long residentNanos, long pages, long faults, long bytes, long leftLazy) {}

    public static Stats run(Options o, Listener listener, Cancellation cancel) {
        long start = System.nanoTime();
        String where = "pid " + o.pid();
        TcpStream stream;
        try {
            stream = TcpStream.connect(o.to(), o.port(), o.tls(), o.stall(), cancel::check);
        } catch (CryoFailure e) {
            throw new MigrationException("cannot migrate " + where + ": the migration server: " + e.getMessage() + "; " + where + " runs on here", e);
        }
        Path scratch = null;
        ControlChannel control = new ControlChannel(stream, "migration server");
        boolean frozenYet = false; // until the final dump starts, every failure leaves the tree running here as it was
        try {
            DumpOptions.Network net = o.network();
            control.send(Control.newBuilder().setHello(Hello.newBuilder().setVersion(VERSION).setPid(o.pid())
                    .setTcpEstablished(net.tcpEstablished()).setTcpClose(net.tcpClose()).setExtUnixSk(net.extUnixSk())
                    .setNetworkLock(net.lock()).setPostCopy(o.postCopy()).setShellJob(o.shellJob())
                    .setPreCopy(o.preCopy().isAuto() || o.preCopy().rounds() > 0)).build());
            dev.cryo.migrate.proto.Accepted accepted = control.expect(Control.MessageCase.ACCEPTED, "in answer to the migration's hello").getAccepted();
            int cachePort = accepted.getCachePort();
            InetAddress here = o.postCopy() ? sourceAddress(control, accepted) : null;
            listener.log(control.peer() + " accepted the migration; its image cache listens on port " + cachePort);
            scratch = Files.createTempDirectory("cryo-migrate-");
            ImageProxy proxy;
            try {
                proxy = ImageProxy.connect(new ImageProxy.Options(o.to(), cachePort, scratch.resolve("proxy.sock"), o.tls(), o.stall()), listener::log);
            } catch (RemoteImageException e) {
                throw new MigrationException(e.getMessage(), e);
            }
            try (proxy) {
                AtomicReference<RuntimeException> proxyFailed = new AtomicReference<>();
                AtomicReference<ImageProxy.Stats> proxyStats = new AtomicReference<>();
                Thread serving = Thread.ofPlatform().name("migrate-image-proxy").daemon(true).start(() -> {
                    try {
                        proxyStats.set(proxy.serve());
                    } catch (RuntimeException e) {
                        proxyFailed.set(e);
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                });
                ImageDaemon via = ImageDaemon.proxy(proxy.localSocket());
                Path base = Path.of("/cryo-migrate", Integer.toString(o.pid()));
                DumpListener progress = new DumpListener() {
                    @Override
                    public void pages(long done, long total) {
                        listener.pages(done, total);
                    }

                    @Override
                    public void log(String message) {
                        listener.log(message);
                    }
                };
                List<Round> rounds = new ArrayList<>();
                List<PreCopy.Round> figures = new ArrayList<>();
                while (o.preCopy().another(figures, o.postCopy())) {
                    int n = rounds.size() + 1;
                    listener.phase("pre-copy round " + n);
                    DumpOptions pre = DumpOptions.of(o.pid(), base.resolve("pre-" + n)).withPreDumpMode(PreDumpMode.READ)
                            .withTrackMem(true).withPrevImagesDir(n == 1 ? null : Path.of("../pre-" + (n - 1)))
                            .withRemote(via).withListener(progress).withWarmUp(n == 1);
                    DumpStats s = step("pre-copy round " + n, where, proxyFailed, () -> Dumper.preDump(pre, cancel));
                    Round r = new Round(n, s.pagesWritten(), s.pagesWritten() * 4096, s.totalNanos());
                    rounds.add(r);
                    figures.add(new PreCopy.Round(r.pages(), r.bytes(), r.nanos()));
                    listener.round(r);
                    control.send(Control.newBuilder().setRound(dev.cryo.migrate.proto.Round.newBuilder().setNumber(n)
                            .setPages(r.pages()).setBytes(r.bytes()).setNanos(r.nanos())).build());
                }
                listener.phase("final dump");
                Path snapshot = base.resolve("dump");
                FinalStep fin = new FinalStep(control, snapshot.toString(), listener, o.stall());
                DumpOptions last = DumpOptions.of(o.pid(), snapshot).withRemote(via)
                        .withPrevImagesDir(rounds.isEmpty() ? null : Path.of("../pre-" + rounds.size())).withTrackMem(!rounds.isEmpty())
                        .withNetwork(net).withFileLocks(o.fileLocks()).withShellJob(o.shellJob())
                        .withWarmUp(true) // the dump's own code rehearsed on a decoy first: it runs warm while the tree is frozen
                        .withMappingsAhead(true); // smaps read while the tree runs; frozen, maps checked against it
                if (o.postCopy()) {
                    last = last.withLazyPages(new dev.cryo.dump.LazyServing(here, 0, o.tls())).withListener(fin.lazily(progress, cancel));
                } else {
                    last = last.withListener(progress).withHandover(fin::handover);
                }
                DumpOptions finalOptions = last;
                DumpStats d;
                frozenYet = true;
                try {
                    d = step("the final dump", where, proxyFailed, () -> Dumper.dump(finalOptions, cancel));
                    fin.afterDump();
                } catch (MigrationException e) {
                    throw fin.explain(e, where);
                }
                long released = System.nanoTime();
                serving.join(o.stall().toMillis());
                ImageProxy.Stats ps = proxyStats.get();
                long frozen = d.frozenNanos();
                long downtime = frozen - (released - fin.restoredAt);
                Restored r = fin.restored.get();
                dev.cryo.migrate.proto.Resident res = fin.resident.get();
                PostCopy post = res == null ? null
                        : new PostCopy(res.getNanos(), res.getRemotePages(), res.getFaults(), d.lazyBytesServed(), d.pagesLazy());
                return new Stats(rounds, new Round(0, d.pagesWritten(), d.pagesWritten() * 4096, d.totalNanos()), frozen,
                        Math.max(0, downtime), r.getRestoreNanos(), r.getPages(), System.nanoTime() - start,
                        (ps == null ? 0 : ps.forwardedBytes()) + d.lazyBytesServed(), (d.pagesScanned()) * 4096, r.getRootPid(), post);
            }
        } catch (MigrationException e) {
            // before the commit the destination drops what it has (a restored copy included): say why, if it listens
            control.fail(e.getMessage());
            if (!frozenYet && !e.getMessage().startsWith("cannot migrate ")) {
                // the hello, the image proxy's connection, a round's report: nothing of the tree was touched or it was released
                throw new MigrationException("cannot migrate " + where + ": " + e.getMessage() + "; " + where + " runs on here", e);
            }
            throw e;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new MigrationException("cannot migrate " + where + ": interrupted; " + where + " runs on here");
        } finally {
            control.close();
            if (scratch != null) {
                try {
                    Files.deleteIfExists(scratch.resolve("proxy.sock"));
                    Files.deleteIfExists(scratch);
                } catch (IOException e) {
                    // a temporary directory: the system's to clean
                }
            }
        }
    }

    /** The source's address as the destination saw it: where the lazy dump serves (it must be one of this host's). */
    private static InetAddress sourceAddress(ControlChannel control, dev.cryo.migrate.proto.Accepted accepted) {
        if (!accepted.hasSourceAddress()) {
            throw new MigrationException(control.peer() + " did not say where it sees this host: it cannot take post-copy");
        }
        try {
            return dev.cryo.syscalls.TcpSocket.address(accepted.getSourceAddress());
        } catch (IllegalArgumentException e) {
            throw new MigrationException(control.peer() + " sees this host at " + ControlChannel.oneLine(accepted.getSourceAddress())
                    + ", not an IP address");
        }
    }

    private interface DumpWork {
        DumpStats run() throws DumpException;
    }

    /**
     * One dump step; a failure says that the tree runs on here (the dump released it), with the proxy's own
     * failure when it caused the step's.
     */
    private static DumpStats step(String what, String where, AtomicReference<RuntimeException> proxyFailed, DumpWork work) {
        try {
            return work.run();
        } catch (DumpException | CryoFailure e) {
            RuntimeException p = proxyFailed.get();
            String why = e.getMessage() + (p == null || e.getMessage().contains(p.getMessage()) ? "" : " (" + p.getMessage() + ")");
            throw new MigrationException("cannot migrate " + where + ": " + what + ": " + why + "; " + where + " runs on here", e);
        }
    }
}
