package dev.cryo.cli.command;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;

import dev.cryo.cli.Failure;
import dev.cryo.pagexfer.PageServer;
import dev.cryo.pagexfer.PageServerException;
import dev.cryo.syscalls.ErrnoException;
import dev.cryo.syscalls.Fd;
import dev.cryo.syscalls.Io;
import dev.cryo.syscalls.Kernel;
import dev.cryo.syscalls.Syscall;
import dev.cryo.syscalls.TcpSocket;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code cryo page-server}: receives the pages of one dump or pre-dump (cryo's or CRIU's) into DIR, then
 * exits, as CRIU's page server does. Says where it listens on its first line of output, once it does.
 */
@Command(name = "page-server", description = "Receive the pages of one dump or pre-dump over TCP (CRIU's page-server protocol)"
        + " into DIR as pagemap-N.img and pages-N.img, then exit.")
final class PageServerCommand implements Callable<Integer> {
    /** Set in the environment of the process that {@code --daemon} starts. */
    private static final String DETACHED = "CRYO_PAGE_SERVER_DETACHED";

    @Option(names = {"-D", "--images-dir"}, paramLabel = "DIR", required = true,
            description = "Existing directory that receives the pages (the dump's other images go beside them for a restore).")
    Path imagesDir;

    @Option(names = "--address", paramLabel = "ADDR", defaultValue = "127.0.0.1",
            description = "IP address to listen on. Default: ${DEFAULT-VALUE}.")
    String address;

    @Option(names = "--port", paramLabel = "PORT", required = true, description = "TCP port to listen on; 0 picks a free one (the first line says which).")
    int port;

    @Option(names = "--prev-images-dir", paramLabel = "REL",
            description = "The previous step's pages, relative to DIR (e.g. ../pre1), linked as parent: pages the dump leaves there are checked against it.")
    Path prevImagesDir;

    @Option(names = {"-d", "--daemon"}, description = "Go to the background once listening; the first line still says where.")
    boolean daemon;

    @Option(names = "--status-fd", paramLabel = "FD", description = "Write a zero byte to FD, and close it, once listening (as CRIU does).")
    Integer statusFd;

    @Option(names = "--display-stats", description = "At the end, print what was received, the CPU time it took and the peak memory.")
    boolean displayStats;

    @Mixin
    TlsOptions tls;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        PrintWriter out = spec.commandLine().getOut();
        if (daemon) {
            return startInBackground(out);
        }
        boolean detached = System.getenv(DETACHED) != null;
        if (detached) {
            // out of the terminal's session: a Ctrl-C there is not for us
            Syscall.call("setsid", Kernel.__NR_setsid);
        }
        PageServer.Options o = new PageServer.Options(imagesDir, parse(address), port, prevImagesDir, tls.tls());
        try (PageServer server = listen(o)) {
            out.printf(Locale.ROOT, "page server listening on %s%n", TcpSocket.format(new java.net.InetSocketAddress(server.address(), server.port())));
            out.flush();
            if (statusFd != null) {
                ready(statusFd);
            }
            if (detached) {
                quietStdout();
            }
            long cpuBefore = cpuNanos();
            PageServer.Session s;
            try {
                s = server.serve();
            } catch (PageServerException e) {
                throw new Failure("page server: " + e.getMessage(), e);
            }
            if (displayStats) {
                double mib = s.bytes() / 1048576.0;
                long cpu = cpuNanos() - cpuBefore;
                out.printf(Locale.ROOT, "received:      %d pagemaps, %d pages (%.1f MiB) from %s in %.2f ms%n", s.images(), s.pages(), mib,
                        s.peer(), s.nanos() / 1e6);
                out.printf(Locale.ROOT, "cpu time:      %.3f s (%.2f s per GiB)%n", cpu / 1e9, mib == 0 ? 0.0 : cpu / 1e9 / (mib / 1024));
                out.printf(Locale.ROOT, "peak rss:      %d KiB%n", peakRssKib());
                out.flush();
            }
        }
        return 0;
    }

    private static PageServer listen(PageServer.Options o) {
        try {
            return PageServer.listen(o);
        } catch (PageServerException e) {
            throw new Failure("page server: " + e.getMessage(), e);
        }
    }

    private static java.net.InetAddress parse(String address) {
        try {
            return TcpSocket.address(address);
        } catch (IllegalArgumentException e) {
            throw new Failure("--address: " + e.getMessage());
        }
    }

    /** CRIU's --status-fd: one zero byte once listening, then the fd is closed. */
    private static void ready(int fd) {
        try (Fd status = Fd.own(fd); Arena a = Arena.ofConfined()) {
            Io.writeFully(status.fd(), a.allocate(1));
        } catch (ErrnoException e) {
            throw new Failure("--status-fd " + fd + ": " + e.reason(), e);
        }
    }

    /** The process that --daemon left behind writes nothing more where its starter read its first line. */
    private static void quietStdout() {
        try (Fd devNull = Io.open("/dev/null", Kernel.O_WRONLY)) {
            Syscall.call("dup2(/dev/null, 1)", Kernel.__NR_dup2, devNull.fd(), 1);
        }
    }

    /**
     * --daemon: the JVM cannot fork, so the same command line (without --daemon) is started again as a process
     * of its own session; its first line, once it listens, is passed on, and this process exits. Its errors go
     * to this process's stderr, inherited.
     */
    private int startInBackground(PrintWriter out) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(ProcessHandle.current().info().arguments().map(List::of).orElse(List.of()));
        String java = ProcessHandle.current().info().command().orElseThrow(() -> new Failure("--daemon: cannot tell how this cryo was started"));
        String[] original = spec.commandLine().getParseResult().originalArgs().toArray(String[]::new);
        if (cmd.size() < original.length) {
            throw new Failure("--daemon: cannot tell how this cryo was started");
        }
        cmd = new ArrayList<>(cmd.subList(0, cmd.size() - original.length));
        cmd.addFirst(java);
        for (String a : original) {
            if (!a.equals("-d") && !a.equals("--daemon")) {
                cmd.add(a);
            }
        }
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")))
                .redirectError(ProcessBuilder.Redirect.INHERIT);
        pb.environment().put(DETACHED, "1");
        Process child = pb.start();
        BufferedReader lines = new BufferedReader(new InputStreamReader(child.getInputStream(), StandardCharsets.UTF_8));
        String first = lines.readLine();
        if (first == null) {
            int code = child.waitFor();
            return code == 0 ? 1 : code;
        }
        out.println(first + " (pid " + child.pid() + ")");
        out.flush();
        return 0;
    }

    private static long cpuNanos() {
        return ProcessHandle.current().info().totalCpuDuration().map(Duration::toNanos).orElse(0L);
    }

    private static long peakRssKib() {
        try {
            for (String l : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (l.startsWith("VmHWM:")) {
                    return Long.parseLong(l.replaceAll("[^0-9]", ""));
                }
            }
        } catch (IOException e) {
            return -1;
        }
        return -1;
    }
}
